// Command wordcount runs the benchmark word count on our local runner: the
// files matching -input are read with io/textio, split into words with the
// scanner of examples/wordcount and counted with sdk.CountElements; the
// counts stay in memory and the program prints a JSON summary with their
// digest, which must equal the hand-written program's.
//
// -words=anchor splits words by the rule of the hand-written word count in
// ../shared/anchors (maximal runs of [A-Za-z']) instead of examples/
// wordcount's, and -check=FILE compares the counts with that program's
// output ("word: count" lines) and fails unless they are equal.
//
// -cpuprofile and -memprofile write pprof profiles of the run. -ui shows
// the run on a web UI (runner/webui) with a client following the job's
// event stream, as an open page does, so that the UI's overhead can be
// measured (bench/ui.sh).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/cpuprof"
	"github.com/beamgo-dev/beamgo/bench/internal/pipeline"
	"github.com/beamgo-dev/beamgo/bench/internal/summary"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

func main() {
	input := flag.String("input", "", "files to count (a glob pattern)")
	parallelism := flag.Int("parallelism", 0, "bundles run at once (default: number of CPUs)")
	budget := flag.Int64("budget", 0, "shuffle memory budget in MiB (default: the runner's)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile to this file")
	split := flag.String("words", "example", "how lines split into words: example (examples/wordcount's rule) or anchor (the hand-written handwc's)")
	check := flag.String("check", "", "the hand-written handwc's output file (\"word: count\" lines) that the counts must equal")
	withUI := flag.Bool("ui", false, "show the run on a web UI on loopback, with a client following its event stream")
	flag.Parse()
	log.SetFlags(0)
	if *input == "" {
		log.Fatal("wordcount: -input is required")
	}
	stop := cpuprof.Start(*cpuprofile)

	heap := summary.SampleHeap(10 * time.Millisecond)
	start := time.Now()
	p := sdk.NewPipeline()
	var counts *pipeline.Counts
	switch *split {
	case "example":
		counts = pipeline.WordCount(p.Root(), *input, pipeline.TextRead)
	case "anchor":
		counts = pipeline.WordCountBy(p.Root(), *input, pipeline.TextRead, pipeline.AnchorWords)
	default:
		log.Fatalf("wordcount: -words=%q: want example or anchor", *split)
	}
	opts := &local.Options{Job: local.Job{Parallelism: *parallelism, MemoryBudget: *budget << 20, TempDir: os.TempDir()}}
	var page *watcher
	if *withUI {
		page = watchUI(opts)
	}
	res, err := local.New(opts).Run(context.Background(), p)
	if err != nil {
		log.Fatal(err)
	}
	if page != nil {
		page.stop()
	}
	elapsed := time.Since(start)
	maxHeap := heap.Stop()
	stop()
	writeMemProfile(*memprofile)

	got := counts.Map()
	// The check and the digest only read the counts: they run at once,
	// on the cores the job has left idle.
	checked := make(chan error, 1)
	go func() {
		if *check == "" {
			checked <- nil
			return
		}
		checked <- checkCounts(got, *check)
	}()
	s := summary.WordCount("local", got)
	if err := <-checked; err != nil {
		log.Fatal(err)
	}
	s.Seconds = elapsed.Seconds()
	s.Read = "io/textio"
	s.MaxLiveHeapKiB = maxHeap
	s.Stages, s.Bundles, s.Splits, s.Spills, s.Retries = res.Stages, res.Bundles, res.Splits, res.Spills, res.Retries
	if err := s.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func writeMemProfile(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// checkCounts compares counts with the "word: count" lines of the file at
// path, and returns an error naming the first few differences.
func checkCounts(counts map[string]int64, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("wordcount: -check: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	want := make(map[string]int64, len(lines))
	for i, line := range lines {
		w, n, ok := strings.Cut(line, ": ")
		c, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("wordcount: -check: %s:%d: %q is not a \"word: count\" line", path, i+1, line)
		}
		want[w] = c
	}
	var diffs []string
	for w, n := range want {
		if counts[w] != n {
			diffs = append(diffs, fmt.Sprintf("%q: %d, want %d", w, counts[w], n))
		}
	}
	for w, n := range counts {
		if _, ok := want[w]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: %d, want none", w, n))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("wordcount: -check: %d of %d words differ from %s, first %s", len(diffs), len(want), path, strings.Join(diffs[:min(5, len(diffs))], "; "))
	}
	log.Printf("wordcount: the counts equal %s (%d words)", path, len(want))
	return nil
}
