package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// job is one run of a pipeline.
type job struct {
	opts Options
	pl   *plan.Plan
	ex   Executor
	dir  string

	// shuffles holds, per PCollection, the shuffles of the grouped stages
	// that read it; grouped maps a grouped stage to its shuffle.
	shuffles map[string][]*shuffle
	grouped  map[plan.StageID]*shuffle
	// datasets holds the elements of PCollections that data stages or side
	// inputs read.
	datasets map[string]*dataset

	stagesDone atomic.Int64
	elements   atomic.Int64

	// mu guards the fields below.
	mu                               sync.Mutex
	metrics                          metrics.Snapshot
	bundles, retries, splits, spills int
}

// dataset is the committed elements of one PCollection, each an encoded
// windowed value.
type dataset struct {
	// mu guards the fields below.
	mu    sync.Mutex
	elems [][]byte
	wire  *wire
	sides map[window.Window][]byte // materialized side input, per window
}

func newJob(opts Options, pl *plan.Plan, ex Executor, dir string) (*job, error) {
	j := &job{opts: opts, pl: pl, ex: ex, dir: dir,
		shuffles: map[string][]*shuffle{}, grouped: map[plan.StageID]*shuffle{}, datasets: map[string]*dataset{}}
	shuffleMemory := opts.ShuffleMemory
	if shuffleMemory <= 0 {
		shuffleMemory = opts.MemoryBudget / 2
	}
	for _, st := range pl.Stages {
		switch st.Input.Kind {
		case plan.InputGrouped, plan.InputKeyed:
			sh := newShuffle(4*opts.Parallelism, j.merging(st.Input.Target), dir, shuffleMemory, opts.Parallelism)
			j.grouped[st.ID] = sh
			for _, pc := range st.Input.PCollections {
				j.shuffles[pc] = append(j.shuffles[pc], sh)
			}
		case plan.InputData:
			for _, pc := range st.Input.PCollections {
				j.datasets[pc] = &dataset{}
			}
		}
		for _, si := range st.SideInputs {
			j.datasets[si.PCollection] = &dataset{}
		}
	}
	return j, nil
}

// merging reports whether PCollection pc's windows merge (sessions).
func (j *job) merging(pc string) bool {
	comps := j.pl.Components
	ws := comps.GetWindowingStrategies()[comps.GetPcollections()[pc].GetWindowingStrategyId()]
	return ws.GetMergeStatus().String() == "NEEDS_MERGE"
}

func (j *job) close() {
	for _, sh := range j.grouped {
		sh.close()
	}
}

func (j *job) result() *Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	res := &Result{Metrics: j.metrics, Stages: len(j.pl.Stages), Bundles: j.bundles, Retries: j.retries, Splits: j.splits}
	for _, sh := range j.grouped {
		res.Spills += sh.spills
	}
	return res
}

// stageRun is the execution of one stage.
type stageRun struct {
	j      *job
	st     *plan.Stage
	desc   *fnpb.ProcessBundleDescriptor
	wiring *plan.Wiring
	src    *wire
	sinks  map[string]*sinkTarget // by sink transform id

	// mu guards the fields below.
	mu      sync.Mutex
	queue   []*bundleWork
	running map[*bundleWork]*activeBundle
	err     error
	procs   []Processor
}

type sinkTarget struct {
	pc       string
	wire     *wire
	data     *dataset
	shuffles []*shuffle
}

// bundleWork is one bundle's input: either elements (retried with the
// primary restriction after a split) or a stream of groups.
type bundleWork struct {
	// mu guards elems.
	mu     sync.Mutex
	elems  [][]byte
	stream func() iter.Seq2[[]byte, error]
}

// activeBundle is a running bundle's splittable work.
type activeBundle struct {
	work     *bundleWork
	trackers map[*splitEntry]struct{}
}

type splitEntry struct {
	index int64
	t     operator.SplitTracker
}

