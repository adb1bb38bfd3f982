package kafka

import (
	"os"
	"testing"

	"github.com/beamgo-dev/beamgo/fnapi/worker"
)

// TestMain lets this test binary run as the PROCESS workers its tests
// start: worker.Init strips the runner's flags before the test flags are
// parsed.
func TestMain(m *testing.M) {
	worker.Init()
	os.Exit(m.Run())
}
