package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/sdk"
)

// scriptCounts is the plain script: the regexp over every file's bytes.
func scriptCounts(t *testing.T, files []string) []string {
	t.Helper()
	re := regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)
	counts := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range re.FindAllString(string(b), -1) {
			counts[w]++
		}
	}
	var out []string
	for w, n := range counts {
		out = append(out, fmt.Sprintf("%s: %d", w, n))
	}
	slices.Sort(out)
	return out
}

func TestWordCountMatchesTheRegexpScript(t *testing.T) {
	dir := t.TempDir()
	inputs := map[string]string{
		"crlf.txt":        "Hello world\r\nhello World\r\nit's a dog's life\r\n",
		"nofinal.txt":     "no final newline here",
		"empty-lines.txt": "\n\nword\n\n\nword word\n\n",
		"empty.txt":       "",
		"utf8.txt":        "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u65e5\u672c\u8a9e words\n\u00fcber alles\n",
		"apostrophes.txt": "don't won't rock'n'roll 'tis O'Neil it's'\n",
	}
	for i := range 40 {
		inputs[fmt.Sprintf("many-%02d.txt", i)] = strings.Repeat(fmt.Sprintf("line %d of file %d\n", i, i), i)
	}
	var files []string
	for name, content := range inputs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	out := filepath.Join(t.TempDir(), "counts")

	p := sdk.NewPipeline()
	s := p.Root()
	counts := CountWords(s, textio.Read(s, filepath.Join(dir, "*.txt")))
	textio.Write(s, out, Format(s, counts), textio.WithSuffix(".txt"))
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}

	shards, err := filepath.Glob(out + "-*-of-*.txt")
	if err != nil || len(shards) == 0 {
		t.Fatalf("no output shards matching %s-*-of-*.txt (%v)", out, err)
	}
	var got []string
	for _, shard := range shards {
		b, err := os.ReadFile(shard)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if line != "" {
				got = append(got, line)
			}
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(scriptCounts(t, files), got); diff != "" {
		t.Errorf("word counts differ from the regexp script (-want +got):\n%s", diff)
	}
}

// binDir holds the program the tests build, once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wordcount-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build builds this program once for the tests that run it.
var build = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "wordcount")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// buildWordCount returns this program, built.
func buildWordCount(t *testing.T) string {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// writeInput writes a text to count into dir.
func writeInput(t *testing.T, dir string) string {
	t.Helper()
	input := filepath.Join(dir, "in.txt")
	text := "It's a dog's life, a dog's LIFE.\nTo be or not to be\n\n" + strings.Repeat("more words and more\n", 50)
	if err := os.WriteFile(input, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return input
}

// runWordCount runs bin with args and returns the top words it printed and
// the sorted lines of the files it wrote with prefix (--output), which it
// then removes.
func runWordCount(t *testing.T, bin, prefix string, args ...string) (top string, counts []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wordcount %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	// The first line counts stages and bundles, which differ by runner.
	_, top, _ = strings.Cut(string(out), "\n")
	shards, err := filepath.Glob(prefix + "-*-of-*.txt")
	if err != nil || len(shards) == 0 {
		t.Fatalf("wordcount %s wrote no shards %s-*-of-*.txt", strings.Join(args, " "), prefix)
	}
	for _, shard := range shards {
		b, err := os.ReadFile(shard)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
		os.Remove(shard)
	}
	slices.Sort(counts)
	return top, counts
}

// TestProcessWorkersCountLikeTheLocalRunner builds this program and runs it
// on the portable runner with PROCESS workers, which are the program
// itself started again, and compares its output files and top words with
// the local runner's.
func TestProcessWorkersCountLikeTheLocalRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := buildWordCount(t)
	input := writeInput(t, dir)
	run := func(name string, args ...string) (string, []string) {
		t.Helper()
		prefix := filepath.Join(dir, name, "counts")
		return runWordCount(t, bin, prefix, append([]string{"--input=" + input, "--output=" + prefix, "--top=5"}, args...)...)
	}
	wantTop, wantCounts := run("local", "--runner=local")
	if diff := cmp.Diff(scriptCounts(t, []string{input}), wantCounts); diff != "" {
		t.Fatalf("local counts differ from the regexp script (-want +got):\n%s", diff)
	}
	gotTop, gotCounts := run("process", "--runner=portable", "--environment_type=PROCESS")
	if diff := cmp.Diff(wantCounts, gotCounts); diff != "" {
		t.Errorf("counts with PROCESS workers differ from the local runner's (-local +process):\n%s", diff)
	}
	if wantTop == "" || gotTop != wantTop {
		t.Errorf("top words with PROCESS workers = %q, want the local runner's %q", gotTop, wantTop)
	}
}

// TestExternalWorkersCountLikeTheLocalRunner builds this program, starts
// it as a worker pool (BEAMGO_WORKER_POOL), and submits the same word
// count with EXTERNAL workers from that pool, on the portable runner and
// through a job server, comparing output files and top words with the
// local runner's. SIGTERM then stops the pool, which exits with status 0.
func TestExternalWorkersCountLikeTheLocalRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := buildWordCount(t)
	input := writeInput(t, dir)
	prefix := filepath.Join(dir, "out", "counts")
	flags := []string{"--input=" + input, "--output=" + prefix, "--top=5"}
	wantTop, wantCounts := runWordCount(t, bin, prefix, append(flags, "--runner=local")...)
	if diff := cmp.Diff(scriptCounts(t, []string{input}), wantCounts); diff != "" {
		t.Fatalf("local counts differ from the regexp script (-want +got):\n%s", diff)
	}

	// The pool gets the submissions' flags, but for the pool's address,
	// which it picks; the pipeline does not depend on it.
	flags = append(flags, "--environment_type=EXTERNAL")
	var output fnapitest.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, addr, err := worker.StartPool(ctx, "127.0.0.1:0", &worker.ProcessOptions{
		Command: bin, Args: append(slices.Clone(flags), "--runner=portable"), Output: &output, StopTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("starting the pool: %v\npool output:\n%s", err, output.String())
	}
	t.Cleanup(func() { pool.Terminate() })
	if want := "pool: " + worker.PoolListening + addr + "\n"; !strings.Contains(output.String(), want) {
		t.Errorf("pool output lacks %q:\n%s", want, output.String())
	}
	jobs, err := jobservice.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Stop()

	for _, submit := range [][]string{
		{"--runner=portable"},
		{"--runner=universal", "--endpoint=" + jobs.Addr()},
	} {
		args := append(slices.Clone(flags), append(submit, "--environment_config="+addr)...)
		gotTop, gotCounts := runWordCount(t, bin, prefix, args...)
		if diff := cmp.Diff(wantCounts, gotCounts); diff != "" {
			t.Errorf("%s: counts with EXTERNAL workers differ from the local runner's (-local +external):\n%s", submit[0], diff)
		}
		if gotTop != wantTop {
			t.Errorf("%s: top words with EXTERNAL workers = %q, want the local runner's %q", submit[0], gotTop, wantTop)
		}
	}
	if err := pool.Terminate(); err != nil {
		t.Errorf("SIGTERM to the pool: it exited with %v, want status 0\npool output:\n%s", err, output.String())
	}
}
