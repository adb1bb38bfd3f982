package reduce

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// ev is an element of key "a" unless k is set.
type ev struct {
	v  string
	ts window.Time
	k  string
}

// step is one call on the driver: an input batch, a watermark or a clock
// advance, with the panes it must return (in fmtPane notation).
type step struct {
	add  []ev
	wm   window.Time // Advance to this input watermark when set
	pt   window.Time // Advance the clock to this when set
	want []string
}

func batch(want []string, evs ...ev) step      { return step{add: evs, want: want} }
func wm(t window.Time, want ...string) step    { return step{wm: t, want: want} }
func clock(t window.Time, want ...string) step { return step{pt: t, want: want} }
func e(v string, ts window.Time) ev            { return ev{v: v, ts: ts} }
func none_() []string                          { return nil }
func panes(ps ...string) []string              { return ps }

type scenario struct {
	name               string
	s                  Strategy
	steps              []step
	late, closed       int64
	pendingAfterAll    int  // Pending() after the last step
	wantUnsafe         bool // CheckSafe rejects the strategy
	checkNextPT        bool
	nextPT             window.Time
	nextPTok           bool
	skipFinalDrainTest bool
}

// eogw is window.EndOfGlobalWindow as fmtPane prints it.
const eogw = "9223371950454775"

func TestEndOfGlobalWindowNotation(t *testing.T) {
	if got := fmt.Sprint(int64(window.EndOfGlobalWindow)); got != eogw {
		t.Fatalf("EndOfGlobalWindow = %s, want %s", got, eogw)
	}
}

func runScenario(t *testing.T, sc scenario) {
	t.Helper()
	err := CheckSafe(sc.s)
	var se *StrategyError
	if sc.wantUnsafe != (err != nil) || err != nil && !errors.As(err, &se) {
		t.Errorf("CheckSafe = %v, want unsafe %v", err, sc.wantUnsafe)
	}
	d := newDriver(t, sc.s)
	for i, st := range sc.steps {
		var got []Pane
		switch {
		case st.add != nil:
			es := make([]Element, len(st.add))
			for j, x := range st.add {
				k := x.k
				if k == "" {
					k = "a"
				}
				es[j] = d.elem(k, x.v, x.ts)
			}
			got = d.add(es...)
		case st.wm != 0:
			got = d.watermark(st.wm)
		default:
			got = d.clock(st.pt)
		}
		want := st.want
		if want == nil {
			want = []string{}
		}
		if g := fmtPanes(got); !slices.Equal(g, want) {
			t.Errorf("step %d: panes = %q, want %q", i, g, want)
		}
	}
	if late, closed := d.r.Dropped(); late != sc.late || closed != sc.closed {
		t.Errorf("Dropped() = %d, %d, want %d, %d", late, closed, sc.late, sc.closed)
	}
	if got := d.r.Pending(); got != sc.pendingAfterAll {
		t.Errorf("Pending() = %d, want %d", got, sc.pendingAfterAll)
	}
	if sc.checkNextPT {
		if pt, ok := d.r.NextProcessingTime(); pt != sc.nextPT && ok || ok != sc.nextPTok {
			t.Errorf("NextProcessingTime() = %d, %v, want %d, %v", pt, ok, sc.nextPT, sc.nextPTok)
		}
	}
}

