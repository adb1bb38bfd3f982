package state

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestMemPartModel checks memPart against a sorted slice of strings under
// random sets, deletes and range replacements (with keys longer, shorter
// and as long as those they replace, so that its bytes move both ways and
// not at all), and scans through find and key after every step.
func TestMemPartModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	key := func() string {
		// Keys share a long prefix, as a user key's entries do, and some
		// are prefixes of others; the empty key is one of them.
		switch rnd.IntN(5) {
		case 0:
			return ""
		case 1:
			return fmt.Sprintf("s/key/cell%d", rnd.IntN(5))
		}
		return fmt.Sprintf("s/key/cell%d/%0*d", rnd.IntN(5), 1+rnd.IntN(4), rnd.IntN(300))
	}
	type kv struct {
		k string
		v []byte
	}
	var p memPart
	var model []kv
	find := func(k string) (int, bool) {
		return slices.BinarySearchFunc(model, k, func(e kv, k string) int {
			switch {
			case e.k < k:
				return -1
			case e.k > k:
				return 1
			}
			return 0
		})
	}
	for step := range 30000 {
		switch op := rnd.IntN(10); {
		case op < 5:
			k, v := key(), []byte(fmt.Sprint(step))
			p.set(k, v)
			if i, ok := find(k); ok {
				model[i].v = slices.Clone(v)
			} else {
				model = slices.Insert(model, i, kv{k, slices.Clone(v)})
			}
			// The partition keeps a copy: the caller may reuse v.
			for x := range v {
				v[x] = 'x'
			}
		case op < 7:
			k := key()
			p.delete(k)
			if i, ok := find(k); ok {
				model = slices.Delete(model, i, i+1)
			}
		default:
			// A range delete with writes within the range after it.
			lo, hi := key(), key()
			if lo > hi {
				lo, hi = hi, lo
			}
			var keys []string
			var vals []entry
			for range rnd.IntN(4) {
				if k := key(); k >= lo && k < hi && !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for range keys {
				vals = append(vals, entry{val: []byte(fmt.Sprint(step)), del: rnd.IntN(8) == 0})
			}
			i, _ := find(lo)
			j, _ := find(hi)
			model = slices.Delete(model, i, j)
			if !p.replaceRange(lo, hi, keys, vals) {
				for n, k := range keys {
					if vals[n].del {
						p.delete(k)
					} else {
						p.set(k, vals[n].val)
					}
				}
			}
			for n, k := range keys {
				if vals[n].del {
					continue
				}
				m, _ := find(k)
				model = slices.Insert(model, m, kv{k, vals[n].val})
			}
		}
		if p.len() != len(model) {
			t.Fatalf("step %d: %d entries, want %d", step, p.len(), len(model))
		}
		for i, e := range model {
			if p.key(i) != e.k || string(p.val(i)) != string(e.v) {
				t.Fatalf("step %d: entry %d = %q: %q, want %q: %q", step, i, p.key(i), p.val(i), e.k, e.v)
			}
		}
		if n := p.len(); n > 0 && base(n)+p.off(n) != len(p.b) {
			t.Fatalf("step %d: entries end at %d, the array at %d", step, base(n)+p.off(n), len(p.b))
		}
		k := key()
		gi, gok := p.find(k)
		wi, wok := find(k)
		if gi != wi || gok != wok {
			t.Fatalf("step %d: find(%q) = %d, %v, want %d, %v", step, k, gi, gok, wi, wok)
		}
	}
}

// TestMemKeyWindows checks a memKey's known windows (the first held in
// the memKey itself, the others in a slice) against a set, under random
// marks and unmarks of a few windows.
func TestMemKeyWindows(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	ws := []window.Window{window.Global(), window.Interval(0, 10), window.Interval(10, 20), window.Interval(0, 20)}
	var k memKey
	model := map[window.Window]bool{}
	for step := range 2000 {
		w, on := ws[rnd.IntN(len(ws))], rnd.IntN(2) == 0
		k.markWindow(w, on)
		model[w] = on
		for _, w := range ws {
			if got := k.hasWindow(w); got != model[w] {
				t.Fatalf("step %d: hasWindow(%v) = %v, want %v", step, w, got, model[w])
			}
		}
		if n := len(k.more); n > 0 && !k.hasWin {
			t.Fatalf("step %d: %d windows beside none in the memKey", step, n)
		}
	}
	if (*memKey)(nil).hasWindow(ws[0]) {
		t.Fatal("a nil memKey knows a window")
	}
}
