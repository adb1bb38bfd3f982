package main

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
