// Command durablecount is a streaming job that survives being killed: it
// reads paced events from an unbounded source, totals each user's amounts
// per one-second event-time window in keyed state (a value state and an
// event-time timer per user and window), and writes the totals with an
// epoch sink that writes each epoch as one file, atomically, and skips an
// epoch it finds written. With --checkpoint_dir, the job snapshots itself
// every --checkpoint_interval; killed (even with SIGKILL) and started
// again with the same directory, it resumes from the newest snapshot, and
// the output directory ends up holding exactly the totals of an
// uninterrupted run: nothing lost, nothing twice.
//
//	go run ./examples/durablecount --out=/tmp/totals --checkpoint_dir=/tmp/ckpt
//
// It takes the runner flags of package launch, so it runs on the job
// server too, which runs it again by itself after the job server is
// killed (cmd/jobserver, "Checkpoints and restarts"):
//
//	jobserver --allow_process=$PWD --checkpoint_root=/tmp/ckpt --jobs_dir=/tmp/jobs
//	./durablecount --runner=universal --endpoint=127.0.0.1:8099 --environment_type=PROCESS \
//		--out=/tmp/totals --checkpoint_dir=/tmp/ckpt/durablecount
//
// The source is finite (--events per partition), so the job ends once it
// has read everything; Verify compares the output with the totals computed
// directly from the generator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Event is one user's spending at a time.
type Event struct {
	User, Amount int64
}

// Total is a user's total in one window.
type Total struct {
	User        int64
	WindowStart int64 // Unix milliseconds
	Sum, Count  int64
}

// String renders a total as one line of the output.
func (t Total) String() string {
	return fmt.Sprintf("user=%d window=%d sum=%d count=%d", t.User, t.WindowStart, t.Sum, t.Count)
}

// Events generates Parts partitions of N events each. Event i of
// partition p is user (7i+3p) mod Users spending i mod 13 + 1, at event
// time Start + i*Step. Readers hand out at most PerSecond events a second
// per partition, so that the job runs long enough to be interrupted.
type Events struct {
	Parts, N, Users int
	Step            time.Duration
	Start           time.Time
	PerSecond       float64
}

// Part is one partition of Events.
type Part struct{ ID int }

// Mark is the position in a partition: the index of the next event.
type Mark struct{ Next int }

// event returns event i of partition p.
func (e Events) event(p, i int) unbounded.Record[Event] {
	return unbounded.Record[Event]{
		Value: Event{User: int64((7*i + 3*p) % e.Users), Amount: int64(i%13 + 1)},
		Time:  e.Start.Add(time.Duration(i) * e.Step),
	}
}

// Partitions implements unbounded.Source.
func (e Events) Partitions(context.Context) ([]Part, error) {
	ps := make([]Part, e.Parts)
	for i := range ps {
		ps[i] = Part{ID: i}
	}
	return ps, nil
}

// Open implements unbounded.Source.
func (e Events) Open(_ context.Context, p Part, m *Mark) (unbounded.Reader[Event, Mark], error) {
	r := &reader{e: e, p: p.ID, opened: time.Now()}
	if m != nil {
		r.next = m.Next
	}
	r.first = r.next
	return r, nil
}

type reader struct {
	e              Events
	p, next, first int
	opened         time.Time
}

func (r *reader) Next(context.Context) (unbounded.Record[Event], bool, error) {
	if r.next >= r.e.N {
		return unbounded.Record[Event]{}, false, io.EOF
	}
	if r.e.PerSecond > 0 && float64(r.next-r.first) > time.Since(r.opened).Seconds()*r.e.PerSecond {
		return unbounded.Record[Event]{}, false, nil
	}
	rec := r.e.event(r.p, r.next)
	r.next++
	return rec, true, nil
}

func (r *reader) Mark() Mark { return Mark{Next: r.next} }

func (r *reader) Watermark() time.Time { return r.e.Start.Add(time.Duration(r.next) * r.e.Step) }

func (r *reader) Close() error { return nil }

// windowTotal totals a user's amounts per window in value state and emits
// the total when the watermark passes the window's end.
type windowTotal struct {
	Sum   sdk.ValueState[int64]
	Count sdk.ValueState[int64]
	Flush sdk.EventTimeTimer
}

func (f *windowTotal) ProcessElement(ctx context.Context, kv sdk.KV[int64, int64], emit func(Total)) error {
	sum, _, err := f.Sum.Read(ctx)
	if err != nil {
		return err
	}
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Sum.Write(ctx, sum+kv.Value); err != nil {
		return err
	}
	if err := f.Count.Write(ctx, n+1); err != nil {
		return err
	}
	return f.Flush.Set(ctx, sdk.WindowOf(ctx).MaxTimestamp().ToTime())
}

func (f *windowTotal) OnTimer(ctx context.Context, _ sdk.FiredTimer, emit func(Total)) error {
	user, err := sdk.CurrentKey[int64](ctx)
	if err != nil {
		return err
	}
	sum, _, err := f.Sum.Read(ctx)
	if err != nil {
		return err
	}
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	emit(Total{User: user, WindowStart: int64(sdk.WindowOf(ctx).Start), Sum: sum, Count: n})
	return nil
}

// Build adds the job to a new pipeline: events, totals per user and
// window, written by the epoch sink into dir.
func Build(src Events, dir string) *sdk.Pipeline { return build(src, dir, "WindowTotal") }

