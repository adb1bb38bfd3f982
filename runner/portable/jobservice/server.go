package jobservice

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
	"github.com/beamgo-dev/beamgo/runner/webui"
)

// Options configure a Server; the zero value means defaults, which keep
// the server to loopback clients and refuse PROCESS environments.
type Options struct {
	// Runner configures the portable runner each job runs on.
	Runner *fnrunner.Options
	// Validate lists URNs accepted beyond the standard ones; nil accepts
	// the standard Beam URNs and this SDK's. The server sets OpaqueCoders
	// in its copy whatever is given: other SDKs (Beam Python) use coders of
	// their own directly, and the planner length-prefixes every coder it
	// does not know, as Beam's runners do.
	Validate *validate.Options
	// AuthToken, if set, is the secret every call must carry as gRPC
	// metadata "authorization: Bearer <AuthToken>"; calls without it fail
	// with codes.Unauthenticated before their request is read. It is
	// required to listen on an address that is not loopback, and must be
	// at least MinTokenLength bytes. The token travels in clear text:
	// beyond a trusted network, put the server behind a TLS proxy.
	AuthToken string
	// AllowProcess lists the absolute paths of the commands (files, or
	// directories holding them) that beam:env:process:v1 environments
	// may run; symbolic links are resolved on both sides. Empty (the
	// default) refuses PROCESS environments: such a job runs the command
	// it names, as the server's user, on the server's machine.
	AllowProcess []string
	// AllowExternal lists the hosts beyond loopback whose worker pools
	// beam:env:external:v1 environments may name (AllowAnyHost for all);
	// by default the server calls only worker pools on loopback.
	AllowExternal []string
	// StagingDir is the staging root: the server stages artifacts in a
	// directory of its own under it, one subdirectory per job, removes
	// each job's when the job ends or is forgotten and its own in Stop,
	// and at Start removes those of servers that died (default: a
	// directory per user under os.TempDir()). It must be owned by this
	// user and writable by no one else.
	StagingDir string
	// MaxArtifactBytes bounds the bytes staged per job (default
	// DefaultMaxArtifactBytes).
	MaxArtifactBytes int64
	// MaxMessageSize bounds each gRPC message received or sent (default
	// DefaultMaxMessageSize); a larger request fails with
	// codes.ResourceExhausted and the server goes on serving.
	MaxMessageSize int
	// PreparedTTL is how long a prepared job waits for Run before it is
	// cancelled and forgotten (default DefaultPreparedTTL).
	PreparedTTL time.Duration
	// MaxPreparedBytes bounds the encoded size of the pipelines of jobs
	// prepared and not yet run; a Prepare past it fails with
	// codes.ResourceExhausted (default DefaultMaxPreparedBytes).
	MaxPreparedBytes int64
	// FinishedTTL, MaxFinishedJobs and MaxFinishedBytes bound the finished
	// jobs the server keeps for GetState, GetPipeline and GetJobMetrics:
	// the newest are kept while younger than FinishedTTL, no more than
	// MaxFinishedJobs of them, and their pipelines within
	// MaxFinishedBytes (defaults DefaultFinishedTTL,
	// DefaultMaxFinishedJobs, DefaultMaxFinishedBytes).
	FinishedTTL      time.Duration
	MaxFinishedJobs  int
	MaxFinishedBytes int64
	// WorkerOutput receives the output lines of PROCESS workers, prefixed
	// with the job and worker ids (default os.Stderr). It must be safe for
	// concurrent use.
	WorkerOutput io.Writer
	// Logger receives the server's start-up summary and its notes on
	// expired jobs and cleanup (default slog.Default()).
	Logger *slog.Logger
	// UI, when set, shows every job the server runs, live, with a cancel
	// button, until the server forgets it (runner/webui). The caller
	// starts and stops it.
	UI *webui.Server
	// CheckpointRoot, when set, lets submissions make their jobs durable
	// with the pipeline option checkpoint_dir, a directory under it (a
	// relative one is taken from it); the job writes its snapshots there.
	// Empty (the default) refuses checkpointed submissions, which would
	// otherwise write where they like as the server's user.
	//
	// CheckpointRoot may be a blob-store URL ("s3://bucket/jobs",
	// "mem://ckpt") when SnapshotStore is set: a submission's directory
	// is then a relative path under it, and the job's snapshots are
	// objects there.
	CheckpointRoot string
	// SnapshotStore opens the store of a job's snapshots under a
	// CheckpointRoot that is a URL, given the job's URL under it (the
	// root's query string kept at its end); cmd/jobserver opens
	// io/filesystem's blob stores. Required for a URL root.
	SnapshotStore func(url string) SnapshotStore
	// JobsDir, when set, holds a durable record of each checkpointed job
	// while it runs, so that a server started again with the same JobsDir
	// runs those jobs again, under the same ids, from their newest
	// snapshots (see the package doc, "Restarts"). Empty keeps no records.
	JobsDir string
	// RestartPoolWait bounds how long a job run again at Start waits for
	// its EXTERNAL (or LOOPBACK) worker pool to answer (default
	// DefaultRestartPoolWait).
	RestartPoolWait time.Duration
}

