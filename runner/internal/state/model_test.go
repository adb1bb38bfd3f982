package state

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// model is the obvious implementation of the store over Go maps, for the
// randomized tests: cells keyed by their printed address.
type model struct {
	bags   map[string][]string            // bag cells
	maps   map[string]map[string][]string // multimap cells
	lists  map[string][]listEntry         // ordered-list cells, kept sorted
	timers map[string]Timer               // by printed identity
}

type listEntry struct {
	ts window.Time
	v  string
}

func newModel() *model {
	return &model{bags: map[string][]string{}, maps: map[string]map[string][]string{}, lists: map[string][]listEntry{}, timers: map[string]Timer{}}
}

func (m *model) clone() *model {
	c := newModel()
	for k, v := range m.bags {
		c.bags[k] = slices.Clone(v)
	}
	for k, v := range m.maps {
		c.maps[k] = map[string][]string{}
		for mk, vs := range v {
			c.maps[k][mk] = slices.Clone(vs)
		}
	}
	for k, v := range m.lists {
		c.lists[k] = slices.Clone(v)
	}
	maps.Copy(c.timers, m.timers)
	return c
}

func cellName(c Cell) string {
	return fmt.Sprintf("%s/%s/%q/%d", c.Transform, c.State, c.Key, int64(c.Window.Start))
}

func timerName(id TimerID) string { return fmt.Sprintf("%s/%s/%v", id.Key, id.Tag, id.Window.Start) }

// pop is PopTimer on the model: the earliest eligible timer of key.
func (m *model) pop(key string, now Times, gc func(window.Window) window.Time) (Timer, bool) {
	var cands []Timer
	for _, t := range m.timers {
		if string(t.Key) != key {
			continue
		}
		if t.Domain == EventTime && t.Fire < now.Input ||
			t.Domain == ProcessingTime && t.Fire <= now.Clock && gc(t.Window) >= now.Input {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return Timer{}, false
	}
	t := slices.MinFunc(cands, func(a, b Timer) int {
		return cmp.Or(cmp.Compare(a.Fire, b.Fire), cmp.Compare(a.Domain, b.Domain),
			cmp.Compare(a.Tag, b.Tag), cmp.Compare(a.Window.Start, b.Window.Start))
	})
	delete(m.timers, timerName(t.TimerID))
	return t, true
}

func (m *model) hold() window.Time {
	h := window.MaxTime
	for _, t := range m.timers {
		if !t.NoHold {
			h = min(h, t.Hold)
		}
	}
	return h
}

// TestModel runs random operation sequences against the model on both
// backends, with random commits, discards, expiries and snapshot restores
// into the other backend.
func TestModel(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 5
	}
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for seed := range seeds {
				runModel(t, open, uint64(seed), 400)
			}
		})
	}
}

