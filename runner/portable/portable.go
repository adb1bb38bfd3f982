package portable

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Job is what every runner of this module takes for a job: Parallelism,
// MemoryBudget, MaxAttempts, TempDir, StateDir, StateMemory, Progress and
// DisableDynamicSplitting.
// Options embeds it; the local runner's Options embed the same type
// (local.Job).
type Job = fnrunner.Job

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
	// EnvironmentType is where Run starts workers: EnvLoopback (the
	// default), EnvProcess or EnvExternal.
	EnvironmentType string
	// Process configures the workers Run starts for EnvProcess (nil:
	// this program, with this process's arguments).
	Process *ProcessOptions
	// ExternalEndpoint is the address (host:port) of the worker pool that
	// runs the workers for EnvExternal, which requires it: Beam's
	// --environment_config for EXTERNAL.
	ExternalEndpoint string
	// UI, when set, shows every run on this web UI while it runs and for
	// a while after (runner/webui), with cancel and drain buttons and
	// the workers' log entries; JobName names the runs there.
	UI      *webui.Server
	JobName string
}

// Progress is a snapshot of a running job.
type Progress = fnrunner.Progress

// Checkpointing configures durable checkpoints (Job.Checkpoint): the
// snapshot directory, the interval, Fresh to start over, and how many
// snapshots to keep.
type Checkpointing = fnrunner.Checkpointing

// SnapshotStore holds a job's snapshots elsewhere than in a local
// directory (Checkpointing.Store): launch opens blob-store URLs as one.
type SnapshotStore = fnrunner.SnapshotStore

// CheckpointError is the error of a snapshot that cannot be written or
// read, or that another pipeline wrote; its File names it.
type CheckpointError = fnrunner.CheckpointError

// ErrPipelineChanged is wrapped by the CheckpointError of a snapshot that
// a different pipeline wrote (use errors.Is).
var ErrPipelineChanged = fnrunner.ErrPipelineChanged

// WorkerStarter starts the SDK worker with the given id, telling it to
// connect to the control (and logging) endpoint. The returned stop
// function, called when the job ends, may be nil.
type WorkerStarter = fnrunner.WorkerStarter

// WorkerDiedError is the error of a bundle attempt whose worker died
// (fnrunner.WorkerDiedError).
type WorkerDiedError = fnrunner.WorkerDiedError

// Timeouts of the calls External makes to a worker pool.
const (
	// StartWorkerTimeout bounds a StartWorker call.
	StartWorkerTimeout = fnrunner.StartWorkerTimeout
	// StopWorkerTimeout bounds a StopWorker call.
	StopWorkerTimeout = fnrunner.StopWorkerTimeout
)

// External returns a WorkerStarter that asks the BeamFnExternalWorkerPool
// at endpoint (host:port) to start each worker, and to stop it when the
// job ends (fnrunner.External). Any Beam worker pool will do: a program of
// this SDK in worker-pool mode (fnapi/worker), which builds the same
// pipeline as the submitter, or another SDK's.
func External(endpoint string) WorkerStarter { return fnrunner.External(endpoint) }

// Runner runs pipelines on SDK workers over the Fn API. It implements
// runner.Runner; it is safe for concurrent use, and each run is a job with
// its own servers and workers.
type Runner struct {
	opts Options
	fn   *fnrunner.Runner
}

// New returns a runner; opts may be nil. The defaults of Options are
// fnrunner's.
func New(opts *Options) *Runner {
	r := &Runner{}
	if opts != nil {
		r.opts = *opts
	}
	r.fn = fnrunner.New(&fnrunner.Options{
		Job: r.opts.Job, Workers: r.opts.Workers, MaxWorkerRestarts: r.opts.MaxWorkerRestarts,
		WorkerTimeout: r.opts.WorkerTimeout, OnLog: r.opts.OnLog,
	})
	return r
}

// Run executes p with workers of Options.EnvironmentType: LOOPBACK, SDK
// harnesses on goroutines of this process, which find user code in p;
// PROCESS, this program started again in worker mode (Process); or
// EXTERNAL, workers of the pool at Options.ExternalEndpoint (External),
// such as this program running in worker-pool mode.
//
// In a worker process (fnapi/worker.Active), Run does not run p: it serves
// p as the worker's SDK harness until the runner stops the worker, and
// then exits the process (status 0, or 1 after printing the error). In a
// worker-pool process (fnapi/worker.PoolActive), it serves a worker pool
// for p until SIGTERM or SIGINT, and then exits the same way.
func (r *Runner) Run(ctx context.Context, p *sdk.Pipeline) (*runner.Result, error) {
	if worker.Active() {
		worker.ServeAndExit(ctx, p)
	}
	if worker.PoolActive() {
		worker.ServePoolAndExit(ctx, p)
	}
	var start WorkerStarter
	switch env := strings.ToUpper(r.opts.EnvironmentType); env {
	case "", EnvLoopback:
		start = Loopback(p)
	case EnvProcess:
		start = Process(r.opts.Process)
	case EnvExternal:
		if r.opts.ExternalEndpoint == "" {
			return nil, errors.New("portable: environment type EXTERNAL needs Options.ExternalEndpoint, the worker pool's host:port")
		}
		start = External(r.opts.ExternalEndpoint)
	default:
		return nil, fmt.Errorf("portable: environment type %q is not supported (have %s, %s and %s)", r.opts.EnvironmentType, EnvLoopback, EnvProcess, EnvExternal)
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		return nil, err
	}
	ctx, finish := p.StartRun(ctx) // after a failure, transforms clean up (sdk.RunHook)
	res, err := r.RunPipeline(ctx, pb, start)
	return res, finish(err)
}

// Loopback returns a WorkerStarter that runs each worker as our SDK
// harness on a goroutine of this process, with user code from p.
func Loopback(p *sdk.Pipeline) WorkerStarter {
	return func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			harness.Run(ctx, &harness.Options{ID: id, ControlEndpoint: control.GetUrl(), LoggingEndpoint: control.GetUrl(), Pipeline: p})
		}()
		return func() { cancel(); <-done }, nil
	}
}

// RunPipeline executes the pipeline proto pb on Options.Workers workers
// started by start, and returns its metrics or the first error
// (fnrunner.Runner.Run). The workers' ids are "worker-<n>-<job>", where job
// is a random token of the run.
func (r *Runner) RunPipeline(ctx context.Context, pb *pipepb.Pipeline, start WorkerStarter) (*runner.Result, error) {
	if r.opts.UI == nil {
		res, err := r.fn.Run(ctx, pb, start)
		return (*runner.Result)(res), err
	}
	job := r.opts.Job
	ctx, t := r.opts.UI.Track(ctx, r.opts.JobName, "portable",
		"job started, environment "+cmp.Or(r.opts.EnvironmentType, EnvLoopback), &job)
	res, err := r.fn.RunWatched(ctx, pb, start, &fnrunner.Watch{Monitor: t.Monitor, Drain: job.Drain, Logf: job.Logf, OnLog: t.OnLog})
	t.End(err)
	return (*runner.Result)(res), err
}
