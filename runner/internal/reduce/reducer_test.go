package reduce

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

func TestBytesAccountsKeysValuesAndState(t *testing.T) {
	d := newDriver(t, javaDefaults())
	if got := d.r.Bytes(); got != 0 {
		t.Fatalf("Bytes() of a new Reducer = %d, want 0", got)
	}
	const n, size = 1000, 100
	value := bytes.Repeat([]byte("v"), size)
	var keyBytes int64
	for i := range n {
		k := string(rune('a'+i%26)) + string(rune('a'+i/26))
		keyBytes += int64(len(k))
		e := d.elem(k, "", sec(1))
		e.Value = value
		d.add(e)
	}
	got := d.r.Bytes()
	if low := int64(n*size) + keyBytes; got < low {
		t.Errorf("Bytes() = %d, less than the %d bytes of keys and values", got, low)
	}
	// Per-entry overheads are counted, but not wildly: within 8x of the data.
	if high := 8 * int64(n*size); got > high {
		t.Errorf("Bytes() = %d, more than %d", got, high)
	}
	d.watermark(window.MaxTime)
	if got := d.r.Bytes(); got != 0 {
		t.Errorf("Bytes() after the final pane = %d, want 0", got)
	}
}

func TestAddCopiesInputAndPanesDoNotAlias(t *testing.T) {
	s := javaDefaults()
	s.Trigger, s.Accumulating = Repeat{AfterCount{N: 1}}, true
	d := newDriver(t, s)
	key, val := []byte("k"), []byte("one")
	first := d.add(Element{Key: key, Value: val, Timestamp: 1, Windows: d.fn.Assign(nil, 1)})
	key[0], val[0] = 'X', 'X' // the caller reuses its buffers
	if len(first) != 1 || string(first[0].Key) != "k" || string(first[0].Values[0]) != "one" {
		t.Fatalf("pane = %q, want key k with [one]", fmtPanes(first))
	}
	// A caller appending to a pane's value must not overwrite a later value.
	_ = append(first[0].Values[0], "!!!"...)
	second := d.add(d.elem("k", "two", 2))
	if got := fmtPanes(second); !slices.Equal(got, []string{"k [one,two] 9999 - EARLY 1 -1"}) {
		t.Errorf("second pane = %q", got)
	}
}

func TestTimersAndHoldsAreReported(t *testing.T) {
	s := javaDefaults()
	s.AllowedLateness = sec(5)
	s.Trigger = AfterWatermark{Early: AfterProcessingTime{Transforms: []TimeTransform{Delay{D: 100}}}, Late: AfterCount{N: 1}}
	d := newDriver(t, s)
	d.add(d.elem("a", "1", sec(1)), d.elem("b", "2", sec(12)))
	if got, ok := d.r.NextEventTime(); !ok || got != sec(9.999) {
		t.Errorf("NextEventTime() = %d, %v, want 9999 (end of the first window)", got, ok)
	}
	if got, ok := d.r.NextProcessingTime(); !ok || got != 100 {
		t.Errorf("NextProcessingTime() = %d, %v, want 100", got, ok)
	}
	if got := d.r.Hold(); got != sec(9.999) {
		t.Errorf("Hold() = %d, want 9999", got)
	}
	if got := d.r.Pending(); got != 2 {
		t.Errorf("Pending() = %d, want 2", got)
	}
	d.watermark(sec(10))
	// The first window fired on time; its GC timer is next and holds the
	// output watermark, as pending timers do.
	if got, ok := d.r.NextEventTime(); !ok || got != sec(14.999) {
		t.Errorf("NextEventTime() = %d, %v, want 14999 (GC of the first window)", got, ok)
	}
	if got := d.r.Hold(); got != sec(14.999) {
		t.Errorf("Hold() = %d, want 14999", got)
	}
	d.watermark(sec(15))
	if got := d.r.Hold(); got != sec(19.999) {
		t.Errorf("Hold() = %d, want 19999 (the second window)", got)
	}
}

