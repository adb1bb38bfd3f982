package rangetracker

import (
	"cmp"
	"fmt"
	"math"
)

// OffsetInfinity is a stop offset meaning "no end": the range reaches to the
// end of the input, whose size is unknown (a compressed file, say). An
// infinite range cannot be split and has no PositionAtFraction.
const OffsetInfinity int64 = math.MaxInt64

// Offset is a RangeTracker over int64 offsets, such as byte offsets in a file,
// with the semantics of Beam's OffsetRangeTracker:
//   - claims strictly increase, even after a failed claim; a claim at or past
//     the stop returns false and ends the range;
//   - a split is refused before the first claim, at or before the last
//     record, outside (start, stop), and on an infinite range;
//   - FractionConsumed is (last record - start) / (stop - start), clamped to
//     [0, 1]; 0 for an empty or infinite range;
//   - PositionAtFraction(f) is ceil(start + f * (stop - start)).
//
// Unlike Beam's Python tracker, a claim before the start is an error (as in
// Beam's Java tracker): such a record belongs to the previous range.
//
// An Offset is safe for concurrent use.
type Offset struct {
	c core[int64]
}

var _ RangeTracker[int64] = (*Offset)(nil)
var _ SplitExplainer[int64] = (*Offset)(nil)
var _ Checkpointer[int64] = (*Offset)(nil)

// offsetOrdering is the Ordering of int64 offsets that Offset uses: linear
// fractions and positions rounded up. OffsetInfinity needs no Unbounded: it
// compares above every offset a reader can claim.
var offsetOrdering = Ordering[int64]{
	Compare:  cmp.Compare[int64],
	Fraction: offsetFraction,
	Position: offsetPosition,
	Next:     func(p int64) int64 { return p + 1 },
}

func isOffsetInfinity(stop int64) bool { return stop == OffsetInfinity }

// NewOffset returns a tracker for the offsets [start, stop); stop may be
// OffsetInfinity. It panics if start > stop.
func NewOffset(start, stop int64) *Offset {
	if start > stop {
		panicf("rangetracker: NewOffset(%d, %s): start after stop", start, formatPos(stop))
	}
	t := &Offset{c: core[int64]{ord: offsetOrdering, infinite: isOffsetInfinity}}
	t.c.init(start, stop)
	return t
}

// offsetDiff returns a - b without overflowing int64.
func offsetDiff(a, b int64) float64 {
	if a >= b {
		return float64(uint64(a) - uint64(b))
	}
	return -float64(uint64(b) - uint64(a))
}

func offsetFraction(pos, start, stop int64) float64 {
	if stop == OffsetInfinity || start == stop {
		return 0
	}
	return offsetDiff(pos, start) / offsetDiff(stop, start)
}

// offsetPosition rounds up, so that the position at a fraction f > 0 of a
// non-empty range lies after start: [start, position) then holds at least
// the fraction f of the range. Where offsets are exact in a float64 it
// computes ceil(start + f*(stop-start)) in float64 as Beam does, so the same
// fraction gives the same offset (adding start absorbs the last-bit noise of
// f*size that would otherwise round up a whole offset); beyond 2^53 it
// computes start + ceil(f*(stop-start)) without overflowing.
func offsetPosition(f float64, start, stop int64) (int64, error) {
	if stop == OffsetInfinity {
		return 0, fmt.Errorf("rangetracker: PositionAtFraction(%v): the range [%d, infinity) has no end", f, start)
	}
	const exact = 1 << 53
	if -exact <= start && stop <= exact {
		p := int64(math.Ceil(float64(start) + f*float64(stop-start)))
		return min(max(p, start), stop), nil
	}
	size := uint64(stop) - uint64(start)
	d := math.Ceil(f * float64(size))
	if !(d < float64(size)) { // also catches NaN
		return stop, nil
	}
	if d <= 0 {
		return start, nil
	}
	return int64(uint64(start) + uint64(d)), nil
}

// StartPosition returns the inclusive start offset.
func (t *Offset) StartPosition() int64 { return t.c.startPosition() }

// StopPosition returns the exclusive stop offset, which may be OffsetInfinity.
func (t *Offset) StopPosition() int64 { return t.c.stopPosition() }

// TryClaim claims the split point at offset p; see RangeTracker.
//
// A reader claims every record, so the common case — a claim after a
// successful one, before the stop — takes a fast path with plain int64
// comparisons (claimNext); anything else goes through the general state
// machine.
func (t *Offset) TryClaim(p int64) (bool, error) {
	if t.claimNext(p) {
		return true, nil
	}
	return t.c.tryClaim(p)
}

var _ nextClaimer[int64] = (*Offset)(nil)

// claimNext claims p if the last attempt succeeded, p is after it and
// before the stop, and reports whether it did; otherwise it changes
// nothing (see nextClaimer).
func (t *Offset) claimNext(p int64) bool {
	c := &t.c
	c.mu.Lock()
	// started is set (the last attempt succeeded), p is after the start
	// (the last attempt was not before it) and inside the range; offsets
	// have no unbounded stop.
	ok := c.attempted && c.lastAttemptOK && p > c.lastAttempt && p >= c.lastRecord && p < c.stop
	if ok {
		c.lastAttempt, c.lastRecord = p, p
		c.splitPointsSeen++
	}
	c.mu.Unlock()
	return ok
}

// lastClaim returns the offset of the last successful claim (see
// nextClaimer); it is the last attempt while the read goes on.
func (t *Offset) lastClaim() int64 {
	c := &t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastAttempt
}

// SetCurrentPosition records a record at offset p that is not a split point;
// see RangeTracker.
func (t *Offset) SetCurrentPosition(p int64) error { return t.c.setCurrentPosition(p) }

// PositionAtFraction returns ceil(start + f * (stop - start)). It returns an
// error for an infinite range.
func (t *Offset) PositionAtFraction(f float64) (int64, error) { return t.c.positionAtFraction(f) }

// TrySplit splits at offset p if the range is finite, a record has been
// claimed, and last record < p < stop. The fraction is
// (p - start) / (stop - start) for the stop before the split.
func (t *Offset) TrySplit(p int64) (splitPos int64, fraction float64, ok bool) {
	pos, f, why := t.c.trySplit(p)
	return pos, f, why == Accepted
}

// TrySplitReason is TrySplit, reporting why a split was refused.
func (t *Offset) TrySplitReason(p int64) (splitPos int64, fraction float64, why Refusal) {
	return t.c.trySplit(p)
}

// TryCheckpoint splits at the offset after the last record.
func (t *Offset) TryCheckpoint() (splitPos int64, fraction float64, why Refusal) {
	return t.c.tryCheckpoint()
}

// FractionConsumed returns (last record - start) / (stop - start), clamped to
// [0, 1]; 0 before the first claim and for an empty or infinite range.
func (t *Offset) FractionConsumed() float64 { return t.c.fractionConsumed() }

// SplitPoints returns the split points consumed and remaining; see
// RangeTracker.
func (t *Offset) SplitPoints() (consumed, remaining int64) { return t.c.splitPoints() }

// SetSplitPointsUnclaimedCallback installs the callback SplitPoints uses.
func (t *Offset) SetSplitPointsUnclaimedCallback(f func(stop int64) int64) {
	t.c.setSplitPointsUnclaimedCallback(f)
}

// String describes the range and the reader's progress, as in
// "Offset[100, 200) last record 150".
func (t *Offset) String() string { return t.c.string("Offset") }
