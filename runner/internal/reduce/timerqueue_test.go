package reduce

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestTimerQueueModel pushes timers mostly in order, some at a few
// instants ahead (in creation order: buckets), some at random (the heap),
// pops and compacts at random, and checks that every pop returns the least queued
// timer, against a sorted slice, and that nothing is lost or duplicated.
func TestTimerQueueModel(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var q timerQueue
		var model []timer
		var now window.Time
		var seq uint64
		dead := map[int32]bool{} // invalidated entries, by win
		valid := func(_ *Reducer, x timer) bool { return !dead[x.win] }
		next := int32(0)
		maxBuckets := 0 // the most buckets in use at once
		for range 2000 {
			switch k := rng.IntN(20); {
			case k < 11:
				// In order, mostly: ties on t with a later seq too.
				now += window.Time(rng.IntN(3))
				seq++
				x := timer{t: now, seq: seq, win: next}
				switch rng.IntN(6) {
				case 0:
					x.t -= window.Time(rng.IntN(20)) // out of order: the heap or a bucket
					x.seq = rng.Uint64N(seq + 1)
				case 1, 2:
					// At one of a few instants ahead, in creation
					// order: the end-of-window timers of sliding
					// windows, read out of order.
					x.t = (now/100 + window.Time(1+rng.IntN(5))) * 100
				}
				next++
				q.push(x)
				model = append(model, x)
				maxBuckets = max(maxBuckets, len(q.buckets))
			case k < 18:
				if len(model) == 0 {
					if q.len() != 0 {
						t.Fatalf("seed %d: len %d, model empty", seed, q.len())
					}
					continue
				}
				slices.SortStableFunc(model, func(a, b timer) int {
					return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.seq, b.seq))
				})
				// The least valid timer, as peek finds it.
				for len(model) > 0 && dead[model[0].win] {
					model = model[1:]
				}
				x, ok := q.peek(nil, valid)
				if ok != (len(model) > 0) {
					t.Fatalf("seed %d: peek ok %v with %d valid timers", seed, ok, len(model))
				}
				if !ok {
					continue
				}
				if x.t != model[0].t || x.seq != model[0].seq {
					t.Fatalf("seed %d: peek %+v, want %+v", seed, x, model[0])
				}
				// Pop it; remove from the model the entry with its win.
				y := q.pop()
				i := slices.IndexFunc(model, func(m timer) bool { return m.win == y.win })
				if i < 0 || model[i].t != x.t || model[i].seq != x.seq {
					t.Fatalf("seed %d: popped %+v, not the peeked least", seed, y)
				}
				model = slices.Delete(model, i, i+1)
			case k < 19:
				if len(model) > 0 {
					dead[model[rng.IntN(len(model))].win] = true
				}
			default:
				q.compact(nil, valid)
				model = slices.DeleteFunc(model, func(m timer) bool { return dead[m.win] })
				if q.len() != len(model) {
					t.Fatalf("seed %d: %d timers after compact, want %d", seed, q.len(), len(model))
				}
			}
		}
		var all []int32
		q.each(func(x timer) {
			if !dead[x.win] {
				all = append(all, x.win)
			}
		})
		var want []int32
		for _, m := range model {
			if !dead[m.win] {
				want = append(want, m.win)
			}
		}
		slices.Sort(all)
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Fatalf("seed %d: queued %v, want %v", seed, all, want)
		}
		if maxBuckets < 3 {
			t.Fatalf("seed %d: at most %d buckets in use: the test does not exercise them", seed, maxBuckets)
		}
	}
}
