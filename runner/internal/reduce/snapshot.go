package reduce

import (
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
	w.Uint(r.seq)
	w.Int(r.late)
	w.Int(r.closed)
	r.markQueued(true)
	w.Uint(uint64(len(r.keyIDs)))
	var buf []byte
	var ends []int
	for key, k := range r.keyIDs {
		ks := &r.keys[k]
		w.String(key)
		w.Uint(uint64(ks.n))
		for i := ks.first; i != noWin; i = r.wins[i].next {
			buf, ends = r.vals.appendConcat(buf[:0], ends[:0], r.wins[i].vals)
			r.snapshotWin(w, i, buf, ends)
		}
	}
	r.markQueued(false)
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

// snapshotWin writes window i, whose values are buf cut at ends.
func (r *Reducer) snapshotWin(w *snapbuf.Writer, i int32, buf []byte, ends []int) {
	ws := &r.wins[i]
	w.Window(ws.win)
	w.Uint(ws.seq)
	w.Bytes(buf)
	w.Uint(uint64(len(ends)))
	for _, e := range ends {
		w.Uint(uint64(e))
	}
	w.Bool(ws.nonEmpty)
	w.Bool(ws.closed)
	var nodes []nodeState
	if !ws.closed {
		nodes = r.nodesOf(i)
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
