package local_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// TestCombineTimestampCombiner checks that a combine's panes take the
// timestamp the windowing's combiner gives, lifted or not: the earliest
// input's, the latest's, or the end of the window. Lifted, the precombine
// stamped its accumulators at the window's end, so every pane came out
// there.
func TestCombineTimestampCombiner(t *testing.T) {
	cases := []struct {
		c    window.TimestampCombiner
		want time.Time
	}{
		{window.OutputAtEarliest, time.UnixMilli(1000)},
		{window.OutputAtLatest, time.UnixMilli(5000)},
		{window.OutputAtEndOfWindow, time.UnixMilli(9999)},
	}
	for _, lifting := range []bool{true, false} {
		for _, c := range cases {
			p := sdk.NewPipeline()
			s := p.Root()
			in := sdk.Create(s, []sdk.KV[string, int64]{{Key: "a", Value: 1}, {Key: "a", Value: 5}, {Key: "a", Value: 3}})
			stamped := sdk.WithTimestamps(s, func(kv sdk.KV[string, int64]) time.Time { return time.UnixMilli(kv.Value * 1000) }, in)
			windowed := sdk.WindowInto(s, sdk.FixedWindows(10*time.Second), stamped, sdk.TimestampCombiner(c.c))
			var mu sync.Mutex
			var got []time.Time
			var sums []int64
			sdk.ForEachFunc(s, func(ctx context.Context, kv sdk.KV[string, int64]) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, sdk.EventTime(ctx))
				sums = append(sums, kv.Value)
				return nil
			}, sdk.SumPerKey(s, windowed))
			if _, err := local.New(&local.Options{DisableLifting: !lifting}).Run(context.Background(), p); err != nil {
				t.Fatalf("lifting %v, %v: %v", lifting, c.c, err)
			}
			if !slices.Equal(sums, []int64{9}) || len(got) != 1 || !got[0].Equal(c.want) {
				t.Errorf("lifting %v, %v: sums %v at %v, want [9] at %v", lifting, c.c, sums, got, c.want.UTC())
			}
		}
	}
}
