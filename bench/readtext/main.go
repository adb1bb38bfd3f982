// Command readtext is the 1 GB read benchmark: it reads the files matching
// -input line by line and prints a JSON summary of the lines (count, bytes
// and an order-independent checksum, package linecount), either on our
// local runner (-impl=local: io/textio splits the files into byte ranges
// read in parallel, split further while running, and a combine summarizes
// the lines) or with the hand-written reader (-impl=hand: bufio over whole
// files, -workers goroutines). Both must print the same summary.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/linecount"
	"github.com/beamgo-dev/beamgo/bench/internal/pipeline"
	"github.com/beamgo-dev/beamgo/bench/internal/summary"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

func main() {
	input := flag.String("input", "", "files to read (a glob pattern)")
	impl := flag.String("impl", "local", "local (our runner with io/textio) or hand (hand-written reader)")
	parallelism := flag.Int("parallelism", 0, "local: bundles run at once (default: number of CPUs)")
	workers := flag.Int("workers", 2, "hand: goroutines reading files")
	flag.Parse()
	log.SetFlags(0)
	if *input == "" {
		log.Fatal("readtext: -input is required")
	}
	start := time.Now()
	var s summary.Summary
	var st linecount.Stats
	switch *impl {
	case "hand":
		paths, err := filepath.Glob(*input)
		if err != nil || len(paths) == 0 {
			log.Fatalf("readtext: -input %q matches no file (%v)", *input, err)
		}
		var raw int64
		if st, raw, err = linecount.Count(paths, *workers); err != nil {
			log.Fatal(err)
		}
		s = summary.Summary{Program: "readtext-hand", Read: "bufio, whole files", InputBytes: raw}
	case "local":
		heap := summary.SampleHeap(10 * time.Millisecond)
		p := sdk.NewPipeline()
		l := pipeline.LineCount(p.Root(), *input, pipeline.TextRead)
		res, err := local.New(&local.Options{Job: local.Job{Parallelism: *parallelism}}).Run(context.Background(), p)
		if err != nil {
			log.Fatal(err)
		}
		var ok bool
		if st, ok = l.Stats(); !ok {
			log.Fatal("readtext: the job produced no result")
		}
		s = summary.Summary{Program: "readtext-local", Read: "io/textio", MaxLiveHeapKiB: heap.Stop(),
			Stages: res.Stages, Bundles: res.Bundles, Splits: res.Splits, Retries: res.Retries}
	default:
		log.Fatalf("readtext: unknown -impl %q (want local or hand)", *impl)
	}
	s.Seconds = time.Since(start).Seconds()
	s.Lines, s.LineBytes, s.LineSum = st.Lines, st.Bytes, st.Sum
	if err := s.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}
