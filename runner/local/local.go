// Package local is the in-process runner: it plans a pipeline's Beam protos
// into fused stages (runner/internal/plan), runs many bundles of each stage
// at once on all cores with the shared bundle executor (fnapi/exec), groups
// by key and window in a shuffle that spills sorted runs to disk past a
// memory budget, retries failed bundles, and returns the job's metrics.
//
// Within a stage, elements pass between fused transforms as Go values;
// between stages they travel in Beam's encoding, as they would between
// workers, so the local runner exercises the same portable form as every
// other runner.
//
// # Concurrency
//
// Stages run concurrently as their input becomes ready, driven by
// watermarks (runner/internal/engine). Bundles run on Options.Parallelism
// goroutines, each with its own operator instances (DoFn copies). A Runner
// is safe for concurrent use; each Run is a job.
package local

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/exec"
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
	"github.com/beamgo-dev/beamgo/runner/internal/jobopts"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Job is what every runner of this module takes for a job: Parallelism,
// MemoryBudget, MaxAttempts, TempDir, StateDir, StateMemory, Progress and
// DisableDynamicSplitting.
// Options embeds it; the portable runner's Options embed the same type
// (portable.Job).
type Job = jobopts.Job

// Options configure a Runner; the zero value means defaults.
//
// Of the Job fields, Parallelism defaults to the number of CPUs, and
// MemoryBudget is the memory the process may use while a job runs
// (default 128 MiB, or the minimum if that is larger). It covers the
// process's baseline when Run starts (its resident memory that the job
// cannot free: program text and data, the live heap), 4 MiB per bundle
// slot (Parallelism) for read buffers and elements in flight, and each
// GroupByKey's shuffle, which gets half of what is left (holding its
// records in memory up to that and spilling sorted runs to disk past it;
// the other half is headroom for the groups being read and the collector).
// Run refuses a budget below the minimum, baseline + 4 MiB × Parallelism +
// 8 MiB, with a *BudgetError that states it. With the default MemoryLimit,
// the process's resident memory stays within MemoryBudget + MemoryBudget/4
// while the job runs, provided that the job's data stages (whose elements
// are kept in memory between stages) and its largest group (read into
// memory with its values, about three times its encoded size per bundle
// slot) fit in that headroom. The budget is per process: concurrent Runs
// do not share it.
//
// With StateDir set, the user state and timers of stateful transforms live
// in an on-disk LSM store (pebble) under a temporary directory in StateDir,
// removed when the job ends, instead of in memory (the default, faster
// while state fits). The store's block caches and memtables hold
// StateMemory (default: a quarter of what the baseline and the bundle
// slots leave, at least 16 MiB), taken from the budget before the
// shuffles get their half; the Go runtime's soft limit shrinks by as much,
// so that resident memory stays within MemoryBudget + MemoryBudget/4 with
// state of any size.
type Options struct {
	Job
	// MemoryLimit is the soft limit of the Go runtime's memory while Run
	// runs (see runtime/debug.SetMemoryLimit), so that garbage does not
	// pile up on top of the budget. Default: MemoryBudget + MemoryBudget/4,
	// less the resident memory the process holds outside the Go runtime
	// when Run starts (program text and data), less 8 MiB for program text
	// paged in later, less MemoryBudget/16 for the heap's overshoot while
	// the collector runs. A negative value leaves the collector alone. It
	// is applied only when the process has no limit of its own
	// (GOMEMLIMIT), and restored after. While the job runs, the limit
	// rises by the windowing state its streaming GroupByKeys hold in
	// memory beyond a quarter of what the baseline and the bundle slots
	// leave: beyond its values (which spill past a quarter of the budget)
	// that state cannot spill, and with the limit below the live
	// heap the collector would run without pause.
	MemoryLimit int64
	// ShuffleMemory, when positive, caps the memory of each GroupByKey's
	// shuffle below the share MemoryBudget gives it, so that it spills
	// sooner: tests use it to exercise spilling with little data.
	ShuffleMemory int64
	// DisableLifting runs combines without pre-combining.
	DisableLifting bool
	// UI, when set, shows every run on this web UI while it runs and for
	// a while after (runner/webui), with cancel and drain buttons, and
	// what the runner logs (Logf).
	UI *webui.Server
	// JobName names the runs on the UI.
	JobName string
}

// Progress is a snapshot of a running job.
type Progress = jobopts.Progress

