package state

import (
	"bytes"
	"math/rand/v2"
	"testing"
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
