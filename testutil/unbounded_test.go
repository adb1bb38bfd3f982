package testutil_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/testutil"
)

func TestRateSourceResumesAtEveryMark(t *testing.T) {
	src := unbounded.Rate{PerSecond: 100, NumPartitions: 3, Start: time.Unix(0, 0), Count: 60, Unpaced: true}
	stats, err := testutil.CheckUnboundedCheckpoints[unbounded.Tick](context.Background(), src, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Partitions != 3 || stats.Records != 60 || stats.Resumes != 63 {
		t.Errorf("stats %+v, want 3 partitions, 60 records, 63 resumes", stats)
	}
}

// skippy resumes one record late: its mark is the value of the record
// just returned instead of the next one.
type skippy struct{ unbounded.Rate }

func (s skippy) Open(ctx context.Context, p unbounded.RatePartition, m *unbounded.RateMark) (unbounded.Reader[unbounded.Tick, unbounded.RateMark], error) {
	if m != nil && m.Next > 0 {
		m = &unbounded.RateMark{Next: m.Next + int64(s.NumPartitions)}
	}
	return s.Rate.Open(ctx, p, m)
}

func TestCheckpointCheckCatchesAReaderThatSkips(t *testing.T) {
	src := skippy{unbounded.Rate{PerSecond: 100, NumPartitions: 1, Start: time.Unix(0, 0), Count: 10, Unpaced: true}}
	_, err := testutil.CheckUnboundedCheckpoints[unbounded.Tick](context.Background(), src, 100, nil)
	if err == nil || !strings.Contains(err.Error(), "reads other records than the reference") {
		t.Fatalf("err = %v, want a resume mismatch", err)
	}
}
