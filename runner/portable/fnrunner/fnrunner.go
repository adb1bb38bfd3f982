// Package fnrunner runs Beam model pipelines (pipepb.Pipeline) on SDK
// workers over the Fn API: it validates and plans the proto with the
// planner the local runner uses (runner/internal/plan), schedules,
// shuffles and retries with the same engine (runner/internal/engine), and
// runs each bundle on one of the job's workers through the runner-side Fn
// API servers of fnapi/service: its input on the data plane, its side
// inputs through the state API, its user metrics back as monitoring infos.
//
// It is the proto-level core of the portable runner. It sees pipelines
// only as protos and workers only through a WorkerStarter (External for a
// BeamFnExternalWorkerPool, Process for a PROCESS environment's command),
// and it links neither the user SDK, the SDK harness, the bundle executor
// nor the worker-mode code of fnapi/worker; scripts/deps.rules checks this.
// So the job server (runner/portable/jobservice) runs other SDKs'
// pipelines with it and no user code of its own. runner/portable builds on
// it what an sdk.Pipeline needs: translation, LOOPBACK workers on our
// harness, and Run serving in worker processes.
//
// Its errors start with "portable: ", as the portable runner's do; the
// errors of a bundle come wrapped by the engine's "portable: bundle of
// "T" failed 3 times: ...", so what fails in a bundle is not prefixed again.
//
// # Workers
//
// A worker that dies mid-bundle, its process killed included, has its
// bundle retried on another live worker and is replaced by a new one, up
// to Options.MaxWorkerRestarts per job. The runner asks running bundles
// for their progress; a retry of a bundle whose worker died runs the
// elements from the one last reported in progress each as a bundle of its
// own, so that an element that kills every worker it reaches fails the job
// with a WorkerDiedError naming it and the transform that reads it. A
// worker process that exits before it connects fails the job at once.
//
// # State and timers
//
// A keyed stage's bundle serves its worker's user state requests from the
// engine's state overlay of the bundle. Its timers travel on the data
// plane: the engine's timer batch (engine.Bundle.TimerBatch, at most one
// timer per key) goes to the worker after the input, every timer family of
// the descriptor's ParDos is ended with is_last in a message of its own
// (Beam Python ignores the timers of a message marked last), and the
// timers the worker sets reach the overlay as they arrive; the bundle ends
// once the worker ended each of its timer streams.
package fnrunner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
	"github.com/beamgo-dev/beamgo/runner/internal/jobopts"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// Job is what every runner of this module takes for a job: Parallelism,
// MemoryBudget, MaxAttempts, TempDir, StateDir, StateMemory, Progress and
// DisableDynamicSplitting.
type Job = jobopts.Job

// Options configure a Runner; the zero value means defaults.
//
// Of the Job fields, Parallelism is how many bundles of a stage run at
// once, spread over the workers (default 2 per worker); MemoryBudget bounds
// the shuffle bytes held in memory before spilling (default 128 MiB);
// Progress reports the elements the workers reported reading in the
// element-count monitoring infos of their finished bundles; and
// DisableDynamicSplitting turns off process_bundle_split requests to
// workers whose bundles run while other bundle slots idle. StateDir, when
// set, keeps the user state and timers of stateful transforms in an
// on-disk LSM store (pebble) under a temporary directory in it, removed
// when the job ends, whose caches and memtables hold StateMemory (default
// MemoryBudget/4) on top of the shuffles' MemoryBudget; empty keeps them
// in memory.
type Options struct {
	Job
	// Workers is how many SDK workers a job starts (default 2).
	Workers int
	// MaxWorkerRestarts is how many workers a job starts, in all, to
	// replace workers that died (default 3; negative: none). A bundle
	// whose worker died is retried on another worker either way.
	MaxWorkerRestarts int
	// WorkerTimeout bounds the wait for a started worker to connect
	// (default 1 minute).
	WorkerTimeout time.Duration
	// OnLog, if set, receives the workers' log entries.
	OnLog func(workerID string, e *fnpb.LogEntry)
}

// Progress is a snapshot of a running job.
type Progress = jobopts.Progress

