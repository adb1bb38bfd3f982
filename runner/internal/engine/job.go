package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/internal/shuffle"
)

// job is one run of a pipeline: its stages, the data between them and the
// scheduler state.
type job struct {
	opts Options
	pl   *plan.Plan
	ex   Executor
	dir  string

	// reducings counts the streaming GroupByKeys (set as the stages are
	// made), which share the memory for buffered values (spillAbove).
	reducings int

	// stateBytes is the streaming GroupByKeys' memory, toldState what
	// Options.StateBytes was last told (see noteStateBytes).
	stateBytes, toldState atomic.Int64

	// stages are in plan (topological) order.
	stages []*stage
	// datasets holds the elements of PCollections read as side inputs.
	datasets map[string]*dataset
	// stream is the job's TestStream, or nil.
	stream *testStream
	clock  *clock
	// observe, when set (by tests), is called after every watermark
	// refresh, with j.mu held.
	observe func(*job)

	stagesDone atomic.Int64
	elements   atomic.Int64
	// trackers counts the splittable reads registered by running bundles.
	trackers atomic.Int64
	// waiting counts workers blocked in cond.Wait, so that a new tracker
	// wakes one only when one waits.
	waiting atomic.Int64

	// mu guards the fields below and every stage's scheduling state.
	mu   sync.Mutex
	cond *sync.Cond
	// inflight counts the bundles and split attempts running.
	inflight int
	err      error
	done     bool
	// buffered is the bytes of elements pending in data stages.
	buffered int64
	// splitting is set while a worker tries to split a running bundle;
	// splitAfter is when the next attempt may start after one failed, and
	// splitWake is set while a wake-up for then is armed.
	splitting  bool
	splitAfter time.Time
	splitWake  bool
	metrics    metrics.Snapshot
	bundles    int
	retries    int
	splits     int
	// draining is set once Options.Drain closed; truncated counts the
	// checkpointed residuals it dropped.
	draining  bool
	truncated int
	// resumeWake, when set, wakes the workers at resumeAt, the resume
	// time of the earliest delayed bundle.
	resumeWake *time.Timer
	resumeAt   time.Time
	// ckpt writes durable checkpoints (Options.Checkpoint), or is nil.
	ckpt *checkpointer
}

func newJob(opts Options, pl *plan.Plan, ex Executor, dir string, start time.Time) (*job, error) {
	j := &job{opts: opts, pl: pl, ex: ex, dir: dir, datasets: map[string]*dataset{}, clock: newClock(start)}
	j.cond = sync.NewCond(&j.mu)
	for _, st := range pl.Stages {
		for _, si := range st.SideInputs {
			j.datasets[si.PCollection] = &dataset{keepElems: opts.Checkpoint != nil, latest: latestFiring(pl.Components, si.PCollection), dir: dir, memShare: j.spillShare()}
		}
	}
	producer := map[string]*stage{}
	var err error
	for i, st := range pl.Stages {
		s, err := newStage(j, i, st, producer)
		if err != nil {
			closeKeyed(j.stages)
			return nil, fmt.Errorf("engine: %s: %w", (&stage{j: j, st: st}).label(), err)
		}
		j.stages = append(j.stages, s)
		for _, pc := range st.Outputs {
			producer[pc] = s
		}
	}
	if err := j.wireSinks(); err != nil {
		closeKeyed(j.stages)
		return nil, err
	}
	if opts.Checkpoint != nil {
		if j.ckpt, err = newCheckpointer(*opts.Checkpoint); err != nil {
			return nil, err
		}
		if err := j.restoreLatest(); err != nil {
			return nil, err
		}
	}
	j.mu.Lock()
	j.refresh()
	j.mu.Unlock()
	return j, nil
}

