package portable_test

import (
	"testing"

	"beamgo/runner"
	"beamgo/runner/portable"
	"beamgo/runner/runnertest"
)

func TestConformance(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return portable.New(&portable.Options{Workers: 2})
	}, runnertest.Capabilities{})
}

// TestConformanceWithProcessWorkers runs the suite with PROCESS workers:
// this test binary started again, selecting the one subtest, so user code
// runs in other processes and nothing is shared with the test but what
// the runner carries.
func TestConformanceWithProcessWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes; skipped in -short mode")
	}
	runnertest.RunConformanceTests(t, func(t *testing.T) runner.Runner {
		return portable.New(&portable.Options{
			Workers: 2, EnvironmentType: portable.EnvProcess,
			Process: &portable.ProcessOptions{Args: runnertest.WorkerArgs(t)},
		})
	}, runnertest.Capabilities{})
}
