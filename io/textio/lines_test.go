package textio

import (
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/beamgo-dev/beamgo/io/filebased"

	"github.com/google/go-cmp/cmp"
)

// noLimit lets a lineScanner read lines of any length.
var noLimit = lineLimit{max: maxMaxLineSize, path: "test"}

// scanAll reads every line of text through a lineScanner whose reader
// returns at most chunk bytes per Read, keeping each line's string.
func scanAll(t *testing.T, text string, chunk int) []string {
	t.Helper()
	var r io.Reader = strings.NewReader(text)
	if chunk > 0 {
		r = &shortReader{r: r, n: chunk}
	}
	sc := newLineScanner(io.NopCloser(r), 0, int64(len(text)/3), noLimit) // a small buffer: refills and moves
	var got []string
	for {
		line, start, ok := sc.next()
		if !ok {
			if sc.err != io.EOF {
				t.Fatalf("scan: %v", sc.err)
			}
			return got
		}
		got = append(got, sc.text(line, start))
		// Scribble over the line in the buffer: the string must not
		// depend on it.
		for i := range line {
			line[i] = '#'
		}
	}
}

// shortReader returns at most n bytes per Read.
type shortReader struct {
	r io.Reader
	n int
}

func (s *shortReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

func randomText(r *rand.Rand, lines int) string {
	var b strings.Builder
	for range lines {
		n := r.IntN(100)
		if r.IntN(50) == 0 {
			n = blockSize + r.IntN(2*blockSize) // longer than a block
		}
		for range n {
			b.WriteByte("abc \r"[r.IntN(5)])
		}
		if r.IntN(3) == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteString("\n")
		}
	}
	if r.IntN(2) == 0 {
		b.WriteString("last line without end")
	}
	return b.String()
}

func TestLineStringsStayValid(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 10 {
		text := randomText(r, 1+r.IntN(1000))
		for _, chunk := range []int{0, 1, 7, 4096} {
			got := scanAll(t, text, chunk)
			if diff := cmp.Diff(naiveLines(text), got); diff != "" {
				t.Fatalf("text %d read in chunks of %d: lines kept to the end (-want +got):\n%s", i, chunk, diff)
			}
		}
	}
}

func TestLineStringsShareBlocks(t *testing.T) {
	text := strings.Repeat("a line of forty bytes or so, give or take\n", 10000)
	allocs := testing.AllocsPerRun(5, func() {
		sc := newLineScanner(io.NopCloser(iotest.HalfReader(strings.NewReader(text))), 0, int64(len(text)), noLimit)
		for {
			line, start, ok := sc.next()
			if !ok {
				return
			}
			sc.text(line, start)
		}
	})
	lines := float64(strings.Count(text, "\n"))
	if allocs > lines/20 {
		t.Errorf("%v allocations for %v lines, want a block per many lines", allocs, lines)
	}
}

// naiveLines splits text at "\n", dropping a "\r" before it, with a last
// line only if it is not empty.
func naiveLines(text string) []string {
	parts := strings.Split(text, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		if i < len(parts)-1 || strings.HasSuffix(text, "\n") {
			parts[i] = strings.TrimSuffix(p, "\r")
		}
	}
	return parts
}

func TestLineLimit(t *testing.T) {
	const limit = minBuffer + 10 // the buffer must grow for a line at the limit
	long := strings.Repeat("x", limit)
	tests := []struct {
		name string
		text string
		// want are the lines read before the scan stops; wantAt is the
		// offset of the line that is too long, -1 if none is.
		want   []string
		wantAt int64
	}{
		{name: "lines of exactly the limit are read", text: "a\n" + long + "\n" + long + "\r\n" + long, want: []string{"a", long, long, long}, wantAt: -1},
		{name: "a line one byte over the limit fails at its start", text: "a\nbb\n" + long + "y\nc\n", want: []string{"a", "bb"}, wantAt: 5},
		{name: "a carriage return before the newline does not count", text: long + "\r\n" + long + "y\r\n", want: []string{long}, wantAt: limit + 2},
		{name: "a last line without terminator over the limit fails", text: "a\n" + long + "y", want: []string{"a"}, wantAt: 2},
		{name: "a huge line fails without being buffered whole", text: "a\n" + strings.Repeat("z", 1<<20) + "\nb\n", want: []string{"a"}, wantAt: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 4096} {
				sc := newLineScanner(io.NopCloser(&shortReader{r: strings.NewReader(tt.text), n: chunk}), 0, 4, lineLimit{max: limit, path: "mem://b/f.txt"})
				var got []string
				for {
					line, start, ok := sc.next()
					if !ok {
						break
					}
					got = append(got, sc.text(line, start))
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("chunks of %d: lines before the stop (-want +got):\n%s", chunk, diff)
				}
				if c := cap(sc.buf); c > limit+2 && c > minBuffer {
					t.Errorf("chunks of %d: buffer grew to %d bytes, want at most %d", chunk, c, max(limit+2, minBuffer))
				}
				var tooLarge *filebased.RecordTooLargeError
				switch {
				case tt.wantAt < 0 && sc.err != io.EOF:
					t.Errorf("chunks of %d: scan ended with %v, want io.EOF", chunk, sc.err)
				case tt.wantAt >= 0 && !errors.As(sc.err, &tooLarge):
					t.Errorf("chunks of %d: scan ended with %v, want a *filebased.RecordTooLargeError", chunk, sc.err)
				case tt.wantAt >= 0:
					want := &filebased.RecordTooLargeError{Path: "mem://b/f.txt", Record: "line", Offset: tt.wantAt, Limit: limit, Read: tooLarge.Read, Setting: "textio.MaxLineSize"}
					if diff := cmp.Diff(want, tooLarge); diff != "" || tooLarge.Read <= limit {
						t.Errorf("chunks of %d: error (-want +got):\n%s\nRead = %d, want more than the limit", chunk, diff, tooLarge.Read)
					}
				}
			}
		})
	}
}
