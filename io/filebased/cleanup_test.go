//go:build unix

package filebased_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// errInjected is the failure the cleanup tests' jobs fail with, once a
// write bundle has committed a temporary file.
const errInjected = "injected failure after a write bundle committed"

// waitForCommitted waits until a temporary file of the Write to out has
// been committed, and returns the injected failure; or an error if none
// appears within 10 s.
func waitForCommitted(out string) error {
	pattern := filepath.Join(filepath.Dir(out), ".temp-beamgo-"+filepath.Base(out)+"-*", "*")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if !strings.HasSuffix(f, ".tmp") { // fileblob's file being written
				return errors.New(errInjected)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("no temporary file matching %s was committed within 10s", pattern)
}

// failAfterCommitFn formats numbers as lines, and fails at Fail once a
// write bundle has committed.
type failAfterCommitFn struct {
	Out  string
	Fail int64
}

func (f failAfterCommitFn) ProcessElement(_ context.Context, n int64, emit func(string)) error {
	if n == f.Fail {
		return waitForCommitted(f.Out)
	}
	emit(fmt.Sprint(n))
	return nil
}

// failingWriter writes lines, and if Fail is set, fails at the line Fail
// once another write bundle has committed.
type failingWriter struct {
	Out  string
	Fail string
}

func (w failingWriter) WriteRecord(bw *bufio.Writer, line string) error {
	if w.Fail != "" && line == w.Fail {
		return waitForCommitted(w.Out)
	}
	bw.WriteString(line)
	return bw.WriteByte('\n')
}

// failingWrite builds a job that writes 2000 numbers to out in bundles of
// 100 and fails once some bundles have committed: in a DoFn before the
// Write (kind "dofn") or in the Write's own RecordWriter ("writer").
func failingWrite(kind, out string) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	const n, fail = 2000, 1990
	nums := source.Read(s, source.CountingSource{From: 0, To: n}, source.DesiredBundleSize(8*100))
	switch kind {
	case "dofn":
		lines := sdk.ParDo(s, sdk.DoFn[int64, string](failAfterCommitFn{Out: out, Fail: fail}), nums)
		filebased.Write(s, out, filebased.RecordWriter[string](failingWriter{Out: out}), lines, nil)
	case "writer":
		lines := sdk.Map(s, func(n int64) string { return fmt.Sprint(n) }, nums)
		filebased.Write(s, out, filebased.RecordWriter[string](failingWriter{Out: out, Fail: fmt.Sprint(fail)}), lines, nil)
	}
	return p
}

// otherJobsDir is the temporary directory of another job writing to the
// same prefix, which was there before the failing job started.
const otherJobsDir = ".temp-beamgo-part-0123456789abcdef0123456789abcdef"

// makeOutputDir makes the directory of out, holding another job's
// temporary file.
func makeOutputDir(t *testing.T, out string) {
	t.Helper()
	other := filepath.Join(filepath.Dir(out), otherJobsDir)
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "f"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkFailedAndClean checks that a failing job failed with the injected
// failure and left nothing in its output directory but the other job's
// temporary directory.
func checkFailedAndClean(t *testing.T, err error, out string, logs func() string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), errInjected) {
		t.Fatalf("Run = %v, want the injected failure", err)
	}
	entries, rerr := os.ReadDir(filepath.Dir(out))
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range entries {
		if e.Name() != otherJobsDir {
			t.Errorf("the output directory holds %s after the failed job, want nothing of the job's\n%s", e.Name(), logs())
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), otherJobsDir, "f")); err != nil {
		t.Errorf("the other job's temporary file is gone: %v", err)
	}
}

// TestFailedJobLeavesNoTempFiles fails jobs after some of their write
// bundles committed, on the local runner and the portable runner with
// LOOPBACK workers: afterwards the output directory is empty.
func TestFailedJobLeavesNoTempFiles(t *testing.T) {
	runners := []struct {
		name string
		new  func() runner.Runner
	}{
		{"local", func() runner.Runner { return local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 1}}) }},
		{"portable LOOPBACK", func() runner.Runner {
			return portable.New(&portable.Options{Workers: 2, Job: portable.Job{MaxAttempts: 1}, EnvironmentType: portable.EnvLoopback})
		}},
	}
	for _, r := range runners {
		for _, kind := range []string{"dofn", "writer"} {
			t.Run(r.name+"/"+kind, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out", "part")
				makeOutputDir(t, out)
				_, err := r.new().Run(context.Background(), failingWrite(kind, out))
				checkFailedAndClean(t, err, out, func() string { return "" })
			})
		}
	}
}

// cleanupOutVar passes the output prefix of
// TestFailedJobOnProcessWorkersLeavesNoTempFiles to its worker processes.
const cleanupOutVar = "BEAMGO_FILEBASED_TEST_OUT"

// TestFailedJobOnProcessWorkersLeavesNoTempFiles is
// TestFailedJobLeavesNoTempFiles with PROCESS workers (this test binary
// again): the temporary directory is picked in a worker process, and the
// submitting process finds it by what appeared during the run, and leaves
// the directory of another job alone.
func TestFailedJobOnProcessWorkersLeavesNoTempFiles(t *testing.T) {
	for _, kind := range []string{"dofn", "writer"} {
		t.Run(kind, func(t *testing.T) {
			var out string
			if worker.Active() {
				out = os.Getenv(cleanupOutVar)
			} else {
				out = filepath.Join(t.TempDir(), "out", "part")
				makeOutputDir(t, out)
				t.Setenv(cleanupOutVar, out)
			}
			var output fnapitest.SyncBuffer
			r := portable.New(&portable.Options{
				Workers: 2, Job: portable.Job{MaxAttempts: 1}, EnvironmentType: portable.EnvProcess,
				Process: &portable.ProcessOptions{
					Args:   []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.timeout=2m"},
					Output: &output,
				},
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// In a worker, Run serves and exits the process.
			_, err := r.Run(ctx, failingWrite(kind, out))
			checkFailedAndClean(t, err, out, output.String)
		})
	}
}
