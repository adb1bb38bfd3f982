package reduce

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

// sumMerger is an IntMerger of sums written in decimal: the encoding of a
// large or negative sum is longer than a varint's longest, so that panes'
// encodings also cross the Reducer's blocks.
type sumMerger struct{ merges int }

func (m *sumMerger) Merge(dst []byte, values [][]byte) ([]byte, error) {
	return mergeSum(m, dst, values)
}

// mergeSum is the Merge of an IntMerger of sums: it decodes values with
// m, adds them and appends the sum's encoding to dst.
func mergeSum(m IntMerger, dst []byte, values [][]byte) ([]byte, error) {
	var sum int64
	for _, v := range values {
		x, err := m.DecodeInt(v)
		if err != nil {
			return nil, err
		}
		sum += x
	}
	return m.AppendInt(dst, sum), nil
}

func (*sumMerger) DecodeInt(v []byte) (int64, error) { return strconv.ParseInt(string(v), 10, 64) }

func (*sumMerger) AppendInt(dst []byte, a int64) []byte { return strconv.AppendInt(dst, a, 10) }

func (m *sumMerger) MergeInts(a, b int64) (int64, error) {
	m.merges++
	return a + b, nil
}

// failIntMerger decodes, but fails every merge.
type failIntMerger struct{ sumMerger }

func (*failIntMerger) MergeInts(int64, int64) (int64, error) { return 0, errors.New("boom") }

// summedLog runs ops on a reducer of s, with m if set, and returns its
// panes rendered with their values summed (values are decimal int64s, a
// pane of none sums to 0), so that panes of merged and buffered values
// compare equal. With cut in [0, len(ops)], the reducer is snapshotted
// before op cut and replaced by one restored from the snapshot, with
// restoreWith as its merger if set; with frozen, it is frozen there
// instead and goes on, and the frozen copy's snapshot, written at the
// end, must be the one taken at the cut.
func summedLog(t *testing.T, s Strategy, ops []op, m, restoreWith Merger, cut int, frozen, spill bool) []string {
	t.Helper()
	d := newDriver(t, s)
	d.iw, d.ow = 0, 0
	d.spill = spill
	if m != nil {
		d.r.SetMerger(m)
		if _, ok := m.(IntMerger); ok && !s.WindowFn.IsMerging() && d.r.ints == nil {
			t.Fatalf("SetMerger(%T) on an empty reducer: values not merged as int64s", m)
		}
	}
	var log []string
	record := func(ps []Pane) {
		for _, p := range ps {
			var sum int64
			for _, v := range p.Values {
				x, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					t.Fatalf("pane value %q: %v", v, err)
				}
				sum += x
			}
			q := p
			q.Values = [][]byte{strconv.AppendInt(nil, sum, 10)}
			log = append(log, fmtPane(q)+" "+p.Window.String())
		}
	}
	var f Frozen
	var at snapbuf.Writer
	for j, o := range ops {
		if j == cut && frozen {
			d.r.Snapshot(&at)
			d.r.Freeze(&f)
		} else if j == cut {
			fresh := roundTrip(t, s, d.r, (*Reducer).Snapshot, restoreWith)
			d.r.Close()
			d.r = fresh
		}
		// Values over the whole int64 range: sums wrap, the same way
		// whichever way they are added.
		d.replay(o, func(id int) string {
			return strconv.FormatInt(int64(rand.New(rand.NewPCG(uint64(id), 5)).Uint64()), 10)
		}, record)
	}
	record(d.watermark(1 << 50))
	if err := d.r.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	if frozen && cut >= 0 && cut < len(ops) {
		var later snapbuf.Writer
		f.Snapshot(&later)
		if err := later.Flush(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(at.Buf, later.Buf) {
			t.Fatalf("the frozen snapshot changed with the reducer (%d bytes, %d at the freeze)", len(later.Buf), len(at.Buf))
		}
		f.Release()
	}
	return log
}

