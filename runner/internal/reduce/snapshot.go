package reduce

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

// Snapshot appends the reducer's state to w: every live key and window
// with its buffered values, trigger state, last pane, holds and timers,
// and the dropped counts. Restore rebuilds a reducer that continues
// exactly where this one stands. Snapshot does not change the reducer.
//
// The timer heaps are not written: they are rebuilt from the windows
// (each window's event timer, hold and queued processing-time nodes), in
// the windows' creation order, which is also the heaps' tie-break, so the
// restored reducer fires in the same order.
//
// It writes what a Freeze followed by Frozen.Snapshot writes, reading the
// reducer's slabs in place instead of copying them, so nothing may change
// the reducer until it returns.
func (r *Reducer) Snapshot(w *snapbuf.Writer) {
	r.markQueued(true)
	f := Frozen{seq: r.seq, late: r.late, closed: r.closed, nodes: len(r.nodes),
		keys: r.keys, wins: r.wins, st: r.st, pages: r.vals.pageSet, ints: r.ints}
	f.Snapshot(w)
	r.markQueued(false)
}

// Frozen is a reducer's state at one moment, taken by Freeze and written
// by Snapshot while the reducer goes on: a checkpoint pauses the job only
// to copy the pointer-free slabs (keys, windows, trigger states) and the
// arena's page list, and encodes them after the job has resumed. The
// arena never rewrites a record's value nor a list's links once the list
// has grown past it (only the tail's link changes), and it never reuses a
// page's bytes, so the records the copied windows name stay as they were.
// A Frozen is reused by the next Freeze; its zero value is ready.
type Frozen struct {
	seq          uint64
	late, closed int64
	nodes        int
	keys         []keyState
	wins         []winState
	st           []nodeState
	pages        pageSet
	// ints is the reducer's IntMerger, if its windows' values are int64s
	// (see valueList).
	ints       IntMerger
	intScratch []byte
	// ord is Snapshot's scratch: each key's place among the live keys.
	ord []int32
}

// Freeze copies the reducer's state into f, reusing f's memory. The
// reducer may change as soon as Freeze returns; f does not.
func (r *Reducer) Freeze(f *Frozen) {
	f.seq, f.late, f.closed, f.nodes = r.seq, r.late, r.closed, len(r.nodes)
	f.ints = r.ints
	f.keys = append(f.keys[:0], r.keys...)
	f.wins = append(f.wins[:0], r.wins...)
	r.markQueued(true)
	f.st = append(f.st[:0], r.st...)
	r.markQueued(false)
	clear(f.pages.pages)
	f.pages.pages = append(f.pages.pages[:0], r.vals.pages...)
	clear(f.pages.spilled)
	if len(r.vals.spilled) > 0 {
		if f.pages.spilled == nil {
			f.pages.spilled = make(map[uint32]extent, len(r.vals.spilled))
		}
		maps.Copy(f.pages.spilled, r.vals.spilled)
	}
	if file := r.vals.file; file != f.pages.file {
		// The spill file's extents stay as they are until Release.
		if f.pages.file != nil {
			f.pages.file.frozen.Add(-1)
		}
		if file != nil {
			file.frozen.Add(1)
		}
		f.pages.file = file
	}
}

// Release drops f's references to the reducer's memory (key bytes and
// arena pages), so that they do not outlive the reducer's use of them,
// and f's own copies. Keeping the copies for the next Freeze saved an
// allocation per snapshot but kept the reducer's slabs twice in the live
// heap between snapshots, which under the runner's soft memory limit made
// the collector run back to back.
func (f *Frozen) Release() {
	if f.pages.file != nil {
		f.pages.file.frozen.Add(-1)
	}
	*f = Frozen{}
}

// live reports whether the copied key k is in use: a freed key is the
// zero keyState, while a live one without windows has first == noWin.
func (f *Frozen) live(k int) bool {
	ks := &f.keys[k]
	return ks.n > 0 || ks.first == noWin
}

// slabOrder opens a snapshot in the slab-order format. The format before
// it (version 1) opened with the reducer's sequence number, a counter of
// windows that never reaches it.
const slabOrder = ^uint64(0)

