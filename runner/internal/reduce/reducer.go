package reduce

import (
	"fmt"
	"log/slog"
	"unsafe"

	"github.com/beamgo-dev/beamgo/internal/prefetch"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/keymap"
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

	// keyIDs maps a key's bytes to its index in keys; index maps a
	// key+window to its index in wins, for the windows their key's
	// keyState.recent does not name.
	keyIDs   keymap.Map[int32]
	keys     []keyState
	freeKeys []int32
	index    winIndex

	// wins is the slab of window states and st their trigger states
	// (len(nodes) per window); free lists reusable indexes, and freeing
	// those freed during the current call, reusable once it returns (the
	// touched list may still name them).
	wins    []winState
	st      []nodeState
	free    []int32
	freeing []int32
	vals    arena
	// paneVals is carved into panes' Values: one allocation per many panes.
	paneVals [][]byte

	seq     uint64
	epoch   uint32 // see nextEpoch
	touched []int32
	// winIdx is addElement's scratch list of window indexes; touchSink
	// keeps the loads addElement issues early from being optimised away.
	winIdx    []int32
	touchSink int32
	// warmFree is the free index addNonMerging prefetched last.
	warmFree int32
	c        tctx // reused evaluation context

	// events holds EOW/GC timers, procs processing-time timers, holds the
	// windows' output-watermark holds; all are lazily invalidated.
	events, procs, holds timerQueue
	compactAt            int

	live         int   // live window states
	keyBytes     int64 // Bytes of the keys
	late, closed int64

	// merger, when set, merges a window's values once it buffers
	// mergeAt of them (see SetMerger); mergeErr is its first error;
	// mergeVals and mergeBuf are scratch.
	merger    Merger
	mergeAt   int32
	mergeErr  error
	mergeVals [][]byte
	mergeBuf  []byte
	// ints, when set, is merger as an IntMerger: each window keeps its
	// values merged into one int64 (see valueList), and intBytes is the
	// block the panes' encodings of them are carved from.
	ints     IntMerger
	intBytes []byte
}

// Merger merges values a window has buffered into one value that stands
// for them all: the encoded accumulators of a lifted combine, merged by
// its CombineFn. Merge appends the merged value to dst; it must be
// associative and commutative, as a CombineFn's MergeAccumulators is.
type Merger interface {
	Merge(dst []byte, values [][]byte) ([]byte, error)
}

// An IntMerger is a Merger whose accumulators are int64s (a count, a sum,
// a minimum, say). A Reducer given one (SetMerger) merges each value into
// its window's accumulator as it arrives, a field of the window's state,
// instead of buffering the encodings to merge later: no bytes to append,
// and a pane carries one value. A value that does not decode, or a merge
// that fails, is a *MergeError: the window keeps the accumulator it had,
// without the value, so that the panes of that call must be dropped (as
// after a spill file's failure, Err reports it).
type IntMerger interface {
	Merger
	// DecodeInt decodes an accumulator from all of v.
	DecodeInt(v []byte) (int64, error)
	// AppendInt appends the encoding of accumulator a to dst. A Frozen
	// copy's Snapshot calls it, on a goroutine of its own, while the
	// Reducer goes on: it must be safe beside the other methods.
	AppendInt(dst []byte, a int64) []byte
	// MergeInts merges two accumulators; it must be associative and
	// commutative.
	MergeInts(a, b int64) (int64, error)
}

// MergeError is a Merger's failure: the window keeps its values (an
// IntMerger's window, the accumulator it had), and the Reducer's Err
// reports it.
type MergeError struct {
	Values int // how many values the merge was given
	Err    error
}

// Error implements error.
func (e *MergeError) Error() string {
	return fmt.Sprintf("reduce: merging a window's %d values: %v", e.Values, e.Err)
}

// Unwrap returns the Merger's error.
func (e *MergeError) Unwrap() error { return e.Err }

// defaultMergeAt is how many values a window buffers before a Merger
// merges them: a window's values stay within it, and an accumulating
// pane carries at most that many, where without a Merger a window kept
// one value per bundle that reached it, for as long as it lived (a
// running count in the global window, forever), and each of its panes
// carried them all, to be merged again downstream.
const defaultMergeAt = 16