// wireSinks connects every stage output to the stages that read it.
func (j *job) wireSinks() error {
	readers := map[string][]*stage{}
	reducers := map[string][]*stage{}
	grouped := map[string][]*shuffle.Shuffle{}
	stamped := map[string][]bool{}
	for _, s := range j.stages {
		for _, pc := range s.st.Input.PCollections {
			switch {
			case s.red != nil:
				reducers[pc] = append(reducers[pc], s)
			case s.grouping != nil:
				grouped[pc] = append(grouped[pc], s.grouping)
				stamped[pc] = append(stamped[pc], s.batch != nil)
			case s.st.Input.Kind == plan.InputData, s.ks != nil:
				readers[pc] = append(readers[pc], s)
			}
		}
	}
	for _, s := range j.stages {
		for _, t := range s.sinks {
			t.readers, t.reducers, t.shuffles, t.side = readers[t.pc], reducers[t.pc], grouped[t.pc], j.datasets[t.pc]
			t.stamped = stamped[t.pc]
			if t.side != nil {
				t.side.wire = t.wire
			}
			t.spillable = j.spillable(t)
			if len(t.shuffles)+len(t.reducers) > 0 && t.wire.keySkip == nil {
				return fmt.Errorf("engine: the output %s of %s feeds a GroupByKey but its elements are not KVs", t.pc, s.label())
			}
		}
	}
	return nil
}

// spillable reports whether bundle outputs to t may be spilled (spill.go):
// only stages read them (data stages, or keyed ones, which load a segment
// when they take from it: keyed.loadSegments), no checkpoint snapshots
// them, and no reader screens its elements for windowed side inputs (a
// segment is not screened: it would wait for the side inputs to finish).
func (j *job) spillable(t *sinkTarget) bool {
	for _, r := range t.readers {
		if r.gate != nil && !r.gate.global && r.gate.screenable && r.ks == nil {
			return false
		}
	}
	return t.side == nil && len(t.readers) > 0 && j.opts.Checkpoint == nil
}

// close tears the job's processors down and removes its shuffles; it
// returns the first teardown error.
func (j *job) close(ctx context.Context) error {
	// The job's windowing state is gone with it (see Options.StateBytes).
	if told := j.toldState.Load(); told != 0 {
		j.tellStateBytes(told, 0)
	}
	var first error
	for _, s := range j.stages {
		if err := s.teardown(context.WithoutCancel(ctx)); err != nil && first == nil {
			first = err
		}
		if s.grouping != nil {
			s.grouping.Close()
		}
		if s.red != nil {
			if s.red.wake != nil {
				s.red.wake.Stop()
			}
			s.red.close()
		}
	}
	if err := closeKeyed(j.stages); err != nil && first == nil {
		first = err
	}
	for _, d := range j.datasets {
		d.close()
	}
	j.mu.Lock()
	if j.resumeWake != nil {
		j.resumeWake.Stop()
	}
	j.mu.Unlock()
	return first
}

func (j *job) result() *Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	res := &Result{Metrics: j.metrics, Stages: len(j.pl.Stages), Bundles: j.bundles, Retries: j.retries, Splits: j.splits}
	if j.ckpt != nil {
		st := j.ckpt.stats
		res.Checkpoints, res.CheckpointBytes, res.CheckpointTime, res.RestoredFrom = st.Written, st.Bytes, st.TotalTime, st.Restored
	}
	for _, s := range j.stages {
		if s.grouping != nil {
			res.Spills += s.grouping.Spills()
		}
	}
	return res
}

// run executes the job on Options.Parallelism workers until it ends.
func (j *job) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWake := context.AfterFunc(ctx, j.broadcast)
	defer stopWake()
	go j.watchDrain(ctx)
	defer j.startCheckpoints()()
	var wg sync.WaitGroup
	for range max(j.opts.Parallelism, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.work(ctx, cancel)
		}()
	}
	wg.Wait()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ckpt != nil {
		// A failed or cancelled job leaves no snapshot file half
		// committed behind it.
		if err := j.ckpt.wait(); err != nil && j.err == nil {
			j.err = err
		}
	}
	if j.err != nil {
		return j.err
	}
	if !j.done {
		return ctx.Err()
	}
	return nil
}

func (j *job) broadcast() {
	j.mu.Lock()
	j.cond.Broadcast()
	j.mu.Unlock()
}

// task is a unit of work a worker runs outside the job's lock.
type task struct {
	s *stage
	// b is a bundle to run; nil for a split attempt or a reducer run.
	b *bundleWork
	// reduce asks to run the stage's reducer.
	reduce bool
}