// build is Build with the stateful step named totalName.
func build(src Events, dir, totalName string) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	events := unbounded.Read(s, src, unbounded.Options{Name: "Events", MaxRecords: 50, PollInterval: 10 * time.Millisecond})
	kv := sdk.Map(s, func(e Event) sdk.KV[int64, int64] { return sdk.KV[int64, int64]{Key: e.User, Value: e.Amount} }, events, sdk.Name("ByUser"))
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), kv)
	totals := sdk.ParDo(s, sdk.DoFn[sdk.KV[int64, int64], Total](&windowTotal{}), windowed, sdk.Name(totalName))
	foreach.Batch(s, WriteEpoch(dir), totals, &foreach.Options[Total]{
		Name: "Files", Shards: 4, ShardOf: func(t Total) uint64 { return uint64(t.User) },
	})
	return p
}

// WriteEpoch returns the sink's batch function: each epoch becomes one
// file named after it, written to a temporary name and renamed, so that
// it appears whole or not at all; an epoch whose file exists was
// committed by an earlier run (or attempt) and is skipped.
func WriteEpoch(dir string) foreach.BatchFunc[Total] {
	return func(_ context.Context, batch []Total, e foreach.Epoch) error {
		name := filepath.Join(dir, fmt.Sprintf("epoch-%d-%d-%d.txt", e.Window.Start, e.Shard, e.Pane))
		if _, err := os.Stat(name); err == nil {
			return nil
		}
		lines := make([]string, len(batch))
		for i, t := range batch {
			lines[i] = t.String() + "\n"
		}
		slices.Sort(lines)
		tmp, err := os.CreateTemp(dir, ".epoch-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.WriteString(strings.Join(lines, "")); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), name)
	}
}

// Expected returns the lines of an uninterrupted run, sorted.
func Expected(src Events) []string {
	totals := map[[2]int64]*Total{}
	for p := range src.Parts {
		for i := range src.N {
			r := src.event(p, i)
			w := r.Time.Truncate(time.Second).UnixMilli()
			k := [2]int64{r.Value.User, w}
			t := totals[k]
			if t == nil {
				t = &Total{User: r.Value.User, WindowStart: w}
				totals[k] = t
			}
			t.Sum += r.Value.Amount
			t.Count++
		}
	}
	var out []string
	for _, t := range totals {
		out = append(out, t.String())
	}
	slices.Sort(out)
	return out
}

// Written returns the lines in the epoch files of dir, sorted.
func Written(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "epoch-*.txt"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for l := range strings.Lines(string(data)) {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	slices.Sort(out)
	return out, nil
}

// Verify compares the output in dir with the expected totals and says
// what is missing or repeated.
func Verify(src Events, dir string) error {
	got, err := Written(dir)
	if err != nil {
		return err
	}
	want := Expected(src)
	if slices.Equal(got, want) {
		return nil
	}
	count := map[string]int{}
	for _, l := range got {
		count[l]++
	}
	var missing, twice []string
	for _, l := range want {
		switch count[l] {
		case 0:
			missing = append(missing, l)
		case 1:
		default:
			twice = append(twice, l)
		}
		delete(count, l)
	}
	var extra []string
	for l := range count {
		extra = append(extra, l)
	}
	return fmt.Errorf("output differs from the reference: %d lines, want %d; %d missing (first %q), %d repeated (first %q), %d unexpected (first %q)",
		len(got), len(want), len(missing), first(missing), len(twice), first(twice), len(extra), first(extra))
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Run runs the job on the local runner until the source is read; job
// carries the checkpoint settings.
func Run(ctx context.Context, src Events, out string, job local.Job) (*runner.Result, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	return local.New(&local.Options{Job: job}).Run(ctx, Build(src, out))
}

// DefaultEvents is the generator the command runs.
func DefaultEvents() Events {
	return Events{Parts: 3, N: 3000, Users: 20, Step: 10 * time.Millisecond,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), PerSecond: 1000}
}

func main() {
	opts := launch.Flags(flag.CommandLine)
	// Snapshots every second by default here: the job is short.
	opts.CheckpointInterval = time.Second
	flag.Lookup("checkpoint_interval").DefValue = "1s"
	out := flag.String("out", "", "directory of the output epoch files (default: a new temporary directory; required beyond --runner=local, where workers write it)")
	fresh := flag.Bool("fresh", false, "the same as --checkpoint_fresh")
	src := DefaultEvents()
	flag.IntVar(&src.N, "events", src.N, "events per partition")
	flag.Float64Var(&src.PerSecond, "rate", src.PerSecond, "events per second per partition (0: unpaced)")
	if err := opts.Parse(flag.CommandLine, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
	opts.CheckpointFresh = opts.CheckpointFresh || *fresh
	if *out == "" {
		if opts.Runner != launch.RunnerLocal {
			log.Fatal("durablecount: --out is required with --runner=" + opts.Runner + ": the workers write there")
		}
		d, err := os.MkdirTemp("", "durablecount-")
		if err != nil {
			log.Fatal(err)
		}
		*out = d
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	res, err := launch.Run(context.Background(), Build(src, *out), opts)
	if err != nil {
		log.Fatal(err)
	}
	if opts.Worker() {
		return
	}
	if err := Verify(src, *out); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			log.Fatal(err)
		}
		fmt.Fprintln(os.Stderr, "durablecount:", err)
		os.Exit(1)
	}
	fmt.Printf("durablecount: %d totals in %s, exactly the reference, in %v", len(Expected(src)), *out, time.Since(start).Round(time.Millisecond))
	if res.Checkpoints > 0 {
		// The job server keeps these figures in its job messages.
		fmt.Printf("; %d snapshots (largest %d bytes, %v in all), resumed from snapshot %d",
			res.Checkpoints, res.CheckpointBytes, res.CheckpointTime.Round(time.Millisecond), res.RestoredFrom)
	}
	fmt.Println()
}
