package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// reducing is the streaming GroupByKey of a grouped stage whose input is
// unbounded or whose windowing needs more than one on-time pane per
// window: the reducer (runner/internal/reduce) and the engine's state
// around it. One worker at a time runs the reducer (busy); the other
// fields are guarded by j.mu.
type reducing struct {
	r *reduce.Reducer
	// name is the GroupByKey's unique name, for its metrics.
	name string

	batches []*reduceBatch
	busy    bool
	// adding is the earliest timestamp of the batches being added
	// (MaxTime: none); they still hold the input watermark.
	adding window.Time
	// lastIW and lastPT are the times of the last Advance.
	lastIW, lastPT window.Time
	// hold, nextPT (if hasPT) and pending are the reducer's after its last
	// run; gbkOW is the GroupByKey's own output watermark, for panes.
	hold         window.Time
	nextPT       window.Time
	hasPT        bool
	pending      int
	gbkOW        window.Time
	late, closed int64
	wake         *time.Timer
	// merging is whether windows merge: batches then go to the reducer
	// whole. scratch holds a step of a batch's elements (busy guards it).
	merging bool
	scratch []reduce.Element
}

// reduceBatch is one committed bundle's output for a reducer.
type reduceBatch struct {
	n     int // elements
	minTs window.Time
	bytes int64
	// out holds the elements, recycled once every reducer reading it has
	// added the batch; nil for a batch restored from a checkpoint, whose
	// elements are in elems.
	out   *reduceOutput
	elems []reduce.Element
}

// addStep is how many elements of a batch go to the reducer at once over
// non-merging windows (the reducer evaluates triggers per element there,
// so the cut changes no pane): the elements are materialised as
// reduce.Elements only a step at a time.
const addStep = 512

// addTo adds the batch to r in steps (whole: in one call, as merging
// windows need, whose triggers are evaluated once per batch) and appends
// the panes that fire. scratch is reused between calls.
func (b *reduceBatch) addTo(r *reduce.Reducer, t reduce.Times, whole bool, scratch *[]reduce.Element, panes []reduce.Pane) []reduce.Pane {
	if b.out == nil {
		return r.AppendAdd(panes, b.elems, t)
	}
	step := addStep
	if whole {
		step = b.n
	}
	for i := 0; i < b.n; i += step {
		*scratch = b.out.elements((*scratch)[:0], i, min(i+step, b.n))
		panes = r.AppendAdd(panes, *scratch, t)
	}
	clear(*scratch) // do not pin the output's buffers once recycled
	return panes
}

// elements returns all of the batch's elements, for checkpoints.
func (b *reduceBatch) elements() []reduce.Element {
	if b.out == nil {
		return b.elems
	}
	return b.out.elements(nil, 0, b.n)
}

func newReducing(s *stage) (*reducing, error) {
	in := s.st.Input
	if in.Reduce == nil {
		return nil, fmt.Errorf("grouped input %s has no windowing strategy", in.Target)
	}
	r, err := reduce.New(*in.Reduce)
	if err != nil {
		return nil, fmt.Errorf("GroupByKey %s: %w", in.Transform, err)
	}
	name := s.j.pl.Components.GetTransforms()[in.Transform].GetUniqueName()
	return &reducing{r: r, name: name, adding: window.MaxTime, lastIW: window.MinTime, hold: window.MaxTime, gbkOW: window.MinTime,
		merging: in.Reduce.WindowFn.IsMerging()}, nil
}

// useShuffle reports whether a grouped stage groups with the spilling
// shuffle: its input ends (bounded) and its windowing fires exactly one
// on-time pane per window, at the end of the window, when the input
// watermark reaches the end.
func useShuffle(s *stage) bool {
	w := s.st.Input.Windowing
	return !s.st.Input.Unbounded && w != nil && w.Trigger.Kind == window.TriggerDefault &&
		w.TimestampCombiner == window.OutputAtEndOfWindow
}

// inputMin returns the earliest timestamp of the batches not yet added;
// j.mu is held.
func (red *reducing) inputMin() window.Time {
	m := red.adding
	for _, b := range red.batches {
		m = min(m, b.minTs)
	}
	return m
}

