// Command streaming is the set of our streaming pipelines that scripts/flink.sh
// and scripts/spark.sh submit to Beam's Flink and Spark job servers, beside
// the word count: a windowed count, keyed state with an event-time timer, and
// early-firing triggers. Each runs on the same timestamped events: ticks of
// io/unbounded.Rate (value v at Start + v/rate, key v mod --keys), read
// either as an unbounded source that ends after --events ticks
// (--source=rate, which makes a job server run the job in streaming mode)
// or as a bounded collection created with the same values and timestamps
// (--source=create, batch mode).
//
// Every output line is appended to --output (a file; each worker process
// writes its own, --output.<pid>, so LOOPBACK, PROCESS and EXTERNAL workers
// all write where the submitter can read them). The lines do not depend on
// where or how the job ran, except the early panes of --job=early, whose
// number depends on when the runner fires them: the scripts compare the
// other lines with the local runner's.
//
//	go run ./flink/streaming --job=windowed --output=/tmp/w
//	go run ./flink/streaming --job=stateful --source=rate --runner=universal --endpoint=127.0.0.1:8099 --output=/tmp/s
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Window is the size of the fixed event-time windows of every job.
const Window = time.Minute

// Config is what a job reads: the events and where its lines go.
type Config struct {
	// Source is "create" (bounded) or "rate" (unbounded, ending).
	Source string
	// Events is how many ticks; PerSecond their event-time rate; Keys how
	// many keys they are spread over.
	Events    int64
	PerSecond float64
	Keys      int64
	// Output is the file the lines are appended to (with the writing
	// process's id as suffix).
	Output string
}

// start is the event time of the first tick: fixed, so that every run
// sees the same windows.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Event is a keyed tick: its key and its sequence number.
type Event = sdk.KV[int64, int64]

// Events adds the ticks to s as keyed events with their event times.
func Events(s sdk.Scope, c Config) sdk.PCollection[Event] {
	rate := unbounded.Rate{PerSecond: c.PerSecond, NumPartitions: 2, Start: start, Count: c.Events, Unpaced: true}
	var ticks sdk.PCollection[unbounded.Tick]
	if c.Source == "rate" {
		ticks = unbounded.Read(s, rate, unbounded.Options{Name: "Rate", PollInterval: 20 * time.Millisecond})
	} else {
		ticks = sdk.WithTimestamps(s, unbounded.Tick.Time, sdk.Create(s, createdTicks(c)), sdk.Name("Stamp"))
	}
	keys := c.Keys
	return sdk.Map(s, func(t unbounded.Tick) Event { return sdk.Pair(t.Value%keys, t.Value) }, ticks, sdk.Name("Key"))
}

// createdTicks are the ticks the Rate source of c generates, as values.
func createdTicks(c Config) []unbounded.Tick {
	ticks := make([]unbounded.Tick, c.Events)
	for v := range ticks {
		at := start.Add(time.Duration(float64(v) / c.PerSecond * float64(time.Second)))
		ticks[v] = unbounded.Tick{Value: int64(v), UnixMilli: at.UnixMilli()}
	}
	return ticks
}

// WindowedCount counts each key's events per fixed window with the
// default trigger: one line per key and window.
func WindowedCount(s sdk.Scope, events sdk.PCollection[Event]) sdk.PCollection[string] {
	windowed := sdk.WindowInto(s, sdk.FixedWindows(Window), events)
	return sdk.ParDo(s, render{}, sdk.CountPerKey(s, windowed))
}

// EarlyCount is WindowedCount with early panes after every 50 events of a
// window, accumulating: the early lines show running counts, and the
// on-time lines are WindowedCount's.
func EarlyCount(s sdk.Scope, events sdk.PCollection[Event]) sdk.PCollection[string] {
	windowed := sdk.WindowInto(s, sdk.FixedWindows(Window), events,
		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(50))), sdk.Accumulating())
	return sdk.ParDo(s, render{}, sdk.CountPerKey(s, windowed))
}

// render prints a count with its window and the timing of its pane.
type render struct{}

func (render) ProcessElement(ctx context.Context, kv sdk.KV[int64, int64], emit func(string)) error {
	emit(fmt.Sprintf("%s key=%d count=%d pane=%s", windowStart(ctx), kv.Key, kv.Value, sdk.PaneOf(ctx).Timing))
	return nil
}