// Snapshot appends the frozen state to w in the slab-order format: the
// live keys' bytes in key-slab order, then the live windows in
// window-slab order, each naming its key by its place among those keys.
// Walking each key's window list instead (version 1) jumped around the
// window and trigger slabs at random: in a profile of the streaming
// benchmark with a snapshot every second, most of the encoding's time
// went to those cache misses. Times are written relative to the window's
// end, where they cluster, and an absent one as a single byte.
func (f *Frozen) Snapshot(w *snapbuf.Writer) {
	w.Uint(slabOrder)
	w.Uint(f.seq)
	w.Int(f.late)
	w.Int(f.closed)
	// ord maps a live key's slab index to its place in the key table.
	f.ord = slices.Grow(f.ord[:0], len(f.keys))[:len(f.keys)]
	n := int32(0)
	for k := range f.keys {
		if f.live(k) {
			f.ord[k] = n
			n++
		} else {
			f.ord[k] = -1
		}
	}
	w.Uint(uint64(n))
	for k := range f.keys {
		if f.ord[k] >= 0 {
			w.Bytes(f.keys[k].kb)
			w.Spill()
		}
	}
	live := 0
	for i := range f.wins {
		if !f.wins[i].dead {
			live++
		}
	}
	w.Uint(uint64(live))
	var ends []int
	for i := range f.wins {
		ws := &f.wins[i]
		if ws.dead {
			continue
		}
		w.Uint(uint64(f.ord[ws.key]))
		ends = f.snapshotWin(w, int32(i), ends[:0])
		w.Spill()
	}
	if f.pages.file != nil {
		if err := f.pages.file.failed(); err != nil {
			// Values that could not be read back: the snapshot fails.
			w.Fail(err)
		}
	}
}

// snapshotWin writes window i; ends is scratch for its values' ends.
func (f *Frozen) snapshotWin(w *snapbuf.Writer, i int32, ends []int) []int {
	ws := &f.wins[i]
	w.Window(ws.window())
	base := ws.end
	w.Uint(ws.seq)
	// The values, concatenated, then their end offsets. The walk reads
	// the header of every chunk but the tail: the tail's header is the
	// one the running reducer may write.
	if f.ints != nil {
		// The merged accumulator, as a window's one value.
		var enc []byte
		if ws.vals.n != 0 {
			enc = f.ints.AppendInt(f.intScratch[:0], ws.vals.size)
			f.intScratch = enc
			ends = append(ends, len(enc))
		}
		w.Uint(uint64(len(enc)))
		w.Buf = append(w.Buf, enc...)
	} else {
		w.Uint(uint64(ws.vals.size))
		w.Buf, ends = appendConcat(&f.pages, w.Buf, ends, &ws.vals)
	}
	w.Uint(uint64(len(ends)))
	for _, e := range ends {
		w.Uint(uint64(e))
	}
	var flags byte
	// The last pane's IsFirst and IsLast (flags 8 and 16) follow from the
	// rest: it is first iff its index is 0, and a live window's is never last.
	for b, on := range [...]bool{ws.nonEmpty, ws.closed, ws.hasPane, ws.hasPane && ws.paneIndex == 0, false} {
		if on {
			flags |= 1 << b
		}
	}
	w.Byte(flags)
	var nodes []nodeState
	if !ws.closed {
		nodes = f.st[int(i)*f.nodes : int(i+1)*f.nodes]
	}
	w.Uint(uint64(len(nodes)))
	for _, n := range nodes {
		w.Int(int64(n.count))
		putRel(w, n.delay, base)
		var nf byte
		for b, on := range [...]bool{n.armed, n.finished, n.queued} {
			if on {
				nf |= 1 << b
			}
		}
		w.Byte(nf)
	}
	w.Uint(uint64(ws.paneTiming))
	w.Int(ws.paneIndex)
	w.Int(ws.paneNonSpec)
	putRel(w, ws.elemHold, base)
	putRel(w, ws.extraHold, base)
	putRel(w, ws.event, base)
	return ends
}

// putRel writes t relative to base: 0 for none, 1 and t itself if the
// difference does not fit, else the zigzagged difference plus 2.
func putRel(w *snapbuf.Writer, t, base window.Time) {
	if t == none {
		w.Uint(0)
		return
	}
	d := int64(uint64(t) - uint64(base))
	z := uint64(d<<1) ^ uint64(d>>63)
	if z > ^uint64(0)-2 {
		w.Uint(1)
		w.Time(t)
		return
	}
	w.Uint(z + 2)
}

// getRel reads what putRel wrote.
func getRel(rd *snapbuf.Reader, base window.Time) window.Time {
	switch z := rd.Uint(); z {
	case 0:
		return none
	case 1:
		return rd.Time()
	default:
		z -= 2
		d := int64(z>>1) ^ -int64(z&1)
		return window.Time(uint64(base) + uint64(d))
	}
}

// procKey names a processing-time timer of a trigger node of a window.
type procKey struct {
	win, node int32
}

// markQueued sets (or clears) the queued bit of the armed nodes whose
// timers are still in the heap: a node stays armed after its timer popped
// without firing (another part of the trigger was not ready), and such a
// node waits for the next evaluation of its window rather than for its
// timer.
func (r *Reducer) markQueued(on bool) {
	r.procs.each(func(x timer) {
		if validProc(r, x) {
			r.nodesOf(x.win)[x.node].queued = on
		}
	})
}