// Checkpointing configures durable checkpoints (Job.Checkpoint): the
// snapshot directory, the interval, Fresh to start over, and how many
// snapshots to keep.
type Checkpointing = jobopts.Checkpointing

// SnapshotStore holds a job's snapshots elsewhere than in a local
// directory (Checkpointing.Store): launch opens blob-store URLs as one.
type SnapshotStore = jobopts.SnapshotStore

// CheckpointError is the error of a snapshot that cannot be written or
// read, or that another pipeline wrote; its File names it.
type CheckpointError = jobopts.CheckpointError

// ErrPipelineChanged is wrapped by the CheckpointError of a snapshot that
// a different pipeline wrote (use errors.Is).
var ErrPipelineChanged = jobopts.ErrPipelineChanged

// MetricKey names a user metric by transform, namespace and name.
type MetricKey = metrics.Key

// Metrics are the user metrics of a job's committed bundles.
type Metrics = metrics.Snapshot

// Result is the outcome of a successful job. It has the fields of
// runner.Result, which runner/portable converts it to.
type Result struct {
	// Metrics are the user metrics of committed bundles, aggregated; the
	// metrics of failed attempts are dropped.
	Metrics Metrics
	// Stages and Bundles count what ran; Retries counts failed attempts
	// that were retried; Splits counts dynamic splits; Spills counts
	// shuffle runs written to disk.
	Stages, Bundles, Retries, Splits, Spills int
	// Checkpoints counts the durable snapshots written (Job.Checkpoint);
	// CheckpointBytes is the largest one's size and CheckpointTime the time
	// all took, pauses included. RestoredFrom is the sequence number of
	// the snapshot the job resumed from, 0 if it started afresh.
	Checkpoints     int
	CheckpointBytes int64
	CheckpointTime  time.Duration
	RestoredFrom    uint64
}

// WorkerStarter starts the SDK worker with the given id, telling it to
// connect to the control (and logging) endpoint. The returned stop
// function, called when the job ends, may be nil.
type WorkerStarter func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (stop func(), err error)

// Runner runs pipeline protos on SDK workers over the Fn API. It is safe
// for concurrent use, and each run is a job with its own servers and
// workers.
type Runner struct {
	opts Options
}

// New returns a runner; opts may be nil.
func New(opts *Options) *Runner {
	r := &Runner{}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Workers <= 0 {
		r.opts.Workers = 2
	}
	r.opts.Job = r.opts.Job.WithDefaults(2 * r.opts.Workers)
	if r.opts.MaxWorkerRestarts == 0 {
		r.opts.MaxWorkerRestarts = 3
	}
	if r.opts.WorkerTimeout <= 0 {
		r.opts.WorkerTimeout = time.Minute
	}
	return r
}

// Run executes the pipeline proto pb on Options.Workers workers started by
// start, and returns its metrics or the first error. The workers' ids are
// "worker-<n>-<job>", where job is a random token of the run.
func (r *Runner) Run(ctx context.Context, pb *pipepb.Pipeline, start WorkerStarter) (*Result, error) {
	return r.RunMonitored(ctx, pb, start, nil)
}

// RunMonitored is Run with m, if not nil, watching the job's engine (a web
// UI shows it: runner/webui).
func (r *Runner) RunMonitored(ctx context.Context, pb *pipepb.Pipeline, start WorkerStarter, m *engine.Monitor) (*Result, error) {
	return r.RunWatched(ctx, pb, start, &Watch{Monitor: m})
}

// Watch is what a caller of RunWatched sees of one run and how it drains
// it, where that differs from the Runner's Options (a job server runs many
// jobs on one Runner). The zero value, or nil, means the Options.
type Watch struct {
	// Monitor, if not nil, watches the job's engine (a web UI shows it:
	// runner/webui).
	Monitor *engine.Monitor
	// Drain, if not nil, drains this run once closed (instead of
	// Options.Drain).
	Drain <-chan struct{}
	// Logf, if not nil, receives what the runner reports without failing
	// the job (instead of Options.Logf).
	Logf func(format string, args ...any)
	// OnLog, if not nil, receives this run's worker log entries (as well
	// as Options.OnLog).
	OnLog func(workerID string, e *fnpb.LogEntry)
	// Checkpoint, if not nil, makes this run durable (instead of
	// Options.Checkpoint): a job server takes the checkpoint directory
	// from each submission.
	Checkpoint *Checkpointing
}

