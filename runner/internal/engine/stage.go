package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
	"github.com/beamgo-dev/beamgo/runner/internal/shuffle"
)

// stage is the execution state of one plan stage.
type stage struct {
	j      *job
	st     *plan.Stage
	desc   *fnpb.ProcessBundleDescriptor
	wiring *plan.Wiring
	src    *wire
	sinks  map[string]*sinkTarget // by sink transform id
	// inputs are the stages producing the main input, once per
	// PCollection read; sides those producing side inputs.
	inputs, sides []*stage
	// grouping is the shuffle of a grouped or keyed stage; red the
	// streaming reducer of a grouped stage that does not use the shuffle.
	grouping *shuffle.Shuffle
	red      *reducing
	// batch, when set, is the windowing of a grouped stage over bounded
	// input whose triggers may fire before the input ends: it groups
	// with the shuffle, values stamped with their timestamps, and then
	// runs each key's group through a reducer (batchreduce.go).
	batch *reduce.Strategy
	// ks keeps the state and timers of a keyed stage.
	ks *keyed
	// gate holds back main-input elements whose side inputs are not
	// ready for their windows (sidegate.go); nil without side inputs.
	gate *sideGate

	// pmu guards idle and procs.
	pmu sync.Mutex
	// idle holds processors between bundles; procs all live ones.
	idle, procs []Processor

	// The fields below are guarded by j.mu.
	iw, ow window.Time
	// hold holds the output watermark: a TestStream's scripted
	// watermark; MaxTime for other stages.
	hold window.Time
	// pending holds committed input elements not yet in a bundle.
	pending      []*batch
	pendingElems int
	// chunk is how many pending elements a bundle takes: a
	// 2×Parallelism-th of those pending when the last batch arrived.
	chunk int
	// queue holds bundles ready to run; running those that run.
	queue   []*bundleWork
	running map[*bundleWork]struct{}
	// started is set once a root stage got its impulse or a grouped
	// stage's shuffle was handed out as bundles.
	started bool
	stats   stageStats
}

// batch is the committed output of one bundle for one reader: elements in
// memory, or a segment of them on disk (seg).
type batch struct {
	elems [][]byte
	bytes int64
	minTs window.Time
	seg   *segment
}

// len returns the number of elements in the batch.
func (b *batch) len() int {
	if b.seg != nil {
		return b.seg.count
	}
	return len(b.elems)
}

func newStage(j *job, idx int, st *plan.Stage, producer map[string]*stage) (*stage, error) {
	data, state := j.ex.Endpoints()
	desc, wiring, err := st.Descriptor(j.pl, fmt.Sprintf("stage-%d", idx), data, state)
	if err != nil {
		return nil, err
	}
	src, err := portWire(desc.GetCoders(), wiring.Source.Coder)
	if err != nil {
		return nil, err
	}
	s := &stage{j: j, st: st, desc: desc, wiring: wiring, src: src, sinks: map[string]*sinkTarget{},
		running: map[*bundleWork]struct{}{}, iw: window.MinTime, ow: window.MinTime, hold: window.MaxTime}
	for _, port := range wiring.Sinks {
		w, err := portWire(desc.GetCoders(), port.Coder)
		if err != nil {
			return nil, err
		}
		s.sinks[port.Transform] = &sinkTarget{pc: port.PCollection, wire: w}
	}
	for _, pc := range st.Input.PCollections {
		if p := producer[pc]; p != nil {
			s.inputs = append(s.inputs, p)
		}
	}
	for _, si := range st.SideInputs {
		if p := producer[si.PCollection]; p != nil {
			s.sides = append(s.sides, p)
		}
	}
	if s.gate, err = newSideGate(s, producer); err != nil {
		return nil, err
	}
	return s, s.setupInput()
}

