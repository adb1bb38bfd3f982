package rangetracker

import (
	"strings"
	"testing"
)

var off steps[int64]

func eqInt64(a, b int64) bool { return a == b }

// TestOffset transcribes Beam's OffsetRangeTracker tests
// (range_trackers_test.py), one case per test or per copied tracker, plus the
// corner cases of the reference checklist.
func TestOffset(t *testing.T) {
	afterClaim110 := []step[int64]{off.claim(110, true)}
	splitAt := func(p int64) []step[int64] {
		return append(afterClaim110[:1:1], off.split(p, float64(p-100)/100), off.stop(p))
	}
	afterSplits := []step[int64]{off.claim(110, true), off.split(170, 0.7), off.split(150, 50.0/70), off.stop(150)}
	with := func(prefix []step[int64], more ...step[int64]) []step[int64] {
		return append(prefix[:len(prefix):len(prefix)], more...)
	}
	tests := []struct {
		name        string
		start, stop int64
		callback    func(stop int64) int64
		steps       []step[int64]
	}{
		{
			name: "sparse claims inside the range succeed and a claim past the stop fails", start: 100, stop: 200,
			steps: []step[int64]{off.claim(110, true), off.claim(140, true), off.claim(183, true), off.claim(210, false)},
		},
		{
			name: "dense claims succeed up to the stop", start: 3, stop: 6,
			steps: []step[int64]{off.claim(3, true), off.claim(4, true), off.claim(5, true), off.claim(6, false)},
		},
		{
			name: "failed claims count as attempts and cannot be repeated", start: 1, stop: 2,
			steps: []step[int64]{
				off.claim(1, true), off.claim(3, false), off.claim(6, false), off.claimErr(6), off.claimErr(5),
				off.claim(7, false),
			},
		},
		{
			name: "set current position cannot go back but may follow a failed claim", start: 0, stop: 6,
			steps: []step[int64]{
				off.claim(2, true), off.setErr(1), off.claim(10, false), off.set(3), off.fraction(0.5),
				off.claimErr(10), off.claim(11, false),
			},
		},
		{
			name: "set current position past the failed claim is allowed", start: 0, stop: 6,
			steps: []step[int64]{off.claim(2, true), off.claim(10, false), off.set(11), off.fraction(1), off.claimErr(10)},
		},
		{
			name: "non-split-point records continue until the next split point", start: 9, stop: 18,
			steps: []step[int64]{
				off.claim(10, true), off.set(12), off.set(14), off.claim(16, true),
				off.set(18), off.set(20), off.claim(22, false),
			},
		},
		{
			name: "split before the first claim is refused", start: 100, stop: 200,
			steps: []step[int64]{off.refuse(150, RefusedUnstarted), off.stop(200)},
		},
		{
			name: "split before the last record is refused", start: 100, stop: 200,
			steps: with(afterClaim110, off.refuse(109, RefusedConsumed)),
		},
		{
			name: "split at the last record is refused", start: 100, stop: 200,
			steps: with(afterClaim110, off.refuse(110, RefusedConsumed)),
		},
		{
			name: "split at the start is refused", start: 100, stop: 200,
			steps: []step[int64]{off.claim(100, true), off.refuse(100, RefusedConsumed), off.refuse(99, RefusedConsumed)},
		},
		{
			name: "split at the stop is refused", start: 100, stop: 200,
			steps: with(afterClaim110, off.refuse(200, RefusedOutOfRange), off.stop(200)),
		},
		{
			name: "split past the stop is refused", start: 100, stop: 200,
			steps: with(afterClaim110, off.refuse(210, RefusedOutOfRange)),
		},
		{name: "split right after the last record succeeds", start: 100, stop: 200, steps: splitAt(111)},
		{name: "split at 129 succeeds", start: 100, stop: 200, steps: splitAt(129)},
		{name: "split at 130 succeeds", start: 100, stop: 200, steps: splitAt(130)},
		{name: "split at 131 succeeds", start: 100, stop: 200, steps: splitAt(131)},
		{name: "split at 150 succeeds", start: 100, stop: 200, steps: splitAt(150)},
		{name: "split right before the stop succeeds", start: 100, stop: 200, steps: splitAt(199)},
		{
			name: "successive splits shrink the stop with fractions of the range at that time", start: 100, stop: 200,
			steps: afterSplits,
		},
		{
			name: "after splits a record before the new stop can be claimed", start: 100, stop: 200,
			steps: with(afterSplits, off.claim(135, true), off.claimErr(135)),
		},
		{
			name: "after splits a record right before the new stop can be claimed", start: 100, stop: 200,
			steps: with(afterSplits, off.claim(149, true)),
		},
		{
			name: "after splits records at or past the new stop fail but non-split-points are accepted", start: 100, stop: 200,
			steps: with(afterSplits,
				off.claim(150, false), off.claim(151, false), off.set(135), off.set(152), off.set(160), off.set(171)),
		},
		{
			name: "position at fraction rounds up", start: 3, stop: 6,
			steps: []step[int64]{
				off.position(0, 3), off.position(1.0/6, 4), off.position(0.333, 4), off.position(0.334, 5),
				off.position(0.666, 5), off.position(0.667, 6), off.position(1, 6),
			},
		},
		{
			name: "position at a fraction outside [0, 1] is an error", start: 3, stop: 6,
			steps: []step[int64]{off.positionErr(-0.1), off.positionErr(1.5)},
		},
		{
			name: "fraction consumed of a dense range follows the last record", start: 3, stop: 6,
			steps: []step[int64]{
				off.fraction(0), off.claim(3, true), off.fraction(0), off.claim(4, true), off.fraction(1.0 / 3),
				off.claim(5, true), off.fraction(2.0 / 3), off.set(6), off.fraction(1), off.set(7), off.fraction(1),
				off.claim(7, false),
			},
		},
		{
			name: "fraction consumed of a sparse range follows the last record", start: 100, stop: 200,
			steps: []step[int64]{
				off.fraction(0), off.claim(110, true), off.fraction(0.10), off.claim(150, true), off.fraction(0.50),
				off.claim(195, true), off.fraction(0.95),
			},
		},
		{
			name: "an infinite range claims but has no position at fraction and cannot split", start: 100, stop: OffsetInfinity,
			steps: []step[int64]{
				off.claim(150, true), off.claim(250, true), off.positionErr(0.5), off.refuse(300, RefusedInfinite),
				off.noCheckpoint(RefusedInfinite), off.fraction(0), off.stop(OffsetInfinity),
			},
		},
		{
			name: "the first record must be a split point", start: 100, stop: 200,
			steps: []step[int64]{off.setErr(120), off.claim(120, true)},
		},
		{
			name: "claims must not go backwards", start: 100, stop: 200,
			steps: []step[int64]{off.claim(120, true), off.claimErr(110), off.claim(130, true)},
		},
		{
			name: "two split points cannot share an offset", start: 100, stop: 200,
			steps: []step[int64]{off.claim(120, true), off.claimErr(120)},
		},
		{
			name: "a split point may share the offset of a non-split-point record", start: 100, stop: 200,
			steps: []step[int64]{off.claim(120, true), off.set(125), off.claimErr(124), off.claim(125, true)},
		},
		{
			name: "a claim before the start is an error", start: 100, stop: 200,
			steps: []step[int64]{off.claimErr(99), off.claim(100, true)},
		},
		{
			name: "split points count claims and ask the callback for the rest", start: 100, stop: 400,
			callback: func(stop int64) int64 { return stop / 5 },
			steps: []step[int64]{
				off.splitPoints(0, 81), off.claim(120, true), off.splitPoints(0, 81), off.claim(140, true),
				off.splitPoints(1, 81), off.split(200, 1.0/3), off.splitPoints(1, 41), off.claim(150, true),
				off.splitPoints(2, 41), off.claim(180, true), off.splitPoints(3, 41), off.claim(210, false),
				off.splitPoints(3, 41),
			},
		},
		{
			name: "split points remaining are unknown without a callback", start: 100, stop: 400,
			steps: []step[int64]{off.splitPoints(0, -1), off.claim(120, true), off.claim(130, true), off.splitPoints(1, -1)},
		},
		{
			name: "a callback answering unknown gives unknown remaining", start: 100, stop: 400,
			callback: func(int64) int64 { return SplitPointsUnknown },
			steps:    []step[int64]{off.claim(120, true), off.splitPoints(0, -1)},
		},
		{
			name: "an empty range has nothing to claim, consume or split", start: 5, stop: 5,
			steps: []step[int64]{
				off.fraction(0), off.position(0.5, 5), off.refuse(5, RefusedUnstarted), off.claimErr(4),
				off.claim(5, false), off.setErr(5), off.fraction(0),
			},
		},
		{
			name: "a checkpoint splits right after the last record", start: 100, stop: 200,
			steps: []step[int64]{
				off.noCheckpoint(RefusedUnstarted), off.claim(110, true), off.set(115), off.checkpoint(116, 0.16),
				off.claim(116, false), off.noCheckpoint(RefusedOutOfRange),
			},
		},
		{
			name: "a checkpoint after the last offset of the range is refused", start: 100, stop: 200,
			steps: []step[int64]{off.claim(199, true), off.noCheckpoint(RefusedOutOfRange)},
		},
		{
			name: "offsets near the int64 limits do not overflow", start: -1 << 62, stop: 1 << 62,
			steps: []step[int64]{
				off.position(0.5, 0), off.position(0.25, -1<<61), off.claim(0, true), off.fraction(0.5),
				off.split(1<<61, 0.75),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := NewOffset(tt.start, tt.stop)
			if tt.callback != nil {
				rt.SetSplitPointsUnclaimedCallback(tt.callback)
			}
			runSteps(t, rt, tt.steps, eqInt64)
		})
	}
}

