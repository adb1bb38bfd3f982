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
// Stages run one after another in plan order. The bundles of a stage run on
// Options.Parallelism goroutines, each with its own operator instances
// (DoFn copies). A Runner is safe for concurrent use; each Run is a job.
package local

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"beamgo/proto/translate"
	"beamgo/proto/urns"
	"beamgo/proto/validate"
	"beamgo/runner"
	"beamgo/runner/internal/plan"
	"beamgo/sdk"
)

// Options configure a Runner; the zero value means defaults.
type Options struct {
	// Parallelism is how many bundles run at once (default: the number of CPUs).
	Parallelism int
	// MemoryBudget bounds the bytes of shuffle data held in memory before
	// it spills to disk (default 256 MiB).
	MemoryBudget int64
	// MaxAttempts is how often a bundle is tried before the job fails
	// (default 3).
	MaxAttempts int
	// TempDir holds shuffle spills (default: os.TempDir()).
	TempDir string
	// Progress, when non-nil, receives a progress line about once a second.
	Progress func(Progress)
	// DisableLifting runs combines without pre-combining.
	DisableLifting bool
	// DisableDynamicSplitting turns off splitting running reads when cores idle.
	DisableDynamicSplitting bool
}

// Progress is a snapshot of a running job.
type Progress struct {
	StagesDone, Stages int
	Elements           int64
	Elapsed            time.Duration
}

// Runner runs pipelines in this process. It implements runner.Runner.
type Runner struct {
	opts Options
}

// New returns a runner; opts may be nil.
func New(opts *Options) *Runner {
	r := &Runner{}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Parallelism <= 0 {
		r.opts.Parallelism = runtime.NumCPU()
	}
	if r.opts.MemoryBudget <= 0 {
		r.opts.MemoryBudget = 256 << 20
	}
	if r.opts.MaxAttempts <= 0 {
		r.opts.MaxAttempts = 3
	}
	if r.opts.TempDir == "" {
		r.opts.TempDir = os.TempDir()
	}
	return r
}

// Run executes p and returns its metrics, or the first error: a
// construction error, an invalid pipeline, or a bundle that failed every
// attempt (naming the transform, the stage and the element).
func (r *Runner) Run(ctx context.Context, p *sdk.Pipeline) (*runner.Result, error) {
	start := time.Now()
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
		return nil, fmt.Errorf("local: plan: %w", err)
	}
	dir, err := os.MkdirTemp(r.opts.TempDir, "beamgo-local-")
	if err != nil {
		return nil, fmt.Errorf("local: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	j, err := newJob(r.opts, pl, p.Graph(), dir)
	if err != nil {
		return nil, err
	}
	defer j.close()
	stop := j.reportProgress(start)
	defer stop()
	for i, st := range pl.Stages {
		if err := j.runStage(ctx, i, st); err != nil {
			return nil, err
		}
		j.stagesDone.Add(1)
	}
	return j.result(), nil
}

// Execute runs p on a local runner with default options and fails with the
// job's error; it is the one-line entry point for programs and examples.
func Execute(ctx context.Context, p *sdk.Pipeline) (*runner.Result, error) {
	return New(nil).Run(ctx, p)
}

var _ runner.Runner = (*Runner)(nil)