// due reports whether the reducer has work: batches to add, a new input
// watermark to advance to, or a processing-time timer that is due; j.mu
// is held.
func (red *reducing) due(iw, now window.Time) bool {
	if red.busy {
		return false
	}
	return len(red.batches) > 0 || iw != red.lastIW || (red.hasPT && red.nextPT <= now)
}

// runReduce adds the pending batches to the reducer, advances it to the
// stage's watermarks and the job's processing time, and queues the panes
// that fired as a bundle of the stage.
func (s *stage) runReduce() {
	j, red := s.j, s.red
	j.mu.Lock()
	batches := red.batches
	red.batches = nil
	for _, b := range batches {
		red.adding = min(red.adding, b.minTs)
	}
	red.gbkOW = max(red.gbkOW, min(s.iw, red.hold))
	t := reduce.Times{Input: s.iw, Output: red.gbkOW, Processing: j.clock.now()}
	j.mu.Unlock()

	var panes []reduce.Pane
	for _, b := range batches {
		panes = b.addTo(red.r, t, red.merging, &red.scratch, panes)
	}
	panes = red.r.AppendAdvance(panes, t)
	bundles := s.paneBundles(panes)
	hold, pending := red.r.Hold(), red.r.Pending()
	next, hasPT := red.r.NextProcessingTime()
	late, closed := red.r.Dropped()

	j.mu.Lock()
	defer j.mu.Unlock()
	s.queue = append(s.queue, bundles...)
	for _, b := range batches {
		j.buffered -= b.bytes
		b.release() // Add copied its keys and values
	}
	red.adding, red.lastIW, red.lastPT = window.MaxTime, t.Input, t.Processing
	red.hold, red.pending, red.nextPT, red.hasPT = hold, pending, next, hasPT
	j.countDropped(red, late, closed)
	red.busy = false
	s.armWake()
	j.refresh()
}

// countDropped adds the reducer's new dropped counts to the job's metrics;
// j.mu is held.
func (j *job) countDropped(red *reducing, late, closed int64) {
	var snap metrics.Snapshot
	add := func(name string, n int64) {
		if n == 0 {
			return
		}
		if snap.Counters == nil {
			snap.Counters = map[metrics.Key]int64{}
		}
		snap.Counters[metrics.Key{Transform: red.name, Namespace: "beamgo.runner", Name: name}] = n
	}
	add("droppedDueToLateness", late-red.late)
	add("droppedDueToClosedWindow", closed-red.closed)
	red.late, red.closed = late, closed
	if snap.Counters != nil {
		j.metrics.Merge(snap)
	}
}

// armWake arms a wake-up for the reducer's earliest processing-time timer
// on the wall clock (a TestStream's clock moves only by its events);
// j.mu is held.
func (s *stage) armWake() {
	red := s.red
	if red.wake != nil {
		red.wake.Stop()
		red.wake = nil
	}
	if !red.hasPT || s.j.clock.synthetic {
		return
	}
	wait := time.Duration(red.nextPT-s.j.clock.now()) * time.Millisecond
	red.wake = time.AfterFunc(max(wait, 0), s.j.broadcast)
}

// paneBundles encodes panes as the stage's input, KV<key,
// Iterable<value>> windowed values with each pane's timestamp, window and
// PaneInfo, in up to Parallelism bundles.
func (s *stage) paneBundles(panes []reduce.Pane) []*bundleWork {
	if len(panes) == 0 {
		return nil
	}
	n := 1
	if len(panes) > 256 {
		n = s.j.opts.Parallelism
	}
	size := (len(panes) + n - 1) / n
	var out []*bundleWork
	wins := make([]window.Window, 1)
	for i := 0; i < len(panes); i += size {
		b := &bundleWork{minTs: window.MaxTime}
		for _, p := range panes[i:min(i+size, len(panes))] {
			wins[0] = p.Window
			e := s.src.wv.Encode(nil, window.Value[[]byte]{Timestamp: p.Timestamp, Windows: wins, Pane: p.Info})
			e = append(e, p.Key...)
			e = binary.BigEndian.AppendUint32(e, uint32(len(p.Values)))
			for _, v := range p.Values {
				e = append(e, v...)
			}
			b.elems = append(b.elems, e)
			b.minTs = min(b.minTs, p.Timestamp)
		}
		out = append(out, b)
	}
	return out
}

