package runnertest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// RunStatefulConformanceTests runs the user state and timer cases of the
// reference (../shared/reference/beam-streaming-semantics.md, section 9,
// cases 21-35, and 46-48 on connected streams and joins): TestStream
// scripts through stateful DoFns whose outputs record what fired, in which
// order and with which state. Like
// RunStreamingConformanceTests it observes outputs in the test's process.
func RunStatefulConformanceTests(t *testing.T, newRunner func(t *testing.T) runner.Runner, caps Capabilities) {
	for _, tc := range append(statefulCases(), connectCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			if caps.NoTimers && !stateOnly[tc.name[:2]] {
				t.Skip("the runner does not support timers (Capabilities.NoTimers)")
			}
			tc.check(t, newRunner(t))
		})
	}
}

// stateOnly are the numbers of the cases without timers.
var stateOnly = map[string]bool{"34": true, "35": true}

// cmd is the element type of the scripted cases: a key and a command for
// scripted.
type cmd = sdk.KV[string, string]

// scripted is a stateful DoFn driven by its input: each element's value is
// a command (see do). Every output line starts with a sequence number per
// key, so that sorting the outputs shows their order within a key.
type scripted struct {
	Seq   sdk.ValueState[int]
	Fired sdk.ValueState[int]
	Bag   sdk.BagState[string]
	ET    sdk.EventTimeTimerFamily
	PT    sdk.ProcessingTimeTimerFamily
	// Then maps a fired tag to the command to run in its callback; a
	// command "again <n> <ms>" resets the firing event-time timer ms
	// later, "ptagain <n> <ms>" the firing processing-time timer ms from
	// now, until timers fired n times.
	Then map[string]string
}

func (f *scripted) emit(ctx context.Context, emit func(string), format string, args ...any) error {
	n, _, err := f.Seq.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Seq.Write(ctx, n+1); err != nil {
		return err
	}
	emit(fmt.Sprintf("%02d ", n+1) + fmt.Sprintf(format, args...))
	return nil
}

func (f *scripted) ProcessElement(ctx context.Context, c cmd, emit func(string)) error {
	return f.do(ctx, c.Value, emit)
}

// do runs one command:
//
//	set <tag> <ms> [<out ms>]  set event-time timer tag (with an output timestamp)
//	pt <tag> <ms>              set processing-time timer tag ms from now
//	clear <tag>                clear event-time timer tag
//	add <v>                    add v to the bag
//	probe                      emit how often timers fired
//	try <tag> <ms> <out ms>    set a timer and emit whether Set failed
func (f *scripted) do(ctx context.Context, c string, emit func(string)) error {
	w := strings.Fields(c)
	num := func(i int) int64 { n, _ := strconv.ParseInt(w[i], 10, 64); return n }
	switch w[0] {
	case "set":
		var opts []sdk.TimerOption
		if len(w) > 3 {
			opts = append(opts, sdk.WithOutputTimestamp(ms(num(3))))
		}
		return f.ET.Set(ctx, w[1], ms(num(2)), opts...)
	case "try":
		err := f.ET.Set(ctx, w[1], ms(num(2)), sdk.WithOutputTimestamp(ms(num(3))))
		return f.emit(ctx, emit, "try %s failed=%v", w[1], err != nil)
	case "pt":
		return f.PT.SetAfter(ctx, w[1], time.Duration(num(2))*time.Millisecond)
	case "clear":
		return f.ET.Clear(ctx, w[1])
	case "add":
		return f.Bag.Add(ctx, w[1])
	case "probe":
		n, _, err := f.Fired.Read(ctx)
		if err != nil {
			return err
		}
		return f.emit(ctx, emit, "probe fired=%d", n)
	}
	return fmt.Errorf("unknown command %q", c)
}

