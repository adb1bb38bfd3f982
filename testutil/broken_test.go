package testutil_test

import (
	"context"
	"fmt"
	"iter"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil"
)

// This file holds sources with the bugs the checkers exist to catch, and
// the tests that they are caught, each with a message that says what went
// wrong.

// skipsRecordAtStart drops the record at the start of a range: like a text
// reader that, for a range not starting at 0, always skips to the line
// after the one under the start offset, even when a line begins exactly
// there. The record at a split position is in neither half.
type skipsRecordAtStart struct{ lineSource }

func newSkipsRecordAtStart(ls lineSource) *skipsRecordAtStart {
	s := &skipsRecordAtStart{ls}
	return embed(s, &s.lineSource)
}

func (s *skipsRecordAtStart) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	off, start := s.offsets(), rt.StartPosition()
	i := sort.Search(len(s.Lines), func(i int) bool { return off[i] >= start })
	if start > 0 && i < len(s.Lines) && off[i] == start {
		i++ // the bug: the line at start belongs to this range
	}
	return s.readFrom(ctx, rt, i)
}

// ignoresSplits reads records twice: it claims only the first record of its
// range and reports the others with SetCurrentPosition, reading up to the
// stop it saw when it began. A split after that first record does not stop
// it, and the residual reads the same records again.
type ignoresSplits struct{ lineSource }

func newIgnoresSplits(ls lineSource) *ignoresSplits {
	s := &ignoresSplits{ls}
	return embed(s, &s.lineSource)
}

func (s *ignoresSplits) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off, stop := s.offsets(), rt.StopPosition()
		for i := s.firstAt(off, rt.StartPosition()); i < len(s.Lines) && off[i] < stop; i++ {
			var err error
			if i == s.firstAt(off, rt.StartPosition()) {
				var ok bool
				if ok, err = rt.TryClaim(off[i]); err == nil && !ok {
					return
				}
			} else {
				err = rt.SetCurrentPosition(off[i])
			}
			if err != nil {
				yield("", err)
				return
			}
			if !yield(s.Lines[i], nil) {
				return
			}
		}
	}
}

// ignoresFailedClaim reads on after a claim fails.
type ignoresFailedClaim struct{ lineSource }

func newIgnoresFailedClaim(ls lineSource) *ignoresFailedClaim {
	s := &ignoresFailedClaim{ls}
	return embed(s, &s.lineSource)
}

func (s *ignoresFailedClaim) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off := s.offsets()
		for i := s.firstAt(off, rt.StartPosition()); i < len(s.Lines); i++ {
			if _, err := rt.TryClaim(off[i]); err != nil {
				yield("", err)
				return
			}
			if !yield(s.Lines[i], nil) {
				return
			}
		}
	}
}

// neverClaims reads its range without telling the tracker.
type neverClaims struct{ lineSource }

func newNeverClaims(ls lineSource) *neverClaims {
	s := &neverClaims{ls}
	return embed(s, &s.lineSource)
}

func (s *neverClaims) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off := s.offsets()
		for i := s.firstAt(off, rt.StartPosition()); i < len(s.Lines) && off[i] < rt.StopPosition(); i++ {
			if !yield(s.Lines[i], nil) {
				return
			}
		}
	}
}

// swallowsTrackerErrors claims every record twice and ends quietly when
// the tracker objects.
type swallowsTrackerErrors struct{ lineSource }

func newSwallowsTrackerErrors(ls lineSource) *swallowsTrackerErrors {
	s := &swallowsTrackerErrors{ls}
	return embed(s, &s.lineSource)
}

func (s *swallowsTrackerErrors) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off := s.offsets()
		for i := s.firstAt(off, rt.StartPosition()); i < len(s.Lines); i++ {
			for range 2 {
				if ok, err := rt.TryClaim(off[i]); err != nil || !ok {
					return
				}
			}
			if !yield(s.Lines[i], nil) {
				return
			}
		}
	}
}

// trackerState is the state of a hand-written offset tracker, without any
// synchronization; the trackers below add (or fail to add) their own.
type trackerState struct {
	start, stop   int64
	last          int64
	claimed       bool
	attempted     bool
	lastAttempted int64
}

