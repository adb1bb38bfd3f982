package engine

import (
	"sync"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// A GroupByKey's keys are sharded over parts, each with its own reducer,
// and a run of the GroupByKey adds each part's share of the batches and
// advances it on a goroutine of its own. With one reducer per GroupByKey,
// one core did all of a streaming job's grouping (the bids benchmark, a
// sink's epochs) while the others waited for its panes. A key always goes
// to the same part (keyHash modulo the number of parts), so each key's
// elements reach its reducer in the order they did before; panes of
// different keys may come out in another order, which nothing promises.
// The number of parts is the job's Parallelism, or, after a restore, the
// number the checkpoint holds.

// reducerPart is one shard of a GroupByKey's keys. Only the run that owns
// the GroupByKey (reducing.busy) touches it.
type reducerPart struct {
	r *reduce.Reducer
	// scratch holds a step of a batch's elements.
	scratch []reduce.Element
	// panes are what the part's last run fired.
	panes []reduce.Pane
	// frozen is the reducer's state at a checkpoint, until the
	// snapshot's body is encoded (snapBody).
	frozen reduce.Frozen
}

// setParts replaces the GroupByKey's reducers by n empty ones.
func (red *reducing) setParts(n int) error {
	parts := make([]*reducerPart, n)
	for i := range parts {
		r, err := reduce.New(red.strategy)
		if err != nil {
			return err
		}
		parts[i] = &reducerPart{r: r}
	}
	red.parts = parts
	return nil
}

// keyHash is the FNV-1a hash of an encoded key. It must not change: a
// restored job finds each key's state in the part of its hash.
func keyHash(key []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range key {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// run adds batches to the parts and advances them to t, the parts side by
// side, and returns the panes that fired, part after part.
func (red *reducing) run(batches []*reduceBatch, t reduce.Times) []reduce.Pane {
	n := len(red.parts)
	if n == 1 {
		red.parts[0].run(batches, t, 0, 1, red.merging)
	} else {
		var wg sync.WaitGroup
		for i, p := range red.parts {
			wg.Go(func() { p.run(batches, t, i, n, red.merging) })
		}
		wg.Wait()
	}
	var panes []reduce.Pane
	for _, p := range red.parts {
		panes = append(panes, p.panes...)
		clear(p.panes) // do not pin the windows' values
		p.panes = p.panes[:0]
	}
	return panes
}

// summary returns the parts' state after a run: the earliest hold and
// processing-time timer, and the sums of pending windows and dropped
// elements.
func (red *reducing) summary() (hold window.Time, pending int, next window.Time, hasPT bool, late, closed int64) {
	hold = window.MaxTime
	for _, p := range red.parts {
		hold = min(hold, p.r.Hold())
		pending += p.r.Pending()
		if t, ok := p.r.NextProcessingTime(); ok && (!hasPT || t < next) {
			next, hasPT = t, true
		}
		l, c := p.r.Dropped()
		late, closed = late+l, closed+c
	}
	return hold, pending, next, hasPT, late, closed
}

// run adds the part's share of batches (the elements whose key hash is
// part modulo parts) and advances the part's reducer to t.
func (p *reducerPart) run(batches []*reduceBatch, t reduce.Times, part, parts int, merging bool) {
	for _, b := range batches {
		b.addTo(p, t, uint32(part), uint32(parts), merging)
	}
	p.panes = p.r.AppendAdvance(p.panes, t)
}

// addStep is how many elements of a batch go to the reducer at once over
// non-merging windows (the reducer evaluates triggers per element there,
// so the cut changes no pane): the elements are materialised as
// reduce.Elements only a step at a time.
const addStep = 512

// addTo adds the batch's elements of one part to its reducer in steps
// (whole: in one call, as merging windows need, whose triggers are
// evaluated once per batch) and keeps the panes that fire.
func (b *reduceBatch) addTo(p *reducerPart, t reduce.Times, part, parts uint32, whole bool) {
	step := addStep
	if whole {
		step = b.n
	}
	flush := func() {
		if len(p.scratch) > 0 {
			p.panes = p.r.AppendAdd(p.panes, p.scratch, t)
		}
		clear(p.scratch) // do not pin the output's buffers once recycled
		p.scratch = p.scratch[:0]
	}
	if b.out == nil {
		for _, e := range b.elems {
			if parts == 1 || keyHash(e.Key)%parts == part {
				p.scratch = append(p.scratch, e)
			}
		}
		flush()
		return
	}
	for i := range b.n {
		r := b.out.rec(i)
		if parts > 1 && r.hash%parts != part {
			continue
		}
		p.scratch = append(p.scratch, b.out.element(r))
		if len(p.scratch) == step {
			flush()
		}
	}
	flush()
}
