package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// opener opens a fresh store with the given options on one backend.
type opener func(t *testing.T, o Options) *Store

// backends are the backends every conformance test runs on.
func backends() map[string]opener {
	open := func(b Backend) opener {
		return func(t *testing.T, o Options) *Store {
			t.Helper()
			o.Backend = b
			if b == Pebble {
				o.Dir = t.TempDir()
				o.MemoryBudget = 16 << 20
			}
			s, err := Open(&o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
			return s
		}
	}
	return map[string]opener{"memory": open(Memory), "pebble": open(Pebble)}
}

// TestConformance runs the store's contract on every backend.
func TestConformance(t *testing.T) {
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runConformance(t, open)
		})
	}
}

// runConformance is the shared suite: every state kind and operation,
// paging, bundle atomicity, timers (reference §9 cases 21-27, 30, 31,
// 33-35 as far as they are the store's), expiry and snapshots.
func runConformance(t *testing.T, open opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open opener)
	}{
		{"bag appends read back in order, read-your-writes, clear", testBag},
		{"bag reads page with continuation tokens over committed and pending values", testBagPaging},
		{"value state keeps the last write", testValue},
		{"multimap put, get, remove, keys and clear", testMultimap},
		{"multimap keys page", testMultimapKeysPaging},
		{"ordered list sorts by timestamp, ties in insertion order (case 34)", testOrderedList},
		{"cells are scoped by transform, state, key and window", testScoping},
		{"a discarded bundle leaves no trace and a retry sees the old state (case 35)", testAtomicity},
		{"concurrent bundles on disjoint keys", testConcurrentBundles},
		{"a bundle refuses use after commit", testDone},
		{"event timer fires only when IW passes it (case 22)", testTimerBoundary},
		{"reset in a bundle moves the timer and its hold (case 23)", testTimerReset},
		{"a cleared timer never fires and releases its hold (case 24)", testTimerClear},
		{"a timer set during a drain at an eligible time fires in order (case 25)", testTimerLoop},
		{"a self-rescheduling timer fires exactly five times (case 26)", testTimerSelfReschedule},
		{"timer families are separate identities (case 27)", testTimerFamilies},
		{"the minimum hold is over all pending timers (case 21)", testHoldChain},
		{"timers that break window bounds are refused", testTimerValidation},
		{"processing-time timers fire at clock >= fire, not in expired windows (case 33)", testProcessingTime},
		{"at the end of processing time every processing-time timer is due", testProcessingTimeEnd},
		{"per-window state expires at GC time (case 30)", testWindowExpiry},
		{"expired windows are listed for OnWindowExpiration before the drop (case 31)", testExpiredList},
		{"a window's state written after its drop, in the same bundle or a later one, expires again", testExpiredAfterDrop},
		{"a failed bundle's timers do not fire and popped timers return", testTimerAtomicity},
		{"snapshots round-trip across backends", testSnapshot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var w0 = window.Interval(0, 10_000)

func cell(key string) Cell {
	return Cell{Transform: "t", State: "s", Key: []byte(key), Window: w0}
}

// readAll reads every page of a read.
func readAll(t *testing.T, read func(token []byte) (Page, error)) Page {
	t.Helper()
	var all Page
	var token []byte
	for i := 0; ; i++ {
		p, err := read(token)
		if err != nil {
			t.Fatalf("read page %d: %v", i, err)
		}
		all.Values = append(all.Values, p.Values...)
		all.Timestamps = append(all.Timestamps, p.Timestamps...)
		if p.Next == nil {
			return all
		}
		if i > 1_000_000 {
			t.Fatal("read does not end")
		}
		token = p.Next
	}
}

func strs(vs [][]byte) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, string(v))
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bagOf(t *testing.T, b *Bundle, c Cell) []string {
	t.Helper()
	return strs(readAll(t, func(tok []byte) (Page, error) { return b.Read(c, tok) }).Values)
}

func commit(t *testing.T, b *Bundle) {
	t.Helper()
	must(t, b.Commit())
}

func testBag(t *testing.T, open opener) {
	s := open(t, Options{})
	c := cell("k")
	b := s.Begin()
	must(t, b.Append(c, []byte("a")))
	must(t, b.Append(c, []byte("b")))
	if diff := cmp.Diff([]string{"a", "b"}, bagOf(t, b, c)); diff != "" {
		t.Errorf("pending bag (-want +got):\n%s", diff)
	}
	commit(t, b)
	b = s.Begin()
	must(t, b.Append(c, []byte("c")))
	if diff := cmp.Diff([]string{"a", "b", "c"}, bagOf(t, b, c)); diff != "" {
		t.Errorf("bag over commit (-want +got):\n%s", diff)
	}
	must(t, b.Clear(c))
	must(t, b.Append(c, []byte("d")))
	if diff := cmp.Diff([]string{"d"}, bagOf(t, b, c)); diff != "" {
		t.Errorf("bag after clear (-want +got):\n%s", diff)
	}
	commit(t, b)
	b = s.Begin()
	defer b.Discard()
	if diff := cmp.Diff([]string{"d"}, bagOf(t, b, c)); diff != "" {
		t.Errorf("committed bag after clear (-want +got):\n%s", diff)
	}
	if got := bagOf(t, b, cell("other")); len(got) != 0 {
		t.Errorf("empty bag = %q", got)
	}
}

func testBagPaging(t *testing.T, open opener) {
	s := open(t, Options{PageBytes: 10})
	c := cell("k")
	var want []string
	b := s.Begin()
	for i := range 50 {
		v := fmt.Sprintf("v%02d", i)
		want = append(want, v)
		must(t, b.Append(c, []byte(v)))
	}
	commit(t, b)
	b = s.Begin()
	defer b.Discard()
	for i := 50; i < 80; i++ {
		v := fmt.Sprintf("v%02d", i)
		want = append(want, v)
		must(t, b.Append(c, []byte(v)))
	}
	pages := 0
	var got []string
	var token []byte
	for {
		p, err := b.Read(c, token)
		must(t, err)
		pages++
		if len(p.Values) == 0 || len(p.Values) > 4 {
			t.Fatalf("page of %d values with PageBytes 10", len(p.Values))
		}
		got = append(got, strs(p.Values)...)
		// ReadBag serves the same page, its values back to back after
		// what dst held.
		data, next, err := b.ReadBag(c, token, []byte("dst"))
		must(t, err)
		if wantData := "dst" + strings.Join(strs(p.Values), ""); string(data) != wantData || string(next) != string(p.Next) {
			t.Fatalf("ReadBag from %q = %q, next %q; want %q, next %q", token, data, next, wantData, p.Next)
		}
		if token = p.Next; token == nil {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged bag (-want +got):\n%s", diff)
	}
	if _, _, err := b.ReadBag(cell("other"), token0(t, s), nil); !errors.Is(err, ErrBadToken) {
		t.Errorf("ReadBag with another cell's token: %v, want ErrBadToken", err)
	}
	if pages < 20 {
		t.Errorf("read in %d pages, want at least 20", pages)
	}
	if _, err := b.Read(cell("other"), token0(t, s)); !errors.Is(err, ErrBadToken) {
		t.Errorf("read with another cell's token: %v, want ErrBadToken", err)
	}
}

// token0 returns the first continuation token of cell("k").
func token0(t *testing.T, s *Store) []byte {
	b := s.Begin()
	defer b.Discard()
	p, err := b.Read(cell("k"), nil)
	must(t, err)
	if p.Next == nil {
		t.Fatal("no second page")
	}
	return p.Next
}

func testValue(t *testing.T, open opener) {
	s := open(t, Options{})
	c := cell("k")
	b := s.Begin()
	if _, ok, err := b.Value(c); ok || err != nil {
		t.Fatalf("Value of an empty cell = _, %v, %v; want absent", ok, err)
	}
	must(t, b.SetValue(c, []byte("1")))
	must(t, b.SetValue(c, []byte("2")))
	commit(t, b)
	b = s.Begin()
	must(t, b.SetValue(c, []byte("3")))
	v, ok, err := b.Value(c)
	if string(v) != "3" || !ok || err != nil {
		t.Errorf("Value = %q, %v, %v; want 3", v, ok, err)
	}
	b.Discard()
	b = s.Begin()
	defer b.Discard()
	v, ok, err = b.Value(c)
	if string(v) != "2" || !ok || err != nil {
		t.Errorf("Value after discard = %q, %v, %v; want 2", v, ok, err)
	}
}

func mapGet(t *testing.T, b *Bundle, c Cell, mk string) []string {
	t.Helper()
	return strs(readAll(t, func(tok []byte) (Page, error) { return b.Get(c, []byte(mk), tok) }).Values)
}

func mapKeys(t *testing.T, b *Bundle, c Cell) []string {
	t.Helper()
	return strs(readAll(t, func(tok []byte) (Page, error) { return b.Keys(c, tok) }).Values)
}

func testMultimap(t *testing.T, open opener) {
	s := open(t, Options{})
	c := cell("k")
	b := s.Begin()
	must(t, b.Put(c, []byte("y"), []byte("1")))
	must(t, b.Put(c, []byte("x"), []byte("2")))
	must(t, b.Put(c, []byte("y"), []byte("3")))
	must(t, b.Put(c, []byte("x\x00"), []byte("4"))) // a key extending another
	must(t, b.Put(c, []byte(""), []byte("5")))
	commit(t, b)
	b = s.Begin()
	defer b.Discard()
	if diff := cmp.Diff([]string{"", "x", "x\x00", "y"}, mapKeys(t, b, c)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "3"}, mapGet(t, b, c, "y")); diff != "" {
		t.Errorf("get y (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"2"}, mapGet(t, b, c, "x")); diff != "" {
		t.Errorf("get x (-want +got):\n%s", diff)
	}
	must(t, b.Remove(c, []byte("x")))
	if got := mapGet(t, b, c, "x"); len(got) != 0 {
		t.Errorf("get x after remove = %q", got)
	}
	if diff := cmp.Diff([]string{"4"}, mapGet(t, b, c, "x\x00")); diff != "" {
		t.Errorf("remove x touched x\\x00 (-want +got):\n%s", diff)
	}
	must(t, b.Put(c, []byte("x"), []byte("6")))
	if diff := cmp.Diff([]string{"", "x", "x\x00", "y"}, mapKeys(t, b, c)); diff != "" {
		t.Errorf("keys after re-put (-want +got):\n%s", diff)
	}
	must(t, b.Clear(c))
	if got := mapKeys(t, b, c); len(got) != 0 {
		t.Errorf("keys after clear = %q", got)
	}
}

func testMultimapKeysPaging(t *testing.T, open opener) {
	s := open(t, Options{PageBytes: 8})
	c := cell("k")
	var want []string
	b := s.Begin()
	for i := range 40 {
		mk := fmt.Sprintf("key%02d", i)
		want = append(want, mk)
		for j := range 3 {
			must(t, b.Put(c, []byte(mk), []byte{byte(j)}))
		}
		if i == 20 {
			commit(t, b)
			b = s.Begin()
		}
	}
	defer b.Discard()
	if diff := cmp.Diff(want, mapKeys(t, b, c)); diff != "" {
		t.Errorf("paged keys (-want +got):\n%s", diff)
	}
}

func testOrderedList(t *testing.T, open opener) {
	s := open(t, Options{})
	c := cell("k")
	b := s.Begin()
	must(t, b.AddAt(c, 5, []byte("b")))
	must(t, b.AddAt(c, 1, []byte("a")))
	must(t, b.AddAt(c, 5, []byte("c")))
	must(t, b.AddAt(c, -3, []byte("neg")))
	commit(t, b)
	b = s.Begin()
	defer b.Discard()
	read := func(from, to window.Time) Page {
		return readAll(t, func(tok []byte) (Page, error) { return b.ReadRange(c, from, to, tok) })
	}
	all := read(window.MinTime, window.MaxTime)
	if diff := cmp.Diff([]string{"neg", "a", "b", "c"}, strs(all.Values)); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]window.Time{-3, 1, 5, 5}, all.Timestamps); diff != "" {
		t.Errorf("timestamps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a"}, strs(read(1, 5).Values)); diff != "" {
		t.Errorf("readRange(1,5) (-want +got):\n%s", diff)
	}
	must(t, b.ClearRange(c, 0, 5))
	if diff := cmp.Diff([]string{"neg", "b", "c"}, strs(read(window.MinTime, window.MaxTime).Values)); diff != "" {
		t.Errorf("after clearRange(0,5) (-want +got):\n%s", diff)
	}
	must(t, b.AddAt(c, 2, []byte("d")))
	if diff := cmp.Diff([]string{"neg", "d", "b", "c"}, strs(read(window.MinTime, window.MaxTime).Values)); diff != "" {
		t.Errorf("add after clearRange (-want +got):\n%s", diff)
	}
}

