//go:build unix

package portable_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// The PROCESS tests start this test binary again as workers, with
// arguments that run only the test that started them: its body runs again
// in each worker, builds the same pipeline and reaches Run, which serves.
// What the workers share with the test travels in environment variables,
// which the worker processes inherit.
const (
	// markerVar names the file where the worker that gets "victim" first
	// writes its pid.
	markerVar = "BEAMGO_PORTABLE_TEST_MARKER"
	// outVar is the prefix of the job's output files.
	outVar = "BEAMGO_PORTABLE_TEST_OUT"
)

// workerArgs are the arguments of a worker running only t.
func workerArgs(t *testing.T) []string {
	return []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.timeout=2m"}
}

// victimFn passes words on. The first worker process to see "victim"
// writes its pid to Marker and waits to be killed; later attempts, on other
// workers, find the marker and pass the word on.
type victimFn struct {
	Marker string
}

func (f victimFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	if s == "victim" && f.claim() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return errors.New("victim: the test did not kill this worker")
		}
	}
	emit(s)
	return nil
}

// claim writes this process's pid to the marker file unless it exists; the
// hard link makes the file appear whole, and only once.
func (f victimFn) claim() bool {
	tmp := fmt.Sprintf("%s.%d", f.Marker, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return false
	}
	defer os.Remove(tmp)
	return os.Link(tmp, f.Marker) == nil
}

// killWhenMarked waits for the marker file and kills the process it names
// with SIGKILL, once; it returns that pid, or an error.
func killWhenMarked(ctx context.Context, marker string) (int, error) {
	for {
		b, err := os.ReadFile(marker)
		if err == nil {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				return 0, fmt.Errorf("marker %q: %v", b, err)
			}
			if pid == os.Getpid() {
				return 0, fmt.Errorf("the victim ran in the test process %d, not in a worker process", pid)
			}
			return pid, syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no worker wrote the marker: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// readLines returns the sorted lines of the files matching pattern.
func readLines(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no output files match %s (%v)", pattern, err)
	}
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Fields(string(b))...)
	}
	slices.Sort(lines)
	return lines
}

// gone reports whether no process has pid; a killed worker that was not
// reaped would still have one (a zombie).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

var pidLine = regexp.MustCompile(`(?m)^worker-\d+-[0-9a-f]+: pid (\d+)$`)

func TestAKilledWorkerProcessHasItsBundleRetriedOnAnother(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var marker, out string
	if worker.Active() {
		fmt.Fprintf(os.Stderr, "pid %d\n", os.Getpid())
		marker, out = os.Getenv(markerVar), os.Getenv(outVar)
	} else {
		dir := t.TempDir()
		marker, out = filepath.Join(dir, "victim.pid"), filepath.Join(dir, "out", "counts")
		t.Setenv(markerVar, marker)
		t.Setenv(outVar, out)
	}
	var words []string
	for i := range 300 {
		words = append(words, fmt.Sprintf("w%d", i%7))
	}
	words = append(words, "victim")
	p := sdk.NewPipeline()
	s := p.Root()
	passed := sdk.ParDo(s, sdk.DoFn[string, string](victimFn{Marker: marker}), sdk.Reshuffle(s, sdk.Create(s, words)), sdk.Name("Victim"))
	counts := sdk.Map(s, func(kv sdk.KV[string, int64]) string { return fmt.Sprintf("%s=%d", kv.Key, kv.Value) }, sdk.CountElements(s, passed))
	textio.Write(s, out, counts, textio.WithSuffix(".txt"))

	var output fnapitest.SyncBuffer
	r := portable.New(&portable.Options{
		Workers: 3, EnvironmentType: portable.EnvProcess,
		Process: &portable.ProcessOptions{Args: workerArgs(t), Output: &output},
	})
	type killed struct {
		pid int
		err error
	}
	kill := make(chan killed, 1)
	if !worker.Active() {
		go func() {
			pid, err := killWhenMarked(ctx, marker)
			kill <- killed{pid, err}
		}()
	}
	// In a worker, Run serves and exits the process.
	res, err := r.Run(ctx, p)
	if err != nil {
		t.Fatalf("Run: %v\nworker output:\n%s", err, output.String())
	}
	k := <-kill
	if k.err != nil {
		t.Fatalf("killing the victim's worker: %v\nworker output:\n%s", k.err, output.String())
	}
	if res.Retries == 0 {
		t.Errorf("Retries = 0, want the killed worker's bundle retried")
	}
	want := []string{"victim=1"}
	for i := range 7 {
		n := 0
		for _, w := range words {
			if w == fmt.Sprintf("w%d", i) {
				n++
			}
		}
		want = append(want, fmt.Sprintf("w%d=%d", i, n))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, readLines(t, out+"-*-of-*.txt")); diff != "" {
		t.Errorf("counts after a worker process was killed (-want +got):\n%s", diff)
	}

	// Every worker is gone and reaped; only the killed one exited with an
	// error (a race report would make another exit with status 66).
	// The killed worker was replaced.
	pids := pidLine.FindAllStringSubmatch(output.String(), -1)
	if len(pids) != 4 {
		t.Errorf("%d workers reported their pid, want 3 and a replacement:\n%s", len(pids), output.String())
	}
	for _, m := range pids {
		if pid, _ := strconv.Atoi(m[1]); !gone(pid) {
			t.Errorf("worker process %d still exists after the job", pid)
		}
	}
	if !gone(k.pid) {
		t.Errorf("killed worker process %d still exists after the job", k.pid)
	}
	exits := regexp.MustCompile(`(?m)^worker-\d+-[0-9a-f]+: process (\d+) exited: (.*)$`).FindAllStringSubmatch(output.String(), -1)
	if len(exits) != 1 || exits[0][1] != strconv.Itoa(k.pid) || exits[0][2] != "signal: killed" {
		t.Errorf("worker exits %q, want only process %d killed\nworker output:\n%s", exits, k.pid, output.String())
	}
}

