// Package engine runs a planned pipeline: it is the element manager of a
// job, for batch and streaming alike. It schedules the bundles of all
// stages on a bounded number of goroutines as their input becomes ready,
// routes stage outputs to the stages that read them (as pending elements,
// into the spilling GroupByKey shuffle, or as side inputs), tracks each
// stage's watermarks, applies TestStream scripts, serves side inputs,
// retries failed bundles and merges metrics. How a bundle executes is up
// to an Executor: the local runner runs it in process on the bundle
// executor (fnapi/exec); the portable runner runs it in an SDK harness
// over the Fn API. Both runners therefore share one scheduler and one
// shuffle.
//
// # Watermarks
//
// Every stage has an input watermark (IW) and an output watermark (OW),
// both monotone. IW is the minimum of the output watermarks of the stages
// producing its main inputs and of the timestamps of its pending and
// running input elements; OW is the minimum of IW and the stage's holds
// (a TestStream's scripted watermark, a grouping's buffered data, the
// groups still being processed). A bundle commits, under the job's lock
// and in this order: its outputs become pending input of their consumers,
// its residuals and holds are added, its input is removed, and the
// watermarks are recomputed in stage order; so no watermark passes data
// in flight. A batch job is the case where every watermark jumps from the
// start to the end of time once a stage's input is consumed.
//
// # Scheduling
//
// Workers (Options.Parallelism goroutines) take runnable work, preferring
// downstream stages so that data streams through a chain of stages rather
// than piling up, and wait on a condition variable when there is none. A
// stage is runnable when it has queued bundles or pending elements and its
// side inputs are complete. When nothing runs and nothing is runnable, the
// job has quiesced: it then applies the next TestStream event, or ends
// when every output watermark reached the end of time, or fails with a
// *StuckError that describes every stage.
//
// The engine has its own Result, Bundle and SideInputData types and links
// neither the public runner package, the user SDK nor the bundle executor
// (scripts/deps.rules checks this), so that a job server built on it needs
// no user code.
package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// Options configure a run. Zero fields are invalid: callers set defaults.
type Options struct {
	// Parallelism is how many bundles of a stage run at once.
	Parallelism int
	// MemoryBudget bounds the bytes of shuffle data held in memory: each
	// GroupByKey's shuffle holds at most half of it, unless ShuffleMemory
	// is set. The elements waiting between stages count against a quarter
	// of it: past that, stages that produce them are not started while
	// other bundles run, so that their consumers catch up. The streaming
	// GroupByKeys' buffered values share another quarter: past it they
	// spill to files in the job's temporary directory.
	MemoryBudget int64
	// ShuffleMemory, when positive, is the memory each GroupByKey's
	// shuffle may hold instead: its writers' segments and committed
	// segments while it is written, its readers' merge buffers while it is
	// read (the groups being read come on top).
	ShuffleMemory int64
	// MaxAttempts is how often a bundle is tried before the job fails.
	MaxAttempts int
	// TempDir holds shuffle spills.
	TempDir string
	// StateDir, when set, keeps the user state and timers of keyed stages
	// in an embedded LSM store (pebble) under a temporary directory made
	// in StateDir and removed when the job ends, so that state may exceed
	// memory. Empty keeps them in memory, which is faster while they fit.
	StateDir string
	// StateMemory is what the on-disk state store may hold in memory (its
	// block caches and memtables), shared by the job's keyed stages
	// (default MemoryBudget/4). It applies only with StateDir.
	StateMemory int64
	// Progress, when non-nil, receives a progress line about once a second.
	Progress func(Progress)
	// StateBytes, when non-nil, is told how the bytes of windowing state
	// that the job's streaming GroupByKeys hold in memory (buffered values,
	// windows, keys, timers) have changed: a change of a MiB or more since
	// it was last told, as a difference, and when the job ends the
	// difference back to zero, so that one function may sum the state of
	// several jobs. It may be called from several goroutines at once.
	// Its values spill past a quarter of MemoryBudget (the parts of the
	// streaming GroupByKeys share it); the windows, keys, trigger states
	// and timers cannot spill: a runner that holds the process to a soft
	// memory limit raises the limit by it, or the collector runs without
	// pause once the state outgrows the budget (at 2M bids read 40,000
	// per turn, the unbounded bids job spent nearly half its CPU so).
	StateBytes func(delta int64)
	// DisableDynamicSplitting turns off splitting running reads.
	DisableDynamicSplitting bool
	// Prefix starts the job's error messages (say "local").
	Prefix string
	// Drain, when non-nil, drains the job once closed: work that unbounded
	// reads checkpointed is dropped instead of resumed (their restrictions
	// are truncated, as Beam drains), so every watermark advances to the
	// end of time, windows fire their final panes, and Run returns the
	// job's result. Cancelling Run's context stops the job at once instead.
	Drain <-chan struct{}
	// Logf, when non-nil, receives the errors of bundle finalizers (a
	// committed bundle's acknowledgements, which are not retried).
	Logf func(format string, args ...any)
	// Monitor, when non-nil, lets a caller watch the run (Monitor.Status).
	Monitor *Monitor
	// Checkpoint, when non-nil, makes the job write durable snapshots and
	// resume from the newest one when started again (see Checkpointing).
	Checkpoint *Checkpointing
}

