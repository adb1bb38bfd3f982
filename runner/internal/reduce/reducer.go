package reduce

import (
	"log/slog"
	"slices"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Element is one input element of the GroupByKey, exploded or not.
type Element struct {
	Key, Value []byte
	Timestamp  window.Time
	// Windows are the element's windows; nil means the global window.
	Windows []window.Window
}

// Times are the clocks at an evaluation point.
type Times struct {
	Input, Output window.Time // the stage's input and output watermarks (IW, OW)
	Processing    window.Time // the job's processing-time clock, ms
}

// Pane is one firing for one key and window. Key and Values alias memory the
// Reducer keeps or hands over; the caller must not modify them.
type Pane struct {
	Key       []byte
	Window    window.Window
	Values    [][]byte
	Timestamp window.Time // from the timestamp combiner (and holds)
	Info      window.Pane
}

// Reducer is the runner-side GroupByKey for all keys of one GroupByKey: it
// buffers values per key and window, runs the trigger, holds the output
// watermark and emits panes. It is not safe for concurrent use.
type Reducer struct {
	s       Strategy
	nodes   []node
	merging bool

	keys    map[string]*keyState
	seq     uint64
	epoch   uint64
	touched []*winState
	c       tctx // reused evaluation context

	// events holds EOW/GC timers, procs processing-time timers, holds the
	// windows' output-watermark holds; all are lazily invalidated.
	events, procs, holds timerHeap
	compactAt            int

	slabs        slabs // window states and their first buffers
	live         int   // live window states
	bytes        int64 // Bytes, without the heaps
	late, closed int64
}

// New returns a Reducer for s; it reports an invalid strategy or trigger
// tree with a *StrategyError. It does not reject unsafe triggers: see
// CheckSafe.
func New(s Strategy) (*Reducer, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	nodes, err := compile(s.Trigger)
	if err != nil {
		return nil, err
	}
	merging := s.WindowFn.IsMerging()
	return &Reducer{
		s:         s,
		nodes:     nodes,
		merging:   merging,
		keys:      make(map[string]*keyState),
		c:         tctx{nodes: nodes, merging: merging},
		compactAt: 1024,
	}, nil
}

// Add processes one input batch (the elements of one bundle) and returns
// the panes that fire, in order. Over non-merging windows the trigger is
// evaluated after each element, for the windows the element went to, so
// the panes do not depend on how the runner cut the input into bundles (and
// match Prism's, which Beam Go's trigger tests expect). Over merging windows
// it is evaluated once per key+window after the whole batch, once the
// batch's windows are merged (Java's ReduceFnRunner.processElements), in the
// order the batch first touched them. Add copies keys and values; it fires
// no timers (see Advance).
func (r *Reducer) Add(batch []Element, t Times) []Pane {
	var out []Pane
	if r.merging {
		r.epoch++
		r.addMerging(batch, t)
		out = r.fireTouched(t, out)
	} else {
		for i := range batch {
			r.epoch++
			r.addElement(&batch[i], t)
			out = r.fireTouched(t, out)
		}
	}
	r.maybeCompact()
	return out
}

// fireTouched emits the panes of the windows touched since the epoch began
// whose triggers are ready, and empties the touched list.
func (r *Reducer) fireTouched(t Times, out []Pane) []Pane {
	for _, ws := range r.touched {
		if !ws.dead && !ws.closed && r.shouldFire(ws, t) {
			out = r.emit(ws, t, out)
		}
	}
	clear(r.touched) // drop the pointers, so collected windows can be freed
	r.touched = r.touched[:0]
	return out
}

// Advance fires what became due at t: end-of-window and garbage-collection
// timers (those before t.Input) in timestamp order, the EOW and GC timers of
// one window as one unit, then processing-time timers (those at or before
// t.Processing) in timestamp order. It returns the panes.
func (r *Reducer) Advance(t Times) []Pane {
	var out []Pane
	for {
		x, ok := r.events.peek(validEvent)
		if !ok || x.t >= t.Input {
			break
		}
		r.events.pop()
		out = r.fireEvent(x.ws, t, out)
	}
	for {
		x, ok := r.procs.peek(validProc)
		if !ok || x.t > t.Processing {
			break
		}
		r.procs.pop()
		if r.shouldFire(x.ws, t) {
			out = r.emit(x.ws, t, out)
		}
	}
	r.maybeCompact()
	return out
}

// Hold is the minimum output-watermark hold of all buffered state: element
// holds, GC holds, and the pending EOW/GC timers, which hold the output
// watermark at their firing time as Beam's timers do (so the output
// watermark cannot pass the end of a window before its ON_TIME pane);
// window.MaxTime when nothing is held.
func (r *Reducer) Hold() window.Time {
	h := window.MaxTime
	if x, ok := r.holds.peek(validHold); ok {
		h = x.t
	}
	if x, ok := r.events.peek(validEvent); ok {
		h = min(h, x.t)
	}
	return h
}

// NextProcessingTime is the earliest pending processing-time timer, ok=false
// if none. Advance fires it once t.Processing reaches it.
func (r *Reducer) NextProcessingTime() (t window.Time, ok bool) {
	x, ok := r.procs.peek(validProc)
	return x.t, ok
}

// NextEventTime is the earliest pending EOW/GC timer, ok=false if none.
// Advance fires it once t.Input passes it (t.Input > it).
func (r *Reducer) NextEventTime() (t window.Time, ok bool) {
	x, ok := r.events.peek(validEvent)
	return x.t, ok
}

// Bytes is the approximate memory held: keys, buffered values, per key and
// window state and the timer heaps.
func (r *Reducer) Bytes() int64 {
	return r.bytes + int64(cap(r.events)+cap(r.procs)+cap(r.holds))*timerSize
}

// Dropped returns the counters of dropped element-windows: late (the window
// expired: maxTs+L < IW) and closed (the trigger had finished).
func (r *Reducer) Dropped() (late, closed int64) { return r.late, r.closed }

// Pending reports how many key+windows have state: buffered values, holds,
// timers, or a closed window waiting for garbage collection.
func (r *Reducer) Pending() int { return r.live }

// LogValue summarises the Reducer's state for logs and stuck-pipeline dumps:
// keys, key+windows, hold, next timers, bytes and drop counters.
func (r *Reducer) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Int("keys", len(r.keys)),
		slog.Int("windows", r.live),
		slog.Int64("hold", int64(r.Hold())),
		slog.Int64("bytes", r.Bytes()),
		slog.Int64("dropped_late", r.late),
		slog.Int64("dropped_closed", r.closed),
	}
	if t, ok := r.NextEventTime(); ok {
		attrs = append(attrs, slog.Int64("next_event_time", int64(t)))
	}
	if t, ok := r.NextProcessingTime(); ok {
		attrs = append(attrs, slog.Int64("next_processing_time", int64(t)))
	}
	return slog.GroupValue(attrs...)
}

