package reduce

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// joinMerger merges values into one, their sorted concatenation with
// commas: associative and commutative, as a CombineFn's merge is, and
// reversible, so that a pane's values can be compared with a reducer's
// that merges nothing.
type joinMerger struct{ calls int }

func (m *joinMerger) Merge(dst []byte, values [][]byte) ([]byte, error) {
	m.calls++
	var parts []string
	for _, v := range values {
		parts = append(parts, strings.Split(string(v), ",")...)
	}
	slices.Sort(parts)
	return append(dst, strings.Join(parts, ",")...), nil
}

// failMerger fails every merge.
type failMerger struct{}

func (failMerger) Merge([]byte, [][]byte) ([]byte, error) { return nil, errors.New("boom") }

// mergedLog runs ops on a reducer of s (with m, merging at mergeAt values,
// if m is set) and returns its panes rendered with their values split at
// commas and sorted, so that merged and unmerged values compare equal.
// checkBound checks after every call that no live window holds mergeAt
// values or more (the Reducer merges them once they reach mergeAt); spill
// spills every buffered value after each call, so that merges read their
// values back from the spill file.
func mergedLog(t *testing.T, s Strategy, ops []op, m Merger, mergeAt int32, checkBound, spill bool) []string {
	t.Helper()
	d := newDriver(t, s)
	d.iw, d.ow = 0, 0
	d.spill = spill
	if m != nil {
		d.r.SetMerger(m)
		d.r.mergeAt = mergeAt
	}
	var log []string
	record := func(ps []Pane) {
		for _, p := range ps {
			var vals []string
			for _, v := range p.Values {
				vals = append(vals, strings.Split(string(v), ",")...)
			}
			slices.Sort(vals)
			q := p
			q.Values = nil
			for _, v := range vals {
				q.Values = append(q.Values, []byte(v))
			}
			log = append(log, fmtPane(q)+" "+p.Window.String())
		}
		if !checkBound {
			return
		}
		for i := range d.r.wins {
			if ws := &d.r.wins[i]; !ws.dead && ws.vals.n >= mergeAt {
				t.Fatalf("window %v holds %d values, at least %d", ws.window(), ws.vals.n, mergeAt)
			}
		}
	}
	for _, o := range ops {
		d.replay(o, func(id int) string { return "v" + string(rune('a'+id%26)) + string(rune('a'+id/26%26)) }, record)
	}
	record(d.watermark(1 << 50))
	if err := d.r.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	return log
}

// replay runs o on d's reducer and hands the panes to record; an added
// element's value is value of its number, counted over d's elements from
// 1.
func (d *driver) replay(o op, value func(id int) string, record func([]Pane)) {
	switch o.kind {
	case opAdd:
		es := make([]Element, len(o.elems))
		for i, x := range o.elems {
			d.ids++
			es[i] = d.elem(x.key, value(d.ids), max(1, d.iw+x.ts))
		}
		record(d.add(es...))
	case opWatermark:
		record(d.watermark(d.iw + o.d))
	default:
		record(d.clock(d.pt + o.d))
	}
}

// TestMergerKeepsThePanes runs random strategies and scripts with a Merger
// that merges every two values (half of them spilling every value after
// each call) and without one: the panes are the same
// (key, window, timestamp, pane info) and carry the same values, merged or
// not; no window holds two values after a call, merged sessions included
// (their windows merge before the element that merged them is added).
func TestMergerKeepsThePanes(t *testing.T) {
	merges := 0
	for seed := range uint64(2000) {
		rng := rand.New(rand.NewPCG(seed, 21))
		s := randStrategy(rng)
		ops := randOps(rng, 5+rng.IntN(60))
		want := mergedLog(t, s, ops, nil, 0, false, false)
		m := &joinMerger{}
		got := mergedLog(t, s, ops, m, 2, true, seed%2 == 1)
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d, strategy %+v: panes with a Merger differ:\n%q\nwithout:\n%q", seed, s, got, want)
		}
		merges += m.calls
	}
	if merges < 1000 {
		t.Fatalf("only %d merges in all: the test does not exercise the Merger", merges)
	}
}

// A failed merge leaves the window's values as they were and is reported
// by Err as a *MergeError; no other merge is tried.
func TestMergerFailureKeepsTheValues(t *testing.T) {
	d := newDriver(t, javaDefaults())
	d.r.SetMerger(failMerger{})
	d.r.mergeAt = 2
	d.add(d.elem("a", "1", sec(1)), d.elem("a", "2", sec(2)), d.elem("a", "3", sec(3)))
	var me *MergeError
	if err := d.r.Err(); !errors.As(err, &me) || me.Values != 2 {
		t.Fatalf("Err = %v, want a *MergeError of 2 values", err)
	}
	got := fmtPanes(d.watermark(sec(10)))
	if want := []string{"a [1,2,3] 9999 FL ON_TIME 0 0"}; !slices.Equal(got, want) {
		t.Errorf("panes %q, want %q", got, want)
	}
}