// StageProgress is one stage of a Progress.
type StageProgress = jobopts.StageProgress

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

// Runner runs pipelines in this process. It implements runner.Runner.
type Runner struct {
	opts Options
	// defaultBudget is whether MemoryBudget was left to its default.
	defaultBudget bool
}

// New returns a runner; opts may be nil.
func New(opts *Options) *Runner {
	r := &Runner{}
	if opts != nil {
		r.opts = *opts
	}
	r.defaultBudget = r.opts.MemoryBudget <= 0
	r.opts.Job = r.opts.Job.WithDefaults(runtime.NumCPU())
	return r
}

// Run executes p and returns its metrics, or the first error: a
// construction error, an invalid pipeline, a MemoryBudget below the
// minimum (a *BudgetError, before anything runs), or a bundle that failed
// every attempt (naming the transform, the stage and the element).
func (r *Runner) Run(ctx context.Context, p *sdk.Pipeline) (*runner.Result, error) {
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		return nil, err
	}
	if err := validate.Pipeline(pb, nil); err != nil {
		return nil, fmt.Errorf("local: invalid pipeline: %w", err)
	}
	pl, err := plan.Build(pb, &plan.Options{
		DisableLifting: r.opts.DisableLifting,
		KnownCoders:    []string{urns.CoderRow, urns.CoderCustom},
	})
	if err != nil {
		return nil, fmt.Errorf("local: %w", err) // plan's errors say "plan: "
	}
	mem, err := r.planMemory()
	if err != nil {
		return nil, err
	}
	limit, restore := applyMemoryLimit(mem.limit, mem.windowState)
	defer restore()
	ctx, finish := p.StartRun(ctx) // after a failure, transforms clean up (sdk.RunHook)
	job := r.opts.Job
	ctx, mon, ended := r.watch(ctx, &job)
	eo := job.Engine("local")
	eo.ShuffleMemory = mem.shuffle
	eo.StateMemory = mem.state
	userStateBytes := eo.StateBytes
	eo.StateBytes = func(delta int64) {
		limit.stateChanged(delta)
		if userStateBytes != nil {
			userStateBytes(delta)
		}
	}
	eo.Monitor = mon
	res, err := engine.Run(ctx, pl, eo, inProcess{g: sdkaccess.Graph(p)})
	err = finish(err)
	ended(err)
	return (*runner.Result)(res), err
}

// watch shows the run on Options.UI, if set: it returns the context to run
// the job in (cancelled by the UI's cancel button), the engine's monitor
// and the function to call with the job's error once it has ended; job's
// Drain and Logf then also serve the UI's drain button and log.
func (r *Runner) watch(ctx context.Context, job *jobopts.Job) (context.Context, *engine.Monitor, func(error)) {
	if r.opts.UI == nil {
		return ctx, nil, func(error) {}
	}
	ctx, t := r.opts.UI.Track(ctx, r.opts.JobName, "local",
		fmt.Sprintf("job started: parallelism %d, memory budget %d MiB", job.Parallelism, job.MemoryBudget>>20), job)
	return ctx, t.Monitor, t.End
}

// planMemory divides the job's MemoryBudget given what the process holds
// now; a default budget below the minimum is raised to it.
func (r *Runner) planMemory() (memoryPlan, error) {
	pm := readProcessMemory()
	budget := r.opts.MemoryBudget
	if r.defaultBudget {
		state := int64(0)
		if r.opts.StateDir != "" {
			state = max(r.opts.StateMemory, minStateMemory)
		}
		budget = max(budget, minimumBudget(pm.baseline, r.opts.Parallelism, state))
	}
	state := int64(0)
	if r.opts.StateDir != "" {
		state = stateMemory(budget, r.opts.StateMemory, r.opts.Parallelism, pm)
	}
	mem, err := planMemory(budget, r.opts.Parallelism, state, pm)
	if err != nil {
		return memoryPlan{}, err
	}
	if r.opts.MemoryLimit != 0 {
		mem.limit = r.opts.MemoryLimit
	}
	if r.opts.ShuffleMemory > 0 {
		mem.shuffle = min(mem.shuffle, r.opts.ShuffleMemory)
	}
	return mem, nil
}

// inProcess executes stages in this process with the bundle executor,
// finding user code in the pipeline's construction graph.
type inProcess struct{ g *graph.Graph }

func (inProcess) Endpoints() (data, state *pipepb.ApiServiceDescriptor) { return nil, nil }

