package universal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/fnapi/workerpool"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Environment types, as Beam's --environment_type flag spells them.
const (
	Loopback = "LOOPBACK"
	Process  = "PROCESS"
	External = "EXTERNAL"
)

// Options configure a Runner.
type Options struct {
	// Endpoint is the JobService address (host:port). Required.
	Endpoint string
	// EnvironmentType is where workers run: Loopback (the default),
	// Process or External.
	EnvironmentType string
	// ExternalEndpoint is the address (host:port) of the worker pool that
	// runs the workers for External, which requires it: Beam's
	// --environment_config for EXTERNAL. The job server, not this
	// process, calls the pool.
	ExternalEndpoint string
	// WorkerArgs are the arguments the main of a Process worker sees
	// (default: this process's, os.Args[1:]); the program must build the
	// same pipeline from them (see fnapi/worker).
	WorkerArgs []string
	// JobName names the job (default: "beamgo-" and the time).
	JobName string
	// Logger receives job messages and the workers' logs (default:
	// slog.Default()).
	Logger *slog.Logger
	// CancelTimeout bounds the Cancel call made when ctx ends (default 10s).
	CancelTimeout time.Duration
	// AuthToken, if set, is sent with every call to the job server and its
	// artifact staging endpoint as gRPC metadata
	// "authorization: Bearer <AuthToken>", as this project's job server
	// requires when it has a token (jobservice.Options.AuthToken).
	AuthToken string
	// CheckpointDir, when set, makes the job durable on the job server:
	// it is sent as the pipeline option checkpoint_dir (with
	// CheckpointInterval and CheckpointFresh, when set, as
	// checkpoint_interval and checkpoint_fresh). This project's job server
	// takes it when started with --checkpoint_root, under which it must
	// lie (a relative path is taken from there); the job writes a snapshot
	// there every CheckpointInterval, a job submitted again with the same
	// directory resumes from the newest, and a job server started again
	// with its --jobs_dir runs the job again by itself.
	CheckpointDir      string
	CheckpointInterval time.Duration
	CheckpointFresh    bool
	// Reconnect is how long Run waits for a job server whose connection
	// broke while it followed the job to answer again, and then follows
	// the job again under the same id: a job server started again with its
	// --jobs_dir runs checkpointed jobs again (default: DefaultReconnect
	// when CheckpointDir is set, otherwise 0; negative: never).
	Reconnect time.Duration
}

// DefaultReconnect is Options.Reconnect's default for checkpointed jobs.
const DefaultReconnect = 2 * time.Minute

// Runner submits pipelines to a JobService. It implements runner.Runner.
type Runner struct {
	opts Options
}

// New returns a runner; opts.Endpoint is required.
func New(opts *Options) *Runner {
	r := &Runner{}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.EnvironmentType == "" {
		r.opts.EnvironmentType = Loopback
	}
	if r.opts.Logger == nil {
		r.opts.Logger = slog.Default()
	}
	if r.opts.CancelTimeout <= 0 {
		r.opts.CancelTimeout = 10 * time.Second
	}
	if r.opts.Reconnect == 0 && r.opts.CheckpointDir != "" {
		r.opts.Reconnect = DefaultReconnect
	}
	return r
}

