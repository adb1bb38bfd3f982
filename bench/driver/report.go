package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

const mb = 1e6

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// markdown renders RESULTS.md.
func (r *results) markdown() string {
	var b strings.Builder
	m := r.machine
	c := r.cfg
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `bench/run.sh` (`go run ./bench/driver`) on %s.\n\n", m.date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (`nproc`)", m.cpus)
	if m.model != "" {
		fmt.Fprintf(&b, ", %s", m.model)
	}
	if m.mem != "" {
		fmt.Fprintf(&b, ", %s RAM", m.mem)
	}
	fmt.Fprintf(&b, "; %s\n", m.system)
	fmt.Fprintf(&b, "- Go: %s\n", m.goVersion)
	if m.commit != "" {
		fmt.Fprintf(&b, "- Commit: %s\n", m.commit)
	}
	if m.loadBefore != "" {
		fmt.Fprintf(&b, "- Load average (1, 5, 15 min) before: %s; after: %s. The machine is shared: other work inflates wall times, so each word count ran %d times, interleaved with the hand-written one, and the table shows the best run.\n", m.loadBefore, m.loadAfter, c.runs)
	}
	fmt.Fprintf(&b, "- Our runner ran with parallelism %d; the hand-written count with %d goroutines; Beam on Prism in process (loopback), default options.\n\n", c.parallelism, c.handwrittenCores)

	fmt.Fprintf(&b, "## Word count\n\n")
	fmt.Fprintf(&b, "The same generated corpus (Zipf-distributed words, mixed case, apostrophes, punctuation, some CRLF lines) for every program; words as `[a-zA-Z]+('[a-z])?` finds them. ")
	fmt.Fprintf(&b, "Wall time is measured by the driver around the process (start-up included); CPU is the process's user + system time (of the best run), less sensitive than wall time to other work on the machine; peak RSS is the child's `ru_maxrss`; max live heap is the largest heap the Go collector found live, sampled by our runner's programs (RSS adds to it the collector's headroom, bounded by the soft memory limit the runner sets from its memory budget, and the program's own text and data, about 35 MiB for ours). ")
	fmt.Fprintf(&b, "Every program's counts are checked against the hand-written program's (SHA-256 of the sorted counts). ")
	fmt.Fprintf(&b, "The hand-written program counts in a Go map per goroutine and merges the maps; our runner counts with `sdk.CountElements`, whose lifted precombine keeps a bundle's counts in the sdk's tally table (a key of up to 16 bytes, its hash tag and its count in one 32-byte slot: one cache line per lookup, where a Go map reads three), flushes them to the shuffle at the end of each bundle and merges them in a second stage.\n\n")
	fmt.Fprintf(&b, "| program | input | wall (best) | wall (median) | CPU | throughput | peak RSS | max live heap | wall / hand-written | CPU / hand-written | RSS / hand-written | counts |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	hand := map[string]*series{}
	for _, s := range r.words {
		if s.ok() && strings.HasPrefix(s.Name, "hand-written") {
			hand[s.Input] = s
		}
	}
	for _, s := range r.words {
		in := fmt.Sprintf("%.0f MB", float64(s.SizeBytes)/mb)
		if !s.ok() {
			fmt.Fprintf(&b, "| %s | %s | failed | | | | | | | | | %s |\n", s.Name, in, oneLine(s.Err))
			continue
		}
		best := s.best()
		ratio, cpu, rss := "", "", ""
		if h := hand[s.Input]; h != nil {
			ratio = fmt.Sprintf("%.2fx", best.Wall.Seconds()/h.best().Wall.Seconds())
			cpu = fmt.Sprintf("%.2fx", best.CPU.Seconds()/h.best().CPU.Seconds())
			rss = fmt.Sprintf("%.2fx", float64(s.peakRSS())/float64(h.peakRSS()))
		}
		live := "–"
		if h := s.maxLiveHeap(); h > 0 {
			live = mib(h)
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f s | %.2f s | %.2f s | %.1f MB/s | %s | %s | %s | %s | %s | %s |\n",
			s.Name, in, best.Wall.Seconds(), s.medianWall().Seconds(), best.CPU.Seconds(),
			float64(s.SizeBytes)/mb/best.Wall.Seconds(), mib(s.peakRSS()), live, ratio, cpu, rss, r.countCheck(s))
	}
	if r.beamError != nil {
		fmt.Fprintf(&b, "\nBeam was not run: %s\n", oneLine(r.beamError))
	}
	if w := r.wordsDetail(); w != "" {
		fmt.Fprintf(&b, "\n%s\n", w)
	}

	if g := r.gbk; g != nil {
		fmt.Fprintf(&b, "\n## GroupByKey with a memory budget\n\n")
		st := g.stats
		fmt.Fprintf(&b, "%d records `key\\tvalue` (%.0f MB file), keys Zipf-distributed over a space of %d: %d distinct keys, the hottest (`%s`) with %d records (%.1f%%). ",
			st.Records, float64(st.Bytes)/mb, c.keys, st.Groups, st.HottestKey, st.HottestCount, 100*float64(st.HottestCount)/float64(max(st.Records, 1)))
		fmt.Fprintf(&b, "Shuffle data (keys and values in Beam's encoding): %.0f MiB; memory budget (`local.Options.MemoryBudget`): %.1f MiB, 1/%g of it. ",
			float64(st.ShuffleBytes)/(1<<20), g.budget, c.budgetRatio)
		fmt.Fprintf(&b, "Each group's values are iterated and hashed; the group count, value count and digest are checked against the generator's.\n\n")
		if g.err != nil {
			fmt.Fprintf(&b, "The job failed: %s\n", oneLine(g.err))
		} else {
			s := g.m.Summary
			rss := g.m.peakRSS()
			check := "equal to the generator's"
			if g.mismatch != "" {
				check = "**" + g.mismatch + "**"
			}
			fmt.Fprintf(&b, "| wall | CPU | throughput | peak RSS | peak RSS / budget | max live heap | spills | bundles | groups | result |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
			fmt.Fprintf(&b, "| %.2f s | %.2f s | %.1f MB/s | %s | %.2fx | %s | %d | %d | %d | %s |\n",
				g.m.Wall.Seconds(), g.m.CPU.Seconds(), float64(st.Bytes)/mb/g.m.Wall.Seconds(), mib(rss), float64(rss)/1024/g.budget,
				mib(s.MaxLiveHeapKiB), s.Spills, s.Bundles, s.Groups, check)
		}
	}

	fmt.Fprintf(&b, "\n## Targets (issue 3)\n\n")
	for _, t := range r.targets() {
		fmt.Fprintf(&b, "- %s\n", t)
	}
	if len(r.checks) > 0 {
		fmt.Fprintf(&b, "\n**Correctness problems:**\n\n")
		for _, ch := range r.checks {
			fmt.Fprintf(&b, "- %s\n", oneLine(ch))
		}
	}
	if r.profile != "" {
		fmt.Fprintf(&b, "\n## Profile of our word count (%g MB)\n\n%s", c.size, r.profile)
	}
	fmt.Fprintf(&b, "\n## Reproduce\n\n```\nbench/run.sh                 # this file: %d runs each, %g MB and %g MB, Beam, GroupByKey\ngo test -run='^$' -bench=. ./bench/   # CI-sized: a few MB, ratio reported as a metric\n```\n",
		c.runs, c.size, c.small)
	return b.String()
}

func (r *results) countCheck(s *series) string {
	if strings.HasPrefix(s.Name, "hand-written") {
		return fmt.Sprintf("reference: %d words, %d distinct", s.Runs[0].Summary.Words, s.Runs[0].Summary.Distinct)
	}
	for _, ch := range r.checks {
		if strings.HasPrefix(ch, s.Name+" on "+filepath.Base(s.Input)) {
			return "**differ**"
		}
	}
	return "equal"
}

// wordsDetail notes the runner statistics of our word count.
func (r *results) wordsDetail() string {
	var parts []string
	for _, s := range r.words {
		if !s.ok() || s.Name != "beamgo local runner" {
			continue
		}
		x := s.best().Summary
		parts = append(parts, fmt.Sprintf("%.0f MB: %d stages, %d bundles, %d dynamic splits, %d spills, read with %s",
			float64(s.SizeBytes)/mb, x.Stages, x.Bundles, x.Splits, x.Spills, x.Read))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Our runner's best runs: " + strings.Join(parts, "; ") + "."
}

// targets evaluates the targets of issue 3.
func (r *results) targets() []string {
	var out []string
	var hand, ours *series
	for _, s := range r.words {
		if s.SizeBytes < int64(r.cfg.size*mb) || !s.ok() {
			continue
		}
		switch {
		case strings.HasPrefix(s.Name, "hand-written"):
			hand = s
		case s.Name == "beamgo local runner":
			ours = s
		}
	}
	if hand != nil && ours != nil {
		ratio := ours.best().Wall.Seconds() / hand.best().Wall.Seconds()
		out = append(out, fmt.Sprintf("Word count on %g MB at most 1.5x the hand-written wall time: %s (%.2fx).", r.cfg.size, verdict(ratio <= 1.5), ratio))
		peak := ours.peakRSS()
		out = append(out, fmt.Sprintf("Word count peak memory under 256 MB (MiB here): %s (%s).", verdict(peak < 256*1024), mib(peak)))
	} else {
		out = append(out, "Word count targets: not measured (a program failed).")
	}
	if g := r.gbk; g != nil {
		if g.err != nil {
			out = append(out, "GroupByKey at 4x the budget completes: **not met** (the job failed).")
		} else {
			rss := g.m.peakRSS()
			limit := g.budget * 1.25
			out = append(out, fmt.Sprintf("GroupByKey whose shuffle data is %gx the budget completes: %s; peak RSS within budget + 25%% (%.0f MiB): %s (%s, %.2fx the budget).",
				r.cfg.budgetRatio, verdict(g.mismatch == ""), limit, verdict(float64(rss)/1024 <= limit), mib(rss), float64(rss)/1024/g.budget))
		}
	}
	return out
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func oneLine(v any) string {
	s := fmt.Sprint(v)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// beamRowPrefix starts the word count table's row of Beam on Prism.
const beamRowPrefix = "| Beam Go SDK on Prism |"

// keepBeamRow copies the Beam row of the word count table of old (an
// earlier RESULTS.md) into the table of doc, which has none because Beam
// was not run, with a note that it is from the earlier run.
func keepBeamRow(doc, old string) string {
	if strings.Contains(doc, "\n"+beamRowPrefix) {
		return doc
	}
	var row string
	for _, l := range strings.Split(section(old, "## Word count"), "\n") {
		if strings.HasPrefix(l, beamRowPrefix) {
			row = l
		}
	}
	start := sectionStart(doc, "## Word count")
	if row == "" || start < 0 {
		return doc
	}
	// The table ends at the first blank line after its header.
	head := strings.Index(doc[start:], "\n| program |")
	if head < 0 {
		return doc
	}
	end := strings.Index(doc[start+head+1:], "\n\n")
	if end < 0 {
		return doc
	}
	at := start + head + 1 + end + 1
	note := "\nBeam's row is kept from the previous run of the driver (this one ran with -beam=false); its ratios are to that run's hand-written count.\n"
	return doc[:at] + row + "\n" + note + doc[at:]
}
