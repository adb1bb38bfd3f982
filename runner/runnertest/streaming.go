package runnertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// RunStreamingConformanceTests runs the streaming cases of the reference
// (../shared/reference/beam-streaming-semantics.md, section 9, those that
// need no user state or timers): TestStream scripts through windows,
// triggers and GroupByKey, checked pane by pane (values, timestamp, window,
// first/last, timing, index and on-time index). The panes are observed in
// the test's process with a Collector, so the runner must run user code
// there (the local runner, LOOPBACK workers). deviations are the runner's
// known deviations from the model, by case name, as for
// RunStreamingSideInputTests; a name that is no case's fails the test.
func RunStreamingConformanceTests(t *testing.T, newRunner func(t *testing.T) runner.Runner, deviations map[string]string) {
	cases := streamingCases()
	for name := range deviations {
		if !slices.ContainsFunc(cases, func(c conformanceCase) bool { return c.name == name }) {
			t.Errorf("deviation %q names no case", name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev, deviates := deviations[tc.name]
			checkDeviation(t, tc.check(newRunner(t)), dev, deviates)
		})
	}
}

// kv is the element type of the streaming cases.
type kv = sdk.KV[string, int]

// ms returns the time ms milliseconds after the epoch.
func ms(ms int64) time.Time { return time.UnixMilli(ms) }

// sec returns the time s seconds after the epoch.
func sec(s int64) time.Time { return ms(s * 1000) }

// paneCase is a TestStream script through WindowInto and GroupByKey with
// the panes it must produce, rendered by paneFormat and sorted.
type paneCase struct {
	name   string
	window window.Fn
	opts   []sdk.Option
	script func(ts *sdk.TestStream[kv])
	want   []string
	// dropped, when set, is the count of droppedDueToLateness and
	// droppedDueToClosedWindow the GroupByKey must report.
	dropped *[2]int64
}

type streamingCase struct {
	name  string
	check func(t *testing.T, r runner.Runner)
}

// conformanceCase is a case of RunStreamingConformanceTests: it returns
// its failure, so that a runner's known deviation can be told from others.
type conformanceCase struct {
	name  string
	check func(r runner.Runner) error
}

func fixed10() window.Fn { return sdk.FixedWindows(10 * time.Second) }

// add returns a script step adding the values of key "a" at timestamp t.
func add(ts *sdk.TestStream[kv], at time.Time, vals ...int) {
	var es []kv
	for _, v := range vals {
		es = append(es, sdk.Pair("a", v))
	}
	ts.AddElementsAt(at, es...)
}

func streamingCases() []conformanceCase {
	var out []conformanceCase
	for _, pc := range paneCases() {
		out = append(out, conformanceCase{pc.name, pc.run})
	}
	out = append(out,
		conformanceCase{"38 a TestStream watermark going backwards fails the job", testWatermarkBackwards},
		conformanceCase{"37 a Flatten of two TestStream outputs holds the minimum watermark", testMultiTag},
		conformanceCase{IdleInputCase, testIdleInput},
		conformanceCase{"20 chained GroupByKeys: the second pane is on time", testChainedGroupings},
		conformanceCase{"random scripts: pane sequences are well formed and jobs end", testRandomScripts},
		conformanceCase{"TestStream strings, byte slices and KVs of them arrive intact", testTestStreamCoders},
	)
	return out
}

// Names of cases of RunStreamingConformanceTests, for deviations.
const (
	// AlignedProcessingTimeCase is the reference's case 12.
	AlignedProcessingTimeCase = "12 early AfterProcessingTime aligned to a period fires at its boundaries"
	// IdleInputCase is the reference's case 39.
	IdleInputCase = "39 an input with no data and no watermark holds the windows of a Flatten until it ends"
)

func dropped(late, closed int64) *[2]int64 { return &[2]int64{late, closed} }