// withDefaults returns o with defaults for its zero fields.
func (o Options) withDefaults() Options {
	if o.MaxArtifactBytes <= 0 {
		o.MaxArtifactBytes = DefaultMaxArtifactBytes
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.PreparedTTL <= 0 {
		o.PreparedTTL = DefaultPreparedTTL
	}
	if o.MaxPreparedBytes <= 0 {
		o.MaxPreparedBytes = DefaultMaxPreparedBytes
	}
	if o.FinishedTTL <= 0 {
		o.FinishedTTL = DefaultFinishedTTL
	}
	if o.MaxFinishedJobs <= 0 {
		o.MaxFinishedJobs = DefaultMaxFinishedJobs
	}
	if o.MaxFinishedBytes <= 0 {
		o.MaxFinishedBytes = DefaultMaxFinishedBytes
	}
	if o.StagingDir == "" {
		o.StagingDir = defaultStagingRoot()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RestartPoolWait <= 0 {
		o.RestartPoolWait = DefaultRestartPoolWait
	}
	v := validate.Options{}
	if o.Validate != nil {
		v = *o.Validate
	}
	v.OpaqueCoders = true
	o.Validate = &v
	return o
}

// Server is a running job server: JobService and ArtifactStagingService on
// one listener. It is safe for concurrent use.
type Server struct {
	jobpb.UnimplementedJobServiceServer
	jobpb.UnimplementedArtifactStagingServiceServer

	opts        Options
	policy      *policy
	logger      *slog.Logger
	lis         net.Listener
	srv         *grpc.Server
	staging     *stagingDir
	runner      *fnrunner.Runner
	served      chan struct{}
	stopping    chan struct{}
	janitorDone chan struct{}
	stopOnce    sync.Once
	// checkpointRoot is Options.CheckpointRoot, resolved; records keeps
	// the durable records of checkpointed jobs (nil without JobsDir).
	checkpointRoot string
	records        *records

	// mu guards jobs and nextID.
	mu     sync.Mutex
	jobs   map[string]*job
	nextID int
}

// Start listens on addr (host:port; port 0 picks one) and serves until
// Stop. opts may be nil. It fails with an *InsecureAddressError if addr is
// not a loopback address and opts has no AuthToken, and with an
// *OptionError for an option it cannot use.
func Start(addr string, opts *Options) (*Server, error) {
	s := &Server{jobs: map[string]*job{}, served: make(chan struct{}), stopping: make(chan struct{}), janitorDone: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	s.opts = s.opts.withDefaults()
	s.logger = s.opts.Logger
	if t := s.opts.AuthToken; t != "" && len(t) < MinTokenLength {
		return nil, &OptionError{Option: "AuthToken", Value: "(not shown)", Reason: fmt.Sprintf("%d bytes long, shorter than %d", len(t), MinTokenLength)}
	}
	pol, err := newPolicy(&s.opts)
	if err != nil {
		return nil, err
	}
	s.policy = pol
	if s.checkpointRoot, err = resolveCheckpointRoot(s.opts.CheckpointRoot, s.opts.SnapshotStore != nil); err != nil {
		return nil, err
	}
	if s.opts.AuthToken == "" && !loopbackAddress(addr) {
		return nil, &InsecureAddressError{Addr: addr}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("jobservice: %w", err)
	}
	if s.opts.AuthToken == "" && !isLoopbackListener(lis) {
		lis.Close()
		return nil, &InsecureAddressError{Addr: addr}
	}
	staging, removed, err := openStagingDir(s.opts.StagingDir)
	if err != nil {
		lis.Close()
		return nil, err
	}
	for _, dir := range removed {
		s.logger.Info("jobservice: removed the staging directory of a server that is no longer running", "dir", dir)
	}
	s.lis, s.staging = lis, staging
	if s.opts.JobsDir != "" {
		if s.records, err = openRecords(s.opts.JobsDir); err != nil {
			lis.Close()
			staging.close()
			return nil, err
		}
	}
	s.runner = fnrunner.New(s.opts.Runner)
	sopts := []grpc.ServerOption{grpc.MaxRecvMsgSize(s.opts.MaxMessageSize), grpc.MaxSendMsgSize(s.opts.MaxMessageSize)}
	if s.opts.AuthToken != "" {
		sopts = append(sopts, (&authenticator{token: []byte(s.opts.AuthToken)}).serverOptions()...)
	}
	s.srv = grpc.NewServer(sopts...)
	jobpb.RegisterJobServiceServer(s.srv, s)
	jobpb.RegisterArtifactStagingServiceServer(s.srv, s)
	if s.records != nil {
		s.restartJobs()
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(lis)
	}()
	go s.janitor()
	s.logger.Info(s.Summary())
	return s, nil
}

// Addr returns the address the server listens on, as host:port.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// StagingDir returns the server's own staging directory, which holds a
// subdirectory per job, named by its id, while the job lives.
func (s *Server) StagingDir() string { return s.staging.path }

// Summary describes the server in one line: its address, whether calls
// need a token, and which workers its jobs may use.
func (s *Server) Summary() string {
	auth := "off (loopback clients only)"
	if s.opts.AuthToken != "" {
		auth = "on (every call needs the bearer token)"
	}
	process := "refused (enable with --allow_process, Options.AllowProcess)"
	if s.policy.processEnabled() {
		process = "allowed for commands under " + strings.Join(s.opts.AllowProcess, ", ")
	}
	external := "loopback only (others with --allow_external, Options.AllowExternal)"
	switch {
	case s.policy.anyHost:
		external = "any host"
	case len(s.opts.AllowExternal) > 0:
		external = "loopback and " + strings.Join(s.opts.AllowExternal, ", ")
	}
	ui := "off"
	if s.opts.UI != nil {
		ui = s.opts.UI.URL()
	}
	ckpt := "refused (enable with --checkpoint_root, Options.CheckpointRoot)"
	if s.checkpointRoot != "" {
		ckpt = "under " + s.checkpointRoot
	}
	restarts := "not recorded (--jobs_dir, Options.JobsDir)"
	if s.records != nil {
		restarts = "recorded in " + s.records.dir
	}
	return fmt.Sprintf("jobservice: listening on %s; authentication %s; PROCESS workers %s; EXTERNAL worker pools %s; staging in %s; checkpoints %s; checkpointed jobs %s; web UI %s",
		s.Addr(), auth, process, external, s.staging.path, ckpt, restarts, ui)
}

// Stop cancels running jobs, waits for them to end, stops serving and
// removes the server's staging directory. It may be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(s.stop)
}

func (s *Server) stop() {
	close(s.stopping)
	<-s.janitorDone
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		// A recorded job runs again at the next start, as after a crash.
		j.cancelAndWait(s.records != nil && j.checkpoint != nil)
	}
	s.srv.Stop()
	<-s.served
	if err := s.staging.close(); err != nil {
		s.logger.Warn(err.Error())
	}
	if s.records != nil {
		s.records.close()
	}
}

// job returns the job with the given id, or a NotFound error.
func (s *Server) job(id string) (*job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "jobservice: no job %q", id)
	}
	return j, nil
}