func TestClosingAlwaysEmitsAnEmptyFinalPane(t *testing.T) {
	s := javaDefaults()
	s.AllowedLateness, s.ClosingAlways = sec(5), true
	d := newDriver(t, s)
	d.add(d.elem("a", "1", sec(1)))
	d.watermark(sec(12))
	// After the non-final ON_TIME pane, the GC timer (and the GC hold
	// EMIT_ALWAYS keeps for the final pane it promises) hold the watermark.
	if got := d.r.Hold(); got != sec(14.999) {
		t.Errorf("Hold() = %d, want the GC hold 14999", got)
	}
	if got := fmtPanes(d.watermark(sec(15))); !slices.Equal(got, []string{"a [] 9999 L LATE 1 1"}) {
		t.Errorf("final pane = %q", got)
	}
}

func TestSessionsDropOnlyTheClosedWindowItself(t *testing.T) {
	s := javaDefaults()
	s.WindowFn = window.SessionsFn(10 * time.Second)
	s.Trigger = AfterCount{N: 2}
	d := newDriver(t, s)
	d.add(d.elem("a", "1", sec(1)))
	if got := fmtPanes(d.add(d.elem("a", "1b", sec(1)))); !slices.Equal(got, []string{"a [1,1b] 10999 FL EARLY 0 -1"}) {
		t.Fatalf("panes = %q", got)
	}
	// The same session window again: closed, dropped.
	d.add(d.elem("a", "1c", sec(1)))
	if _, closed := d.r.Dropped(); closed != 1 {
		t.Errorf("dropped closed = %d, want 1", closed)
	}
	// An overlapping new session does not merge with the closed one.
	d.add(d.elem("a", "5", sec(5)))
	got := fmtPanes(d.add(d.elem("a", "6", sec(6))))
	if !slices.Equal(got, []string{"a [5,6] 15999 FL EARLY 0 -1"}) {
		t.Errorf("panes = %q, want the new session [5,16)", got)
	}
}

func TestMergingKeepsHoldsAndTimers(t *testing.T) {
	s := javaDefaults()
	s.WindowFn = window.SessionsFn(10 * time.Second)
	s.Combiner = Earliest
	d := newDriver(t, s)
	d.add(d.elem("a", "2", sec(2)))
	d.add(d.elem("a", "9", sec(9)))
	if got := d.r.Hold(); got != sec(2) {
		t.Errorf("Hold() = %d, want the earliest element 2000", got)
	}
	if got, ok := d.r.NextEventTime(); !ok || got != sec(18.999) {
		t.Errorf("NextEventTime() = %d, %v, want the merged window's end 18999", got, ok)
	}
	if got := d.r.Pending(); got != 1 {
		t.Errorf("Pending() = %d, want 1 merged window", got)
	}
	if got := fmtPanes(d.watermark(sec(19))); !slices.Equal(got, []string{"a [2,9] 2000 FL ON_TIME 0 0"}) {
		t.Errorf("panes = %q", got)
	}
}

func TestAdvanceFiresWindowsInTimestampOrder(t *testing.T) {
	d := newDriver(t, javaDefaults())
	d.add(d.elem("b", "25", sec(25)), d.elem("a", "15", sec(15)), d.elem("c", "5", sec(5)), d.elem("a", "6", sec(6)))
	got := fmtPanes(d.watermark(window.MaxTime))
	want := []string{
		"c [5] 9999 FL ON_TIME 0 0", "a [6] 9999 FL ON_TIME 0 0",
		"a [15] 19999 FL ON_TIME 0 0", "b [25] 29999 FL ON_TIME 0 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("panes = %q, want %q", got, want)
	}
}

func TestSessionsNeverReopenAClosedWindow(t *testing.T) {
	s := javaDefaults()
	s.WindowFn = window.SessionsFn(10 * time.Second)
	s.Trigger = AfterCount{N: 2}
	d := newDriver(t, s)
	if got := fmtPanes(d.add(d.elem("a", "1", sec(1)), d.elem("a", "3", sec(3)))); !slices.Equal(got, []string{"a [1,3] 12999 FL EARLY 0 -1"}) {
		t.Fatalf("panes = %q", got)
	}
	// New sessions that merge into exactly the closed [1s, 13s) are dropped.
	d.add(d.elem("a", "1b", sec(1)), d.elem("a", "3b", sec(3)))
	// A session inside it stays open; merging it into the closed bounds is
	// refused, dropping only the new element.
	d.add(d.elem("a", "3c", sec(3)))
	d.add(d.elem("a", "1c", sec(1)))
	if _, closed := d.r.Dropped(); closed != 3 {
		t.Errorf("dropped closed = %d, want 3", closed)
	}
	got := fmtPanes(d.add(d.elem("a", "4", sec(4))))
	if !slices.Equal(got, []string{"a [3c,4] 13999 FL EARLY 0 -1"}) {
		t.Errorf("panes = %q, want the session [3s, 14s)", got)
	}
}