var _ slog.LogValuer = (*Reducer)(nil)

// gcTime is when window w is garbage collected: maxTs + allowed lateness,
// capped at the end of the global window (Java LateDataUtils).
func (r *Reducer) gcTime(w window.Window) window.Time {
	maxTs := w.MaxTimestamp()
	if maxTs >= window.EndOfGlobalWindow-r.s.AllowedLateness {
		return max(maxTs, window.EndOfGlobalWindow)
	}
	return maxTs + r.s.AllowedLateness
}

func windowsOf(e *Element) []window.Window {
	if len(e.Windows) == 0 {
		return window.GlobalWindows()
	}
	return e.Windows
}

func (r *Reducer) addElement(e *Element, t Times) {
	var ks *keyState
	for _, w := range windowsOf(e) {
		if r.gcTime(w) < t.Input {
			r.late++
			continue
		}
		if ks == nil {
			ks = r.keyState(e.Key)
		}
		ws := ks.find(w)
		if ws == nil {
			ws = r.newWin(ks, w)
		}
		if ws.closed {
			r.closed++
			continue
		}
		r.addValue(ws, e, t)
	}
}

func (r *Reducer) keyState(key []byte) *keyState {
	if ks := r.keys[string(key)]; ks != nil {
		return ks
	}
	ks := &keyState{key: string(key), kb: []byte(string(key))}
	ks.kb = ks.kb[:len(ks.kb):len(ks.kb)]
	r.keys[ks.key] = ks
	r.bytes += keyOverhead + 2*int64(len(key))
	return ks
}

func (r *Reducer) newWin(ks *keyState, w window.Window) *winState {
	r.seq++
	ws := r.slabs.win()
	*ws = winState{ks: ks, win: w, seq: r.seq, elemHold: none, extraHold: none, event: none}
	if len(r.nodes) <= len(ws.inline) {
		ws.nodes = ws.inline[:len(r.nodes)]
	} else {
		ws.nodes = make([]nodeState, len(r.nodes))
	}
	ks.wins, ks.at = append(ks.wins, ws), append(ks.at, w)
	r.live++
	r.bytes += ws.size()
	return ws
}

// remove drops ws from its key; the key itself stays (see dropKeyIfEmpty).
func (r *Reducer) remove(ws *winState) {
	ws.dead = true
	r.live--
	r.bytes -= ws.size()
	ks := ws.ks
	if ks.hot == ws {
		ks.hot = nil
	}
	if i := slices.Index(ks.wins, ws); i >= 0 {
		ks.wins, ks.at = slices.Delete(ks.wins, i, i+1), slices.Delete(ks.at, i, i+1)
	}
}