// Result is the outcome of a successful job. It has the fields of
// runner.Result, which the runners convert it to at their edge, so that the
// engine needs neither the public runner package nor the user SDK.
type Result struct {
	// Metrics are the user metrics of committed bundles, aggregated; the
	// metrics of failed attempts are dropped.
	Metrics metrics.Snapshot
	// Stages and Bundles count what ran; Retries counts failed attempts
	// that were retried; Splits counts dynamic splits; Spills counts
	// shuffle runs written to disk.
	Stages, Bundles, Retries, Splits, Spills int
	// Checkpoints counts the durable snapshots written
	// (Options.Checkpoint); CheckpointBytes is the largest one's size and
	// CheckpointTime the time all took, pauses included. RestoredFrom is
	// the sequence number of the snapshot the job resumed from, 0 if it
	// started afresh.
	Checkpoints     int
	CheckpointBytes int64
	CheckpointTime  time.Duration
	RestoredFrom    uint64
}

// Progress is a snapshot of a running job.
type Progress struct {
	StagesDone, Stages int
	Elements           int64
	Elapsed            time.Duration
	// StageProgress describes each stage, in plan order.
	StageProgress []StageProgress
}

// StageProgress is one stage of a Progress.
type StageProgress struct {
	// ID is the plan's stage id; Input its input kind.
	ID, Input string
	// Elements counts the input elements of committed bundles; Pending
	// those waiting for a bundle; Queued and Running count bundles.
	Elements        int64
	Pending         int
	Queued, Running int
	Done, Unbounded bool
	// OutputWatermark is the stage's output watermark; zero while it is
	// at the start of time (and after Done).
	OutputWatermark time.Time
	// ReadDone and ReadRemaining sum the work done and left of the
	// splittable reads running in the stage, in their trackers' units.
	ReadDone, ReadRemaining float64
}

// SideInputData supplies the contents of side inputs: the nested encodings
// of the elements of side input local of transform transformID in window w,
// concatenated. It has the method of fnapi/exec's SideInputData, so the
// engine's implementation serves the in-process bundle executor as well.
type SideInputData interface {
	SideInput(ctx context.Context, transformID, local string, w window.Window) ([]byte, error)
}

// Bundle is the data of one bundle, as the engine hands it to a Processor.
// It has the fields of fnapi/exec's Bundle, which the local runner converts
// it to, so that the engine does not link the bundle executor.
type Bundle struct {
	// Inputs yields, per source transform id, chunks of concatenated
	// encoded windowed values.
	Inputs map[string]iter.Seq2[[]byte, error]
	// Output returns the writer of a sink transform; each call gets one
	// encoded windowed value, valid only during the call.
	Output func(sinkID string) func([]byte) error
	// OutputValue returns a sink's writer of elements whose header comes
	// decoded beside the encoded windowed value (v.Elem is the element's
	// encoding at the end of the bytes; both are valid only during the
	// call), or nil where the sink needs the bytes alone. An in-process
	// executor that has the header's fields at hand uses it, so that the
	// engine need not decode what was just encoded; the others use Output.
	OutputValue func(sinkID string) func(b []byte, v window.Value[[]byte]) error
	// SideInputs supplies side input data (nil if the stage has none).
	SideInputs SideInputData
	// Metrics receives user metrics (nil: a fresh store per bundle).
	Metrics *metrics.Store
	// Splits, when non-nil, receives the splittable work that starts while
	// the bundle runs, with the index (in the bundle's input) of the element
	// whose processing started it.
	Splits func(index int64, t operator.SplitTracker) (done func())
	// Checkpoint receives the rest of the work of elements whose DoFn
	// stopped early (an unbounded read that checkpointed): the engine
	// queues it as a new bundle of the stage once this one commits, not
	// before its ResumeAfter, holding the stage's watermarks at its
	// Watermark meanwhile.
	Checkpoint func(operator.Checkpoint)
	// Finalize receives functions to call once the bundle is committed
	// (bundle finalization); they run after the commit, outside the
	// job's lock, and their errors are logged, not retried.
	Finalize func(func(context.Context) error)
	// State serves the user state of a keyed stage's stateful ParDo (nil
	// for other stages).
	State operator.StateAccess
	// Timers receives the timers that the stateful ParDo sets or clears:
	// its transform id, the timer family and one encoded
	// beam:coder:timer:v1 value (or several, concatenated), valid only
	// during the call.
	Timers func(transformID, family string, encoded []byte) error
	// FireTimers yields the timers to fire after the inputs are read, one
	// at a time: the next is chosen only after the previous one's callback
	// ran (and set its timers).
	FireTimers iter.Seq2[TimerInput, error]
	// TimerBatch, set with FireTimers, is what an executor that sends a
	// bundle's timers to an SDK all at once (the Fn API's data plane) uses
	// instead of FireTimers: at most one timer per key, so that the
	// timers that callbacks set are seen by later bundles. Call it once,
	// before the bundle runs; use either it or FireTimers, not both.
	TimerBatch func() (TimerBatch, error)
}

