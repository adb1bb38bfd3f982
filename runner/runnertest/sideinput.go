package runnertest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
)

// RunStreamingSideInputTests runs the cases of side inputs in streaming
// (the reference, section 1, "Side inputs do not enter IW"): a main-input
// element in window w is processed only once its side input is ready for
// the side window w maps to, and then sees what was committed to it; until
// then it waits, and the job goes on. The results are observed with a
// Collector, so the runner must run user code in the test's process (the
// local runner, LOOPBACK workers). ticks reads the unbounded source of
// the third case.
//
// deviations maps the name of a case to the text of the failure by which
// the runner is known to deviate from the model (Prism's, say): that case
// must fail with that text, and fails the test if it passes, so that a
// deviation that went away is noticed.
func RunStreamingSideInputTests(t *testing.T, newRunner func(t *testing.T) runner.Runner, ticks TickSource, deviations map[string]string) {
	for _, tc := range []struct {
		name  string
		check func(r runner.Runner) error
	}{
		{SideInputWindowedCase, testSideInputPerWindow},
		{SideInputGlobalBoundedCase, testSideInputGlobalBounded},
		{SideInputUnboundedCase, func(r runner.Runner) error { return testSideInputUnbounded(r, ticks) }},
		{SideInputStatefulCase, testSideInputStateful},
		{SideInputStatefulChunksCase, testSideInputStatefulChunks},
		{SideInputLatestFiringCase, testSideInputLatestFiring},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, deviates := deviations[tc.name]
			checkDeviation(t, tc.check(newRunner(t)), dev, deviates)
		})
	}
}

// checkDeviation reports err, a case's failure (nil if it passed), unless
// the runner is known to deviate there (deviates) and err is that
// deviation: its text contains dev. A known deviation that passes fails
// too, so that it is noticed once the runner is mended.
func checkDeviation(t *testing.T, err error, dev string, deviates bool) {
	t.Helper()
	switch {
	case !deviates && err != nil:
		t.Error(err)
	case deviates && err == nil:
		t.Errorf("passed; it was a known deviation (%q): remove it", dev)
	case deviates && !strings.Contains(err.Error(), dev):
		t.Errorf("failed otherwise than by its known deviation (%q): %v", dev, err)
	case deviates:
		t.Logf("known deviation: %v", err)
	}
}

// The names of the cases of RunStreamingSideInputTests.
const (
	SideInputWindowedCase       = "side input per window: main elements wait for their window"
	SideInputGlobalBoundedCase  = "side input of a bounded Create in the global window"
	SideInputUnboundedCase      = "side input from an unbounded source: main runs while it does"
	SideInputStatefulCase       = "side input per window in a stateful DoFn: elements wait for their window, not for the side input's end"
	SideInputStatefulChunksCase = "stateful DoFn: elements whose side window is ready run past many that wait"
	SideInputLatestFiringCase   = "triggered side input: discarding serves the latest firing, accumulating every firing"
)

// sideRender emits a main element with the side values of its window,
// sorted.
type sideRender struct {
	Side *sdk.IterView[string]
}

func (f *sideRender) ProcessElement(ctx context.Context, v string, emit func(string)) error {
	vals := slices.Sorted(f.Side.Get(ctx))
	emit(fmt.Sprintf("%s %v", v, vals))
	return nil
}

// testSideInputPerWindow: main and side are two outputs of a TestStream,
// in Fixed(10s) windows. m1 (window [0,10)) arrives before the side
// values of its window and waits until the side watermark passes 10s; s3
// arrives after that, late, so m1 does not see it but m4, arriving later,
// does; m11 waits for [10,20) and sees s12, which arrived after it.
func testSideInputPerWindow(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	main, side := perWindowScript(s)
	fn := &sideRender{Side: sdk.AsIter(side)}
	out := sdk.ParDo(s, fn, main, sdk.WithSideInput(fn.Side))
	c := Collect(s, out)
	return runAndCompare(r, p, c, []string{"m1 [s2 s5]", "m11 [s12]", "m4 [s2 s3 s5]"})
}