// setupInput prepares what feeds the stage.
func (s *stage) setupInput() error {
	j := s.j
	switch s.st.Input.Kind {
	case plan.InputImpulse:
		// The impulse element: empty bytes (nested: a zero length) in the global window.
		elem := s.src.wv.Encode(nil, window.InGlobalWindow([]byte{0}))
		s.queue = append(s.queue, &bundleWork{elems: [][]byte{elem}, minTs: window.MinTime})
	case plan.InputKeyed:
		ks, err := newKeyed(s)
		s.ks = ks
		return err
	case plan.InputGrouped:
		merging := j.merging(s.st.Input.PCollections[0])
		if !useShuffle(s) {
			if s.st.Input.Unbounded || s.st.Input.Reduce == nil {
				red, err := newReducing(s)
				s.red = red
				return err
			}
			// The reducers merge windows themselves.
			s.batch, merging = s.st.Input.Reduce, false
		}
		if s.st.Input.Unbounded {
			return fmt.Errorf("grouping unbounded input (%s) is not supported yet", s.st.Input.Target)
		}
		memory := j.opts.ShuffleMemory
		if memory <= 0 {
			memory = j.opts.MemoryBudget / 2
		}
		s.grouping = shuffle.New(4*j.opts.Parallelism, merging, j.dir, memory, j.opts.Parallelism)
	case plan.InputTestStream:
		return j.addTestStream(s)
	case plan.InputData:
	default:
		return fmt.Errorf("unknown input kind %v", s.st.Input.Kind)
	}
	return nil
}

// merging reports whether the windows of PCollection pc, a grouping's
// input, merge (sessions): the grouping's output is already merged.
func (j *job) merging(pc string) bool {
	comps := j.pl.Components
	ws := comps.GetWindowingStrategies()[comps.GetPcollections()[pc].GetWindowingStrategyId()]
	return ws.GetMergeStatus() == pipepb.MergeStatus_NEEDS_MERGE
}

// refresh recomputes the stage's watermarks from its producers' output
// watermarks and its own pending work, and hands out a grouped stage's
// shuffle once its input is complete; j.mu is held.
func (s *stage) refresh() {
	in := window.MaxTime
	for _, p := range s.inputs {
		in = min(in, p.ow)
	}
	out := s.hold
	if s.gate != nil {
		// Elements pushed back for their side inputs hold the output
		// watermark: a data stage's input, as pending elements do; a
		// reducer's panes on the output side, with what was released.
		s.gate.release(s)
		if s.red != nil {
			out = min(out, s.gate.minTs(), s.pendingMin())
		} else {
			in = min(in, s.gate.minTs())
		}
	}
	switch {
	case s.red != nil:
		// The reducer's input is its batches; the panes it fired wait as
		// bundles, on the output side with the reducer's holds.
		in = min(in, s.red.inputMin())
		out = min(out, s.red.hold, s.bundlesMin())
	case s.grouping == nil:
		in = min(in, s.inputMin())
	}
	if s.ks != nil {
		in = min(in, s.ks.inputMin())
		out = min(out, s.ks.hold())
	}
	s.iw = max(s.iw, in)
	if s.grouping != nil && !s.started && s.iw == window.MaxTime {
		s.startGroups()
	}
	out = min(s.iw, out)
	if s.grouping != nil && (!s.started || len(s.queue) > 0 || len(s.running) > 0) {
		// The groups carry timestamps of their windows, unknown until
		// read: hold the output watermark until all are processed.
		out = window.MinTime
	}
	s.ow = max(s.ow, out)
}

// inputMin returns the earliest timestamp of the elements pending, queued
// or running in the stage; j.mu is held.
func (s *stage) inputMin() window.Time {
	m := window.MaxTime
	for _, b := range s.pending {
		m = min(m, b.minTs)
	}
	for _, b := range s.queue {
		m = min(m, b.minTs)
	}
	for b := range s.running {
		m = min(m, b.minTs)
	}
	return m
}

// pendingMin returns the earliest timestamp of the pending elements; j.mu
// is held.
func (s *stage) pendingMin() window.Time {
	m := window.MaxTime
	for _, b := range s.pending {
		m = min(m, b.minTs)
	}
	return m
}

