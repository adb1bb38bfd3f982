package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// readHeading is the heading of the read benchmark's section of
// RESULTS.md, which -only=read1g replaces in place.
const readHeading = "## Reading 1 GB of text"

// readResult is the read benchmark: our runner's textio read against the
// hand-written two-goroutine reader on the same files.
type readResult struct {
	cfg        config
	machine    machine
	files      int
	bytes      int64
	hand, ours *series
	checks     []string
}

// runRead builds the read program, generates (or reuses) the corpus and
// runs both readers c.runs times, interleaved.
func runRead(c config) (*readResult, error) {
	r := &readResult{cfg: c, machine: describeMachine()}
	for _, p := range []string{"corpus", "readtext"} {
		if err := goBuild(".", filepath.Join(c.bin, p), "./bench/"+p); err != nil {
			return nil, err
		}
	}
	name := fmt.Sprintf("text-%gMB-%dfiles", c.readSize, c.readFiles)
	var info textInfo
	if err := cached(c, name, &info, "-kind=text", fmt.Sprintf("-size=%g", c.readSize), fmt.Sprintf("-files=%d", c.readFiles), "-dir="+c.work, "-name="+name); err != nil {
		return nil, err
	}
	r.files, r.bytes = len(info.Paths), info.Bytes
	pattern := filepath.Join(c.work, name+"-*")
	r.hand = &series{Name: fmt.Sprintf("hand-written, %d goroutines (bufio)", c.handwrittenCores), Input: pattern, SizeBytes: info.Bytes}
	r.ours = &series{Name: "beamgo local runner (io/textio)", Input: pattern, SizeBytes: info.Bytes}
	bin := filepath.Join(c.bin, "readtext")
	for i := range c.runs {
		log.Printf("read %s, run %d of %d", name, i+1, c.runs)
		runInto(r.hand, bin, "-impl=hand", "-input="+pattern, fmt.Sprintf("-workers=%d", c.handwrittenCores))
		runInto(r.ours, bin, "-impl=local", "-input="+pattern, fmt.Sprintf("-parallelism=%d", c.parallelism))
	}
	r.machine.loadAfter = loadAverage()
	r.check()
	if len(r.checks) > 0 {
		return r, fmt.Errorf("driver: read benchmark:\n%s", strings.Join(r.checks, "\n"))
	}
	return r, nil
}

// check compares every run's lines with the hand-written reader's first
// run, and that run's byte count with the corpus's size.
func (r *readResult) check() {
	for _, s := range []*series{r.hand, r.ours} {
		if s.Err != nil {
			r.checks = append(r.checks, fmt.Sprintf("%s failed: %v", s.Name, s.Err))
		}
	}
	if !r.hand.ok() {
		return
	}
	want := r.hand.Runs[0].Summary
	if want.InputBytes != r.bytes || want.Lines == 0 {
		r.checks = append(r.checks, fmt.Sprintf("%s read %d bytes and %d lines of a %d-byte corpus", r.hand.Name, want.InputBytes, want.Lines, r.bytes))
	}
	for _, s := range []*series{r.hand, r.ours} {
		for _, m := range s.Runs {
			got := m.Summary
			if got.Lines != want.Lines || got.LineBytes != want.LineBytes || got.LineSum != want.LineSum {
				r.checks = append(r.checks, fmt.Sprintf("%s: %d lines, %d bytes, checksum %x; hand-written: %d, %d, %x",
					s.Name, got.Lines, got.LineBytes, got.LineSum, want.Lines, want.LineBytes, want.LineSum))
				break
			}
		}
	}
}

