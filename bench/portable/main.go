// Command portable runs the benchmark jobs on our portable runner: SDK
// workers over the Fn API, by default worker processes (this program
// started again in worker mode, fnapi/worker). The word count
// (-job=wordcount) and the GroupByKey job (-job=gbk) are those of
// bench/internal/pipeline; since user code runs in the workers, the
// results go to files under -output, which the program reads back to print
// its JSON summary (digests as the local runner's programs print them).
// The summary's tree_rss_kib is the peak of the summed resident sets of
// this process and its workers. -runner=local runs the same job, files and
// all, on the local runner: the Fn API boundary's cost is the difference.
// The runner flags are package launch's (-num_workers, -parallelism,
// -environment_type, -memory_budget_mb in MiB), with this program's
// defaults: 2 PROCESS workers on the portable runner, 2 bundles at once.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/pipeline"
	"github.com/beamgo-dev/beamgo/bench/internal/summary"
	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/sdk"
)

func main() {
	opts := launch.Flags(flag.CommandLine)
	job := flag.String("job", "wordcount", "job: wordcount or gbk")
	input := flag.String("input", "", "input files (a glob pattern)")
	output := flag.String("output", "", "directory for the job's result files (must be the same for the workers, so it is a flag)")
	// The benchmark's defaults: 2 PROCESS workers on the portable runner,
	// 2 bundles at once; -runner=local runs the same job, files and all.
	flag.Set("runner", launch.RunnerPortable)
	flag.Set("environment_type", "PROCESS")
	flag.Set("num_workers", "2")
	flag.Set("parallelism", "2")
	flag.Set("progress", "false")
	if err := opts.Parse(flag.CommandLine, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
	log.SetFlags(0)
	if *input == "" || *output == "" {
		log.Fatal("portable: -input and -output are required")
	}
	prefix := filepath.Join(*output, "result")
	p := sdk.NewPipeline()
	switch *job {
	case "wordcount":
		pipeline.WordCountToFiles(p.Root(), *input, pipeline.TextRead, prefix)
	case "gbk":
		pipeline.GroupByKeyToFile(p.Root(), *input, pipeline.TextRead, prefix)
	default:
		log.Fatalf("portable: unknown -job %q", *job)
	}
	var tree *summary.TreeSampler
	if !opts.Worker() {
		tree = summary.SampleTreeRSS(10 * time.Millisecond)
	}
	start := time.Now()
	res, err := launch.Run(context.Background(), p, opts)
	if err != nil {
		log.Fatal(err)
	}
	if res == nil {
		return // a worker
	}
	elapsed := time.Since(start)
	treeKiB, children := tree.Stop()

	ctx := context.Background()
	var s summary.Summary
	switch *job {
	case "wordcount":
		counts, err := pipeline.ReadWordCounts(ctx, prefix)
		if err != nil {
			log.Fatal(err)
		}
		s = summary.WordCount(opts.Runner, counts)
	case "gbk":
		st, err := pipeline.ReadGroupStats(ctx, prefix)
		if err != nil {
			log.Fatal(err)
		}
		s = summary.Summary{Program: opts.Runner, Groups: st.Groups, Values: st.Values, GroupDigest: st.Digest}
	}
	s.Seconds = elapsed.Seconds()
	s.Read = "io/textio"
	s.TreeRSSKiB, s.Workers = treeKiB, children
	s.PeakRSSKiB = summary.PeakRSSKiB()
	s.Stages, s.Bundles, s.Splits, s.Spills, s.Retries = res.Stages, res.Bundles, res.Splits, res.Spills, res.Retries
	if err := s.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}
