package reduce

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// op is one step of a random script: an input batch, or an advance of the
// input watermark or of the processing-time clock by d.
type op struct {
	kind  byte // opAdd, opWatermark, opClock
	elems []scriptElem
	d     window.Time
}

type scriptElem struct {
	key string
	ts  window.Time // relative to the input watermark at the step
}

const (
	opAdd byte = iota
	opWatermark
	opClock
)

// paneRecord is what the checker remembers of a key+window's panes.
type paneRecord struct {
	last    window.Pane
	values  []string
	emitted bool
	closed  bool
	onTime  bool // an ON_TIME pane was emitted
}

type kw struct {
	key string
	win window.Window
}

// checker runs a script on a Reducer and checks the invariants every
// strategy must keep; check returns the first violation.
type checker struct {
	s       Strategy
	d       *driver
	merging bool
	panes   map[kw]*paneRecord
	// emitted counts each (value, window) emitted, or each value when windows
	// merge; total counts element-windows fed in.
	emitted   map[string]int
	total     int64
	modelLate int64
	// needOnTime lists the key+windows that got an element before their end
	// of window: with FIRE_ALWAYS and a trigger that cannot finish each
	// must emit an ON_TIME pane.
	needOnTime map[kw]bool
	nextID     int
	log        []string
}

func newChecker(t testing.TB, s Strategy) *checker {
	return &checker{
		s: s, d: newDriver(t, s), merging: s.WindowFn.IsMerging(),
		panes: make(map[kw]*paneRecord), emitted: make(map[string]int),
		needOnTime: make(map[kw]bool),
	}
}

func (c *checker) run(ops []op) error {
	for i, o := range ops {
		if err := c.step(o); err != nil {
			return fmt.Errorf("step %d (%+v): %w", i, o, err)
		}
	}
	// Drain: the end of input.
	if err := c.call(func() []Pane { return c.d.watermark(window.MaxTime) }); err != nil {
		return fmt.Errorf("final watermark: %w", err)
	}
	return c.final()
}

func (c *checker) step(o op) error {
	switch o.kind {
	case opAdd:
		es := make([]Element, len(o.elems))
		for i, x := range o.elems {
			c.nextID++
			ts := max(window.MinTime+1, min(c.d.iw+x.ts, window.EndOfGlobalWindow))
			es[i] = c.d.elem(x.key, strconv.Itoa(c.nextID), ts)
			for _, w := range es[i].Windows {
				c.total++
				if c.d.r.gcTime(w) < c.d.iw {
					c.modelLate++
				}
				if c.d.iw <= w.MaxTimestamp() {
					c.needOnTime[kw{x.key, w}] = true
				}
			}
		}
		return c.call(func() []Pane { return c.d.add(es...) })
	case opWatermark:
		if err := c.call(func() []Pane { return c.d.watermark(c.d.iw + o.d) }); err != nil {
			return err
		}
	default:
		if err := c.call(func() []Pane { return c.d.clock(c.d.pt + o.d) }); err != nil {
			return err
		}
	}
	return c.nothingDue()
}

// nothingDue checks that after Advance no timer is left that was due.
func (c *checker) nothingDue() error {
	if t, ok := c.d.r.NextEventTime(); ok && t < c.d.iw {
		return fmt.Errorf("after Advance, event timer %d is before the input watermark %d", t, c.d.iw)
	}
	if t, ok := c.d.r.NextProcessingTime(); ok && t <= c.d.pt {
		return fmt.Errorf("after Advance, processing-time timer %d is not after the clock %d", t, c.d.pt)
	}
	return nil
}

// call runs one Reducer call and checks its panes against the clocks it ran
// with and the holds before and after.
func (c *checker) call(f func() []Pane) error {
	ps := f()
	ow := c.d.callOW
	for _, p := range ps {
		c.log = append(c.log, fmtPane(p)+" "+p.Window.String())
		if err := c.pane(p, ow); err != nil {
			return fmt.Errorf("pane %s in %v: %w", fmtPane(p), p.Window, err)
		}
	}
	h := c.d.r.Hold()
	if h < ow {
		return fmt.Errorf("Hold() = %d behind the output watermark %d of the call", h, ow)
	}
	if want := holdByScan(c.d.r); h != want {
		return fmt.Errorf("Hold() = %d, but the windows' holds and event timers give %d", h, want)
	}
	return nil
}