func (b *bundleWork) input() iter.Seq2[[]byte, error] {
	if b.stream != nil {
		return b.stream()
	}
	b.mu.Lock()
	elems := append([][]byte(nil), b.elems...)
	b.mu.Unlock()
	return func(yield func([]byte, error) bool) {
		for _, e := range elems {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (j *job) runStage(ctx context.Context, idx int, st *plan.Stage) error {
	data, state := j.ex.Endpoints()
	desc, wiring, err := st.Descriptor(j.pl, fmt.Sprintf("stage-%d", idx), data, state)
	if err != nil {
		return fmt.Errorf("engine: stage %s: %w", st.ID, err)
	}
	src, err := portWire(desc.GetCoders(), wiring.Source.Coder)
	if err != nil {
		return fmt.Errorf("engine: stage %s: %w", st.ID, err)
	}
	sr := &stageRun{j: j, st: st, desc: desc, wiring: wiring, src: src, sinks: map[string]*sinkTarget{}, running: map[*bundleWork]*activeBundle{}}
	for _, port := range wiring.Sinks {
		w, err := portWire(desc.GetCoders(), port.Coder)
		if err != nil {
			return fmt.Errorf("engine: stage %s: %w", st.ID, err)
		}
		t := &sinkTarget{pc: port.PCollection, wire: w, data: j.datasets[port.PCollection], shuffles: j.shuffles[port.PCollection]}
		if t.data != nil {
			t.data.wire = w
		}
		if len(t.shuffles) > 0 && w.keySkip == nil {
			return fmt.Errorf("engine: stage %s: PCollection %s feeds a GroupByKey but its elements are not KVs", st.ID, port.PCollection)
		}
		sr.sinks[port.Transform] = t
	}
	if sr.queue, err = j.inputs(st, src); err != nil {
		return fmt.Errorf("engine: stage %s: %w", st.ID, err)
	}
	err = sr.run(ctx)
	for _, p := range sr.procs {
		if terr := p.Teardown(context.WithoutCancel(ctx)); terr != nil && err == nil {
			err = fmt.Errorf("engine: stage %s: teardown: %w", st.ID, terr)
		}
	}
	if sh := j.grouped[st.ID]; sh != nil {
		sh.close()
	}
	return err
}

// inputs returns the bundles of a stage.
func (j *job) inputs(st *plan.Stage, src *wire) ([]*bundleWork, error) {
	switch st.Input.Kind {
	case plan.InputImpulse:
		// The impulse element: empty bytes (nested: a zero length) in the global window.
		elem := src.wv.Encode(nil, window.InGlobalWindow([]byte{0}))
		return []*bundleWork{{elems: [][]byte{elem}}}, nil
	case plan.InputGrouped, plan.InputKeyed:
		sh := j.grouped[st.ID]
		input := groupedInput
		if st.Input.Kind == plan.InputKeyed {
			input = keyedInput
		}
		var out []*bundleWork
		for part := range sh.parts {
			out = append(out, &bundleWork{stream: func() iter.Seq2[[]byte, error] { return input(sh, part, src) }})
		}
		return out, nil
	case plan.InputData:
		var all [][]byte
		for _, pc := range st.Input.PCollections {
			d := j.datasets[pc]
			d.mu.Lock()
			all = append(all, d.elems...)
			d.mu.Unlock()
		}
		// Two bundles per worker: enough to balance, few enough that
		// per-bundle work (a precombine's flush) stays small; stragglers
		// are split dynamically.
		return splitElems(all, 2*j.opts.Parallelism), nil
	}
	return nil, fmt.Errorf("unknown input kind %v", st.Input.Kind)
}

// splitElems cuts elems into about n bundles of consecutive elements.
func splitElems(elems [][]byte, n int) []*bundleWork {
	if len(elems) == 0 {
		return nil
	}
	size := max((len(elems)+n-1)/n, 1)
	var out []*bundleWork
	for i := 0; i < len(elems); i += size {
		out = append(out, &bundleWork{elems: append([][]byte(nil), elems[i:min(i+size, len(elems))]...)})
	}
	return out
}

// groupedInput encodes the groups of one shuffle partition as
// KV<key, Iterable<value>> windowed values, in chunks.
func groupedInput(sh *shuffle, part int, src *wire) iter.Seq2[[]byte, error] {
	return shuffleInput(sh, part, src, false)
}

// keyedInput encodes the groups of one shuffle partition as their KV<key,
// value> elements again, group after group, in chunks.
func keyedInput(sh *shuffle, part int, src *wire) iter.Seq2[[]byte, error] {
	return shuffleInput(sh, part, src, true)
}

// shuffleInput encodes the groups of one shuffle partition, grouped or
// (ungroup) one element per value, as windowed values in the group's
// window at its end, in chunks of about 64 KiB.
func shuffleInput(sh *shuffle, part int, src *wire, ungroup bool) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		e := &chunkEncoder{src: src, ungroup: ungroup, yield: yield, wins: make([]window.Window, 1)}
		if err := sh.visitGroups(part, e); err != nil {
			if !e.stopped {
				yield(nil, err)
			}
			return
		}
		if !e.stopped && len(e.chunk) > 0 {
			yield(e.chunk, nil)
		}
	}
}

// chunkEncoder is a groupVisitor that encodes groups in place: a windowed
// value's element comes last, after its header, and a KV<key,
// Iterable<value>> is the key, the value count and the values, so each
// value is copied once, into the chunk, even in a group larger than
// memory would hold twice.
type chunkEncoder struct {
	src     *wire
	ungroup bool
	yield   func([]byte, error) bool
	// stopped is set when yield returned false.
	stopped bool

	chunk  []byte
	wins   []window.Window
	header window.Value[[]byte]
	key    []byte
	// count is the current group's values so far; countAt is where its
	// count goes in chunk.
	count   uint32
	countAt int
}

func (e *chunkEncoder) startGroup(key []byte, win window.Window) {
	e.wins[0] = win
	e.header = window.Value[[]byte]{Timestamp: win.MaxTimestamp(), Windows: e.wins, Pane: window.OnTimePane()}
	e.key = key
	if !e.ungroup {
		e.chunk = append(e.src.wv.Encode(e.chunk, e.header), key...)
		e.countAt, e.count = len(e.chunk), 0
		e.chunk = binary.BigEndian.AppendUint32(e.chunk, 0)
	}
}

func (e *chunkEncoder) addValue(_ window.Window, val []byte) {
	if !e.ungroup {
		e.chunk = append(e.chunk, val...)
		e.count++
		return
	}
	e.chunk = append(append(e.src.wv.Encode(e.chunk, e.header), e.key...), val...)
	if !e.stopped {
		e.flush()
	}
}

func (e *chunkEncoder) endGroup() bool {
	if !e.ungroup {
		binary.BigEndian.PutUint32(e.chunk[e.countAt:], e.count)
		e.flush()
	}
	return !e.stopped
}

// flush yields the chunk once it holds 64 KiB.
func (e *chunkEncoder) flush() {
	if len(e.chunk) < 64<<10 || e.stopped {
		return
	}
	if !e.yield(e.chunk, nil) {
		e.stopped = true
	}
	if cap(e.chunk) > maxKeptBuffer {
		e.chunk = nil
	}
	e.chunk = e.chunk[:0]
}

// run executes the stage's bundles on Parallelism workers.
func (sr *stageRun) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range sr.j.opts.Parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var proc Processor
			for {
				b := sr.next(ctx)
				if b == nil {
					return
				}
				var err error
				proc, err = sr.runWithRetries(ctx, proc, b)
				sr.finished(b)
				if err != nil {
					sr.fail(err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.err != nil {
		return sr.err
	}
	return ctx.Err()
}

func (sr *stageRun) fail(err error) {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.err == nil {
		sr.err = err
	}
}

// next returns the next bundle to run: a queued one, or the residual of a
// dynamic split of the running bundle with the most remaining work; nil when
// the stage is done or failed.
func (sr *stageRun) next(ctx context.Context) *bundleWork {
	for {
		if ctx.Err() != nil {
			return nil
		}
		sr.mu.Lock()
		if len(sr.queue) > 0 {
			b := sr.queue[0]
			sr.queue = sr.queue[1:]
			sr.running[b] = &activeBundle{work: b, trackers: map[*splitEntry]struct{}{}}
			sr.mu.Unlock()
			return b
		}
		if len(sr.running) == 0 {
			sr.mu.Unlock()
			return nil
		}
		sr.mu.Unlock()
		if b := sr.trySplit(); b != nil {
			sr.mu.Lock()
			sr.running[b] = &activeBundle{work: b, trackers: map[*splitEntry]struct{}{}}
			sr.mu.Unlock()
			return b
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (sr *stageRun) finished(b *bundleWork) {
	sr.mu.Lock()
	delete(sr.running, b)
	sr.mu.Unlock()
}

// trySplit splits the running read with the most remaining work in half.
func (sr *stageRun) trySplit() *bundleWork {
	if sr.j.opts.DisableDynamicSplitting {
		return nil
	}
	sr.mu.Lock()
	var best *splitEntry
	var bestWork *bundleWork
	var bestRemaining float64
	for w, a := range sr.running {
		for e := range a.trackers {
			if _, rem := e.t.Progress(); rem > bestRemaining {
				best, bestWork, bestRemaining = e, w, rem
			}
		}
	}
	sr.mu.Unlock()
	if best == nil {
		return nil
	}
	// Hold the bundle's input while splitting, so that a retry starting
	// meanwhile reads the primary, not the whole.
	bestWork.mu.Lock()
	var residual [][]byte
	if bs, ok := best.t.(BundleSplitter); ok {
		residual, ok = bestWork.applySplit(bs)
		if !ok {
			bestWork.mu.Unlock()
			return nil
		}
	} else {
		primary, res, ok := best.t.TrySplit(0.5)
		if !ok {
			bestWork.mu.Unlock()
			return nil
		}
		if best.index < int64(len(bestWork.elems)) {
			bestWork.elems[best.index] = primary
		}
		residual = [][]byte{res}
	}
	bestWork.mu.Unlock()
	if len(residual) == 0 {
		return nil
	}
	sr.j.mu.Lock()
	sr.j.splits++
	sr.j.mu.Unlock()
	return &bundleWork{elems: residual}
}

// BundleSplit is the split of a running bundle by a processor that splits
// its bundles itself (a worker over the Fn API), in terms of the bundle's
// input elements as the attempt received them: elements from
// FirstResidual on belong to the residual; if Split is at least 0, element
// Split was itself split, Primary (one or more encoded elements,
// concatenated) replaces it and Residual holds the elements that precede
// the residual input.
type BundleSplit struct {
	FirstResidual int64
	Split         int64
	Primary       []byte
	Residual      [][]byte
}

// BundleSplitter is a SplitTracker registered by a processor (with index
// -1) that splits its whole running bundle: TrySplitBundle asks it to keep
// about fractionOfRemainder of the remaining work of a bundle of elements
// input elements.
type BundleSplitter interface {
	operator.SplitTracker
	TrySplitBundle(fractionOfRemainder float64, elements int64) (BundleSplit, bool)
}

// applySplit splits b through bs, making b's elements the primary's, and
// returns the residual's; b.mu is held.
func (b *bundleWork) applySplit(bs BundleSplitter) ([][]byte, bool) {
	sp, ok := bs.TrySplitBundle(0.5, int64(len(b.elems)))
	if !ok || sp.FirstResidual < 0 || sp.FirstResidual > int64(len(b.elems)) || sp.Split >= sp.FirstResidual {
		return nil, false
	}
	residual := append(sp.Residual, b.elems[sp.FirstResidual:]...)
	if sp.Split >= 0 {
		b.elems[sp.Split] = sp.Primary
	}
	b.elems = b.elems[:sp.FirstResidual:sp.FirstResidual]
	return residual, true
}

// register records splittable work of a running bundle.
func (sr *stageRun) register(b *bundleWork, index int64, t operator.SplitTracker) func() {
	if b.stream != nil {
		return func() {}
	}
	e := &splitEntry{index: index, t: t}
	sr.mu.Lock()
	a := sr.running[b]
	if a != nil {
		a.trackers[e] = struct{}{}
	}
	sr.mu.Unlock()
	return func() {
		sr.mu.Lock()
		if a != nil {
			delete(a.trackers, e)
		}
		sr.mu.Unlock()
	}
}

// runWithRetries runs a bundle until it succeeds or MaxAttempts fail. A
// failed attempt tears its processor down; the next attempt gets a new one.
func (sr *stageRun) runWithRetries(ctx context.Context, proc Processor, b *bundleWork) (Processor, error) {
	var err error
	for attempt := 1; attempt <= sr.j.opts.MaxAttempts; attempt++ {
		if proc == nil {
			if proc, err = sr.j.ex.NewProcessor(sr.desc, sr.wiring); err != nil {
				return nil, fmt.Errorf("engine: stage %s: %w", sr.st.ID, err)
			}
			sr.mu.Lock()
			sr.procs = append(sr.procs, proc)
			sr.mu.Unlock()
		}
		if err = sr.attempt(ctx, proc, b); err == nil {
			return proc, nil
		}
		if terr := proc.Teardown(context.WithoutCancel(ctx)); terr != nil {
			err = fmt.Errorf("%w (and teardown: %v)", err, terr)
		}
		sr.mu.Lock()
		for i, p := range sr.procs {
			if p == proc {
				sr.procs = append(sr.procs[:i], sr.procs[i+1:]...)
				break
			}
		}
		sr.mu.Unlock()
		proc = nil
		if ctx.Err() != nil {
			return nil, err
		}
		if attempt < sr.j.opts.MaxAttempts {
			sr.j.mu.Lock()
			sr.j.retries++
			sr.j.mu.Unlock()
		}
	}
	return nil, fmt.Errorf("engine: stage %s: bundle failed %d times: %w", sr.st.ID, sr.j.opts.MaxAttempts, err)
}

// attempt runs one attempt of a bundle, committing its outputs and metrics
// only if it succeeds.
func (sr *stageRun) attempt(ctx context.Context, proc Processor, b *bundleWork) error {
	outs := map[string]*bundleOutput{}
	for id, t := range sr.sinks {
		o := &bundleOutput{t: t}
		for _, sh := range t.shuffles {
			o.writers = append(o.writers, sh.newWriter())
		}
		outs[id] = o
	}
	store := metrics.NewStore()
	err := proc.Process(ctx, Bundle{
		Inputs: map[string]iter.Seq2[[]byte, error]{sr.wiring.Source.Transform: b.input()},
		Output: func(id string) func([]byte) error {
			o := outs[id]
			if o == nil {
				return func([]byte) error { return nil }
			}
			return o.write
		},
		SideInputs: &sideInputs{j: sr.j, st: sr.st},
		Metrics:    store,
		Splits: func(index int64, t operator.SplitTracker) func() {
			return sr.register(b, index, t)
		},
	})
	var n int64
	for _, c := range proc.Elements() {
		n += c
	}

	if err != nil {
		for _, o := range outs {
			o.abort()
		}
		return err
	}
	for _, o := range outs {
		if err := o.commit(); err != nil {
			return err
		}
	}
	if rr, ok := proc.(ResidualReporter); ok {
		if res := rr.Residuals(); len(res) > 0 {
			sr.mu.Lock()
			sr.queue = append(sr.queue, &bundleWork{elems: res})
			sr.mu.Unlock()
		}
	}
	sr.j.elements.Add(n)
	snap := store.Snapshot()
	if r, ok := proc.(MetricsReporter); ok {
		snap.Merge(r.BundleMetrics())
	}
	sr.j.mu.Lock()
	sr.j.metrics.Merge(snap)
	sr.j.bundles++
	sr.j.mu.Unlock()
	return nil
}

// bundleOutput buffers one sink's output of a bundle attempt.
type bundleOutput struct {
	t       *sinkTarget
	elems   [][]byte
	arena   []byte
	writers []*shuffleWriter
}

func (o *bundleOutput) write(b []byte) error {
	if o.t.data != nil {
		start := len(o.arena)
		o.arena = append(o.arena, b...)
		o.elems = append(o.elems, o.arena[start:len(o.arena):len(o.arena)])
	}
	if len(o.writers) == 0 {
		return nil
	}
	v, _, err := o.t.wire.wv.Decode(b)
	if err != nil {
		return fmt.Errorf("engine: shuffle input of %s: %w", o.t.pc, err)
	}
	k, err := o.t.wire.keySkip(v.Elem)
	if err != nil {
		return fmt.Errorf("engine: shuffle key of %s: %w", o.t.pc, err)
	}
	for _, w := range o.writers {
		if err := w.add(v.Elem[:k], v.Windows, v.Elem[k:]); err != nil {
			return err
		}
	}
	return nil
}

func (o *bundleOutput) commit() error {
	if o.t.data != nil && len(o.elems) > 0 {
		o.t.data.mu.Lock()
		o.t.data.elems = append(o.t.data.elems, o.elems...)
		o.t.data.mu.Unlock()
	}
	for _, w := range o.writers {
		if err := w.commit(); err != nil {
			return err
		}
	}
	return nil
}

func (o *bundleOutput) abort() {
	for _, w := range o.writers {
		w.abort()
	}
}

// sideInputs serves a stage's side inputs from the datasets of earlier stages.
type sideInputs struct {
	j  *job
	st *plan.Stage
}

// SideInput implements SideInputData.
func (s *sideInputs) SideInput(_ context.Context, transformID, local string, w window.Window) ([]byte, error) {
	for _, si := range s.st.SideInputs {
		if si.Transform != transformID || si.Local != local {
			continue
		}
		d := s.j.datasets[si.PCollection]
		if d == nil {
			return nil, fmt.Errorf("engine: side input %s of %s has no data", local, transformID)
		}
		return d.sideInput(w)
	}
	return nil, fmt.Errorf("engine: stage %s has no side input %s of transform %s", s.st.ID, local, transformID)
}

// sideInput returns the concatenated element encodings of d in window w,
// materializing all windows on first use.
func (d *dataset) sideInput(w window.Window) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sides == nil {
		d.sides = map[window.Window][]byte{}
		if d.wire == nil && len(d.elems) > 0 {
			return nil, fmt.Errorf("engine: side input data has no wire format")
		}
		for _, e := range d.elems {
			v, _, err := d.wire.wv.Decode(e)
			if err != nil {
				return nil, err
			}
			for _, win := range v.Windows {
				d.sides[win] = append(d.sides[win], v.Elem...)
			}
		}
	}
	return d.sides[w], nil
}

// reportProgress calls Options.Progress about once a second until stopped.
func (j *job) reportProgress(start time.Time) (stop func()) {
	if j.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				j.opts.Progress(Progress{StagesDone: int(j.stagesDone.Load()), Stages: len(j.pl.Stages), Elements: j.elements.Load(), Elapsed: time.Since(start)})
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

var _ SideInputData = (*sideInputs)(nil)
