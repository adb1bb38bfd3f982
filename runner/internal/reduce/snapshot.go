package reduce

import (
	"encoding/binary"

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
func (r *Reducer) Snapshot(w *snapbuf.Writer) {
	var f Frozen
	r.Freeze(&f)
	f.Snapshot(w)
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
	pages        [][]byte
}

// Freeze copies the reducer's state into f, reusing f's memory. The
// reducer may change as soon as Freeze returns; f does not.
func (r *Reducer) Freeze(f *Frozen) {
	f.seq, f.late, f.closed, f.nodes = r.seq, r.late, r.closed, len(r.nodes)
	f.keys = append(f.keys[:0], r.keys...)
	f.wins = append(f.wins[:0], r.wins...)
	r.markQueued(true)
	f.st = append(f.st[:0], r.st...)
	r.markQueued(false)
	clear(f.pages)
	f.pages = append(f.pages[:0], r.vals.pages...)
}

// Release drops f's references to the reducer's memory (key bytes and
// arena pages), so that they do not outlive the reducer's use of them.
func (f *Frozen) Release() {
	clear(f.keys)
	clear(f.pages)
	f.pages = f.pages[:0]
	f.keys = f.keys[:0]
}

// live reports whether the copied key k is in use: a freed key is the
// zero keyState, while a live one without windows has first == noWin.
func (f *Frozen) live(k int) bool {
	ks := &f.keys[k]
	return ks.n > 0 || ks.first == noWin
}

// Snapshot appends the frozen state to w in the format Reducer.Snapshot
// writes (keys in slab order rather than map order: Restore needs none).
func (f *Frozen) Snapshot(w *snapbuf.Writer) {
	w.Uint(f.seq)
	w.Int(f.late)
	w.Int(f.closed)
	n := 0
	for k := range f.keys {
		if f.live(k) {
			n++
		}
	}
	w.Uint(uint64(n))
	var ends []int
	for k := range f.keys {
		if !f.live(k) {
			continue
		}
		ks := &f.keys[k]
		w.Bytes(ks.kb)
		w.Uint(uint64(ks.n))
		for i := ks.first; i != noWin; i = f.wins[i].next {
			ends = f.snapshotWin(w, i, ends[:0])
		}
	}
}

// snapshotWin writes window i; ends is scratch for its values' ends.
func (f *Frozen) snapshotWin(w *snapbuf.Writer, i int32, ends []int) []int {
	ws := &f.wins[i]
	w.Window(ws.win)
	w.Uint(ws.seq)
	// The values, concatenated, then their end offsets. The walk reads
	// the link of every record but the last: the tail's link is the one
	// the running reducer may set.
	w.Uint(uint64(ws.vals.size))
	total := 0
	r := ws.vals.head
	for j := range ws.vals.n {
		page := f.pages[r>>refPageBit]
		off := uint32(r)
		n := binary.LittleEndian.Uint32(page[off+8:])
		w.Buf = append(w.Buf, page[off+recHeader:off+recHeader+n]...)
		total += int(n)
		ends = append(ends, total)
		if j < ws.vals.n-1 {
			r = ref(binary.LittleEndian.Uint64(page[off:]))
		}
	}
	w.Uint(uint64(len(ends)))
	for _, e := range ends {
		w.Uint(uint64(e))
	}
	w.Bool(ws.nonEmpty)
	w.Bool(ws.closed)
	var nodes []nodeState
	if !ws.closed {
		nodes = f.st[int(i)*f.nodes : int(i+1)*f.nodes]
	}
	w.Uint(uint64(len(nodes)))
	for _, n := range nodes {
		w.Int(n.count)
		w.Time(n.delay)
		w.Bool(n.armed)
		w.Bool(n.finished)
		w.Bool(n.queued)
	}
	w.Bool(ws.hasPane)
	w.Bool(ws.pane.IsFirst)
	w.Bool(ws.pane.IsLast)
	w.Uint(uint64(ws.pane.Timing))
	w.Int(ws.pane.Index)
	w.Int(ws.pane.NonSpeculativeIndex)
	w.Time(ws.elemHold)
	w.Time(ws.extraHold)
	w.Time(ws.event)
	return ends
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
	for _, x := range r.procs {
		if validProc(r, x) {
			r.nodesOf(x.win)[x.node].queued = on
		}
	}
}

// Restore loads a snapshot that Snapshot wrote into r, a reducer new from
// New with the same strategy. A snapshot that does not fit the strategy
// (another trigger tree) or is corrupt fails with snapbuf.ErrCorrupt; r
// is then unusable.
func (r *Reducer) Restore(rd *snapbuf.Reader) error {
	if len(r.keyIDs) != 0 {
		rd.Fail("restore into a reducer that holds state")
		return rd.Err()
	}
	r.seq = rd.Uint()
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
			rd.Fail("window %v: value end %d out of order or past %d bytes", ws.win, e, len(buf))
			return i, procs
		}
		r.vals.push(&ws.vals, buf[prev:e])
		prev = e
	}
	ws.nonEmpty, ws.closed = rd.Bool(), rd.Bool()
	nnodes := rd.Count(4)
	if (!ws.closed || nnodes != 0) && nnodes != len(r.nodes) {
		rd.Fail("window %v has %d trigger nodes, the strategy %d", ws.win, nnodes, len(r.nodes))
		return i, procs
	}
	nodes := r.nodesOf(i)
	for j := range nnodes {
		nodes[j] = nodeState{count: rd.Int(), delay: rd.Time(), armed: rd.Bool(), finished: rd.Bool()}
		if rd.Bool() {
			procs = append(procs, procKey{i, int32(j)})
		}
	}
	ws.hasPane = rd.Bool()
	ws.pane = window.Pane{IsFirst: rd.Bool(), IsLast: rd.Bool(), Timing: window.Timing(rd.Uint()), Index: rd.Int(), NonSpeculativeIndex: rd.Int()}
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
