//go:build unix

package jobservice_test

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner/universal"
)

// TestOurSDKWordCountRunsWithExternalWorkersFromAPoolProcess submits a
// word count with EXTERNAL workers: a pool process, this test binary
// started in worker-pool mode running only this test, whose body rebuilds
// the pipeline and serves it from Run. The job server asks that pool for
// the job's workers.
func TestOurSDKWordCountRunsWithExternalWorkersFromAPoolProcess(t *testing.T) {
	out := os.Getenv(outVar)
	if !worker.PoolActive() {
		out = filepath.Join(t.TempDir(), "counts")
	}
	p := wordCountPipeline(out)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if worker.PoolActive() {
		// In the pool, Run serves the pipeline until SIGTERM and exits.
		universal.New(&universal.Options{Logger: quiet}).Run(testCtx(t), p)
		t.Fatal("Run returned in a worker pool")
	}

	var output fnapitest.SyncBuffer
	pool, addr, err := worker.StartPool(testCtx(t), "127.0.0.1:0", &worker.ProcessOptions{
		Args:   []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.timeout=2m"},
		Env:    map[string]string{outVar: out},
		Output: &output, StopTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("StartPool: %v\npool output:\n%s", err, output.String())
	}
	t.Cleanup(func() { pool.Terminate() })
	srv := start(t, nil)
	r := universal.New(&universal.Options{Endpoint: srv.Addr(), EnvironmentType: universal.External, ExternalEndpoint: addr, Logger: quiet})
	res, err := r.Run(testCtx(t), p)
	if err != nil {
		t.Fatalf("Run with EXTERNAL workers: %v\npool output:\n%s", err, output.String())
	}

	checkFileWordCount(t, out, lines, res, "EXTERNAL", output.String)
	// The job server stopped the job's workers before the job ended.
	started, stopped := strings.Count(output.String(), "workerpool: worker started"), strings.Count(output.String(), "workerpool: worker stopped")
	if started == 0 || stopped != started {
		t.Errorf("the pool started %d workers and stopped %d when the job ended, want all of them stopped\npool output:\n%s", started, stopped, output.String())
	}
	if err := pool.Terminate(); err != nil {
		t.Errorf("SIGTERM to the pool: it exited with %v, want status 0\npool output:\n%s", err, output.String())
	}
	if !errors.Is(syscall.Kill(pool.Pid(), 0), syscall.ESRCH) {
		t.Errorf("pool process %d still exists after SIGTERM", pool.Pid())
	}
}

func TestExternalWorkersFromAnUnreachablePoolFailTheJobNamingIt(t *testing.T) {
	srv := start(t, nil)
	p, _ := wordCount(lines)
	r := universal.New(&universal.Options{
		Endpoint: srv.Addr(), EnvironmentType: universal.External, ExternalEndpoint: "127.0.0.1:1",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	_, err := r.Run(testCtx(t), p)
	if err == nil || !strings.Contains(err.Error(), "worker pool 127.0.0.1:1") {
		t.Errorf("Run with EXTERNAL workers at 127.0.0.1:1 = %v, want the job's failure naming the pool", err)
	}
}
