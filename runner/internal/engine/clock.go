package engine

import (
	"math"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// clock is the job's one processing-time clock: the wall clock, or the
// synthetic clock of a TestStream, which starts at the job's start and
// moves only when the script advances it, so that processing-time
// triggers fire deterministically. Its fields are guarded by j.mu.
type clock struct {
	start     time.Time
	synthetic bool
	// advanced is how far a TestStream moved the synthetic clock;
	// infinite once it moved it to the end of time.
	advanced time.Duration
}

// infinite is the advance of a synthetic clock at the end of time.
const infinite = time.Duration(math.MaxInt64)

func newClock(start time.Time) *clock { return &clock{start: start} }

// now returns the current processing time.
func (c *clock) now() window.Time {
	if !c.synthetic {
		return window.FromTime(time.Now())
	}
	if c.advanced == infinite {
		return window.MaxTime
	}
	return window.FromTime(c.start.Add(c.advanced))
}

// advance moves the synthetic clock ms milliseconds ahead. An advance to
// the end of time or beyond time.Duration's range (Beam's
// AdvanceProcessingTimeToInfinity advances by the maximum timestamp
// itself, which the plan saturates there) leaves the clock at
// window.MaxTime for good: processing time has ended, so every
// processing-time timer is due, those set from then on too (Prism does the
// same).
func (c *clock) advance(ms int64) {
	if c.advanced == infinite {
		return
	}
	left := int64(window.MaxTime) - int64(c.now())
	if ms >= left || ms > int64(infinite/time.Millisecond)-int64(c.advanced/time.Millisecond) {
		c.advanced = infinite
		return
	}
	c.advanced += time.Duration(ms) * time.Millisecond
}
