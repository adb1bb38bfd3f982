package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestOrderedModel checks ordered against a sorted slice under random
// sets, deletes, gets and range walks, with keys that share long prefixes,
// are prefixes of each other and are shorter than the 16 bytes held as
// integers, so that chunk splits, merges and the integer compares are all
// exercised.
func TestOrderedModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	key := func() string {
		switch rnd.IntN(4) {
		case 0:
			return fmt.Sprintf("d\x01%08d", rnd.IntN(500))
		case 1:
			return fmt.Sprintf("d\x01%08d\x00%c", rnd.IntN(500), 'a'+rune(rnd.IntN(3)))
		case 2:
			// Longer than the integer prefix, many keys sharing it: their
			// order is decided by the strings, also between chunks.
			return fmt.Sprintf("p\x01%014d%c", rnd.IntN(40), 'a'+rune(rnd.IntN(200)))
		}
		return string([]byte{'h', byte(rnd.IntN(3))})[:rnd.IntN(3)]
	}
	var o ordered
	model := map[string][]byte{}
	for step := range 20000 {
		k := key()
		op := rnd.IntN(3)
		if step >= 10000 && step < 15000 && rnd.IntN(3) > 0 {
			// For a while mostly deletes of present keys: chunks merge,
			// empty and are reused.
			op = 2
			for mk := range model {
				k = mk
				break
			}
		}
		switch op {
		case 0, 1:
			var v []byte // most entries have none, as in the store
			if rnd.IntN(8) == 0 {
				v = []byte(fmt.Sprint(step))
			}
			o.set(k, v)
			model[k] = v
		case 2:
			_, want := model[k]
			if got := o.delete(k); got != want {
				t.Fatalf("step %d: delete(%q) = %v, want %v", step, k, got, want)
			}
			delete(model, k)
		}
		if v, ok := o.get(k); string(v) != string(model[k]) || (v == nil) != (model[k] == nil) {
			t.Fatalf("step %d: get(%q) = %q, %v, want %q", step, k, v, ok, model[k])
		} else if _, in := model[k]; ok != in {
			t.Fatalf("step %d: get(%q) found %v, want %v", step, k, ok, in)
		}
		if step%500 == 0 {
			checkOrdered(t, &o, model, key())
		}
	}
	checkOrdered(t, &o, model, "")
}

// TestScanGlobalCopiesKeys changes the global index while a scan of it
// is between passes, as commits may (the scan calls fn outside the
// lock): deletes and inserts in the chunks the scan has read, so that
// they repack their bytes over the keys it handed out. fn must still see
// every key it was given whole, in order, exactly once.
func TestScanGlobalCopiesKeys(t *testing.T) {
	m := newMemBackend()
	key := func(i int) string { return fmt.Sprintf("d\x01%08d-%s", i, strings.Repeat("k", i%7)) }
	const n = 1000
	for i := 0; i < n; i += 2 {
		m.global.set(key(i), nil)
	}
	var got []string
	churn := 0
	m.scanGlobal([]byte("d"), []byte("e"), func(k, _ []byte) bool {
		got = append(got, string(k))
		// Delete and re-insert keys behind the scan, many times over, and
		// insert odd keys there: the chunks behind fill with dead bytes,
		// repack and split.
		m.mu.Lock()
		for range 8 {
			i := 2 * (churn % (n / 2))
			if key(i) < string(k) {
				m.global.delete(key(i))
				m.global.set(key(i), nil)
				if j := i + 1; key(j) < string(k) {
					m.global.set(key(j), nil)
					m.global.delete(key(j))
				}
			}
			churn++
		}
		m.mu.Unlock()
		return true
	})
	if len(got) != n/2 {
		t.Fatalf("the scan saw %d keys, want %d", len(got), n/2)
	}
	for x, k := range got {
		if want := key(2 * x); k != want {
			t.Fatalf("key %d: %q, want %q", x, k, want)
		}
	}
}

// checkOrdered compares a walk of o from from with the model's.
func checkOrdered(t *testing.T, o *ordered, model map[string][]byte, from string) {
	t.Helper()
	var want []string
	for k := range model {
		if k >= from {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	var got []string
	o.ascend(from, false, func(k string, v []byte) bool {
		if string(v) != string(model[k]) || (v == nil) != (model[k] == nil) {
			t.Fatalf("ascend: %q has value %q, want %q", k, v, model[k])
		}
		got = append(got, k)
		return true
	})
	if !slices.Equal(got, want) || o.n != len(model) {
		t.Fatalf("ascend(%q) = %d keys, want %d (n = %d, model %d)", from, len(got), len(want), o.n, len(model))
	}
	if len(want) > 1 {
		got = got[:0]
		o.ascend(want[0], true, func(k string, _ []byte) bool { got = append(got, k); return len(got) < 3 })
		if !slices.Equal(got, want[1:min(4, len(want))]) {
			t.Fatalf("ascend(%q, after) = %q, want %q", want[0], got, want[1:min(4, len(want))])
		}
	}
	if len(o.last) != len(o.order) {
		t.Fatalf("%d last keys for %d chunks", len(o.last), len(o.order))
	}
	if len(o.order)+len(o.free) != len(o.pool) {
		t.Fatalf("%d chunks in order and %d free, %d in the pool", len(o.order), len(o.free), len(o.pool))
	}
	for i := range o.order {
		c := o.chunk(i)
		if len(c.keys) == 0 || len(c.keys) > chunkMax {
			t.Fatalf("chunk of %d entries", len(c.keys))
		}
		if l := c.keys[len(c.keys)-1]; o.last[i] != (prefix{l.p0, l.p1}) {
			t.Fatalf("chunk %d: last key's prefix %x, want that of %q", i, o.last[i], c.str(len(c.keys)-1))
		}
		live := 0
		for x := range c.keys {
			live += int(c.keys[x].n)
		}
		if live+c.dead != len(c.kbuf) {
			t.Fatalf("chunk %d: %d live and %d dead bytes of %d", i, live, c.dead, len(c.kbuf))
		}
	}
}

// BenchmarkOrderedMove is what the stateful benchmark's commits do to the
// due-time index: each op moves one of 100k keys' entries to a later
// time (a delete and an insert).
func BenchmarkOrderedMove(b *testing.B) {
	const keys = 100_000
	var o ordered
	fire := make([]uint64, keys)
	key := func(k int) string {
		dst := append([]byte{tagDue, 1}, binary.BigEndian.AppendUint64(nil, fire[k])...)
		return string(appendUint(append(dst, 0x80), uint64(k)))
	}
	for k := range keys {
		fire[k] = uint64(k)
		o.set(key(k), nil)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for range b.N {
		k := rnd.IntN(keys)
		o.delete(key(k))
		fire[k] += keys
		o.set(key(k), nil)
	}
}