func (r *Reducer) dropKeyIfEmpty(ks *keyState) {
	if len(ks.wins) == 0 {
		delete(r.keys, ks.key)
		r.bytes -= keyOverhead + 2*int64(len(ks.key))
	}
}

// addValue buffers one element in ws: Java's ReduceFnRunner.processElement
// for an open window.
func (r *Reducer) addValue(ws *winState, e *Element, t Times) {
	before := ws.size()
	if ws.buf == nil {
		// Start with room for a few values: most windows get more than one.
		ws.buf = r.slabs.buf(2 * len(e.Value))
		if cap(ws.ends) == 0 {
			ws.ends = r.slabs.endsBuf()
		}
	}
	ws.buf = append(ws.buf, e.Value...)
	ws.ends = append(ws.ends, len(ws.buf))
	r.bytes += ws.size() - before
	ws.nonEmpty = true
	r.setEventTimer(ws, t)
	r.addHolds(ws, e.Timestamp, t)
	r.begin(ws, t)
	r.c.onElement(0)
	r.end(ws)
	if ws.epoch != r.epoch {
		ws.epoch = r.epoch
		r.touched = append(r.touched, ws)
	}
}

// setEventTimer arms the window's end-of-window timer, or its GC timer when
// the end of the window has passed.
func (r *Reducer) setEventTimer(ws *winState, t Times) {
	if ws.event != none {
		return
	}
	if maxTs := ws.win.MaxTimestamp(); t.Input <= maxTs {
		ws.event = maxTs
	} else {
		ws.event = r.gcTime(ws.win)
	}
	r.events.push(timer{t: ws.event, seq: ws.seq, ws: ws})
}

// addHolds holds the output watermark for an element at ts (Java
// WatermarkHold.addHolds): at the combiner's timestamp if that is not behind
// the output watermark and the window is not past its end, else at GC time.
func (r *Reducer) addHolds(ws *winState, ts window.Time, t Times) {
	old := ws.holdMin()
	maxTs := ws.win.MaxTimestamp()
	h := maxTs
	if r.s.Combiner != EndOfWindow {
		h = min(ts, maxTs)
	}
	if h >= t.Output && t.Input <= maxTs {
		switch {
		case ws.elemHold == none:
			ws.elemHold = h
		case r.s.Combiner == Latest:
			ws.elemHold = max(ws.elemHold, h)
		default:
			ws.elemHold = min(ws.elemHold, h)
		}
	} else {
		r.addGCHold(ws, false, t)
	}
	r.holdMoved(ws, old)
}

// addGCHold holds the output watermark at GC time (Java
// WatermarkHold.addGarbageCollectionHold): for an element too late for an
// element hold, so its pane is not dropped downstream as too late, and after
// a non-final pane under EMIT_ALWAYS, for the final pane that is promised.
// The end of the window needs no hold of its own: the pending end-of-window
// timer holds the output watermark (see Hold).
func (r *Reducer) addGCHold(ws *winState, paneIsEmpty bool, t Times) {
	if paneIsEmpty && !r.s.ClosingAlways {
		return
	}
	if gc := r.gcTime(ws.win); gc >= t.Input && gc >= t.Output {
		ws.extraHold = min(ws.extraHold, gc)
	}
}

func (r *Reducer) holdMoved(ws *winState, old window.Time) {
	if h := ws.holdMin(); h != old && h != none {
		r.holds.push(timer{t: h, seq: ws.seq, ws: ws})
	}
}

// begin points the evaluation context at ws; end pushes the processing-time
// timers the evaluation armed.
func (r *Reducer) begin(ws *winState, t Times) {
	r.c.st = ws.nodes
	r.c.iw, r.c.pt = t.Input, t.Processing
	r.c.maxTs = ws.win.MaxTimestamp()
	r.c.armed = r.c.armed[:0]
}

func (r *Reducer) end(ws *winState) {
	for _, a := range r.c.armed {
		r.procs.push(timer{t: a.t, seq: ws.seq, ws: ws, node: a.node})
	}
}

func (r *Reducer) shouldFire(ws *winState, t Times) bool {
	r.begin(ws, t)
	return r.c.shouldFire(0)
}