// bundlesMin returns the earliest timestamp of the stage's queued and
// running bundles; j.mu is held.
func (s *stage) bundlesMin() window.Time {
	m := window.MaxTime
	for _, b := range s.queue {
		m = min(m, b.minTs)
	}
	for b := range s.running {
		m = min(m, b.minTs)
	}
	return m
}

// startGroups queues one bundle per shuffle partition; j.mu is held.
func (s *stage) startGroups() {
	s.started = true
	input := groupedInput
	if s.st.Input.Kind == plan.InputKeyed {
		input = keyedInput
	}
	sh := s.grouping
	var b batchReduce
	if s.batch != nil {
		b = batchReduce{strategy: *s.batch, now: s.j.clock.now(), name: s.j.pl.Components.GetTransforms()[s.st.Input.Transform].GetUniqueName()}
	}
	for part := range sh.Parts() {
		stream := func(*metrics.Store) iter.Seq2[[]byte, error] { return input(sh, part, s.src) }
		if s.batch != nil {
			stream = func(m *metrics.Store) iter.Seq2[[]byte, error] { return b.input(sh, part, s.src, m) }
		}
		s.queue = append(s.queue, &bundleWork{minTs: window.MinTime, stream: stream})
	}
}

// sidesReady reports whether every element may run as far as the side
// inputs go, without being screened: they are complete, or in the global
// window and ready for it; j.mu is held.
func (s *stage) sidesReady() bool {
	return s.gate == nil || s.gate.open()
}

// runnable reports whether take may return a bundle; j.mu is held.
func (s *stage) runnable() bool {
	if s.ks != nil {
		return s.ks.runnable()
	}
	if len(s.pending) == 0 && s.firstReady() < 0 {
		return false
	}
	return s.sidesReady() || (s.gate.perElement() && s.grouping == nil)
}

// take returns the stage's next bundle and marks it running, or nil;
// j.mu is held. Pending elements are cut into bundles of about a
// 2×Parallelism-th of them (counted when the last batch arrived): enough
// to balance, few enough that per-bundle work (a precombine's flush)
// stays small; stragglers are split dynamically.
func (s *stage) take() *bundleWork {
	if !s.runnable() {
		return nil
	}
	if s.ks != nil {
		return s.takeKeyed()
	}
	if !s.sidesReady() {
		if !s.gate.perElement() {
			return nil
		}
		return s.takeScreened()
	}
	var b *bundleWork
	i := s.firstReady()
	if i >= 0 && len(s.pending) > 0 && s.pending[0].minTs < s.queue[i].minTs {
		// Input that holds the watermark further back goes first: the
		// partitions of an unbounded read not yet started would otherwise
		// wait behind the turns of those started, and hold the watermark
		// at the start until those ended.
		i = -1
	}
	if i == 0 {
		// The common case: no bundle waits for a resume time.
		b = s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
	} else if i > 0 {
		b = s.queue[i]
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
	} else {
		b = s.takePending(max(s.chunk, 1))
	}
	s.running[b] = struct{}{}
	return b
}

// takeScreened returns the stage's next bundle of elements whose side
// inputs are ready for their windows, pushing the others back, or nil;
// j.mu is held. Only plain bundles and pending elements in memory are
// screened: the rest (a checkpointed read's residual, a spilled segment)
// waits until the side inputs are complete.
func (s *stage) takeScreened() *bundleWork {
	for {
		var b *bundleWork
		i := s.firstReady()
		if i >= 0 && (!plainBundle(s.queue[i]) || (len(s.pending) > 0 && s.pending[0].minTs < s.queue[i].minTs)) {
			i = -1
		}
		switch {
		case i >= 0:
			b = s.queue[i]
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
		case len(s.pending) > 0 && s.pending[0].seg == nil:
			b = s.takePending(max(s.chunk, 1))
		default:
			return nil
		}
		s.gate.screen(s.j, s.src, b)
		if len(b.elems) > 0 {
			s.running[b] = struct{}{}
			return b
		}
	}
}

