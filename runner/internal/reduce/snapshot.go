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
	w.Uint(uint64(len(r.keys)))
	for _, ks := range r.keys {
		w.String(ks.key)
		w.Uint(uint64(len(ks.wins)))
		for _, ws := range ks.wins {
			snapshotWin(w, ws)
		}
	}
	r.markQueued(false)
}

// procKey names a processing-time timer of a trigger node of a window.
type procKey struct {
	ws   *winState
	node int32
}

// markQueued sets (or clears) the queued bit of the armed nodes whose
// timers are still in the heap: a node stays armed after its timer popped
// without firing (another part of the trigger was not ready), and such a
// node waits for the next evaluation of its window rather than for its
// timer.
func (r *Reducer) markQueued(on bool) {
	for _, x := range r.procs {
		if validProc(x) {
			x.ws.nodes[x.node].queued = on
		}
	}
}

func snapshotWin(w *snapbuf.Writer, ws *winState) {
	w.Window(ws.win)
	w.Uint(ws.seq)
	w.Bytes(ws.buf)
	w.Uint(uint64(len(ws.ends)))
	for _, e := range ws.ends {
		w.Uint(uint64(e))
	}
	w.Bool(ws.nonEmpty)
	w.Bool(ws.closed)
	w.Uint(uint64(len(ws.nodes)))
	for _, n := range ws.nodes {
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
	if len(r.keys) != 0 {
		rd.Fail("restore into a reducer that holds state")
		return rd.Err()
	}
	r.seq = rd.Uint()
	r.late, r.closed = rd.Int(), rd.Int()
	nkeys := rd.Count(2)
	var wins []*winState
	var procs []procKey
	for range nkeys {
		ks := r.keyState(rd.Bytes())
		nwins := rd.Count(8)
		for range nwins {
			var ws *winState
			ws, procs = r.restoreWin(rd, ks, procs)
			if rd.Err() != nil {
				return rd.Err()
			}
			wins = append(wins, ws)
		}
	}
	if err := rd.Err(); err != nil {
		return err
	}
	r.rebuildTimers(wins, procs)
	return nil
}

func (r *Reducer) restoreWin(rd *snapbuf.Reader, ks *keyState, procs []procKey) (*winState, []procKey) {
	ws := r.newWin(ks, rd.Window())
	r.seq-- // newWin drew a sequence number; the snapshot's is restored
	before := ws.size()
	ws.seq = rd.Uint()
	ws.buf = append([]byte(nil), rd.Bytes()...)
	nends := rd.Count(1)
	ws.ends = make([]int, nends)
	prev := 0
	for i := range ws.ends {
		e := int(rd.Uint())
		if e < prev || e > len(ws.buf) {
			rd.Fail("window %v: value end %d out of order or past %d bytes", ws.win, e, len(ws.buf))
			return ws, procs
		}
		ws.ends[i], prev = e, e
	}
	ws.nonEmpty, ws.closed = rd.Bool(), rd.Bool()
	nnodes := rd.Count(4)
	switch {
	case ws.closed && nnodes == 0:
		ws.nodes = nil
	case nnodes != len(r.nodes):
		rd.Fail("window %v has %d trigger nodes, the strategy %d", ws.win, nnodes, len(r.nodes))
		return ws, procs
	}
	for i := range nnodes {
		ws.nodes[i] = nodeState{count: rd.Int(), delay: rd.Time(), armed: rd.Bool(), finished: rd.Bool()}
		if rd.Bool() {
			procs = append(procs, procKey{ws, int32(i)})
		}
	}
	ws.hasPane = rd.Bool()
	ws.pane = window.Pane{IsFirst: rd.Bool(), IsLast: rd.Bool(), Timing: window.Timing(rd.Uint()), Index: rd.Int(), NonSpeculativeIndex: rd.Int()}
	ws.elemHold, ws.extraHold, ws.event = rd.Time(), rd.Time(), rd.Time()
	r.bytes += ws.size() - before
	return ws, procs
}

// rebuildTimers pushes the timers and holds of the restored windows, and
// the processing-time timers that were queued.
func (r *Reducer) rebuildTimers(wins []*winState, procs []procKey) {
	for _, ws := range wins {
		r.seq = max(r.seq, ws.seq)
		if ws.event != none {
			r.events.push(timer{t: ws.event, seq: ws.seq, ws: ws})
		}
		if h := ws.holdMin(); h != none {
			r.holds.push(timer{t: h, seq: ws.seq, ws: ws})
		}
	}
	for _, p := range procs {
		r.procs.push(timer{t: p.ws.nodes[p.node].delay, seq: p.ws.seq, ws: p.ws, node: p.node})
	}
}