func paneCases() []paneCase {
	return []paneCase{
		{name: "01 a window fires once the watermark passes its end", window: fixed10(),
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, ms(9999), 2)
				ts.AdvanceWatermarkTo(ms(9999))
				ts.AdvanceWatermarkTo(sec(10))
			},
			want: []string{"a [0,10) [1 2] ts=9999 first last on_time 0 0"}},
		{name: "02 late data past the allowed lateness is dropped and counted", window: fixed10(),
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, ms(9999), 2)
				ts.AdvanceWatermarkTo(sec(10))
				add(ts, sec(5), 3)
				ts.AdvanceWatermarkToInfinity()
			},
			want:    []string{"a [0,10) [1 2] ts=9999 first last on_time 0 0"},
			dropped: dropped(1, 0)},
		{name: "03 default trigger with lateness: on-time, then a late pane per late batch", window: fixed10(),
			opts: []sdk.Option{sdk.AllowedLateness(5 * time.Second)},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				ts.AdvanceWatermarkTo(sec(10))
				add(ts, sec(5), 2)
				ts.AdvanceWatermarkTo(sec(15))
				add(ts, sec(6), 3)
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a [0,10) [1] ts=9999 first on_time 0 0",
				"a [0,10) [2] ts=9999 late 1 1",
			},
			dropped: dropped(1, 0)},
		{name: "03 accumulating late panes hold every element so far", window: fixed10(),
			opts: []sdk.Option{sdk.AllowedLateness(5 * time.Second), sdk.Accumulating()},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				ts.AdvanceWatermarkTo(sec(10))
				add(ts, sec(5), 2)
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a [0,10) [1 2] ts=9999 late 1 1",
				"a [0,10) [1] ts=9999 first on_time 0 0",
			}},
		{name: "04 closing EMIT_ALWAYS emits an empty final pane at expiry", window: fixed10(),
			opts: []sdk.Option{sdk.AllowedLateness(5 * time.Second), sdk.ClosingBehavior(window.ClosingFireAlways)},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				ts.AdvanceWatermarkTo(sec(10))
				add(ts, sec(5), 2)
				ts.AdvanceWatermarkTo(sec(15))
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a [0,10) [1] ts=9999 first on_time 0 0",
				"a [0,10) [2] ts=9999 late 1 1",
				"a [0,10) [] ts=9999 last late 2 2",
			}},
		{name: "05 AfterWatermark finishes at the on-time pane and closes the window", window: fixed10(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark()), sdk.AllowedLateness(5 * time.Second), sdk.AllowUnsafeTriggers()},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				ts.AdvanceWatermarkTo(sec(10))
				add(ts, sec(5), 2)
				ts.AdvanceWatermarkToInfinity()
			},
			want:    []string{"a [0,10) [1] ts=9999 first last on_time 0 0"},
			dropped: dropped(0, 1)},
		{name: "06 early AfterCount(2), discarding", window: fixed10(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2)))},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				add(ts, sec(4), 3)
				ts.AdvanceWatermarkTo(sec(10))
			},
			want: []string{
				"a [0,10) [1 2] ts=9999 first early 0 -1",
				"a [0,10) [3] ts=9999 last on_time 1 0",
			}},
		{name: "07 an empty on-time pane is emitted with FIRE_ALWAYS", window: fixed10(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2)))},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				ts.AdvanceWatermarkTo(sec(10))
			},
			want: []string{
				"a [0,10) [1 2] ts=9999 first early 0 -1",
				"a [0,10) [] ts=9999 last on_time 1 0",
			}},
		{name: "07 no empty on-time pane with FIRE_IF_NONEMPTY", window: fixed10(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2))), sdk.OnTimeBehavior(window.OnTimeFireIfNonEmpty)},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				ts.AdvanceWatermarkTo(sec(10))
			},
			want: []string{"a [0,10) [1 2] ts=9999 first early 0 -1"}},
		{name: "08 accumulating early panes, then the on-time pane with everything", window: fixed10(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2))), sdk.Accumulating()},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				add(ts, sec(4), 3)
				ts.AdvanceWatermarkTo(sec(10))
			},
			want: []string{
				"a [0,10) [1 2 3] ts=9999 last on_time 1 0",
				"a [0,10) [1 2] ts=9999 first early 0 -1",
			}},
		{name: "09 global window Repeatedly(AfterCount(2))", window: sdk.GlobalWindows(),
			opts: []sdk.Option{sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(2)))},
			script: func(ts *sdk.TestStream[kv]) {
				for i := range 5 {
					add(ts, sec(int64(i+1)), i+1)
				}
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a global [1 2] ts=EOGW first early 0 -1",
				"a global [3 4] ts=EOGW early 1 -1",
				"a global [5] ts=EOGW last on_time 2 0",
			}},
		{name: "09 global window Never fires once at the end", window: sdk.GlobalWindows(),
			opts: []sdk.Option{sdk.Triggering(sdk.Never())},
			script: func(ts *sdk.TestStream[kv]) {
				for i := range 5 {
					add(ts, sec(int64(i+1)), i+1)
				}
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{"a global [1 2 3 4 5] ts=EOGW first last on_time 0 0"}},
		{name: "10 a trigger is evaluated after each element", window: sdk.GlobalWindows(),
			opts: []sdk.Option{sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1)))},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1, 2, 3)
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a global [1] ts=EOGW first early 0 -1",
				"a global [2] ts=EOGW early 1 -1",
				"a global [3] ts=EOGW early 2 -1",
				"a global [] ts=EOGW last on_time 3 0",
			}},
		{name: "11 early AfterProcessingTime(+5s) fires on the synthetic clock", window: fixed10(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterProcessingTime().PlusDelayOf(5 * time.Second)))},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				ts.AdvanceProcessingTime(4 * time.Second)
				ts.AdvanceProcessingTime(2 * time.Second)
				add(ts, sec(2), 2)
				ts.AdvanceWatermarkTo(sec(10))
				ts.AdvanceProcessingTime(10 * time.Second)
			},
			want: []string{
				"a [0,10) [1] ts=9999 first early 0 -1",
				"a [0,10) [2] ts=9999 last on_time 1 0",
			}},
		alignedCase(time.Now()),
		{name: "13 AfterEach(AfterCount(2), AfterCount(3)) finishes after the last", window: sdk.GlobalWindows(),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterEach(sdk.AfterCount(2), sdk.AfterCount(3))), sdk.AllowUnsafeTriggers()},
			script: func(ts *sdk.TestStream[kv]) {
				for i := range 6 {
					add(ts, sec(int64(i+1)), i+1)
				}
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a global [1 2] ts=EOGW first early 0 -1",
				"a global [3 4 5] ts=EOGW last early 1 -1",
			},
			dropped: dropped(0, 1)},
		{name: "14 Repeatedly(AfterCount(2)).OrFinally(AfterCount(3))", window: sdk.GlobalWindows(),
			opts: []sdk.Option{sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(2)).OrFinally(sdk.AfterCount(3))), sdk.AllowUnsafeTriggers()},
			script: func(ts *sdk.TestStream[kv]) {
				for i := range 4 {
					add(ts, sec(int64(i+1)), i+1)
				}
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a global [1 2] ts=EOGW first early 0 -1",
				"a global [3] ts=EOGW last early 1 -1",
			},
			dropped: dropped(0, 1)},
		{name: "15 sessions merge only windows that overlap", window: sdk.Sessions(10 * time.Second),
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(11), 11)
				add(ts, sec(5), 5)
				ts.AdvanceWatermarkTo(sec(21))
			},
			want: []string{"a [1,21) [1 5 11] ts=20999 first last on_time 0 0"}},
		{name: "16 sessions with early firings restart panes in the merged window", window: sdk.Sessions(10 * time.Second),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2))), sdk.Accumulating()},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				add(ts, sec(3), 3)
				add(ts, sec(4), 4)
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a [1,12) [1 2] ts=11999 first early 0 -1",
				"a [1,14) [1 2 3 4] ts=13999 first early 0 -1",
				"a [1,14) [1 2 3 4] ts=13999 last on_time 1 0",
			}},
		{name: "17 sliding windows fire one by one", window: sdk.SlidingWindows(10*time.Second, 5*time.Second),
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(7), 7)
				ts.AdvanceWatermarkTo(sec(10))
				ts.AdvanceWatermarkTo(sec(15))
			},
			want: []string{
				"a [0,10) [7] ts=9999 first last on_time 0 0",
				"a [5,15) [7] ts=14999 first last on_time 0 0",
			}},
		{name: "18 EARLIEST combiner holds only elements not late for the output", window: fixed10(),
			opts: []sdk.Option{sdk.TimestampCombiner(window.OutputAtEarliest)},
			script: func(ts *sdk.TestStream[kv]) {
				ts.AdvanceWatermarkTo(sec(5))
				add(ts, sec(2), 2)
				add(ts, sec(3), 3)
				add(ts, sec(7), 7)
				add(ts, sec(8), 8)
				ts.AdvanceWatermarkTo(sec(11))
			},
			want: []string{"a [0,10) [2 3 7 8] ts=7000 first last on_time 0 0"}},
		{name: "19 LATEST combiner", window: fixed10(),
			opts: []sdk.Option{sdk.TimestampCombiner(window.OutputAtLatest)},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				add(ts, sec(3), 3)
				ts.AdvanceWatermarkTo(sec(11))
			},
			want: []string{"a [0,10) [1 2 3] ts=3000 first last on_time 0 0"}},
		{name: "19 EARLIEST with lateness: a late-only pane is stamped at the end of the window", window: fixed10(),
			opts: []sdk.Option{sdk.TimestampCombiner(window.OutputAtEarliest), sdk.AllowedLateness(10 * time.Second)},
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				add(ts, sec(2), 2)
				ts.AdvanceWatermarkTo(sec(10))
				add(ts, sec(5), 5)
				ts.AdvanceWatermarkToInfinity()
			},
			want: []string{
				"a [0,10) [1 2] ts=1000 first on_time 0 0",
				"a [0,10) [5] ts=9999 late 1 1",
			}},
		{name: "36 elements added before a watermark advance are on time", window: fixed10(),
			script: func(ts *sdk.TestStream[kv]) {
				add(ts, sec(1), 1)
				ts.AdvanceWatermarkTo(sec(20))
			},
			want: []string{"a [0,10) [1] ts=9999 first last on_time 0 0"}},
		{name: "36 elements added after the watermark passed their window are dropped", window: fixed10(),
			script: func(ts *sdk.TestStream[kv]) {
				ts.AdvanceWatermarkTo(sec(20))
				add(ts, sec(1), 1)
			},
			want:    nil,
			dropped: dropped(1, 0)},
	}
}

