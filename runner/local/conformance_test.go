package local_test

import (
	"testing"

	"beamgo/runner"
	"beamgo/runner/local"
	"beamgo/runner/runnertest"
)

func TestConformance(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Parallelism: 4})
	}, runnertest.Capabilities{})
}

func TestConformanceWithoutLifting(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Parallelism: 3, DisableLifting: true})
	}, runnertest.Capabilities{})
}

func TestConformanceTinyMemoryBudget(t *testing.T) {
	// A 1-byte budget (raised to the 1 MiB floor per writer) still groups correctly.
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return local.New(&local.Options{Parallelism: 2, MemoryBudget: 1})
	}, runnertest.Capabilities{})
}