func (s *trackerState) claim(p int64) (bool, error) {
	if p < s.start || s.attempted && p <= s.lastAttempted {
		return false, fmt.Errorf("claim %d out of order", p)
	}
	s.attempted, s.lastAttempted = true, p
	if p >= s.stop {
		return false, nil
	}
	s.claimed, s.last = true, p
	return true, nil
}

func (s *trackerState) set(p int64) error {
	if !s.claimed || p < s.last {
		return fmt.Errorf("position %d out of order", p)
	}
	s.last = p
	return nil
}

func (s *trackerState) positionAt(f float64) int64 {
	return int64(math.Ceil(float64(s.start) + f*float64(s.stop-s.start)))
}

// split splits at p; with sloppy set it accepts p equal to the last record.
func (s *trackerState) split(p int64, sloppy bool) (int64, float64, bool) {
	consumed := p <= s.last
	if sloppy {
		consumed = p < s.last
	}
	if !s.claimed || consumed || p <= s.start || p >= s.stop {
		return 0, 0, false
	}
	f := float64(p-s.start) / float64(s.stop-s.start)
	s.stop = p
	return p, f, true
}

func (s *trackerState) fraction() float64 {
	if !s.claimed {
		return 0
	}
	return min(1, float64(s.last-s.start)/float64(s.stop-s.start))
}

// sloppyTracker is safe for concurrent use, but accepts a split at the
// position of the last record returned: a consumed position.
type sloppyTracker struct {
	mu sync.Mutex
	s  trackerState
}

func (t *sloppyTracker) StartPosition() int64 { return t.s.start }
func (t *sloppyTracker) StopPosition() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.stop
}
func (t *sloppyTracker) TryClaim(p int64) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.claim(p)
}
func (t *sloppyTracker) SetCurrentPosition(p int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.set(p)
}
func (t *sloppyTracker) PositionAtFraction(f float64) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.positionAt(f), nil
}
func (t *sloppyTracker) TrySplit(p int64) (int64, float64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.split(p, true)
}
func (t *sloppyTracker) FractionConsumed() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.fraction()
}
func (t *sloppyTracker) SplitPoints() (int64, int64)                       { return 0, rangetracker.SplitPointsUnknown }
func (t *sloppyTracker) SetSplitPointsUnclaimedCallback(func(int64) int64) {}

type splitsConsumed struct{ lineSource }

func newSplitsConsumed(ls lineSource) *splitsConsumed {
	s := &splitsConsumed{ls}
	return embed(s, &s.lineSource)
}

func (s *splitsConsumed) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	return &sloppyTracker{s: trackerState{start: start, stop: stop}}
}

// racyTracker is correct one call at a time, but not atomic: TrySplit
// checks the last record, then (a while later, as if preempted) lowers the
// stop, while TryClaim may check the old stop in between. Its fields are
// atomic, so that the race detector has nothing to report: only the
// concurrent check can catch it.
type racyTracker struct {
	start         int64
	stop, last    atomic.Int64
	claimed       atomic.Bool
	attempted     bool  // reader only
	lastAttempted int64 // reader only
}

func (t *racyTracker) StartPosition() int64 { return t.start }
func (t *racyTracker) StopPosition() int64  { return t.stop.Load() }
func (t *racyTracker) TryClaim(p int64) (bool, error) {
	if p < t.start || t.attempted && p <= t.lastAttempted {
		return false, fmt.Errorf("claim %d out of order", p)
	}
	t.attempted, t.lastAttempted = true, p
	if p >= t.stop.Load() {
		return false, nil
	}
	t.last.Store(p)
	t.claimed.Store(true)
	return true, nil
}
func (t *racyTracker) SetCurrentPosition(p int64) error {
	if !t.claimed.Load() || p < t.last.Load() {
		return fmt.Errorf("position %d out of order", p)
	}
	t.last.Store(p)
	return nil
}
func (t *racyTracker) PositionAtFraction(f float64) (int64, error) {
	return int64(math.Ceil(float64(t.start) + f*float64(t.stop.Load()-t.start))), nil
}
func (t *racyTracker) TrySplit(p int64) (int64, float64, bool) {
	stop := t.stop.Load()
	if !t.claimed.Load() || p <= t.last.Load() || p <= t.start || p >= stop {
		return 0, 0, false
	}
	time.Sleep(20 * time.Microsecond) // the window between check and act
	t.stop.Store(p)
	return p, float64(p-t.start) / float64(stop-t.start), true
}
func (t *racyTracker) FractionConsumed() float64                         { return 0 }
func (t *racyTracker) SplitPoints() (int64, int64)                       { return 0, rangetracker.SplitPointsUnknown }
func (t *racyTracker) SetSplitPointsUnclaimedCallback(func(int64) int64) {}

