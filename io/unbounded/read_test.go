package unbounded_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// runners are the runners every test here runs on.
func runners() map[string]func() runner.Runner {
	return map[string]func() runner.Runner{
		"local":    func() runner.Runner { return local.New(&local.Options{Job: local.Job{Parallelism: 2}}) },
		"portable": func() runner.Runner { return portable.New(&portable.Options{Workers: 2}) },
	}
}

func values(ticks []unbounded.Tick) []int64 {
	out := make([]int64, len(ticks))
	for i, t := range ticks {
		out[i] = t.Value
	}
	slices.Sort(out)
	return out
}

func upTo(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// A finite Rate source read in turns of a few records is read exactly
// once, every record with its own event time.
func TestReadEveryRecordOnceAcrossCheckpoints(t *testing.T) {
	for name, newRunner := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			src := unbounded.Rate{PerSecond: 1000, NumPartitions: 3, Start: epoch, Count: 500, Unpaced: true}
			ticks := unbounded.Read(s, src, unbounded.Options{MaxRecords: 7})
			got := runnertest.Collect(s, ticks)
			wrong := runnertest.Collect(s, sdk.ParDo(s, checkStamp{}, ticks))
			if _, err := newRunner().Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(upTo(500), values(got.Elements())); diff != "" {
				t.Errorf("values read (-want +got):\n%s", diff)
			}
			if w := wrong.Elements(); len(w) > 0 {
				t.Errorf("event times: %v", w[:min(len(w), 5)])
			}
		})
	}
}

// checkStamp emits a message for every tick whose event time is not its
// own.
type checkStamp struct{}

func (checkStamp) ProcessElement(ctx context.Context, v unbounded.Tick, emit func(string)) error {
	if !sdk.EventTime(ctx).Equal(v.Time()) {
		emit(fmt.Sprintf("value %d at %v, want %v", v.Value, sdk.EventTime(ctx), v.Time()))
	}
	return nil
}

// windowCount renders a count with its window's start after epoch.
type windowCount struct{}

func (windowCount) ProcessElement(ctx context.Context, kv sdk.KV[string, int64], emit func(string)) error {
	emit(fmt.Sprintf("%s %d", sdk.WindowOf(ctx).Start.ToTime().Sub(epoch), kv.Value))
	return nil
}

// The watermark follows the partitions' progress, so windows fire while
// the source runs: fixed one-second windows over 4 seconds of a 100/s rate
// source give four counts of 100.
func TestWindowedCountsOverAnUnboundedRead(t *testing.T) {
	for name, newRunner := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			src := unbounded.Rate{PerSecond: 100, NumPartitions: 2, Start: epoch, Count: 400, Unpaced: true}
			ticks := unbounded.Read(s, src, unbounded.Options{MaxRecords: 30})
			windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), ticks)
			keyed := sdk.Map(s, func(unbounded.Tick) sdk.KV[string, int64] { return sdk.KV[string, int64]{Key: "n", Value: 1} }, windowed)
			counts := sdk.ParDo(s, windowCount{}, sdk.SumPerKey(s, keyed))
			got := runnertest.Collect(s, counts)
			if _, err := newRunner().Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := []string{"0s 100", "1s 100", "2s 100", "3s 100"}
			if diff := cmp.Diff(want, got.Sorted()); diff != "" {
				t.Errorf("counts per window (-want +got):\n%s", diff)
			}
		})
	}
}

// failOnce fails the first attempt of every bundle that sees value 50 or
// 123: the bundle is retried from the partition's previous mark.
type failOnce struct {
	Seen *sync.Map
}

func (f *failOnce) ProcessElement(_ context.Context, v unbounded.Tick, emit func(int64)) error {
	if v.Value == 50 || v.Value == 123 {
		if _, again := f.Seen.LoadOrStore(v.Value, true); !again {
			return fmt.Errorf("injected failure at %d", v.Value)
		}
	}
	emit(v.Value)
	return nil
}

