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
	// err is the reducer's spill error after the part's last run.
	err error
}

// setParts replaces the GroupByKey's reducers by n empty ones.
func (red *reducing) setParts(n int) error {
	parts := make([]*reducerPart, n)
	for i := range parts {
		r, err := reduce.New(red.strategy)
		if err != nil {
			return err
		}
		if red.newMerger != nil {
			m, err := red.newMerger()
			if err != nil {
				return err
			}
			if m != nil {
				r.SetMerger(m)
			}
		}
		r.SpillTo(red.dir)
		parts[i] = &reducerPart{r: r}
	}
	red.close()
	red.parts = parts
	return nil
}

// close closes the parts' reducers (their spill files).
func (red *reducing) close() {
	for _, p := range red.parts {
		p.r.Close()
	}
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
// side. With emit set, a part hands its panes to emit in chunks of about
// paneChunk as they fire, on the part's goroutine (emit(part, panes) is
// called for different parts at once and must not keep the slice, only
// the keys and values its panes alias), and run returns what is left:
// fewer than paneChunk panes per part. Without it, run returns all panes.
// Either way the returned panes come part after part. After its run,
// each part spills buffered values past spill bytes (see
// reduce.Reducer.Spill); err returns the first part's spill error.
func (red *reducing) run(batches []*reduceBatch, t reduce.Times, emit func(part int, panes []reduce.Pane), spill int64) []reduce.Pane {
	n := len(red.parts)
	handOn := func(int) func([]reduce.Pane) { return nil }
	if emit != nil {
		handOn = func(i int) func([]reduce.Pane) { return func(ps []reduce.Pane) { emit(i, ps) } }
	}
	if n == 1 {
		red.parts[0].run(batches, t, 0, 1, red.merging, handOn(0), spill)
	} else {
		var wg sync.WaitGroup
		for i, p := range red.parts {
			wg.Go(func() { p.run(batches, t, i, n, red.merging, handOn(i), spill) })
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

// err returns the first part's error of the last run: a spill file that
// failed.
func (red *reducing) err() error {
	for _, p := range red.parts {
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

// paneChunk is about how many panes a part collects before it hands them
// on. One run of a streaming GroupByKey may fire a pane for each of
// hundreds of thousands of windows (every window's early pane once the
// processing-time delay passed, or every window whose end the watermark
// passed); kept until the run ended and then encoded, those panes (a
// slice of values each, all pointers for the collector to follow) were a
// quarter of the bids benchmark's peak heap.
const paneChunk = 1024

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
// part modulo parts) and advances the part's reducer to t. With emit set,
// panes go to it in chunks once paneChunk are collected; the rest stay in
// p.panes. Then it spills the values past spill bytes.
func (p *reducerPart) run(batches []*reduceBatch, t reduce.Times, part, parts int, merging bool, emit func([]reduce.Pane), spill int64) {
	defer func() { p.err = p.r.Spill(spill) }()
	for _, b := range batches {
		b.addTo(p, t, uint32(part), uint32(parts), merging, emit)
	}
	limit := 0
	if emit != nil {
		limit = paneChunk
	}
	for {
		var done bool
		p.panes, done = p.r.AppendAdvanceUpTo(p.panes, t, limit)
		p.handOn(emit)
		if done {
			return
		}
	}
}

// handOn gives the part's panes to emit once there are paneChunk of them.
func (p *reducerPart) handOn(emit func([]reduce.Pane)) {
	if emit == nil || len(p.panes) < paneChunk {
		return
	}
	emit(p.panes)
	clear(p.panes) // do not pin the windows' values
	p.panes = p.panes[:0]
}

// addStep is how many elements of a batch go to the reducer at once over
// non-merging windows (the reducer evaluates triggers per element there,
// so the cut changes no pane): the elements are materialised as
// reduce.Elements only a step at a time.
const addStep = 512

// addTo adds the batch's elements of one part to its reducer in steps
// (whole: in one call, as merging windows need, whose triggers are
// evaluated once per batch) and keeps the panes that fire, or hands them
// to emit (see reducerPart.run).
func (b *reduceBatch) addTo(p *reducerPart, t reduce.Times, part, parts uint32, whole bool, emit func([]reduce.Pane)) {
	step := addStep
	if whole {
		step = b.n
	}
	flush := func() {
		if len(p.scratch) > 0 {
			p.panes = p.r.AppendAdd(p.panes, p.scratch, t)
			p.handOn(emit)
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
