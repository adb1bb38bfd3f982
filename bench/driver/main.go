// Command driver runs the benchmarks of bench/ side by side and writes
// bench/RESULTS.md: it builds the programs, generates (or reuses) the
// corpora, runs the hand-written word count, our runner's word count and
// the Beam Go SDK's on Prism, then the GroupByKey job with a memory budget a
// quarter of its shuffle data, measuring each program's wall time, CPU time
// and peak RSS (from the child's rusage, so it works without
// /usr/bin/time), and checks every result. With -only=read1g it runs only
// the read benchmark of issue 5 (a 1 GB, 16-file text set read by textio on
// our runner versus a hand-written two-goroutine reader) and replaces only
// that section of RESULTS.md; -read1g adds it to a full run.
//
// Run it from the repository root, or through bench/run.sh:
//
//	go run ./bench/driver                  # the full run (a few minutes)
//	go run ./bench/driver -size=50 -beam=false -runs=1
//	go run ./bench/driver -profile         # also profile our word count
//	go run ./bench/driver -only=read1g     # only the 1 GB read benchmark: updates its section
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
)

type config struct {
	size, small      float64 // MB of text
	runs             int
	records          int64
	keys             int
	budgetRatio      float64
	beam, gbk, prof  bool
	work, out, bin   string
	parallelism      int
	handwrittenCores int
	// The read benchmark (issue 5, point 9).
	only      string
	read1g    bool
	readSize  float64
	readFiles int
	// portableRecords is the size of the portable benchmark's GroupByKey job.
	portableRecords int64
}

func main() {
	var c config
	flag.Float64Var(&c.size, "size", 200, "MB of text for our runner and the hand-written count")
	flag.Float64Var(&c.small, "small", 20, "MB of text for all three word counts (Beam runs only this one)")
	flag.IntVar(&c.runs, "runs", 3, "runs of each word count (interleaved; the best wall time is reported)")
	flag.Int64Var(&c.records, "records", 10_000_000, "records of the GroupByKey job")
	flag.IntVar(&c.keys, "keys", 1_000_000, "key space of the GroupByKey job")
	flag.Float64Var(&c.budgetRatio, "budget-ratio", 4, "shuffle data of the GroupByKey job as a multiple of its memory budget")
	flag.BoolVar(&c.beam, "beam", true, "run the Beam Go SDK word count on Prism (builds the bench/beam module)")
	flag.BoolVar(&c.gbk, "gbk", true, "run the GroupByKey job")
	flag.BoolVar(&c.prof, "profile", false, "profile our word count on the large corpus (CPU and allocations) and add the top entries to the results")
	flag.StringVar(&c.work, "work", filepath.Join(os.TempDir(), "beamgo-bench"), "directory for binaries, corpora and profiles (corpora are reused)")
	flag.StringVar(&c.out, "out", "bench/RESULTS.md", "results file to write")
	flag.IntVar(&c.parallelism, "parallelism", 2, "bundles our runner runs at once")
	flag.IntVar(&c.handwrittenCores, "workers", 2, "goroutines of the hand-written count")
	flag.StringVar(&c.only, "only", "", `run only this part and update its section of -out, keeping the others: "read1g" (the read benchmark) or "portable" (the portable runner against the local one and Prism)`)
	flag.Int64Var(&c.portableRecords, "portable-records", 500_000, "records of the portable benchmark's GroupByKey job (Beam on Prism runs it too)")
	flag.BoolVar(&c.read1g, "read1g", false, "in a full run, also run the read benchmark (without it, its section of -out is kept)")
	flag.Float64Var(&c.readSize, "read-size", 1000, "MB of text of the read benchmark")
	flag.IntVar(&c.readFiles, "read-files", 16, "files of the read benchmark")
	flag.Parse()
	log.SetFlags(0)
	if _, err := os.Stat("bench/beam/go.mod"); err != nil {
		log.Fatal("driver: run from the repository root (bench/beam/go.mod not found)")
	}
	c.bin = filepath.Join(c.work, "bin")
	if err := os.MkdirAll(c.bin, 0o755); err != nil {
		log.Fatal(err)
	}
	switch c.only {
	case "":
	case "read1g":
		if err := writeRead(c); err != nil {
			log.Fatal(err)
		}
		return
	case "portable":
		if err := writePortable(c); err != nil {
			log.Fatal(err)
		}
		return
	default:
		log.Fatalf("driver: unknown -only %q (want read1g or portable)", c.only)
	}
	old, _ := os.ReadFile(c.out)
	r, err := run(c)
	if r != nil {
		// The read benchmark's section is kept unless this run measures it.
		md := r.markdown()
		if sec := section(string(old), readHeading); sec != "" && !c.read1g {
			md = mergeSection(md, readHeading, sec)
		}
		if sec := section(string(old), portableHeading); sec != "" {
			md = mergeSection(md, portableHeading, sec)
		}
		if !c.beam {
			md = keepBeamRow(md, string(old))
		}
		if werr := os.WriteFile(c.out, []byte(md), 0o644); werr != nil {
			log.Fatal(werr)
		}
		log.Printf("wrote %s", c.out)
	}
	if err != nil {
		log.Fatal(err)
	}
	if c.read1g {
		if err := writeRead(c); err != nil {
			log.Fatal(err)
		}
	}
}

