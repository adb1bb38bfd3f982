package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
)

// A main-input element in window w may be processed only once every side
// input of its stage is ready for the side window w maps to (the
// reference, section 1): the side input's producer's output watermark is
// past that window's maximum timestamp, or, for a triggered side input, a
// pane of that window was committed. What a reader then sees of a window is
// what has been committed to it so far: for a triggered side input the
// accumulated contents of its panes, or, in discarding mode over an
// unbounded PCollection, its latest firing (side.go).
//
// The sideGate of a stage holds back ("pushes back") the elements not yet
// ready. They wait under the first of their windows not ready, hold the
// stage's watermarks as pending elements do, stay counted in the job's
// buffered bytes, and return to the stage's pending input when refresh
// (which runs after every commit, watermark change and TestStream event)
// finds their window ready: no polling. A job's checkpoint records them as
// pending elements, so a restored job screens them again. A keyed
// (stateful) stage screens its pending elements as it takes them for a
// bundle (keyed.take); its timers fire meanwhile, under an input watermark
// the elements waiting hold.
//
// Two cases cost nothing per element: when every side input's producer has
// finished (so a bounded job, once its side inputs are complete, runs as
// it did before side inputs were gated per window), and when every side
// input is in the global window, where the one side window is ready for
// all elements at once.

// sideGate gates the main input of a stage with side inputs. Its fields
// are guarded by j.mu.
type sideGate struct {
	sides []gateSide
	// global is set when every side input is in the global window.
	global bool
	// screenable is set when every transform reading a side input reads
	// the stage's input as its main input, so that the windows of the
	// stage's input elements are those the transform sees (the planner
	// makes such a transform lead its stage when its main input is
	// unbounded). Otherwise windowed side inputs must be complete.
	screenable bool
	// waiting holds the pushed-back elements by the main-input window they
	// wait for; elems and bytes count them.
	waiting map[window.Window]*waitList
	elems   int
	bytes   int64
	// marks are the side inputs' producer watermarks and dataset versions
	// when the waiting windows were last checked.
	marks []gateMark
	// ready caches main-input windows found ready (readiness never goes
	// back); it is cleared past maxReadyCache entries.
	ready map[window.Window]struct{}
}

const maxReadyCache = 4096

// gateSide is one side input of the gated stage.
type gateSide struct {
	pc string
	// producer is the stage producing pc (nil: none, always ready).
	producer *stage
	data     *dataset
	fn       window.Fn
	// triggered: pc's windowing has a trigger other than the default, so
	// a window is ready once a pane of it is committed.
	triggered bool
}

type gateMark struct {
	ow      window.Time
	version int64
}

// waitList is the elements waiting for one main-input window.
type waitList struct {
	elems [][]byte
	bytes int64
	minTs window.Time
	// mapped is the side window of each side input (in gate order).
	mapped []window.Window
}

// newSideGate returns the gate of stage s, or nil if it has no side
// inputs.
func newSideGate(s *stage, producer map[string]*stage) (*sideGate, error) {
	if len(s.st.SideInputs) == 0 {
		return nil, nil
	}
	comps := s.j.pl.Components
	g := &sideGate{global: true, screenable: true, waiting: map[window.Window]*waitList{}, ready: map[window.Window]struct{}{}}
	sideLocal := map[[2]string]bool{}
	for _, si := range s.st.SideInputs {
		sideLocal[[2]string{si.Transform, si.Local}] = true
	}
	seen := map[string]bool{}
	for _, si := range s.st.SideInputs {
		for local, pc := range comps.GetTransforms()[si.Transform].GetInputs() {
			if !sideLocal[[2]string{si.Transform, local}] && pc != s.st.Input.Target {
				g.screenable = false
			}
		}
		if seen[si.PCollection] {
			continue
		}
		seen[si.PCollection] = true
		ws := comps.GetWindowingStrategies()[comps.GetPcollections()[si.PCollection].GetWindowingStrategyId()]
		fn, err := decode.WindowFn(ws.GetWindowFn())
		if err != nil {
			return nil, fmt.Errorf("side input %s: %w", si.PCollection, err)
		}
		gs := gateSide{pc: si.PCollection, producer: producer[si.PCollection], data: s.j.datasets[si.PCollection],
			fn: fn, triggered: triggered(ws)}
		if fn.Kind != window.KindGlobal {
			g.global = false
		}
		g.sides = append(g.sides, gs)
	}
	g.marks = make([]gateMark, len(g.sides))
	return g, nil
}

// complete reports whether every side input's producer has finished.
func (g *sideGate) complete() bool {
	for _, sd := range g.sides {
		if sd.producer != nil && sd.producer.ow < window.MaxTime {
			return false
		}
	}
	return true
}

// open reports whether every element may pass without being screened:
// the side inputs are complete, or all in the global window and ready for
// it.
func (g *sideGate) open() bool {
	if g.complete() {
		return true
	}
	if !g.global {
		return false
	}
	for i := range g.sides {
		if !g.sides[i].readyFor(window.Global()) {
			return false
		}
	}
	return true
}

// perElement reports whether elements are screened one by one: some side
// input is windowed and not complete, and the stage's input elements have
// the windows their side-input readers see.
func (g *sideGate) perElement() bool { return !g.global && g.screenable && !g.complete() }

// readyFor reports whether side window sw of the side input is ready.
func (sd *gateSide) readyFor(sw window.Window) bool {
	if sd.producer == nil {
		return true
	}
	ow := sd.producer.ow
	if ow == window.MaxTime || ow > sw.MaxTimestamp() {
		return true
	}
	return sd.triggered && sd.data != nil && sd.data.has(sw)
}