func (f *scripted) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(string)) error {
	n, _, err := f.Fired.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Fired.Write(ctx, n+1); err != nil {
		return err
	}
	bag, err := f.Bag.Read(ctx)
	if err != nil {
		return err
	}
	slices.Sort(bag)
	at := t.FireTime.UnixMilli()
	if t.ProcessingTime {
		at = -1
	}
	if err := f.emit(ctx, emit, "fire %s@%d out=%d ts=%d bag=%v", t.Tag, at, t.OutputTime.UnixMilli(), sdk.EventTime(ctx).UnixMilli(), bag); err != nil {
		return err
	}
	then, ok := f.Then[t.Tag]
	if !ok {
		return nil
	}
	if w := strings.Fields(then); w[0] == "again" || w[0] == "ptagain" {
		limit, _ := strconv.Atoi(w[1])
		step, _ := strconv.ParseInt(w[2], 10, 64)
		if n+1 >= limit {
			return nil
		}
		if w[0] == "ptagain" {
			return f.PT.SetAfter(ctx, t.Tag, time.Duration(step)*time.Millisecond)
		}
		return f.ET.Set(ctx, t.Tag, t.FireTime.Add(time.Duration(step)*time.Millisecond))
	}
	return f.do(ctx, then, emit)
}

// runScripted runs a TestStream script of commands for key "k" through
// scripted (after WindowInto win, if set) and compares the sorted outputs.
func runScripted(t *testing.T, r runner.Runner, fn *scripted, win *window.Fn, script func(ts *sdk.TestStream[cmd]), want []string) {
	t.Helper()
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[cmd](s)
	script(ts)
	in := ts.Output()
	if win != nil {
		in = sdk.WindowInto(s, *win, in)
	}
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[cmd, string](fn), in))
	runSorted(context.Background(), t, r, p, c, want)
}

