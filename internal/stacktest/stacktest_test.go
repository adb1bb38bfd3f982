package stacktest_test

import (
	"runtime/debug"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/stacktest"
)

// maxStack reads the process's maximum stack size.
func maxStack() int {
	cur := debug.SetMaxStack(1 << 30)
	debug.SetMaxStack(cur)
	return cur
}

func TestRunSetsAndRestoresTheLimit(t *testing.T) {
	before := maxStack()
	const small = 1 << 20
	var inside int
	ran := false
	stacktest.Run(t, small, func() {
		ran = true
		inside = maxStack()
	})
	if !ran {
		t.Fatal("Run did not call fn")
	}
	if inside != small {
		t.Errorf("limit while fn runs = %d, want %d", inside, small)
	}
	if after := maxStack(); after != before {
		t.Errorf("limit after Run = %d, want the previous %d", after, before)
	}
}