func testScoping(t *testing.T, open opener) {
	s := open(t, Options{})
	base := cell("k")
	variants := map[string]Cell{"base": base}
	c := base
	c.Window = window.Interval(10_000, 20_000)
	variants["window"] = c
	c = base
	c.Window = window.Global()
	variants["global window"] = c
	c = base
	c.Key = []byte("k\x00")
	variants["key"] = c
	c = base
	c.State = "s2"
	variants["state"] = c
	c = base
	c.Transform = "t\x00s"
	variants["transform"] = c
	b := s.Begin()
	for name, c := range variants {
		must(t, b.Append(c, []byte(name)))
	}
	commit(t, b)
	b = s.Begin()
	defer b.Discard()
	for name, c := range variants {
		if diff := cmp.Diff([]string{name}, bagOf(t, b, c)); diff != "" {
			t.Errorf("cell %s (-want +got):\n%s", name, diff)
		}
	}
}

func testAtomicity(t *testing.T, open opener) {
	s := open(t, Options{})
	c := cell("k")
	b := s.Begin()
	must(t, b.Put(c, []byte("m"), []byte("old")))
	commit(t, b)
	// A bundle writes everything, then fails.
	b = s.Begin()
	must(t, b.Remove(c, []byte("m")))
	must(t, b.Put(c, []byte("m"), []byte("new")))
	must(t, b.Append(cell("k2"), []byte("x")))
	must(t, b.SetTimer(Timer{TimerID: TimerID{Transform: "t", Key: []byte("k"), Window: w0}, Domain: EventTime, Fire: 5, Hold: 5}))
	b.Discard()
	b = s.Begin()
	defer b.Discard()
	if diff := cmp.Diff([]string{"old"}, mapGet(t, b, c, "m")); diff != "" {
		t.Errorf("after failed bundle (-want +got):\n%s", diff)
	}
	if got := bagOf(t, b, cell("k2")); len(got) != 0 {
		t.Errorf("failed bundle's bag append visible: %q", got)
	}
	if h, err := s.Hold(); h != window.MaxTime || err != nil {
		t.Errorf("Hold after failed bundle = %v, %v; want MaxTime", h, err)
	}
}