type notAtomic struct{ lineSource }

func newNotAtomic(ls lineSource) *notAtomic {
	s := &notAtomic{ls}
	return embed(s, &s.lineSource)
}

func (s *notAtomic) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	t := &racyTracker{start: start}
	t.stop.Store(stop)
	return t
}

// unsyncedTracker has no synchronization at all: the race detector reports
// a splitter and a reader using it at once.
type unsyncedTracker struct{ s trackerState }

func (t *unsyncedTracker) StartPosition() int64                        { return t.s.start }
func (t *unsyncedTracker) StopPosition() int64                         { return t.s.stop }
func (t *unsyncedTracker) TryClaim(p int64) (bool, error)              { return t.s.claim(p) }
func (t *unsyncedTracker) SetCurrentPosition(p int64) error            { return t.s.set(p) }
func (t *unsyncedTracker) PositionAtFraction(f float64) (int64, error) { return t.s.positionAt(f), nil }
func (t *unsyncedTracker) TrySplit(p int64) (int64, float64, bool)     { return t.s.split(p, false) }
func (t *unsyncedTracker) FractionConsumed() float64                   { return t.s.fraction() }
func (t *unsyncedTracker) SplitPoints() (int64, int64) {
	return 0, rangetracker.SplitPointsUnknown
}
func (t *unsyncedTracker) SetSplitPointsUnclaimedCallback(func(int64) int64) {}

type unsynchronized struct{ lineSource }

func newUnsynchronized(ls lineSource) *unsynchronized {
	s := &unsynchronized{ls}
	return embed(s, &s.lineSource)
}

func (s *unsynchronized) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	return &unsyncedTracker{s: trackerState{start: start, stop: stop}}
}

func TestBrokenSourcesAreCaught(t *testing.T) {
	ls := lineSource{Lines: lines(12)}
	cases := []struct {
		name string
		src  source.Bounded[string, int64]
		opts *testutil.Options[string]
		// want are parts of the error message.
		want []string
	}{
		{
			name: "a reader that drops the record at the start of its range loses it at the split position",
			src:  newSkipsRecordAtStart(ls),
			want: []string{"lost 1 record", "the split position"},
		},
		{
			name: "a reader that claims only its first record reads records twice after a split",
			src:  newIgnoresSplits(ls),
			want: []string{"past the new stop", "Read must stop when TryClaim fails"},
		},
		{
			name: "a reader that goes on after a failed claim is told to stop",
			src:  newIgnoresFailedClaim(ls),
			want: []string{"returned false: Read must stop at the first failed claim"},
		},
		{
			name: "a reader that never claims is told the first record must be claimed",
			src:  newNeverClaims(ls),
			want: []string{"before any successful TryClaim"},
		},
		{
			name: "a reader that swallows the tracker's error is told to return it",
			src:  newSwallowsTrackerErrors(ls),
			want: []string{"ended without an error after TryClaim(0) failed"},
		},
		{
			name: "a tracker that splits at a consumed position is caught",
			src:  newSplitsConsumed(ls),
			want: []string{"the tracker accepted a split at", "a split at a consumed position must be refused"},
		},
		{
			name: "a tracker whose TrySplit is not atomic is caught by the concurrent check",
			src:  newNotAtomic(ls),
			want: []string{"racing the reader", "is the tracker safe for concurrent use"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := testutil.CheckSplitAtFractionExhaustive(t.Context(), c.src, c.opts)
			if err == nil {
				t.Fatal("CheckSplitAtFractionExhaustive() = nil, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckSplitAtFractionExhaustive() = %v\nwant an error containing %q", err, w)
				}
			}
		})
	}
}

// The non-atomic tracker passes every check that does not race it: the
// concurrent check is what catches it.
func TestNonAtomicTrackerPassesWithoutRaces(t *testing.T) {
	src := newNotAtomic(lineSource{Lines: lines(12)})
	if _, err := testutil.CheckSplitAtFractionExhaustive(t.Context(), src, &testutil.Options[string]{SkipConcurrent: true}); err != nil {
		t.Fatalf("CheckSplitAtFractionExhaustive(SkipConcurrent) = %v, want nil", err)
	}
}

