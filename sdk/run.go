package sdk

import (
	"context"
	"errors"
	"slices"
)

// RunHook is code that a transform attaches to each run of its pipeline, in
// the process that submits the run (never in a worker): the runner calls it
// as the run begins, before any bundle, and runs the job with the context
// it returns; the RunEnd it returns is called once the run has ended. A
// Write that must clean up after a failed job registers one (see
// filebased.Write).
//
// Hooks must be safe for concurrent use: a pipeline may be run more than
// once at a time.
type RunHook func(ctx context.Context) (context.Context, RunEnd)

// RunEnd is called with the outcome of a run (nil, or the error the runner
// returns) after the run has ended: every bundle finished or was abandoned,
// and the workers that the runner started have stopped. ctx is not
// cancelled, even when the run was; RunEnd bounds its own work. Its error
// is joined to the run's, after it.
type RunEnd func(ctx context.Context, runErr error) error

// OnRun registers h to be called around every run of p. Construction code
// calls it; construction in a worker process registers the same hooks,
// which are never called there.
func (p *Pipeline) OnRun(h RunHook) {
	if h != nil {
		p.hooks = append(p.hooks, h)
	}
}

// StartRun is for runners: it calls the hooks registered with OnRun, in
// order, and returns the context to run the job with and the function to
// call with the run's error once the run has ended (its workers stopped).
// That function calls the hooks' RunEnds in reverse order and returns
// runErr joined with their errors. Runners call StartRun after the
// pipeline's construction errors were reported, only in the submitting
// process, and for every run they start, cancelled and failed ones
// included.
func (p *Pipeline) StartRun(ctx context.Context) (context.Context, func(runErr error) error) {
	ends := make([]RunEnd, 0, len(p.hooks))
	for _, h := range p.hooks {
		var end RunEnd
		ctx, end = h(ctx)
		if end != nil {
			ends = append(ends, end)
		}
	}
	return ctx, func(runErr error) error {
		var errs []error
		for _, end := range slices.Backward(ends) {
			if err := end(context.WithoutCancel(ctx), runErr); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			return runErr // unchanged, so that callers may compare it
		}
		return errors.Join(append([]error{runErr}, errs...)...)
	}
}
