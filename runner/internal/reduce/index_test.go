package reduce

import (
	"math/rand/v2"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestWinIndexModel runs random sets and deletes against a map and checks
// every look-up, of present and absent entries, after each step. The
// domain is small, so that probe runs collide, wrap around the table's end
// and are closed by deletes in every arrangement.
func TestWinIndexModel(t *testing.T) {
	type entry struct {
		k int32
		w window.Window
	}
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var x winIndex
		model := map[entry]int32{}
		domain := 20 + rng.IntN(200)
		pick := func() entry {
			n := rng.IntN(domain)
			w := window.Interval(window.Time(n%7*1000), window.Time(n%7*1000+10_000))
			if n%11 == 0 {
				w = window.Global()
			}
			return entry{k: int32(n / 7), w: w}
		}
		for step := range 3000 {
			e := pick()
			if rng.IntN(3) == 0 {
				x.delete(e.k, e.w)
				delete(model, e)
			} else {
				i := rng.Int32N(1 << 20)
				x.set(e.k, e.w, i)
				model[e] = i
			}
			if x.len() != len(model) {
				t.Fatalf("seed %d step %d: len %d, model %d", seed, step, x.len(), len(model))
			}
			for range 8 {
				e := pick()
				got, ok := x.get(e.k, e.w)
				want, wok := model[e]
				if ok != wok || ok && got != want {
					t.Fatalf("seed %d step %d: get(%d, %v) = %d, %v; model %d, %v", seed, step, e.k, e.w, got, ok, want, wok)
				}
			}
		}
		for e, want := range model {
			if got, ok := x.get(e.k, e.w); !ok || got != want {
				t.Fatalf("seed %d: get(%d, %v) = %d, %v at the end; model %d", seed, e.k, e.w, got, ok, want)
			}
		}
		x.clear()
		if _, ok := x.get(0, window.Global()); ok || x.len() != 0 {
			t.Fatalf("seed %d: entries after clear", seed)
		}
	}
}

// TestWinIndexTellsGlobalFromInterval checks that the global window and an
// interval window with the same bounds are different entries.
func TestWinIndexTellsGlobalFromInterval(t *testing.T) {
	var x winIndex
	g := window.Global()
	iv := window.Interval(g.Start, g.End)
	x.set(3, g, 1)
	if _, ok := x.get(3, iv); ok {
		t.Fatal("the interval window with the global window's bounds found the global window's entry")
	}
	x.set(3, iv, 2)
	if i, _ := x.get(3, g); i != 1 {
		t.Fatalf("global window: %d, want 1", i)
	}
	if i, _ := x.get(3, iv); i != 2 {
		t.Fatalf("interval window: %d, want 2", i)
	}
}
