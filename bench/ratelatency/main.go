// Command ratelatency measures our local runner on an unbounded source:
// io/unbounded.Rate's ticks keyed by number modulo -keys, counted per key
// in one-second event-time windows with early panes every -early of
// processing time or every -earlycount ticks (DISCARDING) and an on-time pane once the watermark
// passes each window's end.
//
// Paced (the default), the source emits -rate ticks per second at their
// event times, so event time is wall time: a pane's latency is the wall
// time it reaches the sink minus its window's end; the command prints the
// median and 99th percentile over the last panes of every key and window
// (bench/beam --job=rate measures Beam Go on Prism the same way). With -unpaced the
// source emits -count ticks as fast as they are read, and the command
// prints events per second instead (latency means nothing there).
//
//	go run ./bench/ratelatency -rate=10000 -for=10s
//	go run ./bench/ratelatency -unpaced -count=2000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"slices"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// sink collects what the panes carry. The job runs in this process (local
// runner), so the sink may write to it.
type sink struct {
	// mu guards the fields below.
	mu    sync.Mutex
	total int64
	panes map[window.Timing]int
	// last is when the last pane of a (key, window end) arrived.
	last map[[2]int64]time.Time
}

func (k *sink) add(ctx context.Context, kv sdk.KV[int64, int64]) error {
	now := time.Now()
	end := sdk.WindowOf(ctx).End.ToTime()
	timing := sdk.PaneOf(ctx).Timing
	k.mu.Lock()
	defer k.mu.Unlock()
	k.total += kv.Value
	k.panes[timing]++
	key := [2]int64{kv.Key, end.UnixMilli()}
	if now.After(k.last[key]) {
		k.last[key] = now
	}
	return nil
}

func main() {
	rate := flag.Float64("rate", 10000, "ticks per second (paced)")
	runFor := flag.Duration("for", 10*time.Second, "how long to run before draining (paced)")
	unpaced := flag.Bool("unpaced", false, "emit -count ticks as fast as they are read")
	count := flag.Int64("count", 2_000_000, "ticks to emit with -unpaced")
	keys := flag.Int64("keys", 100, "number of keys")
	early := flag.Duration("early", 200*time.Millisecond, "processing time from a pane's first tick to its early firing")
	earlyCount := flag.Int64("earlycount", 0, "if positive, early panes every this many ticks of a key and window instead of -early")
	partitions := flag.Int("partitions", 2, "partitions of the source")
	flag.Parse()
	log.SetFlags(0)

	src := unbounded.Rate{PerSecond: *rate, NumPartitions: *partitions, Start: time.Now().Truncate(time.Second)}
	if *unpaced {
		src.Unpaced, src.Count = true, *count
	}
	k := &sink{panes: map[window.Timing]int{}, last: map[[2]int64]time.Time{}}
	p := sdk.NewPipeline()
	s := p.Root()
	ticks := unbounded.Read(s, src, unbounded.Options{Name: "Rate", PollInterval: 5 * time.Millisecond})
	keyed := sdk.Map(s, func(t unbounded.Tick) sdk.KV[int64, int64] {
		return sdk.KV[int64, int64]{Key: t.Value % *keys, Value: 1}
	}, ticks, sdk.Name("Key"))
	var earlyTrigger sdk.Trigger = sdk.AfterProcessingTime().PlusDelayOf(*early)
	if *earlyCount > 0 {
		earlyTrigger = sdk.Repeatedly(sdk.AfterCount(*earlyCount))
	}
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), keyed,
		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(earlyTrigger)), sdk.Discarding())
	sdk.ForEachFunc(s, k.add, sdk.SumPerKey(s, windowed))

	job := local.Job{}
	if !*unpaced {
		drain := make(chan struct{})
		stop := time.AfterFunc(*runFor, func() { close(drain) })
		defer stop.Stop()
		job.Drain = drain
	}
	start := time.Now()
	if _, err := local.New(&local.Options{Job: job}).Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	wall := time.Since(start)
	report(k, wall, *unpaced, *count)
}

func report(k *sink, wall time.Duration, unpaced bool, count int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fmt.Printf("ticks counted %d, panes early %d on time %d late %d, wall %.2f s\n",
		k.total, k.panes[window.TimingEarly], k.panes[window.TimingOnTime], k.panes[window.TimingLate], wall.Seconds())
	if unpaced {
		if k.total != count {
			log.Fatalf("the panes count %d ticks, want %d", k.total, count)
		}
		fmt.Printf("events/s %.0f\n", float64(k.total)/wall.Seconds())
		return
	}
	var lat []time.Duration
	for key, at := range k.last {
		lat = append(lat, at.Sub(time.UnixMilli(key[1])))
	}
	if len(lat) == 0 {
		log.Fatal("no pane")
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	fmt.Printf("latency of each key and window's last pane (sink arrival - window end): median %v p99 %v max %v over %d windows\n",
		q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))
}
