package portable_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/testutil"
)

func TestConformance(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return portable.New(&portable.Options{Workers: 2})
	}, runnertest.Capabilities{})
}

// TestStreamingConformance runs the streaming cases with LOOPBACK workers,
// which run in this process, where the suite collects the panes.
func TestStreamingConformance(t *testing.T) {
	runnertest.RunStreamingConformanceTests(t, func(*testing.T) runner.Runner {
		return portable.New(&portable.Options{Workers: 2})
	}, nil)
}

// TestStreamingSideInputs runs the side-input cases of streaming with
// LOOPBACK workers.
func TestStreamingSideInputs(t *testing.T) {
	runnertest.RunStreamingSideInputTests(t, func(*testing.T) runner.Runner {
		return portable.New(&portable.Options{Workers: 2})
	}, testutil.PacedTicks, nil)
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

// TestConformanceWithExternalWorkers runs the suite with EXTERNAL workers:
// for each subtest, a worker pool that is this test binary started again
// (worker.StartPool), selecting the subtest, so user code runs in a
// process that shares nothing with the test but what the runner carries.
func TestConformanceWithExternalWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker pool processes; skipped in -short mode")
	}
	runnertest.RunConformanceTests(t, func(t *testing.T) runner.Runner {
		if worker.PoolActive() {
			return portable.New(nil) // its Run serves the pool until SIGTERM
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var output fnapitest.SyncBuffer
		pool, addr, err := worker.StartPool(ctx, "127.0.0.1:0", &worker.ProcessOptions{
			Args: runnertest.WorkerArgs(t), Output: &output, StopTimeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatalf("StartPool: %v\npool output:\n%s", err, output.String())
		}
		t.Cleanup(func() {
			if err := pool.Terminate(); err != nil {
				t.Errorf("the pool exited with %v\npool output:\n%s", err, output.String())
			}
		})
		return portable.New(&portable.Options{Workers: 2, EnvironmentType: portable.EnvExternal, ExternalEndpoint: addr})
	}, runnertest.Capabilities{})
}

// TestStatefulConformance runs the stateful cases, timers included, with
// LOOPBACK workers.
func TestStatefulConformance(t *testing.T) {
	runnertest.RunStatefulConformanceTests(t, func(*testing.T) runner.Runner {
		return portable.New(&portable.Options{Workers: 2})
	}, runnertest.Capabilities{})
}

// TestStatefulConformanceOnDisk runs the stateful cases with state and
// timers in the on-disk store (Job.StateDir), whose directory must be gone
// once each job ended.
func TestStatefulConformanceOnDisk(t *testing.T) {
	runnertest.RunStatefulConformanceTests(t, func(t *testing.T) runner.Runner {
		dir := t.TempDir()
		t.Cleanup(func() {
			if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
				t.Errorf("state directory after the job: %v entries, %v; want none", len(ents), err)
			}
		})
		return portable.New(&portable.Options{Job: portable.Job{StateDir: dir}, Workers: 2})
	}, runnertest.Capabilities{})
}