// perWindowScript returns the main and side inputs of
// testSideInputPerWindow: the two outputs of its TestStream, in Fixed(10s)
// windows.
func perWindowScript(s sdk.Scope) (main, side sdk.PCollection[string]) {
	ts := sdk.NewTestStream[string](s)
	m, sd := ts.Tag("main"), ts.Tag("side")
	m.AddElementsAt(sec(1), "m1")
	sd.AddElementsAt(sec(2), "s2")
	sd.AddElementsAt(sec(5), "s5")
	sd.AdvanceWatermarkTo(sec(10))
	sd.AddElementsAt(sec(3), "s3")
	m.AddElementsAt(sec(11), "m11")
	sd.AddElementsAt(sec(12), "s12")
	m.AddElementsAt(sec(4), "m4")
	sd.AdvanceWatermarkTo(sec(20))
	m.AdvanceWatermarkToInfinity()
	sd.AdvanceWatermarkToInfinity()
	return sdk.WindowInto(s, fixed10(), m.Output()), sdk.WindowInto(s, fixed10(), sd.Output())
}

// latestRender emits a main element with the singleton side value and
// the iterable side values of its window, sorted.
type latestRender struct {
	Latest *sdk.SingletonView[string]
	Counts *sdk.IterView[int64]
}

func (f *latestRender) ProcessElement(ctx context.Context, v string, emit func(string)) error {
	emit(fmt.Sprintf("%s %s %v", v, f.Latest.Get(ctx), slices.Sorted(f.Counts.Get(ctx))))
	return nil
}

// testSideInputLatestFiring is Beam's slowly updating side input: a
// stream in the global window under Repeatedly(AfterCount(1)), combined
// to one value per firing and read as a singleton. Beam's side input of a
// triggered PCollection is "the value from the latest trigger firing"
// (the programming guide); a view materializes through a grouping with
// the PCollection's own windowing, so in discarding mode that is the
// latest firing's elements, and in accumulating mode every firing's. Each
// TestStream event is one firing here: m2 reads v2 alone, and m3 v4,
// although v3 fired too, while the accumulating counts pile up.
func testSideInputLatestFiring(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	m, sd := ts.Tag("main"), ts.Tag("side")
	sd.AddElementsAt(sec(1), "v1")
	m.AddElementsAt(sec(2), "m1")
	sd.AddElementsAt(sec(3), "v2")
	m.AddElementsAt(sec(4), "m2")
	sd.AddElementsAt(sec(5), "v3")
	sd.AddElementsAt(sec(6), "v4")
	m.AddElementsAt(sec(7), "m3")
	m.AdvanceWatermarkToInfinity()
	sd.AdvanceWatermarkToInfinity()
	each := sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1)))
	latest := sdk.Latest(s, sdk.WindowInto(s, sdk.GlobalWindows(), sd.Output(), each, sdk.Discarding()))
	counts := sdk.Count(s, sdk.WindowInto(s, sdk.GlobalWindows(), sd.Output(), each, sdk.Accumulating()))
	fn := &latestRender{Latest: sdk.AsSingleton(latest), Counts: sdk.AsIter(counts)}
	c := Collect(s, sdk.ParDo(s, fn, m.Output(), sdk.WithSideInput(fn.Latest), sdk.WithSideInput(fn.Counts)))
	return runAndCompare(r, p, c, []string{"m1 v1 [1]", "m2 v2 [1 2]", "m3 v4 [1 2 3 4]"})
}

// keyedSideRender is sideRender in a stateful DoFn: it also emits how
// many elements of the key and window it has seen.
type keyedSideRender struct {
	Side *sdk.IterView[string]
	Seen sdk.ValueState[int]
}

func (f *keyedSideRender) ProcessElement(ctx context.Context, v sdk.KV[string, string], emit func(string)) error {
	n, _, err := f.Seen.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Seen.Write(ctx, n+1); err != nil {
		return err
	}
	emit(fmt.Sprintf("%s %v #%d", v.Value, slices.Sorted(f.Side.Get(ctx)), n+1))
	return nil
}