// TimerInput is one timer to fire: an encoded beam:coder:timer:v1 value
// of family of transform TransformID. It has the fields of fnapi/exec's
// TimerInput.
type TimerInput struct {
	TransformID, Family string
	Encoded             []byte
}

// Processor runs bundles of one stage, one at a time. A processor whose
// bundle failed is torn down and not used again.
type Processor interface {
	// Process runs one bundle.
	Process(ctx context.Context, b Bundle) error
	// Elements returns the elements read per source transform so far.
	Elements() map[string]int64
	// Teardown releases the processor.
	Teardown(ctx context.Context) error
}

// MetricsReporter is implemented by processors whose bundles report their
// user metrics themselves (say, as monitoring infos from a worker) rather
// than into Bundle.Metrics: after a successful Process, the engine
// merges BundleMetrics into the job's metrics.
type MetricsReporter interface {
	BundleMetrics() metrics.Snapshot
}

// Executor makes the processors that run stages.
type Executor interface {
	// Endpoints returns the data and state endpoints to put in
	// descriptors (nil for in-process execution).
	Endpoints() (data, state *pipepb.ApiServiceDescriptor)
	// NewProcessor returns a processor for bundles of the stage described
	// by desc and wiring.
	NewProcessor(desc *fnpb.ProcessBundleDescriptor, wiring *plan.Wiring) (Processor, error)
}

// AccumulatorMergers is implemented by executors that run a lifted
// combine's CombineFn in the runner's process (the local runner's): the
// streaming GroupByKey of a lifted combine then merges a window's
// accumulators as it buffers them (reduce.Reducer.SetMerger), so that a
// window holds a few, not one per bundle that reached it for as long as it
// lives, and its panes carry as few.
type AccumulatorMergers interface {
	// AccumulatorMerger returns a merger of combineFn's encoded
	// accumulators (plan.Input.CombineFn), or nil if it has none for it.
	// The engine asks for one per part of the GroupByKey; each is used by
	// one goroutine at a time.
	AccumulatorMerger(combineFn *pipepb.FunctionSpec) (Merger, error)
}

// Merger merges encoded accumulators into one; see reduce.Merger.
type Merger = reduce.Merger

// Run executes pl and returns the job's metrics and counts, or the first
// error. Stages run concurrently as their input becomes ready (see the
// package doc); Run returns when every stage's output watermark reached
// the end of time, when a bundle failed every attempt, when the job cannot
// make progress (a *StuckError), or when ctx is done (ctx's error).
func Run(ctx context.Context, pl *plan.Plan, opts Options, ex Executor) (*Result, error) {
	start := time.Now()
	if opts.Prefix == "" {
		opts.Prefix = "engine"
	}
	dir, err := os.MkdirTemp(opts.TempDir, "beamgo-"+opts.Prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: temp dir: %w", opts.Prefix, err)
	}
	defer os.RemoveAll(dir)
	j, err := newJob(opts, pl, ex, dir, start)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Prefix, err)
	}
	if opts.Monitor != nil {
		opts.Monitor.attach(j)
	}
	stop := j.reportProgress(start)
	err = j.run(ctx)
	stop()
	if cerr := j.close(ctx); err == nil {
		err = cerr
	}
	if opts.Monitor != nil {
		opts.Monitor.finish(err)
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", opts.Prefix, err)
	}
	return j.result(), nil
}

// PrefixSplitter returns a function that cuts the front of a part of a
// stream of concatenated windowed values, encoded with the windowed value
// coder id among coders, into its elements, and returns the rest: the
// start of an element the stream's next part completes.
func PrefixSplitter(coders map[string]*pipepb.Coder, id string) (func(chunk []byte) (elems [][]byte, rest []byte, err error), error) {
	w, err := portWire(coders, id)
	if err != nil {
		return nil, err
	}
	return w.splitPrefix, nil
}

// Splitter returns a function that cuts a chunk of concatenated windowed
// values, encoded with the windowed value coder id among coders (a data
// port's coder), into its elements.
func Splitter(coders map[string]*pipepb.Coder, id string) (func(chunk []byte) ([][]byte, error), error) {
	w, err := portWire(coders, id)
	if err != nil {
		return nil, err
	}
	return w.split, nil
}
