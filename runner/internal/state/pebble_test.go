package state

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestPebbleComparerSplit checks pebble's requirements of a Split
// (base.Split's doc) and of ImmediateSuccessor on random byte strings
// made of the bytes that matter to partLen (the partition tags, the
// terminator 0x00 0x01 and the escape 0x00 0xFF) and a few others:
// pebble may split keys the store never wrote, such as its own
// separators.
func TestPebbleComparerSplit(t *testing.T) {
	c := pebbleComparer
	alphabet := []byte{tagState, tagTimer, tagPerKey, tagDue, tagWindows, 0x00, 0x01, 0x02, 0xFF, 'a'}
	rng := rand.New(rand.NewPCG(7, 7))
	key := func() []byte {
		k := make([]byte, rng.IntN(8))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	prefix := func(k []byte) []byte { return k[:c.Split(k)] }
	for range 200_000 {
		a, b := key(), key()
		pa, pb := prefix(a), prefix(b)
		if len(pa) < len(a) && bytes.Compare(pa, a) >= 0 {
			t.Fatalf("prefix %x of %x does not sort before it", pa, a)
		}
		if bytes.Compare(a, b) <= 0 && bytes.Compare(pa, pb) > 0 {
			t.Fatalf("%x <= %x but their prefixes %x > %x", a, b, pa, pb)
		}
		if bytes.Equal(pa, pb) {
			if got, want := c.ComparePointSuffixes(a[len(pa):], b[len(pb):]), bytes.Compare(a, b); got != want {
				t.Fatalf("suffixes of %x and %x compare %d, keys %d", a, b, got, want)
			}
		}
		// ImmediateSuccessor: of a prefix key, a larger prefix key with no
		// prefix key between them (checked against the random b).
		if len(pa) == 0 {
			continue
		}
		s := c.ImmediateSuccessor(nil, pa)
		if c.Split(s) != len(s) || bytes.Compare(pa, s) >= 0 {
			t.Fatalf("ImmediateSuccessor(%x) = %x: not a larger prefix key", pa, s)
		}
		if c.Split(b) == len(b) && bytes.Compare(pa, b) < 0 && bytes.Compare(b, s) < 0 {
			t.Fatalf("prefix key %x lies between %x and its ImmediateSuccessor %x", b, pa, s)
		}
	}
}

// TestPebbleComparerSplitsAtTheUserKey checks that the store's own keys
// split where a bundle's reads look: a cell's and a timer's keys at the
// end of their user key, global index keys not at all.
func TestPebbleComparerSplitsAtTheUserKey(t *testing.T) {
	c := pebbleComparer
	cell := cellPrefix(nil, Cell{Transform: "t", State: "s", Key: []byte("k\x00ey"), Window: w0})
	part := appendBytes([]byte{tagState}, []byte("k\x00ey"))
	if got := c.Split(cell); got != len(part) || !bytes.HasPrefix(cell, part) {
		t.Fatalf("Split(%x) = %d, want %d", cell, got, len(part))
	}
	due := dueKey(nil, eventTimer("k", 5))
	if got := c.Split(due); got != len(due) {
		t.Fatalf("Split of a due-index key = %d, want the whole %d", got, len(due))
	}
}