// Prepare implements JobService: it validates and plans the pipeline,
// checks its workers against the server's policy and registers a job
// waiting for its artifacts and Run.
func (s *Server) Prepare(ctx context.Context, req *jobpb.PrepareJobRequest) (*jobpb.PrepareJobResponse, error) {
	p := req.GetPipeline()
	s.sweep()
	size := int64(proto.Size(p))
	if err := s.checkPreparedBytes(size); err != nil {
		return nil, err
	}
	if err := validate.Pipeline(p, s.opts.Validate); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: invalid pipeline: %v", err)
	}
	if _, err := plan.Build(p, nil); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: cannot plan pipeline: %v", err)
	}
	_, workers, err := s.policy.workerEnvironment(p)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: %v", err)
	}
	ckpt, err := checkpointing(req.GetPipelineOptions(), s.checkpointRoot, s.opts.SnapshotStore)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: %v", err)
	}
	token, err := randomToken()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "jobservice: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkPreparedBytesLocked(size); err != nil {
		return nil, err
	}
	s.nextID++
	id := fmt.Sprintf("job-%03d", s.nextID)
	if name := req.GetJobName(); name != "" {
		id += "-" + sanitize(name)
	}
	// The request is the server's from here on: no copy is needed.
	j := newJob(id, req.GetJobName(), p, workers, token)
	j.checkpoint = ckpt
	s.jobs[id] = j
	return &jobpb.PrepareJobResponse{
		PreparationId:           id,
		ArtifactStagingEndpoint: &pipepb.ApiServiceDescriptor{Url: s.endpointFor(ctx)},
		StagingSessionToken:     token,
	}, nil
}