func TestOffsetErrorsNameBothPositions(t *testing.T) {
	tests := []struct {
		name  string
		calls func(rt *Offset) error
		want  []string
	}{
		{
			name: "a backward claim names both claims",
			calls: func(rt *Offset) error {
				rt.TryClaim(120)
				_, err := rt.TryClaim(110)
				return err
			},
			want: []string{"TryClaim(110)", "TryClaim(120)"},
		},
		{
			name: "a repeated split point names its position",
			calls: func(rt *Offset) error {
				rt.TryClaim(120)
				_, err := rt.TryClaim(120)
				return err
			},
			want: []string{"TryClaim(120)", "split points cannot share"},
		},
		{
			name: "a claim before a non-split-point record names the record",
			calls: func(rt *Offset) error {
				rt.TryClaim(120)
				rt.SetCurrentPosition(130)
				_, err := rt.TryClaim(125)
				return err
			},
			want: []string{"TryClaim(125)", "SetCurrentPosition(130)"},
		},
		{
			name:  "a first record that is not a split point is named",
			calls: func(rt *Offset) error { return rt.SetCurrentPosition(150) },
			want:  []string{"SetCurrentPosition(150)", "split point"},
		},
		{
			name: "a backward non-split-point record names the last record",
			calls: func(rt *Offset) error {
				rt.TryClaim(120)
				return rt.SetCurrentPosition(119)
			},
			want: []string{"SetCurrentPosition(119)", "120"},
		},
		{
			name:  "a claim before the start names the start",
			calls: func(rt *Offset) error { _, err := rt.TryClaim(50); return err },
			want:  []string{"TryClaim(50)", "100"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.calls(NewOffset(100, 200))
			if err == nil {
				t.Fatalf("got no error, want one naming %q", tt.want)
			}
			for _, w := range append(tt.want, "rangetracker: ") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewOffsetPanicsOnStartAfterStop(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("NewOffset(5, 4) did not panic")
		}
		if msg := r.(string); !strings.Contains(msg, "offset_test.go") || !strings.Contains(msg, "NewOffset(5, 4)") {
			t.Errorf("panic %q does not name the caller's file and the call", msg)
		}
	}()
	NewOffset(5, 4)
}

func TestOffsetString(t *testing.T) {
	rt := NewOffset(100, OffsetInfinity)
	rt.TryClaim(150)
	rt.TryClaim(OffsetInfinity)
	if got, want := rt.String(), "Offset[100, infinity) last record 150 ended by claim infinity"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