// addPending adds a committed batch to the stage's input; j.mu is held.
func (s *stage) addPending(b *batch) {
	s.pending = append(s.pending, b)
	s.pendingElems += b.len()
	ways := 2 * s.j.opts.Parallelism
	s.chunk = (s.pendingElems + ways - 1) / ways
}

// takePending moves about n pending elements into a new bundle. A spilled
// segment makes a bundle of its own, read when the bundle starts: so a
// bundle holds at most a segment in memory.
func (s *stage) takePending(n int) *bundleWork {
	b := &bundleWork{minTs: window.MaxTime}
	for len(s.pending) > 0 && len(b.elems) < n {
		p := s.pending[0]
		if p.seg != nil {
			if len(b.elems) == 0 {
				b.seg, b.minTs = p.seg, p.minTs
				s.pendingElems -= p.seg.count
				s.pending[0] = nil
				s.pending = s.pending[1:]
			}
			break
		}
		k := min(n-len(b.elems), len(p.elems))
		if k == len(p.elems) {
			b.elems = append(b.elems, p.elems...)
			b.bytes += p.bytes
			b.minTs = min(b.minTs, p.minTs)
			s.pending[0] = nil
			s.pending = s.pending[1:]
			continue
		}
		part := p.elems[:k:k]
		p.elems = p.elems[k:]
		var bytes int64
		for _, e := range part {
			bytes += int64(len(e))
		}
		p.bytes -= bytes
		b.elems = append(b.elems, part...)
		b.bytes += bytes
		b.minTs = min(b.minTs, elemsMin(part))
	}
	s.pendingElems -= len(b.elems)
	return b
}

// elemsMin returns the earliest timestamp of encoded windowed values.
func elemsMin(elems [][]byte) window.Time {
	m := window.MaxTime
	for _, e := range elems {
		m = min(m, timestampOf(e))
	}
	return m
}

// timestampOf reads the timestamp at the front of an encoded windowed
// value: eight big-endian bytes, the milliseconds with the sign bit
// flipped.
func timestampOf(wv []byte) window.Time {
	if len(wv) < 8 {
		return window.MinTime
	}
	return window.Time(binary.BigEndian.Uint64(wv) ^ (1 << 63))
}

// feedsData reports whether the stage's outputs wait as pending elements
// of data stages or as batches of reducers (a source outrunning its
// GroupByKey's reducer must be held back too); j.mu is held.
func (s *stage) feedsData() bool {
	for _, t := range s.sinks {
		if len(t.readers) > 0 || len(t.reducers) > 0 {
			return true
		}
	}
	return false
}

// getProc returns an idle processor or a new one.
func (s *stage) getProc() (Processor, error) {
	s.pmu.Lock()
	if n := len(s.idle); n > 0 {
		p := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.pmu.Unlock()
		return p, nil
	}
	s.pmu.Unlock()
	p, err := s.j.ex.NewProcessor(s.desc, s.wiring)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.label(), err)
	}
	s.pmu.Lock()
	s.procs = append(s.procs, p)
	s.pmu.Unlock()
	return p, nil
}

// putProc returns a processor whose bundle succeeded to the idle pool.
func (s *stage) putProc(p Processor) {
	s.pmu.Lock()
	s.idle = append(s.idle, p)
	s.pmu.Unlock()
}

// dropProc tears down a processor whose bundle failed.
func (s *stage) dropProc(ctx context.Context, p Processor) error {
	s.pmu.Lock()
	for i, q := range s.procs {
		if q == p {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			break
		}
	}
	s.pmu.Unlock()
	return p.Teardown(ctx)
}

// teardown tears down every processor of the stage and returns the first
// error.
func (s *stage) teardown(ctx context.Context) error {
	s.pmu.Lock()
	procs := s.procs
	s.procs, s.idle = nil, nil
	s.pmu.Unlock()
	var first error
	for _, p := range procs {
		if err := p.Teardown(ctx); err != nil && first == nil {
			first = fmt.Errorf("teardown of %s: %w", s.label(), err)
		}
	}
	return first
}
