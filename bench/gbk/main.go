// Command gbk runs the GroupByKey-heavy benchmark on our local runner: it
// groups the "key\tvalue" records of -input (see command corpus,
// -kind=records) by key with a memory budget of -budget MiB, and
// prints a JSON summary of the groups (count, values, digest) and of the
// runner (spills). The driver compares the summary with the generator's.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/pipeline"
	"github.com/beamgo-dev/beamgo/bench/internal/summary"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

func main() {
	input := flag.String("input", "", "records to group (a glob pattern)")
	budget := flag.Float64("budget", 64, "memory budget of the job in MiB (local.Options.MemoryBudget: the whole process; a budget below the minimum is refused, stating it)")
	parallelism := flag.Int("parallelism", 0, "bundles run at once (default: number of CPUs)")
	tmp := flag.String("tmp", os.TempDir(), "directory for shuffle spills")
	flag.Parse()
	log.SetFlags(0)
	if *input == "" {
		log.Fatal("gbk: -input is required")
	}
	heap := summary.SampleHeap(10 * time.Millisecond)
	start := time.Now()
	p := sdk.NewPipeline()
	groups := pipeline.GroupByKey(p.Root(), *input, pipeline.TextRead)
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: *parallelism, MemoryBudget: int64(*budget * (1 << 20)), TempDir: *tmp}}).Run(context.Background(), p)
	if err != nil {
		log.Fatal(err)
	}
	elapsed := time.Since(start)
	maxHeap := heap.Stop()
	st, ok := groups.Stats()
	if !ok {
		log.Fatal("gbk: the job produced no group statistics")
	}
	s := summary.Summary{Program: "gbk", Seconds: elapsed.Seconds(), Groups: st.Groups, Values: st.Values, GroupDigest: st.Digest,
		Read: "io/textio", Stages: res.Stages, Bundles: res.Bundles, Splits: res.Splits, Spills: res.Spills, Retries: res.Retries,
		MaxLiveHeapKiB: maxHeap}
	if err := s.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}