// testSideInputStateful is testSideInputPerWindow with a stateful DoFn
// reading the side input (all main elements under one key): m1 waits for
// the side watermark to pass 10s, not for the side input to end, so it
// does not see s3, and the job goes on meanwhile.
func testSideInputStateful(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	main, side := perWindowScript(s)
	fn := &keyedSideRender{Side: sdk.AsIter(side)}
	keyed := sdk.Map(s, func(v string) sdk.KV[string, string] { return sdk.Pair("k", v) }, main)
	out := sdk.ParDo(s, sdk.DoFn[sdk.KV[string, string], string](fn), keyed, sdk.WithSideInput(fn.Side))
	c := Collect(s, out)
	return runAndCompare(r, p, c, []string{"m1 [s2 s5] #1", "m11 [s12] #1", "m4 [s2 s3 s5] #2"})
}

// testSideInputStatefulChunks: one TestStream event brings 1,000 main
// elements of window [10s,20s), whose side window is not ready, before
// 1,000 of [0s,10s), whose side window is. A runner that takes its
// pending input in chunks must run the elements of [0s,10s) past the
// chunks that wait before it applies the next event, which adds s3 to
// their side window late: none of them sees it.
func testSideInputStatefulChunks(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	main, side := ts.Tag("main"), ts.Tag("side")
	side.AddElementsAt(sec(2), "s2")
	side.AdvanceWatermarkTo(sec(10))
	var later, early []string
	for i := range 1000 {
		later = append(later, fmt.Sprint("a", i))
		early = append(early, fmt.Sprint("b", i))
	}
	main.AddElementsAt(sec(15), later...)
	main.AddElementsAt(sec(5), early...)
	side.AddElementsAt(sec(3), "s3")
	side.AddElementsAt(sec(12), "s12")
	side.AdvanceWatermarkTo(sec(20))
	main.AdvanceWatermarkToInfinity()
	side.AdvanceWatermarkToInfinity()
	fn := &keyedSideRender{Side: sdk.AsIter(sdk.WindowInto(s, fixed10(), side.Output()))}
	keyed := sdk.Map(s, func(v string) sdk.KV[string, string] { return sdk.Pair(v[:1], v) }, sdk.WindowInto(s, fixed10(), main.Output()))
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[sdk.KV[string, string], string](fn), keyed, sdk.WithSideInput(fn.Side)))
	if _, err := r.Run(context.Background(), p); err != nil {
		return fmt.Errorf("Run: %w", err)
	}
	// Each line is "<value> [<side values>] #<n>": count them by key and
	// side values.
	got := map[string]int{}
	for _, line := range c.Elements() {
		f := strings.SplitN(line, " ", 2)
		sides, _, _ := strings.Cut(f[1], " #")
		got[line[:1]+sides]++
	}
	if want := map[string]int{"a[s12]": 1000, "b[s2]": 1000}; !maps.Equal(got, want) {
		return fmt.Errorf("elements by key and side values: %v, want %v", got, want)
	}
	return nil
}

// runAndCompare runs p on r and compares the elements c collected, sorted,
// with want.
func runAndCompare(r runner.Runner, p *sdk.Pipeline, c Collector[string], want []string) error {
	if _, err := r.Run(context.Background(), p); err != nil {
		return fmt.Errorf("Run: %w", err)
	}
	if got := slices.Sorted(slices.Values(c.Elements())); !slices.Equal(got, want) {
		return fmt.Errorf("main elements with their side values:\n got %q\nwant %q", got, want)
	}
	return nil
}

// testSideInputGlobalBounded: main elements in Fixed(10s) windows map to
// the global window of a bounded Create's side input, which is ready when
// the Create is done, and see all of it.
func testSideInputGlobalBounded(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	ts.AddElementsAt(sec(1), "m1")
	ts.AdvanceWatermarkTo(sec(15))
	ts.AddElementsAt(sec(21), "m21")
	fn := &sideRender{Side: sdk.AsIter(sdk.Create(s, []string{"c", "a", "b"}))}
	out := sdk.ParDo(s, fn, sdk.WindowInto(s, fixed10(), ts.Output()), sdk.WithSideInput(fn.Side))
	c := Collect(s, out)
	return runAndCompare(r, p, c, []string{"m1 [a b c]", "m21 [a b c]"})
}

