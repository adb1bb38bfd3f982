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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"beamgo/io/textio"
	"beamgo/runner/local"
	"beamgo/sdk"
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
	if _, err := local.New(&local.Options{Parallelism: 2}).Run(context.Background(), p); err != nil {
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

// TestProcessWorkersCountLikeTheLocalRunner builds this program and runs it
// on the portable runner with PROCESS workers, which are the program
// itself started again, and compares its output files and top words with
// the local runner's.
func TestProcessWorkersCountLikeTheLocalRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wordcount")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	input := filepath.Join(dir, "in.txt")
	text := "It's a dog's life, a dog's LIFE.\nTo be or not to be\n\n" + strings.Repeat("more words and more\n", 50)
	if err := os.WriteFile(input, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) (top string, counts []string) {
		t.Helper()
		prefix := filepath.Join(dir, name, "counts")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--input=" + input, "--output=" + prefix, "--top=5"}, args...)...)
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
		}
		slices.Sort(counts)
		return top, counts
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
