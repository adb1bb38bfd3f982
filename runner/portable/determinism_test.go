package portable_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// TestProcessWorkersRefuseCreateValuesThatDiffer builds a pipeline whose
// Create values depend on the clock: the PROCESS worker, which builds the
// pipeline again, gets other values, and the job fails naming the Create
// instead of running with the worker's values.
func TestProcessWorkersRefuseCreateValuesThatDiffer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes; skipped in -short mode")
	}
	p := sdk.NewPipeline()
	s := p.Root()
	now := sdk.Create(s, []int64{time.Now().UnixNano()}, sdk.Name("Now"))
	sdk.ForEachFunc(s, func(context.Context, int64) error { return nil }, now)
	var output fnapitest.SyncBuffer
	r := portable.New(&portable.Options{
		Workers: 1, EnvironmentType: portable.EnvProcess, WorkerTimeout: time.Minute,
		Process: &portable.ProcessOptions{Args: runnertest.WorkerArgs(t), Output: &output},
	})
	_, err := r.Run(context.Background(), p)
	t.Logf("Run: %v", err)
	if err == nil || !strings.Contains(err.Error(), `"Now/Values"`) || !strings.Contains(err.Error(), "deterministic") {
		t.Fatalf("Run of a pipeline with time.Now() in a Create = %v, want an error naming Now/Values and asking for deterministic construction\nworker output:\n%s", err, output.String())
	}
	if strings.Contains(err.Error(), "failed 3 times") {
		t.Errorf("Run = %v, want no retries: a rebuilt pipeline differs every time", err)
	}
}