// results is everything RESULTS.md reports.
type results struct {
	cfg       config
	machine   machine
	words     []*series // hand-written, local, beam at both sizes
	checks    []string  // correctness problems
	gbk       *gbkResult
	profile   string
	beamError error
}

type gbkResult struct {
	stats    corpus.RecordStats
	budget   float64 // MiB
	m        measurement
	err      error
	mismatch string
}

func run(c config) (*results, error) {
	r := &results{cfg: c, machine: describeMachine()}
	log.Printf("building the programs into %s", c.bin)
	for _, p := range []string{"corpus", "handwritten", "wordcount", "gbk"} {
		if err := goBuild(".", filepath.Join(c.bin, p), "./bench/"+p); err != nil {
			return nil, err
		}
	}
	if c.beam {
		log.Printf("building bench/beam (the first build downloads and compiles the Beam SDK: minutes)")
		abs, _ := filepath.Abs(filepath.Join(c.bin, "beam"))
		if err := goBuild("bench/beam", abs, "."); err != nil {
			r.beamError = err
			log.Printf("skipping Beam: %v", err)
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

	for _, in := range []struct {
		path string
		size int64
	}{{big.Paths[0], big.Bytes}, {small.Paths[0], small.Bytes}} {
		hand := &series{Name: "hand-written, 2 goroutines", Input: in.path, SizeBytes: in.size}
		ours := &series{Name: "beamgo local runner", Input: in.path, SizeBytes: in.size}
		for i := range c.runs {
			log.Printf("word count, %s, run %d of %d", filepath.Base(in.path), i+1, c.runs)
			runInto(hand, filepath.Join(c.bin, "handwritten"), "-input="+in.path, fmt.Sprintf("-workers=%d", c.handwrittenCores))
			runInto(ours, filepath.Join(c.bin, "wordcount"), "-input="+in.path, fmt.Sprintf("-parallelism=%d", c.parallelism))
		}
		r.words = append(r.words, hand, ours)
		if in.size == small.Bytes && c.beam && r.beamError == nil {
			beam := &series{Name: "Beam Go SDK on Prism", Input: in.path, SizeBytes: in.size}
			log.Printf("word count, %s, Beam on Prism (once)", filepath.Base(in.path))
			runInto(beam, filepath.Join(c.bin, "beam"), "--input="+in.path)
			r.words = append(r.words, beam)
		}
	}
	r.checkWordCounts()

	if c.prof {
		r.profile = profileOurs(c, big.Paths[0])
	}
	if c.gbk {
		r.gbk = runGBK(c)
		if r.gbk.mismatch != "" {
			r.checks = append(r.checks, r.gbk.mismatch)
		}
	}
	r.machine.loadAfter = loadAverage()
	if len(r.checks) > 0 {
		return r, fmt.Errorf("driver: results differ:\n%s", strings.Join(r.checks, "\n"))
	}
	return r, nil
}

func runInto(s *series, bin string, args ...string) {
	if s.Err != nil {
		return
	}
	m, err := measure(bin, args...)
	if err != nil {
		s.Err = err
		log.Printf("  failed: %v", err)
		return
	}
	log.Printf("  %-28s %v", s.Name, m)
	s.Runs = append(s.Runs, m)
}

// checkWordCounts compares every word count with the hand-written one on
// the same input.
func (r *results) checkWordCounts() {
	ref := map[string]*series{}
	for _, s := range r.words {
		if s.ok() && strings.HasPrefix(s.Name, "hand-written") {
			ref[s.Input] = s
		}
	}
	for _, s := range r.words {
		if s.Err != nil {
			r.checks = append(r.checks, fmt.Sprintf("%s on %s failed: %v", s.Name, filepath.Base(s.Input), s.Err))
			continue
		}
		h := ref[s.Input]
		if h == nil {
			r.checks = append(r.checks, fmt.Sprintf("no hand-written count of %s to compare with", filepath.Base(s.Input)))
			continue
		}
		want := h.Runs[0].Summary
		for _, m := range s.Runs {
			got := m.Summary
			if got.Digest != want.Digest || got.Words != want.Words || got.Distinct != want.Distinct {
				r.checks = append(r.checks, fmt.Sprintf("%s on %s: %d words, %d distinct, digest %.12s; hand-written: %d, %d, %.12s",
					s.Name, filepath.Base(s.Input), got.Words, got.Distinct, got.Digest, want.Words, want.Distinct, want.Digest))
				break
			}
		}
	}
}

type textInfo struct {
	Paths []string `json:"paths"`
	Bytes int64    `json:"bytes"`
}

// textCorpus generates a text corpus of mb megabytes, or reuses the one a
// previous run generated.
func textCorpus(c config, mb float64) (textInfo, error) {
	name := fmt.Sprintf("text-%gMB", mb)
	var info textInfo
	if err := cached(c, name, &info, "-kind=text", fmt.Sprintf("-size=%g", mb), "-dir="+c.work, "-name="+name); err != nil {
		return info, err
	}
	return info, nil
}

// cached runs the corpus generator unless its JSON output from an earlier
// run exists next to the data, and decodes that output into v.
func cached(c config, name string, v any, args ...string) error {
	meta := filepath.Join(c.work, name+".json")
	if b, err := os.ReadFile(meta); err == nil {
		if err := json.Unmarshal(b, v); err == nil && dataExists(v) {
			log.Printf("reusing corpus %s", name)
			return nil
		}
	}
	log.Printf("generating corpus %s", name)
	out, err := exec.Command(filepath.Join(c.bin, "corpus"), args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("driver: corpus %s: %w\n%s", name, err, ee.Stderr)
		}
		return fmt.Errorf("driver: corpus %s: %w", name, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("driver: corpus %s output %q: %w", name, out, err)
	}
	return os.WriteFile(meta, out, 0o644)
}

func dataExists(v any) bool {
	switch v := v.(type) {
	case *textInfo:
		var total int64
		for _, p := range v.Paths {
			fi, err := os.Stat(p)
			if err != nil {
				return false
			}
			total += fi.Size()
		}
		return len(v.Paths) > 0 && total == v.Bytes
	case *recordInfo:
		fi, err := os.Stat(v.Path)
		return err == nil && fi.Size() == v.Bytes
	}
	return false
}

type recordInfo struct {
	corpus.RecordStats
	Path string
}

// recordCorpus generates a records corpus (corpus -kind=records), or
// reuses the one a previous run generated.
func recordCorpus(c config, records int64, keys int) (recordInfo, error) {
	name := fmt.Sprintf("records-%d-%d", records, keys)
	path := filepath.Join(c.work, name+".tsv")
	var info recordInfo
	meta := filepath.Join(c.work, name+".json")
	if b, err := os.ReadFile(meta); err == nil && json.Unmarshal(b, &info) == nil && dataExists(&info) {
		log.Printf("reusing corpus %s", name)
		return info, nil
	}
	log.Printf("generating corpus %s", name)
	out, err := exec.Command(filepath.Join(c.bin, "corpus"), "-kind=records", fmt.Sprintf("-records=%d", records), fmt.Sprintf("-keys=%d", keys), "-out="+path).Output()
	if err != nil {
		return info, fmt.Errorf("driver: corpus %s: %w", name, err)
	}
	if err := json.Unmarshal(out, &info.RecordStats); err != nil {
		return info, fmt.Errorf("driver: corpus %s output %q: %w", name, out, err)
	}
	info.Path = path
	b, _ := json.Marshal(info)
	return info, os.WriteFile(meta, b, 0o644)
}

func runGBK(c config) *gbkResult {
	g := &gbkResult{}
	info, err := recordCorpus(c, c.records, c.keys)
	if err != nil {
		g.err = err
		return g
	}
	path := info.Path
	g.stats = info.RecordStats
	g.budget = float64(info.ShuffleBytes) / c.budgetRatio / (1 << 20)
	spill := filepath.Join(c.work, "spill")
	if err := os.MkdirAll(spill, 0o755); err != nil {
		g.err = err
		return g
	}
	log.Printf("GroupByKey job: %d records, %.0f MiB of shuffle data, budget %.1f MiB", info.Records, float64(info.ShuffleBytes)/(1<<20), g.budget)
	m, err := measure(filepath.Join(c.bin, "gbk"), "-input="+path, fmt.Sprintf("-budget=%.3f", g.budget),
		fmt.Sprintf("-parallelism=%d", c.parallelism), "-tmp="+spill)
	if err != nil {
		g.err = err
		g.mismatch = fmt.Sprintf("GroupByKey job failed: %v", err)
		return g
	}
	g.m = m
	log.Printf("  %v, %d spills", m, m.Summary.Spills)
	s := m.Summary
	if s.Groups != info.Groups || s.Values != info.Records || s.GroupDigest != info.Digest {
		g.mismatch = fmt.Sprintf("GroupByKey job: %d groups, %d values, digest %x; generator: %d, %d, %x",
			s.Groups, s.Values, s.GroupDigest, info.Groups, info.Records, info.Digest)
	}
	return g
}

// profileOurs runs our word count once more with CPU and allocation
// profiles and returns the top entries of each.
func profileOurs(c config, input string) string {
	cpu := filepath.Join(c.work, "wordcount.cpu.pprof")
	mem := filepath.Join(c.work, "wordcount.alloc.pprof")
	log.Printf("profiling our word count on %s", filepath.Base(input))
	if _, err := measure(filepath.Join(c.bin, "wordcount"), "-input="+input, fmt.Sprintf("-parallelism=%d", c.parallelism),
		"-cpuprofile="+cpu, "-memprofile="+mem); err != nil {
		return fmt.Sprintf("profiling failed: %v", err)
	}
	var b strings.Builder
	for _, p := range []struct{ title, file, flag string }{
		{"CPU", cpu, ""},
		{"allocated bytes", mem, "-sample_index=alloc_space"},
	} {
		args := []string{"tool", "pprof", "-top", "-nodecount=20"}
		if p.flag != "" {
			args = append(args, p.flag)
		}
		out, err := exec.Command("go", append(args, filepath.Join(c.bin, "wordcount"), p.file)...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(&b, "%s: go tool pprof failed: %v\n", p.title, err)
			continue
		}
		shown := strings.Join(append(args[1:], filepath.Base(p.file)), " ")
		fmt.Fprintf(&b, "%s (`go tool %s`):\n\n```\n%s```\n\n", p.title, shown, out)
	}
	return b.String()
}

func goBuild(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("driver: go build %s in %s: %w\n%s", pkg, dir, err, b)
	}
	return nil
}
