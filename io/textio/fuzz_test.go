package textio_test

import (
	"context"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/testutil"
)

// FuzzLineReader reads random text as three ranges cut at random offsets
// and compares the lines with a naive split of the whole text: straddling
// lines must land in exactly one range.
func FuzzLineReader(f *testing.F) {
	f.Add("a\nbb\r\nccc", uint16(2), uint16(5))
	f.Add("\r\n\r\n\n", uint16(1), uint16(2))
	f.Add("line one\nline two\r\nline three\n", uint16(9), uint16(9))
	f.Add("x\r", uint16(1), uint16(2))
	f.Add("", uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, text string, a, b uint16) {
		p := "mem://fuzz-line-reader/f.txt"
		put(t, p, text, filebased.Uncompressed)
		src := textio.NewSource(p, textio.AllowEmpty())
		n := int64(len(text))
		cuts := []int64{0, min(int64(a), n), min(int64(b), n), n}
		slices.Sort(cuts)
		var got []string
		for i := 0; i+1 < len(cuts); i++ {
			part, err := testutil.ReadFromSource[string, int64](context.Background(), src, cuts[i], cuts[i+1])
			if err != nil {
				t.Fatalf("[%d, %d): %v", cuts[i], cuts[i+1], err)
			}
			got = append(got, part...)
		}
		want := naiveLines(text)
		if len(text) == 0 {
			want = nil
		}
		if !slices.Equal(want, got) {
			t.Errorf("lines of %q cut at %v = %q, want %q", text, cuts, got, want)
		}
	})
}