// holdByScan is Reducer.Hold computed from every live window's holds and
// event timer, with none of the queues Hold reads.
func holdByScan(r *Reducer) window.Time {
	h := window.MaxTime
	for i := range r.wins {
		if ws := &r.wins[i]; !ws.dead && !slices.Contains(r.free, int32(i)) {
			h = min(h, ws.holdMin(), ws.event)
		}
	}
	return h
}

func (c *checker) pane(p Pane, ow window.Time) error {
	w, info := p.Window, p.Info
	if p.Timestamp > w.MaxTimestamp() || p.Timestamp < w.Start {
		return fmt.Errorf("timestamp %d outside the window", p.Timestamp)
	}
	if info.Timing != window.TimingLate && p.Timestamp < ow {
		return fmt.Errorf("%v pane at %d is behind the output watermark %d", info.Timing, p.Timestamp, ow)
	}
	if info.Timing == window.TimingEarly && info.NonSpeculativeIndex != -1 {
		return fmt.Errorf("early pane with on-time index %d", info.NonSpeculativeIndex)
	}
	vals := make([]string, len(p.Values))
	for i, v := range p.Values {
		vals[i] = string(v)
		id := vals[i]
		if !c.merging {
			id += "@" + w.String()
		}
		c.emitted[id]++
		if !c.s.Accumulating && c.emitted[id] > 1 {
			return fmt.Errorf("value %s emitted twice in DISCARDING mode", id)
		}
	}
	k := kw{string(p.Key), w}
	rec := c.panes[k]
	if c.merging && rec != nil && !rec.closed && info.IsFirst {
		// A session window merged away can come back as a new window of
		// the same bounds; its panes start over. A closed one cannot.
		rec = nil
	}
	if rec == nil {
		rec = &paneRecord{}
		c.panes[k] = rec
	}
	if err := checkSequence(rec, info); err != nil {
		return err
	}
	if c.s.Accumulating && !slices.Equal(rec.values, vals[:min(len(vals), len(rec.values))]) {
		return fmt.Errorf("accumulating pane %q does not extend the previous %q", vals, rec.values)
	}
	rec.last, rec.values, rec.emitted, rec.closed = info, vals, true, info.IsLast
	rec.onTime = rec.onTime || info.Timing == window.TimingOnTime
	return nil
}

// checkSequence checks that the panes of one key+window go EARLY* ON_TIME?
// LATE* with consecutive indexes and Beam's on-time indexes, and that
// nothing follows the last pane.
func checkSequence(rec *paneRecord, info window.Pane) error {
	if rec.closed {
		return fmt.Errorf("pane after the last pane")
	}
	if !rec.emitted {
		if !info.IsFirst || info.Index != 0 {
			return fmt.Errorf("first pane is %+v", info)
		}
		if info.Timing != window.TimingEarly && info.NonSpeculativeIndex != 0 {
			return fmt.Errorf("first non-early pane has on-time index %d", info.NonSpeculativeIndex)
		}
		return nil
	}
	prev := rec.last
	if info.IsFirst || info.Index != prev.Index+1 {
		return fmt.Errorf("pane index %d (first %v) after %d", info.Index, info.IsFirst, prev.Index)
	}
	if info.Timing < prev.Timing || info.Timing == window.TimingOnTime && prev.Timing == window.TimingOnTime {
		return fmt.Errorf("timing %v after %v", info.Timing, prev.Timing)
	}
	if info.Timing != window.TimingEarly && info.NonSpeculativeIndex != prev.NonSpeculativeIndex+1 {
		return fmt.Errorf("on-time index %d after %d", info.NonSpeculativeIndex, prev.NonSpeculativeIndex)
	}
	return nil
}