// RunWatched is Run with w's monitor, drain, log receivers and
// checkpoints.
func (r *Runner) RunWatched(ctx context.Context, pb *pipepb.Pipeline, start WorkerStarter, w *Watch) (*Result, error) {
	if w == nil {
		w = &Watch{}
	}
	// Coders of other SDKs are opaque here: the planner length-prefixes
	// every coder it does not know, as Beam's runners do.
	if err := validate.Pipeline(pb, &validate.Options{OpaqueCoders: true}); err != nil {
		return nil, fmt.Errorf("portable: invalid pipeline: %w", err)
	}
	pl, err := plan.Build(pb, nil)
	if err != nil {
		return nil, fmt.Errorf("portable: %w", err) // plan's errors say "plan: "
	}
	srv, err := service.Start(&service.Options{OnLog: joinOnLog(r.opts.OnLog, w.OnLog)})
	if err != nil {
		return nil, fmt.Errorf("portable: %w", err)
	}
	defer srv.Stop()
	// Worker ids are unique per job: jobs of this and other runners may
	// share an EXTERNAL worker pool, which knows workers by id.
	ws := newWorkerSet(ctx, srv, start, fmt.Sprintf("%08x", rand.Uint32()), &r.opts)
	defer func() {
		// Ending the control streams tells the workers to stop; worker
		// processes then exit at once, so they are waited for together.
		srv.Stop()
		ws.stopAll()
	}()
	if err := ws.startAll(ctx, r.opts.Workers); err != nil {
		return nil, fmt.Errorf("portable: %w", err)
	}
	ex := &executor{srv: srv, workers: ws}
	job := r.opts.Job
	if w.Drain != nil {
		job.Drain = w.Drain
	}
	if w.Logf != nil {
		job.Logf = w.Logf
	}
	if w.Checkpoint != nil {
		job.Checkpoint = w.Checkpoint
	}
	eo := job.Engine("portable")
	eo.Monitor = w.Monitor
	res, err := engine.Run(ctx, pl, eo, ex)
	return (*Result)(res), err
}

// joinOnLog returns a receiver of log entries that calls a and b, either
// of which may be nil.
func joinOnLog(a, b func(string, *fnpb.LogEntry)) func(string, *fnpb.LogEntry) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(id string, e *fnpb.LogEntry) { a(id, e); b(id, e) }
}

// executor hands bundles to the job's workers.
type executor struct {
	srv     *service.Server
	workers *workerSet

	// mu guards the fields below.
	mu       sync.Mutex
	insts    int
	descs    map[string]bool
	suspects map[suspectKey]int64
	gates    map[*service.Worker]*gate
}

// Endpoints implements engine.Executor.
func (e *executor) Endpoints() (data, state *pipepb.ApiServiceDescriptor) {
	return e.srv.Endpoint(), e.srv.Endpoint()
}

// NewProcessor implements engine.Executor: the processor runs bundles on
// the next live worker, round robin; a dead worker is replaced first while
// Options.MaxWorkerRestarts lasts.
func (e *executor) NewProcessor(desc *fnpb.ProcessBundleDescriptor, wiring *plan.Wiring) (engine.Processor, error) {
	e.mu.Lock()
	if e.descs == nil {
		e.descs = map[string]bool{}
	}
	if !e.descs[desc.GetId()] {
		e.srv.RegisterDescriptor(desc)
		e.descs[desc.GetId()] = true
	}
	e.mu.Unlock()
	// The engine gives NewProcessor no context: a replacement's wait ends
	// with the job's.
	w, err := e.workers.pick(e.workers.ctx)
	if err != nil {
		return nil, err
	}
	return newRemote(e, w, desc, wiring)
}

// instruction returns a fresh instruction id.
func (e *executor) instruction() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.insts++
	return fmt.Sprintf("bundle-%d", e.insts)
}
