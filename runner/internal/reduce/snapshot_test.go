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
		for j, o := range ops[:cut] {
			if err := c.step(o); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, j, err)
			}
		}
		old := c.d.r
		c.d.r = roundTrip(t, s, old)
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

// roundTrip snapshots r and restores the snapshot into a new reducer.
func roundTrip(t *testing.T, s Strategy, r *Reducer) *Reducer {
	t.Helper()
	var w snapbuf.Writer
	r.Snapshot(&w)
	fresh, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	rd := snapbuf.NewReader(w.Buf, "reducer")
	if err := fresh.Restore(rd); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if err := rd.Done(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return fresh
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
		if !slices.Equal(at.Buf, later.Buf) {
			t.Fatalf("seed %d, cut at %d of %d: the frozen snapshot changed with the reducer (%d bytes, %d at the freeze)", seed, cut, len(ops), len(later.Buf), len(at.Buf))
		}
		f.Release()
	}
}
