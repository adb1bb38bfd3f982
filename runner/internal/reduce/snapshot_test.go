package reduce

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

// TestSnapshotRestoreContinuesIdentically runs random strategies on random
// scripts twice: once straight through, once with the reducer snapshotted
// after a random step and replaced by a reducer restored from the
// snapshot. Both runs must emit the same panes, in the same order, and
// agree on holds and timers at the cut.
func TestSnapshotRestoreContinuesIdentically(t *testing.T) {
	iters := 2000
	if testing.Short() {
		iters = 200
	}
	checkRestoreContinues(t, iters, (*Reducer).Snapshot)
}

// TestRestoreReadsVersion1 is TestSnapshotRestoreContinuesIdentically with
// the snapshot written in the format before the slab order (windows
// grouped by key), which checkpoints written by earlier builds hold.
func TestRestoreReadsVersion1(t *testing.T) {
	iters := 1000
	if testing.Short() {
		iters = 200
	}
	checkRestoreContinues(t, iters, func(r *Reducer, w *snapbuf.Writer) {
		var f Frozen
		r.Freeze(&f)
		f.snapshotV1(w)
	})
}

// checkRestoreContinues runs the scripts of TestSnapshotRestoreContinuesIdentically,
// the snapshot at the cut written by snap.
func checkRestoreContinues(t *testing.T, iters int, snap func(*Reducer, *snapbuf.Writer)) {
	t.Helper()
	for i := range iters {
		seed := uint64(i)
		rng := rand.New(rand.NewPCG(seed, 99))
		s := randStrategy(rng)
		ops := randOps(rng, 5+rng.IntN(40))
		cut := rng.IntN(len(ops) + 1)

		whole := newChecker(t, s)
		whole.d.iw, whole.d.ow = 0, 0
		if err := whole.run(ops); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}

		c := newChecker(t, s)
		c.d.iw, c.d.ow = 0, 0
		c.d.spill = i%2 == 1 // the snapshot reads spilled values back
		for j, o := range ops[:cut] {
			if err := c.step(o); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, j, err)
			}
		}
		old := c.d.r
		c.d.r = roundTrip(t, s, old, snap, nil)
		if h, g := old.Hold(), c.d.r.Hold(); h != g {
			t.Fatalf("seed %d: hold %v after restore, %v before", seed, g, h)
		}
		if a, b := old.Pending(), c.d.r.Pending(); a != b {
			t.Fatalf("seed %d: %d windows after restore, %d before", seed, b, a)
		}
		pa, oka := old.NextProcessingTime()
		pb, okb := c.d.r.NextProcessingTime()
		if pa != pb || oka != okb {
			t.Fatalf("seed %d: next processing time %v,%v after restore, %v,%v before", seed, pb, okb, pa, oka)
		}
		for j, o := range ops[cut:] {
			if err := c.step(o); err != nil {
				t.Fatalf("seed %d step %d after the cut at %d: %v", seed, cut+j, cut, err)
			}
		}
		if err := c.call(func() []Pane { return c.d.watermark(window.MaxTime) }); err != nil {
			t.Fatalf("seed %d: final watermark: %v", seed, err)
		}
		if err := c.final(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !slices.Equal(whole.log, c.log) {
			t.Fatalf("seed %d, strategy %+v, cut at %d of %d: panes differ\nstraight: %q\nrestored: %q", seed, s, cut, len(ops), whole.log, c.log)
		}
	}
}

