package reduce

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// machineFor compiles tr for a window with max timestamp 9999.
func machineFor(t *testing.T, tr Trigger, merging bool) *tctx {
	t.Helper()
	nodes, err := compile(tr)
	if err != nil {
		t.Fatalf("compile(%#v): %v", tr, err)
	}
	return &tctx{nodes: nodes, st: make([]nodeState, len(nodes)), iw: window.MinTime, maxTs: 9999, merging: merging}
}

// play runs a script of space-separated steps on c:
//
//	e      an element arrives (onElement)
//	w=N    the input watermark becomes N
//	p=N    processing time becomes N
//	y      shouldFire must hold; then onFire
//	n      shouldFire must not hold
//	D, O   the trigger must be finished (done) / not finished (open)
//	t=N    the last processing-time timer armed must be at N
func play(t *testing.T, c *tctx, script string) {
	t.Helper()
	for i, op := range strings.Fields(script) {
		num := func() window.Time {
			n, err := strconv.ParseInt(op[2:], 10, 64)
			if err != nil {
				t.Fatalf("bad step %q", op)
			}
			return window.Time(n)
		}
		switch {
		case op == "e":
			c.onElement(0)
		case strings.HasPrefix(op, "w="):
			c.iw = num()
		case strings.HasPrefix(op, "p="):
			c.pt = num()
		case op == "y":
			if !c.shouldFire(0) {
				t.Fatalf("step %d (%s) of %q: shouldFire = false, want true", i, op, script)
			}
			c.onFire(0)
		case op == "n":
			if c.shouldFire(0) {
				t.Fatalf("step %d (%s) of %q: shouldFire = true, want false", i, op, script)
			}
		case op == "D" || op == "O":
			if got := c.st[0].finished; got != (op == "D") {
				t.Fatalf("step %d (%s) of %q: finished = %v", i, op, script, got)
			}
		case strings.HasPrefix(op, "t="):
			if len(c.armed) == 0 || c.armed[len(c.armed)-1].t != num() {
				t.Fatalf("step %d (%s) of %q: armed timers %v", i, op, script, c.armed)
			}
		default:
			t.Fatalf("bad step %q", op)
		}
	}
}

func TestTriggerStateMachines(t *testing.T) {
	count := func(n int64) Trigger { return AfterCount{N: n} }
	delay := func(d window.Time) Trigger { return AfterProcessingTime{Transforms: []TimeTransform{Delay{D: d}}} }
	tests := []struct {
		name   string
		tr     Trigger
		script string
	}{
		{"Default fires on time and for every later batch, never finishing", Default{}, "e n w=10000 y O e y O"},
		{"nil is Default", nil, "e n w=9999 n w=10000 y O"},
		{"AfterWatermark fires once past the window's end and finishes", AfterWatermark{}, "e n w=9999 n w=10000 y D"},
		{"AfterWatermark early fires repeat, then on time, then late repeats",
			AfterWatermark{Early: count(2), Late: count(1)}, "e n e y O e n w=10000 y O e y O e y O"},
		{"AfterWatermark with early firings only finishes on time",
			AfterWatermark{Early: count(2)}, "e e y O e n w=10000 y D"},
		{"AfterWatermark with late firings only", AfterWatermark{Late: count(1)}, "e n w=10000 y O n e y O"},
		{"AfterWatermark's on-time firing resets the late trigger",
			AfterWatermark{Late: count(2)}, "e w=10000 y O e n e y O"},
		{"AfterCount fires on the Nth element and finishes", count(3), "e e n e y D"},
		{"AfterProcessingTime fires at the delayed first arrival", delay(5000), "p=0 e t=5000 n p=4999 n e p=5000 y D"},
		{"AfterProcessingTime aligns up to the period", AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: 10000}}}, "p=3000 e t=10000 p=9999 n p=10000 y D"},
		{"AfterProcessingTime keeps an aligned time", AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: 10000}}}, "p=10000 e t=10000 y D"},
		{"AfterProcessingTime aligns with an offset", AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: 1000, Offset: 500}}}, "p=2600 e t=3500"},
		{"AfterProcessingTime applies transforms in order", AfterProcessingTime{Transforms: []TimeTransform{Delay{D: 2000}, AlignTo{Period: 10000}}}, "p=9000 e t=20000"},
		{"AfterSynchronizedProcessingTime fires once the clock passes the arrival", AfterSynchronizedProcessingTime{}, "p=7 e t=8 n p=8 y D"},
		{"Always fires every time and never finishes", Always{}, "y O e y O"},
		{"Never never fires", Never{}, "e n w=10000 n p=100000 n O"},
		{"Repeat restarts a finished trigger", Repeat{count(2)}, "e n e y O e n e y O"},
		{"AfterAny fires on the first sub-trigger", AfterAny{Ts: []Trigger{count(2), delay(100)}}, "p=0 e n p=100 y D"},
		{"AfterAny fires on either sub-trigger", AfterAny{Ts: []Trigger{count(2), delay(100)}}, "p=0 e e y D"},
		{"AfterAll waits for every sub-trigger", AfterAll{Ts: []Trigger{count(2), delay(100)}}, "p=0 e e n p=100 y D"},
		{"AfterAll in the other order", AfterAll{Ts: []Trigger{count(2), delay(100)}}, "p=0 e p=100 n e y D"},
		{"AfterEach runs its sub-triggers in turn", AfterEach{Ts: []Trigger{count(2), count(1)}}, "e n e y O e y D"},
		{"Repeat(AfterEach) starts over", Repeat{AfterEach{Ts: []Trigger{count(1), count(2)}}}, "e y O e n e y O e y O"},
		{"OrFinally: until's count spans main's firings", OrFinally{Main: Repeat{count(2)}, Until: count(3)}, "e e y O e y D"},
		{"OrFinally finishes with its main trigger", OrFinally{Main: count(2), Until: Never{}}, "e e y D"},
		{"OrFinally until a watermark", OrFinally{Main: Repeat{count(1)}, Until: AfterWatermark{}}, "e y O n w=10000 y D"},
		{"Repeat(AfterProcessingTime) re-arms on the next element", Repeat{delay(10)}, "p=0 e t=10 p=10 y O p=15 e t=25 n p=25 y O"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { play(t, machineFor(t, tt.tr, false), tt.script) })
	}
}

