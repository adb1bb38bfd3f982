// Command wordcount runs the benchmark word count on our local runner: the
// files matching -input are read with io/textio, split into words with the
// scanner of examples/wordcount and counted with sdk.CountElements; the
// counts stay in memory and the program prints a JSON summary with their
// digest, which must equal the hand-written program's.
//
// -cpuprofile and -memprofile write pprof profiles of the run. -ui shows
// the run on a web UI (runner/webui) with a client following the job's
// event stream, as an open page does, so that the UI's overhead can be
// measured (bench/ui.sh).
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
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
	counts := pipeline.WordCount(p.Root(), *input, pipeline.TextRead)
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

	s := summary.WordCount("local", counts.Map())
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
