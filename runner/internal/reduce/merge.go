package reduce

import (
	"slices"

	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Merging windows (sessions). Per key and batch, the windows of the batch's
// elements are merged with the key's active windows before any element is
// added, as Java's ReduceFnRunner does with its MergingActiveWindowSet. A
// closed window (finished trigger) is not active: it takes no part in merges.
// Elements are dropped as closed only when their window, or the window a merge
// would make, is exactly a closed one; Java would reopen the latter and emit
// panes after its last pane.

// keyGroup is the elements of one key in a batch.
type keyGroup struct {
	key   []byte
	elems []int
}

func (r *Reducer) addMerging(batch []Element, t Times) {
	index := make(map[string]int)
	var groups []keyGroup
	for i := range batch {
		k := string(batch[i].Key)
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, keyGroup{key: batch[i].Key})
		}
		groups[g].elems = append(groups[g].elems, i)
	}
	for _, g := range groups {
		r.addMergingKey(batch, g, t)
	}
}

func (r *Reducer) addMergingKey(batch []Element, g keyGroup, t Times) {
	var fresh []window.Window
	seen := make(map[window.Window]bool)
	for _, i := range g.elems {
		for _, w := range windowsOf(&batch[i]) {
			if r.gcTime(w) >= t.Input && !seen[w] {
				seen[w] = true
				fresh = append(fresh, w)
			}
		}
	}
	var into map[window.Window]*winState
	if len(fresh) > 0 {
		into = r.mergeKey(r.keyState(g.key), fresh, t)
	}
	for _, i := range g.elems {
		e := &batch[i]
		for _, w := range windowsOf(e) {
			switch ws := into[w]; {
			case r.gcTime(w) < t.Input:
				r.late++
			case ws.closed:
				r.closed++
			default:
				r.addValue(ws, e, t)
			}
		}
	}
}

// mergeKey merges the fresh windows with the key's active windows and
// returns the window state each fresh window's elements go to.
func (r *Reducer) mergeKey(ks *keyState, fresh []window.Window, t Times) map[window.Window]*winState {
	var all []window.Window
	var owner []*winState // the active state of all[i], nil for a fresh window
	for _, ws := range ks.wins {
		if !ws.closed {
			all, owner = append(all, ws.win), append(owner, ws)
		}
	}
	for _, w := range fresh {
		if !slices.Contains(all, w) {
			all, owner = append(all, w), append(owner, nil)
		}
	}
	merged, into := window.MergeWindows(all)
	groups := make([][]int, len(merged))
	for i, j := range into {
		groups[j] = append(groups[j], i)
	}
	result := make(map[window.Window]*winState, len(all))
	for j, grp := range groups {
		target := r.mergeGroup(ks, merged[j], grp, owner, t)
		for _, i := range grp {
			if target.closed && owner[i] != nil {
				// A merge refused because its result is a closed window:
				// the active windows stay as they are.
				result[all[i]] = owner[i]
			} else {
				result[all[i]] = target
			}
		}
	}
	return result
}

// mergeGroup makes the state of merged window w from the windows grp (indexes
// into owner) and returns it; a closed state means the merge was refused.
func (r *Reducer) mergeGroup(ks *keyState, w window.Window, grp []int, owner []*winState, t Times) *winState {
	var srcs []*winState
	var target *winState
	for _, i := range grp {
		if ws := owner[i]; ws != nil {
			srcs = append(srcs, ws)
			if ws.win == w {
				target = ws
			}
		}
	}
	switch {
	case len(grp) == 1 && len(srcs) == 1:
		return srcs[0]
	case len(grp) == 1:
		// A lone new window: a fresh state, or the closed window it equals.
		if ws := ks.find(w); ws != nil {
			return ws
		}
		return r.newWin(ks, w)
	}
	if target == nil {
		if tomb := ks.find(w); tomb != nil {
			// The merge would reopen a closed window (Java's merge
			// overwrites its finished bits) and emit panes after its last
			// pane. Instead the new elements are dropped as for the closed
			// window, and the active windows are left unmerged.
			return tomb
		}
		target = r.newWin(ks, w)
	}
	r.mergeInto(target, srcs, t)
	return target
}

// mergeInto moves the state of srcs (which may include target) into target:
// values in window order, element holds by the timestamp combiner and a GC
// hold (Java WatermarkHold.onMerge), trigger state by the trigger's onMerge,
// timers for the merged window. Merged-away windows
// lose their pane history.
func (r *Reducer) mergeInto(target *winState, srcs []*winState, t Times) {
	slices.SortFunc(srcs, func(a, b *winState) int {
		if a.win.Start != b.win.Start {
			return cmpTime(a.win.Start, b.win.Start)
		}
		return cmpTime(a.win.End, b.win.End)
	})
	before, oldHold := target.size(), target.holdMin()
	states := make([][]nodeState, len(srcs))
	var buf []byte
	var ends []int
	nonEmpty, elemHold := false, none
	for i, src := range srcs {
		states[i] = src.nodes
		off := len(buf)
		buf = append(buf, src.buf...)
		for _, e := range src.ends {
			ends = append(ends, off+e)
		}
		nonEmpty = nonEmpty || src.nonEmpty
		switch {
		case src.elemHold == none:
		case elemHold == none:
			elemHold = src.elemHold
		case r.s.Combiner == Latest:
			elemHold = max(elemHold, src.elemHold)
		default:
			elemHold = min(elemHold, src.elemHold)
		}
	}
	if maxTs := target.win.MaxTimestamp(); r.s.Combiner == EndOfWindow {
		// The hold depends only on the window: the merged window's end,
		// if that can still hold the output watermark.
		elemHold = none
		if maxTs >= t.Output && t.Input <= maxTs {
			elemHold = maxTs
		}
	}
	nodes := make([]nodeState, len(r.nodes))
	r.begin(target, t)
	r.c.st = nodes
	r.c.onMerge(0, states)
	for _, src := range srcs {
		if src != target {
			r.remove(src)
		}
	}
	target.nodes, target.buf, target.ends, target.nonEmpty = nodes, buf, ends, nonEmpty
	target.elemHold, target.extraHold = elemHold, none
	r.addGCHold(target, false, t)
	r.holdMoved(target, oldHold)
	target.event = none
	r.setEventTimer(target, t)
	r.end(target)
	r.bytes += target.size() - before
}

func cmpTime(a, b window.Time) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