func testConcurrentBundles(t *testing.T, open opener) {
	s := open(t, Options{CheckKeys: true})
	const workers, rounds = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("key%d", w)
			for r := range rounds {
				b := s.Begin()
				c := cell(key)
				err := errors.Join(
					b.Append(c, []byte{byte(r)}),
					b.SetValue(Cell{Transform: "t", State: "v", Key: c.Key, Window: w0}, []byte{byte(r)}),
					b.SetTimer(Timer{TimerID: TimerID{Transform: "t", Key: c.Key, Window: w0}, Domain: EventTime, Fire: window.Time(r), Hold: window.Time(r)}))
				if r%3 == 2 {
					b.Discard()
					continue
				}
				if err = errors.Join(err, b.Commit()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// A bundle holding key0 makes the others' use of key0 a conflict.
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	b := s.Begin()
	defer b.Discard()
	for w := range workers {
		want := 0
		for r := range rounds {
			if r%3 != 2 {
				want++
			}
		}
		if got := bagOf(t, b, cell(fmt.Sprintf("key%d", w))); len(got) != want {
			t.Errorf("key%d: %d values, want %d", w, len(got), want)
		}
	}
	other := s.Begin()
	defer other.Discard()
	if err := other.Append(cell("key0"), nil); !errors.Is(err, ErrKeyConflict) {
		t.Errorf("second bundle on key0: %v, want ErrKeyConflict", err)
	}
}

func testDone(t *testing.T, open opener) {
	s := open(t, Options{})
	b := s.Begin()
	commit(t, b)
	if err := b.Append(cell("k"), nil); !errors.Is(err, ErrDone) {
		t.Errorf("Append after Commit: %v, want ErrDone", err)
	}
	if err := b.Commit(); !errors.Is(err, ErrDone) {
		t.Errorf("second Commit: %v, want ErrDone", err)
	}
	b.Discard()
}

// eventTimer is a plain event-time timer of key k holding at its firing time.
func eventTimer(k string, fire window.Time) Timer {
	return Timer{TimerID: TimerID{Transform: "t", Family: "f", Key: []byte(k), Window: w0}, Domain: EventTime, Fire: fire, Hold: fire}
}

// drain pops and runs every eligible timer of key under now in one
// bundle, calling cb (which may set timers in the bundle) for each, and
// returns the fired timers' tags and times.
func drain(t *testing.T, s *Store, key string, now Times, cb func(*Bundle, Timer)) []string {
	t.Helper()
	b := s.Begin()
	var fired []string
	for {
		tm, ok, err := b.PopTimer([]byte(key), now)
		must(t, err)
		if !ok {
			break
		}
		fired = append(fired, fmt.Sprintf("%s%s@%d", tm.Family, tm.Tag, tm.Fire))
		if cb != nil {
			cb(b, tm)
		}
		if len(fired) > 1000 {
			t.Fatal("drain does not end")
		}
	}
	commit(t, b)
	return fired
}

func set(t *testing.T, s *Store, timers ...Timer) {
	t.Helper()
	b := s.Begin()
	for _, tm := range timers {
		must(t, b.SetTimer(tm))
	}
	commit(t, b)
}

func hold(t *testing.T, s *Store) window.Time {
	t.Helper()
	h, err := s.Hold()
	must(t, err)
	return h
}

func testTimerBoundary(t *testing.T, open opener) {
	s := open(t, Options{})
	set(t, s, eventTimer("k", 2000))
	if got := drain(t, s, "k", Times{Input: 2000}, nil); len(got) != 0 {
		t.Errorf("IW=20s fired %v", got)
	}
	if keys, _ := s.DueKeys(Times{Input: 2000}, 0); len(keys) != 0 {
		t.Errorf("DueKeys(IW=20s) = %q", keys)
	}
	if next, ok, err := s.NextTime(EventTime); next != 2000 || !ok || err != nil {
		t.Errorf("NextTime = %v, %v, %v; want 2000", next, ok, err)
	}
	keys, err := s.DueKeys(Times{Input: 2001}, 0)
	must(t, err)
	if diff := cmp.Diff([]string{"k"}, strs(keys)); diff != "" {
		t.Errorf("DueKeys(IW=20.001s) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"f@2000"}, drain(t, s, "k", Times{Input: 2001}, nil)); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if got := drain(t, s, "k", Times{Input: window.MaxTime}, nil); len(got) != 0 {
		t.Errorf("fired twice: %v", got)
	}
}

func testTimerReset(t *testing.T, open opener) {
	s := open(t, Options{})
	set(t, s, eventTimer("k", 2000), eventTimer("k", 3000))
	if h := hold(t, s); h != 3000 {
		t.Errorf("Hold = %v, want 3000 (moved with the reset)", h)
	}
	if got := drain(t, s, "k", Times{Input: 2500}, nil); len(got) != 0 {
		t.Errorf("IW=25s fired %v", got)
	}
	if diff := cmp.Diff([]string{"f@3000"}, drain(t, s, "k", Times{Input: 3100}, nil)); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if h := hold(t, s); h != window.MaxTime {
		t.Errorf("Hold after firing = %v, want MaxTime", h)
	}
}

func testTimerClear(t *testing.T, open opener) {
	s := open(t, Options{})
	set(t, s, eventTimer("k", 2000))
	b := s.Begin()
	ok, err := b.ClearTimer(eventTimer("k", 0).TimerID)
	if !ok || err != nil {
		t.Fatalf("ClearTimer = %v, %v", ok, err)
	}
	commit(t, b)
	if h := hold(t, s); h != window.MaxTime {
		t.Errorf("Hold after clear = %v, want MaxTime", h)
	}
	if got := drain(t, s, "k", Times{Input: window.MaxTime, Clock: window.MaxTime}, nil); len(got) != 0 {
		t.Errorf("cleared timer fired: %v", got)
	}
}

func testTimerLoop(t *testing.T, open opener) {
	s := open(t, Options{})
	a, bt := eventTimer("k", 500), eventTimer("k", 2000)
	a.Tag, bt.Tag = "A", "B"
	set(t, s, a, bt)
	got := drain(t, s, "k", Times{Input: window.MaxTime}, func(b *Bundle, tm Timer) {
		if tm.Tag == "A" {
			a2 := eventTimer("k", 1000)
			a2.Tag = "A2"
			must(t, b.SetTimer(a2))
		}
	})
	if diff := cmp.Diff([]string{"fA@500", "fA2@1000", "fB@2000"}, got); diff != "" {
		t.Errorf("firing order (-want +got):\n%s", diff)
	}
	// Resetting a later timer earlier, and clearing one, in a callback.
	set(t, s, eventTimer("k", 100), Timer{TimerID: TimerID{Transform: "t", Family: "g", Key: []byte("k"), Window: w0}, Domain: EventTime, Fire: 3000, Hold: 3000})
	x := eventTimer("k", 4000)
	x.Tag = "x"
	set(t, s, x)
	got = drain(t, s, "k", Times{Input: window.MaxTime}, func(b *Bundle, tm Timer) {
		if tm.Family == "f" && tm.Tag == "" {
			g := tm
			g.Family, g.Fire, g.Hold = "g", 200, 200
			must(t, b.SetTimer(g))
			_, err := b.ClearTimer(x.TimerID)
			must(t, err)
		}
	})
	if diff := cmp.Diff([]string{"f@100", "g@200"}, got); diff != "" {
		t.Errorf("reset and clear in a callback (-want +got):\n%s", diff)
	}
}

func testTimerSelfReschedule(t *testing.T, open opener) {
	s := open(t, Options{})
	set(t, s, eventTimer("k", 1000))
	n := 0
	got := drain(t, s, "k", Times{Input: window.MaxTime}, func(b *Bundle, tm Timer) {
		if n++; n < 5 {
			must(t, b.SetTimer(eventTimer("k", tm.Fire+1000)))
		}
	})
	if diff := cmp.Diff([]string{"f@1000", "f@2000", "f@3000", "f@4000", "f@5000"}, got); diff != "" {
		t.Errorf("firings (-want +got):\n%s", diff)
	}
}

func testTimerFamilies(t *testing.T, open opener) {
	s := open(t, Options{})
	x, y := eventTimer("k", 1000), eventTimer("k", 500)
	x.Tag, y.Tag = "x", "y"
	set(t, s, x, y)
	b := s.Begin()
	if ok, err := b.ClearTimer(x.TimerID); !ok || err != nil {
		t.Fatalf("ClearTimer(x) = %v, %v", ok, err)
	}
	tm, ok, err := b.Timer(y.TimerID)
	if !ok || err != nil || tm.Fire != 500 || tm.Tag != "y" {
		t.Errorf("Timer(y) = %+v, %v, %v", tm, ok, err)
	}
	commit(t, b)
	if diff := cmp.Diff([]string{"fy@500"}, drain(t, s, "k", Times{Input: window.MaxTime}, nil)); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
}

func testHoldChain(t *testing.T, open opener) {
	s := open(t, Options{})
	fn1 := Timer{TimerID: TimerID{Transform: "fn1", Key: []byte("k"), Window: window.Global()}, Domain: EventTime, Fire: 100_000, Hold: 5_000}
	fn2 := Timer{TimerID: TimerID{Transform: "fn2", Key: []byte("j"), Window: window.Global()}, Domain: EventTime, Fire: 50_000, Hold: 50_000}
	set(t, s, fn1, fn2)
	if h := hold(t, s); h != 5_000 {
		t.Errorf("Hold = %v, want 5000", h)
	}
	noHold := Timer{TimerID: TimerID{Transform: "fn3", Key: []byte("k"), Window: window.Global()}, Domain: EventTime, Fire: 1, NoHold: true}
	set(t, s, noHold)
	if h := hold(t, s); h != 5_000 {
		t.Errorf("Hold with a no-hold timer = %v, want 5000", h)
	}
	drain(t, s, "k", Times{Input: window.MaxTime}, nil)
	if h := hold(t, s); h != 50_000 {
		t.Errorf("Hold after k's timers fired = %v, want 50000", h)
	}
}

func testTimerValidation(t *testing.T, open opener) {
	s := open(t, Options{AllowedLateness: time.Second})
	b := s.Begin()
	defer b.Discard()
	for _, tm := range []Timer{
		eventTimer("k", 11_000), // after maxTs+L = 10.999s
		{TimerID: eventTimer("k", 0).TimerID, Domain: EventTime, Fire: 5000, Hold: 6000}, // hold after fire
		{TimerID: eventTimer("k", 0).TimerID, Domain: ProcessingTime, Fire: 1e9, Hold: 11_000},
		{TimerID: eventTimer("k", 0).TimerID, Domain: 7},
	} {
		var te *TimerError
		if err := b.SetTimer(tm); !errors.As(err, &te) {
			t.Errorf("SetTimer(%+v) = %v, want a TimerError", tm, err)
		}
	}
	if err := b.SetTimer(eventTimer("k", 10_999)); err != nil {
		t.Errorf("SetTimer at maxTs+L: %v", err)
	}
}

func ptTimer(k string, fire, hold window.Time) Timer {
	return Timer{TimerID: TimerID{Transform: "t", Family: "p", Key: []byte(k), Window: w0}, Domain: ProcessingTime, Fire: fire, Hold: hold}
}

func testProcessingTime(t *testing.T, open opener) {
	s := open(t, Options{})
	set(t, s, ptTimer("k", 100_000, 1000), eventTimer("k", 3000))
	if h := hold(t, s); h != 1000 {
		t.Errorf("Hold = %v, want the PT timer's 1000", h)
	}
	if got := drain(t, s, "k", Times{Input: 0, Clock: 99_999}, nil); len(got) != 0 {
		t.Errorf("clock 99.999s fired %v", got)
	}
	if next, ok, _ := s.NextTime(ProcessingTime); !ok || next != 100_000 {
		t.Errorf("NextTime(PT) = %v, %v", next, ok)
	}
	if diff := cmp.Diff([]string{"p@100000"}, drain(t, s, "k", Times{Input: 0, Clock: 100_000}, nil)); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	// Case 33: a PT timer of a window that expired never fires.
	set(t, s, ptTimer("j", 101_000, 1000))
	now := Times{Input: window.MaxTime, Clock: 200_000}
	got := drain(t, s, "j", now, nil)
	if len(got) != 0 {
		t.Errorf("PT timer of an expired window fired: %v", got)
	}
	if n, err := s.DropExpired(now.Input, 0); err != nil || n != 2 {
		t.Errorf("DropExpired = %d, %v; want 2 scopes", n, err)
	}
	if keys, _ := s.DueKeys(now, 0); len(keys) != 0 {
		t.Errorf("DueKeys after the drop = %q", keys)
	}
	if h := hold(t, s); h != window.MaxTime {
		t.Errorf("Hold after the drop = %v", h)
	}
}

// testProcessingTimeEnd: once a TestStream moved processing time to its
// end, timers set to fire there (the engine caps them at window.MaxTime)
// are listed and fire, so that none holds the output watermark forever.
func testProcessingTimeEnd(t *testing.T, open opener) {
	s := open(t, Options{})
	end := ptTimer("k", window.MaxTime, 5000)
	end.Window = window.Global()
	set(t, s, end)
	now := Times{Input: 0, Clock: window.MaxTime - 1}
	if keys, _ := s.DueKeys(now, 0); len(keys) != 0 {
		t.Errorf("DueKeys(clock MaxTime-1ms) = %q, want none", keys)
	}
	now.Clock = window.MaxTime
	keys, err := s.DueKeys(now, 0)
	must(t, err)
	if diff := cmp.Diff([]string{"k"}, strs(keys)); diff != "" {
		t.Errorf("DueKeys(clock MaxTime) (-want +got):\n%s", diff)
	}
	if got := drain(t, s, "k", now, nil); len(got) != 1 {
		t.Errorf("fired %v, want the one timer", got)
	}
	if h := hold(t, s); h != window.MaxTime {
		t.Errorf("Hold after firing = %v, want MaxTime", h)
	}
}

func testWindowExpiry(t *testing.T, open opener) {
	s := open(t, Options{})
	w1 := window.Interval(10_000, 20_000)
	count := func(ts window.Time, w window.Window) string {
		b := s.Begin()
		c := Cell{Transform: "t", State: "count", Key: []byte("a"), Window: w}
		v, _, err := b.Value(c)
		must(t, err)
		v = append(v, 'x')
		must(t, b.SetValue(c, v))
		commit(t, b)
		return string(v)
	}
	if got := count(1000, w0); got != "x" {
		t.Errorf("count in W0 = %q", got)
	}
	if got := count(11_000, w1); got != "x" {
		t.Errorf("count in W1 = %q, want x (not shared with W0)", got)
	}
	// W0's GC time is its maximum timestamp 9.999s (no lateness): IW 9.999s
	// has not passed it, IW 10s has. The engine fires timers due under the
	// same IW first, so a timer at 9.999s still sees the state.
	if n, err := s.DropExpired(9_999, 0); err != nil || n != 0 {
		t.Errorf("DropExpired(IW=9.999s) = %d, %v; want nothing", n, err)
	}
	if n, err := s.DropExpired(10_000, 0); err != nil || n != 1 {
		t.Errorf("DropExpired(IW=10s) = %d, %v; want W0 of key a", n, err)
	}
	if got := count(12_000, w1); got != "xx" {
		t.Errorf("second count in W1 = %q, want xx", got)
	}
	b := s.Begin()
	defer b.Discard()
	if _, ok, _ := b.Value(Cell{Transform: "t", State: "count", Key: []byte("a"), Window: w0}); ok {
		t.Error("W0's state survived its expiry")
	}
}

func testExpiredList(t *testing.T, open opener) {
	s := open(t, Options{})
	b := s.Begin()
	must(t, b.Append(Cell{Transform: "t", State: "bag", Key: []byte("a"), Window: w0}, []byte("1")))
	must(t, b.Append(Cell{Transform: "t", State: "bag", Key: []byte("a"), Window: w0}, []byte("2")))
	must(t, b.Append(Cell{Transform: "t", State: "bag", Key: []byte("b"), Window: w0}, []byte("3")))
	must(t, b.Append(Cell{Transform: "t", State: "bag", Key: []byte("a"), Window: window.Global()}, []byte("g")))
	must(t, b.SetTimer(eventTimer("a", 9_999)))
	commit(t, b)
	iw := window.Time(11_000)
	// The engine fires due timers first: the timer at maxTs sees the state.
	fired := drain(t, s, "a", Times{Input: iw}, func(b *Bundle, _ Timer) {
		if got := bagOf(t, b, Cell{Transform: "t", State: "bag", Key: []byte("a"), Window: w0}); len(got) != 2 {
			t.Errorf("timer at maxTs sees %q", got)
		}
	})
	if len(fired) != 1 {
		t.Errorf("fired %v", fired)
	}
	var got []string
	must(t, s.Expired(iw, func(sc Scope) bool {
		b := s.Begin()
		vals := bagOf(t, b, Cell{Transform: "t", State: "bag", Key: sc.Key, Window: sc.Window})
		got = append(got, fmt.Sprintf("%s:%v", sc.Key, vals))
		must(t, b.Drop(sc.Key, sc.Window))
		commit(t, b)
		return true
	}))
	slices.Sort(got)
	if diff := cmp.Diff([]string{"a:[1 2]", "b:[3]"}, got); diff != "" {
		t.Errorf("expired scopes (-want +got):\n%s", diff)
	}
	must(t, s.Expired(iw, func(sc Scope) bool {
		t.Errorf("scope %q %v listed after its drop", sc.Key, sc.Window)
		return true
	}))
	b = s.Begin()
	defer b.Discard()
	if got := bagOf(t, b, Cell{Transform: "t", State: "bag", Key: []byte("a"), Window: window.Global()}); len(got) != 1 {
		t.Errorf("global window state = %q, want kept", got)
	}
}

func testExpiredAfterDrop(t *testing.T, open opener) {
	s := open(t, Options{})
	iw := window.Time(11_000)
	bag := func(key string, w window.Window) Cell {
		return Cell{Transform: "t", State: "bag", Key: []byte(key), Window: w}
	}
	expired := func() []string {
		t.Helper()
		var got []string
		must(t, s.Expired(iw, func(sc Scope) bool {
			b := s.Begin()
			defer b.Discard()
			got = append(got, fmt.Sprintf("%s:%v", sc.Key, bagOf(t, b, bag(string(sc.Key), sc.Window))))
			return true
		}))
		return got
	}
	check := func(when string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, expired(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: expired scopes (-want +got):\n%s", when, diff)
		}
	}
	b := s.Begin()
	must(t, b.Append(bag("a", w0), []byte("1")))
	must(t, b.Append(bag("a", window.Global()), []byte("g"))) // the key outlives W0's drops
	commit(t, b)
	check("after the first write", "a:[1]")

	b = s.Begin()
	must(t, b.Drop([]byte("a"), w0))
	must(t, b.Append(bag("a", w0), []byte("2")))
	commit(t, b)
	check("after a drop and a write in one bundle", "a:[2]")

	b = s.Begin()
	must(t, b.Drop([]byte("a"), w0))
	commit(t, b)
	check("after a drop")
	b = s.Begin()
	must(t, b.Append(bag("a", w0), []byte("3")))
	commit(t, b)
	check("after a write in the bundle after the drop", "a:[3]")

	b = s.Begin()
	must(t, b.Append(bag("a", w0), []byte("4")))
	must(t, b.Drop([]byte("a"), w0))
	commit(t, b)
	check("after a write and a drop in one bundle")
	b = s.Begin()
	must(t, b.SetTimer(Timer{TimerID: TimerID{Transform: "t", Family: "f", Key: []byte("a"), Window: w0}, Domain: ProcessingTime, Fire: 5, NoHold: true}))
	commit(t, b)
	check("after a timer set in the dropped window", "a:[]")
}

func testTimerAtomicity(t *testing.T, open opener) {
	s := open(t, Options{})
	set(t, s, eventTimer("k", 100))
	b := s.Begin()
	tm, ok, err := b.PopTimer([]byte("k"), Times{Input: window.MaxTime})
	if !ok || err != nil {
		t.Fatalf("PopTimer = %v, %v", ok, err)
	}
	must(t, b.SetTimer(eventTimer("j", 50)))
	b.Discard() // the callback failed
	if h := hold(t, s); h != 100 {
		t.Errorf("Hold after a failed firing = %v, want 100", h)
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("f@%d", tm.Fire)}, drain(t, s, "k", Times{Input: window.MaxTime}, nil)); diff != "" {
		t.Errorf("retried firing (-want +got):\n%s", diff)
	}
	if got := drain(t, s, "j", Times{Input: window.MaxTime}, nil); len(got) != 0 {
		t.Errorf("failed bundle's timer fired: %v", got)
	}
}

func testSnapshot(t *testing.T, open opener) {
	src := open(t, Options{})
	b := src.Begin()
	must(t, b.Append(cell("k"), []byte("bag")))
	must(t, b.Put(cell("m"), []byte("mk"), []byte("mv")))
	must(t, b.AddAt(cell("l"), 7, []byte("lv")))
	must(t, b.SetTimer(eventTimer("k", 700)))
	must(t, b.SetTimer(ptTimer("k", 900, 3)))
	commit(t, src.Begin())
	commit(t, b)
	pending := src.Begin() // not in the snapshot
	must(t, pending.Append(cell("p"), []byte("uncommitted")))
	var buf bytes.Buffer
	must(t, src.Export(&buf))
	pending.Discard()
	snap := buf.Bytes()
	for name, open2 := range backends() {
		t.Run("into "+name, func(t *testing.T) {
			dst := open2(t, Options{})
			must(t, dst.Import(bytes.NewReader(snap)))
			if err := dst.Import(bytes.NewReader(snap)); !errors.Is(err, ErrNotEmpty) {
				t.Errorf("second Import: %v, want ErrNotEmpty", err)
			}
			var again bytes.Buffer
			must(t, dst.Export(&again))
			if !bytes.Equal(snap, again.Bytes()) {
				t.Error("export of the import differs from the snapshot")
			}
			if h := hold(t, dst); h != 3 {
				t.Errorf("Hold = %v, want 3", h)
			}
			b := dst.Begin()
			must(t, b.Append(cell("k"), []byte("after")))
			if diff := cmp.Diff([]string{"bag", "after"}, bagOf(t, b, cell("k"))); diff != "" {
				t.Errorf("bag after import (-want +got):\n%s", diff)
			}
			if got := bagOf(t, b, cell("p")); len(got) != 0 {
				t.Errorf("uncommitted write in snapshot: %q", got)
			}
			commit(t, b)
			if diff := cmp.Diff([]string{"f@700", "p@900"}, drain(t, dst, "k", Times{Input: 1000, Clock: 1000}, nil)); diff != "" {
				t.Errorf("timers after import (-want +got):\n%s", diff)
			}
		})
	}
	for i := range []int{0, len(snap) / 2, len(snap) - 1} {
		cut := []int{10, len(snap) / 2, len(snap) - 1}[i]
		dst := open(t, Options{})
		if err := dst.Import(bytes.NewReader(snap[:cut])); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("Import of %d of %d bytes: %v, want ErrBadSnapshot", cut, len(snap), err)
		}
	}
	bad := bytes.Clone(snap)
	bad[len(snapshotMagic)+3] ^= 1
	if err := open(t, Options{}).Import(bytes.NewReader(bad)); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("Import of a flipped bit: %v, want ErrBadSnapshot", err)
	}
}
