package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
	"github.com/beamgo-dev/beamgo/runner/internal/shuffle"
)

// A GroupByKey over bounded input whose trigger may fire before the input
// ends (an AfterCount, an Always; reduce.OnePaneInBatch is false) groups
// in two steps, as Beam's batch runners do: the spilling shuffle collects
// the input, one record per element stamped with its timestamp and
// windows (not one per element and window), and once the input is
// complete a reducer takes the shuffle's groups key after key, a slice of
// keys at a time, and is advanced to the end of time after each slice, so
// that every window of those keys fires its panes and is collected. A
// reducer fed the input as it came kept every window open until the input
// ended, since a bounded input's watermark only then moves: the memory
// grew with the windows, past the budget, where the shuffle spills. The
// panes are those of a batch job: count triggers fire as the key's
// elements arrive, the watermark passes every window's end only at the
// end, and processing time stands at the moment the input was complete.

// A stamped shuffle value carries what the reducer needs of its element
// besides key and value: the timestamp and all of the element's windows.
// The shuffle record itself goes into one placeholder window (stampedWins),
// so an element in five sliding windows is one record, not five: the
// shuffle sorts, spills and merges a fifth of the records, and the reducer
// looks the key up once per element. Its layout:
//
//	timestamp   8 bytes, big-endian
//	windows     uvarint: 0 for the global window, else the number n of
//	            interval windows, followed by n pairs of varints: the
//	            window's start as an offset back from the timestamp, and
//	            its length (for sliding windows, a few bytes each)
//	value       the rest

// stampedWins is the window every stamped shuffle record is grouped in.
var stampedWins = []window.Window{window.Global()}

// stampValue appends the stamped shuffle value of an element with
// timestamp ts, windows wins and value val to dst.
func stampValue(dst []byte, ts window.Time, wins []window.Window, val []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	if len(wins) == 1 && wins[0].IsGlobal() {
		dst = append(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(wins)))
		for _, w := range wins {
			dst = binary.AppendVarint(binary.AppendVarint(dst, int64(ts-w.Start)), int64(w.End-w.Start))
		}
	}
	return append(dst, val...)
}

// unstamp splits a stamped shuffle value: it appends the element's windows
// to wins and returns its timestamp, the windows and the value.
func unstamp(b []byte, wins []window.Window) (window.Time, []window.Window, []byte, error) {
	if len(b) < 9 {
		return 0, wins, nil, fmt.Errorf("engine: stamped shuffle value of %d bytes, shorter than its timestamp and windows", len(b))
	}
	ts := window.Time(binary.BigEndian.Uint64(b))
	n, m := binary.Uvarint(b[8:])
	if m <= 0 || n > uint64(len(b)) {
		return 0, wins, nil, fmt.Errorf("engine: stamped shuffle value: bad window count at offset 8")
	}
	at := 8 + m
	if n == 0 {
		return ts, append(wins, window.Global()), b[at:], nil
	}
	for range n {
		back, m1 := binary.Varint(b[at:])
		if m1 <= 0 {
			return 0, wins, nil, fmt.Errorf("engine: stamped shuffle value: bad window start at offset %d", at)
		}
		length, m2 := binary.Varint(b[at+m1:])
		if m2 <= 0 {
			return 0, wins, nil, fmt.Errorf("engine: stamped shuffle value: bad window length at offset %d", at+m1)
		}
		start := ts - window.Time(back)
		wins = append(wins, window.Interval(start, start+window.Time(length)))
		at += m1 + m2
	}
	return ts, wins, b[at:], nil
}

// batchSlice is about how many bytes a slice's elements take (their keys
// and values, and elemCost each) before the reducer is advanced to the
// end: a slice of keys' windows at a time. Tests lower it.
var batchSlice = 1 << 20

// elemCost is what an element-window of a slice takes besides its key and
// value: its share of the reduce.Element, the window, and the window's
// state in the reducer.
const elemCost = 160

// batchReduce is what the bundles of a batch-reduced GroupByKey share:
// its strategy, the processing time at which its input was complete, and
// its unique name, for its metrics.
type batchReduce struct {
	strategy reduce.Strategy
	now      window.Time
	name     string
}

// input reduces the groups of one stamped shuffle partition and encodes
// the panes as KV<key, Iterable<value>> windowed values in chunks of about
// 64 KiB. The elements a finished trigger dropped are counted in m, the
// attempt's metrics, so that a retried bundle counts them once.
func (b batchReduce) input(sh *shuffle.Shuffle, part int, src *wire, m *metrics.Store) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		v := &batchReducer{src: src, strategy: b.strategy, now: b.now, yield: yield, wins: make([]window.Window, 1)}
		err := sh.VisitGroups(part, v)
		if err == nil && !v.stopped {
			err = v.flush()
		}
		if err == nil {
			err = v.err
		}
		if v.closed > 0 && m != nil {
			m.Counter(metrics.Key{Transform: b.name, Namespace: "beamgo.runner", Name: "droppedDueToClosedWindow"}).Add(v.closed)
		}
		if err != nil {
			if !v.stopped {
				yield(nil, err)
			}
			return
		}
		if !v.stopped && len(v.chunk) > 0 {
			yield(v.chunk, nil)
		}
	}
}

