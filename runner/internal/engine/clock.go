package engine

import (
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
	// advanced is how far a TestStream moved the synthetic clock.
	advanced time.Duration
}

func newClock(start time.Time) *clock { return &clock{start: start} }

// now returns the current processing time.
func (c *clock) now() window.Time {
	if c.synthetic {
		return window.FromTime(c.start.Add(c.advanced))
	}
	return window.FromTime(time.Now())
}

// advance moves the synthetic clock d ahead.
func (c *clock) advance(d time.Duration) { c.advanced += d }
