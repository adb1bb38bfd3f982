package rangetracker

import (
	"cmp"
	"math"
	"testing"
)

// linear is the Ordering of Beam's DoubleRangeTracker test tracker: float
// positions with linear fractions.
var linear = Ordering[float64]{
	Compare:  cmp.Compare[float64],
	Fraction: func(pos, start, stop float64) float64 { return (pos - start) / (stop - start) },
	Position: func(f, start, stop float64) (float64, error) { return start + (stop-start)*f, nil },
}

var dbl steps[float64]

func eqFloat(a, b float64) bool { return a == b }

// TestOrdered transcribes Beam's OrderedPositionRangeTracker tests (with the
// newest version's "refuse, don't raise" for out-of-range splits).
func TestOrdered(t *testing.T) {
	tests := []struct {
		name  string
		ord   Ordering[float64]
		steps []step[float64]
	}{
		{
			name:  "claims inside the range succeed and at or past the stop fail",
			steps: []step[float64]{dbl.claim(10, true), dbl.claim(15, true), dbl.claim(20, false), dbl.claim(25, false)},
		},
		{
			name: "fraction consumed follows claims and ignores failed ones",
			steps: []step[float64]{
				dbl.fraction(0), dbl.claim(10, true), dbl.fraction(0), dbl.claim(15, true), dbl.fraction(.5),
				dbl.claim(17, true), dbl.fraction(.7), dbl.claim(25, false), dbl.fraction(.7),
			},
		},
		{
			name: "a split shrinks the range and later claims and splits respect it",
			steps: []step[float64]{
				dbl.claim(15, true), dbl.fraction(.5), dbl.split(18, 0.8), dbl.fraction(.625), dbl.claim(17, true),
				dbl.refuse(16, RefusedConsumed), dbl.claim(18, false), dbl.claim(19, false),
			},
		},
		{
			name:  "claims must be in order",
			steps: []step[float64]{dbl.claim(12, true), dbl.claim(15, true), dbl.claimErr(13)},
		},
		{
			name:  "two split points cannot share a position",
			steps: []step[float64]{dbl.claim(12, true), dbl.claimErr(12)},
		},
		{
			name: "claims and splits outside the range are refused and splits before the first claim allowed",
			steps: []step[float64]{
				dbl.claimErr(-5), dbl.refuse(-5, RefusedOutOfRange), dbl.refuse(10, RefusedOutOfRange),
				dbl.refuse(25, RefusedOutOfRange), dbl.split(15, 0.5), dbl.refuse(17, RefusedOutOfRange),
				dbl.refuse(15, RefusedOutOfRange), dbl.split(14, 0.8), dbl.stop(14),
			},
		},
		{
			name:  "the first record must be a split point",
			steps: []step[float64]{dbl.setErr(12), dbl.claim(12, true), dbl.set(12.5), dbl.setErr(12.4)},
		},
		{
			name:  "position at fraction uses the ordering",
			steps: []step[float64]{dbl.position(0, 10), dbl.position(.25, 12.5), dbl.position(1, 20), dbl.positionErr(2)},
		},
		{
			name: "split points count claims",
			steps: []step[float64]{
				dbl.splitPoints(0, -1), dbl.claim(11, true), dbl.claim(12, true), dbl.claim(13, true),
				dbl.splitPoints(2, -1),
			},
		},
		{
			name:  "a checkpoint needs a successor function",
			steps: []step[float64]{dbl.claim(11, true), dbl.noCheckpoint(RefusedNoSuccessor)},
		},
		{
			name: "a checkpoint splits at the successor of the last record",
			ord: func() Ordering[float64] {
				o := linear
				o.Next = func(p float64) float64 { return math.Floor(p) + 1 }
				return o
			}(),
			steps: []step[float64]{dbl.claim(11, true), dbl.set(11.5), dbl.checkpoint(12, 0.2), dbl.claim(12, false)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ord := tt.ord
			if ord.Compare == nil {
				ord = linear
			}
			runSteps(t, NewOrdered(10, 20, ord), tt.steps, eqFloat)
		})
	}
}

func TestNewOrderedPanics(t *testing.T) {
	tests := []struct {
		name string
		new  func()
	}{
		{name: "start after stop", new: func() { NewOrdered(2.0, 1.0, linear) }},
		{name: "an ordering without compare", new: func() { NewOrdered(1.0, 2.0, Ordering[float64]{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewOrdered did not panic")
				}
			}()
			tt.new()
		})
	}
}

func TestOrderedUnboundedStop(t *testing.T) {
	// Positions are non-negative ints; -1 stands for "no end". Fractions of
	// an unbounded range are measured against 1000.
	ord := Ordering[int]{
		Compare: cmp.Compare[int],
		Fraction: func(pos, start, stop int) float64 {
			if stop < 0 {
				stop = 1000
			}
			return float64(pos-start) / float64(stop-start)
		},
		Position: func(f float64, start, stop int) (int, error) {
			if stop < 0 {
				stop = 1000
			}
			return start + int(math.Ceil(f*float64(stop-start))), nil
		},
		Unbounded: func(stop int) bool { return stop < 0 },
	}
	var s steps[int]
	rt := NewOrdered(0, -1, ord)
	runSteps(t, rt, []step[int]{
		s.claim(500, true), s.fraction(.5), s.split(600, .6), s.claim(600, false), s.stop(600), s.fraction(500.0 / 600),
	}, func(a, b int) bool { return a == b })
}