// Restore loads a snapshot that Snapshot wrote into r, a reducer new from
// New with the same strategy; it also reads the format before the slab
// order (version 1, windows grouped by key). A snapshot that does not fit
// the strategy (another trigger tree) or is corrupt fails with
// snapbuf.ErrCorrupt; r is then unusable.
func (r *Reducer) Restore(rd *snapbuf.Reader) error {
	if r.keyIDs.Len() != 0 {
		rd.Fail("restore into a reducer that holds state")
		return rd.Err()
	}
	first := rd.Uint()
	if first == slabOrder {
		return r.restoreSlabOrder(rd)
	}
	r.seq = first
	r.late, r.closed = rd.Int(), rd.Int()
	nkeys := rd.Count(2)
	var wins []int32
	var procs []procKey
	for range nkeys {
		k := r.keyID(rd.Bytes())
		nwins := rd.Count(8)
		for range nwins {
			var i int32
			i, procs = r.restoreWin(rd, k, procs)
			if rd.Err() != nil {
				return rd.Err()
			}
			wins = append(wins, i)
		}
	}
	if err := rd.Err(); err != nil {
		return err
	}
	r.rebuildTimers(wins, procs)
	return nil
}

// savedWin is a window read from a slab-order snapshot, before it is
// added to the reducer: its values are vals cut at ends[from:to], its
// trigger states nodes[node:node+nnodes].
type savedWin struct {
	key               int32
	win               window.Window
	seq               uint64
	vals              []byte
	from, to          int
	node, nnodes      int
	flags             byte
	timing            uint64
	index, nonSpec    int64
	elemH, extraH, ev window.Time
}

// restoreSlabOrder reads the rest of a slab-order snapshot. The windows
// are added in the order of their sequence numbers, their creation order,
// so that each key's window list is in the order it had (newWin appends).
func (r *Reducer) restoreSlabOrder(rd *snapbuf.Reader) error {
	r.seq = rd.Uint()
	r.late, r.closed = rd.Int(), rd.Int()
	nkeys := rd.Count(1)
	keys := make([]int32, nkeys)
	for j := range keys {
		keys[j] = r.keyID(rd.Bytes())
	}
	nwins := rd.Count(12)
	saved := make([]savedWin, 0, nwins)
	var ends []int
	var nodes []nodeState
	for range nwins {
		var sw savedWin
		k := rd.Uint()
		if rd.Err() == nil && k >= uint64(nkeys) {
			rd.Fail("window of key %d of %d", k, nkeys)
		}
		sw.key = int32(k)
		sw.win = rd.Window()
		base := sw.win.End
		sw.seq = rd.Uint()
		sw.vals = rd.Bytes()
		sw.from = len(ends)
		nends := rd.Count(1)
		prev := 0
		for range nends {
			e := int(rd.Uint())
			if rd.Err() == nil && (e < prev || e > len(sw.vals)) {
				rd.Fail("window %v: value end %d out of order or past %d bytes", sw.win, e, len(sw.vals))
			}
			ends = append(ends, e)
			prev = e
		}
		sw.to = len(ends)
		sw.flags = rd.Byte(^byte(31))
		sw.node = len(nodes)
		sw.nnodes = rd.Count(3)
		closed := sw.flags&2 != 0
		if rd.Err() == nil && (!closed || sw.nnodes != 0) && sw.nnodes != len(r.nodes) {
			rd.Fail("window %v has %d trigger nodes, the strategy %d", sw.win, sw.nnodes, len(r.nodes))
		}
		for range sw.nnodes {
			n := nodeState{count: snapCount(rd), delay: getRel(rd, base)}
			nf := rd.Byte(^byte(7))
			n.armed, n.finished, n.queued = nf&1 != 0, nf&2 != 0, nf&4 != 0
			nodes = append(nodes, n)
		}
		sw.timing = rd.Uint()
		sw.index, sw.nonSpec = rd.Int(), rd.Int()
		sw.elemH, sw.extraH, sw.ev = getRel(rd, base), getRel(rd, base), getRel(rd, base)
		if rd.Err() != nil {
			return rd.Err()
		}
		saved = append(saved, sw)
	}
	if err := rd.Err(); err != nil {
		return err
	}
	slices.SortFunc(saved, func(a, b savedWin) int { return cmp.Compare(a.seq, b.seq) })
	wins := make([]int32, 0, len(saved))
	var procs []procKey
	for j := range saved {
		sw := &saved[j]
		k := keys[sw.key]
		if r.find(k, sw.win) != noWin {
			rd.Fail("window %v of a key twice", sw.win)
			return rd.Err()
		}
		i := r.newWin(k, sw.win)
		r.seq-- // newWin drew a sequence number; the snapshot's is restored
		ws := &r.wins[i]
		ws.seq = sw.seq
		prev := 0
		for _, e := range ends[sw.from:sw.to] {
			r.restoreValue(rd, ws, sw.vals[prev:e])
			prev = e
		}
		ws.nonEmpty, ws.closed, ws.hasPane = sw.flags&1 != 0, sw.flags&2 != 0, sw.flags&4 != 0
		ws.paneTiming, ws.paneIndex, ws.paneNonSpec = window.Timing(sw.timing), sw.index, sw.nonSpec
		ws.elemHold, ws.extraHold, ws.event = sw.elemH, sw.extraH, sw.ev
		st := r.nodesOf(i)
		for x, n := range nodes[sw.node : sw.node+sw.nnodes] {
			if n.queued {
				procs = append(procs, procKey{i, int32(x)})
				n.queued = false
			}
			st[x] = n
		}
		wins = append(wins, i)
	}
	if err := rd.Err(); err != nil {
		return err // a value that did not decode
	}
	r.rebuildTimers(wins, procs)
	return nil
}

