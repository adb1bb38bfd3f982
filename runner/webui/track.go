package webui

import (
	"context"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/runner/internal/engine"
	"github.com/beamgo-dev/beamgo/runner/internal/jobopts"
)

// Tracked is a run that Server.Track shows. It is safe for concurrent
// use.
type Tracked struct {
	// Monitor is the monitor to put in the engine's options.
	Monitor *engine.Monitor
	// OnLog records the log entries of the run's SDK workers on the job's
	// log (see Job.WorkerLog); it fits the portable runners' OnLog.
	OnLog func(workerID string, e *fnpb.LogEntry)

	job    *Job
	ctx    context.Context
	cancel context.CancelFunc
	drain  chan struct{}
	once   sync.Once
}

// Track shows a run of a runner that is about to start, with cancel and
// drain buttons. It returns the context to run the job in (cancelled by
// the cancel button) and the Tracked run, and it sets up the run's options
// in job: job.Drain is closed by the drain button or by the drain channel
// job had, and job.Logf records on the job's log as well as calling the
// function job had. The job's name may be empty; opening, if not empty,
// is the job's first log message. The caller reports the run's end with
// Tracked.End.
func (s *Server) Track(ctx context.Context, name, runner, opening string, job *jobopts.Job) (context.Context, *Tracked) {
	ctx, cancel := context.WithCancel(ctx)
	t := &Tracked{Monitor: engine.NewMonitor(), ctx: ctx, cancel: cancel, drain: make(chan struct{})}
	t.job = s.Add(JobInfo{Name: name, Runner: runner, Monitor: t.Monitor, Cancel: cancel, Drain: t.closeDrain})
	t.OnLog = t.job.WorkerLog
	if opening != "" {
		t.job.Log("info", opening)
	}
	if own := job.Drain; own != nil {
		// The caller's drain drains the job too, and shows it on the UI.
		go func() {
			select {
			case <-own:
				t.job.drain()
			case <-ctx.Done():
			}
		}()
	}
	job.Drain = t.drain
	if own := job.Logf; own != nil {
		job.Logf = func(format string, args ...any) {
			own(format, args...)
			t.job.Logf(format, args...)
		}
	} else {
		job.Logf = t.job.Logf
	}
	return ctx, t
}

// closeDrain closes the drain channel once.
func (t *Tracked) closeDrain() { t.once.Do(func() { close(t.drain) }) }

// End records the run's end, with its error (nil if it succeeded), and
// releases the run's context.
func (t *Tracked) End(err error) {
	t.job.Finish(err, err != nil && t.ctx.Err() != nil)
	t.cancel()
}