// run runs the case on r and compares the panes.
func (pc paneCase) run(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[kv](s)
	pc.script(ts)
	windowed := sdk.WindowInto(s, pc.window, ts.Output(), pc.opts...)
	grouped := sdk.GroupByKey(s, windowed, sdk.Name("GroupByKey"))
	c := Collect(s, sdk.ParDo(s, paneFormat{}, grouped))
	res, err := r.Run(context.Background(), p)
	if err != nil {
		return fmt.Errorf("Run: %w", err)
	}
	got := c.Elements()
	slices.Sort(got)
	want := slices.Clone(pc.want)
	slices.Sort(want)
	if err := diffStrings("panes", want, got); err != nil {
		return err
	}
	if pc.dropped != nil {
		late, closed := droppedCounts(res)
		if late != pc.dropped[0] || closed != pc.dropped[1] {
			return fmt.Errorf("dropped due to lateness %d, due to closed window %d; want %d and %d", late, closed, pc.dropped[0], pc.dropped[1])
		}
	}
	return nil
}

// droppedCounts sums the runner's counters of dropped elements over
// transforms.
func droppedCounts(res *runner.Result) (late, closed int64) {
	for k, v := range res.Metrics.Counters {
		switch {
		case k.Namespace != "beamgo.runner":
		case k.Name == "droppedDueToLateness":
			late += v
		case k.Name == "droppedDueToClosedWindow":
			closed += v
		}
	}
	return late, closed
}