// checkPreparedBytes fails with ResourceExhausted if a pipeline of size
// bytes would take the prepared jobs past Options.MaxPreparedBytes.
func (s *Server) checkPreparedBytes(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkPreparedBytesLocked(size)
}

func (s *Server) checkPreparedBytesLocked(size int64) error {
	if held := s.preparedBytesLocked(); held+size > s.opts.MaxPreparedBytes {
		return status.Errorf(codes.ResourceExhausted,
			"jobservice: a %d-byte pipeline would take the prepared jobs not yet run past %d bytes (they hold %d; Options.MaxPreparedBytes): run them, or retry after they expire (PreparedTTL %v)",
			size, s.opts.MaxPreparedBytes, held, s.opts.PreparedTTL)
	}
	return nil
}

// endpointFor returns the address a client reaches this server at: the
// listener's, or, when that is a wildcard such as 0.0.0.0, the local
// address of the call's connection.
func (s *Server) endpointFor(ctx context.Context) string {
	if tcp, ok := s.lis.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		if pr, ok := peer.FromContext(ctx); ok && pr.LocalAddr != nil {
			return pr.LocalAddr.String()
		}
	}
	return s.Addr()
}

// Run implements JobService: it starts a prepared job. The retrieval token
// must be the staging session token Prepare returned, or empty once the
// job's artifacts were staged: Beam Python's PortableRunner sends none, and
// its staging stream already proved it holds the token.
func (s *Server) Run(_ context.Context, req *jobpb.RunJobRequest) (*jobpb.RunJobResponse, error) {
	j, err := s.job(req.GetPreparationId())
	if err != nil {
		return nil, err
	}
	tok := req.GetRetrievalToken()
	if !(tok == "" && j.hasStaged()) && subtle.ConstantTimeCompare([]byte(tok), []byte(j.token)) != 1 {
		return nil, status.Errorf(codes.PermissionDenied, "jobservice: job %q: the retrieval token is not the staging session token Prepare returned", j.id)
	}
	ctx, err := s.startJob(j)
	if err != nil {
		return nil, err
	}
	go s.execute(ctx, j)
	return &jobpb.RunJobResponse{JobId: j.id}, nil
}

