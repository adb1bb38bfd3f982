package rangetracker

import (
	"fmt"
	"runtime"
)

// SplitPointsUnknown is the count SplitPoints reports, and a split-points
// callback returns, when the number of split points is not known.
const SplitPointsUnknown int64 = -1

// RangeTracker tracks the reading of a range of positions [start, stop) by one
// reader, while other goroutines (a runner's progress and split requests)
// observe and shrink it.
//
// Records are identified by the position at which they start. A record that
// some read of [A, infinity) would return first is a split point; split points
// have unique positions, and the reader reports them with TryClaim. Other
// records (the rest of a compressed block, say) only need non-decreasing
// positions and are reported with SetCurrentPosition. The first record of any
// range must be a split point. Once the reader has returned the record at
// position p, all positions up to and including p are consumed: a split may
// only happen at an unconsumed position, or that record would be read twice.
//
// # For implementers
//
// Every method may be called from any goroutine: TrySplit, FractionConsumed,
// SplitPoints and PositionAtFraction may be called concurrently with TryClaim
// and SetCurrentPosition, and with each other. TryClaim and SetCurrentPosition
// are called by one reader, in the order of its records. Each method must be
// atomic with respect to the others (a single mutex is enough).
//
// A refused split is not an error: TrySplit reports it with ok == false and
// leaves the tracker unchanged. Misuse by the reader (a claim that does not
// strictly increase, a first record that is not a split point) is an error
// whose text names the offending position and the one before it; it leaves
// the tracker unchanged.
type RangeTracker[P any] interface {
	// StartPosition returns the inclusive start of the range. It never changes.
	StartPosition() P

	// StopPosition returns the exclusive stop of the range. A successful
	// TrySplit lowers it to the split position.
	StopPosition() P

	// TryClaim reports whether the reader may return the split-point record
	// starting at p. It returns false, and the reader must stop, when p is at
	// or past the stop; that attempt still counts, so the next claim must lie
	// beyond p. It returns an error if p is before the start, is not strictly
	// greater than the previous attempt, or lies before the last record.
	TryClaim(p P) (bool, error)

	// SetCurrentPosition records a record starting at p that is not a split
	// point. It is allowed past the stop (the record continues the last
	// claimed split point). It returns an error before the first successful
	// TryClaim, or if p is less than the last record's position.
	SetCurrentPosition(p P) error

	// PositionAtFraction returns the position at fraction f, in [0, 1], of the
	// current range. It returns an error for f outside [0, 1], or when the
	// range has no end to interpolate to.
	PositionAtFraction(f float64) (P, error)

	// TrySplit tries to shrink the range to the primary [start, p), leaving
	// the residual [p, stop) to another reader. On success it returns the
	// split position and the primary's fraction of the range as it was just
	// before the split. It refuses (ok == false) a position that is consumed
	// or outside (start, stop).
	TrySplit(p P) (splitPos P, fraction float64, ok bool)

	// FractionConsumed returns the fraction of the current range that is
	// consumed, in [0, 1]; 0 before the first claim.
	FractionConsumed() float64

	// SplitPoints returns the number of split points consumed (the one being
	// read does not count) and remaining (it does count), either of which may
	// be SplitPointsUnknown.
	SplitPoints() (consumed, remaining int64)

	// SetSplitPointsUnclaimedCallback installs a function that, given the
	// current stop, returns how many split points lie after the last claimed
	// one and before stop, or SplitPointsUnknown. SplitPoints calls it without
	// holding the tracker's lock, so it may call back into the tracker.
	SetSplitPointsUnclaimedCallback(f func(stop P) int64)
}

// A Refusal says why a tracker did not split. The zero value, Accepted, means
// it did. It is a plain value, safe to share.
type Refusal uint8

const (
	// Accepted means the split happened.
	Accepted Refusal = iota
	// RefusedUnsplittable means the tracker never splits.
	RefusedUnsplittable
	// RefusedInfinite means the range has no end (Offset's OffsetInfinity):
	// there is no fraction to split at.
	RefusedInfinite
	// RefusedUnstarted means nothing has been claimed yet and the tracker
	// only splits a started range (Offset, as in Beam).
	RefusedUnstarted
	// RefusedConsumed means the position is at or before the last record
	// returned, so the record there has been (or is being) read.
	RefusedConsumed
	// RefusedOutOfRange means the position is at or before the start, or at
	// or after the stop.
	RefusedOutOfRange
	// RefusedNoSuccessor means TryCheckpoint cannot name the next position
	// after the last record (an Ordering without Next).
	RefusedNoSuccessor
	// RefusedUnknown is reported by the package-level TrySplitReason for a
	// tracker that refused a split without saying why.
	RefusedUnknown
)

var refusalText = [...]string{
	Accepted:            "accepted",
	RefusedUnsplittable: "tracker is unsplittable",
	RefusedInfinite:     "range has no end",
	RefusedUnstarted:    "nothing claimed yet",
	RefusedConsumed:     "position already consumed",
	RefusedOutOfRange:   "position outside (start, stop)",
	RefusedNoSuccessor:  "no successor of the last record is known",
	RefusedUnknown:      "refused for an unknown reason",
}

// String returns a short description of r.
func (r Refusal) String() string {
	if int(r) < len(refusalText) {
		return refusalText[r]
	}
	return fmt.Sprintf("Refusal(%d)", uint8(r))
}

// SplitExplainer is implemented by trackers that can say why they refused a
// split; every tracker in this package does. It is meant for logs and tests.
type SplitExplainer[P any] interface {
	// TrySplitReason is TrySplit, reporting the refusal instead of a bool.
	TrySplitReason(p P) (splitPos P, fraction float64, why Refusal)
}

// Checkpointer is implemented by trackers that can split at the first
// unconsumed position, leaving the primary with nothing left to claim. It is
// what a checkpoint (an Fn API split at fraction 0 of the remainder) needs.
type Checkpointer[P any] interface {
	// TryCheckpoint splits at the smallest position after the last record,
	// atomically with respect to claims. It refuses with RefusedUnstarted
	// before the first claim.
	TryCheckpoint() (splitPos P, fraction float64, why Refusal)
}

// TrySplitReason calls rt.TrySplitReason if rt is a SplitExplainer, and
// otherwise rt.TrySplit, reporting a refusal as RefusedUnknown.
func TrySplitReason[P any](rt RangeTracker[P], p P) (splitPos P, fraction float64, why Refusal) {
	if se, ok := rt.(SplitExplainer[P]); ok {
		return se.TrySplitReason(p)
	}
	pos, f, ok := rt.TrySplit(p)
	if ok {
		return pos, f, Accepted
	}
	return pos, f, RefusedUnknown
}

// clamp01 maps f into [0, 1]; NaN becomes 0.
func clamp01(f float64) float64 {
	switch {
	case !(f > 0):
		return 0
	case f > 1:
		return 1
	}
	return f
}

// formatPos renders a position for an error message: byte strings quoted,
// OffsetInfinity as "infinity", everything else with %v.
func formatPos(p any) string {
	switch v := p.(type) {
	case int64:
		if v == OffsetInfinity {
			return "infinity"
		}
	case []byte:
		return fmt.Sprintf("%q", v)
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%v", p)
}

// panicf panics with a message prefixed by the location of the caller's
// caller: constructors call it, so the message points at the user's code.
func panicf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if _, file, line, ok := runtime.Caller(2); ok {
		msg = fmt.Sprintf("%s:%d: %s", file, line, msg)
	}
	panic(msg)
}