// SetMerger makes r merge a window's buffered values with m once it holds
// defaultMergeAt of them, keeping the merged value alone. The panes then
// carry fewer values that stand for the same ones. m is used from r's
// goroutine only.
//
// If m is an IntMerger and r holds no window yet, each window keeps its
// values merged into one int64 instead; not over merging windows, whose
// values are concatenated as windows merge.
func (r *Reducer) SetMerger(m Merger) {
	r.merger = m
	if r.mergeAt == 0 {
		r.mergeAt = defaultMergeAt
	}
	r.ints = nil
	if im, ok := m.(IntMerger); ok && !r.merging && r.live == 0 {
		r.ints = im
	}
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
		keyIDs:    keymap.New[int32](0),
		c:         tctx{nodes: nodes, merging: merging},
		compactAt: 1024,
	}, nil
}

// Reset empties r, as New(r's strategy) would return it, but keeps the
// capacity of its slabs, maps and timer heaps for the keys and windows to
// come. Panes returned before keep their values (the value pages are
// dropped, not reused). A caller that reduces bounded input a slice of
// keys at a time, advancing to the end of time after each slice, resets
// the reducer between slices instead of growing a new one.
func (r *Reducer) Reset() {
	file := r.vals.file
	r.keyIDs.Clear()
	r.index.clear()
	clear(r.keys) // the keys' bytes
	*r = Reducer{
		s: r.s, nodes: r.nodes, merging: r.merging,
		keyIDs: r.keyIDs, keys: r.keys[:0], freeKeys: r.freeKeys[:0], index: r.index,
		wins: r.wins[:0], st: r.st[:0], free: r.free[:0], freeing: r.freeing[:0],
		touched: r.touched[:0], c: tctx{nodes: r.nodes, merging: r.merging},
		events: r.events, procs: r.procs, holds: r.holds,
		compactAt: 1024,
		merger:    r.merger, mergeAt: r.mergeAt, mergeErr: r.mergeErr, ints: r.ints,
	}
	// The spill file stays, emptied.
	r.vals.file = file
	r.vals.reset()
	r.events.reset()
	r.procs.reset()
	r.holds.reset()
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
	return r.AppendAdd(nil, batch, t)
}

// AppendAdd is Add appending the panes to out, so that a caller collecting
// the panes of many calls copies none of them.
func (r *Reducer) AppendAdd(out []Pane, batch []Element, t Times) []Pane {
	if r.merging {
		r.nextEpoch()
		r.addMerging(batch, t)
		out = r.fireTouched(t, out)
	} else {
		out = r.addNonMerging(out, batch, t)
	}
	r.maybeCompact()
	return out
}

// The look-ahead of addNonMerging: while element j is added, the key of
// element j+aheadKey is looked up, the key state of element j+aheadState
// prefetched, and the window states of element j+aheadWins. aheadRing (a
// power of two above aheadKey) holds the keys found. (In the unbounded
// bids job, 7, 4, 2 and 8, 4, 2 and 9, 5, 2 and 12, 6, 3 and 16, 8, 4 did
// no better than 6, 3, 1 within the machine's noise.)
const (
	aheadKey   = 6
	aheadState = 3
	aheadWins  = 1
	aheadRing  = 8
)

// addNonMerging adds the elements of a batch over non-merging windows,
// evaluating the trigger after each, and appends the panes to out.
//
// Adding an element reads memory that other elements rarely share: its
// key's entry in the key map, its key's state, and each of its windows'
// states and trigger states, each a cache miss once the keys and windows
// outgrow the caches (the unbounded bids job: those misses were most of
// its grouping's CPU). One element's misses depend on each other (the
// key, then its state, then its windows), so that they came one after
// another. So the elements are added in a pipeline: while one is added,
// the window states of the next are prefetched, the key state of one
// further ahead, and the key of one further still is looked up. Each step
// ahead depends only on one done for the same element a step earlier,
// whose memory is in the cache by then, so the misses of several elements
// are under way at once, and a prefetch does not wait for its memory (see
// package prefetch; with plain loads there instead, each stalling until
// its line came, adding took 2.80-3.14 s of CPU in the bids job at 5M
// bids, against 2.29-2.30 s with prefetches). The look-ahead changes
// nothing: a key looked up ahead is the element's key when its turn comes
// (keys are only added during the call, never removed), and a prefetch
// only warms the cache.
func (r *Reducer) addNonMerging(out []Pane, batch []Element, t Times) []Pane {
	var keys [aheadRing]int32
	n := len(batch)
	for j := range min(aheadKey, n) {
		keys[j%aheadRing] = r.lookAheadKey(&batch[j])
	}
	for j := range batch {
		if a := j + aheadKey; a < n {
			keys[a%aheadRing] = r.lookAheadKey(&batch[a])
		}
		if a := j + aheadState; a < n {
			if k := keys[a%aheadRing]; k != noWin {
				ks := &r.keys[k]
				prefetch.Line(unsafe.Pointer(&ks.recent[0]))
				prefetch.Line(unsafe.Pointer(&ks.recent[recentWins-1]))
			}
		}
		if a := j + aheadWins; a < n {
			if k := keys[a%aheadRing]; k != noWin {
				r.prefetchWins(k, &batch[a])
			}
		}
		if m := len(r.free); m > 0 && r.free[m-1] != r.warmFree {
			// The next new window takes the free list's last index, whose
			// state was left cold by the window freed there.
			r.warmFree = r.free[m-1]
			r.prefetchWin(r.warmFree)
		}
		r.nextEpoch()
		r.addElement(&batch[j], keys[j%aheadRing], t)
		out = r.fireTouched(t, out)
	}
	return out
}

