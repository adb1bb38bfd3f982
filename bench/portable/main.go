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
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"beamgo/bench/internal/pipeline"
	"beamgo/bench/internal/summary"
	"beamgo/fnapi/worker"
	"beamgo/runner"
	"beamgo/runner/local"
	"beamgo/runner/portable"
	"beamgo/sdk"
)

func main() {
	worker.Init() // a worker process strips the runner's flags before flag.Parse
	job := flag.String("job", "wordcount", "job: wordcount or gbk")
	input := flag.String("input", "", "input files (a glob pattern)")
	output := flag.String("output", "", "directory for the job's result files (must be the same for the workers, so it is a flag)")
	workers := flag.Int("workers", 2, "worker processes")
	parallelism := flag.Int("parallelism", 2, "bundles run at once, over all workers")
	env := flag.String("environment_type", portable.EnvProcess, "PROCESS (worker processes) or LOOPBACK (harnesses in this process)")
	budget := flag.Int64("budget", 0, "shuffle memory budget in MiB (default: the runner's)")
	runnerName := flag.String("runner", "portable", "portable, or local to run the same job (files and all) on the local runner for comparison")
	flag.Parse()
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
	var r runner.Runner
	switch *runnerName {
	case "portable":
		r = portable.New(&portable.Options{
			Workers: *workers, Parallelism: *parallelism, EnvironmentType: *env,
			MemoryBudget: *budget << 20, TempDir: os.TempDir(),
		})
	case "local":
		r = local.New(&local.Options{Parallelism: *parallelism, MemoryBudget: *budget << 20, TempDir: os.TempDir()})
	default:
		log.Fatalf("portable: unknown -runner %q", *runnerName)
	}
	var tree *summary.TreeSampler
	if !worker.Active() {
		tree = summary.SampleTreeRSS(10 * time.Millisecond)
	}
	start := time.Now()
	res, err := r.Run(context.Background(), p) // in a worker: serves p and exits
	if err != nil {
		log.Fatal(err)
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
		s = summary.WordCount(*runnerName, counts)
	case "gbk":
		st, err := pipeline.ReadGroupStats(ctx, prefix)
		if err != nil {
			log.Fatal(err)
		}
		s = summary.Summary{Program: *runnerName, Groups: st.Groups, Values: st.Values, GroupDigest: st.Digest}
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