// paneFormat renders a group with its window, timestamp and pane:
// "key [start,end) [values] ts=<ms> [first] [last] timing index nsi",
// with times in seconds for windows and milliseconds for timestamps.
type paneFormat struct{}

func (paneFormat) ProcessElement(ctx context.Context, g sdk.Group[string, int], emit func(string)) error {
	emit(fmt.Sprintf("%s %s %v ts=%s %s", g.Key, renderWindow(sdk.WindowOf(ctx)), slices.Sorted(g.Values), renderTime(sdk.EventTime(ctx)), renderPane(sdk.PaneOf(ctx))))
	return nil
}

func renderWindow(w window.Window) string {
	if w.IsGlobal() {
		return "global"
	}
	return fmt.Sprintf("[%d,%d)", w.Start/1000, w.End/1000)
}

func renderTime(t time.Time) string {
	if window.FromTime(t) == window.EndOfGlobalWindow {
		return "EOGW"
	}
	return fmt.Sprint(t.UnixMilli())
}

func renderPane(p window.Pane) string {
	var parts []string
	if p.IsFirst {
		parts = append(parts, "first")
	}
	if p.IsLast {
		parts = append(parts, "last")
	}
	timing := map[window.Timing]string{window.TimingEarly: "early", window.TimingOnTime: "on_time", window.TimingLate: "late", window.TimingUnknown: "unknown"}[p.Timing]
	parts = append(parts, timing, fmt.Sprint(p.Index), fmt.Sprint(p.NonSpeculativeIndex))
	return strings.Join(parts, " ")
}

