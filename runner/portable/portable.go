package portable

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"beamgo/fnapi/harness"
	"beamgo/fnapi/service"
	"beamgo/fnapi/worker"
	"beamgo/proto/translate"
	"beamgo/proto/validate"
	"beamgo/runner"
	"beamgo/runner/internal/engine"
	"beamgo/runner/internal/plan"
	"beamgo/sdk"
)

// Options configure a Runner; the zero value means defaults.
type Options struct {
	// Workers is how many SDK workers a job starts (default 2).
	Workers int
	// Parallelism is how many bundles of a stage run at once, spread over
	// the workers (default 2 per worker).
	Parallelism int
	// MemoryBudget bounds the shuffle bytes held in memory before spilling
	// (default 128 MiB).
	MemoryBudget int64
	// MaxAttempts is how often a bundle is tried before the job fails
	// (default 3).
	MaxAttempts int
	// MaxWorkerRestarts is how many workers a job starts, in all, to
	// replace workers that died (default 3; negative: none). A bundle
	// whose worker died is retried on another worker either way.
	MaxWorkerRestarts int
	// TempDir holds shuffle spills (default: os.TempDir()).
	TempDir string
	// WorkerTimeout bounds the wait for a started worker to connect
	// (default 1 minute).
	WorkerTimeout time.Duration
	// DisableDynamicSplitting turns off process_bundle_split requests to
	// workers whose bundles run while other bundle slots idle.
	DisableDynamicSplitting bool
	// Progress, when non-nil, receives a progress line about once a
	// second: stages done and the elements the workers reported reading
	// in the element-count monitoring infos of their finished bundles.
	Progress func(Progress)
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
}

// Progress is a snapshot of a running job.
type Progress = engine.Progress

// WorkerStarter starts the SDK worker with the given id, telling it to
// connect to the control (and logging) endpoint. The returned stop
// function, called when the job ends, may be nil.
type WorkerStarter func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (stop func(), err error)

// Runner runs pipelines on SDK workers over the Fn API. It implements
// runner.Runner; it is safe for concurrent use, and each run is a job with
// its own servers and workers.
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
	if r.opts.Parallelism <= 0 {
		r.opts.Parallelism = 2 * r.opts.Workers
	}
	if r.opts.MemoryBudget <= 0 {
		r.opts.MemoryBudget = 128 << 20
	}
	if r.opts.MaxAttempts <= 0 {
		r.opts.MaxAttempts = 3
	}
	if r.opts.MaxWorkerRestarts == 0 {
		r.opts.MaxWorkerRestarts = 3
	}
	if r.opts.TempDir == "" {
		r.opts.TempDir = os.TempDir()
	}
	if r.opts.WorkerTimeout <= 0 {
		r.opts.WorkerTimeout = time.Minute
	}
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
// started by start, and returns its metrics or the first error. The
// workers' ids are "worker-<n>-<job>", where job is a random token of the
// run.
func (r *Runner) RunPipeline(ctx context.Context, pb *pipepb.Pipeline, start WorkerStarter) (*runner.Result, error) {
	if err := validate.Pipeline(pb, nil); err != nil {
		return nil, fmt.Errorf("portable: invalid pipeline: %w", err)
	}
	pl, err := plan.Build(pb, nil)
	if err != nil {
		return nil, fmt.Errorf("portable: plan: %w", err)
	}
	srv, err := service.Start(&service.Options{OnLog: r.opts.OnLog})
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
		return nil, err
	}
	ex := &executor{srv: srv, workers: ws}
	res, err := engine.Run(ctx, pl, engine.Options{
		Parallelism: r.opts.Parallelism, MemoryBudget: r.opts.MemoryBudget, MaxAttempts: r.opts.MaxAttempts,
		TempDir: r.opts.TempDir, DisableDynamicSplitting: r.opts.DisableDynamicSplitting, Prefix: "portable",
		Progress: r.opts.Progress,
	}, ex)
	return (*runner.Result)(res), err
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