func (c *checker) final() error {
	r := c.d.r
	if n := r.Pending(); n != 0 {
		return fmt.Errorf("Pending() = %d after the final watermark", n)
	}
	if h := r.Hold(); h != window.MaxTime {
		return fmt.Errorf("Hold() = %d after the final watermark", h)
	}
	if t, ok := r.NextEventTime(); ok {
		return fmt.Errorf("NextEventTime() = %d after the final watermark", t)
	}
	if t, ok := r.NextProcessingTime(); ok {
		return fmt.Errorf("NextProcessingTime() = %d after the final watermark", t)
	}
	if b := r.Bytes(); b != 0 {
		return fmt.Errorf("Bytes() = %d after the final watermark", b)
	}
	late, closed := r.Dropped()
	if late != c.modelLate {
		return fmt.Errorf("dropped late = %d, want %d (an on-time element was dropped, or a late one kept)", late, c.modelLate)
	}
	if _, isDefault := c.s.Trigger.(Default); (c.s.Trigger == nil || isDefault) && closed != 0 {
		return fmt.Errorf("the default trigger closed a window: %d dropped", closed)
	}
	if c.s.OnTimeAlways && firesAtEndOfWindow(c.s.Trigger) && !c.merging {
		for k := range c.needOnTime {
			if rec := c.panes[k]; rec == nil || !rec.onTime {
				return fmt.Errorf("no ON_TIME pane for %s in %v, which got an element before its end", k.key, k.win)
			}
		}
	}
	distinct := int64(len(c.emitted))
	if !c.s.Accumulating {
		// Every element-window that was not dropped is emitted exactly once.
		if distinct+late+closed != c.total {
			return fmt.Errorf("emitted %d + late %d + closed %d != input %d", distinct, late, closed, c.total)
		}
	} else if distinct+late+closed < c.total && !c.merging {
		return fmt.Errorf("accumulating: emitted %d + late %d + closed %d < input %d", distinct, late, closed, c.total)
	}
	return nil
}

// firesAtEndOfWindow reports a trigger that always fires when the watermark
// passes the end of the window and never finishes: with FIRE_ALWAYS each
// window that got an element in time has an ON_TIME pane. (Other triggers
// give one only if they happen to fire, or elements still hold the output
// watermark, at that point.)
func firesAtEndOfWindow(tr Trigger) bool {
	switch tr := tr.(type) {
	case nil, Default:
		return true
	case AfterWatermark:
		return tr.Late != nil
	}
	return false
}

// randStrategy draws a strategy: any window function, trigger tree,
// accumulation, lateness, combiner and behaviours.
func randStrategy(rng *rand.Rand) Strategy {
	fns := []window.Fn{
		window.FixedFn(10 * time.Millisecond),
		window.SlidingFn(10*time.Millisecond, 5*time.Millisecond),
		window.SessionsFn(7 * time.Millisecond),
		window.GlobalFn(),
	}
	return Strategy{
		WindowFn:        fns[rng.IntN(len(fns))],
		Trigger:         randTrigger(rng, 0),
		Accumulating:    rng.IntN(2) == 0,
		AllowedLateness: []window.Time{0, 5, 20}[rng.IntN(3)],
		Combiner:        TimestampCombiner(rng.IntN(3)),
		ClosingAlways:   rng.IntN(2) == 0,
		OnTimeAlways:    rng.IntN(2) == 0,
	}
}

func randTrigger(rng *rand.Rand, depth int) Trigger {
	n := 14
	if depth >= 3 {
		n = 7
	}
	sub := func() Trigger { return randTrigger(rng, depth+1) }
	subs := func() []Trigger {
		ts := make([]Trigger, 1+rng.IntN(3))
		for i := range ts {
			ts[i] = sub()
		}
		return ts
	}
	switch rng.IntN(n) {
	case 0:
		return Default{}
	case 1:
		return AfterWatermark{}
	case 2:
		return AfterCount{N: 1 + rng.Int64N(3)}
	case 3:
		return AfterProcessingTime{Transforms: []TimeTransform{Delay{D: window.Time(rng.IntN(10))}}}
	case 4:
		return AfterProcessingTime{Transforms: []TimeTransform{AlignTo{Period: 5, Offset: window.Time(rng.IntN(5))}}}
	case 5:
		return []Trigger{Always{}, Never{}, AfterSynchronizedProcessingTime{}}[rng.IntN(3)]
	case 6:
		if depth == 0 {
			return nil // Default at the root; sub-triggers must not be nil
		}
		return Default{}
	case 7:
		w := AfterWatermark{}
		if rng.IntN(2) == 0 {
			w.Early = sub()
		}
		if rng.IntN(2) == 0 {
			w.Late = sub()
		}
		return w
	case 8, 9:
		return Repeat{sub()}
	case 10:
		return AfterAny{Ts: subs()}
	case 11:
		return AfterAll{Ts: subs()}
	case 12:
		return AfterEach{Ts: subs()}
	}
	return OrFinally{Main: sub(), Until: sub()}
}

