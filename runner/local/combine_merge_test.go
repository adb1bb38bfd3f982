package local_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// sumMerges counts countingSum's MergeAccumulators calls (a CombineFn is
// copied per operator, so the count lives outside it).
var sumMerges atomic.Int64

// countingSum sums int64s and counts its merges.
type countingSum struct{}

func (countingSum) CreateAccumulator() int64    { return 0 }
func (countingSum) AddInput(a, v int64) int64   { return a + v }
func (countingSum) ExtractOutput(a int64) int64 { return a }
func (countingSum) MergeAccumulators(a, b int64) int64 {
	sumMerges.Add(1)
	return a + b
}

// A lifted combine's GroupByKey merges the accumulators it buffers: a
// running sum in the global window, ACCUMULATING, with an early pane every
// 10 bundles of one element, keeps a few accumulators, not one per bundle.
// Each pane's accumulators are merged again downstream, so without the
// GroupByKey's merging the 21 panes would take 2,279 merges (pane k carries
// 10k accumulators); with it, at most 16 a pane and 15 per 16 buffered
// (374 merges in all).
func TestLiftedCombineMergesAccumulatorsAsItGroups(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, int64]](s)
	for i := range 200 {
		ts.AddElementsAt(time.UnixMilli(1000), sdk.Pair("a", int64(1)))
		if i%10 == 9 {
			ts.AdvanceProcessingTime(time.Second)
		}
	}
	windowed := sdk.WindowInto(s, sdk.GlobalWindows(), ts.Output(),
		sdk.Triggering(sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(500*time.Millisecond))), sdk.Accumulating())
	var mu sync.Mutex
	var early []int64
	var last int64
	sdk.ForEachFunc(s, func(ctx context.Context, kv sdk.KV[string, int64]) error {
		mu.Lock()
		defer mu.Unlock()
		if sdk.PaneOf(ctx).IsLast {
			last = kv.Value
		} else {
			early = append(early, kv.Value)
		}
		return nil
	}, sdk.CombinePerKey(s, countingSum{}, windowed))
	sumMerges.Store(0)
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var want []int64
	for k := int64(1); k <= 20; k++ {
		want = append(want, 10*k)
	}
	if !slices.Equal(early, want) || last != 200 {
		t.Errorf("early panes %v and final %d, want %v and 200", early, last, want)
	}
	if n := sumMerges.Load(); n > 1000 {
		t.Errorf("%d merges of accumulators: the GroupByKey kept one per bundle", n)
	}
}

// panicMerge panics in MergeAccumulators.
type panicMerge struct{ countingSum }

func (panicMerge) MergeAccumulators(a, b int64) int64 { panic("merge refused") }

// A CombineFn that panics while the GroupByKey merges its accumulators
// (the window's 16th, before its only pane) fails the job with an error
// that names the GroupByKey, the combine and the panic.
func TestLiftedCombineMergePanicFailsTheJob(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, int64]](s)
	for range 20 {
		ts.AddElementsAt(time.UnixMilli(1000), sdk.Pair("a", int64(1)))
	}
	sdk.ForEachFunc(s, func(context.Context, sdk.KV[string, int64]) error { return nil },
		sdk.CombinePerKey(s, panicMerge{}, sdk.WindowInto(s, sdk.FixedWindows(10*time.Second), ts.Output()), sdk.Name("Total")))
	_, err := local.New(nil).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "GroupByKey") || !strings.Contains(err.Error(), "Total") || !strings.Contains(err.Error(), "merge refused") {
		t.Fatalf("Run = %v, want the GroupByKey's failure naming the combine and the panic", err)
	}
}