// batchReducer is a shuffle.GroupVisitor that collects the elements of
// whole keys, reduces a slice of them at a time and encodes the panes.
type batchReducer struct {
	src      *wire
	strategy reduce.Strategy
	now      window.Time
	yield    func([]byte, error) bool
	// stopped is set when yield returned false; err is the first error.
	stopped bool
	err     error

	// key is the current group's key; data holds the copied keys and
	// values of elems, the slice's elements so far, one after the other,
	// and elemWins their windows, also one element's after the other.
	key      []byte
	data     []byte
	elems    []reduce.Element
	elemWins []window.Window
	// r is the reducer, reset after each slice; closed counts the
	// elements its finished triggers dropped. panes is the scratch of a
	// slice's panes; chunk the encoded panes not yet yielded.
	r      *reduce.Reducer
	closed int64
	panes  []reduce.Pane
	chunk  []byte
	wins   []window.Window
}

// StartGroup implements shuffle.GroupVisitor. A new key ends the slice
// once it holds batchSlice bytes: a key's windows are never split.
func (v *batchReducer) StartGroup(key []byte, win window.Window) {
	if v.err != nil {
		return
	}
	if !bytes.Equal(key, v.key) {
		if len(v.data)+elemCost*len(v.elemWins) >= batchSlice {
			v.err = v.flush()
		}
		v.key = append(v.key[:0], key...)
	}
}

// AddValue implements shuffle.GroupVisitor. The group's window is the
// placeholder of stamped records; the element's windows are in its value.
func (v *batchReducer) AddValue(_ window.Window, val []byte) {
	if v.err != nil {
		return
	}
	at := len(v.elemWins)
	ts, wins, val, err := unstamp(val, v.elemWins)
	if err != nil {
		v.err = err
		return
	}
	v.elemWins = wins
	// Key, Value and Windows get their lengths only: data and elemWins
	// may grow and move until the slice is reduced (rebase).
	v.data = append(append(v.data, v.key...), val...)
	v.elems = append(v.elems, reduce.Element{Key: v.key[:len(v.key):len(v.key)], Value: val[:len(val):len(val)], Timestamp: ts,
		Windows: wins[at:len(wins):len(wins)]})
}

// EndGroup implements shuffle.GroupVisitor.
func (v *batchReducer) EndGroup() bool { return v.err == nil && !v.stopped }

// flush reduces the slice's elements, advances the reducer to the end of
// time, encodes the panes and yields the chunk in pieces of about 64 KiB.
func (v *batchReducer) flush() error {
	if len(v.elems) == 0 {
		return nil
	}
	v.rebase()
	if v.r == nil {
		r, err := reduce.New(v.strategy)
		if err != nil {
			return err
		}
		v.r = r
	}
	t := reduce.Times{Input: window.MinTime, Output: window.MinTime, Processing: v.now}
	v.panes = v.r.AppendAdd(v.panes[:0], v.elems, t)
	t.Input = window.MaxTime
	v.panes = v.r.AppendAdvance(v.panes, t)
	for _, p := range v.panes {
		v.wins[0] = p.Window
		v.chunk = appendGrouped(v.src.wv.Encode(v.chunk, window.Value[[]byte]{Timestamp: p.Timestamp, Windows: v.wins, Pane: p.Info}), p)
		if len(v.chunk) >= 64<<10 {
			if !v.yield(v.chunk, nil) {
				v.stopped = true
				break
			}
			v.chunk = v.chunk[:0]
		}
	}
	clear(v.panes) // do not pin the reducer's values
	v.panes = v.panes[:0]
	_, closed := v.r.Dropped()
	v.closed += closed
	v.r.Reset()
	clear(v.elems)
	v.elems, v.elemWins, v.data = v.elems[:0], v.elemWins[:0], v.data[:0]
	return nil
}

// rebase points every element's key and value into data, where they
// were appended one after the other, and its windows into elemWins.
func (v *batchReducer) rebase() {
	at, wat := 0, 0
	for i := range v.elems {
		e := &v.elems[i]
		k, n, w := len(e.Key), len(e.Key)+len(e.Value), len(e.Windows)
		e.Key = v.data[at : at+k : at+k]
		e.Value = v.data[at+k : at+n : at+n]
		e.Windows = v.elemWins[wat : wat+w : wat+w]
		at += n
		wat += w
	}
}