// TickSource reads an unbounded source of the values 0, 1, 2, ...,
// perSecond a second of event time from start, each stamped start +
// value/perSecond and generated when due on the wall clock, in the global
// window; it ends after count values (0: never) or once stop returns true
// (stop is called in the process that reads). testutil.PacedTicks is one,
// on io/unbounded's rate source, which this package may not import.
type TickSource func(s sdk.Scope, name string, start time.Time, perSecond int, count int64, stop func() bool) sdk.PCollection[int64]

// unboundedSide is the state the main input's DoFn and the side input's
// source of testSideInputUnbounded share in the test's process.
type unboundedSide struct {
	// processed counts main elements processed; stop is set once all
	// were; ended once the side source ended, endedEarly if it ended at
	// its backstop.
	processed    atomic.Int64
	stop         atomic.Bool
	ended        atomic.Bool
	endedEarly   atomic.Bool
	mainElements int64
	deadline     time.Time
}

// stopSide tells the side source to end: once the main input was
// processed, or at the backstop.
func (st *unboundedSide) stopSide() bool {
	switch {
	case st.stop.Load():
	case time.Now().After(st.deadline):
		st.endedEarly.Store(true)
	default:
		return false
	}
	st.ended.Store(true)
	return true
}

// tickSide emits a main tick with the count of side ticks in its window
// and whether the side source had ended.
type tickSide struct {
	Side *sdk.IterView[int64]
	st   *unboundedSide
}

func (f *tickSide) ProcessElement(ctx context.Context, v int64, emit func(string)) error {
	n := 0
	for range f.Side.Get(ctx) {
		n++
	}
	emit(fmt.Sprintf("main %d: %d side ticks, side ended %v", v, n, f.st.ended.Load()))
	if f.st.processed.Add(1) >= f.st.mainElements {
		f.st.stop.Store(true)
	}
	return nil
}

// testSideInputUnbounded: the side input is a paced unbounded source in
// Fixed(1s) windows that ends only once the main input (20 values of
// another one, all in the first second) has been processed: so the main
// input must run while the side source still runs, each value once the
// side watermark passes the end of its window, and see the 20 side values
// of that window. The job ends when both sources have.
func testSideInputUnbounded(r runner.Runner, ticks TickSource) error {
	const perSecond = 20
	// The side source ends after backstop if the main input never runs
	// while it does, so that the job ends and the case fails.
	const backstop = 30 * time.Second
	start := time.Now().Truncate(time.Second)
	st := &unboundedSide{mainElements: perSecond, deadline: time.Now().Add(backstop)}
	p := sdk.NewPipeline()
	s := p.Root()
	sideTicks := ticks(s, "Side", start, perSecond, 0, st.stopSide)
	mainTicks := ticks(s, "Main", start, perSecond, perSecond, nil)
	second := sdk.FixedWindows(time.Second)
	fn := &tickSide{Side: sdk.AsIter(sdk.WindowInto(s, second, sideTicks)), st: st}
	c := Collect(s, sdk.ParDo(s, fn, sdk.WindowInto(s, second, mainTicks), sdk.WithSideInput(fn.Side)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := r.Run(ctx, p); err != nil {
		return fmt.Errorf("Run: %w", err)
	}
	if st.endedEarly.Load() {
		return fmt.Errorf("the side source ran %v, its backstop, before the main input was all processed (%d of %d processed in the end)", backstop, st.processed.Load(), perSecond)
	}
	var want []string
	for i := range perSecond {
		want = append(want, fmt.Sprintf("main %d: %d side ticks, side ended false", i, perSecond))
	}
	got := c.Elements()
	slices.SortFunc(got, func(a, b string) int {
		var x, y int
		fmt.Sscanf(a, "main %d", &x)
		fmt.Sscanf(b, "main %d", &y)
		return x - y
	})
	if !slices.Equal(got, want) {
		return fmt.Errorf("main elements:\n%s\nwant each processed before the side source ended, seeing 20 side ticks:\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return nil
}