// TestReferenceCases runs the reference's section 9 cases 1-19 (case 20,
// chained GroupByKeys, is TestChainedGroupByKeysStayOnTime).
func TestReferenceCases(t *testing.T) {
	eow := sec(9.999)
	withL := func(s Strategy, l window.Time) Strategy { s.AllowedLateness = l; return s }
	acc := func(s Strategy) Strategy { s.Accumulating = true; return s }
	trig := func(s Strategy, tr Trigger) Strategy { s.Trigger = tr; return s }
	global := func(s Strategy) Strategy { s.WindowFn = window.GlobalFn(); return s }
	ifNonEmpty := func(s Strategy) Strategy { s.OnTimeAlways = false; return s }
	early2 := AfterWatermark{Early: AfterCount{N: 2}}
	sessions := func(s Strategy) Strategy { s.WindowFn = window.SessionsFn(10 * time.Second); return s }
	d := javaDefaults()

	cases := []scenario{
		{name: "1 boundary: the pane fires once the watermark passes the window's max timestamp", s: d, steps: []step{
			batch(none_(), e("1", sec(1)), e("2", eow)),
			wm(eow),
			wm(sec(10), "a [1,2] 9999 FL ON_TIME 0 0"),
		}},
		{name: "2 drop: an element for an expired window is dropped and counted", s: d, late: 1, steps: []step{
			batch(none_(), e("1", sec(1)), e("2", eow)),
			wm(sec(10), "a [1,2] 9999 FL ON_TIME 0 0"),
			batch(none_(), e("3", sec(5))),
			wm(window.MaxTime),
		}},
		{name: "3 default trigger with lateness: on-time pane, late pane, nothing at GC", s: withL(d, sec(5)), late: 1, steps: []step{
			batch(none_(), e("1", sec(1))),
			wm(sec(10), "a [1] 9999 F ON_TIME 0 0"),
			batch(panes("a [2] 9999 - LATE 1 1"), e("2", sec(5))),
			wm(sec(15)),
			batch(none_(), e("3", sec(6))),
		}},
		{name: "3 accumulating: the late pane holds all values", s: acc(withL(d, sec(5))), late: 1, steps: []step{
			batch(none_(), e("1", sec(1))),
			wm(sec(10), "a [1] 9999 F ON_TIME 0 0"),
			batch(panes("a [1,2] 9999 - LATE 1 1"), e("2", sec(5))),
			wm(sec(15)),
			batch(none_(), e("3", sec(6))),
		}},
		{name: "4 closing EMIT_ALWAYS: an empty final pane at GC", s: func() Strategy { s := withL(d, sec(5)); s.ClosingAlways = true; return s }(), steps: []step{
			batch(none_(), e("1", sec(1))),
			wm(sec(10), "a [1] 9999 F ON_TIME 0 0"),
			batch(panes("a [2] 9999 - LATE 1 1"), e("2", sec(5))),
			wm(sec(15), "a [] 9999 L LATE 2 2"),
		}},
		{name: "5 AfterWatermark with lateness is unsafe; forced, later data is dropped as closed", s: trig(withL(d, sec(5)), AfterWatermark{}), wantUnsafe: true, closed: 1, steps: []step{
			batch(none_(), e("1", sec(1))),
			wm(sec(10), "a [1] 9999 FL ON_TIME 0 0"),
			batch(none_(), e("2", sec(5))),
			wm(window.MaxTime),
		}},
		{name: "6 early AfterCount(2), discarding: early pane, then the rest on time", s: trig(d, early2), steps: []step{
			batch(none_(), e("1", sec(1))),
			batch(panes("a [1,2] 9999 F EARLY 0 -1"), e("2", sec(2))),
			batch(none_(), e("3", sec(4))),
			wm(sec(10), "a [3] 9999 L ON_TIME 1 0"),
		}},
		{name: "7 empty on-time pane with FIRE_ALWAYS", s: trig(d, early2), steps: []step{
			batch(panes("a [1,2] 9999 F EARLY 0 -1"), e("1", sec(1)), e("2", sec(2))),
			wm(sec(10), "a [] 9999 L ON_TIME 1 0"),
		}},
		{name: "7 no on-time pane with FIRE_IF_NONEMPTY", s: ifNonEmpty(trig(d, early2)), steps: []step{
			batch(panes("a [1,2] 9999 F EARLY 0 -1"), e("1", sec(1)), e("2", sec(2))),
			wm(sec(10)),
		}},
		{name: "8 accumulating early: the on-time pane holds every value", s: acc(trig(d, early2)), steps: []step{
			batch(panes("a [1,2] 9999 F EARLY 0 -1"), e("1", sec(1)), e("2", sec(2))),
			batch(none_(), e("3", sec(4))),
			wm(sec(10), "a [1,2,3] 9999 L ON_TIME 1 0"),
		}},
		{name: "9 global window Repeat(AfterCount(2)): early pairs, the rest on time at the end", s: global(trig(d, Repeat{AfterCount{N: 2}})), steps: []step{
			batch(none_(), e("1", 1)),
			batch(panes("a [1,2] "+eogw+" F EARLY 0 -1"), e("2", 2)),
			batch(none_(), e("3", 3)),
			batch(panes("a [3,4] "+eogw+" - EARLY 1 -1"), e("4", 4)),
			batch(none_(), e("5", 5)),
			wm(window.MaxTime, "a [5] "+eogw+" L ON_TIME 2 0"),
		}},
		{name: "9 global window Never: one pane at the end", s: global(trig(d, Never{})), steps: []step{
			batch(none_(), e("1", 1)), batch(none_(), e("2", 2)), batch(none_(), e("3", 3)),
			batch(none_(), e("4", 4)), batch(none_(), e("5", 5)),
			wm(window.MaxTime, "a [1,2,3,4,5] "+eogw+" FL ON_TIME 0 0"),
		}},
		{name: "10 one batch of three elements fires a pane per element", s: trig(d, Repeat{AfterCount{N: 1}}), steps: []step{
			batch(panes("a [1] 9999 F EARLY 0 -1", "a [2] 9999 - EARLY 1 -1", "a [3] 9999 - EARLY 2 -1"), e("1", 1), e("2", 2), e("3", 3)),
			wm(sec(10), "a [] 9999 L ON_TIME 3 0"),
		}},
		{name: "10 over merging windows a batch fires once, after merging", s: ifNonEmpty(sessions(trig(d, Repeat{AfterCount{N: 1}}))), steps: []step{
			batch(panes("a [1,2] 11999 F EARLY 0 -1"), e("1", sec(1)), e("2", sec(2))),
			wm(window.MaxTime),
		}},
		{name: "10 three batches fire three panes", s: ifNonEmpty(trig(d, Repeat{AfterCount{N: 1}})), steps: []step{
			batch(panes("a [1] 9999 F EARLY 0 -1"), e("1", 1)),
			batch(panes("a [2] 9999 - EARLY 1 -1"), e("2", 2)),
			batch(panes("a [3] 9999 - EARLY 2 -1"), e("3", 3)),
			wm(sec(10)),
		}},
		{name: "11 early AfterProcessingTime(+5s): early pane on the clock, the rest on time, nothing after close",
			s:           trig(d, AfterWatermark{Early: AfterProcessingTime{Transforms: []TimeTransform{Delay{D: sec(5)}}}}),
			checkNextPT: true, nextPTok: false,
			steps: []step{
				batch(none_(), e("1", sec(1))),
				clock(sec(4)),
				clock(sec(6), "a [1] 9999 F EARLY 0 -1"),
				batch(none_(), e("2", sec(2))),
				wm(sec(10), "a [2] 9999 L ON_TIME 1 0"),
				clock(sec(16)),
			}},
		{name: "12 AfterProcessingTime aligned to 10s: arrival at 3s targets 10s", s: trig(d, Repeat{AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: sec(10)}}}}),
			checkNextPT: true, nextPT: sec(10), nextPTok: true, pendingAfterAll: 1,
			steps: []step{
				clock(sec(3)),
				batch(none_(), e("1", sec(1))),
				clock(sec(9.999)),
			}},
		{name: "12 AfterProcessingTime aligned to 10s: fires well past the boundary", s: ifNonEmpty(trig(d, Repeat{AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: sec(10)}}}})),
			checkNextPT: true, nextPT: sec(20), nextPTok: true, pendingAfterAll: 1,
			steps: []step{
				clock(sec(3)),
				batch(none_(), e("1", sec(1))),
				clock(sec(15), "a [1] 9999 F EARLY 0 -1"),
				batch(none_(), e("2", sec(2))),
			}},
		{name: "13 AfterEach(AfterCount(2), AfterCount(3)) in the global window", s: global(trig(d, AfterEach{Ts: []Trigger{AfterCount{N: 2}, AfterCount{N: 3}}})), wantUnsafe: true, closed: 1, steps: []step{
			batch(none_(), e("1", 1)),
			batch(panes("a [1,2] "+eogw+" F EARLY 0 -1"), e("2", 2)),
			batch(none_(), e("3", 3)),
			batch(none_(), e("4", 4)),
			batch(panes("a [3,4,5] "+eogw+" L EARLY 1 -1"), e("5", 5)),
			batch(none_(), e("6", 6)),
			wm(window.MaxTime),
		}},
		{name: "14 Repeat(AfterCount(2)).OrFinally(AfterCount(3)): until fires on the third element",
			s: trig(d, OrFinally{Main: Repeat{AfterCount{N: 2}}, Until: AfterCount{N: 3}}), wantUnsafe: true, closed: 1, steps: []step{
				batch(none_(), e("1", 1)),
				batch(panes("a [1,2] 9999 F EARLY 0 -1"), e("2", 2)),
				batch(panes("a [3] 9999 L EARLY 1 -1"), e("3", 3)),
				batch(none_(), e("4", 4)),
				wm(window.MaxTime),
			}},
		{name: "14 AfterCount(2).OrFinally(Never) finishes after the first pane",
			s: trig(d, OrFinally{Main: AfterCount{N: 2}, Until: Never{}}), closed: 1, wantUnsafe: true, steps: []step{
				batch(none_(), e("1", 1)),
				batch(panes("a [1,2] 9999 FL EARLY 0 -1"), e("2", 2)),
				batch(none_(), e("3", 3)),
				wm(window.MaxTime),
			}},
		{name: "15 sessions: adjacent sessions stay apart until an element bridges them", s: sessions(d), steps: []step{
			batch(none_(), e("1", sec(1))),
			batch(none_(), e("11", sec(11))),
			batch(none_(), e("5", sec(5))),
			wm(sec(21), "a [1,11,5] 20999 FL ON_TIME 0 0"),
		}},
		{name: "16 sessions with early AfterCount(2), accumulating: merged windows restart panes",
			s: acc(sessions(trig(d, early2))), steps: []step{
				batch(none_(), e("1", sec(1))),
				batch(panes("a [1,2] 11999 F EARLY 0 -1"), e("2", sec(2))),
				batch(none_(), e("3", sec(3))),
				batch(panes("a [1,2,3,4] 13999 F EARLY 0 -1"), e("4", sec(4))),
				wm(window.MaxTime, "a [1,2,3,4] 13999 L ON_TIME 1 0"),
			}},
		{name: "17 sliding windows fire one by one", s: func() Strategy { s := d; s.WindowFn = window.SlidingFn(10*time.Second, 5*time.Second); return s }(), steps: []step{
			batch(none_(), e("7", sec(7))),
			wm(sec(10), "a [7] 9999 FL ON_TIME 0 0"),
			wm(sec(15), "a [7] 14999 FL ON_TIME 0 0"),
		}},
		{name: "18 EARLIEST: elements behind the output watermark take no hold", s: func() Strategy { s := d; s.Combiner = Earliest; return s }(), steps: []step{
			wm(sec(5)),
			batch(none_(), e("2", sec(2)), e("3", sec(3)), e("7", sec(7)), e("8", sec(8))),
			wm(sec(11), "a [2,3,7,8] 7000 FL ON_TIME 0 0"),
		}},
		{name: "18 EARLIEST: no hold possible gives the end of the window", s: func() Strategy { s := d; s.Combiner = Earliest; return s }(), steps: []step{
			wm(sec(8)),
			batch(none_(), e("2", sec(2)), e("3", sec(3)), e("7", sec(7))),
			wm(sec(11), "a [2,3,7] 9999 FL ON_TIME 0 0"),
		}},
		{name: "19 LATEST: the latest element's timestamp", s: func() Strategy { s := d; s.Combiner = Latest; return s }(), steps: []step{
			batch(none_(), e("1", sec(1)), e("2", sec(2)), e("3", sec(3))),
			wm(sec(10), "a [1,2,3] 3000 FL ON_TIME 0 0"),
		}},
		{name: "19 EARLIEST with lateness: on time at the earliest, late at the end of the window",
			s: func() Strategy { s := withL(d, sec(10)); s.Combiner = Earliest; return s }(), pendingAfterAll: 1, steps: []step{
				batch(none_(), e("1", sec(1)), e("2", sec(2))),
				wm(sec(10), "a [1,2] 1000 F ON_TIME 0 0"),
				batch(panes("a [5] 9999 - LATE 1 1"), e("5", sec(5))),
			}},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

