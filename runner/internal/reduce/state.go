package reduce

import (
	"unsafe"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// none marks an absent hold or timer: every real hold and timer is at most
// the end of the global window, before MaxTime.
const none = window.MaxTime

// keyState is the state of one key: its windows, active and closed.
type keyState struct {
	key  string
	kb   []byte // key as bytes, shared by the key's panes
	wins []*winState
	// at[i] is wins[i].win: find scans them side by side instead of
	// following a pointer to each window's state (a cache miss each, a
	// tenth of a sliding-window job's CPU).
	at []window.Window
	// hot is the window found last, kept with its window inline so that a
	// run of elements in one window costs no pointer chase per element.
	hot    *winState
	hotWin window.Window
}

// find returns the key's state for w, or nil.
func (ks *keyState) find(w window.Window) *winState {
	if ks.hot != nil && ks.hotWin == w {
		return ks.hot
	}
	for i, at := range ks.at {
		if at == w {
			ws := ks.wins[i]
			ks.hot, ks.hotWin = ws, w
			return ws
		}
	}
	return nil
}

// winState is the state of one key+window: the buffered values, trigger and
// pane state, holds and the pending event-time timer. A closed window (its
// trigger finished) keeps only its GC timer, to drop later input until then.
type winState struct {
	ks  *keyState
	win window.Window
	seq uint64 // creation order: the deterministic tie-break of timers

	// Values are appended to buf; ends[i] is the end offset of value i.
	// Emitted panes alias buf (values are never rewritten), so a DISCARDING
	// pane hands buf over and the next pane starts a new one.
	buf  []byte
	ends []int

	nonEmpty  bool // elements arrived since the last pane
	nodes     []nodeState
	inline    [2]nodeState // nodes of small trigger trees, without an allocation
	closed    bool
	dead      bool // removed: garbage collected or merged away
	hasPane   bool
	pane      window.Pane // the last emitted pane
	elemHold  window.Time // element hold, none if absent
	extraHold window.Time // end-of-window or GC hold, none if absent
	event     window.Time // pending EOW or GC timer, none if absent
	epoch     uint64      // the Add call that last touched the window
}

// Per-entry overheads for Bytes: the structs themselves plus map and slice
// bookkeeping, so that many small keys are not accounted as free.
const (
	keyOverhead   = int64(unsafe.Sizeof(keyState{})) + 48 // map entry, wins slice
	winOverhead   = int64(unsafe.Sizeof(winState{})) + 32 // pointer in wins, window in at, timers
	valueOverhead = int64(unsafe.Sizeof(int(0)))          // one end offset
	timerSize     = int64(unsafe.Sizeof(timer{}))
	nodeSize      = int64(unsafe.Sizeof(nodeState{}))
)

// size is what the window accounts in Bytes.
func (ws *winState) size() int64 {
	n := winOverhead + int64(cap(ws.buf)) + int64(cap(ws.ends))*valueOverhead
	if cap(ws.nodes) > len(ws.inline) {
		n += int64(cap(ws.nodes)) * nodeSize
	}
	return n
}

// holdMin is the window's effective output-watermark hold.
func (ws *winState) holdMin() window.Time { return min(ws.elemHold, ws.extraHold) }

// values returns the buffered values as slices of buf, capped so that an
// append by the caller cannot overwrite a later value.
func (ws *winState) values() [][]byte {
	if len(ws.ends) == 0 {
		return nil
	}
	vs := make([][]byte, len(ws.ends))
	start := 0
	for i, end := range ws.ends {
		vs[i] = ws.buf[start:end:end]
		start = end
	}
	return vs
}

// slabs carves the small pieces of window state out of large blocks: the
// window states themselves and each window's first value buffer and value
// ends. A streaming GroupByKey holds many small windows (a sliding window
// per key every period), and three allocations of its own per window made
// half the benchmark's CPU the collector's, finding and marking them. A
// block lives while any window carved from it does; windows created
// together die together (their windows end together), so little is pinned.
// Pieces are never reused: a dead window keeps its state (timers check its
// dead bit), and a buffer that outgrows its piece moves to its own
// allocation.
type slabs struct {
	wins  []winState
	bytes []byte
	ends  []int
}

// Block and piece sizes of slabs.
const (
	winsPerBlock  = 128
	bytesPerBlock = 16 << 10
	endsPerBlock  = 1024
	firstBuf      = 16 // bytes of a window's first value buffer, at least
	firstEnds     = 4  // value ends of a window's first buffer
)

// win returns a zeroed window state.
func (s *slabs) win() *winState {
	if len(s.wins) == cap(s.wins) {
		s.wins = make([]winState, 0, winsPerBlock)
	}
	s.wins = s.wins[:len(s.wins)+1]
	return &s.wins[len(s.wins)-1]
}

// buf returns an empty buffer with room for n bytes.
func (s *slabs) buf(n int) []byte {
	if n > bytesPerBlock/64 {
		return make([]byte, 0, n)
	}
	n = max(n, firstBuf)
	if cap(s.bytes)-len(s.bytes) < n {
		s.bytes = make([]byte, 0, bytesPerBlock)
	}
	start := len(s.bytes)
	s.bytes = s.bytes[:start+n]
	return s.bytes[start : start : start+n]
}

// endsBuf returns an empty slice with room for firstEnds value ends.
func (s *slabs) endsBuf() []int {
	if cap(s.ends)-len(s.ends) < firstEnds {
		s.ends = make([]int, 0, endsPerBlock)
	}
	start := len(s.ends)
	s.ends = s.ends[:start+firstEnds]
	return s.ends[start : start : start+firstEnds]
}

// timer is an entry of a timer or hold heap. Entries are invalidated lazily:
// the owner of the heap checks an entry against the window's current state
// when it reaches the top.
type timer struct {
	t    window.Time
	seq  uint64
	ws   *winState
	node int32 // processing-time timers: the trigger node that set it
}

// timerHeap is a binary min-heap of timers ordered by (t, seq). It is
// hand-written because container/heap boxes every pushed value.
type timerHeap []timer

func (h timerHeap) less(i, j int) bool {
	return h[i].t < h[j].t || h[i].t == h[j].t && h[i].seq < h[j].seq
}

func (h *timerHeap) push(x timer) {
	*h = append(*h, x)
	h.up(len(*h) - 1)
}

func (h *timerHeap) pop() timer {
	old := *h
	n := len(old) - 1
	x := old[0]
	old[0] = old[n]
	old[n] = timer{}
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

// peek drops invalid entries from the top and returns the first valid one.
func (h *timerHeap) peek(valid func(timer) bool) (timer, bool) {
	for len(*h) > 0 {
		if x := (*h)[0]; valid(x) {
			return x, true
		}
		h.pop()
	}
	return timer{}, false
}

// compact drops every invalid entry, so stale entries (of windows that were
// merged, fired or collected) cannot accumulate.
func (h *timerHeap) compact(valid func(timer) bool) {
	kept := (*h)[:0]
	for _, x := range *h {
		if valid(x) {
			kept = append(kept, x)
		}
	}
	clear((*h)[len(kept):])
	*h = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}