// A bundle that fails after reading resumes from the committed mark:
// nothing is lost and nothing is emitted twice.
func TestFailedBundleRereadsFromTheCommittedMark(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	src := unbounded.Rate{PerSecond: 1000, NumPartitions: 2, Start: epoch, Count: 300, Unpaced: true}
	ticks := unbounded.Read(s, src, unbounded.Options{MaxRecords: 11})
	// The Reshuffle puts the collector in a stage of its own, which sees
	// committed output only.
	got := runnertest.Collect(s, sdk.Reshuffle(s, sdk.ParDo(s, &failOnce{Seen: &sync.Map{}}, ticks)))
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Retries < 2 {
		t.Errorf("Retries = %d, want at least 2 (one per injected failure)", res.Retries)
	}
	out := got.Elements()
	slices.Sort(out)
	if diff := cmp.Diff(upTo(300), out); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

// finalizing records the marks Finalize gets.
type finalizing struct {
	unbounded.Rate
	Marks *sync.Map // partition index -> highest RateMark.Next finalized
	Calls *atomic.Int64
}

func (f finalizing) Finalize(_ context.Context, p unbounded.RatePartition, m unbounded.RateMark) error {
	f.Calls.Add(1)
	for {
		old, loaded := f.Marks.LoadOrStore(p.Index, m.Next)
		if !loaded || old.(int64) >= m.Next || f.Marks.CompareAndSwap(p.Index, old, m.Next) {
			return nil
		}
	}
}

// A Finalizer hears of every committed mark, up to each partition's last.
func TestFinalizerGetsTheCommittedMarks(t *testing.T) {
	for name, newRunner := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			src := finalizing{Rate: unbounded.Rate{PerSecond: 1000, NumPartitions: 2, Start: epoch, Count: 100, Unpaced: true}, Marks: &sync.Map{}, Calls: &atomic.Int64{}}
			unbounded.Read(s, src, unbounded.Options{MaxRecords: 10})
			if _, err := newRunner().Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			// Partition 0 reads 0, 2, ..., 98 and ends at 100; partition
			// 1 reads 1, ..., 99 and ends at 101.
			for part, want := range map[int]int64{0: 100, 1: 101} {
				got, _ := src.Marks.Load(part)
				if got != want {
					t.Errorf("partition %d: last finalized mark %v, want %d", part, got, want)
				}
			}
			if c := src.Calls.Load(); c < 10 {
				t.Errorf("Finalize called %d times, want one per committed turn (at least 10)", c)
			}
		})
	}
}