// lookAheadKey returns the index of e's key, noWin if it has none yet.
func (r *Reducer) lookAheadKey(e *Element) int32 {
	if k, ok := r.keyIDs.GetBytes(e.Key); ok {
		return k
	}
	return noWin
}

// prefetchWin prefetches the state and trigger state of window i.
func (r *Reducer) prefetchWin(i int32) {
	ws := &r.wins[i]
	prefetch.Line(unsafe.Pointer(ws))
	prefetch.Line(unsafe.Pointer(&ws.paneNonSpec)) // the second line
	if n := len(r.nodes); n > 0 {
		prefetch.Line(unsafe.Pointer(&r.st[int(i)*n]))
	}
}

// prefetchWins prefetches the states and trigger states of key k's
// windows that e goes to and that k's recent list names.
func (r *Reducer) prefetchWins(k int32, e *Element) {
	ks := &r.keys[k]
	for _, w := range windowsOf(e) {
		tag := winHash(w)
		for j := range ks.recent {
			if c := &ks.recent[j]; c.tag == tag && c.i1 != 0 {
				r.prefetchWin(c.i1 - 1)
				break
			}
		}
	}
}

// nextEpoch begins the next epoch: a window is in r.touched iff its epoch
// is r.epoch. When the counter wraps, every window's epoch is cleared, so
// that none names the new epoch before it is touched in it.
func (r *Reducer) nextEpoch() {
	r.epoch++
	if r.epoch == 0 {
		for i := range r.wins {
			r.wins[i].epoch = 0
		}
		r.epoch = 1
	}
}

// fireTouched emits the panes of the windows touched since the epoch began
// whose triggers are ready, and empties the touched list.
func (r *Reducer) fireTouched(t Times, out []Pane) []Pane {
	for _, i := range r.touched {
		if ws := &r.wins[i]; !ws.dead && !ws.closed && r.shouldFire(i, t) {
			out = r.emit(i, t, out)
		}
	}
	r.touched = r.touched[:0]
	return out
}

// Advance fires what became due at t: end-of-window and garbage-collection
// timers (those before t.Input) in timestamp order, the EOW and GC timers of
// one window as one unit, then processing-time timers (those at or before
// t.Processing) in timestamp order. It returns the panes.
func (r *Reducer) Advance(t Times) []Pane { return r.AppendAdvance(nil, t) }

// AppendAdvance is Advance appending the panes to out.
func (r *Reducer) AppendAdvance(out []Pane, t Times) []Pane {
	out, _ = r.AppendAdvanceUpTo(out, t, 0)
	return out
}

// AppendAdvanceUpTo is AppendAdvance that stops once it has appended at
// least limit panes (limit <= 0: no limit); done reports whether
// everything due at t has fired. Called again with the same t, and no Add
// in between, it carries on where it stopped, so the calls together
// append the panes of one AppendAdvance, in the same order. A caller
// handing panes on as they come keeps only a chunk of them at a time,
// where one Advance past many windows' ends fires a pane for each.
func (r *Reducer) AppendAdvanceUpTo(out []Pane, t Times, limit int) (_ []Pane, done bool) {
	stop := -1
	if limit > 0 {
		stop = len(out) + limit
	}
	full := func() bool { return stop >= 0 && len(out) >= stop }
	for !full() {
		x, ok := r.events.peek(r, validEvent)
		if !ok || x.t >= t.Input {
			break
		}
		r.prefetchAhead(&r.events)
		r.events.pop()
		out = r.fireEvent(x.win, t, out)
	}
	for !full() {
		x, ok := r.procs.peek(r, validProc)
		if !ok || x.t > t.Processing {
			done = true
			break
		}
		r.prefetchAhead(&r.procs)
		r.procs.pop()
		if r.shouldFire(x.win, t) {
			out = r.emit(x.win, t, out)
		}
	}
	r.maybeCompact()
	return out, done
}