// Run submits p and waits for it to finish. It returns the job's user
// metrics, or an error: a construction error, a JobService that cannot be
// reached or refuses the job, or the job's failure with the runner's error
// text.
//
// In a worker process (fnapi/worker.Active), as a PROCESS worker is, Run
// does not submit: it serves p as the worker's SDK harness until the
// runner stops the worker, and then exits the process (status 0, or 1
// after printing the error). In a worker-pool process
// (fnapi/worker.PoolActive), it serves a worker pool for p, the EXTERNAL
// workers of submissions of the same pipeline, until SIGTERM or SIGINT,
// and then exits the same way.
func (r *Runner) Run(ctx context.Context, p *sdk.Pipeline) (_ *runner.Result, err error) {
	if worker.Active() {
		worker.ServeAndExit(ctx, p)
	}
	if worker.PoolActive() {
		worker.ServePoolAndExit(ctx, p)
	}
	if r.opts.Endpoint == "" {
		return nil, errors.New("universal: Options.Endpoint is required")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	// After a failure, transforms clean up (sdk.RunHook), once LOOPBACK workers stopped.
	ctx, finish := p.StartRun(ctx)
	defer func() { err = finish(err) }()
	arts := placeholderArtifacts()
	var env *pipepb.Environment
	switch strings.ToUpper(r.opts.EnvironmentType) {
	case Loopback:
		pool, err := workerpool.New(p, &workerpool.Options{Logger: r.opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("universal: %w", err)
		}
		defer func() {
			if err := pool.Close(); err != nil {
				r.opts.Logger.Warn("universal: stopping workers", "error", err)
			}
		}()
		if env, err = externalEnvironment(pool.Addr(), arts); err != nil {
			return nil, err
		}
	case Process:
		var err error
		if env, err = processEnvironment(r.opts.WorkerArgs, arts); err != nil {
			return nil, err
		}
	case External:
		if r.opts.ExternalEndpoint == "" {
			return nil, errors.New("universal: environment type EXTERNAL needs Options.ExternalEndpoint, the worker pool's host:port")
		}
		var err error
		if env, err = externalEnvironment(r.opts.ExternalEndpoint, arts); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("universal: environment type %q is not supported (have %s, %s and %s)", r.opts.EnvironmentType, Loopback, Process, External)
	}
	pb, err := translate.ToProto(p, &translate.Options{Environment: env})
	if err != nil {
		return nil, err
	}
	if err := validate.Pipeline(pb, nil); err != nil {
		return nil, fmt.Errorf("universal: invalid pipeline: %w", err)
	}
	cc, err := dial(r.opts.Endpoint, r.opts.AuthToken)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	j := &job{opts: r.opts, client: jobpb.NewJobServiceClient(cc), pipeline: pb, artifacts: arts}
	return j.run(ctx)
}

// dial connects to a job service with generous message limits, sending
// token, if set, as a bearer token with every call.
func dial(endpoint, token string) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(harness.MaxMessageSize), grpc.MaxCallSendMsgSize(harness.MaxMessageSize)),
	}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	cc, err := grpc.NewClient(endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("universal: dial %s: %w", endpoint, err)
	}
	return cc, nil
}

// bearer sends a token as "authorization: Bearer <token>" metadata. It
// allows connections without transport security, as the job server's
// are: the token protects against other clients, not eavesdroppers.
type bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (bearer) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = bearer("")

// externalEnvironment is the environment of workers served by the pool at
// addr, with the artifacts the job server will ask for.
func externalEnvironment(addr string, arts *artifacts) (*pipepb.Environment, error) {
	payload, err := proto.Marshal(&pipepb.ExternalPayload{Endpoint: &pipepb.ApiServiceDescriptor{Url: addr}})
	if err != nil {
		return nil, fmt.Errorf("universal: environment payload: %w", err)
	}
	return &pipepb.Environment{
		Urn:          urns.EnvExternal,
		Payload:      payload,
		Capabilities: translate.Capabilities(),
		Dependencies: arts.infos(),
	}, nil
}

// processEnvironment is the environment of workers that are this program
// started again in worker mode, with args as their arguments.
func processEnvironment(args []string, arts *artifacts) (*pipepb.Environment, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("universal: find this program: %w", err)
	}
	env, err := worker.Env(args)
	if err != nil {
		return nil, fmt.Errorf("universal: %w", err)
	}
	payload, err := proto.Marshal(&pipepb.ProcessPayload{Command: self, Env: env})
	if err != nil {
		return nil, fmt.Errorf("universal: environment payload: %w", err)
	}
	return &pipepb.Environment{
		Urn:          urns.EnvProcess,
		Payload:      payload,
		Capabilities: translate.Capabilities(),
		Dependencies: arts.infos(),
	}, nil
}

// job is one submission.
type job struct {
	opts      Options
	client    jobpb.JobServiceClient
	pipeline  *pipepb.Pipeline
	artifacts *artifacts
}