func testWatermarkBackwards(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[kv](s)
	ts.AdvanceWatermarkTo(sec(10))
	ts.AdvanceWatermarkTo(sec(5))
	Collect(s, ts.Output())
	if _, err := r.Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "backwards") {
		return fmt.Errorf("Run = %v, want an error about the watermark moving backwards", err)
	}
	return nil
}

// testMultiTag: tag A's watermark goes to 100s while tag B's stays at 5s;
// after the Flatten, window [0,10) fires only once B passes 10s, and then
// holds the elements of both.
func testMultiTag(r runner.Runner) error {
	_, panes, err := runTwoTags(r, func(a, b *sdk.TestStream[kv]) {
		add(a, sec(1), 1)
		a.AdvanceWatermarkTo(sec(100))
		b.AdvanceWatermarkTo(sec(5))
		add(b, sec(6), 6)
		b.AdvanceWatermarkTo(sec(10))
		b.AdvanceWatermarkToInfinity()
		a.AdvanceWatermarkToInfinity()
	})
	if err != nil {
		return err
	}
	return diffStrings("panes", []string{"a [0,10) [1 6] ts=9999 first last on_time 0 0"}, panes)
}

// runTwoTags runs script over outputs A and B of one TestStream, flattens
// them into fixed windows of 10s and a GroupByKey, and returns the job's
// result and its panes (paneFormat).
func runTwoTags(r runner.Runner, script func(a, b *sdk.TestStream[kv])) (*runner.Result, []string, error) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[kv](s)
	a, b := ts.Tag("A"), ts.Tag("B")
	script(a, b)
	all := sdk.Flatten(s, a.Output(), b.Output())
	grouped := sdk.GroupByKey(s, sdk.WindowInto(s, fixed10(), all))
	c := Collect(s, sdk.ParDo(s, paneFormat{}, grouped))
	res, err := r.Run(context.Background(), p)
	if err != nil {
		return nil, nil, fmt.Errorf("Run: %w", err)
	}
	return res, c.Elements(), nil
}

// alignedCase is the reference's case 12: early panes of
// AfterProcessingTime aligned to a period fire at the period's boundaries,
// so elements that arrive in one period share a pane. A TestStream's
// processing time starts where the job starts (in Beam's runners as in
// ours), so the case aligns to a day with an offset that puts the next
// boundary 12 hours after now, the time the case is built: the job starts
// within minutes of it, and every step below lies an hour or more away
// from a boundary (the reference asserts nothing at a boundary, where Java
// and Prism differ). Without the alignment (or with the offset ignored)
// the elements' panes differ.
func alignedCase(now time.Time) paneCase {
	const day = 24 * time.Hour
	offset := time.Duration(now.Add(12*time.Hour).UnixMilli()%day.Milliseconds()) * time.Millisecond
	early := sdk.AfterProcessingTime().AlignedTo(day, offset)
	return paneCase{name: AlignedProcessingTimeCase, window: fixed10(),
		opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(early))},
		script: func(ts *sdk.TestStream[kv]) {
			add(ts, sec(1), 1)                       // arms the boundary B, 12 h after the start
			ts.AdvanceProcessingTime(time.Hour)      // before B: nothing
			add(ts, sec(2), 2)                       // joins the pane B fires
			ts.AdvanceProcessingTime(12 * time.Hour) // past B: [1 2]
			add(ts, sec(3), 3)                       // arms B + 1 day
			ts.AdvanceProcessingTime(time.Hour)      // nothing
			ts.AdvanceWatermarkTo(sec(10))           // on time: [3]
			ts.AdvanceProcessingTime(2 * day)        // the window is closed: nothing
		},
		want: []string{
			"a [0,10) [1 2] ts=9999 first early 0 -1",
			"a [0,10) [3] ts=9999 last on_time 1 0",
		}}
}