// TestChainedGroupByKeysStayOnTime is the reference's case 20: a second
// GroupByKey over the same fixed windows sees the first one's pane on time,
// because the first held its output watermark until the pane.
func TestChainedGroupByKeysStayOnTime(t *testing.T) {
	d1, d2 := newDriver(t, javaDefaults()), newDriver(t, javaDefaults())
	// feed adds the first stage's panes to the second, whose input watermark
	// is the first's output watermark at the time the panes are committed.
	feed := func(ps []Pane) {
		es := make([]Element, len(ps))
		for i, p := range ps {
			es[i] = Element{Key: p.Key, Value: []byte("n"), Timestamp: p.Timestamp, Windows: []window.Window{p.Window}}
		}
		d2.iw = max(d2.iw, d1.ow)
		if got := fmtPanes(d2.add(es...)); len(got) != 0 {
			t.Fatalf("second GroupByKey fired on input: %q", got)
		}
	}
	feed(d1.add(d1.elem("a", "1", sec(1)), d1.elem("b", "2", sec(2))))
	if got := d1.r.Hold(); got != sec(9.999) {
		t.Fatalf("first GroupByKey Hold() = %d, want 9999", got)
	}
	d1.iw = sec(10)
	d1.settle()
	feed(d1.r.Advance(d1.times()))
	d1.settle()
	got := fmtPanes(d2.watermark(d1.ow))
	want := []string{"a [n] 9999 FL ON_TIME 0 0", "b [n] 9999 FL ON_TIME 0 0"}
	if !slices.Equal(got, want) {
		t.Errorf("second GroupByKey panes = %q, want %q", got, want)
	}
}

