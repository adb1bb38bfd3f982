package testutil_test

import (
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/testutil"
)

// TestExhaustiveOnAThousandRecords measures the split check on a source of
// 1,000 records with the default bounds: more than
// Options.MaxExhaustiveRecords, so sampled.
func TestExhaustiveOnAThousandRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds with -race")
	}
	var src source.Bounded[string, int64] = &lineSource{Lines: lines(1000)}
	start := time.Now()
	stats, err := testutil.CheckSplitAtFractionExhaustive(t.Context(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v for %d records: %d split attempts after %d numbers of records read, %d succeeded, %d non-trivial; %d concurrent trials",
		time.Since(start), stats.Records, stats.Splits, len(stats.ReadBefore), stats.Successful, stats.NonTrivial, stats.ConcurrentTrials)
	if stats.Exhaustive || len(stats.ReadBefore) != 16 || stats.NonTrivial == 0 {
		t.Errorf("stats = %+v, want a sample of 16 reads with non-trivial splits", stats)
	}
}