// runSorted runs p on r and compares the sorted outputs c collected with
// want.
func runSorted(ctx context.Context, t *testing.T, r runner.Runner, p *sdk.Pipeline, c Collector[string], want []string) {
	t.Helper()
	if _, err := r.Run(ctx, p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := c.Elements()
	slices.Sort(got)
	diff(t, "outputs", want, got)
}

func run(cmds ...string) []cmd {
	out := make([]cmd, len(cmds))
	for i, c := range cmds {
		out[i] = sdk.Pair("k", c)
	}
	return out
}

func statefulCases() []streamingCase {
	fixed := fixed10()
	return []streamingCase{
		{"21 a timer's output timestamp holds the watermark of the next stateful ParDo", testHoldChain},
		{"22 an event-time timer fires only once the watermark is past it", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("set x 20000")...)
				ts.AdvanceWatermarkTo(sec(20))
				ts.AddElementsAt(sec(20), run("probe")...)
				ts.AdvanceWatermarkTo(ms(20001))
				ts.AddElementsAt(sec(21), run("probe")...)
			}, []string{"01 probe fired=0", "02 fire x@20000 out=20000 ts=20000 bag=[]", "03 probe fired=1"})
		}},
		{"23 a timer reset in the same bundle fires once, at its last time", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("set x 20000", "set x 30000")...)
				ts.AdvanceWatermarkTo(sec(25))
				ts.AddElementsAt(sec(25), run("probe")...)
				ts.AdvanceWatermarkTo(sec(31))
			}, []string{"01 probe fired=0", "02 fire x@30000 out=30000 ts=30000 bag=[]"})
		}},
		{"24 a timer cleared in a later bundle never fires", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("set x 20000")...)
				ts.AdvanceWatermarkTo(sec(2))
				ts.AddElementsAt(sec(2), run("clear x")...)
				ts.AdvanceWatermarkToInfinity()
			}, nil)
		}},
		{"25 a timer set by a callback to an eligible time fires before later ones", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{Then: map[string]string{"a": "set a2 10000"}}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("set a 5000", "set b 20000")...)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 fire a@5000 out=5000 ts=5000 bag=[]", "02 fire a2@10000 out=10000 ts=10000 bag=[]", "03 fire b@20000 out=20000 ts=20000 bag=[]"})
		}},
		{"26 a timer that resets itself fires exactly as often as it asks", func(t *testing.T, r runner.Runner) {
			want := make([]string, 5)
			for i := range want {
				at := 1000 * (i + 1)
				want[i] = fmt.Sprintf("%02d fire r@%d out=%d ts=%d bag=[]", i+1, at, at, at)
			}
			runScripted(t, r, &scripted{Then: map[string]string{"r": "again 5 1000"}}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(ms(0), run("set r 1000")...)
				ts.AdvanceWatermarkToInfinity()
			}, want)
		}},
		{"27 timers of a family are told apart by their tags", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("set x 10000", "set y 5000", "clear x")...)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 fire y@5000 out=5000 ts=5000 bag=[]"})
		}},
		{"28 a timer's output timestamp is checked when it is set", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, &fixed, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(3), run("try after 5000 6000", "try before 5000 2000", "try late 20000 4000", "try ok 5000 4000")...)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 try after failed=true", "02 try before failed=true", "03 try late failed=true", "04 try ok failed=false",
				"05 fire ok@5000 out=4000 ts=4000 bag=[]"})
		}},
		{"29 a processing-time timer's output timestamp is the element's", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(3), run("pt p 10000")...)
				ts.AdvanceWatermarkTo(sec(4))
				ts.AddElementsAt(sec(4), run("probe")...)
				ts.AdvanceProcessingTime(11 * time.Second)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 probe fired=0", "02 fire p@-1 out=3000 ts=3000 bag=[]"})
		}},
		{"30 state is per window", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, &fixed, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("add w0", "probe")...)
				ts.AddElementsAt(sec(11), run("add w1", "probe", "set x 15000")...)
				ts.AdvanceWatermarkTo(sec(12))
				ts.AddElementsAt(sec(12), run("add w1b", "set y 16000")...)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 probe fired=0", "01 probe fired=0", "02 fire x@15000 out=15000 ts=15000 bag=[w1 w1b]", "03 fire y@16000 out=16000 ts=16000 bag=[w1 w1b]"})
		}},
		{"31 OnWindowExpiration sees each key and window's state once, after the window's timers", testOnWindowExpiration},
		{"32 input of an expired window is dropped before it reaches state", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, &fixed, func(ts *sdk.TestStream[cmd]) {
				ts.AdvanceWatermarkTo(sec(20))
				ts.AddElementsAt(sec(5), run("probe")...)
				ts.AddElementsAt(sec(25), run("probe")...)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 probe fired=0"})
		}},
		{"33 a processing-time timer of an expired window does not fire", func(t *testing.T, r runner.Runner) {
			runScripted(t, r, &scripted{}, &fixed, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("pt p 100000")...)
				ts.AdvanceWatermarkToInfinity()
				ts.AdvanceProcessingTime(200 * time.Second)
			}, nil)
		}},
		{"33b a processing-time timer still pending when a TestStream's script ends never fires, and the job ends", func(t *testing.T, r runner.Runner) {
			// The global window expires when the input ends; its pending
			// processing-time timers fire first while the clock may still
			// reach them, but no event is left to move a TestStream's clock.
			runScripted(t, r, &scripted{}, nil, func(ts *sdk.TestStream[cmd]) {
				ts.AddElementsAt(sec(1), run("pt p 100000", "pt q 5000")...)
				ts.AdvanceProcessingTime(10 * time.Second)
				ts.AdvanceWatermarkToInfinity()
			}, []string{"01 fire q@-1 out=1000 ts=1000 bag=[]"})
		}},
		{"33c over bounded input, processing-time timers pending at its end fire at once, in time order, with their state", testBoundedProcessingTime},
		{"34 ordered list state reads ascending by timestamp and clears ranges", testOrderedList},
		{"35 a bundle that fails after writing state is retried as if it ran once", testRetriedState},
	}
}