// startJob starts j unless it started before or another running job
// writes snapshots to its checkpoint directory (two jobs writing one
// directory would each resume from the other's snapshots).
func (s *Server) startJob(j *job) (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.checkpoint != nil {
		for _, o := range s.jobs {
			if o == j || o.checkpoint == nil || o.checkpoint.Dir != j.checkpoint.Dir {
				continue
			}
			if started, ended, _ := o.lifecycle(); started && !ended {
				return nil, status.Errorf(codes.FailedPrecondition, "jobservice: job %q: checkpoint directory %s is in use by running job %q", j.id, j.checkpoint.Dir, o.id)
			}
		}
	}
	ctx, ok := j.start()
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "jobservice: job %q already started (state %v)", j.id, j.currentState())
	}
	return ctx, nil
}

// execute runs j to its end and releases its staging directory.
func (s *Server) execute(ctx context.Context, j *job) {
	defer close(j.done)
	defer s.sweep()
	defer s.release(j)
	var mon *engine.Monitor
	if s.opts.UI != nil {
		mon = engine.NewMonitor()
		j.showOn(s.opts.UI, mon)
	}
	s.recordStart(j)
	j.setState(jobpb.JobState_RUNNING)
	res, err := s.runner.RunWatched(ctx, j.pipeline, s.workerStarter(j), &fnrunner.Watch{
		Monitor: mon, Drain: j.drain, OnLog: j.workerLog, Checkpoint: j.checkpoint,
		Logf: func(format string, args ...any) {
			j.message(jobpb.JobMessage_JOB_MESSAGE_WARNING, fmt.Sprintf(format, args...))
		},
	})
	s.recordEnd(j)
	if res != nil && j.checkpoint != nil {
		j.message(jobpb.JobMessage_JOB_MESSAGE_BASIC, checkpointSummary(res))
	}
	switch {
	case err == nil && j.wasDrained():
		j.finish(res)
		j.message(jobpb.JobMessage_JOB_MESSAGE_BASIC, "job drained")
		j.setState(jobpb.JobState_DRAINED)
	case err == nil:
		j.finish(res)
		j.setState(jobpb.JobState_DONE)
	case j.wasSuspended():
		// Its followers' streams end with the server, and they follow it
		// again on the next server.
		j.message(jobpb.JobMessage_JOB_MESSAGE_WARNING, "the job server stops: the job runs again from its newest snapshot when a server starts with its jobs directory")
	case ctx.Err() != nil:
		j.message(jobpb.JobMessage_JOB_MESSAGE_WARNING, "job cancelled")
		j.setState(jobpb.JobState_CANCELLED)
	default:
		j.failure(err)
		j.message(jobpb.JobMessage_JOB_MESSAGE_ERROR, err.Error())
		j.setState(jobpb.JobState_FAILED)
	}
}

// GetJobs implements JobService.
func (s *Server) GetJobs(context.Context, *jobpb.GetJobsRequest) (*jobpb.GetJobsResponse, error) {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	resp := &jobpb.GetJobsResponse{}
	for _, j := range jobs {
		resp.JobInfo = append(resp.JobInfo, &jobpb.JobInfo{JobId: j.id, JobName: j.name, State: j.currentState()})
	}
	return resp, nil
}

// GetState implements JobService.
func (s *Server) GetState(_ context.Context, req *jobpb.GetJobStateRequest) (*jobpb.JobStateEvent, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	return j.stateEvent(), nil
}