// aheadTimers is how many timers ahead of the one firing prefetchAhead
// reaches.
const aheadTimers = 4

// prefetchAhead prefetches the state of the window whose timer comes
// aheadTimers after q's front, if q knows which: an instant's timers fire
// windows all over the slab (the unbounded bids job: each period's windows
// end at once, one per key), each a cache miss when its turn came. A stale
// timer's window is prefetched in vain. q must not be empty.
func (r *Reducer) prefetchAhead(q *timerQueue) {
	if y, ok := q.ahead(aheadTimers); ok && int(y.win) < len(r.wins) {
		r.prefetchWin(y.win)
	}
}

// Hold is the minimum output-watermark hold of all buffered state: element
// holds, GC holds, and the pending EOW/GC timers, which hold the output
// watermark at their firing time as Beam's timers do (so the output
// watermark cannot pass the end of a window before its ON_TIME pane);
// window.MaxTime when nothing is held.
func (r *Reducer) Hold() window.Time {
	h := window.MaxTime
	if x, ok := r.holds.peek(r, validHold); ok {
		h = x.t
	}
	if x, ok := r.events.peek(r, validEvent); ok {
		h = min(h, x.t)
	}
	return h
}

// NextProcessingTime is the earliest pending processing-time timer, ok=false
// if none. Advance fires it once t.Processing reaches it.
func (r *Reducer) NextProcessingTime() (t window.Time, ok bool) {
	x, ok := r.procs.peek(r, validProc)
	return x.t, ok
}

// NextEventTime is the earliest pending EOW/GC timer, ok=false if none.
// Advance fires it once t.Input passes it (t.Input > it).
func (r *Reducer) NextEventTime() (t window.Time, ok bool) {
	x, ok := r.events.peek(r, validEvent)
	return x.t, ok
}

// Bytes is the approximate memory held: keys, buffered values, per key and
// window state and the timer heaps.
func (r *Reducer) Bytes() int64 {
	return r.keyBytes + r.vals.held +
		int64(cap(r.wins))*winSize + int64(cap(r.st))*nodeSize + r.index.bytes() +
		int64(r.events.cap()+r.procs.cap()+r.holds.cap())*timerSize
}

// SpillTo lets r write buffered values to a file in dir (see Spill),
// created when it first spills and removed from dir at once; Close closes
// it.
func (r *Reducer) SpillTo(dir string) {
	if r.vals.file == nil {
		r.vals.file = &spillFile{dir: dir}
	}
}

// Spill writes buffered values to r's spill file (SpillTo) until the
// values held in memory take about limit bytes or less, and returns the
// error (a *SpillError) that a write or a read back met, if one did: the
// panes fired since may lack values. Without SpillTo it does nothing.
func (r *Reducer) Spill(limit int64) error {
	r.vals.spill(limit)
	return r.Err()
}

// Err returns the first error of r's Merger (a *MergeError), or else of
// its spill file (a *SpillError).
func (r *Reducer) Err() error {
	if r.mergeErr != nil {
		return r.mergeErr
	}
	if r.vals.file == nil {
		return nil
	}
	return r.vals.file.failed()
}

// SpilledBytes returns how many bytes of buffered values lie in r's spill
// file.
func (r *Reducer) SpilledBytes() int64 { return r.vals.spilledBytes }

