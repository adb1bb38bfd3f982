package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Bid is an auction bid, the element of the streaming examples.
type Bid struct {
	Auction string
	Price   int64
}

// Windows of 10 seconds with an early pane for every second bid, a final
// on-time pane when the watermark passes the end of the window, and a late
// pane for each late bid within 5 seconds; every pane holds all the
// window's bids so far.
func ExampleWindowInto_triggers() {
	p := sdk.NewPipeline()
	s := p.Root()
	bids := sdk.NewTestStream[Bid](s)
	bids.AddElementsAt(time.UnixMilli(1000), Bid{"a", 5}, Bid{"a", 7})
	bids.AdvanceWatermarkToInfinity()
	windowed := sdk.WindowInto(s, window.FixedFn(10*time.Second), bids.Output(),
		sdk.Triggering(sdk.AfterWatermark().
			WithEarlyFirings(sdk.AfterCount(2)).
			WithLateFirings(sdk.AfterCount(1))),
		sdk.Accumulating(),
		sdk.AllowedLateness(5*time.Second))
	prices := sdk.MapKV(s, func(b Bid) (string, int64) { return b.Auction, b.Price }, windowed)
	_ = sdk.SumPerKey(s, prices)
	fmt.Println(p.Err())
	// Output: <nil>
}

// A TestStream scripts an unbounded input: elements with timestamps,
// watermark advances (the second "late" element arrives behind the
// watermark) and processing-time advances. A runner applies each event
// once the pipeline has done what the previous ones allow.
func ExampleNewTestStream() {
	p := sdk.NewPipeline()
	s := p.Root()
	start := time.Unix(0, 0)
	ts := sdk.NewTestStream[string](s)
	ts.AddElementsAt(start.Add(time.Second), "on", "time")
	ts.AdvanceWatermarkTo(start.Add(20 * time.Second))
	ts.AddElementsAt(start.Add(2*time.Second), "late")
	ts.AdvanceProcessingTime(time.Minute)
	ts.AdvanceWatermarkToInfinity()
	words := sdk.WindowInto(s, window.FixedFn(10*time.Second), ts.Output(), sdk.AllowedLateness(time.Minute))
	_ = sdk.CountElements(s, words)
	fmt.Println(ts, p.Err())
	// Output: TestStream(5 events) <nil>
}

// Several outputs, each with its own watermark: a Flatten of both only
// advances as far as the slower one.
func ExampleTestStream_Tag() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int64](s)
	fast, slow := ts.Tag("fast"), ts.Tag("slow")
	fast.AdvanceWatermarkTo(time.UnixMilli(100_000))
	slow.AddElementsAt(time.UnixMilli(1000), 1, 2)
	slow.AdvanceWatermarkTo(time.UnixMilli(5000))
	both := sdk.Flatten(s, fast.Output(), slow.Output())
	_ = sdk.Sum(s, sdk.WindowInto(s, window.FixedFn(10*time.Second), both))
	fmt.Println(p.Err())
	// Output: <nil>
}

// panes prints the pane of each count it gets.
type panes struct{}

func (panes) ProcessElement(ctx context.Context, kv sdk.KV[string, int64], emit func(string)) error {
	p := sdk.PaneOf(ctx)
	timing := [...]string{"early", "on time", "late", "unknown"}[p.Timing]
	emit(fmt.Sprintf("%s=%d (%s pane %d, last %v)", kv.Key, kv.Value, timing, p.Index, p.IsLast))
	return nil
}

// A DoFn after a grouping reads which firing produced its element.
func ExamplePaneOf() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	ts.AddElementsAt(time.UnixMilli(1), "a", "b", "a")
	ts.AdvanceWatermarkToInfinity()
	words := sdk.WindowInto(s, window.GlobalFn(), ts.Output(),
		sdk.Triggering(sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(time.Second))))
	_ = sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int64], string](panes{}), sdk.CountElements(s, words))
	fmt.Println(p.Err())
	// Output: <nil>
}
