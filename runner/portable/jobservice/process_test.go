package jobservice_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/universal"
	"github.com/beamgo-dev/beamgo/sdk"
)

// outVar carries the output prefix from the test to the worker processes
// the job server starts, which inherit its environment.
const outVar = "BEAMGO_JOBSERVICE_TEST_OUT"

// countedFn counts the lines it passes on.
type countedFn struct{}

func (countedFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	sdk.NewCounter("test", "kept").Inc(ctx, 1)
	emit(s)
	return nil
}

// TestOurSDKWordCountRunsWithProcessWorkers submits a word count with
// PROCESS workers: the job server starts this test binary again, running
// only this test, whose body rebuilds the pipeline and serves it from Run.
// wordCountPipeline counts the words of lines and writes them as
// word=count lines to files under out, through countedFn.
func wordCountPipeline(out string) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.FlatMap(s, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	}, sdk.Create(s, lines))
	formatted := sdk.Map(s, func(kv sdk.KV[string, int64]) string { return fmt.Sprintf("%s=%d", kv.Key, kv.Value) }, sdk.CountElements(s, words))
	textio.Write(s, out, sdk.ParDo(s, sdk.DoFn[string, string](countedFn{}), formatted), textio.WithSuffix(".txt"))
	return p
}

func TestOurSDKWordCountRunsWithProcessWorkers(t *testing.T) {
	var out string
	if worker.Active() {
		out = os.Getenv(outVar)
	} else {
		out = filepath.Join(t.TempDir(), "counts")
		t.Setenv(outVar, out)
	}
	p := wordCountPipeline(out)

	var output fnapitest.SyncBuffer
	endpoint := ""
	if !worker.Active() {
		endpoint = start(t, &jobservice.Options{WorkerOutput: &output, AllowProcess: []string{testBinary(t)}}).Addr()
	}
	r := universal.New(&universal.Options{
		Endpoint: endpoint, EnvironmentType: universal.Process,
		WorkerArgs: []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.timeout=2m"},
		Logger:     quiet,
	})
	res, err := r.Run(testCtx(t), p)
	if err != nil {
		t.Fatalf("Run with PROCESS workers: %v\nworker output:\n%s", err, output.String())
	}
	checkFileWordCount(t, out, lines, res, "PROCESS", output.String)
	if strings.Contains(output.String(), "exited:") {
		t.Errorf("a worker process exited with an error:\n%s", output.String())
	}
}

// checkFileWordCount checks the "word=count" files a job with workers in
// mode wrote under out against the word count of lines, and the job's
// counter; logs gives the workers' output for failure messages.
func checkFileWordCount(t *testing.T, out string, lines []string, res *runner.Result, mode string, logs func() string) {
	t.Helper()
	counts := map[string]int{}
	for _, l := range lines {
		for _, w := range strings.Fields(l) {
			counts[w]++
		}
	}
	var want []string
	for w, n := range counts {
		want = append(want, fmt.Sprintf("%s=%d", w, n))
	}
	slices.Sort(want)
	files, err := filepath.Glob(out + "-*-of-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no output files %s-*-of-*.txt (%v)\nworker output:\n%s", out, err, logs())
	}
	var got []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Fields(string(b))...)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("word count with %s workers (-want +got):\n%s", mode, diff)
	}
	if n := res.Counter("test", "kept"); n != int64(len(want)) {
		t.Errorf("counter test/kept = %d, want %d", n, len(want))
	}
}

// testBinary returns the path of this test binary, the command of the
// PROCESS jobs the tests submit.
func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}