func TestLogValueSummarisesState(t *testing.T) {
	d := newDriver(t, javaDefaults())
	d.add(d.elem("a", "1", sec(1)), d.elem("b", "2", sec(12)))
	got := slog.AnyValue(d.r).Resolve().String()
	for _, want := range []string{"keys=2", "windows=2", "hold=9999", "next_event_time=9999", "dropped_late=0"} {
		if !strings.Contains(got, want) {
			t.Errorf("LogValue() = %s, missing %s", got, want)
		}
	}
}

func TestAdvanceUpToCarriesOnWhereItStopped(t *testing.T) {
	// Sliding windows with early panes on processing time and late panes
	// per element: an Advance fires on-time, late, final and early panes,
	// and chunks of it must be the same panes in the same order.
	s := Strategy{
		WindowFn:        window.SlidingFn(10*time.Second, 2*time.Second),
		Trigger:         AfterWatermark{Early: AfterProcessingTime{Transforms: []TimeTransform{Delay{D: 100}}}, Late: AfterCount{N: 1}},
		AllowedLateness: sec(4),
		OnTimeAlways:    true,
	}
	feed := func(d *driver, advance func(Times) []Pane) []string {
		var all []Pane
		for round := range 6 {
			var es []Element
			for i := range 40 {
				ts := sec(float64(round*3)) + window.Time(i*97%3000)
				es = append(es, d.elem(string(rune('a'+i%13)), "v", ts))
			}
			all = append(all, d.add(es...)...)
			d.settle()
			d.iw, d.pt = sec(float64(round*3)), d.pt+150
			all = append(all, advance(d.times())...)
			d.settle()
		}
		d.iw, d.pt = window.MaxTime, d.pt+150
		all = append(all, advance(d.times())...)
		return fmtPanes(all)
	}
	whole := newDriver(t, s)
	want := feed(whole, func(tm Times) []Pane { return whole.r.Advance(tm) })
	if len(want) < 100 {
		t.Fatalf("the test fired %d panes; want at least 100", len(want))
	}
	for _, limit := range []int{1, 2, 7, 64} {
		d := newDriver(t, s)
		calls := 0
		got := feed(d, func(tm Times) []Pane {
			var out []Pane
			for {
				calls++
				before := len(out)
				var done bool
				out, done = d.r.AppendAdvanceUpTo(out, tm, limit)
				if !done && len(out)-before < limit {
					t.Fatalf("limit %d: stopped after %d panes, not done", limit, len(out)-before)
				}
				if done {
					return out
				}
			}
		})
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: panes differ from one Advance:\n got %q\nwant %q", limit, got, want)
		}
		if limit == 1 && calls < len(want)/2 {
			t.Errorf("limit 1: %d calls for %d panes; the limit did not stop it", calls, len(want))
		}
	}
}

func TestKeyNamesItsRecentWindows(t *testing.T) {
	fn := window.FixedFn(10 * time.Second)
	win := func(i int) window.Window { return fn.Assign(nil, sec(float64(10*i)))[0] }
	var ks keyState
	wins := make([]winState, 120) // the states the slots name
	lookup := func(w window.Window) (int32, bool) { return ks.lookup(w, winHash(w), wins) }
	for i := range recentWins + 2 { // two more windows than slots
		ks.n++
		wins[100+i] = winState{start: win(i).Start, end: win(i).End}
		ks.remember(win(i), int32(100+i))
	}
	// The two named first were evicted: asked for, the key cannot tell.
	for i := range recentWins + 2 {
		got, final := lookup(win(i))
		switch {
		case i < 2 && (got != noWin || final):
			t.Errorf("window %d: lookup = %d, %v; want noWin, not final", i, got, final)
		case i >= 2 && (got != int32(100+i) || !final):
			t.Errorf("window %d: lookup = %d, %v; want %d, final", i, got, final, 100+i)
		}
	}
	// Removing the two evicted ones and one named leaves every window of
	// the key named, so that a miss is final.
	ks.n -= 3
	ks.forget(100)
	ks.forget(101)
	ks.forget(105)
	if got, final := lookup(win(5)); got != noWin || !final {
		t.Errorf("removed window 5: lookup = %d, %v; want noWin, final", got, final)
	}
	if got, final := lookup(window.GlobalWindows()[0]); got != noWin || !final {
		t.Errorf("global window: lookup = %d, %v; want noWin, final", got, final)
	}
	ks.n++
	wins[7] = winState{start: win(20).Start, end: win(20).End}
	ks.remember(win(20), 7)
	if got, final := lookup(win(20)); got != 7 || !final {
		t.Errorf("window 20 in a freed slot: lookup = %d, %v; want 7, final", got, final)
	}
	// A slot whose tag matches but whose state holds another window (a
	// collision of tags) does not answer for it.
	for j := range ks.recent {
		if ks.recent[j].i1 == 7+1 {
			ks.recent[j].tag = winHash(win(30))
		}
	}
	if got, _ := lookup(win(30)); got != noWin {
		t.Errorf("window 30 with window 20's state under its tag: lookup = %d, want noWin", got)
	}
}

