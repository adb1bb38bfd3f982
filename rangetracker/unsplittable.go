package rangetracker

// Unsplittable wraps a RangeTracker and refuses every split, like Beam's
// UnsplittableRangeTracker. File sources use it for inputs that can only be
// read from the start, such as a compressed file whose range is
// [0, OffsetInfinity).
//
// Every method but TrySplit and SplitPoints delegates to the wrapped tracker.
// SplitPoints always reports (0, 1): an unsplittable range is one split
// point. An Unsplittable is safe for concurrent use if the wrapped tracker
// is; it adds no state of its own.
type Unsplittable[P any] struct {
	rt RangeTracker[P]
}

var _ RangeTracker[int64] = (*Unsplittable[int64])(nil)
var _ SplitExplainer[int64] = (*Unsplittable[int64])(nil)
var _ Checkpointer[int64] = (*Unsplittable[int64])(nil)

// NewUnsplittable returns rt made unsplittable. It panics if rt is nil.
func NewUnsplittable[P any](rt RangeTracker[P]) *Unsplittable[P] {
	if rt == nil {
		panicf("rangetracker: NewUnsplittable(nil)")
	}
	return &Unsplittable[P]{rt: rt}
}

// StartPosition returns the wrapped tracker's start.
func (t *Unsplittable[P]) StartPosition() P { return t.rt.StartPosition() }

// StopPosition returns the wrapped tracker's stop.
func (t *Unsplittable[P]) StopPosition() P { return t.rt.StopPosition() }

// TryClaim delegates to the wrapped tracker.
func (t *Unsplittable[P]) TryClaim(p P) (bool, error) { return t.rt.TryClaim(p) }

// SetCurrentPosition delegates to the wrapped tracker.
func (t *Unsplittable[P]) SetCurrentPosition(p P) error { return t.rt.SetCurrentPosition(p) }

// PositionAtFraction delegates to the wrapped tracker.
func (t *Unsplittable[P]) PositionAtFraction(f float64) (P, error) {
	return t.rt.PositionAtFraction(f)
}

// TrySplit refuses.
func (t *Unsplittable[P]) TrySplit(P) (splitPos P, fraction float64, ok bool) {
	return splitPos, 0, false
}

// TrySplitReason refuses with RefusedUnsplittable.
func (t *Unsplittable[P]) TrySplitReason(P) (splitPos P, fraction float64, why Refusal) {
	return splitPos, 0, RefusedUnsplittable
}

// TryCheckpoint refuses with RefusedUnsplittable.
func (t *Unsplittable[P]) TryCheckpoint() (splitPos P, fraction float64, why Refusal) {
	return splitPos, 0, RefusedUnsplittable
}

// FractionConsumed delegates to the wrapped tracker.
func (t *Unsplittable[P]) FractionConsumed() float64 { return t.rt.FractionConsumed() }

// SplitPoints returns (0, 1).
func (t *Unsplittable[P]) SplitPoints() (consumed, remaining int64) { return 0, 1 }

// SetSplitPointsUnclaimedCallback delegates to the wrapped tracker, although
// SplitPoints does not consult it.
func (t *Unsplittable[P]) SetSplitPointsUnclaimedCallback(f func(stop P) int64) {
	t.rt.SetSplitPointsUnclaimedCallback(f)
}