// The sequential checks name the exact record and split.
func TestBrokenSourceMessages(t *testing.T) {
	ctx := t.Context()
	var src source.Bounded[string, int64] = newSkipsRecordAtStart(lineSource{Lines: lines(10)})
	// Line 3 starts at offset 21 of 70: fraction 0.3 splits exactly there.
	_, err := testutil.CheckSplitAtFractionSucceedsAndConsistent(ctx, src, 2, 0.3, nil)
	want := `testutil: after reading 2 records of [0, 70), split at fraction 0.3 (position 21): the primary [0, 21) (3 records) and the residual [21, 70) (6 records) lost 1 record: "line 3" (record #3, at position 21, the split position)`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckSplitAtFractionSucceedsAndConsistent() = %v\nwant an error starting %q", err, want)
	}

	src = newSplitsConsumed(lineSource{Lines: lines(10)})
	// After 4 records the last one read is line 3 at 21; fraction 0.3 is 21.
	_, err = testutil.CheckSplitAtFraction(ctx, src, 4, 0.3, testutil.MustBeConsistentIfSucceeds, nil)
	want = `testutil: after reading 4 records of [0, 70), split at fraction 0.3 (position 21): the tracker accepted a split at 21, the position of record #3 ("line 3"), which the reader had returned before the split`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckSplitAtFraction() = %v\nwant an error starting %q", err, want)
	}

	src = newIgnoresSplits(lineSource{Lines: lines(10)})
	_, err = testutil.CheckSplitAtFractionSucceedsAndConsistent(ctx, src, 2, 0.5, nil)
	want = `testutil: after reading 2 records of [0, 70), split at fraction 0.5 (position 35): after the split the reader returned 5 records past the new stop 35, starting with "line 5" at position 35`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckSplitAtFractionSucceedsAndConsistent() = %v\nwant an error starting %q", err, want)
	}
	if err != nil && !strings.Contains(err.Error(), "(-new read of the primary +split reader)") {
		t.Errorf("error %q has no diff", err)
	}
}

// The suite fails on a broken source too (checked in a child process,
// since the failure would fail this test).
func TestSuiteFailsOnBrokenSource(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child test process")
	}
	out, err := runHelper(t, "TestHelperSuiteOnBrokenSource")
	if err == nil {
		t.Fatalf("the suite passed a source that loses records:\n%s", out)
	}
	for _, w := range []string{"--- FAIL: TestHelperSuiteOnBrokenSource/split_at_fraction", "lost 1 record"} {
		if !strings.Contains(out, w) {
			t.Errorf("the suite's output lacks %q:\n%s", w, out)
		}
	}
}

func TestHelperSuiteOnBrokenSource(t *testing.T) {
	if !isHelper() {
		t.Skip("run by TestSuiteFailsOnBrokenSource")
	}
	testutil.TestBoundedSource(t, func(*testing.T) source.Bounded[string, int64] {
		return newSkipsRecordAtStart(lineSource{Lines: lines(10)})
	}, nil)
}

// A tracker without synchronization is caught by the race detector when
// the concurrent check runs it (in a child process, since the report would
// fail this test).
func TestRaceDetectorCatchesUnsynchronizedTracker(t *testing.T) {
	if !raceEnabled {
		t.Skip("needs -race")
	}
	if testing.Short() {
		t.Skip("runs a child test process")
	}
	out, err := runHelper(t, "TestHelperUnsynchronizedTracker")
	if err == nil {
		t.Fatalf("the race detector reported nothing:\n%s", out)
	}
	if !strings.Contains(out, "WARNING: DATA RACE") || !strings.Contains(out, "unsyncedTracker") {
		t.Errorf("the child's output has no data race report naming the tracker:\n%s", out)
	}
}

func TestHelperUnsynchronizedTracker(t *testing.T) {
	if !isHelper() {
		t.Skip("run by TestRaceDetectorCatchesUnsynchronizedTracker")
	}
	src := newUnsynchronized(lineSource{Lines: lines(6)})
	// The race may also break consistency; the parent looks for the race
	// detector's report.
	if _, err := testutil.CheckSplitAtFractionExhaustive(t.Context(), src, nil); err != nil {
		t.Log(err)
	}
}
