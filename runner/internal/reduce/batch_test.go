package reduce

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestOnePaneInBatch checks OnePaneInBatch against the reducer itself:
// for random strategies it accepts, random elements added while the input
// watermark is at its minimum and the clock stands still, then the
// watermark advanced to the end, must give exactly one pane per window,
// ON_TIME, first and last, index 0, at the window's end, with every value
// of the window. That is what the engine's batch shuffle emits in its
// place. Strategies it rejects must include some that fire otherwise (the
// check is not vacuous).
func TestOnePaneInBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	accepted, rejectedDiffer := 0, 0
	for i := range 3000 {
		s := randStrategy(rng)
		s.Trigger = notDueAtStart(s.Trigger)
		ok := OnePaneInBatch(s)
		keys := 1 + rng.IntN(3)
		var es []scriptElem
		for range 1 + rng.IntN(12) {
			es = append(es, scriptElem{key: string(rune('a' + rng.IntN(keys))), ts: window.Time(rng.IntN(60) - 20)})
		}
		err := batchOnePane(t, s, es, rng.IntN(4)+1)
		if ok && err != nil {
			t.Fatalf("case %d: OnePaneInBatch(%+v) but %v", i, s, err)
		}
		if ok {
			accepted++
		} else if err != nil {
			rejectedDiffer++
		}
	}
	if accepted < 300 || rejectedDiffer < 100 {
		t.Fatalf("accepted %d strategies, rejected %d that fire more than once: the draw does not test both sides", accepted, rejectedDiffer)
	}
}

// batchOnePane drives a reducer as the engine drives a bounded
// GroupByKey (elements in batches of size step at the minimum
// watermark, then the watermark to the end) and reports how its panes
// differ from one ON_TIME pane per window holding all its values.
func batchOnePane(t *testing.T, s Strategy, es []scriptElem, step int) error {
	d := newDriver(t, s)
	var got []Pane
	var all []Element
	for i, e := range es {
		all = append(all, d.elem(e.key, fmt.Sprint(i), e.ts))
	}
	for i := 0; i < len(all); i += step {
		got = append(got, d.add(all[i:min(i+step, len(all))]...)...)
	}
	got = append(got, d.watermark(window.MaxTime)...)
	// The windows each value lands in, merged as the reducer merges them.
	want := map[string][]string{}
	wins := map[string]window.Window{}
	for _, e := range all {
		for _, w := range e.Windows {
			k := string(e.Key) + "/" + fmt.Sprint(w)
			want[k] = append(want[k], string(e.Value))
			wins[k] = w
		}
	}
	if s.WindowFn.IsMerging() {
		want, wins = mergedWant(all, s.WindowFn)
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d panes for %d windows: %v", len(got), len(want), fmtPanes(got))
	}
	for _, p := range got {
		k := string(p.Key) + "/" + fmt.Sprint(p.Window)
		vs, ok := want[k]
		if !ok {
			return fmt.Errorf("pane for window %v not expected: %v", p.Window, fmtPanes(got))
		}
		var pv []string
		for _, v := range p.Values {
			pv = append(pv, string(v))
		}
		slices.Sort(pv)
		slices.Sort(vs)
		if !slices.Equal(pv, vs) {
			return fmt.Errorf("pane %s holds %v, want %v", fmtPane(p), pv, vs)
		}
		if p.Info != window.OnTimePane() || p.Timestamp != wins[k].MaxTimestamp() {
			return fmt.Errorf("pane %s, want the only pane, ON_TIME, at %d", fmtPane(p), wins[k].MaxTimestamp())
		}
	}
	return nil
}

// notDueAtStart returns t with every processing-time delay at least 1 ms
// and every alignment offset at least 1 ms, so that no processing-time
// timer is due at the driver's clock, which stands at 0: in a batch job
// processing-time timers fire only at the end, and the test's clock
// never moves.
func notDueAtStart(t Trigger) Trigger {
	subs := func(ts []Trigger) []Trigger {
		out := make([]Trigger, len(ts))
		for i, s := range ts {
			out[i] = notDueAtStart(s)
		}
		return out
	}
	switch t := t.(type) {
	case AfterProcessingTime:
		tts := make([]TimeTransform, len(t.Transforms))
		for i, tt := range t.Transforms {
			switch tt := tt.(type) {
			case Delay:
				tt.D = max(tt.D, 1)
				tts[i] = tt
			case AlignTo:
				tt.Offset = max(tt.Offset, 1)
				tts[i] = tt
			default:
				tts[i] = tt
			}
		}
		return AfterProcessingTime{Transforms: tts}
	case AfterWatermark:
		if t.Early != nil {
			t.Early = notDueAtStart(t.Early)
		}
		if t.Late != nil {
			t.Late = notDueAtStart(t.Late)
		}
		return t
	case Repeat:
		return Repeat{T: notDueAtStart(t.T)}
	case OrFinally:
		return OrFinally{Main: notDueAtStart(t.Main), Until: notDueAtStart(t.Until)}
	case AfterAny:
		return AfterAny{Ts: subs(t.Ts)}
	case AfterAll:
		return AfterAll{Ts: subs(t.Ts)}
	case AfterEach:
		return AfterEach{Ts: subs(t.Ts)}
	}
	return t
}

