package linecount

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// naive returns the Stats of text by splitting it.
func naive(text string) Stats {
	var s Stats
	if text == "" {
		return s
	}
	text = strings.TrimSuffix(text, "\n")
	for _, l := range strings.Split(text, "\n") {
		s.Add([]byte(strings.TrimSuffix(l, "\r")))
	}
	return s
}

func TestReadFile(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	tests := []struct {
		name string
		text string
		want Stats // zero: naive(text)
	}{
		{name: "an empty file has no lines", text: ""},
		{name: "LF lines", text: "a\nbb\nccc\n"},
		{name: "CRLF terminators are dropped", text: "a\r\nbb\r\n", want: Stats{Lines: 2, Bytes: 3}},
		{name: "the last line needs no terminator", text: "a\nlast"},
		{name: "empty lines count", text: "\n\n\r\n"},
		{name: "a lone CR stays in the line", text: "a\rb\n"},
		{name: "lines longer than the buffer", text: "a\n" + long + "\r\n" + long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := naive(tt.text)
			if tt.want.Lines != 0 && (tt.want.Lines != want.Lines || tt.want.Bytes != want.Bytes) {
				t.Fatalf("naive(%q) = %+v, want lines and bytes of %+v", tt.text, want, tt.want)
			}
			got, raw, err := ReadFile(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if got != want || raw != int64(len(tt.text)) {
				t.Errorf("ReadFile(%.20q) = %+v, %d bytes, want %+v, %d", tt.text, got, raw, want, len(tt.text))
			}
		})
	}
}

func TestCount(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	var want Stats
	var size int64
	for i := range 7 {
		var b strings.Builder
		for j := range i * 1000 {
			fmt.Fprintf(&b, "file %d line %d\r\n", i, j)
		}
		b.WriteString("no newline")
		p := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		want.Merge(naive(b.String()))
		size += int64(b.Len())
	}
	for _, workers := range []int{1, 2, 16} {
		got, raw, err := Count(paths, workers)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || raw != size {
			t.Errorf("Count(%d workers) = %+v, %d bytes, want %+v, %d", workers, got, raw, want, size)
		}
	}
	if _, _, err := Count(append(paths, filepath.Join(dir, "missing.txt")), 2); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("Count(with a missing file) = %v, want an error naming it", err)
	}
}
