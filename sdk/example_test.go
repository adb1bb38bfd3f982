package sdk_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// printed collects a collection's elements in process, for examples.
type printed struct {
	mu    *sync.Mutex
	lines *[]string
}

func newPrinted() printed { return printed{mu: &sync.Mutex{}, lines: new([]string)} }

func (p printed) ProcessElement(_ context.Context, s string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.lines = append(*p.lines, s)
	return nil
}

// print runs p and prints the collected lines sorted.
func (p printed) print(pipeline *sdk.Pipeline) {
	if _, err := local.Execute(context.Background(), pipeline); err != nil {
		log.Fatal(err)
	}
	lines := slices.Clone(*p.lines)
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
}

func Example() {
	p := sdk.NewPipeline()
	s := p.Root()
	lines := sdk.Create(s, []string{"to be or not to be", "that is the question"})
	words := sdk.FlatMap(s, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	}, lines)
	counts := sdk.CountElements(s, words)
	formatted := sdk.Map(s, func(kv sdk.KV[string, int64]) string {
		return fmt.Sprintf("%s: %d", kv.Key, kv.Value)
	}, counts)

	out := newPrinted()
	sdk.ForEach(s, out, formatted)
	out.print(p)
	// Output:
	// be: 2
	// is: 1
	// not: 1
	// or: 1
	// question: 1
	// that: 1
	// the: 1
	// to: 2
}

// upperFn shows the DoFn lifecycle: configuration in exported fields,
// per-instance state set up in Setup.
type upperFn struct {
	Prefix string
	seen   int
}

func (f *upperFn) Setup(context.Context) error { f.seen = 0; return nil }

func (f *upperFn) ProcessElement(_ context.Context, s string, emit func(string)) error {
	f.seen++
	emit(f.Prefix + strings.ToUpper(s))
	return nil
}

func ExampleParDo() {
	p := sdk.NewPipeline()
	s := p.Root()
	up := sdk.ParDo(s, &upperFn{Prefix: "> "}, sdk.Create(s, []string{"a", "b"}))
	out := newPrinted()
	sdk.ForEach(s, out, up)
	out.print(p)
	// Output:
	// > A
	// > B
}

func ExampleGroupByKey() {
	p := sdk.NewPipeline()
	s := p.Root()
	pets := sdk.Create(s, []sdk.KV[string, string]{{Key: "cat", Value: "tom"}, {Key: "dog", Value: "rex"}, {Key: "cat", Value: "kit"}})
	grouped := sdk.GroupByKey(s, pets)
	out := newPrinted()
	sdk.ForEach(s, out, sdk.Map(s, func(g sdk.Group[string, string]) string {
		return fmt.Sprintf("%s: %v", g.Key, slices.Sorted(g.Values))
	}, grouped))
	out.print(p)
	// Output:
	// cat: [kit tom]
	// dog: [rex]
}

func ExampleCoGroupByKey() {
	p := sdk.NewPipeline()
	s := p.Root()
	emails := sdk.NewTag(sdk.Create(s, []sdk.KV[string, string]{{Key: "amy", Value: "amy@example.com"}}))
	phones := sdk.NewTag(sdk.Create(s, []sdk.KV[string, string]{{Key: "amy", Value: "555-0101"}, {Key: "bob", Value: "555-0102"}}))
	joined := sdk.CoGroupByKey(s, []sdk.Tagged[string]{emails, phones})
	out := newPrinted()
	sdk.ForEach(s, out, sdk.Map(s, func(g sdk.CoGroup[string]) string {
		return fmt.Sprintf("%s emails=%v phones=%v", g.Key, slices.Collect(sdk.ValuesOf(g, emails)), slices.Collect(sdk.ValuesOf(g, phones)))
	}, joined))
	out.print(p)
	// Output:
	// amy emails=[amy@example.com] phones=[555-0101]
	// bob emails=[] phones=[555-0102]
}

// scaleFn reads a singleton side input.
type scaleFn struct {
	Factor *sdk.SingletonView[int]
}

func (f *scaleFn) ProcessElement(ctx context.Context, v int, emit func(string)) error {
	emit(fmt.Sprint(v * f.Factor.Get(ctx)))
	return nil
}

func ExampleWithSideInput() {
	p := sdk.NewPipeline()
	s := p.Root()
	factor := sdk.AsSingleton(sdk.Sum(s, sdk.Create(s, []int{1, 2})))
	scaled := sdk.ParDo(s, &scaleFn{Factor: factor}, sdk.Create(s, []int{1, 10}), sdk.WithSideInput(factor))
	out := newPrinted()
	sdk.ForEach(s, out, scaled)
	out.print(p)
	// Output:
	// 3
	// 30
}

func ExampleWindowInto() {
	p := sdk.NewPipeline()
	s := p.Root()
	clicks := sdk.Create(s, []int{1, 30, 70, 95})
	stamped := sdk.WithTimestamps(s, func(sec int) time.Time { return time.Unix(int64(sec), 0) }, clicks)
	perMinute := sdk.Count(s, sdk.WindowInto(s, sdk.FixedWindows(time.Minute), stamped))
	out := newPrinted()
	sdk.ForEach(s, out, sdk.ParDo(s, windowed{}, perMinute))
	out.print(p)
	// Output:
	// [0s, 60s): 2 clicks
	// [60s, 120s): 2 clicks
}

type windowed struct{}

func (windowed) ProcessElement(ctx context.Context, n int64, emit func(string)) error {
	w := sdk.WindowOf(ctx)
	emit(fmt.Sprintf("[%ds, %ds): %d clicks", w.Start/1000, w.End/1000, n))
	return nil
}

func ExampleNewCounter() {
	lines := sdk.NewCounter("example", "lines")
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, countLines{lines}, sdk.Create(s, []string{"a", "b", "c"}))
	res, err := local.Execute(context.Background(), p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("lines:", res.Counter("example", "lines"))
	// Output:
	// lines: 3
}

type countLines struct{ c *sdk.Counter }

func (f countLines) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	f.c.Inc(ctx, 1)
	emit(s)
	return nil
}

// Collect brings a collection back to the process that runs the pipeline,
// through files in a directory that the workers and this process share:
// it works whatever runs the user code, worker processes included.
func ExampleCollect() {
	dir, err := os.MkdirTemp("", "collect-example-") // a real program: a flag, so workers get the same
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p := sdk.NewPipeline()
	s := p.Root()
	squares := sdk.Map(s, func(i int) int { return i * i }, sdk.Create(s, []int{1, 2, 3}))
	got := sdk.Collect(s, squares, dir)
	if _, err := local.Execute(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	fmt.Println(slices.Sorted(slices.Values(got.Values())))
	// Output: [1 4 9]
}
