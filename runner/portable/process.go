package portable

import (
	"context"
	"io"
	"maps"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
)

// Environment types for Options.EnvironmentType, as Beam's
// --environment_type flag spells them.
const (
	// EnvLoopback runs workers on goroutines of this process.
	EnvLoopback = "LOOPBACK"
	// EnvProcess runs each worker as this program started again in worker
	// mode (fnapi/worker).
	EnvProcess = "PROCESS"
	// EnvExternal asks the worker pool at Options.ExternalEndpoint to run
	// the workers (External).
	EnvExternal = "EXTERNAL"
)

// ProcessOptions configure Process; the zero value means defaults.
type ProcessOptions struct {
	// Command is the worker executable (default: this program, in worker
	// mode). Any program that serves the Fn API when started with
	// --id=<id> --provision_endpoint=<endpoint>, as a Beam PROCESS
	// environment is, will do.
	Command string
	// Args are the arguments the workers' main sees when Command is empty
	// (default: this process's, os.Args[1:]). The program must build the
	// same pipeline from them; a test binary passes ones that select the
	// test that runs the job (see fnapi/worker).
	Args []string
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

// Process returns a WorkerStarter that starts each worker as a process:
// by default this program in worker mode, which rebuilds the pipeline from
// its arguments and serves it where it would run it (fnapi/worker); with
// a Command, that program (fnrunner.Process). The provision endpoint it is
// given is the control endpoint, where fnapi/service also serves
// provisioning. Stopping a worker waits for it to exit after the runner
// ends its control stream, then ends it by its pid (SIGTERM, then SIGKILL)
// and reaps it.
func Process(opts *ProcessOptions) WorkerStarter {
	var o ProcessOptions
	if opts != nil {
		o = *opts
	}
	return func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		env := maps.Clone(o.Env)
		if o.Command == "" {
			self, err := worker.Env(o.Args)
			if err != nil {
				return nil, err
			}
			if env == nil {
				env = map[string]string{}
			}
			maps.Copy(env, self)
		}
		start := fnrunner.Process(&fnrunner.ProcessOptions{Command: o.Command, Env: env, Output: o.Output, Prefix: o.Prefix})
		return start(ctx, id, control)
	}
}
