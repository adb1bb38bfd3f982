package interop

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/universal"
	"github.com/beamgo-dev/beamgo/sdk"
)

// PROCESS workers are this test binary started again by the job server
// (Prism, or ours) with arguments that run only the submitting test: its
// body rebuilds the same pipeline and reaches Run, which serves it. The
// directory the workers write the word count to travels as a flag, since
// Prism starts workers with its own environment, not the test's.
var processOut = flag.String("interop.process_out", "", "set for PROCESS workers: the directory they write the word count to")

// writeFn writes each line to its own file in Dir, named by the line's
// hex, so that a retried bundle rewrites the same files.
type writeFn struct {
	Dir string
}

func (f writeFn) ProcessElement(_ context.Context, line string, _ func(int)) error {
	return os.WriteFile(filepath.Join(f.Dir, hex.EncodeToString([]byte(line))), []byte(line), 0o644)
}

// readDir returns the sorted lines written by writeFn to dir.
func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// processWordCount submits the word count to the job server at endpoint
// with PROCESS workers, and compares what they write with the local
// runner's word count. In a worker, it serves and exits the process.
func processWordCount(t *testing.T, endpoint string, logs func() string) {
	lines := strings.Split(hamlet, "\n")
	var many []string
	for range 20 {
		many = append(many, lines...)
	}
	dir := *processOut
	if !worker.Active() {
		dir = t.TempDir()
	}
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.FlatMap(s.Scope("CountWords"), func(line string, emit func(string)) {
		for _, w := range wordRE.FindAllString(line, -1) {
			emit(w)
		}
	}, sdk.Create(s, many, sdk.Name("ReadLines")), sdk.Name("ExtractWords"))
	counts := sdk.CountElements(s.Scope("CountWords"), words)
	formatted := sdk.Map(s, func(kv sdk.KV[string, int64]) string { return fmt.Sprintf("%s: %d", kv.Key, kv.Value) }, counts, sdk.Name("Format"))
	sdk.ParDo(s, sdk.DoFn[string, int](writeFn{Dir: dir}), formatted, sdk.Name("Write"))

	r := universal.New(&universal.Options{
		Endpoint: endpoint, EnvironmentType: universal.Process,
		WorkerArgs: []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.timeout=3m", "-interop.process_out=" + dir},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if _, err := r.Run(runCtx(t), p); err != nil {
		t.Fatalf("Run with PROCESS workers: %v\nlog:\n%s", err, tail(logs(), 4000))
	}
	lp, want := wordCount(many)
	if _, err := local.New(nil).Run(context.Background(), lp); err != nil {
		t.Fatalf("Run on the local runner: %v", err)
	}
	// wordCount's last line is its top words, which this job leaves out.
	wantCounts := want()
	wantCounts = wantCounts[:len(wantCounts)-1]
	if len(wantCounts) < 10 {
		t.Fatalf("local word count has only %d lines", len(wantCounts))
	}
	if d := cmp.Diff(wantCounts, readDir(t, dir)); d != "" {
		t.Errorf("word count with PROCESS workers differs from the local runner's (-local +process):\n%s", d)
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// TestWordCountProcessOnPrism submits the word count to Prism with
// --environment_type=PROCESS: Prism starts this test binary as its worker
// (with --id='<id>' --provision_endpoint=<endpoint>), as it starts any
// PROCESS environment.
func TestWordCountProcessOnPrism(t *testing.T) {
	endpoint, logs := "", func() string { return "" }
	if !worker.Active() {
		p := needPrism(t)
		if err := p.alive(); err != nil {
			t.Fatal(err)
		}
		endpoint, logs = p.endpoint, p.logText
	}
	processWordCount(t, endpoint, logs)
}

// TestOurJobServerWordCountProcess submits the word count to our job
// server with PROCESS workers.
func TestOurJobServerWordCountProcess(t *testing.T) {
	endpoint, logs := "", func() string { return "" }
	if !worker.Active() {
		if testing.Short() {
			t.Skip("job server interop skipped in -short mode")
		}
		var out fnapitest.SyncBuffer
		// The job server runs PROCESS commands only from its allow-list:
		// here, this test binary, which processWordCount names.
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		srv, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{WorkerOutput: &out, AllowProcess: []string{exe}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		endpoint, logs = srv.Addr(), out.String
	}
	processWordCount(t, endpoint, logs)
}
