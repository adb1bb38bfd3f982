package jobservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"beamgo/proto/validate"
	"beamgo/runner"
	"beamgo/runner/internal/plan"
	"beamgo/runner/portable"
)

// MaxMessageSize is the default largest gRPC message the server sends or
// accepts: generous, as pipelines with large payloads and big artifact
// chunks are common.
const MaxMessageSize = 1 << 30

// Options configure a Server; the zero value means defaults.
type Options struct {
	// Runner configures the portable runner each job runs on.
	Runner *portable.Options
	// Validate lists URNs accepted beyond the standard ones; nil accepts
	// the standard Beam URNs and this SDK's.
	Validate *validate.Options
	// StagingDir holds staged artifacts, one directory per job (default:
	// a new directory under os.TempDir(), removed by Stop).
	StagingDir string
	// MaxArtifactBytes bounds the bytes staged per job (default 1 GiB).
	MaxArtifactBytes int64
	// MaxMessageSize bounds each gRPC message received or sent (default
	// MaxMessageSize); a larger request fails with codes.ResourceExhausted
	// and the server goes on serving.
	MaxMessageSize int
	// RefuseProcess refuses jobs whose environment is beam:env:process:v1:
	// such a job makes the server run the command it names, as the user
	// the server runs as.
	RefuseProcess bool
	// WorkerOutput receives the output lines of PROCESS workers, prefixed
	// with the job and worker ids (default os.Stderr). It must be safe for
	// concurrent use.
	WorkerOutput io.Writer
}

// Server is a running job server: JobService and ArtifactStagingService on
// one listener.
type Server struct {
	jobpb.UnimplementedJobServiceServer
	jobpb.UnimplementedArtifactStagingServiceServer

	opts       Options
	lis        net.Listener
	srv        *grpc.Server
	stagingDir string
	ownDir     bool
	runner     *portable.Runner
	served     chan struct{}

	// mu guards jobs and nextID.
	mu     sync.Mutex
	jobs   map[string]*job
	nextID int
}

// Start listens on addr (host:port; port 0 picks one) and serves until
// Stop. opts may be nil.
func Start(addr string, opts *Options) (*Server, error) {
	s := &Server{jobs: map[string]*job{}, served: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxArtifactBytes <= 0 {
		s.opts.MaxArtifactBytes = 1 << 30
	}
	if s.opts.MaxMessageSize <= 0 {
		s.opts.MaxMessageSize = MaxMessageSize
	}
	s.stagingDir = s.opts.StagingDir
	if s.stagingDir == "" {
		dir, err := os.MkdirTemp("", "beamgo-jobserver-*")
		if err != nil {
			return nil, fmt.Errorf("jobservice: staging directory: %w", err)
		}
		s.stagingDir, s.ownDir = dir, true
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		if s.ownDir {
			os.RemoveAll(s.stagingDir)
		}
		return nil, fmt.Errorf("jobservice: %w", err)
	}
	s.lis = lis
	s.runner = portable.New(s.opts.Runner)
	s.srv = grpc.NewServer(grpc.MaxRecvMsgSize(s.opts.MaxMessageSize), grpc.MaxSendMsgSize(s.opts.MaxMessageSize))
	jobpb.RegisterJobServiceServer(s.srv, s)
	jobpb.RegisterArtifactStagingServiceServer(s.srv, s)
	go func() {
		defer close(s.served)
		s.srv.Serve(lis)
	}()
	return s, nil
}

// Addr returns the address the server listens on, as host:port.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Stop cancels running jobs, waits for them to end and stops serving.
func (s *Server) Stop() {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		j.cancelAndWait()
	}
	s.srv.Stop()
	<-s.served
	if s.ownDir {
		os.RemoveAll(s.stagingDir)
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

// Prepare implements JobService: it validates and plans the pipeline and
// registers a job waiting for its artifacts and Run.
func (s *Server) Prepare(_ context.Context, req *jobpb.PrepareJobRequest) (*jobpb.PrepareJobResponse, error) {
	p := req.GetPipeline()
	if err := validate.Pipeline(p, s.opts.Validate); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: invalid pipeline: %v", err)
	}
	if _, err := plan.Build(p, nil); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: cannot plan pipeline: %v", err)
	}
	if _, err := workerEnvironment(p, s.opts.RefuseProcess); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: %v", err)
	}
	token, err := randomToken()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "jobservice: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := fmt.Sprintf("job-%03d", s.nextID)
	if name := req.GetJobName(); name != "" {
		id += "-" + sanitize(name)
	}
	j := newJob(id, req.GetJobName(), proto.Clone(p).(*pipepb.Pipeline), token)
	s.jobs[id] = j
	return &jobpb.PrepareJobResponse{
		PreparationId:           id,
		ArtifactStagingEndpoint: &pipepb.ApiServiceDescriptor{Url: s.Addr()},
		StagingSessionToken:     token,
	}, nil
}

// Run implements JobService: it starts a prepared job.
func (s *Server) Run(_ context.Context, req *jobpb.RunJobRequest) (*jobpb.RunJobResponse, error) {
	j, err := s.job(req.GetPreparationId())
	if err != nil {
		return nil, err
	}
	if req.GetRetrievalToken() != "" && req.GetRetrievalToken() != j.token {
		return nil, status.Errorf(codes.InvalidArgument, "jobservice: job %q: retrieval token does not match the staging token", j.id)
	}
	ctx, ok := j.start()
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "jobservice: job %q already started (state %v)", j.id, j.currentState())
	}
	go s.execute(ctx, j)
	return &jobpb.RunJobResponse{JobId: j.id}, nil
}

// execute runs j to its end.
func (s *Server) execute(ctx context.Context, j *job) {
	defer close(j.done)
	j.setState(jobpb.JobState_RUNNING)
	start, err := s.starter(j)
	var res *runner.Result
	if err == nil {
		res, err = s.runner.RunPipeline(ctx, j.pipeline, start)
	}
	switch {
	case err == nil:
		j.finish(res)
		j.setState(jobpb.JobState_DONE)
	case ctx.Err() != nil:
		j.message(jobpb.JobMessage_JOB_MESSAGE_WARNING, "job cancelled")
		j.setState(jobpb.JobState_CANCELLED)
	default:
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

// GetPipeline implements JobService.
func (s *Server) GetPipeline(_ context.Context, req *jobpb.GetJobPipelineRequest) (*jobpb.GetJobPipelineResponse, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	return &jobpb.GetJobPipelineResponse{Pipeline: j.pipeline}, nil
}

// Cancel implements JobService: a job not yet started is cancelled at
// once; a running one when its runner returns.
func (s *Server) Cancel(_ context.Context, req *jobpb.CancelJobRequest) (*jobpb.CancelJobResponse, error) {
	j, err := s.job(req.GetJobId())
	if err != nil {
		return nil, err
	}
	return &jobpb.CancelJobResponse{State: j.cancel()}, nil
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
		out.Metrics.Committed = monitoringInfos(res.Metrics, j.pipeline)
	}
	return out, nil
}

// DescribePipelineOptions implements JobService. This runner defines no
// pipeline options of its own, so the list is empty.
func (s *Server) DescribePipelineOptions(context.Context, *jobpb.DescribePipelineOptionsRequest) (*jobpb.DescribePipelineOptionsResponse, error) {
	return &jobpb.DescribePipelineOptionsResponse{}, nil
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