// emit fires the trigger of ws and outputs its pane (Java ReduceFnRunner.emit).
func (r *Reducer) emit(ws *winState, t Times, out []Pane) []Pane {
	r.begin(ws, t)
	r.c.onFire(0)
	r.end(ws)
	finished := ws.nodes[0].finished
	out = r.onTrigger(ws, t, finished, out)
	ws.nonEmpty = false
	if finished || !r.s.Accumulating {
		r.discard(ws)
	}
	if finished {
		// The window is closed: only its GC timer is left, to drop later
		// input until then.
		before := ws.size()
		ws.closed, ws.nodes, ws.ends = true, nil, nil
		ws.hasPane, ws.pane = false, window.Pane{}
		r.bytes += ws.size() - before
	}
	return out
}

func (r *Reducer) discard(ws *winState) {
	before := ws.size()
	ws.buf, ws.ends = nil, ws.ends[:0]
	r.bytes += ws.size() - before
}

// onTrigger releases the window's holds and outputs its pane if the pane is
// non-empty or the on-time or closing behaviour asks for it (Java
// ReduceFnRunner.onTrigger). The pane's timestamp is the released hold, or
// the end of the window when there was none or only a GC hold.
func (r *Reducer) onTrigger(ws *winState, t Times, isFinished bool, out []Pane) []Pane {
	maxTs := ws.win.MaxTimestamp()
	old := ws.holdMin()
	ts := old
	if ts == none || ts > maxTs {
		ts = maxTs
	}
	ws.elemHold, ws.extraHold = none, none
	if !isFinished {
		r.addGCHold(ws, true, t)
	}
	r.holdMoved(ws, old)
	empty := !ws.nonEmpty
	if empty && !r.s.ClosingAlways && !r.s.OnTimeAlways {
		return out
	}
	info := describePane(ws, t, isFinished)
	if !empty || isFinished && r.s.ClosingAlways || info.Timing == window.TimingOnTime && r.s.OnTimeAlways {
		ws.pane, ws.hasPane = info, true
		out = append(out, Pane{Key: ws.ks.kb, Window: ws.win, Values: ws.values(), Timestamp: ts, Info: info})
	}
	return out
}

// describePane computes the PaneInfo of the next pane of ws (Java
// PaneInfoTracker.describePane): panes go EARLY* ON_TIME? LATE*; a pane is
// LATE once the output watermark has passed the window, or after a
// non-early pane.
func describePane(ws *winState, t Times, isFinished bool) window.Pane {
	p := window.Pane{IsFirst: !ws.hasPane, IsLast: isFinished}
	if ws.hasPane {
		p.Index, p.NonSpeculativeIndex = ws.pane.Index+1, ws.pane.NonSpeculativeIndex+1
	}
	maxTs := ws.win.MaxTimestamp()
	switch {
	case t.Output > maxTs || ws.hasPane && ws.pane.Timing != window.TimingEarly:
		p.Timing = window.TimingLate
	case t.Input <= maxTs:
		p.Timing, p.NonSpeculativeIndex = window.TimingEarly, -1
	default:
		p.Timing = window.TimingOnTime
	}
	return p
}

// fireEvent handles the EOW or GC timer of ws. Once the input watermark has
// passed GC time the window's final pane is emitted and its state dropped,
// in one step even if the end-of-window timer is the one that fired, so the
// final pane is marked last (BEAM-2502).
func (r *Reducer) fireEvent(ws *winState, t Times, out []Pane) []Pane {
	ws.event = none
	gc := r.gcTime(ws.win)
	if t.Input > gc {
		if !ws.closed {
			out = r.onTrigger(ws, t, true, out)
		}
		r.remove(ws)
		r.dropKeyIfEmpty(ws.ks)
		return out
	}
	if !ws.closed && r.shouldFire(ws, t) {
		out = r.emit(ws, t, out)
	}
	ws.event = gc
	r.events.push(timer{t: gc, seq: ws.seq, ws: ws})
	return out
}

func validEvent(x timer) bool { return !x.ws.dead && x.ws.event == x.t }

func validHold(x timer) bool { return !x.ws.dead && x.ws.holdMin() == x.t }

func validProc(x timer) bool {
	ws := x.ws
	if ws.dead || ws.closed {
		return false
	}
	s := ws.nodes[x.node]
	return s.armed && !s.finished && s.delay == x.t
}

// maybeCompact drops stale heap entries once they outnumber the live ones,
// and frees the heaps when nothing is left.
func (r *Reducer) maybeCompact() {
	if r.live == 0 {
		r.events, r.procs, r.holds = nil, nil, nil
		return
	}
	if len(r.events)+len(r.procs)+len(r.holds) <= r.compactAt {
		return
	}
	r.events.compact(validEvent)
	r.procs.compact(validProc)
	r.holds.compact(validHold)
	r.compactAt = 2*(len(r.events)+len(r.procs)+len(r.holds)) + 1024
}