// TestManyWindowsPerKey holds up to 40 windows per key at once, more than a
// key's recent list names, so windows move between the list and the index
// as they are created, looked up and collected in random order; every
// value must come out once, in its own window's pane, and the index must
// be empty once every window is collected.
func TestManyWindowsPerKey(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := Strategy{WindowFn: window.FixedFn(time.Millisecond)}
		d := newDriver(t, s)
		d.iw = 0
		want := map[string][]string{} // "key@window start" -> values, in order
		got := map[string][]string{}
		collect := func(ps []Pane) {
			for _, p := range ps {
				k := fmt.Sprintf("%s@%d", p.Key, p.Window.Start)
				if _, dup := got[k]; dup {
					t.Fatalf("seed %d: a second pane for %s", seed, k)
				}
				for _, v := range p.Values {
					got[k] = append(got[k], string(v))
				}
			}
		}
		next := 0
		for round := range 30 {
			var batch []Element
			for range 1 + rng.IntN(60) {
				key := string(rune('a' + rng.IntN(3)))
				ts := d.iw + window.Time(rng.IntN(40))
				v := fmt.Sprint(next)
				next++
				want[fmt.Sprintf("%s@%d", key, ts)] = append(want[fmt.Sprintf("%s@%d", key, ts)], v)
				batch = append(batch, d.elem(key, v, ts))
			}
			collect(d.add(batch...))
			if round%3 == 2 {
				collect(d.watermark(d.iw + window.Time(rng.IntN(15))))
			}
		}
		collect(d.watermark(window.MaxTime))
		if len(got) != len(want) {
			t.Fatalf("seed %d: panes for %d windows, want %d", seed, len(got), len(want))
		}
		for k, vs := range want {
			if !slices.Equal(got[k], vs) {
				t.Fatalf("seed %d: window %s has %q, want %q", seed, k, got[k], vs)
			}
		}
		if d.r.index.len() != 0 || d.r.Pending() != 0 {
			t.Errorf("seed %d: %d index entries and %d windows left after the end", seed, d.r.index.len(), d.r.Pending())
		}
	}
}

// TestEpochWrap runs the same elements through two reducers, one of which
// has its Add epoch moved to just before the wrap after the second element:
// element 3 then lands in epoch 1 again, in the windows element 0 touched
// in epoch 1 before the wrap, and those must still fire. Both reducers
// must give the same panes.
func TestEpochWrap(t *testing.T) {
	s := Strategy{WindowFn: window.SlidingFn(20*time.Millisecond, 10*time.Millisecond), Trigger: Repeat{T: AfterCount{N: 2}}}
	run := func(wrap bool) []string {
		d := newDriver(t, s)
		var got []string
		for i := range 40 {
			for _, p := range d.add(d.elem(fmt.Sprint(i%3), fmt.Sprint(i), window.Time(i%25))) {
				got = append(got, fmtPane(p)+" "+p.Window.String())
			}
			if i == 1 && wrap {
				d.r.epoch = math.MaxUint32 - 1
			}
		}
		return got
	}
	want := run(false)
	if len(want) == 0 {
		t.Fatal("no panes")
	}
	if got := run(true); !slices.Equal(got, want) {
		t.Errorf("across the wrap:\n%v\nwant\n%v", got, want)
	}
}
