package local_test

import (
	"testing"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/testutil"
)

func TestConformance(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 4}})
	}, runnertest.Capabilities{})
}

func TestConformanceWithoutLifting(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 3}, DisableLifting: true})
	}, runnertest.Capabilities{})
}

func TestConformanceTinyShuffleMemory(t *testing.T) {
	// A 1-byte shuffle (raised to the 256 KiB floor per writer) spills
	// and merges runs, and still groups correctly.
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 2}, ShuffleMemory: 1})
	}, runnertest.Capabilities{})
}

func TestStreamingConformance(t *testing.T) {
	runnertest.RunStreamingConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 3}})
	}, nil)
}

func TestStreamingSideInputs(t *testing.T) {
	runnertest.RunStreamingSideInputTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 3}})
	}, testutil.PacedTicks, nil)
}

func TestStatefulConformance(t *testing.T) {
	runnertest.RunStatefulConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 3}})
	}, runnertest.Capabilities{})
}

func TestStatefulConformanceOnDisk(t *testing.T) {
	// The same cases with state and timers in the pebble store, whose
	// directory must be gone once each job ended.
	runnertest.RunStatefulConformanceTests(t, func(t *testing.T) runner.Runner {
		dir := t.TempDir()
		t.Cleanup(func() { checkEmptyDir(t, dir) })
		return local.New(&local.Options{Job: local.Job{Parallelism: 3, StateDir: dir}})
	}, runnertest.Capabilities{})
}
