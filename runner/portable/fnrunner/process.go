package fnrunner

import (
	"context"
	"errors"
	"io"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/workerproc"
)

// ProcessOptions configure Process; the zero value means defaults.
type ProcessOptions struct {
	// Command is the worker executable (default: this program). Any
	// program that serves the Fn API when started with --id=<id>
	// --provision_endpoint=<endpoint>, as a Beam PROCESS environment is,
	// will do.
	Command string
	// Env is added to the workers' environment, which is otherwise this
	// process's.
	Env map[string]string
	// Output receives the workers' stdout and stderr a line at a time, each
	// line prefixed with Prefix and the worker id (default os.Stderr). It
	// must be safe for concurrent use.
	Output io.Writer
	// Prefix starts each output line, before the worker id.
	Prefix string
}

// Process returns a WorkerStarter that starts each worker as a process of
// Options.Command (fnapi/workerproc). The provision endpoint it is given is
// the control endpoint, where fnapi/service also serves provisioning.
// Stopping a worker waits for it to exit after the runner ends its control
// stream, then ends it by its pid (SIGTERM, then SIGKILL) and reaps it. A
// worker process that exits before it connects fails the job at once.
func Process(opts *ProcessOptions) WorkerStarter {
	var o ProcessOptions
	if opts != nil {
		o = *opts
	}
	return func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		p, err := workerproc.Start(id, control.GetUrl(), &workerproc.Options{
			Command: o.Command, Env: o.Env, Output: o.Output, Prefix: o.Prefix + id + ": ",
		})
		if err != nil {
			return nil, err
		}
		if report, ok := ctx.Value(exitKey{}).(func(workerExit)); ok {
			go func() {
				<-p.Done()
				report(workerExit{id: id, err: p.Err()})
			}()
		}
		return func() { p.Stop() }, nil
	}
}

// exitKey is the context key under which Run hands its starters a
// func(workerExit), so that a worker process that dies before it connects
// fails the job at once instead of after Options.WorkerTimeout.
type exitKey struct{}

// workerExit reports that a worker process ended.
type workerExit struct {
	id  string
	err error
}

// errExited is wrapped by the error of a job whose worker exited before
// the job started.
var errExited = errors.New("exited before the job started")