func TestAfterEachUnderMergingClearsEverySubTriggerOnFiring(t *testing.T) {
	// Under merging every sub-trigger counts elements (a merge may revive
	// a finished one), and a firing clears them all: the pane is gone.
	c := machineFor(t, AfterEach{Ts: []Trigger{AfterCount{N: 1}, AfterCount{N: 2}}}, true)
	play(t, c, "e y O e n e y D")
}

func TestAfterWatermarkUnderMergingFeedsBothPhases(t *testing.T) {
	c := machineFor(t, AfterWatermark{Early: AfterCount{N: 5}, Late: AfterCount{N: 2}}, true)
	play(t, c, "e e")
	if got := c.st[2].count; got != 2 {
		t.Errorf("late count under merging = %d, want 2", got)
	}
	// The on-time firing clears the late trigger, as without merging.
	play(t, c, "w=10000 y O e n e y O")
}

// merge merges the states of two windows that ran the scripts a and b.
func merge(t *testing.T, tr Trigger, a, b string, iw window.Time) *tctx {
	t.Helper()
	ca, cb := machineFor(t, tr, true), machineFor(t, tr, true)
	play(t, ca, a)
	play(t, cb, b)
	m := machineFor(t, tr, true)
	m.iw = iw
	m.onMerge(0, [][]nodeState{ca.st, cb.st})
	return m
}

func TestTriggerMerging(t *testing.T) {
	t.Run("counts sum", func(t *testing.T) {
		play(t, merge(t, AfterCount{N: 3}, "e", "e", 0), "n e y D")
	})
	t.Run("a once-trigger finished in one window is finished", func(t *testing.T) {
		play(t, merge(t, Repeat{AfterEach{Ts: []Trigger{AfterCount{N: 1}, AfterCount{N: 1}}}}, "e y", "", 0), "e y O")
		m := merge(t, AfterEach{Ts: []Trigger{AfterCount{N: 1}, AfterCount{N: 2}}}, "e y", "", 0)
		if !m.st[1].finished {
			t.Errorf("merged AfterEach: first sub-trigger not finished")
		}
	})
	t.Run("the earliest processing-time target wins", func(t *testing.T) {
		tr := AfterProcessingTime{Transforms: []TimeTransform{Delay{D: 100}}}
		m := merge(t, tr, "p=50 e", "p=20 e", 0)
		play(t, m, "t=120 p=119 n p=120 y D")
	})
	t.Run("AfterWatermark re-activates before the merged window's end", func(t *testing.T) {
		play(t, merge(t, AfterWatermark{}, "w=10000 y", "w=10000 y", 9999), "O n w=10000 y D")
	})
	t.Run("AfterWatermark stays finished past the merged window's end", func(t *testing.T) {
		play(t, merge(t, AfterWatermark{}, "w=10000 y", "w=10000 y", 10000), "D")
	})
	t.Run("AfterAll is finished when all its sub-triggers are", func(t *testing.T) {
		tr := AfterAll{Ts: []Trigger{AfterCount{N: 1}, AfterCount{N: 1}}}
		if m := merge(t, Repeat{tr}, "e", "e", 0); m.st[1].finished {
			t.Errorf("merged AfterAll finished with unfinished sub-triggers")
		}
	})
	t.Run("AfterAny is finished when any sub-trigger is", func(t *testing.T) {
		tr := AfterEach{Ts: []Trigger{AfterAny{Ts: []Trigger{AfterCount{N: 1}, Never{}}}, AfterCount{N: 1}}}
		if m := merge(t, tr, "e y", "", 0); !m.st[1].finished {
			t.Errorf("merged AfterAny not finished though its AfterCount is")
		}
	})
	t.Run("AfterWatermark early counts sum and the early phase resumes", func(t *testing.T) {
		play(t, merge(t, AfterWatermark{Early: AfterCount{N: 2}}, "e e y e", "", 0), "n e y O")
	})
}