// testBoundedProcessingTime is case 33c: over bounded input, processing
// time jumps to the end of time once the input has been consumed (Beam's
// batch model, Flink's BATCH mode), so timers set an hour ahead on the
// wall clock fire as soon as the input ends, earliest first, with the
// key's state, and so does a timer a callback sets; the job does not wait
// for them on the wall clock (the deadline fails it if it does).
func testBoundedProcessingTime(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.WithTimestamps(s, func(cmd) time.Time { return sec(1) }, sdk.Create(s, run("add a", "pt p 3600000", "pt q 60000")))
	fn := &scripted{Then: map[string]string{"q": "ptagain 3 3600000"}}
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[cmd, string](fn), in))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runSorted(ctx, t, r, p, c, []string{
		"01 fire q@-1 out=1000 ts=1000 bag=[a]",
		"02 fire p@-1 out=1000 ts=1000 bag=[a]",
		"03 fire q@-1 out=1000 ts=1000 bag=[a]",
	})
}

// holder forwards its input and holds its output watermark at 5s with a
// timer at 100s (case 21's fn1).
type holder struct {
	Hold sdk.EventTimeTimer
}

func (f *holder) ProcessElement(ctx context.Context, c cmd, emit func(cmd)) error {
	emit(c)
	if c.Value == "probe" {
		return nil
	}
	return f.Hold.Set(ctx, sec(100), sdk.WithOutputTimestamp(sec(5)))
}

func (f *holder) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(cmd)) error { return nil }

// testHoldChain is case 21: fn1 holds its output watermark at 5s, so fn2's
// timer at 50s has not fired when a probe passes after the source's
// watermark reached 70s.
func testHoldChain(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[cmd](s)
	ts.AddElementsAt(ms(0), run("set x 50000")...)
	ts.AdvanceWatermarkTo(sec(70))
	ts.AddElementsAt(sec(70), run("probe")...)
	held := sdk.ParDo(s, sdk.DoFn[cmd, cmd](&holder{}), ts.Output())
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[cmd, string](&scripted{}), held))
	runSorted(context.Background(), t, r, p, c, []string{"01 probe fired=0", "02 fire x@50000 out=50000 ts=50000 bag=[]"})
}

// expiring records its bag when a timer fires and when its window expires.
type expiring struct {
	Bag   sdk.BagState[int]
	Flush sdk.EventTimeTimer
}

func (f *expiring) ProcessElement(ctx context.Context, kv kv, emit func(string)) error {
	if err := f.Bag.Add(ctx, kv.Value); err != nil {
		return err
	}
	return f.Flush.Set(ctx, sdk.WindowOf(ctx).MaxTimestamp().ToTime())
}

func (f *expiring) report(ctx context.Context, what string, emit func(string)) error {
	key, err := sdk.CurrentKey[string](ctx)
	if err != nil {
		return err
	}
	bag, err := f.Bag.Read(ctx)
	slices.Sort(bag)
	emit(fmt.Sprintf("%s %s %s %v ts=%d", key, renderWindow(sdk.WindowOf(ctx)), what, bag, sdk.EventTime(ctx).UnixMilli()))
	return err
}

func (f *expiring) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(string)) error {
	return f.report(ctx, "timer", emit)
}

func (f *expiring) OnWindowExpiration(ctx context.Context, emit func(string)) error {
	return f.report(ctx, "expired", emit)
}

// testOnWindowExpiration is case 31.
func testOnWindowExpiration(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[kv](s)
	ts.AddElementsAt(sec(1), sdk.Pair("a", 1))
	ts.AddElementsAt(sec(2), sdk.Pair("a", 2))
	ts.AddElementsAt(sec(3), sdk.Pair("b", 3))
	ts.AdvanceWatermarkTo(sec(11))
	ts.AddElementsAt(sec(12), sdk.Pair("a", 12))
	windowed := sdk.WindowInto(s, fixed10(), ts.Output())
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[kv, string](&expiring{}), windowed))
	runSorted(context.Background(), t, r, p, c, []string{
		"a [0,10) expired [1 2] ts=9999",
		"a [0,10) timer [1 2] ts=9999",
		"a [10,20) expired [12] ts=19999",
		"a [10,20) timer [12] ts=19999",
		"b [0,10) expired [3] ts=9999",
		"b [0,10) timer [3] ts=9999",
	})
	// The timer must run before the expiry: check the order per key and
	// window in the collected sequence.
	seen := map[string]bool{}
	for _, line := range c.Elements() {
		f := strings.Fields(line)
		scope := f[0] + f[1]
		switch f[2] {
		case "timer":
			seen[scope] = true
		case "expired":
			if !seen[scope] {
				t.Errorf("%s expired before its timer fired", scope)
			}
		}
	}
}

