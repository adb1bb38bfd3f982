package rangetracker

import (
	"fmt"
	"sync"
)

// core is the state machine shared by Offset, Ordered and LexicographicKey.
// They differ in their Ordering and in two policies taken from Beam:
// OffsetRangeTracker refuses to split before the first claim and cannot split
// an infinite range; OrderedPositionRangeTracker splits both (an unbounded
// key range, say).
//
// The rules, all under mu:
//   - attempted claims strictly increase, even after a failed claim, so a
//     split point's position is never claimed twice;
//   - no record (claimed or set) precedes the last record;
//   - a claim at or past stop fails and ends the range (later claims must be
//     larger still, so they fail too);
//   - a split must land strictly after the last record and strictly inside
//     (start, stop); it lowers stop.
type core[P any] struct {
	ord            Ordering[P]
	splitUnstarted bool         // a split before the first claim is allowed
	infinite       func(P) bool // if set and true of stop, splits are refused

	start P // immutable

	// mu guards the fields below.
	mu sync.Mutex
	// stop is the exclusive end; it only decreases.
	stop P
	// unbounded reports that stop stands for the end of the position space;
	// stop is never compared with positions while it is set.
	unbounded bool
	// started is set by the first successful TryClaim.
	started bool
	// lastRecord is the position of the last record returned, split point or
	// not; it is valid once started.
	lastRecord P
	// attempted is set by the first TryClaim, lastAttempt is the latest one's
	// position, and lastAttemptOK whether it succeeded.
	attempted     bool
	lastAttempt   P
	lastAttemptOK bool
	// splitPointsSeen counts successful claims.
	splitPointsSeen int64
	// unclaimed is the split-points callback; nil means unknown.
	unclaimed func(stop P) int64
}

func (c *core[P]) init(start, stop P) {
	c.start, c.stop = start, stop
	c.unbounded = c.ord.Unbounded != nil && c.ord.Unbounded(stop)
}

func (c *core[P]) format(p P) string { return formatPos(p) }

func (c *core[P]) cmp(a, b P) int { return c.ord.Compare(a, b) }

// beyondStop reports whether p is at or past the stop.
func (c *core[P]) beyondStop(p P) bool { return !c.unbounded && c.cmp(p, c.stop) >= 0 }

func (c *core[P]) stopString() string {
	if c.unbounded {
		return "the end"
	}
	return c.format(c.stop)
}

func (c *core[P]) startPosition() P { return c.start }

func (c *core[P]) stopPosition() P {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stop
}

func (c *core[P]) tryClaim(p P) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmp(p, c.start) < 0 {
		return false, fmt.Errorf("rangetracker: TryClaim(%s) is before the start %s of the range", c.format(p), c.format(c.start))
	}
	if c.attempted {
		switch d := c.cmp(p, c.lastAttempt); {
		case d == 0 && c.lastAttemptOK:
			return false, fmt.Errorf("rangetracker: TryClaim(%s) repeats the claim of the split point at %s: split points cannot share a position", c.format(p), c.format(c.lastAttempt))
		case d == 0:
			return false, fmt.Errorf("rangetracker: TryClaim(%s) repeats the failed claim at %s: claims must strictly increase", c.format(p), c.format(c.lastAttempt))
		case d < 0:
			return false, fmt.Errorf("rangetracker: TryClaim(%s) after TryClaim(%s): claims must strictly increase", c.format(p), c.format(c.lastAttempt))
		}
	}
	if c.started && c.cmp(p, c.lastRecord) < 0 {
		return false, fmt.Errorf("rangetracker: TryClaim(%s) after SetCurrentPosition(%s): positions must not decrease", c.format(p), c.format(c.lastRecord))
	}
	c.attempted, c.lastAttempt = true, p
	if c.beyondStop(p) {
		c.lastAttemptOK = false
		return false, nil
	}
	c.lastAttemptOK = true
	c.started, c.lastRecord = true, p
	c.splitPointsSeen++
	return true, nil
}

func (c *core[P]) setCurrentPosition(p P) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return fmt.Errorf("rangetracker: SetCurrentPosition(%s) before any successful TryClaim: the first record of a range must be a split point", c.format(p))
	}
	if c.cmp(p, c.lastRecord) < 0 {
		return fmt.Errorf("rangetracker: SetCurrentPosition(%s) after the record at %s: positions must not decrease", c.format(p), c.format(c.lastRecord))
	}
	c.lastRecord = p
	return nil
}

func (c *core[P]) positionAtFraction(f float64) (P, error) {
	if !(f >= 0 && f <= 1) {
		var zero P
		return zero, fmt.Errorf("rangetracker: PositionAtFraction(%v): fraction outside [0, 1]", f)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ord.Position(f, c.start, c.stop)
}

func (c *core[P]) trySplit(p P) (P, float64, Refusal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.splitLocked(p)
}

func (c *core[P]) splitLocked(p P) (P, float64, Refusal) {
	var zero P
	switch {
	case c.infinite != nil && c.infinite(c.stop):
		return zero, 0, RefusedInfinite
	case !c.started && !c.splitUnstarted:
		return zero, 0, RefusedUnstarted
	case c.started && c.cmp(p, c.lastRecord) <= 0:
		return zero, 0, RefusedConsumed
	case c.cmp(p, c.start) <= 0 || c.beyondStop(p):
		return zero, 0, RefusedOutOfRange
	}
	f := c.ord.Fraction(p, c.start, c.stop)
	c.stop, c.unbounded = p, false
	return p, f, Accepted
}

func (c *core[P]) tryCheckpoint() (P, float64, Refusal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero P
	switch {
	case c.infinite != nil && c.infinite(c.stop):
		return zero, 0, RefusedInfinite
	case !c.started:
		return zero, 0, RefusedUnstarted
	case c.ord.Next == nil:
		return zero, 0, RefusedNoSuccessor
	}
	return c.splitLocked(c.ord.Next(c.lastRecord))
}

func (c *core[P]) fractionConsumed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return 0
	}
	return clamp01(c.ord.Fraction(c.lastRecord, c.start, c.stop))
}

func (c *core[P]) splitPoints() (consumed, remaining int64) {
	c.mu.Lock()
	consumed = max(0, c.splitPointsSeen-1)
	cb, stop := c.unclaimed, c.stop
	c.mu.Unlock()
	// The callback runs unlocked: it belongs to the reader's source, which may
	// well ask the tracker for its positions.
	if cb == nil {
		return consumed, SplitPointsUnknown
	}
	if n := cb(stop); n >= 0 {
		return consumed, n + 1
	}
	return consumed, SplitPointsUnknown
}

func (c *core[P]) setSplitPointsUnclaimedCallback(f func(stop P) int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unclaimed = f
}

// string describes the tracker's state for logs and test failures.
func (c *core[P]) string(kind string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("%s[%s, %s)", kind, c.format(c.start), c.stopString())
	if c.started {
		s += " last record " + c.format(c.lastRecord)
	}
	if c.attempted && !c.lastAttemptOK {
		s += " ended by claim " + c.format(c.lastAttempt)
	}
	return s
}