func windowStart(ctx context.Context) string {
	return sdk.WindowOf(ctx).Start.ToTime().UTC().Format("15:04")
}

// keyTotal keeps each key's count and sum of tick numbers per window in
// value state, and emits them from an event-time timer at the window's
// end: state and timers, not a combine, so that the job server must run a
// stateful DoFn.
type keyTotal struct {
	Count sdk.ValueState[int64]
	Sum   sdk.ValueState[int64]
	Flush sdk.EventTimeTimer
}

func (f *keyTotal) ProcessElement(ctx context.Context, e Event, emit func(string)) error {
	if err := add(ctx, f.Count, 1); err != nil {
		return err
	}
	if err := add(ctx, f.Sum, e.Value); err != nil {
		return err
	}
	return f.Flush.Set(ctx, sdk.WindowOf(ctx).MaxTimestamp().ToTime())
}

func (f *keyTotal) OnTimer(ctx context.Context, _ sdk.FiredTimer, emit func(string)) error {
	key, err := sdk.CurrentKey[int64](ctx)
	if err != nil {
		return err
	}
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	sum, _, err := f.Sum.Read(ctx)
	if err != nil {
		return err
	}
	emit(fmt.Sprintf("%s key=%d count=%d sum=%d timer", windowStart(ctx), key, n, sum))
	return nil
}

// add adds d to the value of v.
func add(ctx context.Context, v sdk.ValueState[int64], d int64) error {
	n, _, err := v.Read(ctx)
	if err != nil {
		return err
	}
	return v.Write(ctx, n+d)
}

// StatefulTotals runs keyTotal over the events in fixed windows.
func StatefulTotals(s sdk.Scope, events sdk.PCollection[Event]) sdk.PCollection[string] {
	windowed := sdk.WindowInto(s, sdk.FixedWindows(Window), events)
	return sdk.ParDo(s, sdk.DoFn[Event, string](&keyTotal{}), windowed, sdk.Name("KeyTotal"))
}

// Jobs are the pipelines by --job name.
var Jobs = map[string]func(sdk.Scope, sdk.PCollection[Event]) sdk.PCollection[string]{
	"windowed": WindowedCount,
	"stateful": StatefulTotals,
	"early":    EarlyCount,
}

// Build adds job to s with its output appended to the file of c.
func Build(s sdk.Scope, job string, c Config) error {
	fn, ok := Jobs[job]
	if !ok {
		return fmt.Errorf("streaming: no job %q (windowed, stateful, early)", job)
	}
	if c.Source != "create" && c.Source != "rate" {
		return fmt.Errorf("streaming: --source=%q: want create or rate", c.Source)
	}
	out := &appender{path: c.Output}
	sdk.ForEachFunc(s, out.write, fn(s, Events(s, c)), sdk.Name("Append"))
	return nil
}

// appender appends lines to its file, which it opens on the first line
// with this process's id as suffix, so that several worker processes never
// write one file.
type appender struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (a *appender) write(_ context.Context, line string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		f, err := os.OpenFile(fmt.Sprintf("%s.%d", a.path, os.Getpid()), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("streaming: output: %w", err)
		}
		a.f = f // stays open for the process's life: workers have no end hook
	}
	_, err := a.f.WriteString(line + "\n")
	return err
}

func main() {
	opts := launch.Flags(flag.CommandLine)
	var c Config
	job := flag.String("job", "windowed", "the pipeline: windowed, stateful or early")
	flag.StringVar(&c.Source, "source", "create", "create (a bounded collection) or rate (an unbounded source that ends)")
	flag.Int64Var(&c.Events, "events", 6000, "how many events")
	flag.Float64Var(&c.PerSecond, "per_second", 10, "events per second of event time")
	flag.Int64Var(&c.Keys, "keys", 4, "how many keys")
	flag.StringVar(&c.Output, "output", "", "file the output lines are appended to (as FILE.<pid>)")
	if err := opts.Parse(flag.CommandLine, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
	if c.Output == "" || c.Keys <= 0 || c.PerSecond <= 0 {
		log.Fatal("streaming: --output is required, and --keys and --per_second must be positive")
	}
	p := sdk.NewPipeline()
	if err := Build(p.Root(), *job, c); err != nil {
		log.Fatal(err)
	}
	// SIGTERM cancels the job on the job server too (Spark's streaming mode
	// never ends a job on its own).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := launch.Run(ctx, p, opts); err != nil {
		log.Fatal(err)
	}
}