// markdown renders the read benchmark's section of RESULTS.md.
func (r *readResult) markdown() string {
	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "%s\n\n", readHeading)
	fmt.Fprintf(&b, "Issue 5, point 9. Written by `go run ./bench/driver -only=read1g` on %s", m.date.Format("2006-01-02 15:04 MST"))
	if m.commit != "" {
		fmt.Fprintf(&b, " at commit %s", m.commit)
	}
	fmt.Fprintf(&b, " (%d CPUs; load average before: %s, after: %s).\n\n", m.cpus, m.loadBefore, m.loadAfter)
	fmt.Fprintf(&b, "%d text files of %.0f MB in all (bench/corpus), read line by line (LF or CRLF ends) and summarized: lines, bytes and the sum of every line's CRC-32C, which a lost, duplicated or changed line would alter. ", r.files, float64(r.bytes)/mb)
	fmt.Fprintf(&b, "Our runner reads the files with `textio.Read` (byte-range bundles, split further while running; parallelism %d) and sums with `sdk.CombineGlobally`; ", r.cfg.parallelism)
	fmt.Fprintf(&b, "the hand-written reader has %d goroutines taking whole files from a queue, each a 1 MiB `bufio.Reader`. ", r.cfg.handwrittenCores)
	fmt.Fprintf(&b, "The files are in the page cache (the machine has far more RAM than the corpus), so this measures CPU, not the disk. Each program ran %d times, interleaved; the table shows the best wall time.\n\n", r.cfg.runs)
	fmt.Fprintf(&b, "| program | wall (best) | wall (median) | CPU | throughput | peak RSS | wall / hand-written | CPU / hand-written |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range []*series{r.hand, r.ours} {
		if !s.ok() {
			fmt.Fprintf(&b, "| %s | failed | | | | | | |\n", s.Name)
			continue
		}
		best := s.best()
		ratio, cpu := "", ""
		if r.hand.ok() {
			h := r.hand.best()
			ratio = fmt.Sprintf("%.2fx", best.Wall.Seconds()/h.Wall.Seconds())
			cpu = fmt.Sprintf("%.2fx", best.CPU.Seconds()/h.CPU.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %.2f s | %.2f s | %.2f s | %.0f MB/s | %s | %s | %s |\n",
			s.Name, best.Wall.Seconds(), s.medianWall().Seconds(), best.CPU.Seconds(), float64(s.SizeBytes)/mb/best.Wall.Seconds(), mib(s.peakRSS()), ratio, cpu)
	}
	if r.hand.ok() {
		h := r.hand.Runs[0].Summary
		fmt.Fprintf(&b, "\nLines: %d (%d bytes without line ends, checksum %x). ", h.Lines, h.LineBytes, h.LineSum)
	}
	if len(r.checks) > 0 {
		fmt.Fprintf(&b, "\n**Correctness problems:**\n\n")
		for _, ch := range r.checks {
			fmt.Fprintf(&b, "- %s\n", oneLine(ch))
		}
	} else {
		fmt.Fprintf(&b, "Every run of both programs found the same lines.")
	}
	if r.ours.ok() {
		x := r.ours.best().Summary
		fmt.Fprintf(&b, " Our runner's best run: %d stages, %d bundles, %d dynamic splits.", x.Stages, x.Bundles, x.Splits)
	}
	fmt.Fprintf(&b, "\n")
	return b.String()
}

// mergeSection returns doc with its section under heading (up to the
// next "## " heading) replaced by sec, which starts with the heading. A
// doc without that section gets sec before its "## Reproduce" section, or
// at its end.
func mergeSection(doc, heading, sec string) string {
	sec = strings.TrimRight(sec, "\n") + "\n"
	if start := sectionStart(doc, heading); start >= 0 {
		end := len(doc)
		if i := strings.Index(doc[start+len(heading):], "\n## "); i >= 0 {
			end = start + len(heading) + i + 1
			sec += "\n"
		}
		return doc[:start] + sec + doc[end:]
	}
	if i := sectionStart(doc, "## Reproduce"); i >= 0 {
		return doc[:i] + sec + "\n" + doc[i:]
	}
	if doc != "" && !strings.HasSuffix(doc, "\n\n") {
		doc = strings.TrimRight(doc, "\n") + "\n\n"
	}
	return doc + sec
}

// section returns the section of doc under heading, or "".
func section(doc, heading string) string {
	start := sectionStart(doc, heading)
	if start < 0 {
		return ""
	}
	rest := doc[start:]
	if i := strings.Index(rest[len(heading):], "\n## "); i >= 0 {
		rest = rest[:len(heading)+i+1]
	}
	return rest
}

// sectionStart returns the offset of the line that is heading, or -1.
func sectionStart(doc, heading string) int {
	for off := 0; off < len(doc); {
		i := strings.Index(doc[off:], heading)
		if i < 0 {
			return -1
		}
		i += off
		lineStart := i == 0 || doc[i-1] == '\n'
		lineEnd := i+len(heading) == len(doc) || doc[i+len(heading)] == '\n'
		if lineStart && lineEnd {
			return i
		}
		off = i + len(heading)
	}
	return -1
}

// writeRead runs the read benchmark and merges its section into the
// results file, keeping the other sections.
func writeRead(c config) error {
	r, err := runRead(c)
	if r == nil {
		return err
	}
	old, rerr := os.ReadFile(c.out)
	if rerr != nil && !os.IsNotExist(rerr) {
		return rerr
	}
	if werr := os.WriteFile(c.out, []byte(mergeSection(string(old), readHeading, r.markdown())), 0o644); werr != nil {
		return werr
	}
	log.Printf("updated the section %q of %s", readHeading, c.out)
	return err
}
