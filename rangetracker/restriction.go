package rangetracker

import (
	"fmt"
	"sync"
)

// Restriction is the restriction of a splittable read: the positions
// [Start, Stop) of a source and the weight (estimated size) of that work. It
// is a plain value.
type Restriction[P any] struct {
	Start, Stop P
	// Weight is the estimated size of the restriction in any unit (bytes,
	// records). Splits divide it in proportion to the split fraction. Zero
	// means unknown; progress is then reported in fractions of 1.
	Weight float64
}

// RestrictionTracker makes a RangeTracker the restriction tracker of a
// splittable read, the form in which runners execute bounded sources (Beam's
// SDF wrapper around a BoundedSource). The reader claims through it (or
// through its RangeTracker view) and the runner asks it for progress and
// splits.
//
// # Mapping Fn API split requests
//
// A runner asks the SDK harness, through ProcessBundleSplitRequest, to keep a
// fraction of the remaining work (fraction_of_remainder). For the element in
// progress the harness calls TrySplit(fractionOfRemainder), which maps the
// request onto the RangeTracker the way Beam's Python SDF wrapper does:
//
//	consumed := rt.FractionConsumed()
//	fraction := consumed + (1-consumed)*fractionOfRemainder  // of the whole current range
//	pos      := rt.PositionAtFraction(fraction)
//	splitPos, splitFraction, ok := rt.TrySplit(pos)
//
// On success the primary is [start, splitPos) with weight
// weight*splitFraction, which this tracker keeps reading, and the residual is
// [splitPos, old stop) with the rest of the weight, which the harness returns
// as a residual root for the runner to schedule elsewhere. For example, with
// [100, 200) read up to 130, a request to keep 0.7 of the remainder gives the
// primary [100, 179) and the residual [179, 200).
//
// A fractionOfRemainder of 0 is a checkpoint: the tracker splits at the first
// unconsumed position (TryCheckpoint, when the tracker is a Checkpointer), so
// the reader's next claim fails and the whole remainder is the residual. The
// plain mapping cannot do this, since the position at the consumed fraction
// is itself consumed. A fraction of 1, a fraction outside [0, 1], a read that
// has ended, a PositionAtFraction error and a tracker refusal all mean no
// split: the runner simply lets this bundle continue.
//
// # Ending a read
//
// The read ends when a TryClaim returns false (the next record lies past the
// stop) or when the reader calls Finish because its input ran out before the
// stop. IsDone reports an error otherwise: a reader that returned early would
// silently drop the rest of its range.
//
// A RestrictionTracker is safe for concurrent use. Once a RangeTracker is
// wrapped, split it only through the RestrictionTracker: a split made
// directly on the RangeTracker would leave a residual nobody reads.
type RestrictionTracker[P any] struct {
	rt RangeTracker[P]

	// mu guards the fields below, and serializes the calls into rt so that a
	// split's view of the range (consumed fraction, stop) is not changed by a
	// claim halfway through.
	mu      sync.Mutex
	weight  float64
	claimed bool // some TryClaim succeeded
	last    P    // position of the last successful TryClaim (see fast)
	done    bool // a TryClaim failed or Finish was called

	// fast is rt when it can claim under its own lock alone (see
	// TryClaim); then last is the position of the last claim that took
	// mu, and fast knows the latest.
	fast nextClaimer[P]
}

// nextClaimer is implemented by the RangeTrackers whose usual claim —
// after a successful one, before the stop — a RestrictionTracker makes
// without its own lock: see RestrictionTracker.TryClaim.
type nextClaimer[P any] interface {
	// claimNext claims the split point at p if the last claim succeeded
	// and p lies after it and before the stop, as TryClaim would, and
	// reports whether it did; otherwise it changes nothing.
	claimNext(p P) bool
	// lastClaim returns the position of the last successful claim.
	lastClaim() P
}

// NewRestrictionTracker returns a restriction tracker reading rt's range,
// whose estimated size is weight. It panics if rt is nil.
func NewRestrictionTracker[P any](rt RangeTracker[P], weight float64) *RestrictionTracker[P] {
	if rt == nil {
		panicf("rangetracker: NewRestrictionTracker(nil)")
	}
	b := &RestrictionTracker[P]{rt: rt, weight: weight}
	b.fast, _ = rt.(nextClaimer[P])
	return b
}

// Restriction returns the current restriction: the range as shrunk by any
// splits, and its remaining share of the weight.
func (b *RestrictionTracker[P]) Restriction() Restriction[P] {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Restriction[P]{Start: b.rt.StartPosition(), Stop: b.rt.StopPosition(), Weight: b.weight}
}