// work is one worker: it takes tasks until the job ends.
func (j *job) work(ctx context.Context, cancel func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		if j.err != nil || j.done || ctx.Err() != nil {
			j.cond.Broadcast()
			return
		}
		if j.ckpt != nil {
			if err := j.ckpt.reap(); err != nil {
				j.fail(err)
				cancel()
				continue
			}
		}
		if j.ckpt != nil && j.ckpt.due {
			// A snapshot is due: start nothing; the last task to end
			// leaves the job at a commit boundary, and its worker writes
			// the snapshot.
			if j.inflight == 0 {
				if err := j.checkpointNow(); err != nil {
					j.fail(err)
					cancel()
				}
				j.cond.Broadcast()
				continue
			}
			j.waiting.Add(1)
			j.cond.Wait()
			j.waiting.Add(-1)
			continue
		}
		if t, ok := j.next(); ok {
			j.inflight++
			j.mu.Unlock()
			err := j.runTask(ctx, t)
			j.mu.Lock()
			j.inflight--
			if err != nil {
				j.fail(err)
				cancel()
			}
			j.cond.Broadcast()
			continue
		}
		if j.inflight == 0 {
			applied, err := j.quiesce()
			if err != nil {
				j.fail(err)
				cancel()
			}
			if applied || j.err != nil || j.done {
				continue
			}
		}
		// A delayed bundle that becomes ready must wake a waiting worker.
		j.armResume()
		j.waiting.Add(1)
		j.cond.Wait()
		j.waiting.Add(-1)
	}
}

func (j *job) fail(err error) {
	if j.err == nil {
		j.err = err
	}
}

// next returns the next task, preferring downstream stages so that data
// streams through a chain instead of piling up between stages; j.mu is
// held. Past the buffer budget, a stage whose outputs wait in data stages
// is started only when nothing else runs, so that its consumers catch up
// first without deadlock.
func (j *job) next() (task, bool) {
	pressure := j.buffered > j.bufferBudget()
	for i := len(j.stages) - 1; i >= 0; i-- {
		s := j.stages[i]
		if pressure && j.inflight > 0 && s.feedsData() {
			continue
		}
		if b := s.take(); b != nil {
			return task{s: s, b: b}, true
		}
		if s.red != nil && s.red.due(s.iw, j.clock.now()) {
			s.red.busy = true
			return task{s: s, reduce: true}, true
		}
	}
	if j.canSplit() {
		j.splitting = true
		return task{}, true
	}
	return task{}, false
}

// bufferBudget is the bytes of pending elements past which producers wait.
func (j *job) bufferBudget() int64 {
	return max(j.opts.MemoryBudget/4, 1<<20)
}

// runTask runs a bundle, or tries to split a running one.
func (j *job) runTask(ctx context.Context, t task) error {
	switch {
	case t.reduce:
		t.s.runReduce()
		return nil
	case t.b == nil:
		j.trySplit()
		return nil
	}
	return t.s.runBundle(ctx, t.b)
}

// quiesce acts on a job in which nothing runs and nothing is runnable:
// it applies the next TestStream event (applied is then true), ends the
// job when every output watermark reached the end of time, or reports
// that it is stuck. j.mu is held.
func (j *job) quiesce() (applied bool, err error) {
	if j.stream != nil && j.stream.pending() {
		if err := j.stream.apply(j); err != nil {
			return false, err
		}
		j.refresh()
		return true, nil
	}
	for _, s := range j.stages {
		if s.red != nil && s.red.hasPT && !j.clock.synthetic {
			// A processing-time timer is pending on the wall clock:
			// its wake-up is armed (armWake).
			return false, nil
		}
		if s.ks != nil && s.ks.pendingPT() {
			return false, nil
		}
	}
	if j.armResume() {
		// Checkpointed reads wait for their resume time.
		return false, nil
	}
	for _, s := range j.stages {
		if s.ow < window.MaxTime {
			return false, j.stuck()
		}
	}
	if j.ckpt != nil {
		// The final snapshot: a restart of a finished (or drained) job
		// finds every watermark at the end and ends at once.
		if err := j.checkpointNow(); err != nil {
			return false, err
		}
		if err := j.ckpt.wait(); err != nil {
			return false, err
		}
	}
	j.done = true
	return false, nil
}

// refresh recomputes every stage's watermarks, in stage order so that each
// stage sees its producers' new output watermarks; j.mu is held.
func (j *job) refresh() {
	done := int64(0)
	for _, s := range j.stages {
		s.refresh()
		if s.ow == window.MaxTime {
			done++
		}
	}
	j.stagesDone.Store(done)
	if j.observe != nil {
		j.observe(j)
	}
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
				j.opts.Progress(j.progress(start))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
