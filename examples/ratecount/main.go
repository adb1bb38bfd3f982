// Command ratecount is the streaming hello-world of Spark Structured
// Streaming's guide, on an unbounded source: a rate source generates
// numbered ticks (io/unbounded.Rate), each tick gets a key (its number
// modulo --keys), and the ticks are counted per key in one-second event-time
// windows. As in Spark's update output mode, a window's running counts are
// printed while it fills (early panes every 200 ms of processing time,
// accumulating) and its final count once the watermark passes its end.
//
// The job runs until --for has passed, then drains: the source stops at
// its next checkpoint, the watermark advances to the end, and the last
// windows print their final panes.
//
//	go run ./examples/ratecount --rate=1000 --keys=3 --for=5s
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// CountPerKey adds the job to s: ticks keyed by number modulo keys,
// counted per key in one-second windows with early panes every
// earlyEvery of processing time, rendered as lines.
func CountPerKey(s sdk.Scope, ticks sdk.PCollection[unbounded.Tick], keys int64, earlyEvery time.Duration) sdk.PCollection[string] {
	keyed := sdk.Map(s, func(t unbounded.Tick) sdk.KV[int64, int64] {
		return sdk.KV[int64, int64]{Key: t.Value % keys, Value: 1}
	}, ticks, sdk.Name("Key"))
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), keyed,
		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterProcessingTime().PlusDelayOf(earlyEvery))),
		sdk.Accumulating())
	return sdk.ParDo(s, render{}, sdk.SumPerKey(s, windowed))
}

// render prints a count with its window and pane.
type render struct{}

func (render) ProcessElement(ctx context.Context, kv sdk.KV[int64, int64], emit func(string)) error {
	w, pane := sdk.WindowOf(ctx), sdk.PaneOf(ctx)
	emit(fmt.Sprintf("%s key=%d count=%d (%s)", w.Start.ToTime().Format("15:04:05"), kv.Key, kv.Value, pane.Timing))
	return nil
}

// Run runs the job for d on the local runner, then drains it, and calls
// out with every line.
func Run(ctx context.Context, src unbounded.Rate, keys int64, d time.Duration, out func(string)) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ticks := unbounded.Read(s, src, unbounded.Options{Name: "Rate", PollInterval: 20 * time.Millisecond})
	sdk.ForEachFunc(s, func(_ context.Context, line string) error { out(line); return nil }, CountPerKey(s, ticks, keys, 200*time.Millisecond))
	drain := make(chan struct{})
	stop := time.AfterFunc(d, func() { close(drain) })
	defer stop.Stop()
	_, err := local.New(&local.Options{Job: local.Job{Drain: drain}}).Run(ctx, p)
	return err
}

func main() {
	rate := flag.Float64("rate", 100, "ticks per second")
	keys := flag.Int64("keys", 3, "number of keys")
	runFor := flag.Duration("for", 3*time.Second, "how long to run before draining")
	flag.Parse()
	if *keys <= 0 {
		log.Fatal("--keys must be positive")
	}
	src := unbounded.Rate{PerSecond: *rate, NumPartitions: 2, Start: time.Now().Truncate(time.Second)}
	err := Run(context.Background(), src, *keys, *runFor, func(line string) { fmt.Fprintln(os.Stdout, line) })
	if err != nil {
		log.Fatal(err)
	}
}