// TryClaim claims the split point at p. A false result ends the read.
//
// A reader claims every record, so the usual claim follows a successful
// one and succeeds: where rt can tell such a claim apart under its own
// lock (an Offset can), it is made there without taking mu as well (a
// text read claims every line: two lock pairs a line were 4-6% of a word
// count's CPU). That needs no more: mu serializes the calls into rt that
// change the range, and rt serializes this claim with each of them, so a
// split either sees the claim (and refuses a position it consumed) or
// comes first (and the claim, past the new stop, takes the slow path). A
// claim that would fail or err, and so end the read, always takes mu,
// so that no split is accepted between the failure and done.
func (b *RestrictionTracker[P]) TryClaim(p P) (bool, error) {
	if b.fast != nil && b.fast.claimNext(p) {
		return true, nil
	}
	b.mu.Lock()
	ok, err := b.rt.TryClaim(p)
	switch {
	case err != nil:
	case ok:
		b.claimed, b.last = true, p
	default:
		b.done = true
	}
	b.mu.Unlock()
	return ok, err
}

// SetCurrentPosition records a record at p that is not a split point.
func (b *RestrictionTracker[P]) SetCurrentPosition(p P) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rt.SetCurrentPosition(p)
}

// Finish records that the reader's input ended before the stop of its range,
// so there is nothing left to claim. It ends the read.
func (b *RestrictionTracker[P]) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
}

// TrySplit splits off a residual holding 1-fractionOfRemainder of the
// remaining work; see the type's documentation for the mapping onto
// RangeTracker.TrySplit. On success this tracker keeps the primary.
func (b *RestrictionTracker[P]) TrySplit(fractionOfRemainder float64) (primary, residual Restriction[P], ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || !(fractionOfRemainder >= 0 && fractionOfRemainder <= 1) {
		return primary, residual, false
	}
	start, oldStop := b.rt.StartPosition(), b.rt.StopPosition()
	var (
		pos  P
		frac float64
	)
	if cp, isCp := b.rt.(Checkpointer[P]); isCp && fractionOfRemainder == 0 {
		var why Refusal
		pos, frac, why = cp.TryCheckpoint()
		ok = why == Accepted
	} else {
		consumed := b.rt.FractionConsumed()
		p, err := b.rt.PositionAtFraction(consumed + (1-consumed)*fractionOfRemainder)
		if err != nil {
			return primary, residual, false
		}
		pos, frac, ok = b.rt.TrySplit(p)
	}
	if !ok {
		return primary, residual, false
	}
	pw := b.weight * frac
	rw := b.weight - pw
	b.weight = pw
	return Restriction[P]{Start: start, Stop: pos, Weight: pw}, Restriction[P]{Start: pos, Stop: oldStop, Weight: rw}, true
}

// GetProgress returns the work done and remaining in units of the weight
// (fractions of 1 if the weight is not positive): the weight split by
// FractionConsumed, or all done once the read has ended.
func (b *RestrictionTracker[P]) GetProgress() (done, remaining float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.weight
	if !(w > 0) {
		w = 1
	}
	if b.done {
		return w, 0
	}
	f := b.rt.FractionConsumed()
	return w * f, w * (1 - f)
}

// IsDone returns nil if the read has ended (a TryClaim returned false, or
// Finish was called), and otherwise an error naming the last claimed
// position and the stop.
func (b *RestrictionTracker[P]) IsDone() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	start, stop := b.rt.StartPosition(), b.rt.StopPosition()
	if !b.claimed {
		return fmt.Errorf("rangetracker: read of [%s, %s) ended without claiming a position: the reader must call TryClaim until it returns false, or Finish", formatPos(start), formatPos(stop))
	}
	last := b.last
	if b.fast != nil {
		last = b.fast.lastClaim()
	}
	return fmt.Errorf("rangetracker: read of [%s, %s) stopped after claiming %s, before the stop %s: the reader must call TryClaim until it returns false, or Finish", formatPos(start), formatPos(stop), formatPos(last), formatPos(stop))
}

// RangeTracker returns a RangeTracker to hand to a source's reader. Its
// TryClaim and SetCurrentPosition go through b, so a failed claim ends the
// read; its TrySplit refuses, because splits belong to the runner and go
// through b.TrySplit. The other methods are rt's.
func (b *RestrictionTracker[P]) RangeTracker() RangeTracker[P] { return readerView[P]{b} }

// readerView is the RangeTracker a reader sees through a RestrictionTracker.
type readerView[P any] struct{ b *RestrictionTracker[P] }

func (v readerView[P]) StartPosition() P              { return v.b.rt.StartPosition() }
func (v readerView[P]) StopPosition() P               { return v.b.rt.StopPosition() }
func (v readerView[P]) TryClaim(p P) (bool, error)    { return v.b.TryClaim(p) }
func (v readerView[P]) SetCurrentPosition(p P) error  { return v.b.SetCurrentPosition(p) }
func (v readerView[P]) FractionConsumed() float64     { return v.b.rt.FractionConsumed() }
func (v readerView[P]) SplitPoints() (int64, int64)   { return v.b.rt.SplitPoints() }
func (v readerView[P]) TrySplit(P) (P, float64, bool) { var zero P; return zero, 0, false }
func (v readerView[P]) PositionAtFraction(f float64) (P, error) {
	return v.b.rt.PositionAtFraction(f)
}
func (v readerView[P]) SetSplitPointsUnclaimedCallback(f func(stop P) int64) {
	v.b.rt.SetSplitPointsUnclaimedCallback(f)
}