// reduceOutput collects one bundle's output for the reducers reading it,
// in pointer-free buffers: batches wait for a busy reducer, and as
// reduce.Elements (three slices each) they were most of a streaming job's
// live heap, all of it for the collector to scan. Its buffers are reused:
// growing fresh ones for every bundle was four tenths of the streaming
// benchmark's allocations.
type reduceOutput struct {
	arena []byte
	recs  []elemRec
	wins  []window.Window
	minTs window.Time
	bytes int64
	// refs counts the reducers that have yet to add the output; j.mu
	// guards it.
	refs int
}

// elemRec is one element of a reduceOutput: its key and value at
// arena[at:at+key+val], its windows at wins[win:win+nwin].
type elemRec struct {
	ts        window.Time
	at        int
	key, val  uint32
	win, nwin uint32
}

// elements appends elements from to to-1 to dst, aliasing o's buffers.
func (o *reduceOutput) elements(dst []reduce.Element, from, to int) []reduce.Element {
	for _, r := range o.recs[from:to] {
		kv := o.arena[r.at : r.at+int(r.key+r.val) : r.at+int(r.key+r.val)]
		ws := o.wins[r.win : r.win+r.nwin : r.win+r.nwin]
		dst = append(dst, reduce.Element{Key: kv[:r.key:r.key], Value: kv[r.key:], Timestamp: r.ts, Windows: ws})
	}
	return dst
}

// reduceOutputs holds emptied reduceOutputs for reuse.
var reduceOutputs = sync.Pool{New: func() any { return new(reduceOutput) }}

// maxKeptOutput is the largest arena a recycled reduceOutput keeps, so
// that one huge bundle does not pin its memory for the rest of the job.
const maxKeptOutput = 4 << 20

// newReduceOutput returns an empty reduceOutput, reused if one is free.
func newReduceOutput() *reduceOutput {
	o := reduceOutputs.Get().(*reduceOutput)
	o.minTs = window.MaxTime
	return o
}

// release recycles the batch's memory once no reducer still has to add
// it; j.mu is held.
func (b *reduceBatch) release() {
	o := b.out
	b.out = nil
	if o == nil {
		return
	}
	if o.refs--; o.refs > 0 || cap(o.arena) > maxKeptOutput {
		return
	}
	o.recs, o.arena, o.wins = o.recs[:0], o.arena[:0], o.wins[:0]
	o.bytes = 0
	reduceOutputs.Put(o)
}

// add records the KV element of windowed value v split at key length k.
func (o *reduceOutput) add(v window.Value[[]byte], k int) {
	if len(v.Elem) > math.MaxUint32 || len(o.wins)+len(v.Windows) > math.MaxUint32 {
		panic(fmt.Sprintf("engine: a GroupByKey element of %d bytes or %d windows in one bundle", len(v.Elem), len(o.wins)+len(v.Windows)))
	}
	o.recs = append(o.recs, elemRec{ts: v.Timestamp, at: len(o.arena), key: uint32(k), val: uint32(len(v.Elem) - k),
		win: uint32(len(o.wins)), nwin: uint32(len(v.Windows))})
	o.arena = append(o.arena, v.Elem...)
	o.wins = append(o.wins, v.Windows...)
	o.minTs = min(o.minTs, v.Timestamp)
	o.bytes += int64(len(v.Elem)) + 64
}

// deliverReduce hands a bundle's output to the reducers that read it;
// j.mu is held.
func (o *bundleOutput) deliverReduce(j *job) {
	if o.red == nil || len(o.red.recs) == 0 {
		return
	}
	o.red.refs = len(o.t.reducers)
	for _, r := range o.t.reducers {
		r.red.batches = append(r.red.batches, &reduceBatch{n: len(o.red.recs), minTs: o.red.minTs, bytes: o.red.bytes, out: o.red})
		j.buffered += o.red.bytes
	}
}
