package fnrunner

import (
	"context"
	"errors"
	"fmt"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Timeouts of the calls External makes to a worker pool.
const (
	// StartWorkerTimeout bounds a StartWorker call.
	StartWorkerTimeout = time.Minute
	// StopWorkerTimeout bounds a StopWorker call.
	StopWorkerTimeout = 10 * time.Second
)

// External returns a WorkerStarter that asks the BeamFnExternalWorkerPool
// at endpoint (host:port) to start each worker, with this job's control
// endpoint as its control, logging and provision endpoint, and to stop it
// when the job ends. Any Beam worker pool will do: a program of this SDK
// in worker-pool mode (fnapi/worker), which builds the same pipeline as
// the submitter, or another SDK's. The worker ids Run gives are unique per
// job, so that jobs may share a pool.
func External(endpoint string) WorkerStarter {
	return func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		cc, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("worker pool %s: %w", endpoint, err)
		}
		pool := fnpb.NewBeamFnExternalWorkerPoolClient(cc)
		sctx, cancel := context.WithTimeout(ctx, StartWorkerTimeout)
		defer cancel()
		resp, err := pool.StartWorker(sctx, &fnpb.StartWorkerRequest{
			WorkerId: id, ControlEndpoint: control, LoggingEndpoint: control, ProvisionEndpoint: control,
		})
		if err == nil && resp.GetError() != "" {
			err = errors.New(resp.GetError())
		}
		if err != nil {
			cc.Close()
			return nil, fmt.Errorf("worker pool %s: %w", endpoint, err)
		}
		return func() {
			defer cc.Close()
			sctx, cancel := context.WithTimeout(context.Background(), StopWorkerTimeout)
			defer cancel()
			// The pool may be gone already (a LOOPBACK submitter returned,
			// an EXTERNAL pool was stopped); its workers went with it, so
			// an error here changes nothing.
			pool.StopWorker(sctx, &fnpb.StopWorkerRequest{WorkerId: id})
		}, nil
	}
}
