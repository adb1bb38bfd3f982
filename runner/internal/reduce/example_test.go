package reduce_test

import (
	"fmt"
	"log"
	"time"

	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// The engine's side of one GroupByKey: feed bundles with Add, and call
// Advance when the watermark moves, passing an output watermark that
// respects the Reducer's Hold.
func ExampleReducer() {
	fn := window.FixedFn(10 * time.Second)
	r, err := reduce.New(reduce.Strategy{
		WindowFn:     fn,
		Trigger:      reduce.AfterWatermark{Early: reduce.AfterCount{N: 2}},
		OnTimeAlways: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	elem := func(v string, ts window.Time) reduce.Element {
		return reduce.Element{Key: []byte("k"), Value: []byte(v), Timestamp: ts, Windows: fn.Assign(nil, ts)}
	}
	print := func(ps []reduce.Pane) {
		for _, p := range ps {
			fmt.Printf("%s %v %q ts=%d timing=%d index=%d last=%v\n",
				p.Key, p.Window.Start, p.Values, p.Timestamp, p.Info.Timing, p.Info.Index, p.Info.IsLast)
		}
	}
	iw := window.Time(0)
	t := reduce.Times{Input: iw, Output: min(iw, r.Hold())}
	print(r.Add([]reduce.Element{elem("a", 1000), elem("b", 2000)}, t))
	print(r.Add([]reduce.Element{elem("c", 3000)}, t))

	iw = 10_000 // the input watermark passes the end of the window
	print(r.Advance(reduce.Times{Input: iw, Output: min(iw, r.Hold())}))
	fmt.Println("pending:", r.Pending())
	// Output:
	// k 1970-01-01T00:00:00.000Z ["a" "b"] ts=9999 timing=0 index=0 last=false
	// k 1970-01-01T00:00:00.000Z ["c"] ts=9999 timing=1 index=1 last=true
	// pending: 0
}