// roundTrip snapshots r with snap and restores the snapshot into a new
// reducer, given m first if it is set.
func roundTrip(t *testing.T, s Strategy, r *Reducer, snap func(*Reducer, *snapbuf.Writer), m Merger) *Reducer {
	t.Helper()
	var w snapbuf.Writer
	snap(r, &w)
	fresh, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	if m != nil {
		fresh.SetMerger(m)
	}
	rd := snapbuf.NewReader(w.Buf, "reducer")
	if err := fresh.Restore(rd); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if err := rd.Done(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	checkListOrder(t, fresh)
	return fresh
}

// checkListOrder fails t unless every key's window list is in creation
// order, as newWin keeps it (a restore must too).
func checkListOrder(t *testing.T, r *Reducer) {
	t.Helper()
	for k, ks := range r.keys {
		var prev uint64
		for i := ks.first; ks.n > 0 && i != noWin; i = r.wins[i].next {
			if s := r.wins[i].seq; s <= prev {
				t.Fatalf("key %d: window seq %d after %d in its list", k, s, prev)
			} else {
				prev = s
			}
		}
	}
}

// TestRestoreRejectsCorruptSnapshots cuts and flips bytes of a snapshot:
// Restore fails with ErrCorrupt or yields a reducer, never panics.
func TestRestoreRejectsCorruptSnapshots(t *testing.T) {
	s := javaDefaults()
	d := newDriver(t, s)
	d.iw, d.ow = 0, 0
	d.add(d.elem("k", "v1", 1), d.elem("k", "v2", 12_000), d.elem("j", "v3", 5))
	var w snapbuf.Writer
	d.r.Snapshot(&w)
	for cut := range len(w.Buf) {
		r, _ := New(s)
		rd := snapbuf.NewReader(w.Buf[:cut], "reducer")
		err := r.Restore(rd)
		if err == nil {
			err = rd.Done()
		}
		if !errors.Is(err, snapbuf.ErrCorrupt) {
			t.Fatalf("snapshot cut at %d of %d bytes: err %v, want ErrCorrupt", cut, len(w.Buf), err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := slices.Clone(w.Buf)
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		r, _ := New(s)
		_ = r.Restore(snapbuf.NewReader(b, "reducer"))
	}
}

// FuzzRestore feeds arbitrary bytes to Restore: it fails or succeeds, but
// never panics or allocates without bound.
func FuzzRestore(f *testing.F) {
	s := javaDefaults()
	r, _ := New(s)
	d := &driver{r: r, fn: s.WindowFn, iw: 0, ow: 0}
	d.add(d.elem("k", "v1", 1), d.elem("k", "v2", 12_000), d.elem("j", "v3", 5))
	var w snapbuf.Writer
	d.r.Snapshot(&w)
	f.Add(w.Buf)
	var fr Frozen
	d.r.Freeze(&fr)
	var v1 snapbuf.Writer
	fr.snapshotV1(&v1)
	f.Add(v1.Buf)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := New(s)
		rd := snapbuf.NewReader(data, "reducer")
		if r.Restore(rd) == nil && rd.Done() == nil {
			// What restores must survive another round trip unchanged.
			var again snapbuf.Writer
			r.Snapshot(&again)
			r2, _ := New(s)
			if err := r2.Restore(snapbuf.NewReader(again.Buf, "again")); err != nil {
				t.Fatalf("a restored reducer's own snapshot does not restore: %v", err)
			}
			if r.Hold() != r2.Hold() || r.Pending() != r2.Pending() {
				t.Fatalf("round trip changed hold %v->%v or windows %d->%d", r.Hold(), r2.Hold(), r.Pending(), r2.Pending())
			}
		}
	})
}

// TestFrozenSnapshotIgnoresLaterChanges freezes a reducer after a random
// step of a random script, runs the rest of the script on the reducer
// (adding values to the frozen windows' lists, firing, collecting and
// reusing windows, keys and arena pages) and then encodes the frozen
// state: it must be byte for byte the snapshot taken at the freeze.
func TestFrozenSnapshotIgnoresLaterChanges(t *testing.T) {
	iters := 1000
	if testing.Short() {
		iters = 200
	}
	var f Frozen
	for i := range iters {
		seed := uint64(i)
		rng := rand.New(rand.NewPCG(seed, 7))
		s := randStrategy(rng)
		ops := randOps(rng, 5+rng.IntN(40))
		cut := rng.IntN(len(ops) + 1)
		c := newChecker(t, s)
		c.d.iw, c.d.ow = 0, 0
		// Spilling, the frozen copy reads values from the spill file while
		// the reducer frees and writes pages there.
		c.d.spill = i%2 == 1
		for j, o := range ops[:cut] {
			if err := c.step(o); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, j, err)
			}
		}
		var at snapbuf.Writer
		c.d.r.Snapshot(&at)
		c.d.r.Freeze(&f) // reused: a previous iteration's state must not leak
		for j, o := range ops[cut:] {
			if err := c.step(o); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, cut+j, err)
			}
		}
		if err := c.call(func() []Pane { return c.d.watermark(window.MaxTime) }); err != nil {
			t.Fatalf("seed %d: final watermark: %v", seed, err)
		}
		var later snapbuf.Writer
		f.Snapshot(&later)
		if err := later.Flush(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !slices.Equal(at.Buf, later.Buf) {
			t.Fatalf("seed %d, cut at %d of %d: the frozen snapshot changed with the reducer (%d bytes, %d at the freeze)", seed, cut, len(ops), len(later.Buf), len(at.Buf))
		}
		f.Release()
	}
}

// snapshotV1 writes f in the format before the slab order (version 1):
// each live key with its windows, in its list's order. Restore still
// reads it; only the tests write it.
func (f *Frozen) snapshotV1(w *snapbuf.Writer) {
	w.Uint(f.seq)
	w.Int(f.late)
	w.Int(f.closed)
	n := 0
	for k := range f.keys {
		if f.live(k) {
			n++
		}
	}
	w.Uint(uint64(n))
	var ends []int
	for k := range f.keys {
		if !f.live(k) {
			continue
		}
		ks := &f.keys[k]
		w.Bytes(ks.kb)
		w.Uint(uint64(ks.n))
		for i := ks.first; i != noWin; i = f.wins[i].next {
			ends = f.snapshotWinV1(w, i, ends[:0])
		}
	}
}

// snapshotWinV1 writes window i as version 1 did.
func (f *Frozen) snapshotWinV1(w *snapbuf.Writer, i int32, ends []int) []int {
	ws := &f.wins[i]
	w.Window(ws.window())
	w.Uint(ws.seq)
	// The values, concatenated, then their end offsets.
	w.Uint(uint64(ws.vals.size))
	w.Buf, ends = appendConcat(&f.pages, w.Buf, ends, &ws.vals)
	w.Uint(uint64(len(ends)))
	for _, e := range ends {
		w.Uint(uint64(e))
	}
	w.Bool(ws.nonEmpty)
	w.Bool(ws.closed)
	var nodes []nodeState
	if !ws.closed {
		nodes = f.st[int(i)*f.nodes : int(i+1)*f.nodes]
	}
	w.Uint(uint64(len(nodes)))
	for _, n := range nodes {
		w.Int(int64(n.count))
		w.Time(n.delay)
		w.Bool(n.armed)
		w.Bool(n.finished)
		w.Bool(n.queued)
	}
	w.Bool(ws.hasPane)
	w.Bool(ws.hasPane && ws.paneIndex == 0)
	w.Bool(false)
	w.Uint(uint64(ws.paneTiming))
	w.Int(ws.paneIndex)
	w.Int(ws.paneNonSpec)
	w.Time(ws.elemHold)
	w.Time(ws.extraHold)
	w.Time(ws.event)
	return ends
}
