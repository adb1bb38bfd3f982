package reduce

import (
	"slices"

	"github.com/beamgo-dev/beamgo/internal/window"
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
	var into map[window.Window]int32
	if len(fresh) > 0 {
		into = r.mergeKey(r.keyID(g.key), fresh, t)
	}
	for _, i := range g.elems {
		e := &batch[i]
		for _, w := range windowsOf(e) {
			switch {
			case r.gcTime(w) < t.Input:
				r.late++
			case r.wins[into[w]].closed:
				r.closed++
			default:
				r.addValue(into[w], e, t)
			}
		}
	}
}

// mergeKey merges the fresh windows with key k's active windows and
// returns the window state each fresh window's elements go to.
func (r *Reducer) mergeKey(k int32, fresh []window.Window, t Times) map[window.Window]int32 {
	var all []window.Window
	var owner []int32 // the active state of all[i], noWin for a fresh window
	for i := r.keys[k].first; i != noWin; i = r.wins[i].next {
		if ws := &r.wins[i]; !ws.closed {
			all, owner = append(all, ws.window()), append(owner, i)
		}
	}
	for _, w := range fresh {
		if !slices.Contains(all, w) {
			all, owner = append(all, w), append(owner, noWin)
		}
	}
	merged, into := window.MergeWindows(all)
	groups := make([][]int, len(merged))
	for i, j := range into {
		groups[j] = append(groups[j], i)
	}
	result := make(map[window.Window]int32, len(all))
	for j, grp := range groups {
		target := r.mergeGroup(k, merged[j], grp, owner, t)
		for _, i := range grp {
			if r.wins[target].closed && owner[i] != noWin {
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
func (r *Reducer) mergeGroup(k int32, w window.Window, grp []int, owner []int32, t Times) int32 {
	var srcs []int32
	target := noWin
	for _, i := range grp {
		if o := owner[i]; o != noWin {
			srcs = append(srcs, o)
			if r.wins[o].is(w) {
				target = o
			}
		}
	}
	switch {
	case len(grp) == 1 && len(srcs) == 1:
		return srcs[0]
	case len(grp) == 1:
		// A lone new window: a fresh state, or the closed window it equals.
		if i := r.find(k, w); i != noWin {
			return i
		}
		return r.newWin(k, w)
	}
	if target == noWin {
		if tomb := r.find(k, w); tomb != noWin {
			// The merge would reopen a closed window (Java's merge
			// overwrites its finished bits) and emit panes after its last
			// pane. Instead the new elements are dropped as for the closed
			// window, and the active windows are left unmerged.
			return tomb
		}
		target = r.newWin(k, w)
	}
	r.mergeInto(target, srcs, t)
	return target
}

// mergeInto moves the state of srcs (which may include target) into target:
// values in window order, element holds by the timestamp combiner and a GC
// hold (Java WatermarkHold.onMerge), trigger state by the trigger's onMerge,
// timers for the merged window. Merged-away windows
// lose their pane history.
func (r *Reducer) mergeInto(target int32, srcs []int32, t Times) {
	slices.SortFunc(srcs, func(a, b int32) int {
		wa, wb := r.wins[a].window(), r.wins[b].window()
		if wa.Start != wb.Start {
			return cmpTime(wa.Start, wb.Start)
		}
		return cmpTime(wa.End, wb.End)
	})
	r.uncoverHold(target) // its event timer goes below
	tw := &r.wins[target]
	oldHold := tw.holdMin()
	states := make([][]nodeState, len(srcs))
	vals := emptyList()
	nonEmpty, elemHold := false, none
	for i, src := range srcs {
		ws := &r.wins[src]
		states[i] = r.nodesOf(src)
		r.vals.concat(&vals, &ws.vals)
		nonEmpty = nonEmpty || ws.nonEmpty
		switch {
		case ws.elemHold == none:
		case elemHold == none:
			elemHold = ws.elemHold
		case r.s.Combiner == Latest:
			elemHold = max(elemHold, ws.elemHold)
		default:
			elemHold = min(elemHold, ws.elemHold)
		}
	}
	if maxTs := tw.maxTs(); r.s.Combiner == EndOfWindow {
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
	copy(r.nodesOf(target), nodes)
	tw.vals, tw.nonEmpty = vals, nonEmpty
	tw.elemHold, tw.extraHold = elemHold, none
	r.addGCHold(tw, false, t)
	tw.event = none
	r.holdMoved(target, oldHold)
	r.setEventTimer(target, t)
	r.end(target)
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