// TestBeamGoTriggerCases runs the scenarios of Beam Go's trigger
// integration tests (test/integration/primitives, windowinto.go) with the
// Beam Go SDK's strategy (on-time pane only if non-empty): each TestStream
// event adds its elements in one batch, and the tests count one pane per
// element where a trigger is ready after each, as Prism fires them.
func TestBeamGoTriggerCases(t *testing.T) {
	d := javaDefaults()
	d.OnTimeAlways = false
	trig := func(s Strategy, tr Trigger) Strategy { s.Trigger = tr; return s }
	global := func(s Strategy) Strategy { s.WindowFn = window.GlobalFn(); return s }
	at := func(ts window.Time, vs ...string) []ev {
		var out []ev
		for _, v := range vs {
			out = append(out, e(v, ts))
		}
		return out
	}
	cases := []scenario{
		{name: "TriggerAlways", s: trig(d, Always{}), steps: []step{
			batch(panes("a [1] 9999 F EARLY 0 -1", "a [2] 9999 - EARLY 1 -1", "a [3] 9999 - EARLY 2 -1"), at(sec(1), "1", "2", "3")...),
			wm(sec(11)),
		}},
		{name: "TriggerRepeat", s: global(trig(d, Repeat{AfterCount{N: 2}})), steps: []step{
			batch(panes("a [1,2] "+eogw+" F EARLY 0 -1"), at(sec(1), "1", "2", "3")...),
			wm(sec(2)),
			batch(panes("a [3,4] "+eogw+" - EARLY 1 -1", "a [5,6] "+eogw+" - EARLY 2 -1"), at(sec(6), "4", "5", "6")...),
			wm(sec(10)),
			wm(window.MaxTime),
		}},
		{name: "TriggerAfterEndOfWindow", s: trig(d, AfterWatermark{Early: AfterCount{N: 2}, Late: AfterCount{N: 1}}), steps: []step{
			batch(panes("a [1,2] 9999 F EARLY 0 -1"), at(sec(1), "1", "2", "3")...),
			wm(sec(11), "a [3] 9999 L ON_TIME 1 0"),
		}},
		{name: "TriggerAfterEach", s: global(trig(d, Repeat{AfterEach{Ts: []Trigger{AfterCount{N: 3}, Always{}}}})), steps: []step{
			batch(panes("a [1,2,3] "+eogw+" F EARLY 0 -1", "a [5] "+eogw+" - EARLY 1 -1", "a [8] "+eogw+" - EARLY 2 -1"),
				at(sec(1), "1", "2", "3", "5", "8")...),
			wm(sec(11)),
			wm(window.MaxTime),
		}},
		{name: "TriggerAfterAny", s: trig(d, Repeat{AfterAny{Ts: []Trigger{AfterCount{N: 3}, Always{}}}}), steps: []step{
			batch(panes("a [1] 9999 F EARLY 0 -1", "a [2] 9999 - EARLY 1 -1", "a [3] 9999 - EARLY 2 -1"), at(sec(1), "1", "2", "3")...),
			wm(sec(11)),
			batch(panes("a [5] 19999 F EARLY 0 -1", "a [8] 19999 - EARLY 1 -1"), at(sec(12), "5", "8")...),
			wm(window.MaxTime),
		}},
		{name: "TriggerAfterSynchronizedProcessingTime: the clock never moves, so each window fires at its end",
			s: trig(d, Repeat{AfterSynchronizedProcessingTime{}}), steps: []step{
				batch(none_(), at(sec(1), "1", "2", "3")...),
				wm(sec(11), "a [1,2,3] 9999 FL ON_TIME 0 0"),
				batch(none_(), at(sec(12), "5", "8")...),
				wm(window.MaxTime, "a [5,8] 19999 FL ON_TIME 0 0"),
			}},
		{name: "TriggerOrFinally", s: trig(d, OrFinally{Main: Always{}, Until: AfterCount{N: 2}}), closed: 1, wantUnsafe: true, steps: []step{
			batch(panes("a [1] 9999 F EARLY 0 -1", "a [2] 9999 L EARLY 1 -1"), at(sec(1), "1", "2", "3")...),
			wm(sec(11)),
			batch(panes("a [5] 19999 F EARLY 0 -1", "a [8] 19999 L EARLY 1 -1"), at(sec(12), "5", "8")...),
			wm(window.MaxTime),
		}},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}