// TestIntMergerKeepsThePanes runs random strategies and scripts with an
// IntMerger and without a Merger: the panes are the same (key, window,
// timestamp, pane info), and their values sum to the same. Most runs are
// cut by a snapshot, restored into a reducer with the IntMerger, with
// none (the merged accumulator is then a window's one value), or from a
// reducer with none into one with it (the buffered values are merged as
// they are restored), or frozen there while the reducer goes on; half
// spill (nothing to spill with int64s).
func TestIntMergerKeepsThePanes(t *testing.T) {
	iters := 2000
	if testing.Short() {
		iters = 300
	}
	merges, intRuns := 0, 0
	for seed := range uint64(iters) {
		rng := rand.New(rand.NewPCG(seed, 31))
		s := randStrategy(rng)
		ops := randOps(rng, 5+rng.IntN(60))
		want := summedLog(t, s, ops, nil, nil, -1, false, false)
		m := &sumMerger{}
		var first, then Merger = m, m
		cut, frozen := -1, false
		switch seed % 5 {
		case 1:
			cut = rng.IntN(len(ops) + 1)
		case 2:
			cut, then = rng.IntN(len(ops)+1), nil
		case 3:
			cut, first = rng.IntN(len(ops)+1), nil
		case 4:
			cut, frozen = rng.IntN(len(ops)+1), true
		}
		got := summedLog(t, s, ops, first, then, cut, frozen, seed%2 == 1)
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d, strategy %+v, cut at %d of %d: panes with an IntMerger differ:\n%q\nwithout:\n%q", seed, s, cut, len(ops), got, want)
		}
		merges += m.merges
		if !s.WindowFn.IsMerging() {
			intRuns++
		}
	}
	if merges < 1000 || intRuns < iters/4 {
		t.Fatalf("%d merges in %d runs over windows that do not merge: the test does not exercise the IntMerger", merges, intRuns)
	}
}

// A window's panes carry one value under an IntMerger, its merged
// accumulator; a discarding window starts again after each pane, an
// accumulating one keeps it.
func TestIntMergerPanesCarryOneValue(t *testing.T) {
	for _, acc := range []bool{false, true} {
		s := javaDefaults()
		s.WindowFn = fixed10()
		s.Trigger = Repeat{T: AfterCount{N: 2}}
		s.Accumulating = acc
		d := newDriver(t, s)
		d.r.SetMerger(&sumMerger{})
		got := fmtPanes(d.add(d.elem("a", "1", sec(1)), d.elem("a", "2", sec(2)), d.elem("a", "30", sec(3)), d.elem("a", "400", sec(4))))
		want := []string{"a [3] 9999 F EARLY 0 -1", "a [430] 9999 - EARLY 1 -1"}
		if acc {
			want[1] = "a [433] 9999 - EARLY 1 -1"
		}
		if !slices.Equal(got, want) {
			t.Errorf("accumulating %v: panes %q, want %q", acc, got, want)
		}
		if n := d.r.vals.held; n != 0 {
			t.Errorf("accumulating %v: %d bytes of values buffered, want none", acc, n)
		}
	}
}

// A value that does not decode, or a failed merge, is reported by Err as
// a *MergeError, and the window keeps the accumulator it had; a snapshot
// value that does not decode fails the restore.
func TestIntMergerFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    IntMerger
		vals []string
		pane string
	}{
		{"undecodable", &sumMerger{}, []string{"1", "x", "2"}, "a [3] 9999 FL ON_TIME 0 0"},
		{"failed merge", &failIntMerger{}, []string{"1", "2", "3"}, "a [1] 9999 FL ON_TIME 0 0"},
	} {
		d := newDriver(t, javaDefaults())
		d.r.SetMerger(tc.m)
		for i, v := range tc.vals {
			d.add(d.elem("a", v, sec(float64(i+1))))
		}
		var me *MergeError
		if err := d.r.Err(); !errors.As(err, &me) || me.Values != 2 {
			t.Errorf("%s: Err = %v, want a *MergeError of 2 values", tc.name, err)
		}
		if got := fmtPanes(d.watermark(sec(10))); !slices.Equal(got, []string{tc.pane}) {
			t.Errorf("%s: panes %q, want %q", tc.name, got, tc.pane)
		}
	}

	d := newDriver(t, javaDefaults())
	d.add(d.elem("a", "1", sec(1)), d.elem("a", "x", sec(2)))
	var w snapbuf.Writer
	d.r.Snapshot(&w)
	fresh, err := New(javaDefaults())
	if err != nil {
		t.Fatal(err)
	}
	fresh.SetMerger(&sumMerger{})
	if err := fresh.Restore(snapbuf.NewReader(w.Buf, "reducer")); err == nil {
		t.Errorf("restoring the value %q into an IntMerger's reducer: no error", "x")
	}
}