// poisonFn passes words on; on "poison" it kills the worker process it
// runs in.
type poisonFn struct{}

func (poisonFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	if s == "poison" {
		if !worker.Active() {
			return errors.New("poison reached in the test process, not in a worker")
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		<-ctx.Done()
		return ctx.Err()
	}
	emit(s)
	return nil
}

func TestAPoisonElementThatKillsWorkersFailsTheJobNamingIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if worker.Active() {
		fmt.Fprintf(os.Stderr, "pid %d\n", os.Getpid())
	}
	var words []string
	for i := range 200 {
		words = append(words, fmt.Sprintf("w%d", i))
		if i == 117 {
			words = append(words, "poison")
		}
	}
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[string, string](poisonFn{}), sdk.Reshuffle(s, sdk.Create(s, words)), sdk.Name("Poison"))

	var output fnapitest.SyncBuffer
	const attempts = 3
	r := portable.New(&portable.Options{
		Workers: 2, Job: portable.Job{MaxAttempts: attempts}, EnvironmentType: portable.EnvProcess,
		Process: &portable.ProcessOptions{Args: workerArgs(t), Output: &output},
	})
	start := time.Now()
	// In a worker, Run serves and exits the process.
	_, err := r.Run(ctx, p)
	took := time.Since(start)
	var died *portable.WorkerDiedError
	if !errors.As(err, &died) {
		t.Fatalf("Run = %v, want a WorkerDiedError\nworker output:\n%s", err, output.String())
	}
	if died.Element != `"poison"` || !slices.Contains(died.Transforms, "Poison") || died.Index < 0 {
		t.Errorf("WorkerDiedError names element #%d %s of transforms %q, want \"poison\" of Poison", died.Index, died.Element, died.Transforms)
	}
	for _, want := range []string{`bundle of "Poison"`, `"poison"`, fmt.Sprintf("failed %d times", attempts)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	t.Logf("Run error after %v: %v", took, err)
	if took > 20*time.Second {
		t.Errorf("the job took %v to fail", took)
	}

	// Each attempt killed a worker. Dead workers are replaced when a bundle
	// needs one, so the three attempts ran on the two first workers and at
	// least one replacement (an attempt may run on the surviving first
	// worker before a death is noticed); every worker process is gone and
	// reaped.
	out := output.String()
	killed := regexp.MustCompile(`(?m)^worker-\d+-[0-9a-f]+: process \d+ exited: signal: killed$`).FindAllString(out, -1)
	if len(killed) != attempts {
		t.Errorf("%d workers were killed, want %d (one per attempt)\nworker output:\n%s", len(killed), attempts, out)
	}
	pids := pidLine.FindAllStringSubmatch(out, -1)
	if n := len(pids) - 2; n < attempts-2 || n > attempts {
		t.Errorf("%d workers replaced dead ones, want %d to %d\nworker output:\n%s", n, attempts-2, attempts, out)
	}
	for _, m := range pids {
		if pid, _ := strconv.Atoi(m[1]); !gone(pid) {
			t.Errorf("worker process %d still exists after the job", pid)
		}
	}
}

func TestAWorkerProcessThatExitsBeforeConnectingFailsTheJobAtOnce(t *testing.T) {
	if worker.Active() {
		t.Fatal("this test starts workers that run no test")
	}
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	var output fnapitest.SyncBuffer
	r := portable.New(&portable.Options{
		Workers: 2, EnvironmentType: portable.EnvProcess, WorkerTimeout: time.Minute,
		// The worker runs no test, so it never reaches Run.
		Process: &portable.ProcessOptions{Args: []string{"-test.run=^NoSuchTest$"}, Output: &output},
	})
	start := time.Now()
	_, err := r.Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "exited before the job started") {
		t.Fatalf("Run with workers that exit = %v, want an error saying a worker exited\nworker output:\n%s", err, output.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Run took %v to notice, want well under the worker timeout", d)
	}
}

func TestAnUnknownEnvironmentTypeIsRefused(t *testing.T) {
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	_, err := portable.New(&portable.Options{EnvironmentType: "DOCKER"}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "DOCKER") {
		t.Errorf("Run with environment DOCKER = %v, want an error naming it", err)
	}
}