// Close closes r's spill file. r must not be used after it; a Frozen copy
// must be released first.
func (r *Reducer) Close() {
	if r.vals.file != nil {
		r.vals.file.close()
	}
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
		slog.Int("keys", r.keyIDs.Len()),
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

// addElement adds e to each of its windows; k is the index of e's key,
// or noWin to look it up (adding it if new) once a window is not late.
func (r *Reducer) addElement(e *Element, k int32, t Times) {
	// Two passes: the first finds (or adds) the state of each of the
	// element's windows, the second adds the value to each. The look-ups
	// of the windows' states are independent of each other, so that their
	// cache misses overlap, where a look-up after each window's update
	// waited for its miss alone.
	idx := r.winIdx[:0]
	var touch int32
	for _, w := range windowsOf(e) {
		if r.gcTime(w) < t.Input {
			r.late++
			continue
		}
		if k == noWin {
			k = r.keyID(e.Key)
		}
		i := r.find(k, w)
		if i == noWin {
			i = r.newWin(k, w)
		}
		idx = append(idx, i)
		touch += r.touchWin(i)
	}
	r.touchSink += touch
	for _, i := range idx {
		if r.wins[i].closed {
			r.closed++
			continue
		}
		r.addValue(i, e, t)
	}
	r.winIdx = idx
}

// touchWin reads a word of each part of window i's state that adding a
// value writes (its trigger state, the second line of its state, the tail
// of its values), so that their cache misses are under way while the
// element's other windows are looked up; the caller keeps the sum. These
// are loads, not prefetches (prefetchWin): they also reach the tail of the
// values, whose place only the window's state tells.
func (r *Reducer) touchWin(i int32) int32 {
	ws := &r.wins[i]
	sum := int32(ws.elemHold)
	if n := len(r.nodes); n > 0 {
		sum += r.st[int(i)*n].count
	}
	if tail := ws.vals.tail; tail != noRef {
		if page := r.vals.pages[tail>>refPageBit]; page != nil {
			sum += int32(page[uint32(tail)])
		}
	}
	return sum
}

// keyID returns the index of key's state, adding it if new.
func (r *Reducer) keyID(key []byte) int32 {
	if k, ok := r.keyIDs.GetBytes(key); ok {
		return k
	}
	kb := []byte(string(key))
	ks := keyState{kb: kb[:len(kb):len(kb)], first: noWin, last: noWin}
	var k int32
	if n := len(r.freeKeys); n > 0 {
		k = r.freeKeys[n-1]
		r.freeKeys = r.freeKeys[:n-1]
		r.keys[k] = ks
	} else {
		k = int32(len(r.keys))
		r.keys = append(r.keys, ks)
	}
	r.keyIDs.SetOwned(unsafe.String(unsafe.SliceData(kb), len(kb)), k) // kb is never written
	r.keyBytes += keyOverhead + 2*int64(len(key))
	return k
}

// find returns the index of key k's state for w, or noWin.
func (r *Reducer) find(k int32, w window.Window) int32 {
	if i, final := r.keys[k].lookup(w, winHash(w), r.wins); final {
		return i
	}
	if i, ok := r.index.get(k, w); ok {
		return i
	}
	return noWin
}

// newWin adds the state of key k's window w and returns its index. It may
// move r.wins and r.st: pointers into them do not survive it.
func (r *Reducer) newWin(k int32, w window.Window) int32 {
	r.seq++
	n := len(r.nodes)
	var i int32
	if m := len(r.free); m > 0 {
		i = r.free[m-1]
		r.free = r.free[:m-1]
		clear(r.st[int(i)*n : int(i+1)*n])
	} else {
		i = int32(len(r.wins))
		r.wins = append(r.wins, winState{})
		r.st = append(r.st, make([]nodeState, n)...)
	}
	ks := &r.keys[k]
	r.wins[i] = winState{start: w.Start, end: w.End, global: w.IsGlobal(), seq: r.seq, key: k, next: noWin, prev: ks.last, vals: emptyList(),
		elemHold: none, extraHold: none, event: none}
	if ks.last != noWin {
		r.wins[ks.last].next = i
	} else {
		ks.first = i
	}
	ks.last = i
	ks.n++
	if old, evicted := ks.remember(w, i); evicted {
		r.index.set(k, r.wins[old.i1-1].window(), old.i1-1)
	}
	r.live++
	return i
}

// nodesOf returns the trigger state of window i.
func (r *Reducer) nodesOf(i int32) []nodeState {
	n := len(r.nodes)
	return r.st[int(i)*n : int(i+1)*n : int(i+1)*n]
}

// remove drops window i from its key; the key itself stays (see
// dropKeyIfEmpty). The index is reused once the current call returns.
func (r *Reducer) remove(i int32) {
	ws := &r.wins[i]
	ws.dead = true
	r.live--
	r.vals.release(&ws.vals)
	ks := &r.keys[ws.key]
	if ws.prev != noWin {
		r.wins[ws.prev].next = ws.next
	} else {
		ks.first = ws.next
	}
	if ws.next != noWin {
		r.wins[ws.next].prev = ws.prev
	} else {
		ks.last = ws.prev
	}
	ks.n--
	if !ks.forget(i) {
		r.index.delete(ws.key, ws.window())
	} else if ks.cached < ks.n {
		r.promote(ws.key)
	}
	r.freeing = append(r.freeing, i)
}

// promote moves one of key k's windows from the index into the room just
// made in its recent list, the oldest, so that look-ups of the key stay in
// its state while it has no more windows than recent names.
func (r *Reducer) promote(k int32) {
	ks := &r.keys[k]
	for j := ks.first; j != noWin; j = r.wins[j].next {
		if !ks.names(j) {
			w := r.wins[j].window()
			r.index.delete(k, w)
			ks.remember(w, j) // a slot is free: nothing is evicted
			return
		}
	}
}

func (r *Reducer) dropKeyIfEmpty(k int32) {
	ks := &r.keys[k]
	if ks.n != 0 {
		return
	}
	r.keyIDs.Delete(unsafe.String(unsafe.SliceData(ks.kb), len(ks.kb)))
	r.keyBytes -= keyOverhead + 2*int64(len(ks.kb))
	*ks = keyState{}
	r.freeKeys = append(r.freeKeys, k)
}

// addValue buffers one element in window i: Java's
// ReduceFnRunner.processElement for an open window.
func (r *Reducer) addValue(i int32, e *Element, t Times) {
	ws := &r.wins[i]
	if r.ints != nil {
		if err := r.mergeInt(ws, e.Value); err != nil && r.mergeErr == nil {
			r.mergeErr = &MergeError{Values: int(ws.vals.n) + 1, Err: err}
		}
	} else {
		r.vals.push(&ws.vals, e.Value)
		if r.merger != nil && ws.vals.n >= r.mergeAt {
			r.mergeValues(ws)
		}
	}
	ws.nonEmpty = true
	r.setEventTimer(i, t)
	r.addHolds(i, e.Timestamp, t)
	r.begin(i, t)
	r.c.onElement(0)
	r.end(i)
	if ws.epoch != r.epoch {
		ws.epoch = r.epoch
		r.touched = append(r.touched, i)
	}
}

// mergeValues replaces ws's values by the one its Merger makes of them.
// The new value goes to a fresh chunk, and the old chunks are released:
// a frozen copy or a pane that refers to them still reads them (the
// arena never rewrites bytes). After a failure (the Merger's, or a spill
// file's) the values stay, and no window is merged again.
func (r *Reducer) mergeValues(ws *winState) {
	if r.Err() != nil {
		return
	}
	vals := r.vals.values(r.mergeVals[:0], ws.vals)
	// After a spill read error a value may be missing from vals: merging
	// would lose it for good, so the values stay and the job fails on the
	// error.
	read := r.Err() == nil
	var merged []byte
	var err error
	if read {
		merged, err = r.merger.Merge(r.mergeBuf[:0], vals)
	}
	n := len(vals)
	clear(vals) // they alias the pages
	r.mergeVals = vals[:0]
	switch {
	case !read:
	case err != nil:
		r.mergeErr = &MergeError{Values: n, Err: err}
	default:
		r.mergeBuf = merged[:0]
		r.vals.release(&ws.vals)
		r.vals.push(&ws.vals, merged)
	}
}

// mergeInt merges value v into ws's int64 accumulator (see IntMerger and
// valueList). After a failure the accumulator stays as it was.
func (r *Reducer) mergeInt(ws *winState, v []byte) error {
	a, err := r.ints.DecodeInt(v)
	if err == nil && ws.vals.n != 0 {
		a, err = r.ints.MergeInts(ws.vals.size, a)
	}
	if err != nil {
		return err
	}
	ws.vals.n, ws.vals.size = 1, a
	return nil
}

// setEventTimer arms window i's end-of-window timer, or its GC timer when
// the end of the window has passed.
func (r *Reducer) setEventTimer(i int32, t Times) {
	ws := &r.wins[i]
	if ws.event != none {
		return
	}
	if maxTs := ws.maxTs(); t.Input <= maxTs {
		ws.event = maxTs
	} else {
		ws.event = r.gcTime(ws.window())
	}
	r.events.push(timer{t: ws.event, seq: ws.seq, win: i})
}

// addHolds holds the output watermark for an element at ts (Java
// WatermarkHold.addHolds): at the combiner's timestamp if that is not behind
// the output watermark and the window is not past its end, else at GC time.
func (r *Reducer) addHolds(i int32, ts window.Time, t Times) {
	ws := &r.wins[i]
	old := ws.holdMin()
	maxTs := ws.maxTs()
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
	r.holdMoved(i, old)
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
	if gc := r.gcTime(ws.window()); gc >= t.Input && gc >= t.Output {
		ws.extraHold = min(ws.extraHold, gc)
	}
}

// holdMoved queues window i's hold after it moved from old. A hold at or
// after the window's pending event timer is not queued: that timer holds
// the output watermark (see Hold) no later than the hold would, so the
// entry would change no answer of Hold. Under the count-triggered bids
// job every early pane released a hold at the end of the window and the
// window's next element set it again, so that such entries were a heap
// push and pop per pane (4% of its CPU). uncoverHold queues the hold when
// the timer goes away.
func (r *Reducer) holdMoved(i int32, old window.Time) {
	ws := &r.wins[i]
	if h := ws.holdMin(); h != old && h != none && ws.event > h {
		r.holds.push(timer{t: h, seq: ws.seq, win: i})
	}
}

// uncoverHold queues window i's hold if its pending event timer covered it
// (see holdMoved); call it before that timer is taken away.
func (r *Reducer) uncoverHold(i int32) {
	ws := &r.wins[i]
	if h := ws.holdMin(); h != none && ws.event <= h {
		r.holds.push(timer{t: h, seq: ws.seq, win: i})
	}
}

// begin points the evaluation context at window i; end pushes the
// processing-time timers the evaluation armed.
func (r *Reducer) begin(i int32, t Times) {
	r.c.st = r.nodesOf(i)
	r.c.iw, r.c.pt = t.Input, t.Processing
	r.c.maxTs = r.wins[i].maxTs()
	r.c.armed = r.c.armed[:0]
}

func (r *Reducer) end(i int32) {
	seq := r.wins[i].seq
	for _, a := range r.c.armed {
		r.procs.push(timer{t: a.t, seq: seq, win: i, node: a.node})
	}
}

func (r *Reducer) shouldFire(i int32, t Times) bool {
	r.begin(i, t)
	return r.c.shouldFire(0)
}

// emit fires the trigger of window i and outputs its pane (Java
// ReduceFnRunner.emit).
func (r *Reducer) emit(i int32, t Times, out []Pane) []Pane {
	r.begin(i, t)
	r.c.onFire(0)
	r.end(i)
	finished := r.st[int(i)*len(r.nodes)].finished
	out = r.onTrigger(i, t, finished, out)
	ws := &r.wins[i]
	ws.nonEmpty = false
	if finished || !r.s.Accumulating {
		r.vals.release(&ws.vals)
	}
	if finished {
		// The window is closed: only its GC timer is left, to drop later
		// input until then.
		ws.closed = true
		ws.clearPane()
	}
	return out
}

// onTrigger releases the window's holds and outputs its pane if the pane is
// non-empty or the on-time or closing behaviour asks for it (Java
// ReduceFnRunner.onTrigger). The pane's timestamp is the released hold, or
// the end of the window when there was none or only a GC hold.
func (r *Reducer) onTrigger(i int32, t Times, isFinished bool, out []Pane) []Pane {
	ws := &r.wins[i]
	maxTs := ws.maxTs()
	old := ws.holdMin()
	ts := old
	if ts == none || ts > maxTs {
		ts = maxTs
	}
	ws.elemHold, ws.extraHold = none, none
	if !isFinished {
		r.addGCHold(ws, true, t)
	}
	r.holdMoved(i, old)
	empty := !ws.nonEmpty
	if empty && !r.s.ClosingAlways && !r.s.OnTimeAlways {
		return out
	}
	info := describePane(ws, t, isFinished)
	if !empty || isFinished && r.s.ClosingAlways || info.Timing == window.TimingOnTime && r.s.OnTimeAlways {
		ws.setPane(info)
		out = append(out, Pane{Key: r.keys[ws.key].kb, Window: ws.window(), Values: r.paneValues(ws.vals), Timestamp: ts, Info: info})
	}
	return out
}

// paneValues returns the values of l as slices of the arena, carved from a
// block shared by many panes.
func (r *Reducer) paneValues(l valueList) [][]byte {
	if l.n == 0 {
		return nil
	}
	n := int(l.n)
	if cap(r.paneVals)-len(r.paneVals) < n {
		r.paneVals = make([][]byte, 0, max(n, 1024))
	}
	start := len(r.paneVals)
	if r.ints != nil {
		// The accumulator's encoding, in a block that is never written
		// again once the panes have their slices of it.
		if cap(r.intBytes)-len(r.intBytes) < maxIntLen {
			r.intBytes = make([]byte, 0, intBlock)
		}
		from := len(r.intBytes)
		r.intBytes = r.ints.AppendInt(r.intBytes, l.size)
		r.paneVals = append(r.paneVals, r.intBytes[from:len(r.intBytes):len(r.intBytes)])
	} else {
		r.paneVals = r.vals.values(r.paneVals, l)
	}
	return r.paneVals[start : start+n : start+n]
}

// Sizes for the panes' encodings of int64 accumulators: a block holds
// many, and one with less than maxIntLen bytes left (a varint's longest)
// is replaced before an encoding (one that is longer still is appended to
// a copy of the block, which the panes before need not see).
const (
	intBlock  = 4096
	maxIntLen = 10
)

// describePane computes the PaneInfo of the next pane of ws (Java
// PaneInfoTracker.describePane): panes go EARLY* ON_TIME? LATE*; a pane is
// LATE once the output watermark has passed the window, or after a
// non-early pane.
func describePane(ws *winState, t Times, isFinished bool) window.Pane {
	p := window.Pane{IsFirst: !ws.hasPane, IsLast: isFinished}
	if ws.hasPane {
		p.Index, p.NonSpeculativeIndex = ws.paneIndex+1, ws.paneNonSpec+1
	}
	maxTs := ws.maxTs()
	switch {
	case t.Output > maxTs || ws.hasPane && ws.paneTiming != window.TimingEarly:
		p.Timing = window.TimingLate
	case t.Input <= maxTs:
		p.Timing, p.NonSpeculativeIndex = window.TimingEarly, -1
	default:
		p.Timing = window.TimingOnTime
	}
	return p
}

// fireEvent handles the EOW or GC timer of window i. Once the input
// watermark has passed GC time the window's final pane is emitted and its
// state dropped, in one step even if the end-of-window timer is the one
// that fired, so the final pane is marked last (BEAM-2502).
func (r *Reducer) fireEvent(i int32, t Times, out []Pane) []Pane {
	r.uncoverHold(i)
	ws := &r.wins[i]
	ws.event = none
	gc := r.gcTime(ws.window())
	if t.Input > gc {
		if !ws.closed {
			out = r.onTrigger(i, t, true, out)
		}
		k := ws.key
		r.remove(i)
		r.dropKeyIfEmpty(k)
		return out
	}
	if !ws.closed && r.shouldFire(i, t) {
		out = r.emit(i, t, out)
	}
	ws = &r.wins[i]
	ws.event = gc
	r.events.push(timer{t: gc, seq: ws.seq, win: i})
	return out
}

// liveWin returns the state of the window a heap entry names, nil if that
// window is gone (collected, merged away, or its index reused).
func (r *Reducer) liveWin(x timer) *winState {
	ws := &r.wins[x.win]
	if ws.dead || ws.seq != x.seq {
		return nil
	}
	return ws
}

func validEvent(r *Reducer, x timer) bool {
	ws := r.liveWin(x)
	return ws != nil && ws.event == x.t
}

func validHold(r *Reducer, x timer) bool {
	ws := r.liveWin(x)
	return ws != nil && ws.holdMin() == x.t
}

func validProc(r *Reducer, x timer) bool {
	ws := r.liveWin(x)
	if ws == nil || ws.closed {
		return false
	}
	s := r.st[int(x.win)*len(r.nodes)+int(x.node)]
	return s.armed && !s.finished && s.delay == x.t
}

// maybeCompact makes the indexes freed during the call reusable, drops
// stale heap entries once they outnumber the live ones, and frees
// everything when nothing is left.
func (r *Reducer) maybeCompact() {
	r.free = append(r.free, r.freeing...)
	r.freeing = r.freeing[:0]
	if r.live == 0 {
		r.events, r.procs, r.holds = timerQueue{}, timerQueue{}, timerQueue{}
		r.wins, r.st, r.free = nil, nil, nil
		r.index = winIndex{}
		r.vals.reset()
		r.paneVals = nil
		if r.keyIDs.Len() == 0 {
			r.keys, r.freeKeys = nil, nil
		}
		return
	}
	if r.events.len()+r.procs.len()+r.holds.len() <= r.compactAt {
		return
	}
	r.events.compact(r, validEvent)
	r.procs.compact(r, validProc)
	r.holds.compact(r, validHold)
	r.compactAt = 2*(r.events.len()+r.procs.len()+r.holds.len()) + 1024
}