func (e inProcess) NewProcessor(desc *fnpb.ProcessBundleDescriptor, _ *plan.Wiring) (engine.Processor, error) {
	p, err := exec.New(desc, e.g)
	if err != nil {
		return nil, err
	}
	return execProcessor{p}, nil
}

// AccumulatorMerger implements engine.AccumulatorMergers: a lifted
// combine's CombineFn is in this process, so its streaming GroupByKey
// merges the accumulators it buffers.
func (e inProcess) AccumulatorMerger(spec *pipepb.FunctionSpec) (engine.Merger, error) {
	m, err := exec.AccumulatorMerger(e.g, spec)
	if err != nil || m == nil {
		return nil, err
	}
	return m, nil
}

// execProcessor runs the engine's bundles on the bundle executor.
type execProcessor struct{ *exec.Processor }

// Process implements engine.Processor.
func (p execProcessor) Process(ctx context.Context, b engine.Bundle) error {
	eb := exec.Bundle{
		Inputs: b.Inputs, Output: b.Output, OutputValue: b.OutputValue, SideInputs: b.SideInputs, Metrics: b.Metrics, Splits: b.Splits,
		Checkpoint: b.Checkpoint, Finalize: b.Finalize,
		State: b.State, Timers: b.Timers,
	}
	if b.FireTimers != nil {
		eb.FireTimers = func(yield func(exec.TimerInput, error) bool) {
			for t, err := range b.FireTimers {
				if !yield(exec.TimerInput(t), err) {
					return
				}
			}
		}
	}
	return p.Processor.Process(ctx, eb)
}

// Execute runs p on a local runner with default options and fails with the
// job's error; it is the one-line entry point for programs and examples.
func Execute(ctx context.Context, p *sdk.Pipeline) (*runner.Result, error) {
	return New(nil).Run(ctx, p)
}

var _ runner.Runner = (*Runner)(nil)

// memLimit tracks the soft memory limits that running jobs asked for.
var memLimit struct {
	// mu guards the fields below.
	mu sync.Mutex
	// own is whether the process had a limit of its own when the first job
	// started (then jobs leave it alone).
	own    bool
	active []*limitRequest
}

// limitRequest is one running job's soft memory limit: the limit its
// memory plan gives, raised by the windowing state it holds (which cannot
// spill) beyond the allowance the plan's headroom covers.
type limitRequest struct {
	base, allowance int64
	state           int64 // guarded by memLimit.mu
}

// bytes is the limit the request asks for now; memLimit.mu is held.
func (req *limitRequest) bytes() int64 { return req.base + max(0, req.state-req.allowance) }

// applyMemoryLimit sets the process's soft memory limit to the largest limit
// asked for by running jobs, unless the process set its own, and returns the
// job's request (nil if none was made), whose windowing state beyond
// allowance raises it, and the function that withdraws it.
func applyMemoryLimit(limit, allowance int64) (req *limitRequest, restore func()) {
	if limit <= 0 {
		return nil, func() {}
	}
	memLimit.mu.Lock()
	defer memLimit.mu.Unlock()
	if len(memLimit.active) == 0 {
		memLimit.own = debug.SetMemoryLimit(-1) != math.MaxInt64
	}
	if memLimit.own {
		return nil, func() {}
	}
	req = &limitRequest{base: limit, allowance: allowance}
	memLimit.active = append(memLimit.active, req)
	setMemoryLimit()
	return req, func() {
		memLimit.mu.Lock()
		defer memLimit.mu.Unlock()
		i := slices.Index(memLimit.active, req)
		memLimit.active = slices.Delete(memLimit.active, i, i+1)
		setMemoryLimit()
	}
}

// stateChanged takes a change in the job's windowing state
// (engine.Options.StateBytes) and applies the limit it gives; a nil
// request (no limit applied) ignores it.
func (req *limitRequest) stateChanged(delta int64) {
	if req == nil {
		return
	}
	memLimit.mu.Lock()
	defer memLimit.mu.Unlock()
	before := req.bytes()
	req.state += delta
	if req.bytes() != before {
		setMemoryLimit()
	}
}

// setMemoryLimit applies the largest active request, or no limit when none
// is left; memLimit.mu is held.
func setMemoryLimit() {
	limit := int64(math.MaxInt64)
	for i, req := range memLimit.active {
		if l := req.bytes(); i == 0 || l > limit {
			limit = l
		}
	}
	debug.SetMemoryLimit(limit)
}
