package keymap

import (
	"math/rand/v2"
	"testing"
)

// TestModel checks Map against a map of strings, with keys on both sides
// of ShortLen, and keys that differ only in trailing zero bytes (a short
// key's unused bytes are zero too).
func TestModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	key := func() string {
		b := make([]byte, rnd.IntN(ShortLen+4))
		for i := range b {
			b[i] = byte(rnd.IntN(3)) // 0, 1 and 2: many share prefixes
		}
		return string(b)
	}
	m := New[int](0)
	model := map[string]int{}
	for step := range 20000 {
		k := key()
		switch rnd.IntN(3) {
		case 0, 1:
			buf := []byte(k)
			m.Set(string(buf), step)
			for i := range buf {
				buf[i] = 9 // Set copied the key
			}
			model[k] = step
		case 2:
			m.Delete(k)
			delete(model, k)
		}
		want, wantOK := model[k]
		if got, ok := m.Get(k); got != want || ok != wantOK {
			t.Fatalf("step %d: Get(%q) = %d, %v, want %d, %v", step, k, got, ok, want, wantOK)
		}
		if got, ok := m.GetBytes([]byte(k)); got != want || ok != wantOK {
			t.Fatalf("step %d: GetBytes(%q) = %d, %v, want %d, %v", step, k, got, ok, want, wantOK)
		}
	}
	if m.Len() != len(model) {
		t.Fatalf("Len %d, want %d", m.Len(), len(model))
	}
	seen := 0
	m.Each(func(k string, v int) {
		if w, ok := model[k]; !ok || w != v {
			t.Fatalf("Each: %q maps to %d, want %d", k, v, w)
		}
		seen++
	})
	if seen != len(model) {
		t.Fatalf("Each saw %d keys, want %d", seen, len(model))
	}
	m.Clear()
	if m.Len() != 0 {
		t.Fatalf("Len after Clear = %d", m.Len())
	}
}
