package reduce

import (
	"slices"
	"unsafe"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// none marks an absent hold or timer: every real hold and timer is at most
// the end of the global window, before MaxTime.
const none = window.MaxTime

// noWin marks the end of a key's window list.
const noWin int32 = -1

// keyState is the state of one key: its bytes, shared by its panes, and
// the list of its windows (linked through winState.next, in creation
// order).
type keyState struct {
	kb          []byte
	first, last int32
	n           int32
	// recent names up to recentWins of the key's windows, those created
	// last: an element's windows are almost always among them, and a
	// look-up there reads the key's state, where one in a map of every
	// window of the stream missed the cache (its probes were a sixth of
	// the bids benchmark's CPU). Reducer.index holds the key's other
	// windows, those recent has no room for, and only those: keeping
	// every window there too cost an insert and a delete per window (a
	// sixth of the unbounded bids job's CPU) for look-ups that recent
	// answered. cached counts the filled slots; when it equals n, every
	// window of the key is there and the index need not be asked. evict
	// is the next slot to reuse when all are full.
	recent [recentWins]recentWin
	cached int32
	evict  int32
}

// recentWins is how many windows a keyState names: an element's sliding
// windows of five periods, and the windows of the periods the input runs
// ahead of the watermark that collects them (with six, the unbounded bids
// job's keys overflowed into the index often enough for its inserts,
// probes and deletes to cost 7% of its CPU; with eight, 1%, but removing
// a window of a key that had overflowed then moved another in from the
// index, a walk of the key's list, 4% once the windows' values took
// less; with ten, a keyState is two cache lines, and neither shows).
const recentWins = 10

// recentWin is one of keyState.recent: the window at index i1-1 of
// Reducer.wins, whose hash (winHash) is tag; i1 == 0 marks an empty slot.
// A slot holds the tag, not the window: a look-up compares tags and then
// the window in its state, which the caller reads next anyway, so that
// the key's whole list is 64 bytes, where with the window in each slot
// (24 bytes) it was 192.
type recentWin struct {
	tag uint32
	i1  int32
}

// winHash is w's tag in a recent list.
func winHash(w window.Window) uint32 {
	h := uint64(w.Start)*0x9e3779b97f4a7c15 ^ uint64(w.End)*0xc2b2ae3d27d4eb4f
	h ^= h >> 29
	if w.IsGlobal() {
		h ^= 1
	}
	return uint32(h)
}

// lookup returns the index of the key's window w, whose tag is tag, if
// the key names it in recent, and whether the answer is final: found, or
// not found while every window of the key is named. wins is
// Reducer.wins.
func (ks *keyState) lookup(w window.Window, tag uint32, wins []winState) (i int32, final bool) {
	for j := range ks.recent {
		if c := &ks.recent[j]; c.tag == tag && c.i1 != 0 && wins[c.i1-1].is(w) {
			return c.i1 - 1, true
		}
	}
	return noWin, ks.cached == ks.n
}

// remember names window w at index i in recent, in an empty slot or in
// place of the one named longest ago, which it returns (evicted true): the
// caller keeps that one in Reducer.index.
func (ks *keyState) remember(w window.Window, i int32) (old recentWin, evicted bool) {
	slot := -1
	if ks.cached < recentWins {
		for j := range ks.recent {
			if ks.recent[j].i1 == 0 {
				slot = j
				break
			}
		}
		ks.cached++
	} else {
		slot = int(ks.evict)
		ks.evict = (ks.evict + 1) % recentWins
		old, evicted = ks.recent[slot], true
	}
	ks.recent[slot] = recentWin{tag: winHash(w), i1: i + 1}
	return old, evicted
}

// forget removes window index i from recent and reports whether it was
// named there (if not, it is in Reducer.index).
func (ks *keyState) forget(i int32) bool {
	for j := range ks.recent {
		if ks.recent[j].i1 == i+1 {
			ks.recent[j] = recentWin{}
			ks.cached--
			return true
		}
	}
	return false
}

// names reports whether recent names window index i.
func (ks *keyState) names(i int32) bool {
	for j := range ks.recent {
		if ks.recent[j].i1 == i+1 {
			return true
		}
	}
	return false
}

// winState is the state of one key+window: the buffered values, trigger and
// pane state, holds and the pending event-time timer. A closed window (its
// trigger finished) keeps only its GC timer, to drop later input until then.
//
// Window states live in one slab (Reducer.wins) and are named by their
// index there; they hold no pointers, so that the collector need not scan
// them (with a pointer to each window's buffers it spent a third of the
// streaming benchmark's CPU marking them). Their trigger states are
// Reducer.st[i*len(nodes):(i+1)*len(nodes)]. A freed index is reused by a
// later window; seq tells the timers of the two apart.
type winState struct {
	// The fields every element reads or writes come first; the struct is
	// 128 bytes, so that in the slab (page-aligned once large) each window
	// is exactly two cache lines: at 152 bytes most windows straddled
	// three, and a window's first touch per element-window was the
	// reducer's largest cost (see BenchmarkAddSlidingCount). What a
	// look-up compares (is: the bounds and global) lies in the first line.
	start, end window.Time // the window; global marks the global window
	seq        uint64      // creation order: the deterministic tie-break of timers

	key        int32  // index into Reducer.keys
	next, prev int32  // the key's window list
	epoch      uint32 // the Add call that last touched the window

	global     bool
	nonEmpty   bool // elements arrived since the last pane
	closed     bool
	dead       bool // removed: garbage collected or merged away
	hasPane    bool
	paneTiming window.Timing

	// vals are the buffered values, in the Reducer's arena.
	vals valueList

	elemHold  window.Time // element hold, none if absent
	extraHold window.Time // end-of-window or GC hold, none if absent
	event     window.Time // pending EOW or GC timer, none if absent

	// The last emitted pane, if hasPane: its index, non-speculative index
	// and timing (paneTiming; the rest of its window.Pane follows from
	// these).
	paneIndex, paneNonSpec int64
}

// window returns the window ws is the state of.
func (ws *winState) window() window.Window {
	if ws.global {
		return window.Global()
	}
	return window.Interval(ws.start, ws.end)
}

// is reports whether ws is the state of window w.
func (ws *winState) is(w window.Window) bool {
	return ws.start == w.Start && ws.end == w.End && ws.global == w.IsGlobal()
}

// maxTs is the window's maximum timestamp.
func (ws *winState) maxTs() window.Time { return ws.end - 1 }

// setPane records p as the last emitted pane.
func (ws *winState) setPane(p window.Pane) {
	ws.hasPane, ws.paneIndex, ws.paneNonSpec, ws.paneTiming = true, p.Index, p.NonSpeculativeIndex, p.Timing
}

// clearPane forgets the last emitted pane.
func (ws *winState) clearPane() {
	ws.hasPane, ws.paneIndex, ws.paneNonSpec, ws.paneTiming = false, 0, 0, 0
}

// Per-entry overheads for Bytes: the structs themselves plus map and slice
// bookkeeping, so that many small keys are not accounted as free.
const (
	keyOverhead   = int64(unsafe.Sizeof(keyState{})) + 64 // map entry, key string
	winSize       = int64(unsafe.Sizeof(winState{}))
	indexSlotSize = unsafe.Sizeof(indexSlot{})
	timerSize     = int64(unsafe.Sizeof(timer{}))
	nodeSize      = int64(unsafe.Sizeof(nodeState{}))
)

// holdMin is the window's effective output-watermark hold.
func (ws *winState) holdMin() window.Time { return min(ws.elemHold, ws.extraHold) }

// timer is an entry of a timer or hold heap. Entries are invalidated lazily:
// the owner of the heap checks an entry against the window's current state
// when it reaches the top.
type timer struct {
	t    window.Time
	seq  uint64 // the window's, which tells a reused index apart
	win  int32  // index of the window's state
	node int32  // processing-time timers: the trigger node that set it
}

// timerHeap is a binary min-heap of timers ordered by (t, seq). It is
// hand-written because container/heap boxes every pushed value.
type timerHeap []timer

func (h timerHeap) less(i, j int) bool { return timerLess(h[i], h[j]) }

func (h *timerHeap) push(x timer) {
	*h = append(*h, x)
	h.up(len(*h) - 1)
}

func (h *timerHeap) pop() timer {
	old := *h
	n := len(old) - 1
	x := old[0]
	old[0] = old[n]
	*h = old[:n]
	h.down(0)
	return x
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h timerHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// validFunc reports whether a queued timer is still valid.
type validFunc func(r *Reducer, x timer) bool

// compact drops every invalid entry, so stale entries (of windows that were
// merged, fired or collected) cannot accumulate.
func (h *timerHeap) compact(r *Reducer, valid validFunc) {
	kept := (*h)[:0]
	for _, x := range *h {
		if valid(r, x) {
			kept = append(kept, x)
		}
	}
	*h = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// timerQueue is a queue of timers in (t, seq) order. Most timers come in
// that order already: a window's end-of-window timer and hold as windows
// are created, processing-time timers as the clock advances. Those go to
// the end of run, a sorted queue whose front is popped in constant time.
// Many of the others share their time with timers queued before: the
// windows of sliding or fixed windows end at a few instants, and when the
// input runs out of order across partitions (a topic's partitions read at
// different places) their timers come in creation order per instant but
// not overall. Those go to buckets, sorted queues of one instant each, up
// to maxBuckets of them; the rest go to a heap. The queue pops the least
// of the fronts. In the unbounded bids job read by auction the heap's
// pops, each a walk down its height, were 5% of the CPU. Entries are
// invalidated lazily: peek drops those no longer valid from the front,
// compact all of them.
type timerQueue struct {
	run  []timer // sorted; run[head:] are queued
	head int
	// buckets are sorted by their instant, and none is empty.
	buckets []timerBucket
	// spare are emptied buckets' slices, for new buckets.
	spare [][]timer
	heap  timerHeap
}

// timerBucket is a sorted queue of timers of one instant: xs[head:].
type timerBucket struct {
	t    window.Time
	xs   []timer
	head int
}

// maxBuckets bounds timerQueue.buckets: a front is found among them by a
// scan, and timers at many instants are the heap's to sort.
const maxBuckets = 16

func (q *timerQueue) len() int {
	n := len(q.run) - q.head + len(q.heap)
	for i := range q.buckets {
		n += len(q.buckets[i].xs) - q.buckets[i].head
	}
	return n
}

func (q *timerQueue) cap() int {
	n := cap(q.run) + cap(q.heap)
	for i := range q.buckets {
		n += cap(q.buckets[i].xs)
	}
	for _, xs := range q.spare {
		n += cap(xs)
	}
	return n
}

// reset empties q, keeping its capacity.
func (q *timerQueue) reset() {
	for _, b := range q.buckets {
		q.spare = append(q.spare, b.xs[:0])
	}
	*q = timerQueue{run: q.run[:0], buckets: q.buckets[:0], spare: q.spare, heap: q.heap[:0]}
}

func (q *timerQueue) push(x timer) {
	if n := len(q.run); n == q.head || !timerLess(x, q.run[n-1]) {
		q.run, q.head = appendQueued(q.run, q.head, x)
		return
	}
	if q.pushBucket(x) {
		return
	}
	q.heap.push(x)
}

// appendQueued appends x to a sorted queue, xs[head:], and returns the
// queue and its head: when xs is full and its popped front is at least
// half of it, the queued part slides to the front rather than grow.
func appendQueued(xs []timer, head int, x timer) ([]timer, int) {
	if n := len(xs); head > 0 && head >= n/2 && n == cap(xs) {
		xs, head = xs[:copy(xs, xs[head:])], 0
	}
	return append(xs, x), head
}

// pushBucket appends x to the bucket of its instant, made if there is room
// for one, and reports whether it did: not when x would come before the
// bucket's last timer, or when there is no bucket of its instant and no
// room for another.
func (q *timerQueue) pushBucket(x timer) bool {
	i := 0 // the first bucket not before x.t: a scan of a few
	for i < len(q.buckets) && q.buckets[i].t < x.t {
		i++
	}
	if i < len(q.buckets) && q.buckets[i].t == x.t {
		b := &q.buckets[i]
		if x.seq < b.xs[len(b.xs)-1].seq {
			return false
		}
		b.xs, b.head = appendQueued(b.xs, b.head, x)
		return true
	}
	if len(q.buckets) == maxBuckets {
		return false
	}
	var xs []timer
	if k := len(q.spare); k > 0 {
		xs, q.spare = q.spare[k-1], q.spare[:k-1]
	}
	q.buckets = slices.Insert(q.buckets, i, timerBucket{t: x.t, xs: append(xs, x)})
	return true
}

// where the least timer is: in run, in the first bucket or in the heap.
const (
	inRun = iota
	inBucket
	inHeap
)

// front returns the least timer and where it is. q must not be empty.
func (q *timerQueue) front() (x timer, at int) {
	at = -1
	if q.head < len(q.run) {
		x, at = q.run[q.head], inRun
	}
	if len(q.buckets) > 0 {
		b := &q.buckets[0]
		if y := b.xs[b.head]; at < 0 || timerLess(y, x) {
			x, at = y, inBucket
		}
	}
	if len(q.heap) > 0 && (at < 0 || timerLess(q.heap[0], x)) {
		x, at = q.heap[0], inHeap
	}
	return x, at
}

func (q *timerQueue) pop() timer {
	x, at := q.front()
	switch at {
	case inHeap:
		return q.heap.pop()
	case inBucket:
		b := &q.buckets[0]
		if b.head++; b.head == len(b.xs) {
			q.spare = append(q.spare, b.xs[:0])
			q.buckets = slices.Delete(q.buckets, 0, 1)
		}
		return x
	}
	q.head++
	if q.head == len(q.run) {
		q.run, q.head = q.run[:0], 0
	}
	return x
}

// ahead returns the timer d places after the front in the sorted run or
// bucket the front is in, if there is one there (not if the front is in
// the heap): one that comes soon after it, whose window's state the
// caller prefetches. q must not be empty.
func (q *timerQueue) ahead(d int) (timer, bool) {
	switch _, at := q.front(); at {
	case inRun:
		if i := q.head + d; i < len(q.run) {
			return q.run[i], true
		}
	case inBucket:
		if b := &q.buckets[0]; b.head+d < len(b.xs) {
			return b.xs[b.head+d], true
		}
	}
	return timer{}, false
}

// peek drops invalid entries from the front and returns the first valid
// one.
func (q *timerQueue) peek(r *Reducer, valid validFunc) (timer, bool) {
	for q.len() > 0 {
		if x, _ := q.front(); valid(r, x) {
			return x, true
		}
		q.pop()
	}
	return timer{}, false
}

// each calls f with every queued timer, in no particular order.
func (q *timerQueue) each(f func(x timer)) {
	for _, x := range q.run[q.head:] {
		f(x)
	}
	for _, b := range q.buckets {
		for _, x := range b.xs[b.head:] {
			f(x)
		}
	}
	for _, x := range q.heap {
		f(x)
	}
}

// compact drops every invalid entry.
func (q *timerQueue) compact(r *Reducer, valid validFunc) {
	kept := q.run[:0]
	for _, x := range q.run[q.head:] {
		if valid(r, x) {
			kept = append(kept, x)
		}
	}
	q.run, q.head = kept, 0
	buckets := q.buckets[:0]
	for _, b := range q.buckets {
		xs := b.xs[:0]
		for _, x := range b.xs[b.head:] {
			if valid(r, x) {
				xs = append(xs, x)
			}
		}
		if len(xs) == 0 {
			q.spare = append(q.spare, xs)
			continue
		}
		buckets = append(buckets, timerBucket{t: b.t, xs: xs})
	}
	clear(q.buckets[len(buckets):])
	q.buckets = buckets
	q.heap.compact(r, valid)
}

func timerLess(a, b timer) bool { return a.t < b.t || a.t == b.t && a.seq < b.seq }