// testIdleInput is the reference's case 39: a Flatten of a live input and
// one that has no data and no watermark (its TestStream output stays at
// the start of time) holds every window until the idle input ends. Tag A
// passes the window's end and then adds an element behind it: held, the
// window has not fired, and that element is on time in the one pane;
// fired on A's watermark alone, the window would have emitted [1] and
// dropped 2 as late.
func testIdleInput(r runner.Runner) error {
	res, panes, err := runTwoTags(r, func(a, b *sdk.TestStream[kv]) {
		add(a, sec(1), 1)
		a.AdvanceWatermarkTo(sec(100))
		add(a, sec(2), 2)
		b.AdvanceWatermarkToInfinity()
		a.AdvanceWatermarkToInfinity()
	})
	if err != nil {
		return err
	}
	if err := diffStrings("panes", []string{"a [0,10) [1 2] ts=9999 first last on_time 0 0"}, panes); err != nil {
		return err
	}
	if late, closed := droppedCounts(res); late != 0 || closed != 0 {
		return fmt.Errorf("dropped due to lateness %d, due to closed window %d; want none", late, closed)
	}
	return nil
}

// testChainedGroupings: the first GroupByKey holds its output watermark
// until its pane is out, so the second sees the pane on time.
func testChainedGroupings(r runner.Runner) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[kv](s)
	add(ts, sec(1), 1)
	add(ts, sec(2), 2)
	ts.AdvanceWatermarkTo(sec(20))
	first := sdk.GroupByKey(s, sdk.WindowInto(s, fixed10(), ts.Output()))
	sums := sdk.Map(s, func(g sdk.Group[string, int]) kv {
		n := 0
		for v := range g.Values {
			n += v
		}
		return sdk.Pair(g.Key, n)
	}, first)
	c := Collect(s, sdk.ParDo(s, paneFormat{}, sdk.GroupByKey(s, sums)))
	if _, err := r.Run(context.Background(), p); err != nil {
		return fmt.Errorf("Run: %w", err)
	}
	return diffStrings("panes of the second grouping", []string{"a [0,10) [3] ts=9999 first last on_time 0 0"}, c.Elements())
}

// testRandomScripts runs random TestStream scripts (elements on time and
// late, watermark and processing-time advances) through fixed windows with
// early, on-time and late firings and checks the panes of every key and
// window: indices count from 0 without gaps, exactly the first is first,
// nothing follows a final pane, timings run EARLY* ON_TIME? LATE*, and no
// on-time element is lost. Every job must end.
func testRandomScripts(r runner.Runner) error {
	var errs []error
	for seed := range uint64(8) {
		err := func() error {
			rng := rand.New(rand.NewPCG(seed, 7))
			p := sdk.NewPipeline()
			s := p.Root()
			ts := sdk.NewTestStream[kv](s)
			wm, onTime := int64(0), 0
			for i := range 5 + rng.IntN(20) {
				switch rng.IntN(4) {
				case 0, 1:
					at := wm + rng.Int64N(30000) - 5000
					if at >= wm {
						onTime++
					}
					ts.AddElementsAt(ms(max(at, 0)), sdk.Pair(fmt.Sprint("k", rng.IntN(3)), i))
				case 2:
					wm += rng.Int64N(15000)
					ts.AdvanceWatermarkTo(ms(wm))
				default:
					ts.AdvanceProcessingTime(time.Duration(1+rng.IntN(5000)) * time.Millisecond)
				}
			}
			trigger := sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(int64(1 + rng.IntN(3)))).WithLateFirings(sdk.AfterCount(1))
			opts := []sdk.Option{sdk.Triggering(trigger), sdk.AllowedLateness(time.Duration(rng.IntN(3)) * 5 * time.Second)}
			if rng.IntN(2) == 0 {
				opts = append(opts, sdk.Accumulating())
			}
			grouped := sdk.GroupByKey(s, sdk.WindowInto(s, fixed10(), ts.Output(), opts...))
			c := Collect(s, sdk.ParDo(s, paneRecord{}, grouped))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := r.Run(ctx, p); err != nil {
				return fmt.Errorf("Run: %w", err)
			}
			return checkPanes(c.Elements(), onTime)
		}()
		if err != nil {
			errs = append(errs, fmt.Errorf("seed %d: %w", seed, err))
		}
	}
	return errors.Join(errs...)
}

