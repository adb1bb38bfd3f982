package jobservice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"beamgo/proto/urns"
	"beamgo/runner/portable"
)

// workerPool returns the endpoint of the external worker pool that runs
// p's user code: the environments of p's transforms must all be
// beam:env:external:v1 with the same endpoint.
func workerPool(p *pipepb.Pipeline) (string, error) {
	envs := p.GetComponents().GetEnvironments()
	used := map[string]bool{}
	for _, t := range p.GetComponents().GetTransforms() {
		if id := t.GetEnvironmentId(); id != "" {
			used[id] = true
		}
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	endpoint := ""
	for _, id := range ids {
		env, ok := envs[id]
		if !ok {
			return "", fmt.Errorf("environment %q is not in the pipeline's components", id)
		}
		if env.GetUrn() != urns.EnvExternal {
			return "", fmt.Errorf("environment %q has type %q; this job server runs only %s (LOOPBACK) workers", id, env.GetUrn(), urns.EnvExternal)
		}
		var pl pipepb.ExternalPayload
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return "", fmt.Errorf("environment %q: bad external payload: %w", id, err)
		}
		url := pl.GetEndpoint().GetUrl()
		if url == "" {
			return "", fmt.Errorf("environment %q: external payload has no endpoint", id)
		}
		if endpoint != "" && url != endpoint {
			return "", fmt.Errorf("environments use two worker pools, %q and %q", endpoint, url)
		}
		endpoint = url
	}
	if endpoint == "" {
		return "", errors.New("no transform names an environment to run its user code in")
	}
	return endpoint, nil
}

// externalWorkers returns a WorkerStarter that asks the worker pool at
// endpoint to start each worker, and to stop it when the job ends.
func externalWorkers(endpoint string) portable.WorkerStarter {
	return func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		cc, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("jobservice: worker pool %s: %w", endpoint, err)
		}
		pool := fnpb.NewBeamFnExternalWorkerPoolClient(cc)
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		resp, err := pool.StartWorker(sctx, &fnpb.StartWorkerRequest{
			WorkerId: id, ControlEndpoint: control, LoggingEndpoint: control,
		})
		if err == nil && resp.GetError() != "" {
			err = errors.New(resp.GetError())
		}
		if err != nil {
			cc.Close()
			return nil, fmt.Errorf("jobservice: worker pool %s: start worker %s: %w", endpoint, id, err)
		}
		return func() {
			defer cc.Close()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The pool may be gone already (its submitter returned); the
			// worker then went with it, so an error here changes nothing.
			pool.StopWorker(sctx, &fnpb.StopWorkerRequest{WorkerId: id})
		}, nil
	}
}