// An endless paced source runs until the job is drained; the windows then
// fire their final panes and Run returns the result.
func TestDrainStopsAnEndlessRead(t *testing.T) {
	for name, newRunner := range map[string]func(drain chan struct{}) runner.Runner{
		"local": func(d chan struct{}) runner.Runner {
			return local.New(&local.Options{Job: local.Job{Parallelism: 2, Drain: d}})
		},
		"portable": func(d chan struct{}) runner.Runner {
			return portable.New(&portable.Options{Workers: 2, Job: portable.Job{Drain: d}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			start := time.Now().Truncate(time.Second)
			src := unbounded.Rate{PerSecond: 200, NumPartitions: 2, Start: start}
			ticks := unbounded.Read(s, src, unbounded.Options{PollInterval: 20 * time.Millisecond})
			windowed := sdk.WindowInto(s, sdk.FixedWindows(100*time.Millisecond), ticks)
			keyed := sdk.Map(s, func(unbounded.Tick) sdk.KV[string, int64] { return sdk.KV[string, int64]{Key: "n", Value: 1} }, windowed)
			sums := runnertest.Collect(s, sdk.Values(s, sdk.SumPerKey(s, keyed)))
			drain := make(chan struct{})
			timer := time.AfterFunc(700*time.Millisecond, func() { close(drain) })
			defer timer.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := newRunner(drain).Run(ctx, p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var total int64
			for _, n := range sums.Elements() {
				total += n
			}
			// About 700 ms at 200/s were due when the drain began.
			if total < 20 || total > 400 {
				t.Errorf("records counted before the drain: %d, want about 140", total)
			}
		})
	}
}

// firstN returns the partitions 0, 1, ..., n-1.
func firstN(n int) []int {
	ps := make([]int, n)
	for i := range ps {
		ps[i] = i
	}
	return ps
}

// allStart is a source whose partitions end only once every partition has
// been opened: its readers keep returning records until then (failing
// after a while), so a runner that reads the partitions it started
// before starting the others never gets there.
type allStart struct {
	N      int
	Opened *atomic.Int64
	Start  time.Time
}

func (a allStart) Partitions(context.Context) ([]int, error) { return firstN(a.N), nil }

func (a allStart) Open(_ context.Context, p int, mark *int) (unbounded.Reader[int, int], error) {
	r := &allStartReader{a: a}
	if mark != nil {
		r.next = *mark
	} else {
		a.Opened.Add(1)
	}
	return r, nil
}

type allStartReader struct {
	a     allStart
	next  int
	after int // records read since every partition was open
}

func (r *allStartReader) Next(context.Context) (unbounded.Record[int], bool, error) {
	switch {
	case r.a.Opened.Load() == int64(r.a.N):
		if r.after++; r.after > 3 {
			return unbounded.Record[int]{}, false, io.EOF
		}
	case time.Since(r.a.Start) > 10*time.Second:
		return unbounded.Record[int]{}, false, fmt.Errorf("only %d of %d partitions were started in 10s", r.a.Opened.Load(), r.a.N)
	}
	r.next++
	return unbounded.Record[int]{Value: r.next, Time: epoch.Add(time.Duration(r.next) * time.Millisecond)}, true, nil
}

func (r *allStartReader) Mark() int { return r.next }
func (r *allStartReader) Watermark() time.Time {
	return epoch.Add(time.Duration(r.next) * time.Millisecond)
}
func (r *allStartReader) Close() error { return nil }

// Partitions not yet started are read before the next turns of those
// already reading: they hold the watermark at the start, so a runner that
// kept resuming the started ones would hold every window open until those
// ended (and here they end only once all are started).
func TestReadStartsEveryPartition(t *testing.T) {
	for name, newRunner := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			src := allStart{N: 8, Opened: &atomic.Int64{}, Start: time.Now()}
			recs := unbounded.Read(s, src, unbounded.Options{MaxRecords: 5})
			got := runnertest.Collect(s, recs)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := newRunner().Run(ctx, p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if n := len(got.Elements()); n < 4*src.N {
				t.Errorf("read %d records, want at least 4 per partition", n)
			}
		})
	}
}

// countOpens is a source of N partitions of Count records each that
// counts the readers it opens.
type countOpens struct {
	N, Count int
	Opened   *atomic.Int64
}

func (c countOpens) Partitions(context.Context) ([]int, error) { return firstN(c.N), nil }

func (c countOpens) Open(_ context.Context, p int, mark *int) (unbounded.Reader[int, int], error) {
	c.Opened.Add(1)
	r := &countOpensReader{c: c, p: p}
	if mark != nil {
		r.next = *mark
	}
	return r, nil
}

type countOpensReader struct {
	c    countOpens
	p    int
	next int
}

func (r *countOpensReader) Next(context.Context) (unbounded.Record[int], bool, error) {
	if r.next == r.c.Count {
		return unbounded.Record[int]{}, false, io.EOF
	}
	r.next++
	time.Sleep(100 * time.Microsecond) // turns overlap, on several threads
	return unbounded.Record[int]{Value: r.p*r.c.Count + r.next - 1, Time: epoch.Add(time.Duration(r.next) * time.Millisecond)}, true, nil
}

func (r *countOpensReader) Mark() int { return r.next }
func (r *countOpensReader) Watermark() time.Time {
	return epoch.Add(time.Duration(r.next) * time.Millisecond)
}
func (r *countOpensReader) Close() error { return nil }

// A partition's reader is opened once, however many turns it takes and
// whichever worker thread reads its next turn: the threads share the
// readers between turns.
func TestReadKeepsReadersAcrossWorkers(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	src := countOpens{N: 3, Count: 300, Opened: &atomic.Int64{}}
	got := runnertest.Collect(s, unbounded.Read(s, src, unbounded.Options{MaxRecords: 5}))
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 4}}).Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	vs := got.Elements()
	slices.Sort(vs)
	want := make([]int, src.N*src.Count)
	for i := range want {
		want[i] = i
	}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Errorf("records read (-want +got):\n%s", diff)
	}
	if n := src.Opened.Load(); n != int64(src.N) {
		t.Errorf("readers opened: %d, want %d (one per partition)", n, src.N)
	}
}