// listFn exercises ordered list state (case 34) on its first element.
type listFn struct {
	List sdk.OrderedListState[string]
}

func (f *listFn) ProcessElement(ctx context.Context, kv kv, emit func(string)) error {
	for _, e := range []struct {
		at int64
		v  string
	}{{5, "b"}, {1, "a"}, {5, "c"}} {
		if err := f.List.Add(ctx, sec(e.at), e.v); err != nil {
			return err
		}
	}
	render := func(what string, vs []sdk.TimestampedValue[string], err error) error {
		var parts []string
		for _, v := range vs {
			parts = append(parts, fmt.Sprintf("%d:%s", v.Timestamp.Unix(), v.Value))
		}
		emit(what + " " + strings.Join(parts, " "))
		return err
	}
	all, err := f.List.Read(ctx)
	if err := render("read", all, err); err != nil {
		return err
	}
	part, err := f.List.ReadRange(ctx, sec(1), sec(5))
	if err := render("range", part, err); err != nil {
		return err
	}
	if err := f.List.ClearRange(ctx, sec(0), sec(5)); err != nil {
		return err
	}
	rest, err := f.List.Read(ctx)
	return render("cleared", rest, err)
}

func testOrderedList(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[kv, string](&listFn{}), sdk.Create(s, []kv{sdk.Pair("a", 1)})))
	runSorted(context.Background(), t, r, p, c, []string{"cleared 5:b 5:c", "range 1:a", "read 1:a 5:b 5:c"})
}

// failingOnce writes map state, emits, and fails its first attempt after
// the writes (case 35). Attempts is shared by the instances of one run.
type failingOnce struct {
	Names    sdk.MapState[string, string]
	Attempts *atomic.Int64 `json:"-"`
}

func (f *failingOnce) ProcessElement(ctx context.Context, kv kv, emit func(string)) error {
	prior, existed, err := f.Names.PutIfAbsent(ctx, "name", fmt.Sprint(kv.Value))
	if err != nil {
		return err
	}
	emit(fmt.Sprintf("%s %d prior=%q existed=%v", kv.Key, kv.Value, prior, existed))
	if kv.Value == 2 && f.Attempts.Add(1) == 1 {
		return fmt.Errorf("injected failure after writing state")
	}
	return nil
}

// testRetriedState is case 35: a bundle that fails after writing state is
// retried, and state and outputs are as if it ran once.
func testRetriedState(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[kv](s)
	ts.AddElementsAt(sec(1), sdk.Pair("a", 1))
	ts.AdvanceWatermarkTo(sec(2))
	ts.AddElementsAt(sec(3), sdk.Pair("a", 2), sdk.Pair("b", 2))
	ts.AdvanceWatermarkTo(sec(4))
	ts.AddElementsAt(sec(5), sdk.Pair("b", 3))
	fn := &failingOnce{Attempts: new(atomic.Int64)}
	// The Reshuffle keeps the collector out of the failing bundle, whose
	// outputs the runner must drop.
	c := Collect(s, sdk.Reshuffle(s, sdk.ParDo(s, sdk.DoFn[kv, string](fn), ts.Output())))
	res, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := c.Elements()
	slices.Sort(got)
	diff(t, "outputs", []string{`a 1 prior="" existed=false`, `a 2 prior="1" existed=true`, `b 2 prior="" existed=false`, `b 3 prior="2" existed=true`}, got)
	if fn.Attempts.Load() < 2 || res.Retries < 1 {
		t.Errorf("attempts %d, retries %d: want the failing bundle retried", fn.Attempts.Load(), res.Retries)
	}
}
