package state

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestKeyArena checks that the strings a keyArena hands out keep their
// bytes until reset, whatever the caller does with the slices it copied
// them from, across blocks, oversized keys and reuse after resets.
func TestKeyArena(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	var a keyArena
	buf := make([]byte, 2*arenaBlock)
	for round := range 4 {
		var got []string
		var want [][]byte
		for range 3000 {
			n := rnd.IntN(100)
			if rnd.IntN(500) == 0 {
				n = arenaBlock/8 + rnd.IntN(arenaBlock) // its own allocation
			}
			b := buf[:n]
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			got = append(got, a.string(b))
			want = append(want, bytes.Clone(b))
			clear(b) // the caller's buffer is reused: the copy must not see it
		}
		for i := range got {
			if got[i] != string(want[i]) {
				t.Fatalf("round %d: string %d changed before reset", round, i)
			}
		}
		a.reset()
		if a.i != 0 || (len(a.blocks) > 0 && len(a.blocks[0]) != 0) {
			t.Fatalf("round %d: after reset block %d of %d, want block 0 empty", round, a.i, len(a.blocks))
		}
	}
	if len(a.blocks) > 8 {
		t.Errorf("%d blocks after four rounds of the same size, want them reused", len(a.blocks))
	}
}

// TestWriteSetCopiesEachKeyOnce checks that writing the same keys again
// and again (a cell cleared by every event of one key, a timer moved back
// and forth) copies each key into the arena once.
func TestWriteSetCopiesEachKeyOnce(t *testing.T) {
	w := newWriteSet()
	c := Cell{Transform: "fn", State: "count", Key: []byte("k"), Window: window.Global()}
	id := TimerID{Transform: "fn", Key: c.Key, Window: c.Window}
	var buf []byte
	for i := range 100_000 {
		var lo, hi []byte
		buf, lo, hi = cellRange(buf[:0], c)
		w.deleteRange(lo, hi)
		w.set(timerKey(nil, id), []byte{byte(i)})
		w.set(dueKey(nil, Timer{TimerID: id, Domain: EventTime, Fire: window.Time(i % 2)}), nil)
		w.delete(holdKey(nil, Timer{TimerID: id, Hold: window.Time(i % 2)}))
	}
	used := 0
	for _, b := range w.arena.blocks {
		used += len(b)
	}
	if used > 1000 {
		t.Errorf("arena holds %d bytes after 100k writes of seven keys, want each key copied once", used)
	}
	if v, ok, found := w.get(timerKey(nil, id)); !ok || !found || v[0] != byte(99_999%256) {
		t.Errorf("get of the timer = %v, %v, %v, want the last write", v, ok, found)
	}
}