func (j *job) run(ctx context.Context) (*runner.Result, error) {
	name := j.opts.JobName
	if name == "" {
		name = "beamgo-" + time.Now().UTC().Format("20060102-150405.000000")
	}
	opts := map[string]any{
		"beam:option:job_name:v1":         name,
		"beam:option:environment_type:v1": j.opts.EnvironmentType,
	}
	if strings.EqualFold(j.opts.EnvironmentType, External) {
		opts["beam:option:environment_config:v1"] = j.opts.ExternalEndpoint
	}
	if j.opts.CheckpointDir != "" {
		opts["beam:option:checkpoint_dir:v1"] = j.opts.CheckpointDir
		if j.opts.CheckpointInterval > 0 {
			opts["beam:option:checkpoint_interval:v1"] = j.opts.CheckpointInterval.String()
		}
		if j.opts.CheckpointFresh {
			opts["beam:option:checkpoint_fresh:v1"] = true
		}
	}
	options, err := structpb.NewStruct(opts)
	if err != nil {
		return nil, fmt.Errorf("universal: pipeline options: %w", err)
	}
	prep, err := j.client.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: j.pipeline, PipelineOptions: options, JobName: name})
	if err != nil {
		return nil, fmt.Errorf("universal: prepare job on %s: %w", j.opts.Endpoint, err)
	}
	token := prep.GetStagingSessionToken()
	if ep := prep.GetArtifactStagingEndpoint().GetUrl(); ep != "" {
		if err := j.stage(ctx, ep, token); err != nil {
			return nil, err
		}
	}
	run, err := j.client.Run(ctx, &jobpb.RunJobRequest{PreparationId: prep.GetPreparationId(), RetrievalToken: token})
	if err != nil {
		return nil, fmt.Errorf("universal: run job: %w", err)
	}
	id := run.GetJobId()
	if err := j.wait(ctx, id); err != nil {
		if ctx.Err() != nil {
			j.cancel(id)
			return nil, fmt.Errorf("universal: job %s: %w", id, context.Cause(ctx))
		}
		return nil, err
	}
	return j.result(ctx, id)
}

// stage serves the job server's artifact requests.
func (j *job) stage(ctx context.Context, endpoint, token string) error {
	cc, err := dial(endpoint, j.opts.AuthToken)
	if err != nil {
		return err
	}
	defer cc.Close()
	if err := j.artifacts.serve(ctx, jobpb.NewArtifactStagingServiceClient(cc), token); err != nil {
		return fmt.Errorf("universal: stage artifacts: %w", err)
	}
	return nil
}

// wait follows the job's messages until it reaches a terminal state,
// following it again on a job server that comes back within
// Options.Reconnect after the connection broke.
func (j *job) wait(ctx context.Context, id string) error {
	for {
		err := j.follow(ctx, id)
		if err == nil || j.opts.Reconnect <= 0 || ctx.Err() != nil || status.Code(errors.Unwrap(err)) != codes.Unavailable {
			return err
		}
		j.opts.Logger.Warn("universal: lost the job server; waiting for it to come back", "job", id, "endpoint", j.opts.Endpoint, "wait", j.opts.Reconnect, "error", err)
		if err := j.rejoin(ctx, id); err != nil {
			return err
		}
	}
}

// rejoin waits, up to Options.Reconnect, until the job server answers
// for the job again.
func (j *job) rejoin(ctx context.Context, id string) error {
	wctx, cancel := context.WithTimeout(ctx, j.opts.Reconnect)
	defer cancel()
	for {
		st, err := j.client.GetState(wctx, &jobpb.GetJobStateRequest{JobId: id}, grpc.WaitForReady(true))
		switch {
		case err == nil:
			j.opts.Logger.Info("universal: the job server is back; following the job again", "job", id, "state", st.GetState())
			return nil
		case status.Code(err) == codes.NotFound:
			return fmt.Errorf("universal: job %s: the job server came back without the job (a job server runs a job again after a restart when it has --jobs_dir and the job a checkpoint directory): %w", id, err)
		case wctx.Err() != nil:
			if ctx.Err() != nil {
				return fmt.Errorf("universal: job %s: %w", id, context.Cause(ctx))
			}
			return fmt.Errorf("universal: job %s: the job server did not come back within %v (Options.Reconnect): %w", id, j.opts.Reconnect, err)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-wctx.Done():
		}
	}
}