// mapWindow returns the side window of every side input for main-input
// window w.
func (g *sideGate) mapWindow(w window.Window) []window.Window {
	out := make([]window.Window, len(g.sides))
	for i := range g.sides {
		out[i] = g.sides[i].fn.SideInputWindow(w)
	}
	return out
}

// readyMapped reports whether every side input is ready for its window in
// mapped.
func (g *sideGate) readyMapped(mapped []window.Window) bool {
	for i := range g.sides {
		if !g.sides[i].readyFor(mapped[i]) {
			return false
		}
	}
	return true
}

// screen keeps in b the elements whose windows are all ready and pushes
// the others back; b is not running yet, j.mu is held. src decodes b's elements; one it
// cannot decode is kept, so that its bundle fails on it and says why.
func (g *sideGate) screen(j *job, src *wire, b *bundleWork) {
	kept := b.elems[:0]
	keptMin := window.MaxTime
	var pushedBytes int64
	for _, e := range b.elems {
		v, _, err := src.wv.Decode(e)
		if err != nil {
			kept = append(kept, e)
			keptMin = window.MinTime
			continue
		}
		if g.pushBack(e, v.Windows, v.Timestamp) {
			pushedBytes += int64(len(e))
			continue
		}
		kept = append(kept, e)
		keptMin = min(keptMin, v.Timestamp)
	}
	clear(b.elems[len(kept):])
	b.elems = kept
	if pushedBytes > 0 {
		// What was pushed back counts in j.buffered until a bundle that
		// holds it commits: it leaves b's count, or, if b counted less
		// (a reducer's panes count nothing), is added.
		if b.bytes >= pushedBytes {
			b.bytes -= pushedBytes
		} else {
			j.buffered += pushedBytes - b.bytes
			b.bytes = 0
		}
		b.minTs = keptMin
	}
}

// pushBack makes element e, in windows at ts, wait if one of its windows
// is not ready, and reports whether it does. Its bytes stay counted in
// j.buffered.
func (g *sideGate) pushBack(e []byte, windows []window.Window, ts window.Time) bool {
	wl := g.firstNotReady(windows)
	if wl == nil {
		return false
	}
	wl.elems = append(wl.elems, e)
	wl.bytes += int64(len(e))
	wl.minTs = min(wl.minTs, ts)
	g.elems++
	g.bytes += int64(len(e))
	return true
}

// firstNotReady returns the wait list of the first of windows that is not
// ready, making it if needed, or nil if all are ready.
func (g *sideGate) firstNotReady(windows []window.Window) *waitList {
	for _, w := range windows {
		if wl := g.waiting[w]; wl != nil {
			// refresh releases windows as soon as they are ready, so a
			// window still waiting is not ready.
			return wl
		}
		if _, ok := g.ready[w]; ok {
			continue
		}
		mapped := g.mapWindow(w)
		if g.readyMapped(mapped) {
			if len(g.ready) >= maxReadyCache {
				clear(g.ready)
			}
			g.ready[w] = struct{}{}
			continue
		}
		wl := &waitList{minTs: window.MaxTime, mapped: mapped}
		g.waiting[w] = wl
		return wl
	}
	return nil
}

// changed reports whether a side input moved since the last call: its
// producer's watermark or its committed contents.
func (g *sideGate) changed() bool {
	moved := false
	for i := range g.sides {
		sd := &g.sides[i]
		m := gateMark{ow: window.MaxTime}
		if sd.producer != nil {
			m.ow = sd.producer.ow
		}
		if sd.data != nil {
			m.version = sd.data.version.Load()
		}
		if m != g.marks[i] {
			g.marks[i], moved = m, true
		}
	}
	return moved
}

// release returns the elements of the windows now ready to the stage's
// pending input, to be screened again (an element in several windows may
// wait for another); j.mu is held.
func (g *sideGate) release(s *stage) {
	if g.elems == 0 || !g.changed() {
		return
	}
	all := g.complete()
	// In window order, so that earlier windows run first.
	var ready []window.Window
	for w, wl := range g.waiting {
		if all || g.readyMapped(wl.mapped) {
			ready = append(ready, w)
		}
	}
	slices.SortFunc(ready, compareWindows)
	for _, w := range ready {
		wl := g.waiting[w]
		delete(g.waiting, w)
		g.elems -= len(wl.elems)
		g.bytes -= wl.bytes
		s.addPending(&batch{elems: wl.elems, bytes: wl.bytes, minTs: wl.minTs})
	}
}

// minTs returns the earliest timestamp of the pushed-back elements.
func (g *sideGate) minTs() window.Time {
	m := window.MaxTime
	for _, wl := range g.waiting {
		m = min(m, wl.minTs)
	}
	return m
}

// describe names the windows elements wait for and the side inputs not
// ready for them, the earliest first, for a StuckError.
func (g *sideGate) describe() string {
	ws := make([]window.Window, 0, len(g.waiting))
	for w := range g.waiting {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, compareWindows)
	var b strings.Builder
	for i, w := range ws {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more windows", len(ws)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		wl := g.waiting[w]
		fmt.Fprintf(&b, "%d in %v for", len(wl.elems), w)
		for j := range g.sides {
			if !g.sides[j].readyFor(wl.mapped[j]) {
				fmt.Fprintf(&b, " %s %v", g.sides[j].pc, wl.mapped[j])
			}
		}
	}
	return b.String()
}

func compareWindows(a, b window.Window) int {
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	return cmp.Compare(a.Start, b.Start)
}

// plainBundle reports whether a queued bundle is only elements, which the
// gate may screen: not a checkpointed residual, a delayed one, a stream of
// groups, a segment or keyed work.
func plainBundle(b *bundleWork) bool {
	return b.stream == nil && b.seg == nil && b.keyed == nil && !b.checkpoint && b.notBefore.IsZero()
}
