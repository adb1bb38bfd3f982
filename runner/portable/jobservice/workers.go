package jobservice

import (
	"errors"
	"fmt"
	"sort"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"beamgo/proto/urns"
	"beamgo/runner/portable"
)

// workerEnvironment returns the environment that runs p's user code: the
// environments of p's transforms must all be beam:env:external:v1 with the
// same endpoint, or beam:env:process:v1 with the same command and
// variables (unless process environments are refused).
func workerEnvironment(p *pipepb.Pipeline, refuseProcess bool) (*pipepb.Environment, error) {
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
	var first *pipepb.Environment
	var firstPayload proto.Message
	for _, id := range ids {
		env, ok := envs[id]
		if !ok {
			return nil, fmt.Errorf("environment %q is not in the pipeline's components", id)
		}
		payload, err := environmentPayload(id, env, refuseProcess)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first, firstPayload = env, payload
			continue
		}
		if env.GetUrn() != first.GetUrn() || !proto.Equal(payload, firstPayload) {
			return nil, fmt.Errorf("environments %q and %q differ; this job server runs one kind of worker per job", ids[0], id)
		}
	}
	if first == nil {
		return nil, errors.New("no transform names an environment to run its user code in")
	}
	return first, nil
}

// environmentPayload checks env and returns its decoded payload.
func environmentPayload(id string, env *pipepb.Environment, refuseProcess bool) (proto.Message, error) {
	switch env.GetUrn() {
	case urns.EnvExternal:
		var pl pipepb.ExternalPayload
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return nil, fmt.Errorf("environment %q: bad external payload: %w", id, err)
		}
		if pl.GetEndpoint().GetUrl() == "" {
			return nil, fmt.Errorf("environment %q: external payload has no endpoint", id)
		}
		return &pl, nil
	case urns.EnvProcess:
		if refuseProcess {
			return nil, fmt.Errorf("environment %q has type %s, which this job server refuses (Options.RefuseProcess)", id, urns.EnvProcess)
		}
		var pl pipepb.ProcessPayload
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return nil, fmt.Errorf("environment %q: bad process payload: %w", id, err)
		}
		if pl.GetCommand() == "" {
			return nil, fmt.Errorf("environment %q: process payload has no command", id)
		}
		return &pl, nil
	}
	return nil, fmt.Errorf("environment %q has type %q; this job server runs only %s (LOOPBACK or EXTERNAL) and %s (PROCESS) workers",
		id, env.GetUrn(), urns.EnvExternal, urns.EnvProcess)
}

// starter returns the WorkerStarter of job j's worker environment: calls
// to the worker pool the external payload names, or processes of the environment's command
// whose output goes to Options.WorkerOutput, prefixed with the job id.
func (s *Server) starter(j *job) (portable.WorkerStarter, error) {
	env, err := workerEnvironment(j.pipeline, s.opts.RefuseProcess)
	if err != nil {
		return nil, err
	}
	if env.GetUrn() == urns.EnvProcess {
		var pl pipepb.ProcessPayload
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return nil, err
		}
		return portable.Process(&portable.ProcessOptions{
			Command: pl.GetCommand(), Env: pl.GetEnv(), Output: s.opts.WorkerOutput, Prefix: j.id + " ",
		}), nil
	}
	var pl pipepb.ExternalPayload
	if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
		return nil, err
	}
	return portable.External(pl.GetEndpoint().GetUrl()), nil
}
