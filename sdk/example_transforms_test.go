package sdk_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// run runs p on the local runner; the examples' Print output follows.
func run(p *sdk.Pipeline) {
	if _, err := local.Execute(context.Background(), p); err != nil {
		log.Fatal(err)
	}
}

func ExampleReduce() {
	p := sdk.NewPipeline()
	s := p.Root()
	nums := sdk.Create(s, []int{3, 1, 4, 1, 5, 9, 2, 6})
	sdk.Print(s, "max: ", sdk.Reduce(s, func(a, b int) int { return max(a, b) }, nums))
	run(p)
	// Output:
	// max: 9
}

func ExampleReducePerKey() {
	p := sdk.NewPipeline()
	s := p.Root()
	sales := sdk.Create(s, []sdk.KV[string, int]{{Key: "apples", Value: 3}, {Key: "pears", Value: 2}, {Key: "apples", Value: 4}})
	sdk.Print(s, "", sdk.ReducePerKey(s, func(a, b int) int { return a + b }, sales))
	run(p)
	// Unordered output:
	// {apples 7}
	// {pears 2}
}

func ExampleDistinct() {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Print(s, "", sdk.Distinct(s, sdk.Create(s, []string{"b", "a", "b", "c", "a"})))
	run(p)
	// Unordered output:
	// a
	// b
	// c
}

func ExampleLeftOuterJoin() {
	p := sdk.NewPipeline()
	s := p.Root()
	users := sdk.Create(s, []sdk.KV[int, string]{{Key: 1, Value: "ann"}, {Key: 2, Value: "bob"}})
	orders := sdk.Create(s, []sdk.KV[int, float64]{{Key: 1, Value: 9.5}, {Key: 1, Value: 3}, {Key: 3, Value: 7}})
	joined := sdk.LeftOuterJoin(s, users, orders)
	lines := sdk.Map(s, func(kv sdk.KV[int, sdk.Joined[string, float64]]) string {
		if !kv.Value.HasRight {
			return kv.Value.Left + ": no orders"
		}
		return fmt.Sprintf("%s: %.2f", kv.Value.Left, kv.Value.Right)
	}, joined)
	sdk.Print(s, "", lines)
	run(p)
	// Unordered output:
	// ann: 9.50
	// ann: 3.00
	// bob: no orders
}

func ExampleKvSwap() {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Print(s, "", sdk.KvSwap(s, sdk.Create(s, []sdk.KV[string, int]{{Key: "a", Value: 1}})))
	run(p)
	// Output:
	// {1 a}
}

func ExampleToList() {
	p := sdk.NewPipeline()
	s := p.Root()
	list := sdk.ToList(s, sdk.Create(s, []string{"b", "c", "a"}))
	sdk.Print(s, "", sdk.Map(s, func(l []string) string { slices.Sort(l); return strings.Join(l, ",") }, list))
	run(p)
	// Output:
	// a,b,c
}

func ExampleLatest() {
	p := sdk.NewPipeline()
	s := p.Root()
	readings := sdk.CreateTimestamped(s, []string{"20°C", "22°C", "21°C"}, []window.Time{1000, 3000, 2000})
	sdk.Print(s, "now: ", sdk.Latest(s, readings))
	run(p)
	// Output:
	// now: 22°C
}

func ExampleSample() {
	p := sdk.NewPipeline()
	s := p.Root()
	sample := sdk.Sample(s, 2, sdk.Create(s, []int{1, 2, 3, 4, 5, 6}))
	sdk.Print(s, "sampled: ", sdk.Map(s, func(v []int) int { return len(v) }, sample))
	run(p)
	// Output:
	// sampled: 2
}

func ExamplePrint() {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Print(s, "word> ", sdk.Create(s, []string{"hello", "world"}))
	run(p)
	// Unordered output:
	// word> hello
	// word> world
}

func ExampleLog() {
	// Log uses the default logger of the process that runs the transform;
	// here, one without timestamps, for the example's output.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Log(s, "order", slog.LevelInfo, sdk.Create(s, []int{42}), sdk.Name("LogOrders"))
	run(p)
	// Output:
	// level=INFO msg=order element=42 transform=LogOrders
}

// Deduplicate drops repeats of an element that come within a bound of
// its first occurrence, as they arrive: here event IDs delivered twice by
// an at-least-once source, within a minute of event time; the one
// redelivered an hour later passes again.
func ExampleDeduplicate() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	ts.AddElementsAt(time.Unix(0, 0), "evt-1", "evt-2")
	ts.AddElementsAt(time.Unix(30, 0), "evt-1")
	ts.AdvanceWatermarkTo(time.Unix(3600, 0))
	ts.AddElementsAt(time.Unix(3600, 0), "evt-2")
	ts.AdvanceWatermarkToInfinity()
	firsts := sdk.Deduplicate(s, ts.Output(), sdk.Dedup{Within: time.Minute, EventTime: true})
	out := newPrinted()
	sdk.ForEach(s, out, firsts)
	out.print(p)
	// Output:
	// evt-1
	// evt-2
	// evt-2
}
