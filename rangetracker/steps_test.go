package rangetracker

import (
	"fmt"
	"testing"
)

// A step is one call on a tracker and the result it must give. Tables of
// steps transcribe Beam's range tracker tests call by call.
type step[P any] struct {
	do  op
	at  P       // argument of claim/set/split; wanted position of position/stop/checkpoint
	f   float64 // argument of position; wanted fraction of fraction/split/checkpoint
	ok  bool    // wanted result of claim
	err bool    // an error is wanted
	why Refusal // wanted outcome of split/checkpoint
	sp  [2]int64
}

type op int

const (
	opClaim op = iota
	opSet
	opSplit
	opCheckpoint
	opFraction
	opPosition
	opSplitPoints
	opStop
)

// steps builds steps for position type P, so that untyped constants in the
// tables take the tracker's position type.
type steps[P any] struct{}

func (steps[P]) claim(p P, ok bool) step[P] { return step[P]{do: opClaim, at: p, ok: ok} }
func (steps[P]) claimErr(p P) step[P]       { return step[P]{do: opClaim, at: p, err: true} }
func (steps[P]) set(p P) step[P]            { return step[P]{do: opSet, at: p} }
func (steps[P]) setErr(p P) step[P]         { return step[P]{do: opSet, at: p, err: true} }
func (steps[P]) split(p P, f float64) step[P] {
	return step[P]{do: opSplit, at: p, f: f}
}
func (steps[P]) refuse(p P, why Refusal) step[P] { return step[P]{do: opSplit, at: p, why: why} }
func (steps[P]) checkpoint(p P, f float64) step[P] {
	return step[P]{do: opCheckpoint, at: p, f: f}
}
func (steps[P]) noCheckpoint(why Refusal) step[P] { return step[P]{do: opCheckpoint, why: why} }
func (steps[P]) fraction(f float64) step[P]       { return step[P]{do: opFraction, f: f} }
func (steps[P]) position(f float64, p P) step[P]  { return step[P]{do: opPosition, f: f, at: p} }
func (steps[P]) positionErr(f float64) step[P]    { return step[P]{do: opPosition, f: f, err: true} }
func (steps[P]) splitPoints(consumed, remaining int64) step[P] {
	return step[P]{do: opSplitPoints, sp: [2]int64{consumed, remaining}}
}
func (steps[P]) stop(p P) step[P] { return step[P]{do: opStop, at: p} }

// tracker is what runSteps needs: a RangeTracker that explains refusals and
// checkpoints, as every tracker in this package does.
type tracker[P any] interface {
	RangeTracker[P]
	SplitExplainer[P]
	Checkpointer[P]
}

// runSteps plays steps on rt and reports every result that differs.
func runSteps[P any](t *testing.T, rt tracker[P], steps []step[P], eq func(a, b P) bool) {
	t.Helper()
	for i, s := range steps {
		where := fmt.Sprintf("step %d", i)
		switch s.do {
		case opClaim:
			ok, err := rt.TryClaim(s.at)
			if (err != nil) != s.err || (!s.err && ok != s.ok) {
				t.Errorf("%s: TryClaim(%s) = %v, %v; want %v, error %v", where, formatPos(s.at), ok, err, s.ok, s.err)
			}
		case opSet:
			if err := rt.SetCurrentPosition(s.at); (err != nil) != s.err {
				t.Errorf("%s: SetCurrentPosition(%s) = %v, want error %v", where, formatPos(s.at), err, s.err)
			}
		case opSplit:
			pos, f, why := rt.TrySplitReason(s.at)
			if why != s.why || (why == Accepted && (!eq(pos, s.at) || f != s.f)) {
				t.Errorf("%s: TrySplitReason(%s) = %s, %v, %q; want %s, %v, %q", where, formatPos(s.at), formatPos(pos), f, why, formatPos(s.at), s.f, s.why)
			}
			pos2, f2, ok := rt.TrySplit(s.at) // now refused: the stop moved, or nothing changed
			if ok {
				t.Errorf("%s: repeated TrySplit(%s) = %s, %v, true; want refused", where, formatPos(s.at), formatPos(pos2), f2)
			}
		case opCheckpoint:
			pos, f, why := rt.TryCheckpoint()
			if why != s.why || (why == Accepted && (!eq(pos, s.at) || f != s.f)) {
				t.Errorf("%s: TryCheckpoint() = %s, %v, %q; want %s, %v, %q", where, formatPos(pos), f, why, formatPos(s.at), s.f, s.why)
			}
		case opFraction:
			if got := rt.FractionConsumed(); got != s.f {
				t.Errorf("%s: FractionConsumed() = %v, want %v", where, got, s.f)
			}
		case opPosition:
			got, err := rt.PositionAtFraction(s.f)
			if (err != nil) != s.err || (!s.err && !eq(got, s.at)) {
				t.Errorf("%s: PositionAtFraction(%v) = %s, %v; want %s, error %v", where, s.f, formatPos(got), err, formatPos(s.at), s.err)
			}
		case opSplitPoints:
			c, r := rt.SplitPoints()
			if c != s.sp[0] || r != s.sp[1] {
				t.Errorf("%s: SplitPoints() = (%d, %d), want (%d, %d)", where, c, r, s.sp[0], s.sp[1])
			}
		case opStop:
			if got := rt.StopPosition(); !eq(got, s.at) {
				t.Errorf("%s: StopPosition() = %s, want %s", where, formatPos(got), formatPos(s.at))
			}
		}
	}
}