// paneRec is one pane as the property test sees it.
type paneRec struct {
	Key              string
	WinStart, WinEnd window.Time
	Pane             window.Pane
	Values           []int
}

type paneRecord struct{}

func (paneRecord) ProcessElement(ctx context.Context, g sdk.Group[string, int], emit func(paneRec)) error {
	w := sdk.WindowOf(ctx)
	emit(paneRec{Key: g.Key, WinStart: w.Start, WinEnd: w.End, Pane: sdk.PaneOf(ctx), Values: slices.Sorted(g.Values)})
	return nil
}

// checkPanes checks the pane sequence of every key and window.
func checkPanes(recs []paneRec, onTime int) error {
	var errs []error
	type kw struct {
		k    string
		s, e window.Time
	}
	byWin := map[kw][]paneRec{}
	for _, r := range recs {
		k := kw{r.Key, r.WinStart, r.WinEnd}
		byWin[k] = append(byWin[k], r)
	}
	seen := map[int]bool{}
	for k, ps := range byWin {
		slices.SortFunc(ps, func(a, b paneRec) int { return int(a.Pane.Index - b.Pane.Index) })
		phase := window.TimingEarly
		for i, p := range ps {
			if p.Pane.Index != int64(i) || p.Pane.IsFirst != (i == 0) {
				errs = append(errs, fmt.Errorf("%v: pane %d has index %d, first %v", k, i, p.Pane.Index, p.Pane.IsFirst))
			}
			if p.Pane.IsLast && i != len(ps)-1 {
				errs = append(errs, fmt.Errorf("%v: pane %d follows the final pane %d", k, i+1, i))
			}
			if p.Pane.Timing < phase || (p.Pane.Timing == window.TimingOnTime && phase == window.TimingOnTime) {
				errs = append(errs, fmt.Errorf("%v: pane %d is %v after a %v pane", k, i, p.Pane.Timing, phase))
			}
			phase = max(phase, p.Pane.Timing)
			for _, v := range p.Values {
				seen[v] = true
			}
		}
	}
	if len(seen) < onTime {
		errs = append(errs, fmt.Errorf("panes hold %d distinct elements, fewer than the %d on-time ones added", len(seen), onTime))
	}
	return errors.Join(errs...)
}

// testTestStreamCoders: TestStream elements whose coders encode differently
// in the outer and the nested context (strings, byte slices, a KV's value)
// reach the DoFns as they were added, including a string that reads like a
// nested encoding of another. A job has one TestStream, so each kind runs
// in a job of its own.
func testTestStreamCoders(r runner.Runner) error {
	quote := func(v string) string { return fmt.Sprintf("%q", v) }
	return errors.Join(
		runTestStream(r, "strings", []string{"a", "\x01a", ""}, quote, []string{`""`, `"\x01a"`, `"a"`}),
		runTestStream(r, "byte slices", [][]byte{{1, 'b'}, []byte("bb")}, func(v []byte) string { return quote(string(v)) },
			[]string{`"\x01b"`, `"bb"`}),
		runTestStream(r, "KVs", []sdk.KV[int, string]{sdk.Pair(1, "x"), sdk.Pair(1, "\x01y")},
			func(v sdk.KV[int, string]) string { return fmt.Sprintf("%d=%q", v.Key, v.Value) }, []string{`1="\x01y"`, `1="x"`}),
	)
}

// runTestStream runs a TestStream of elems, all at one second, and
// compares the elements it delivers, formatted and sorted, with want.
func runTestStream[T any](r runner.Runner, what string, elems []T, format func(T) string, want []string) error {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[T](s)
	ts.AddElementsAt(sec(1), elems...)
	c := Collect(s, sdk.Map(s, format, ts.Output()))
	if _, err := r.Run(context.Background(), p); err != nil {
		return fmt.Errorf("%s: Run: %w", what, err)
	}
	return diffStrings(what, want, slices.Sorted(slices.Values(c.Elements())))
}
