package unbounded_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// liveAndIdle is a source of two partitions: partition 0 returns the
// value 1 at 1 s, then 50 at 50 s (its watermark is then 50 s, past the
// end of window [0,10)), and then, once late() allows, 2 at 2 s: behind
// its own watermark, so on time only if nothing has let the window fire.
// Partition 1 has no records and no watermark (the zero time) until
// partition 0 has committed its last record; then it ends. Marks count the
// records a partition has returned.
type liveAndIdle struct {
	state *idleState
}

// idleState is what the readers of one job share (the job's workers run in
// the test's process).
type idleState struct {
	// late reports whether partition 0 may return its late record now.
	late func() bool
	// lastRead is set once partition 0 has been resumed after its last
	// record, so that the record's bundle has committed.
	lastRead atomic.Bool
	// fiftyAt is when partition 0 returned 50 (Unix nanoseconds).
	fiftyAt atomic.Int64
}

func (s liveAndIdle) Partitions(context.Context) ([]int, error) { return []int{0, 1}, nil }

func (s liveAndIdle) Open(_ context.Context, p int, mark *int) (unbounded.Reader[int, int], error) {
	r := &liveIdleReader{s: s.state, part: p}
	if mark != nil {
		r.next = *mark
	}
	return r, nil
}

type liveIdleReader struct {
	s          *idleState
	part, next int
}

func (r *liveIdleReader) Next(context.Context) (unbounded.Record[int], bool, error) {
	if r.part == 1 {
		if r.s.lastRead.Load() {
			return unbounded.Record[int]{}, false, io.EOF
		}
		return unbounded.Record[int]{}, false, nil
	}
	switch r.next {
	case 0:
		r.next++
		return unbounded.Record[int]{Value: 1, Time: epoch.Add(time.Second)}, true, nil
	case 1:
		r.next++
		r.s.fiftyAt.Store(time.Now().UnixNano())
		return unbounded.Record[int]{Value: 50, Time: epoch.Add(50 * time.Second)}, true, nil
	case 2:
		if !r.s.late() {
			return unbounded.Record[int]{}, false, nil
		}
		r.next++
		return unbounded.Record[int]{Value: 2, Time: epoch.Add(2 * time.Second)}, true, nil
	}
	r.s.lastRead.Store(true)
	return unbounded.Record[int]{}, false, io.EOF
}

func (r *liveIdleReader) Mark() int { return r.next }

func (r *liveIdleReader) Watermark() time.Time {
	if r.part == 1 {
		return time.Time{}
	}
	return epoch.Add(time.Duration([]int{0, 1, 50, 50}[min(r.next, 3)]) * time.Second)
}

func (r *liveIdleReader) Close() error { return nil }

// paneString renders a pane of the idle-input test, its window in seconds
// after epoch, and records in fired that window [0,10) has fired.
type paneString struct{ fired *atomic.Bool }

func (f paneString) ProcessElement(ctx context.Context, g sdk.Group[string, int], emit func(string)) error {
	w, p := sdk.WindowOf(ctx), sdk.PaneOf(ctx)
	start, end := (int64(w.Start)-epoch.UnixMilli())/1000, (int64(w.End)-epoch.UnixMilli())/1000
	if start == 0 {
		f.fired.Store(true)
	}
	emit(fmt.Sprintf("[%d,%d) %v %v last=%v", start, end, slices.Sorted(g.Values), p.Timing, p.IsLast))
	return nil
}

// runIdle reads liveAndIdle with opts into fixed windows of 10 s and
// returns the panes; late decides when partition 0 returns its late
// record, given when it returned 50 and whether window [0,10) has fired.
func runIdle(t *testing.T, name string, opts unbounded.Options, late func(fiftyAt time.Time, fired bool) bool) []string {
	t.Helper()
	newRunner := runners()[name]
	st := &idleState{}
	var fired atomic.Bool
	st.late = func() bool {
		at := st.fiftyAt.Load()
		return at != 0 && late(time.Unix(0, at), fired.Load())
	}
	p := sdk.NewPipeline()
	s := p.Root()
	opts.MaxRecords, opts.PollInterval = 1, 10*time.Millisecond
	read := unbounded.Read(s, liveAndIdle{state: st}, opts)
	keyed := sdk.Map(s, func(v int) sdk.KV[string, int] { return sdk.Pair("a", v) }, read)
	grouped := sdk.GroupByKey(s, sdk.WindowInto(s, sdk.FixedWindows(10*time.Second), keyed))
	panes := runnertest.Collect(s, sdk.ParDo(s, paneString{fired: &fired}, grouped))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := newRunner().Run(ctx, p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return slices.Sorted(slices.Values(panes.Elements()))
}

// A partition with no records and no watermark holds every window of the
// read until it ends (the reference's case 39 on a real source): window
// [0,10) has not fired when partition 0, 300 ms after passing its end,
// returns a record in it, which lands in the one on-time pane. With
// Idleness the quiet partition is marked idle, its watermark follows the
// wall clock, and the window fires on partition 0's watermark alone: the
// record returned after that pane is late and dropped.
func TestIdlePartitionHoldsTheWatermark(t *testing.T) {
	for name := range runners() {
		t.Run(name, func(t *testing.T) {
			held := runIdle(t, name, unbounded.Options{}, func(fiftyAt time.Time, fired bool) bool {
				return fired || time.Since(fiftyAt) > 300*time.Millisecond
			})
			want := []string{"[0,10) [1 2] ON_TIME last=true", "[50,60) [50] ON_TIME last=true"}
			if !slices.Equal(held, want) {
				t.Errorf("without Idleness: panes %q, want %q", held, want)
			}
			idle := runIdle(t, name, unbounded.Options{Idleness: 50 * time.Millisecond}, func(fiftyAt time.Time, fired bool) bool {
				return fired || time.Since(fiftyAt) > 20*time.Second
			})
			want = []string{"[0,10) [1] ON_TIME last=true", "[50,60) [50] ON_TIME last=true"}
			if !slices.Equal(idle, want) {
				t.Errorf("with Idleness: panes %q, want %q", idle, want)
			}
		})
	}
}