func randOps(rng *rand.Rand, n int) []op {
	ops := make([]op, n)
	keys := []string{"a", "b", "c"}
	for i := range ops {
		switch k := rng.IntN(10); {
		case k < 6:
			es := make([]scriptElem, 1+rng.IntN(4))
			for j := range es {
				es[j] = scriptElem{key: keys[rng.IntN(len(keys))], ts: window.Time(rng.IntN(45) - 15)}
			}
			ops[i] = op{kind: opAdd, elems: es}
		case k < 8:
			ops[i] = op{kind: opWatermark, d: window.Time(rng.IntN(15))}
		default:
			ops[i] = op{kind: opClock, d: window.Time(rng.IntN(10))}
		}
	}
	return ops
}

// TestRandomScripts runs random strategies on random scripts and checks the
// invariants of checker, and that the same script gives the same panes,
// also when the reducer spills every buffered value after each call.
func TestRandomScripts(t *testing.T) {
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for i := range iters {
		seed := uint64(i)
		rng := rand.New(rand.NewPCG(seed, 15))
		s := randStrategy(rng)
		ops := randOps(rng, 5+rng.IntN(40))
		// Start the watermark at 0 so that timestamps are small.
		c := newChecker(t, s)
		c.d.iw, c.d.ow = 0, 0
		if err := c.run(ops); err != nil {
			t.Fatalf("seed %d, strategy %+v: %v\npanes:\n%q", seed, s, err, c.log)
		}
		again := newChecker(t, s)
		again.d.iw, again.d.ow = 0, 0
		again.d.spill = i%2 == 0
		if err := again.run(ops); err != nil || !slices.Equal(c.log, again.log) {
			t.Fatalf("seed %d: a second run (spilling: %v) differs (%v):\n%q\n%q", seed, again.d.spill, err, c.log, again.log)
		}
	}
}

// decodeScript turns fuzz bytes into a strategy and a script.
func decodeScript(data []byte) (Strategy, []op) {
	seed := uint64(0)
	for i := 0; i < 8 && i < len(data); i++ {
		seed = seed<<8 | uint64(data[i])
	}
	s := randStrategy(rand.New(rand.NewPCG(seed, 15)))
	var ops []op
	keys := []string{"a", "b", "c"}
	for i := min(8, len(data)); i < len(data); i++ {
		b := data[i]
		switch b % 4 {
		case 0, 1:
			n := 1 + int(b>>2)%3
			o := op{kind: opAdd}
			for j := 0; j < n && i+1 < len(data); j++ {
				i++
				o.elems = append(o.elems, scriptElem{key: keys[data[i]%3], ts: window.Time(data[i]>>2) - 15})
			}
			ops = append(ops, o)
		case 2:
			ops = append(ops, op{kind: opWatermark, d: window.Time(b >> 3)})
		default:
			ops = append(ops, op{kind: opClock, d: window.Time(b >> 4)})
		}
	}
	return s, ops
}

func FuzzReducer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 4, 8, 12, 2, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 7, 1, 9, 200, 30, 0, 40, 250, 3, 3, 66})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ops := decodeScript(data)
		c := newChecker(t, s)
		c.d.iw, c.d.ow = 0, 0
		if err := c.run(ops); err != nil {
			t.Fatalf("strategy %+v: %v\npanes:\n%q", s, err, c.log)
		}
	})
}
