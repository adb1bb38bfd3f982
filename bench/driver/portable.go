package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// portableHeading is the heading of the portable runner's section of
// RESULTS.md, which -only=portable replaces in place.
const portableHeading = "## Portable runner (Fn API)"

// portableJob is one job on one input, run by several programs.
type portableJob struct {
	name    string
	input   string
	bytes   int64
	local   *series
	remote  *series
	beam    *series // nil if Beam did not run this job
	records *recordInfo
}

// portableResult is the portable runner's benchmark: the same jobs on the
// local runner, on the portable runner with worker processes, and (at a
// size it can hold in memory) the Beam Go SDK on Prism.
type portableResult struct {
	cfg     config
	machine machine
	jobs    []*portableJob
	checks  []string
}

// runPortable builds the programs, makes (or reuses) the corpora and runs
// the jobs: each local and portable run interleaved, Beam once.
func runPortable(c config) (*portableResult, error) {
	r := &portableResult{cfg: c, machine: describeMachine()}
	for _, p := range []string{"corpus", "portable"} {
		if err := goBuild(".", filepath.Join(c.bin, p), "./bench/"+p); err != nil {
			return nil, err
		}
	}
	beamBin := ""
	if c.beam {
		abs, _ := filepath.Abs(filepath.Join(c.bin, "beam"))
		log.Printf("building bench/beam")
		if err := goBuild("bench/beam", abs, "."); err != nil {
			r.checks = append(r.checks, fmt.Sprintf("building the Beam program failed: %v", err))
		} else {
			beamBin = abs
		}
	}
	big, err := textCorpus(c, c.size)
	if err != nil {
		return nil, err
	}
	small, err := textCorpus(c, c.small)
	if err != nil {
		return nil, err
	}
	recs, err := recordCorpus(c, c.portableRecords, c.keys/10)
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp(c.work, "portable-out-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(c.bin, "portable")
	run := func(s *series, args ...string) {
		dir, err := os.MkdirTemp(out, "run-")
		if err != nil {
			s.Err = err
			return
		}
		runInto(s, bin, append(args, "-output="+dir, fmt.Sprintf("-parallelism=%d", c.parallelism))...)
		os.RemoveAll(dir)
	}
	for _, j := range []struct {
		job, path string
		bytes     int64
		runs      int
		beam      bool
		records   *recordInfo
	}{
		{"wordcount", big.Paths[0], big.Bytes, c.runs, false, nil},
		{"wordcount", small.Paths[0], small.Bytes, 1, true, nil},
		{"gbk", recs.Path, recs.Bytes, 1, true, &recs},
	} {
		pj := &portableJob{name: j.job, input: j.path, bytes: j.bytes, records: j.records,
			local:  &series{Name: "beamgo local runner", Input: j.path, SizeBytes: j.bytes},
			remote: &series{Name: "beamgo portable runner, 2 worker processes", Input: j.path, SizeBytes: j.bytes}}
		for i := range j.runs {
			log.Printf("portable: %s on %s, run %d of %d", j.job, filepath.Base(j.path), i+1, j.runs)
			run(pj.local, "-job="+j.job, "-runner=local", "-input="+j.path)
			run(pj.remote, "-job="+j.job, "-runner=portable", "-environment_type=PROCESS", "-workers=2", "-input="+j.path)
		}
		if j.beam && beamBin != "" {
			pj.beam = &series{Name: "Beam Go SDK on Prism", Input: j.path, SizeBytes: j.bytes}
			log.Printf("portable: %s on %s, Beam on Prism (once)", j.job, filepath.Base(j.path))
			runInto(pj.beam, beamBin, "--job="+j.job, "--input="+j.path)
		}
		r.jobs = append(r.jobs, pj)
	}
	r.machine.loadAfter = loadAverage()
	r.check()
	if len(r.checks) > 0 {
		return r, fmt.Errorf("driver: portable benchmark:\n%s", strings.Join(r.checks, "\n"))
	}
	return r, nil
}

// check compares every run's result with the local runner's first run
// (word counts) or the generator's statistics (GroupByKey).
func (r *portableResult) check() {
	for _, j := range r.jobs {
		for _, s := range []*series{j.local, j.remote, j.beam} {
			if s == nil {
				continue
			}
			if s.Err != nil {
				r.checks = append(r.checks, fmt.Sprintf("%s, %s on %s failed: %v", s.Name, j.name, filepath.Base(j.input), s.Err))
				continue
			}
			for _, m := range s.Runs {
				got := m.Summary
				if j.records != nil {
					if got.Groups != j.records.Groups || got.Values != j.records.Records || got.GroupDigest != j.records.Digest {
						r.checks = append(r.checks, fmt.Sprintf("%s, gbk: %d groups, %d values, digest %x; generator: %d, %d, %x",
							s.Name, got.Groups, got.Values, got.GroupDigest, j.records.Groups, j.records.Records, j.records.Digest))
					}
					continue
				}
				if !j.local.ok() {
					continue
				}
				want := j.local.Runs[0].Summary
				if got.Digest != want.Digest || got.Words != want.Words {
					r.checks = append(r.checks, fmt.Sprintf("%s, word count on %s: %d words, digest %.12s; local runner: %d, %.12s",
						s.Name, filepath.Base(j.input), got.Words, got.Digest, want.Words, want.Digest))
				}
			}
		}
	}
}

// treeRSS is the peak memory of all of a run's processes: the program's
// sampled sum over itself and its workers, or its own peak where it
// started none.
func treeRSS(m measurement) int64 {
	return max(m.Summary.TreeRSSKiB, m.peakRSS())
}

// markdown renders the portable runner's section of RESULTS.md.
func (r *portableResult) markdown() string {
	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "%s\n\n", portableHeading)
	fmt.Fprintf(&b, "Issue 7, point 6. Written by `go run ./bench/driver -only=portable` on %s", m.date.Format("2006-01-02 15:04 MST"))
	if m.commit != "" {
		fmt.Fprintf(&b, " at commit %s", m.commit)
	}
	fmt.Fprintf(&b, " (%d CPUs; load average before: %s, after: %s).\n\n", m.cpus, m.loadBefore, m.loadAfter)
	fmt.Fprintf(&b, "The same jobs (bench/portable: the word count, and the GroupByKey job on a smaller records corpus), writing their results to files, which the program reads back and checks: ")
	fmt.Fprintf(&b, "on the local runner; on the portable runner with 2 PROCESS workers (the program started again in worker mode; elements, side inputs and metrics cross the Fn API over gRPC on 127.0.0.1); ")
	fmt.Fprintf(&b, "and the Beam Go SDK's version of each job on Prism in process (loopback), at the sizes it can hold in memory. Parallelism %d for our runners. ", r.cfg.parallelism)
	fmt.Fprintf(&b, "CPU is user + system time of the program and its reaped worker processes. Memory: for our runners, the peak of the summed resident sets of the program and its workers, sampled every 10 ms; for Beam, the process's `ru_maxrss`.\n\n")
	fmt.Fprintf(&b, "| job | input | program | runs | wall (best) | CPU | peak memory, all processes | wall / local | CPU / local | result |\n")
	fmt.Fprintf(&b, "|---|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, j := range r.jobs {
		in := fmt.Sprintf("%.0f MB", float64(j.bytes)/mb)
		if j.records != nil {
			in = fmt.Sprintf("%d records (%.0f MB)", j.records.Records, float64(j.bytes)/mb)
		}
		for _, s := range []*series{j.local, j.remote, j.beam} {
			if s == nil {
				continue
			}
			if !s.ok() {
				fmt.Fprintf(&b, "| %s | %s | %s | | failed | | | | | %s |\n", j.name, in, s.Name, oneLine(s.Err))
				continue
			}
			best := s.best()
			ratio, cpu := "", ""
			if j.local.ok() {
				l := j.local.best()
				ratio = fmt.Sprintf("%.2fx", best.Wall.Seconds()/l.Wall.Seconds())
				cpu = fmt.Sprintf("%.2fx", best.CPU.Seconds()/l.CPU.Seconds())
			}
			var peak int64
			for _, run := range s.Runs {
				peak = max(peak, treeRSS(run))
			}
			result := "equal to the local runner's counts"
			if j.records != nil {
				result = "equal to the generator's"
			}
			if s == j.local {
				result = "reference"
				if j.records != nil {
					result = "equal to the generator's"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %.2f s | %.2f s | %s | %s | %s | %s |\n",
				j.name, in, s.Name, len(s.Runs), best.Wall.Seconds(), best.CPU.Seconds(), mib(peak), ratio, cpu, result)
		}
	}
	if len(r.checks) > 0 {
		fmt.Fprintf(&b, "\n**Problems:**\n\n")
		for _, ch := range r.checks {
			fmt.Fprintf(&b, "- %s\n", oneLine(ch))
		}
	}
	if len(r.jobs) > 0 && r.jobs[0].remote.ok() && r.jobs[0].local.ok() {
		j := r.jobs[0]
		x := j.remote.best()
		var peak int64
		for _, run := range j.remote.Runs {
			peak = max(peak, treeRSS(run))
		}
		ratio := x.Wall.Seconds() / j.local.best().Wall.Seconds()
		fmt.Fprintf(&b, "\nTarget (issue 7): word count on %.0f MB through the portable runner with worker processes within 2x of the local runner's wall time: **%s** (%.2fx); peak memory of all processes together under 512 MB: **%s** (%s). ",
			float64(j.bytes)/mb, metOrNot(ratio <= 2), ratio, metOrNot(float64(peak)/1024 < 512), mib(peak))
		fmt.Fprintf(&b, "Portable runner's best run: %d stages, %d bundles, %d dynamic splits (Fn API split requests), %d workers.\n", x.Summary.Stages, x.Summary.Bundles, x.Summary.Splits, x.Summary.Workers)
	}
	return b.String()
}

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// writePortable runs the portable benchmark and merges its section into
// the results file, keeping the other sections.
func writePortable(c config) error {
	r, err := runPortable(c)
	if r == nil {
		return err
	}
	old, rerr := os.ReadFile(c.out)
	if rerr != nil && !os.IsNotExist(rerr) {
		return rerr
	}
	if werr := os.WriteFile(c.out, []byte(mergeSection(string(old), portableHeading, r.markdown())), 0o644); werr != nil {
		return werr
	}
	log.Printf("updated the section %q of %s", portableHeading, c.out)
	return err
}