// GetPipeline implements JobService. The values of PROCESS environment
// variables and EXTERNAL parameters are replaced by Redacted.
func (s *Server) GetPipeline(_ context.Context, req *jobpb.GetJobPipelineRequest) (*jobpb.GetJobPipelineResponse, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	return &jobpb.GetJobPipelineResponse{Pipeline: redacted(j.pipeline)}, nil
}

// Cancel implements JobService: a job not yet started is cancelled at
// once; a running one when its runner returns.
func (s *Server) Cancel(_ context.Context, req *jobpb.CancelJobRequest) (*jobpb.CancelJobResponse, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	st := j.cancel()
	if started, done, _ := j.lifecycle(); done && !started {
		s.release(j)
		s.sweep()
	}
	return &jobpb.CancelJobResponse{State: st}, nil
}

// Drain implements JobService: it drains the running job, whose unbounded
// reads stop at their next checkpoint, whose watermarks advance to the
// end of time and whose windows fire their final panes; the job is
// DRAINING until it ends DRAINED with its result. The web UI's drain
// button does the same. A job that is not running (not started, ended,
// or being cancelled) is a FailedPrecondition.
func (s *Server) Drain(_ context.Context, req *jobpb.DrainJobRequest) (*jobpb.DrainJobResponse, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	if !j.drainRun() {
		return nil, status.Errorf(codes.FailedPrecondition, "jobservice: job %q is not running (state %v): only a running job can be drained", j.id, j.currentState())
	}
	return &jobpb.DrainJobResponse{State: j.currentState()}, nil
}

// GetStateStream implements JobService: the job's state changes, from the
// first, until a terminal state.
func (s *Server) GetStateStream(req *jobpb.GetJobStateRequest, stream jobpb.JobService_GetStateStreamServer) error {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return err
	}
	return j.follow(stream.Context(), func(ev *jobpb.JobMessagesResponse) error {
		if se := ev.GetStateResponse(); se != nil {
			return stream.Send(se)
		}
		return nil
	})
}

// GetMessageStream implements JobService: the job's messages and state
// changes, from the first, until a terminal state.
func (s *Server) GetMessageStream(req *jobpb.JobMessagesRequest, stream jobpb.JobService_GetMessageStreamServer) error {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return err
	}
	return j.follow(stream.Context(), stream.Send)
}

// GetJobMetrics implements JobService: the user metrics of a finished job
// as committed monitoring infos; empty while the job runs.
func (s *Server) GetJobMetrics(_ context.Context, req *jobpb.GetJobMetricsRequest) (*jobpb.GetJobMetricsResponse, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	res := j.resultOf()
	out := &jobpb.GetJobMetricsResponse{Metrics: &jobpb.MetricResults{}}
	if res != nil {
		if out.Metrics.Committed, err = monitoringInfos(res.Metrics, j.pipeline); err != nil {
			return nil, status.Errorf(codes.Internal, "jobservice: job %s: %v", req.GetJobId(), err)
		}
	}
	return out, nil
}

// DescribePipelineOptions implements JobService: the options of this
// runner are the checkpoint options (checkpoint_dir, checkpoint_interval,
// checkpoint_fresh), which Beam Python's PortableRunner then accepts as
// flags.
func (s *Server) DescribePipelineOptions(context.Context, *jobpb.DescribePipelineOptionsRequest) (*jobpb.DescribePipelineOptionsResponse, error) {
	return &jobpb.DescribePipelineOptionsResponse{Options: checkpointOptions}, nil
}

// randomToken returns a fresh staging session token.
func randomToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// sanitize keeps the letters, digits, '-' and '_' of a job name, at most 40.
func sanitize(name string) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name) && len(out) < 40; i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			out = append(out, c)
		}
	}
	return string(out)
}

// now returns the current time as a protobuf timestamp.
func now() *timestamppb.Timestamp { return timestamppb.New(time.Now()) }
