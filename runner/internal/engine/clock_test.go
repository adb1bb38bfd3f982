package engine

import (
	"math"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestSyntheticClockReachesTheEndOfTime checks that the advance Beam's
// AdvanceProcessingTimeToInfinity makes (the maximum timestamp in
// milliseconds, which the plan saturates at time.Duration's range) moves
// the clock to window.MaxTime and keeps it there, rather than overflowing
// or stopping at a finite instant that timers set later never reach.
func TestSyntheticClockReachesTheEndOfTime(t *testing.T) {
	start := time.UnixMilli(1_700_000_000_000)
	for _, ms := range []int64{int64(window.MaxTime), int64(math.MaxInt64 / int64(time.Millisecond)), math.MaxInt64} {
		c := &clock{start: start, synthetic: true}
		c.advance(30_000)
		if got, want := c.now(), window.FromTime(start.Add(30*time.Second)); got != want {
			t.Fatalf("after 30s: now = %v, want %v", got, want)
		}
		c.advance(ms)
		if got := c.now(); got != window.MaxTime {
			t.Errorf("after advancing %d ms: now = %v, want MaxTime", ms, got)
		}
		c.advance(1000)
		if got := c.now(); got != window.MaxTime {
			t.Errorf("a further advance moved the clock from the end of time to %v", got)
		}
	}
}

// TestRebaseStopsAtTheEndOfTime checks that a processing-time timer an SDK
// sets on the wall clock lands as far ahead on the job clock, and at
// window.MaxTime, where it is due, once the job clock is there.
func TestRebaseStopsAtTheEndOfTime(t *testing.T) {
	wall := window.Time(1_700_000_000_000)
	if got := rebase(wall+1000, 5000, wall); got != 6000 {
		t.Errorf("rebase 1s ahead of job clock 5s = %v, want 6s", got)
	}
	if got := rebase(wall+1000, window.MaxTime, wall); got != window.MaxTime {
		t.Errorf("rebase at the end of time = %v, want MaxTime", got)
	}
}
