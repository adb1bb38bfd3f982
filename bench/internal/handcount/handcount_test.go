package handcount

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
)

var wordRE = regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)

// reference counts with the regexp, line by line.
func reference(t *testing.T, paths []string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			for _, w := range wordRE.FindAllString(l, -1) {
				out[w]++
			}
		}
	}
	return out
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCountMatchesTheRegexp(t *testing.T) {
	dir := t.TempDir()
	gen, err := corpus.WriteTextFiles(dir, "gen", 1<<20, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("word ", 250000) // one line longer than the 1 MiB buffer
	tests := []struct {
		name  string
		paths []string
	}{
		{"a generated corpus in two files", gen},
		{"a file without a final newline", []string{write(t, dir, "nofinal", "don't stop\r\nbelieving it's'")}},
		{"an empty file among others", []string{write(t, dir, "empty", ""), write(t, dir, "one", "one two\n\n")}},
		{"a line longer than the buffer", []string{write(t, dir, "long", "a\n"+long+"\nb")}},
		{"non-ASCII text", []string{write(t, dir, "utf8", "caf\u00e9 na\u00efve r\u00e9sum\u00e9\n\u65e5\u672c word\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := reference(t, tt.paths)
			for _, workers := range []int{1, 2, 7} {
				got, err := Count(tt.paths, workers)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Count(%d workers) (-want +got):\n%s", workers, diff)
				}
			}
		})
	}
}

// TestCutCoversEveryByteOnce checks the plan: pieces start at line starts,
// do not overlap and cover the files.
func TestCutCoversEveryByteOnce(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a", "line one\nline two\nthree\n")
	b := write(t, dir, "b", "x\nyy\nzzz")
	for workers := 1; workers <= 6; workers++ {
		plan, err := cut([]string{a, b}, workers)
		if err != nil {
			t.Fatal(err)
		}
		covered := map[string]int64{}
		for _, ps := range plan {
			for _, p := range ps {
				data, _ := os.ReadFile(p.path)
				if p.start > 0 && data[p.start-1] != '\n' {
					t.Errorf("%d workers: piece %+v does not start a line", workers, p)
				}
				if p.start != covered[p.path] {
					t.Errorf("%d workers: piece %+v starts at %d, want %d", workers, p, p.start, covered[p.path])
				}
				covered[p.path] = p.end
			}
		}
		if covered[a] != 24 || covered[b] != 8 {
			t.Errorf("%d workers: covered %v, want a to 24 and b to 8", workers, covered)
		}
	}
}
