// Command stateful runs the stateful benchmark of issue 16 on our local
// runner: package keyed's events (default 10M over 1M keys) through a
// DoFn that keeps, per key, a count in value state and the events'
// payloads in bag state, and sets an event-time timer a minute after the
// key's latest event; when the timer fires it reads both states, reports
// the key's count, bag length and bag sum, and clears them. The events are
// read from a splittable counting source in bundles of -bundle_events. It prints a keyed.Summary line
// (events per second, peak RSS, and whether the totals are right), which
// must agree with bench/beam's -job=stateful on Prism.
//
// With -state_dir the state lives in the on-disk store (pebble) instead of
// memory; -budget sets the runner's memory budget (MiB) and -state_memory
// the store's share of it. Bigger -payload values make state larger than
// memory, e.g.
//
//	go run ./bench/stateful -events=2000000 -keys=200000 -payload=1024 -state_dir=/tmp -budget=512
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/cpuprof"
	"github.com/beamgo-dev/beamgo/bench/internal/keyed"
	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// perKey is the benchmark's stateful DoFn.
type perKey struct {
	Count  sdk.ValueState[int64]
	Values sdk.BagState[[]byte]
	Flush  sdk.EventTimeTimer
}

func (f *perKey) ProcessElement(ctx context.Context, kv sdk.KV[int64, []byte], emit func(flush)) error {
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Count.Write(ctx, n+1); err != nil {
		return err
	}
	if err := f.Values.Add(ctx, kv.Value); err != nil {
		return err
	}
	return f.Flush.Set(ctx, sdk.EventTime(ctx).Add(keyed.FlushAfterMs*time.Millisecond))
}

func (f *perKey) OnTimer(ctx context.Context, _ sdk.FiredTimer, emit func(flush)) error {
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	bag, err := f.Values.Read(ctx)
	if err != nil {
		return err
	}
	emit(flush{Count: n, BagLen: int64(len(bag)), Sum: keyed.SumBag(bag)})
	if err := f.Count.Clear(ctx); err != nil {
		return err
	}
	return f.Values.Clear(ctx)
}

// flush is what a key's timer reports.
type flush struct{ Count, BagLen, Sum int64 }

func main() {
	c := keyed.Default
	flag.Int64Var(&c.Events, "events", c.Events, "events")
	flag.Int64Var(&c.Keys, "keys", c.Keys, "keys the events are spread over")
	flag.IntVar(&c.Payload, "payload", c.Payload, "bytes of each event's bag value (at least 8)")
	perBundle := flag.Int64("bundle_events", 0, "events a read bundle generates (default: 4 MiB of payload, at least 1000)")
	parallelism := flag.Int("parallelism", 0, "bundles run at once (default: number of CPUs)")
	budget := flag.Int64("budget", 0, "memory budget of the runner, MiB (default: the runner's)")
	stateDir := flag.String("state_dir", "", "keep state on disk (pebble) under a temporary directory here; default: in memory")
	stateMemory := flag.Int64("state_memory", 0, "MiB of the budget for the on-disk state store (default: the runner's)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the job to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile to this file -memprofile_after into the job")
	memAfter := flag.Duration("memprofile_after", 30*time.Second, "when to write -memprofile")
	memEvery := flag.Duration("memstats", 0, "log the Go heap's figures and the resident set this often (0: never), to tell the Go heap from memory outside it")
	flag.Parse()
	log.SetFlags(0)
	if c.Payload < 8 {
		log.Fatal("stateful: -payload must be at least 8")
	}
	var (
		mu  sync.Mutex
		got keyed.Total
	)

	start := time.Now()
	p := sdk.NewPipeline()
	s := p.Root()
	if *perBundle <= 0 {
		// A read bundle's events leave it together: small bundles keep the
		// elements between stages within the memory budget.
		*perBundle = max(1000, int64(4<<20/c.Payload))
	}
	nums := source.Read[int64, int64](s, source.CountingSource{From: 0, To: c.Events}, source.DesiredBundleSize(8**perBundle))
	events := sdk.Map(s, c.At, nums, sdk.Name("Events"))
	stamped := sdk.WithTimestamps(s, func(e keyed.Event) time.Time { return time.UnixMilli(e.Time) }, events)
	kvs := sdk.MapKV(s, func(e keyed.Event) (int64, []byte) { return e.Key, c.PayloadOf(e.N) }, stamped)
	flushed := sdk.ParDo(s, sdk.DoFn[sdk.KV[int64, []byte], flush](&perKey{}), kvs)
	sdk.ForEachFunc(s, func(_ context.Context, f flush) error {
		mu.Lock()
		got.Add(f.Count, f.BagLen, f.Sum)
		mu.Unlock()
		return nil
	}, flushed)

	stop := cpuprof.Start(*cpuprofile)
	if *memprofile != "" {
		time.AfterFunc(*memAfter, func() { writeHeap(*memprofile) })
	}
	if *memEvery > 0 {
		go logMemory(*memEvery)
	}
	opts := &local.Options{Job: local.Job{Parallelism: *parallelism, MemoryBudget: *budget << 20,
		StateDir: *stateDir, StateMemory: *stateMemory << 20}}
	_, err := local.New(opts).Run(context.Background(), p)
	stop()
	if err != nil {
		log.Fatal(err)
	}
	program := "stateful-local-memory"
	if *stateDir != "" {
		program = "stateful-local-pebble"
	}
	sum := keyed.NewSummary(program, c, got, time.Since(start).Seconds())
	if err := sum.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
	if !sum.OK {
		log.Fatalf("stateful: totals %+v, want %+v (with %d to %d keys flushed)", got, c.Want(), c.Want().Keys, c.MaxFlushes())
	}
}

// logMemory logs, every d, the Go heap's live and in-use bytes, what the
// runtime holds from the OS, and the process's resident set, in MiB.
func logMemory(d time.Duration) {
	for range time.Tick(d) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		rss, _ := keyed.CurrentRSS()
		log.Printf("memstats: live %d heap-inuse %d heap-idle-unreleased %d go-sys %d rss %d",
			m.HeapAlloc>>20, m.HeapInuse>>20, (m.HeapIdle-m.HeapReleased)>>20, m.Sys>>20, rss>>20)
	}
}

// writeHeap writes a heap profile of the live objects to path.
func writeHeap(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Fatal(err)
	}
}
