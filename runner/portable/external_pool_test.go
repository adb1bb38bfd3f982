//go:build unix

package portable_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// dirVar names the directory where the pool's user code writes the jobs'
// output; the pool gets it in its environment.
const dirVar = "BEAMGO_PORTABLE_TEST_DIR"

// fileSinkFn writes each "word=count" line to Dir/out/<word> and marks the
// process it runs in with an empty file Dir/pids/<pid>: user code runs in
// the pool's process, so that is where the test finds what it did.
// Concurrent jobs of the same pipeline write the same bytes to the same
// files.
type fileSinkFn struct {
	Dir string
}

func (f fileSinkFn) ProcessElement(_ context.Context, line string, _ func(int)) error {
	word, _, _ := strings.Cut(line, "=")
	if err := os.WriteFile(filepath.Join(f.Dir, "pids", strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.Dir, "out", word), []byte(line+"\n"), 0o644)
}

// externalWords are the words the EXTERNAL jobs count, and want their
// counts.
func externalWords() (words, want []string) {
	counts := map[string]int{}
	for i := range 250 {
		w := fmt.Sprintf("w%d", i*i%11)
		words = append(words, w)
		counts[w]++
	}
	for w, n := range counts {
		want = append(want, fmt.Sprintf("%s=%d", w, n))
	}
	slices.Sort(want)
	return words, want
}

// filesIn returns the sorted names of the files in dir.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// resetOutput empties dir/out and dir/pids.
func resetOutput(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"out", "pids"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

var poolWorkerLine = regexp.MustCompile(`workerpool: worker (started|stopped) worker=(\S+)`)

// TestExternalWorkersComeFromAPoolProcess starts this test binary as a
// worker pool (fnapi/worker's pool mode), running only this test, whose
// body builds the same pipeline and serves it from Run. It then runs the
// pipeline with EXTERNAL workers from that pool: once, then twice at once,
// and checks each time that the output is exact and was written by the
// pool's process. Every worker the runner started is stopped when its job
// ends, and SIGTERM stops the pool, which exits with status 0.
func TestExternalWorkersComeFromAPoolProcess(t *testing.T) {
	words, want := externalWords()
	dir := os.Getenv(dirVar)
	if !worker.PoolActive() {
		dir = t.TempDir()
	}
	p := sdk.NewPipeline()
	s := p.Root()
	counts := sdk.CountElements(s, sdk.Reshuffle(s, sdk.Create(s, words)))
	lines := sdk.Map(s, func(kv sdk.KV[string, int64]) string { return fmt.Sprintf("%s=%d", kv.Key, kv.Value) }, counts)
	sdk.ParDo(s, sdk.DoFn[string, int](fileSinkFn{Dir: dir}), lines, sdk.Name("WriteFiles"))
	if worker.PoolActive() {
		// In the pool, Run serves the pipeline until SIGTERM and exits the
		// process.
		portable.New(nil).Run(context.Background(), p)
		t.Fatal("Run returned in a worker pool")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var output fnapitest.SyncBuffer
	pool, addr, err := worker.StartPool(ctx, "127.0.0.1:0", &worker.ProcessOptions{
		Args: workerArgs(t), Env: map[string]string{dirVar: dir}, Output: &output, StopTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("StartPool: %v\npool output:\n%s", err, output.String())
	}
	t.Cleanup(func() { pool.Terminate() })
	r := portable.New(&portable.Options{Workers: 2, EnvironmentType: portable.EnvExternal, ExternalEndpoint: addr})

	check := func(what string) {
		t.Helper()
		var got []string
		for _, name := range filesIn(t, filepath.Join(dir, "out")) {
			b, err := os.ReadFile(filepath.Join(dir, "out", name))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Fields(string(b))...)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: counts (-want +got):\n%s", what, diff)
		}
		if pids, want := filesIn(t, filepath.Join(dir, "pids")), []string{strconv.Itoa(pool.Pid())}; !slices.Equal(pids, want) {
			t.Errorf("%s: user code ran in processes %v, want only the pool's %v", what, pids, want)
		}
	}

	resetOutput(t, dir)
	if _, err := r.Run(ctx, p); err != nil {
		t.Fatalf("Run with EXTERNAL workers: %v\npool output:\n%s", err, output.String())
	}
	check("one job")

	// A standing pool serves jobs at the same time; their workers' ids
	// differ.
	resetOutput(t, dir)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = r.Run(ctx, p) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent job %d: %v\npool output:\n%s", i, err, output.String())
		}
	}
	check("two jobs at once")

	if err := pool.Terminate(); err != nil {
		t.Errorf("SIGTERM to the pool: it exited with %v, want status 0\npool output:\n%s", err, output.String())
	}
	if !gone(pool.Pid()) {
		t.Errorf("pool process %d still exists after SIGTERM", pool.Pid())
	}
	// Each job's runner stopped its workers (StopWorker) before Run
	// returned; the pool logged both ends of each worker's life.
	started, stopped := map[string]bool{}, map[string]bool{}
	for _, m := range poolWorkerLine.FindAllStringSubmatch(output.String(), -1) {
		if m[1] == "started" {
			started[m[2]] = true
		} else {
			stopped[m[2]] = true
		}
	}
	if len(started) != 6 {
		t.Errorf("the pool started workers %v, want 2 for each of 3 jobs, all with different ids\npool output:\n%s", started, output.String())
	}
	if diff := cmp.Diff(started, stopped); diff != "" {
		t.Errorf("workers stopped by StopWorker differ from those started (-started +stopped):\n%s", diff)
	}
}
