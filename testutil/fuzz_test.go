package testutil_test

import (
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/testutil"
)

// FuzzCorrectSourceSplits checks that a correct source passes every split
// check, whatever its lines, blocks, records read and fraction: the
// checkers have no false alarms.
func FuzzCorrectSourceSplits(f *testing.F) {
	f.Add("a\nbb\nccc\ndddd", uint8(1), uint8(1), 0.5)
	f.Add("x\ny\nz", uint8(2), uint8(0), 0.0)
	f.Add("one\n\ntwo\n\n\nthree", uint8(3), uint8(4), 0.999)
	f.Fuzz(func(t *testing.T, text string, block, readBefore uint8, fraction float64) {
		if !(fraction >= 0 && fraction <= 1) {
			return
		}
		ls := strings.Split(text, "\n")
		if len(ls) > 200 {
			ls = ls[:200]
		}
		var src source.Bounded[string, int64] = &lineSource{Lines: ls, Block: int(block % 5)}
		n := int(readBefore) % (len(ls) + 1)
		res, err := testutil.CheckSplitAtFraction(t.Context(), src, n, fraction, testutil.MustBeConsistentIfSucceeds, nil)
		if err != nil {
			t.Fatalf("CheckSplitAtFraction(%q, block %d, %d, %v) = %v", ls, block%5, n, fraction, err)
		}
		if res.Primary+res.Residual != len(ls) || res.Primary < n {
			t.Fatalf("CheckSplitAtFraction(%q, block %d, %d, %v) = %+v, want a primary of at least %d and %d records in all", ls, block%5, n, fraction, res, n, len(ls))
		}
	})
}