// mergedWant merges each key's windows as sessions merge (overlapping
// windows join) and returns the values and window of each merged window.
func mergedWant(all []Element, fn window.Fn) (map[string][]string, map[string]window.Window) {
	type iv struct {
		w  window.Window
		vs []string
	}
	byKey := map[string][]iv{}
	for _, e := range all {
		for _, w := range e.Windows {
			byKey[string(e.Key)] = append(byKey[string(e.Key)], iv{w, []string{string(e.Value)}})
		}
	}
	want := map[string][]string{}
	wins := map[string]window.Window{}
	for k, ivs := range byKey {
		slices.SortFunc(ivs, func(a, b iv) int { return int(a.w.Start - b.w.Start) })
		var out []iv
		for _, x := range ivs {
			if n := len(out); n > 0 && x.w.Start < out[n-1].w.End {
				out[n-1].w.End = max(out[n-1].w.End, x.w.End)
				out[n-1].vs = append(out[n-1].vs, x.vs...)
				continue
			}
			out = append(out, x)
		}
		for _, x := range out {
			key := k + "/" + fmt.Sprint(x.w)
			want[key] = x.vs
			wins[key] = x.w
		}
	}
	return want, wins
}

// TestResetIsNew: a reducer that ran one random script and was Reset runs
// a second script exactly as a new reducer does: the same panes, holds
// and dropped counts.
func TestResetIsNew(t *testing.T) {
	// First a key with more open windows than its recent-window cache
	// holds, so that the second script's look-ups reach the index, its
	// windows created in another order.
	wide := func(key string, reverse bool) []op {
		var ops []op
		for round := range 2 {
			for w := range 3 * recentWins {
				if reverse {
					w = 3*recentWins - 1 - w
				}
				ops = append(ops, op{kind: opAdd, elems: []scriptElem{{key: key, ts: window.Time(10*w + round)}}})
			}
		}
		return ops
	}
	never := Strategy{WindowFn: fixed10ms(), Trigger: Never{}}
	for i := range 600 {
		rng := rand.New(rand.NewPCG(uint64(i), 23))
		s := randStrategy(rng)
		first, ops := spread(randOps(rng, 5+rng.IntN(40))), spread(randOps(rng, 5+rng.IntN(40)))
		if i < 2 {
			s, first, ops = never, wide("a", false), wide("b", true)
		}
		used := newChecker(t, s)
		used.d.iw, used.d.ow = 0, 0
		for _, o := range first { // without run's drain: windows stay open
			if err := used.step(o); err != nil {
				t.Fatalf("case %d: first script: %v", i, err)
			}
		}
		if i%2 == 1 {
			used.d.watermark(window.MaxTime) // half of them emptied first
		}
		used.d.r.Reset()
		fresh, reused := newChecker(t, s), newChecker(t, s)
		reused.d.r = used.d.r
		for _, c := range []*checker{fresh, reused} {
			c.d.iw, c.d.ow = 0, 0
			if err := c.run(ops); err != nil {
				t.Fatalf("case %d, strategy %+v: %v", i, s, err)
			}
		}
		if !slices.Equal(fresh.log, reused.log) {
			t.Fatalf("case %d, strategy %+v: after Reset\n%q\nwant, as new,\n%q", i, s, reused.log, fresh.log)
		}
		fl, fc := fresh.d.r.Dropped()
		rl, rc := reused.d.r.Dropped()
		if fl != rl || fc != rc || fresh.d.r.Hold() != reused.d.r.Hold() || fresh.d.r.Pending() != reused.d.r.Pending() {
			t.Fatalf("case %d: after Reset dropped %d/%d, hold %d, pending %d; as new %d/%d, %d, %d",
				i, rl, rc, reused.d.r.Hold(), reused.d.r.Pending(), fl, fc, fresh.d.r.Hold(), fresh.d.r.Pending())
		}
	}
}

// spread multiplies the timestamps of ops' elements by 8, so that a key
// has more windows than its recent-window cache holds and look-ups go to
// the reducer's index too.
func spread(ops []op) []op {
	for i := range ops {
		for j := range ops[i].elems {
			ops[i].elems[j].ts *= 8
		}
	}
	return ops
}

func fixed10ms() window.Fn { return window.FixedFn(10 * time.Millisecond) }