func (r *Reducer) restoreWin(rd *snapbuf.Reader, k int32, procs []procKey) (int32, []procKey) {
	w := rd.Window()
	if r.find(k, w) != noWin {
		rd.Fail("window %v of a key twice", w)
		return 0, procs
	}
	i := r.newWin(k, w)
	r.seq-- // newWin drew a sequence number; the snapshot's is restored
	ws := &r.wins[i]
	ws.seq = rd.Uint()
	buf := rd.Bytes()
	nends := rd.Count(1)
	prev := 0
	for range nends {
		e := int(rd.Uint())
		if e < prev || e > len(buf) {
			rd.Fail("window %v: value end %d out of order or past %d bytes", ws.window(), e, len(buf))
			return i, procs
		}
		r.restoreValue(rd, ws, buf[prev:e])
		prev = e
	}
	ws.nonEmpty, ws.closed = rd.Bool(), rd.Bool()
	nnodes := rd.Count(4)
	if (!ws.closed || nnodes != 0) && nnodes != len(r.nodes) {
		rd.Fail("window %v has %d trigger nodes, the strategy %d", ws.window(), nnodes, len(r.nodes))
		return i, procs
	}
	nodes := r.nodesOf(i)
	for j := range nnodes {
		nodes[j] = nodeState{count: snapCount(rd), delay: rd.Time(), armed: rd.Bool(), finished: rd.Bool()}
		if rd.Bool() {
			procs = append(procs, procKey{i, int32(j)})
		}
	}
	ws.hasPane = rd.Bool()
	rd.Bool() // the last pane's IsFirst and IsLast, which follow from the rest
	rd.Bool()
	ws.paneTiming, ws.paneIndex, ws.paneNonSpec = window.Timing(rd.Uint()), rd.Int(), rd.Int()
	ws.elemHold, ws.extraHold, ws.event = rd.Time(), rd.Time(), rd.Time()
	return i, procs
}

// rebuildTimers pushes the timers and holds of the restored windows, and
// the processing-time timers that were queued.
func (r *Reducer) rebuildTimers(wins []int32, procs []procKey) {
	for _, i := range wins {
		ws := &r.wins[i]
		r.seq = max(r.seq, ws.seq)
		if ws.event != none {
			r.events.push(timer{t: ws.event, seq: ws.seq, win: i})
		}
		if h := ws.holdMin(); h != none {
			r.holds.push(timer{t: h, seq: ws.seq, win: i})
		}
	}
	for _, p := range procs {
		ws := &r.wins[p.win]
		r.procs.push(timer{t: r.nodesOf(p.win)[p.node].delay, seq: ws.seq, win: p.win, node: p.node})
	}
}

// snapCount reads an AfterCount node's count, written as a 64-bit integer
// (snapshots of builds whose counts were 64 bits may hold larger ones),
// saturated as addCount does; a negative one fails rd.
func snapCount(rd *snapbuf.Reader) int32 {
	c := rd.Int()
	if c < 0 {
		rd.Fail("negative trigger count %d", c)
		return 0
	}
	return int32(min(c, math.MaxInt32))
}

// restoreValue adds a restored value to ws: buffered, or merged into its
// int64 accumulator, where a value that does not decode fails the
// restore.
func (r *Reducer) restoreValue(rd *snapbuf.Reader, ws *winState, v []byte) {
	if r.ints == nil {
		r.vals.push(&ws.vals, v)
	} else if err := r.mergeInt(ws, v); err != nil {
		rd.Fail("window %v: value of %d bytes: %v", ws.window(), len(v), err)
	}
}
