package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/shuffle"
)

// bundleWork is one bundle's input: either elements (retried with the
// primary restriction after a split) or a stream of groups.
type bundleWork struct {
	// minTs is the earliest timestamp of the elements (MinTime when
	// unknown); bytes their size. Both are fixed when the bundle is made,
	// but for a queued bundle that residuals join (stage.joinable), whose
	// minTs takes their holds too.
	minTs window.Time
	bytes int64
	// notBefore, when set, is the wall-clock time before which the bundle
	// may not start: the resume time of a checkpointed read.
	notBefore time.Time
	// checkpoint marks the rest of a checkpointed element's work, which a
	// drain drops.
	checkpoint bool
	// mu guards elems and trackers.
	mu    sync.Mutex
	elems [][]byte
	// stream, when set, makes the input of an attempt, counting into
	// the attempt's metrics (committed with it).
	stream   func(m *metrics.Store) iter.Seq2[[]byte, error]
	trackers map[*splitEntry]struct{}
	// seg, when set, is a spilled segment of output the bundle's elements
	// are read from before its first attempt (loadSegment).
	seg *segment
	// keyed is set for the bundles of a keyed stage.
	keyed *keyedWork
}

type splitEntry struct {
	index int64
	t     operator.SplitTracker
}

func (b *bundleWork) input(m *metrics.Store) iter.Seq2[[]byte, error] {
	if b.stream != nil {
		return b.stream(m)
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

// sinkTarget is where one output PCollection of a stage goes.
type sinkTarget struct {
	pc   string
	wire *wire
	// readers are the data stages reading pc, once per read.
	readers []*stage
	// reducers are the grouped stages that group pc with a reducer.
	reducers []*stage
	// shuffles group pc for grouped and keyed stages; stamped[i] says
	// whether shuffles[i]'s values carry their timestamps and windows
	// (stampValue).
	shuffles []*shuffle.Shuffle
	stamped  []bool
	// side collects pc for the stages reading it as a side input.
	side *dataset
	// spillable says whether a bundle's output of pc may go to disk past
	// its share of the budget (spill.go): it is read by data stages only.
	spillable bool
	// stats are guarded by j.mu.
	stats edgeStats
}

// runBundle runs a bundle until it succeeds or MaxAttempts fail, and
// commits it. A failed attempt tears its processor down; the next attempt
// gets a new one.
func (s *stage) runBundle(ctx context.Context, b *bundleWork) error {
	err := b.loadSegment()
	if err != nil {
		return fmt.Errorf("bundle of %s: %w", s.label(), err)
	}
	for attempt := 1; attempt <= s.j.opts.MaxAttempts; attempt++ {
		var proc Processor
		if proc, err = s.getProc(); err != nil {
			return err
		}
		var out *attemptOutput
		if out, err = s.attempt(ctx, proc, b); err == nil {
			s.putProc(proc)
			if err := s.commit(b, out); err != nil {
				return err
			}
			s.finalize(ctx, out.finalizers)
			return nil
		}
		if terr := s.dropProc(context.WithoutCancel(ctx), proc); terr != nil {
			err = fmt.Errorf("%w (and teardown: %v)", err, terr)
		}
		if ctx.Err() != nil {
			return err
		}
		if permanent(err) {
			return fmt.Errorf("bundle of %s failed with a permanent error, not retried: %w", s.label(), err)
		}
		s.j.mu.Lock()
		if attempt < s.j.opts.MaxAttempts {
			s.j.retries++
			s.stats.retries++
		} else {
			s.stats.failed++
		}
		s.j.mu.Unlock()
	}
	return fmt.Errorf("bundle of %s failed %d times: %w", s.label(), s.j.opts.MaxAttempts, err)
}

// permanent reports whether err says that retrying cannot help: user code
// marked it so (sdk.Permanent), which errors.As finds by its method, so
// that the engine needs no user SDK to honour it.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// attemptOutput is what a successful attempt produced, not yet committed.
type attemptOutput struct {
	outs       map[string]*bundleOutput
	residuals  []operator.Checkpoint
	finalizers []func(context.Context) error
	metrics    metrics.Snapshot
	elements   int64
}

// attempt runs one attempt of a bundle; its outputs are kept apart until
// commit, and dropped if it fails.
func (s *stage) attempt(ctx context.Context, proc Processor, b *bundleWork) (*attemptOutput, error) {
	outs := map[string]*bundleOutput{}
	for id, t := range s.sinks {
		o := &bundleOutput{t: t, minTs: window.MaxTime, segMin: window.MaxTime}
		if t.spillable {
			o.dir, o.spillAt = s.j.dir, s.j.spillShare()
		}
		for _, sh := range t.shuffles {
			o.writers = append(o.writers, sh.NewWriter())
		}
		if len(t.reducers) > 0 {
			o.red = newReduceOutput()
		}
		if t.side != nil {
			o.side = t.side.newWriter(s.j.spillShare())
		}
		outs[id] = o
	}
	metrics := metrics.NewStore()
	var (
		mu         sync.Mutex
		residuals  []operator.Checkpoint
		finalizers []func(context.Context) error
	)
	bundle := Bundle{
		Inputs: map[string]iter.Seq2[[]byte, error]{s.wiring.Source.Transform: b.input(metrics)},
		Output: func(id string) func([]byte) error {
			o := outs[id]
			if o == nil {
				return func([]byte) error { return nil }
			}
			return o.write
		},
		OutputValue: func(id string) func([]byte, window.Value[[]byte]) error {
			if o := outs[id]; o != nil && o.side == nil {
				return o.writeValue
			}
			return nil
		},
		SideInputs: &sideInputs{j: s.j, st: s.st},
		Metrics:    metrics,
		Splits: func(index int64, t operator.SplitTracker) func() {
			return s.j.register(b, index, t)
		},
		Checkpoint: func(c operator.Checkpoint) {
			mu.Lock()
			residuals = append(residuals, c)
			mu.Unlock()
		},
		Finalize: func(f func(context.Context) error) {
			mu.Lock()
			finalizers = append(finalizers, f)
			mu.Unlock()
		},
	}
	if s.ks != nil {
		s.ks.begin(b, &bundle)
	}
	err := proc.Process(ctx, bundle)
	if err != nil {
		for _, o := range outs {
			o.abort()
		}
		if s.ks != nil {
			s.ks.abort(b)
		}
		return nil, err
	}
	mu.Lock()
	res := &attemptOutput{outs: outs, metrics: metrics.Snapshot(), residuals: residuals, finalizers: finalizers}
	mu.Unlock()
	for _, c := range proc.Elements() {
		res.elements += c
	}
	if r, ok := proc.(MetricsReporter); ok {
		res.metrics.Merge(r.BundleMetrics())
	}
	return res, nil
}

// commit makes a successful attempt's effects visible, in the order that
// keeps every watermark behind the data in flight: the shuffle writes
// first (read only once the grouped stage's input watermark is at the
// end, which this running bundle holds back), then under the job's lock
// a keyed stage's state and timers commit, the outputs become their
// readers' pending input, the residuals are
// queued, the bundle's input is removed, and the watermarks recomputed.
func (s *stage) commit(b *bundleWork, out *attemptOutput) error {
	for _, o := range out.outs {
		for _, w := range o.writers {
			if err := w.Commit(); err != nil {
				return err
			}
		}
		if o.side != nil {
			if err := o.side.seal(); err != nil {
				return err
			}
		}
	}
	j := s.j
	j.elements.Add(out.elements)
	j.mu.Lock()
	defer j.mu.Unlock()
	if s.ks != nil {
		// Under the job's lock, with the delivery of the outputs: the
		// timers the bundle fired hold the stage's output watermark
		// until their outputs are pending downstream. Committed before
		// the lock, a concurrent refresh could release the hold first
		// and let a downstream GroupByKey drop the outputs as late.
		if err := s.ks.commit(b); err != nil {
			return err
		}
	}
	for _, o := range out.outs {
		o.deliver(j)
	}
	s.queueResiduals(b, out.residuals)
	delete(s.running, b)
	if s.ks != nil {
		s.ks.release(b)
	}
	if b.stream == nil {
		j.buffered -= b.bytes
	}
	j.metrics.Merge(out.metrics)
	j.bundles++
	s.stats.bundles++
	s.stats.elements += out.elements
	j.refresh()
	return nil
}

// bundleOutput buffers one sink's output of a bundle attempt.
type bundleOutput struct {
	t     *sinkTarget
	elems [][]byte
	// arena is the chunk elems are copied into; full the chunks filled
	// before it; kept the bytes in them all.
	arena   []byte
	full    [][]byte
	kept    int64
	minTs   window.Time
	writers []*shuffle.Writer
	// stamp is the scratch value a stamped shuffle's record is built in.
	stamp []byte
	// wins is the scratch the windows of an element are decoded into:
	// the shuffle writers, reducer and side input copy what they keep.
	wins []window.Window
	red  *reduceOutput
	// side sorts the output by window for the stages reading it as a
	// side input (side.go).
	side *sideWriter
	// count and bytes are what the attempt wrote, for edgeStats.
	count, bytes int64
	// spillAt, when positive, is the size of arena past which the
	// elements go to a new segment file in dir (spill.go); segs are the
	// segments written, segMin the earliest timestamp in arena.
	spillAt int64
	dir     string
	segs    []*segment
	segMin  window.Time
}

func (o *bundleOutput) write(b []byte) error {
	if err := o.account(b); err != nil {
		return err
	}
	if len(o.writers) == 0 && o.red == nil && o.side == nil {
		return nil
	}
	v, _, err := o.t.wire.wvr.DecodeReusing(b, o.wins)
	if err != nil {
		return fmt.Errorf("engine: shuffle input of %s: %w", o.t.pc, err)
	}
	o.wins = v.Windows
	if o.side != nil {
		if err := o.side.add(v); err != nil {
			return err
		}
		if len(o.writers) == 0 && o.red == nil {
			return nil
		}
	}
	return o.route(v)
}

// writeValue is write for an element whose header the executor hands over
// decoded (Bundle.OutputValue): an in-process producer's, which need not
// be decoded again. Outputs that feed a side input, which are not on a hot
// path, keep to write.
func (o *bundleOutput) writeValue(b []byte, v window.Value[[]byte]) error {
	if err := o.account(b); err != nil {
		return err
	}
	if len(o.writers) == 0 && o.red == nil {
		return nil
	}
	return o.route(v)
}

// account counts the encoded element b and keeps it for the stages that
// read the output as pending elements.
func (o *bundleOutput) account(b []byte) error {
	o.count++
	o.bytes += int64(len(b))
	if len(o.t.readers) > 0 || (o.side != nil && o.t.side.keepElems && !o.t.side.latest) {
		o.elems = append(o.elems, o.keep(b))
		ts := timestampOf(b)
		o.minTs, o.segMin = min(o.minTs, ts), min(o.segMin, ts)
		if o.spillAt > 0 && o.kept >= o.spillAt {
			return o.spill()
		}
	}
	return nil
}

// route hands the decoded element v to the output's reducers and shuffles.
func (o *bundleOutput) route(v window.Value[[]byte]) error {
	k, err := o.t.wire.keySkip(v.Elem)
	if err != nil {
		return fmt.Errorf("engine: shuffle key of %s: %w", o.t.pc, err)
	}
	if o.red != nil {
		o.red.add(v, k)
	}
	for i, w := range o.writers {
		val, wins := v.Elem[k:], v.Windows
		if o.t.stamped[i] {
			if len(wins) == 0 {
				continue
			}
			o.stamp = stampValue(o.stamp[:0], v.Timestamp, v.Windows, val)
			val, wins = o.stamp, stampedWins
		}
		if err := w.Add(v.Elem[:k], wins, val); err != nil {
			return err
		}
	}
	return nil
}

// Arena chunks start small, for the many bundles with little output, and
// double up to maxArenaChunk.
const (
	minArenaChunk = 4 << 10
	maxArenaChunk = 1 << 20
)

// keep copies b into the output's arena and returns the copy. The arena
// is a list of chunks, not one slice grown by append: the elements kept
// point into it, so every outgrown backing array would stay alive with
// them (about three times the output in all).
func (o *bundleOutput) keep(b []byte) []byte {
	if cap(o.arena)-len(o.arena) < len(b) {
		next := minArenaChunk
		if c := cap(o.arena); c > 0 {
			o.full = append(o.full, o.arena)
			next = min(2*c, maxArenaChunk)
		}
		o.arena = make([]byte, 0, max(next, len(b)))
	}
	start := len(o.arena)
	o.arena = append(o.arena, b...)
	o.kept += int64(len(b))
	return o.arena[start:len(o.arena):len(o.arena)]
}

// deliver hands the output to the stages that read it; j.mu is held.
func (o *bundleOutput) deliver(j *job) {
	o.t.stats.elements += o.count
	o.t.stats.bytes += o.bytes
	o.deliverReduce(j)
	o.deliverSegments()
	if o.side != nil {
		o.side.commit()
		o.t.side.keep(o.elems)
	}
	if len(o.elems) == 0 || len(o.t.readers) == 0 {
		return
	}
	bytes := o.kept
	for _, r := range o.t.readers {
		r.addPending(&batch{elems: o.elems, bytes: bytes, minTs: o.minTs})
		j.buffered += bytes
	}
}

func (o *bundleOutput) abort() {
	o.removeSegments()
	for _, w := range o.writers {
		w.Abort()
	}
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

// register records splittable work of a running bundle, and wakes a
// waiting worker to split it.
func (j *job) register(b *bundleWork, index int64, t operator.SplitTracker) func() {
	if b.stream != nil || b.keyed != nil || j.opts.DisableDynamicSplitting {
		// A keyed bundle owns its keys and fires timers: it is never
		// split (reference §8, Prism #35771).
		return func() {}
	}
	e := &splitEntry{index: index, t: t}
	b.mu.Lock()
	if b.trackers == nil {
		b.trackers = map[*splitEntry]struct{}{}
	}
	b.trackers[e] = struct{}{}
	b.mu.Unlock()
	j.trackers.Add(1)
	if j.waiting.Load() > 0 {
		j.broadcast()
	}
	return func() {
		b.mu.Lock()
		delete(b.trackers, e)
		b.mu.Unlock()
		j.trackers.Add(-1)
	}
}

// splitBackoff is how long idle workers wait after a split attempt found
// nothing to split before they try again: a running read's progress is
// not an event the engine is told about.
const splitBackoff = 2 * time.Millisecond

// canSplit reports whether an idle worker should try to split a running
// bundle now, arming a wake-up for when it may if it is too early; j.mu
// is held.
func (j *job) canSplit() bool {
	if j.opts.DisableDynamicSplitting || j.splitting || j.trackers.Load() == 0 {
		return false
	}
	if wait := time.Until(j.splitAfter); wait > 0 {
		if !j.splitWake {
			j.splitWake = true
			time.AfterFunc(wait, func() {
				j.mu.Lock()
				j.splitWake = false
				j.cond.Broadcast()
				j.mu.Unlock()
			})
		}
		return false
	}
	return true
}

// trySplit splits the running read with the most remaining work in half and
// queues the residual as a bundle of its stage.
func (j *job) trySplit() {
	ok := j.splitOnce()
	j.mu.Lock()
	j.splitting = false
	if !ok {
		j.splitAfter = time.Now().Add(splitBackoff)
	}
	j.mu.Unlock()
}

func (j *job) splitOnce() bool {
	s, bw, best := j.splitCandidate()
	if best == nil {
		return false
	}
	// Hold the bundle's input while splitting, so that a retry starting
	// meanwhile reads the primary, not the whole.
	bw.mu.Lock()
	var residual [][]byte
	if bs, ok := best.t.(BundleSplitter); ok {
		residual, ok = bw.applySplit(bs)
		if !ok {
			bw.mu.Unlock()
			return false
		}
	} else {
		primary, res, ok := best.t.TrySplit(0.5)
		if !ok {
			bw.mu.Unlock()
			return false
		}
		if best.index < int64(len(bw.elems)) {
			bw.elems[best.index] = primary
		}
		residual = [][]byte{res}
	}
	bw.mu.Unlock()
	if len(residual) == 0 {
		return false
	}
	j.mu.Lock()
	j.splits++
	s.queue = append(s.queue, &bundleWork{elems: residual, minTs: bw.minTs})
	j.cond.Broadcast()
	j.mu.Unlock()
	return true
}

// splitCandidate returns the running splittable read with the most
// remaining work, with its bundle and stage.
func (j *job) splitCandidate() (*stage, *bundleWork, *splitEntry) {
	j.mu.Lock()
	type run struct {
		s *stage
		b *bundleWork
	}
	var runs []run
	for _, s := range j.stages {
		for b := range s.running {
			runs = append(runs, run{s, b})
		}
	}
	j.mu.Unlock()
	var (
		bestStage *stage
		bestWork  *bundleWork
		best      *splitEntry
		remaining float64
	)
	for _, r := range runs {
		r.b.mu.Lock()
		for e := range r.b.trackers {
			if _, rem := e.t.Progress(); rem > remaining {
				bestStage, bestWork, best, remaining = r.s, r.b, e, rem
			}
		}
		r.b.mu.Unlock()
	}
	return bestStage, bestWork, best
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
