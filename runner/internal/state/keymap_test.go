package state

import (
	"math/rand/v2"
	"testing"
)

// TestKeyMapModel checks keyMap against a map of strings, with keys on
// both sides of the short keys' length, and keys that differ only in
// trailing zero bytes (a short key's unused bytes are zero too).
func TestKeyMapModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	key := func() string {
		b := make([]byte, rnd.IntN(shortKeyLen+4))
		for i := range b {
			b[i] = byte(rnd.IntN(3)) // 0, 1 and 2: many share prefixes
		}
		return string(b)
	}
	m := newKeyMap(0)
	model := map[string]*memKey{}
	for step := range 20000 {
		k := key()
		switch rnd.IntN(3) {
		case 0, 1:
			v := &memKey{}
			buf := []byte(k)
			m.set(string(buf), v)
			for i := range buf {
				buf[i] = 9 // set copied the key
			}
			model[k] = v
		case 2:
			m.delete(k)
			delete(model, k)
		}
		if got := m.get(k); got != model[k] {
			t.Fatalf("step %d: get(%q) = %p, want %p", step, k, got, model[k])
		}
		if got := m.getBytes([]byte(k)); got != model[k] {
			t.Fatalf("step %d: getBytes(%q) = %p, want %p", step, k, got, model[k])
		}
	}
	if m.len() != len(model) {
		t.Fatalf("len %d, want %d", m.len(), len(model))
	}
	seen := 0
	m.each(func(k string, v *memKey) {
		if model[k] != v {
			t.Fatalf("each: %q maps to %p, want %p", k, v, model[k])
		}
		seen++
	})
	if seen != len(model) {
		t.Fatalf("each saw %d keys, want %d", seen, len(model))
	}
}