func TestCompileRejectsBadTriggers(t *testing.T) {
	bad := []Trigger{
		AfterCount{N: 0},
		Repeat{},
		AfterAny{},
		AfterAll{Ts: []Trigger{nil}},
		AfterEach{Ts: []Trigger{AfterCount{N: -1}}},
		OrFinally{Main: Default{}},
		AfterProcessingTime{Transforms: []TimeTransform{Delay{D: -1}}},
		AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: 0}}},
		&Default{},
		AfterWatermark{Early: AfterCount{}},
	}
	for _, tr := range bad {
		_, err := New(Strategy{Trigger: tr})
		var se *StrategyError
		if !errors.As(err, &se) {
			t.Errorf("New(trigger %#v) = %v, want a *StrategyError", tr, err)
		}
	}
	for _, s := range []Strategy{
		{AllowedLateness: -1},
		{Combiner: Latest + 1},
		{WindowFn: window.Fn{Kind: window.KindFixed}},
	} {
		var se *StrategyError
		if _, err := New(s); !errors.As(err, &se) {
			t.Errorf("New(%+v) = %v, want a *StrategyError", s, err)
		}
	}
}

func TestCheckSafe(t *testing.T) {
	tests := []struct {
		s    Strategy
		safe bool
	}{
		{Strategy{}, true},
		{Strategy{Trigger: Repeat{AfterCount{N: 1}}}, true},
		{Strategy{Trigger: Never{}, AllowedLateness: 5}, true},
		{Strategy{Trigger: AfterWatermark{}}, true},
		{Strategy{Trigger: AfterWatermark{}, AllowedLateness: 5}, false},
		{Strategy{Trigger: AfterWatermark{Early: AfterCount{N: 1}}, AllowedLateness: 5}, false},
		{Strategy{Trigger: AfterWatermark{Late: AfterCount{N: 1}}, AllowedLateness: 5}, true},
		{Strategy{Trigger: AfterCount{N: 1}}, false},
		{Strategy{Trigger: AfterEach{Ts: []Trigger{AfterCount{N: 1}, Repeat{AfterCount{N: 1}}}}}, true},
		{Strategy{Trigger: OrFinally{Main: Repeat{AfterCount{N: 1}}, Until: AfterCount{N: 9}}}, false},
	}
	for _, tt := range tests {
		if err := CheckSafe(tt.s); (err == nil) != tt.safe {
			t.Errorf("CheckSafe(%+v) = %v, want safe %v", tt.s, err, tt.safe)
		}
	}
}

// TestCountSaturates checks that an AfterCount node's 32-bit count stops
// at MaxInt32 instead of wrapping to a negative count that would never
// reach its trigger's N again.
func TestCountSaturates(t *testing.T) {
	for _, tc := range []struct{ c, n, want int32 }{
		{0, 1, 1},
		{math.MaxInt32 - 1, 1, math.MaxInt32},
		{math.MaxInt32, 1, math.MaxInt32},
		{math.MaxInt32 - 5, math.MaxInt32, math.MaxInt32},
	} {
		if got := addCount(tc.c, tc.n); got != tc.want {
			t.Errorf("addCount(%d, %d) = %d, want %d", tc.c, tc.n, got, tc.want)
		}
	}
}
