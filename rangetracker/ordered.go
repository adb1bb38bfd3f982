package rangetracker

// Ordering describes a position type to Ordered: how positions compare and
// how they map to fractions of a range. A tracker calls the functions with
// its lock held, so they must not call back into it; trackers sharing an
// Ordering call them concurrently, so they must be safe for concurrent use
// (pure functions are).
type Ordering[P any] struct {
	// Compare returns a negative number if a < b, zero if a == b and a
	// positive number if a > b. Required.
	Compare func(a, b P) int

	// Fraction returns the fraction of [start, stop) that lies before pos:
	// 0 at start, 1 at stop. It may return values outside [0, 1] for
	// positions outside the range. When Unbounded(stop) holds, stop is the
	// end of the position space. Required.
	Fraction func(pos, start, stop P) float64

	// Position returns the position at fraction f, in [0, 1], of
	// [start, stop); the inverse of Fraction, within the precision of P.
	// Required.
	Position func(f float64, start, stop P) (P, error)

	// Unbounded reports whether a stop position stands for the end of the
	// position space (like an empty stop key). A tracker never compares
	// positions with such a stop. Nil means every stop is a real position.
	Unbounded func(stop P) bool

	// Next returns the smallest position greater than p. It lets
	// TryCheckpoint split right after the last record. Nil disables
	// checkpoints.
	Next func(p P) P
}

// Ordered is a RangeTracker for any ordered position type with a mapping
// between positions and fractions, like Beam's OrderedPositionRangeTracker.
//
// As in Beam, and unlike Offset, it splits a range before the first claim
// and splits a range whose stop is unbounded. It is stricter than Beam's in
// one respect: two split points cannot share a position (Beam's ordered
// tracker accepts a repeated claim), so every tracker in this package follows
// one set of claim rules.
//
// An Ordered is safe for concurrent use.
type Ordered[P any] struct {
	c core[P]
}

var _ RangeTracker[int] = (*Ordered[int])(nil)
var _ SplitExplainer[int] = (*Ordered[int])(nil)
var _ Checkpointer[int] = (*Ordered[int])(nil)

// NewOrdered returns a tracker for [start, stop) ordered by ord. It panics if
// ord lacks Compare, Fraction or Position, or if start > stop (unless stop is
// unbounded).
func NewOrdered[P any](start, stop P, ord Ordering[P]) *Ordered[P] {
	if ord.Compare == nil || ord.Fraction == nil || ord.Position == nil {
		panicf("rangetracker: NewOrdered: Ordering needs Compare, Fraction and Position")
	}
	unbounded := ord.Unbounded != nil && ord.Unbounded(stop)
	if !unbounded && ord.Compare(start, stop) > 0 {
		panicf("rangetracker: NewOrdered(%s, %s): start after stop", formatPos(start), formatPos(stop))
	}
	t := &Ordered[P]{c: core[P]{ord: ord, splitUnstarted: true}}
	t.c.init(start, stop)
	return t
}

// StartPosition returns the inclusive start of the range.
func (t *Ordered[P]) StartPosition() P { return t.c.startPosition() }

// StopPosition returns the exclusive stop of the range.
func (t *Ordered[P]) StopPosition() P { return t.c.stopPosition() }

// TryClaim claims the split point at p; see RangeTracker.
func (t *Ordered[P]) TryClaim(p P) (bool, error) { return t.c.tryClaim(p) }

// SetCurrentPosition records a record at p that is not a split point; see
// RangeTracker.
func (t *Ordered[P]) SetCurrentPosition(p P) error { return t.c.setCurrentPosition(p) }

// PositionAtFraction returns Ordering.Position(f, start, stop).
func (t *Ordered[P]) PositionAtFraction(f float64) (P, error) { return t.c.positionAtFraction(f) }

// TrySplit splits at p if p is after the last record and inside
// (start, stop). The fraction is Ordering.Fraction(p, start, stop) for the
// stop before the split.
func (t *Ordered[P]) TrySplit(p P) (splitPos P, fraction float64, ok bool) {
	pos, f, why := t.c.trySplit(p)
	return pos, f, why == Accepted
}

// TrySplitReason is TrySplit, reporting why a split was refused.
func (t *Ordered[P]) TrySplitReason(p P) (splitPos P, fraction float64, why Refusal) {
	return t.c.trySplit(p)
}

// TryCheckpoint splits at Ordering.Next of the last record.
func (t *Ordered[P]) TryCheckpoint() (splitPos P, fraction float64, why Refusal) {
	return t.c.tryCheckpoint()
}

// FractionConsumed returns the fraction of the last record's position,
// clamped to [0, 1]; 0 before the first claim.
func (t *Ordered[P]) FractionConsumed() float64 { return t.c.fractionConsumed() }

// SplitPoints returns the split points consumed and remaining; see
// RangeTracker.
func (t *Ordered[P]) SplitPoints() (consumed, remaining int64) { return t.c.splitPoints() }

// SetSplitPointsUnclaimedCallback installs the callback SplitPoints uses.
func (t *Ordered[P]) SetSplitPointsUnclaimedCallback(f func(stop P) int64) {
	t.c.setSplitPointsUnclaimedCallback(f)
}

// String describes the range and the reader's progress.
func (t *Ordered[P]) String() string { return t.c.string("Ordered") }
