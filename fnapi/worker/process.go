package worker

import (
	"context"

	"github.com/beamgo-dev/beamgo/fnapi/workerproc"
)

// ProcessOptions configure StartProcess and StartPool; the zero value means
// defaults. They are fnapi/workerproc's, where starting worker processes
// lives, apart from the harness and the user SDK.
type ProcessOptions = workerproc.Options

// Process is a started worker or worker-pool process (fnapi/workerproc).
type Process = workerproc.Process

// StartProcess starts a worker the way a runner starts a PROCESS
// environment: opts.Command with the arguments --id=<id> and
// --provision_endpoint=<provision>; see workerproc.Start.
func StartProcess(id, provision string, opts *ProcessOptions) (*Process, error) {
	return workerproc.Start(id, provision, opts)
}

// StartPool starts a worker pool, a process with PoolVar=addr in its
// environment, and returns the address it listens on; see
// workerproc.StartPool.
func StartPool(ctx context.Context, addr string, opts *ProcessOptions) (*Process, string, error) {
	return workerproc.StartPool(ctx, addr, opts)
}
