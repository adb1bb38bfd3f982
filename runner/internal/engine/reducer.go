package engine

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// reducing is the streaming GroupByKey of a grouped stage whose input is
// unbounded or whose windowing needs more than one on-time pane per
// window: the reducers (runner/internal/reduce) and the engine's state
// around them. The keys are sharded over parts, one reducer per core,
// that a run of the GroupByKey (runReduce) drives side by side. One
// worker at a time runs the GroupByKey (busy); the other fields are
// guarded by j.mu.
type reducing struct {
	parts []*reducerPart
	// strategy makes the parts' reducers; newMerger, when set, gives each
	// a Merger of the lifted combine's accumulators.
	strategy  reduce.Strategy
	newMerger func() (reduce.Merger, error)
	// name is the GroupByKey's unique name, for its metrics.
	name string

	batches []*reduceBatch
	busy    bool
	// adding is the earliest timestamp of the batches being added
	// (MaxTime: none); they still hold the input watermark.
	adding window.Time
	// lastIW and lastPT are the times of the last Advance.
	lastIW, lastPT window.Time
	// hold, nextPT (if hasPT) and pending are the reducers' after their
	// last run; gbkOW is the GroupByKey's own output watermark, for panes.
	hold         window.Time
	nextPT       window.Time
	hasPT        bool
	pending      int
	gbkOW        window.Time
	late, closed int64
	wake         *time.Timer
	// merging is whether windows merge: batches then go to the reducers
	// whole.
	merging bool
	// memory is the parts' memory after their last run (reduce.Reducer.Bytes).
	memory int64
	// dir holds the parts' spill files.
	dir string
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

func newReducing(s *stage) (*reducing, error) {
	in := s.st.Input
	if in.Reduce == nil {
		return nil, fmt.Errorf("grouped input %s has no windowing strategy", in.Target)
	}
	name := s.j.pl.Components.GetTransforms()[in.Transform].GetUniqueName()
	red := &reducing{strategy: *in.Reduce, name: name, adding: window.MaxTime, lastIW: window.MinTime, hold: window.MaxTime, gbkOW: window.MinTime,
		merging: in.Reduce.WindowFn.IsMerging(), dir: s.j.dir}
	if am, ok := s.j.ex.(AccumulatorMergers); ok && in.CombineFn != nil {
		red.newMerger = func() (reduce.Merger, error) { return am.AccumulatorMerger(in.CombineFn) }
	}
	s.j.reducings++
	if err := red.setParts(max(s.j.opts.Parallelism, 1)); err != nil {
		return nil, fmt.Errorf("GroupByKey %s: %w", in.Transform, err)
	}
	return red, nil
}

// useShuffle reports whether a grouped stage groups with the spilling
// shuffle: its input ends (bounded) and its windowing fires exactly one
// on-time pane per window, at the end of the window, when the input
// watermark reaches the end. Besides the default trigger, that is every
// trigger that fires on time or on processing time only
// (reduce.OnePaneInBatch): in a batch job neither fires before the input
// ends. A reducer would keep every window until then (a triggered bounded
// job of 10M bids held 5M windows, 2.6 GiB, far past the memory budget);
// the shuffle spills.
func useShuffle(s *stage) bool {
	in := s.st.Input
	w := in.Windowing
	if in.Unbounded || w == nil || w.TimestampCombiner != window.OutputAtEndOfWindow {
		return false
	}
	return w.Trigger.Kind == window.TriggerDefault || (in.Reduce != nil && reduce.OnePaneInBatch(*in.Reduce))
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

// take removes the earliest batches up to about limit bytes (at least
// one) from those waiting and returns them; j.mu is held.
//
// A run's input watermark is the one before its batches, so a window
// stays open at least until the run after the one that added its last
// element. Run after run of everything waiting (the source produces the
// next backlog while the reducer adds the last), the reducer added up to
// the whole buffer budget's worth of elements per run: at 1M bids
// unbounded, 160k elements, 16 s of event time, and kept every window of
// that span open, about twice the windows its watermark called for, with
// their values, holds and timers.
func (red *reducing) take(limit int64) []*reduceBatch {
	n, bytes := 0, int64(0)
	for n < len(red.batches) && (n == 0 || bytes+red.batches[n].bytes <= limit) {
		bytes += red.batches[n].bytes
		n++
	}
	batches := red.batches[:n:n]
	if n == len(red.batches) {
		red.batches = nil
	} else {
		red.batches = slices.Clone(red.batches[n:])
	}
	return batches
}

// runBytes is about how many bytes of batches a reducer adds in one run.
func (j *job) runBytes() int64 { return max(j.bufferBudget()/16, 1<<20) }

// spillAbove is how many bytes of buffered values each part of a
// streaming GroupByKey keeps in memory before it spills (see
// reduce.Reducer.Spill): a quarter of the memory budget, shared by the
// job's streaming GroupByKeys and their parts. The rest of the windowing
// state (windows, trigger states, keys, timers) stays in memory; it
// counts in Options.StateBytes, with the values held.
func (j *job) spillAbove(red *reducing) int64 {
	return max(j.opts.MemoryBudget/4, 1<<20) / int64(max(j.reducings, 1)*len(red.parts))
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

// runReduce adds pending batches to the reducers, the earliest ones up to
// about a run's worth (runBytes), advances them to the stage's watermarks
// and the job's processing time, and queues the panes that fired as
// bundles of the stage. The batches left wait for the next run, which
// follows at once (due).
func (s *stage) runReduce() {
	j, red := s.j, s.red
	j.mu.Lock()
	batches := red.take(j.runBytes())
	for _, b := range batches {
		red.adding = min(red.adding, b.minTs)
	}
	red.gbkOW = max(red.gbkOW, min(s.iw, red.hold))
	t := reduce.Times{Input: s.iw, Output: red.gbkOW, Processing: j.clock.now()}
	j.mu.Unlock()

	// The parts encode their panes as they fire, each into bundles of its
	// own; the last few of each part go into bundles together, as before.
	parts := make([][]*bundleWork, len(red.parts))
	panes := red.run(batches, t, func(part int, panes []reduce.Pane) {
		parts[part] = append(parts[part], s.paneBundles(panes)...)
	}, j.spillAbove(red))
	if err := red.err(); err != nil {
		// A pane of this run may lack values read back from the spill
		// file: none is queued, and the job fails.
		j.mu.Lock()
		defer j.mu.Unlock()
		j.fail(fmt.Errorf("GroupByKey %s: %w", red.name, err))
		red.busy = false
		j.refresh()
		return
	}
	var bundles []*bundleWork
	for _, bs := range parts {
		bundles = append(bundles, bs...)
	}
	bundles = append(bundles, s.paneBundles(panes)...)
	hold, pending, next, hasPT, late, closed := red.summary()
	j.noteStateBytes(red)

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

// noteStateBytes adds the change in red's memory since its last run to the
// job's windowing state and tells Options.StateBytes the change since it
// was last told once that is a MiB or more. red is not running elsewhere
// (busy).
func (j *job) noteStateBytes(red *reducing) {
	b := int64(0)
	for _, p := range red.parts {
		b += p.r.Bytes()
	}
	total := j.stateBytes.Add(b - red.memory)
	red.memory = b
	if told := j.toldState.Load(); total-told >= 1<<20 || told-total >= 1<<20 {
		j.tellStateBytes(told, total)
	}
}

// tellStateBytes tells Options.StateBytes the change from told to total,
// unless another goroutine has told since told was read.
func (j *job) tellStateBytes(told, total int64) {
	if f := j.opts.StateBytes; f != nil && j.toldState.CompareAndSwap(told, total) {
		f(total - told)
	}
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
// PaneInfo, in up to Parallelism bundles: one for a few small panes, more
// for many panes or for large ones. A sink's epochs are few and large (one
// pane per shard), and in one bundle they were written one after the
// other on one core.
func (s *stage) paneBundles(panes []reduce.Pane) []*bundleWork {
	if len(panes) == 0 {
		return nil
	}
	n := 1
	if len(panes) > 256 || paneValues(panes) > 1024 {
		n = min(s.j.opts.Parallelism, len(panes))
	}
	size := (len(panes) + n - 1) / n
	var out []*bundleWork
	for i := 0; i < len(panes); i += size {
		out = append(out, s.paneBundle(panes[i:min(i+size, len(panes))]))
	}
	return out
}

// paneValues counts the values of panes, up to 1025.
func paneValues(panes []reduce.Pane) int {
	n := 0
	for _, p := range panes {
		if n += len(p.Values); n > 1024 {
			break
		}
	}
	return n
}

// paneBundle encodes panes as one bundle, all of them in one allocation
// of the exact size: a sink's epoch is a pane of tens of thousands of
// values, and growing its element by append copied it about twice over
// and left the outgrown arrays to the collector. The headers are encoded
// first, into one scratch buffer, to learn the size.
func (s *stage) paneBundle(panes []reduce.Pane) *bundleWork {
	wins := make([]window.Window, 1)
	var headers []byte
	ends := make([]int, len(panes))
	total := 0
	for i, p := range panes {
		wins[0] = p.Window
		headers = s.src.wv.Encode(headers, window.Value[[]byte]{Timestamp: p.Timestamp, Windows: wins, Pane: p.Info})
		ends[i] = len(headers)
		total += len(p.Key) + 4
		for _, v := range p.Values {
			total += len(v)
		}
	}
	buf := make([]byte, 0, total+len(headers))
	b := &bundleWork{minTs: window.MaxTime, elems: make([][]byte, len(panes))}
	start := 0
	for i, p := range panes {
		at := len(buf)
		buf = appendGrouped(append(buf, headers[start:ends[i]]...), p)
		b.elems[i] = buf[at:len(buf):len(buf)]
		b.minTs = min(b.minTs, p.Timestamp)
		start = ends[i]
	}
	return b
}

// appendGrouped appends pane p's element, KV<key, Iterable<value>>, to
// buf: the key, the value count and the values.
func appendGrouped(buf []byte, p reduce.Pane) []byte {
	buf = binary.BigEndian.AppendUint32(append(buf, p.Key...), uint32(len(p.Values)))
	for _, v := range p.Values {
		buf = append(buf, v...)
	}
	return buf
}

// deliverReduce hands a bundle's output to the reducers that read it;
// j.mu is held.
func (o *bundleOutput) deliverReduce(j *job) {
	if o.red == nil {
		return
	}
	if o.red.n == 0 {
		reduceOutputs.put(o.red)
		o.red = nil
		return
	}
	o.red.refs = len(o.t.reducers)
	for _, r := range o.t.reducers {
		r.red.batches = append(r.red.batches, &reduceBatch{n: o.red.n, minTs: o.red.minTs, bytes: o.red.bytes, out: o.red})
		j.buffered += o.red.bytes
	}
}
