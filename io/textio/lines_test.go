package textio

import (
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// scanAll reads every line of text through a lineScanner whose reader
// returns at most chunk bytes per Read, keeping each line's string.
func scanAll(t *testing.T, text string, chunk int) []string {
	t.Helper()
	var r io.Reader = strings.NewReader(text)
	if chunk > 0 {
		r = &shortReader{r: r, n: chunk}
	}
	sc := newLineScanner(io.NopCloser(r), 0, int64(len(text)/3)) // a small buffer: refills and moves
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
		sc := newLineScanner(io.NopCloser(iotest.HalfReader(strings.NewReader(text))), 0, int64(len(text)))
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