func runModel(t *testing.T, open opener, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	o := Options{PageBytes: 1 + rng.IntN(12)}
	s := open(t, o)
	committed := newModel()
	m := committed.clone()
	b := s.Begin()
	wins := []window.Window{window.Interval(0, 100), window.Interval(100, 200)}
	keys := []string{"a", "b", "a\x00"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	anyCell := func(state StateID) Cell {
		return Cell{Transform: "t", State: state, Key: []byte(pick(keys)), Window: wins[rng.IntN(2)]}
	}
	val := func() []byte { return fmt.Appendf(nil, "v%d", rng.IntN(1000)) }
	fail := func(step int, what string, diff string) {
		t.Helper()
		t.Fatalf("seed %d step %d: %s (-model +store):\n%s", seed, step, what, diff)
	}
	for step := range steps {
		op := rng.IntN(16)
		if traceModel {
			t.Logf("step %d op %d", step, op)
		}
		switch op {
		case 0, 1:
			c, v := anyCell("bag"), val()
			must(t, b.Append(c, v))
			m.bags[cellName(c)] = append(m.bags[cellName(c)], string(v))
		case 2:
			c := anyCell("bag")
			must(t, b.Clear(c))
			delete(m.bags, cellName(c))
		case 3:
			c := anyCell("bag")
			if d := gocmp.Diff(m.bags[cellName(c)], bagOf(t, b, c), emptyEq); d != "" {
				fail(step, "bag "+cellName(c), d)
			}
		case 4:
			c, mk, v := anyCell("map"), pick(keys), val()
			must(t, b.Put(c, []byte(mk), v))
			if m.maps[cellName(c)] == nil {
				m.maps[cellName(c)] = map[string][]string{}
			}
			m.maps[cellName(c)][mk] = append(m.maps[cellName(c)][mk], string(v))
		case 5:
			c, mk := anyCell("map"), pick(keys)
			must(t, b.Remove(c, []byte(mk)))
			delete(m.maps[cellName(c)], mk)
		case 6:
			c, mk := anyCell("map"), pick(keys)
			if d := gocmp.Diff(m.maps[cellName(c)][mk], mapGet(t, b, c, mk), emptyEq); d != "" {
				fail(step, "map get", d)
			}
			want := slices.Sorted(maps.Keys(m.maps[cellName(c)]))
			if d := gocmp.Diff(want, mapKeys(t, b, c), emptyEq); d != "" {
				fail(step, "map keys", d)
			}
		case 7:
			c, ts, v := anyCell("list"), window.Time(rng.IntN(20)-5), val()
			must(t, b.AddAt(c, ts, v))
			l := m.lists[cellName(c)]
			i := len(l)
			for i > 0 && l[i-1].ts > ts {
				i--
			}
			m.lists[cellName(c)] = slices.Insert(l, i, listEntry{ts, string(v)})
		case 8:
			c := anyCell("list")
			from := window.Time(rng.IntN(20) - 5)
			to := from + window.Time(rng.IntN(10))
			if rng.IntN(2) == 0 {
				must(t, b.ClearRange(c, from, to))
				m.lists[cellName(c)] = slices.DeleteFunc(m.lists[cellName(c)], func(e listEntry) bool { return e.ts >= from && e.ts < to })
				break
			}
			var want []string
			for _, e := range m.lists[cellName(c)] {
				if e.ts >= from && e.ts < to {
					want = append(want, e.v)
				}
			}
			got := readAll(t, func(tok []byte) (Page, error) { return b.ReadRange(c, from, to, tok) })
			if d := gocmp.Diff(want, strs(got.Values), emptyEq); d != "" {
				fail(step, fmt.Sprintf("list range [%d,%d)", from, to), d)
			}
		case 9, 10:
			id := TimerID{Transform: "t", Family: "f", Tag: pick([]string{"x", "y"}), Key: []byte(pick(keys)), Window: wins[rng.IntN(2)]}
			tm := Timer{TimerID: id, Domain: Domain(1 + rng.IntN(2)), Fire: window.Time(rng.IntN(300)), NoHold: rng.IntN(4) == 0}
			tm.Hold = min(tm.Fire, id.Window.MaxTimestamp()) - window.Time(rng.IntN(3))
			if tm.Domain == EventTime && tm.Fire > id.Window.MaxTimestamp() {
				tm.Fire = id.Window.MaxTimestamp()
			}
			must(t, b.SetTimer(tm))
			m.timers[timerName(id)] = tm
		case 11:
			id := TimerID{Transform: "t", Family: "f", Tag: pick([]string{"x", "y"}), Key: []byte(pick(keys)), Window: wins[rng.IntN(2)]}
			ok, err := b.ClearTimer(id)
			must(t, err)
			if _, want := m.timers[timerName(id)]; ok != want {
				fail(step, "ClearTimer", fmt.Sprint(want, ok))
			}
			delete(m.timers, timerName(id))
		case 12:
			key := pick(keys)
			now := Times{Input: window.Time(rng.IntN(250)), Clock: window.Time(rng.IntN(300))}
			got, ok, err := b.PopTimer([]byte(key), now)
			must(t, err)
			want, wok := m.pop(key, now, s.GCTime)
			if d := gocmp.Diff(fmt.Sprint(wok, want), fmt.Sprint(ok, got)); d != "" {
				fail(step, fmt.Sprintf("PopTimer(%q, %+v)", key, now), d)
			}
		case 13:
			must(t, b.Commit())
			committed, b = m, s.Begin()
			m = committed.clone()
			if d := gocmp.Diff(committed.hold(), hold(t, s)); d != "" {
				fail(step, "Hold", d)
			}
			now := Times{Input: window.Time(rng.IntN(250)), Clock: window.Time(rng.IntN(300))}
			if d := gocmp.Diff(committed.index(now), storeIndex(t, s, now)); d != "" {
				fail(step, fmt.Sprintf("timer index at %+v", now), d)
			}
		case 14:
			b.Discard()
			b, m = s.Begin(), committed.clone()
		case 15:
			must(t, b.Commit())
			committed = m
			if rng.IntN(2) == 0 {
				s = restoreElsewhere(t, s, o)
			}
			iw := window.Time(rng.IntN(250))
			_, err := s.DropExpired(iw, 1+rng.IntN(3))
			must(t, err)
			committed.expire(iw, s.GCTime)
			b, m = s.Begin(), committed.clone()
		}
	}
	b.Discard()
}

const traceModel = false

// index describes what the engine asks of the timer index: the earliest
// firing time per domain and the keys with eligible timers (sorted).
func (m *model) index(now Times) string {
	next := map[Domain]window.Time{}
	due := map[string]bool{}
	for _, t := range m.timers {
		if f, ok := next[t.Domain]; !ok || t.Fire < f {
			next[t.Domain] = t.Fire
		}
		if (t.Domain == EventTime && t.Fire < now.Input) || (t.Domain == ProcessingTime && t.Fire <= now.Clock) {
			due[string(t.Key)] = true
		}
	}
	return fmt.Sprint(next, slices.Sorted(maps.Keys(due)))
}

// storeIndex is index's answer from the store.
func storeIndex(t *testing.T, s *Store, now Times) string {
	t.Helper()
	next := map[Domain]window.Time{}
	for _, d := range []Domain{EventTime, ProcessingTime} {
		f, ok, err := s.NextTime(d)
		must(t, err)
		if ok {
			next[d] = f
		}
	}
	keys, err := s.DueKeys(now, 0)
	must(t, err)
	var due []string
	for _, k := range keys {
		due = append(due, string(k))
	}
	slices.Sort(due)
	return fmt.Sprint(next, due)
}

// emptyEq makes nil and empty slices equal.
var emptyEq = gocmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

// expire drops every cell and timer of windows expired under iw.
func (m *model) expire(iw window.Time, gc func(window.Window) window.Time) {
	expired := func(start window.Time) bool {
		return gc(window.Interval(start, start+100)) < iw
	}
	drop := func(name string) bool {
		var start window.Time
		fmt.Sscanf(name[strings.LastIndexByte(name, '/')+1:], "%d", &start)
		return expired(start)
	}
	maps.DeleteFunc(m.bags, func(k string, _ []string) bool { return drop(k) })
	maps.DeleteFunc(m.maps, func(k string, _ map[string][]string) bool { return drop(k) })
	maps.DeleteFunc(m.lists, func(k string, _ []listEntry) bool { return drop(k) })
	maps.DeleteFunc(m.timers, func(_ string, t Timer) bool { return expired(t.Window.Start) })
}

// restoreElsewhere exports s and imports it into a store of the other
// backend, which replaces s.
func restoreElsewhere(t *testing.T, s *Store, o Options) *Store {
	t.Helper()
	var buf bytes.Buffer
	must(t, s.Export(&buf))
	other := backends()["pebble"]
	if _, ok := s.kv.(*pebbleBackend); ok {
		other = backends()["memory"]
	}
	dst := other(t, o)
	must(t, dst.Import(&buf))
	return dst
}