// follow follows the job's messages until it reaches a terminal state. A
// failed job's error is the last error message the job server sent; Beam
// job servers send it after (or before) the FAILED state. A broken stream
// is an error wrapping the gRPC status.
func (j *job) follow(ctx context.Context, id string) error {
	stream, err := j.client.GetMessageStream(ctx, &jobpb.JobMessagesRequest{JobId: id})
	if err != nil {
		return fmt.Errorf("universal: job %s: message stream: %w", id, err)
	}
	var lastError string
	failed := false
	fail := func() error {
		if lastError == "" {
			lastError = "(the job server sent no error message)"
		}
		return fmt.Errorf("universal: job %s failed: %s", id, lastError)
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if failed {
					return fail()
				}
				return j.finalState(ctx, id)
			}
			return fmt.Errorf("universal: job %s: message stream: %w", id, err)
		}
		if m := msg.GetMessageResponse(); m != nil {
			j.opts.Logger.Log(ctx, level(m.GetImportance()), "universal: job message", "job", id, "text", m.GetMessageText())
			if m.GetImportance() >= jobpb.JobMessage_JOB_MESSAGE_ERROR {
				lastError = m.GetMessageText()
				if failed {
					return fail()
				}
			}
			continue
		}
		switch st := msg.GetStateResponse().GetState(); st {
		case jobpb.JobState_DONE, jobpb.JobState_DRAINED:
			// A drained job (its UI's drain button) ended as asked, with
			// its result.
			return nil
		case jobpb.JobState_FAILED:
			failed = true
			if lastError != "" {
				return fail()
			}
		case jobpb.JobState_CANCELLED, jobpb.JobState_UPDATED:
			return fmt.Errorf("universal: job %s ended in state %v", id, st)
		}
	}
}

// finalState asks for the state of a job whose message stream ended
// without a terminal state.
func (j *job) finalState(ctx context.Context, id string) error {
	st, err := j.client.GetState(ctx, &jobpb.GetJobStateRequest{JobId: id})
	if err != nil {
		return fmt.Errorf("universal: job %s: state: %w", id, err)
	}
	if st.GetState() != jobpb.JobState_DONE && st.GetState() != jobpb.JobState_DRAINED {
		return fmt.Errorf("universal: job %s: message stream ended in state %v", id, st.GetState())
	}
	return nil
}

// cancel asks the job server to cancel a job, best effort.
func (j *job) cancel(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.CancelTimeout)
	defer cancel()
	if _, err := j.client.Cancel(ctx, &jobpb.CancelJobRequest{JobId: id}); err != nil {
		j.opts.Logger.Warn("universal: cancel failed", "job", id, "error", err)
	}
}

// result fetches the job's metrics.
func (j *job) result(ctx context.Context, id string) (*runner.Result, error) {
	resp, err := j.client.GetJobMetrics(ctx, &jobpb.GetJobMetricsRequest{JobId: id})
	if err != nil {
		return nil, fmt.Errorf("universal: job %s: metrics: %w", id, err)
	}
	infos := resp.GetMetrics().GetCommitted()
	if len(infos) == 0 {
		infos = resp.GetMetrics().GetAttempted()
	}
	m, err := metricsOf(infos, j.pipeline.GetComponents().GetTransforms())
	if err != nil {
		return nil, fmt.Errorf("universal: job %s: %w", id, err)
	}
	return &runner.Result{Metrics: m}, nil
}

func level(imp jobpb.JobMessage_MessageImportance) slog.Level {
	switch {
	case imp >= jobpb.JobMessage_JOB_MESSAGE_ERROR:
		return slog.LevelError
	case imp >= jobpb.JobMessage_JOB_MESSAGE_WARNING:
		return slog.LevelWarn
	case imp >= jobpb.JobMessage_JOB_MESSAGE_BASIC:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

var _ runner.Runner = (*Runner)(nil)
