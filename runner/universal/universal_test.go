package universal_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/universal"
	"github.com/beamgo-dev/beamgo/sdk"
)

// fakeJobService is a JobService whose jobs do not run: each test scripts
// the messages a job sends and the metrics it reports.
type fakeJobService struct {
	jobpb.UnimplementedJobServiceServer
	jobpb.UnimplementedArtifactStagingServiceServer
	addr string

	// messages are sent on GetMessageStream; block keeps the stream open
	// after them until the client goes away.
	messages []*jobpb.JobMessagesResponse
	block    bool
	metrics  []*pipepb.MonitoringInfo
	// ask lists extra artifacts to request during staging.
	ask []*pipepb.ArtifactInformation

	// mu guards the fields below.
	mu       sync.Mutex
	pipeline *pipepb.Pipeline
	options  map[string]any
	staged   map[string][]byte
	stageErr error
	ran      bool
	canceled bool
}

func newFakeJobService(t *testing.T) *fakeJobService {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeJobService{addr: lis.Addr().String(), staged: map[string][]byte{}}
	srv := grpc.NewServer()
	jobpb.RegisterJobServiceServer(srv, f)
	jobpb.RegisterArtifactStagingServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f
}

func (f *fakeJobService) Prepare(_ context.Context, req *jobpb.PrepareJobRequest) (*jobpb.PrepareJobResponse, error) {
	f.mu.Lock()
	f.pipeline = req.GetPipeline()
	f.options = req.GetPipelineOptions().AsMap()
	f.mu.Unlock()
	return &jobpb.PrepareJobResponse{PreparationId: "prep-1", StagingSessionToken: "token-1",
		ArtifactStagingEndpoint: &pipepb.ApiServiceDescriptor{Url: f.addr}}, nil
}

func (f *fakeJobService) ReverseArtifactRetrievalService(stream jobpb.ArtifactStagingService_ReverseArtifactRetrievalServiceServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	if first.GetStagingToken() != "token-1" {
		return fmt.Errorf("staging token %q", first.GetStagingToken())
	}
	f.mu.Lock()
	var deps []*pipepb.ArtifactInformation
	for _, env := range f.pipeline.GetComponents().GetEnvironments() {
		deps = append(deps, env.GetDependencies()...)
	}
	f.mu.Unlock()
	for _, dep := range append(deps, f.ask...) {
		if err := stream.Send(&jobpb.ArtifactRequestWrapper{Request: &jobpb.ArtifactRequestWrapper_GetArtifact{GetArtifact: &jobpb.GetArtifactRequest{Artifact: dep}}}); err != nil {
			return err
		}
		var data []byte
		for {
			resp, err := stream.Recv()
			if err != nil {
				f.mu.Lock()
				f.stageErr = err
				f.mu.Unlock()
				return err
			}
			data = append(data, resp.GetGetArtifactResponse().GetData()...)
			if resp.GetIsLast() {
				break
			}
		}
		f.mu.Lock()
		f.staged[string(dep.GetTypePayload())] = data
		f.mu.Unlock()
	}
	return nil
}

func (f *fakeJobService) Run(context.Context, *jobpb.RunJobRequest) (*jobpb.RunJobResponse, error) {
	f.mu.Lock()
	f.ran = true
	f.mu.Unlock()
	return &jobpb.RunJobResponse{JobId: "job-1"}, nil
}

func (f *fakeJobService) GetMessageStream(_ *jobpb.JobMessagesRequest, stream jobpb.JobService_GetMessageStreamServer) error {
	for _, m := range f.messages {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	if f.block {
		<-stream.Context().Done()
	}
	return nil
}

func (f *fakeJobService) GetState(context.Context, *jobpb.GetJobStateRequest) (*jobpb.JobStateEvent, error) {
	return &jobpb.JobStateEvent{State: jobpb.JobState_RUNNING}, nil
}

func (f *fakeJobService) Cancel(context.Context, *jobpb.CancelJobRequest) (*jobpb.CancelJobResponse, error) {
	f.mu.Lock()
	f.canceled = true
	f.mu.Unlock()
	return &jobpb.CancelJobResponse{State: jobpb.JobState_CANCELLING}, nil
}

func (f *fakeJobService) GetJobMetrics(context.Context, *jobpb.GetJobMetricsRequest) (*jobpb.GetJobMetricsResponse, error) {
	return &jobpb.GetJobMetricsResponse{Metrics: &jobpb.MetricResults{Committed: f.metrics}}, nil
}

func state(s jobpb.JobState_Enum) *jobpb.JobMessagesResponse {
	return &jobpb.JobMessagesResponse{Response: &jobpb.JobMessagesResponse_StateResponse{StateResponse: &jobpb.JobStateEvent{State: s}}}
}

func message(text string, imp jobpb.JobMessage_MessageImportance) *jobpb.JobMessagesResponse {
	return &jobpb.JobMessagesResponse{Response: &jobpb.JobMessagesResponse_MessageResponse{MessageResponse: &jobpb.JobMessage{MessageText: text, Importance: imp}}}
}

func varints(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func user(urn, transform, name string, payload []byte) *pipepb.MonitoringInfo {
	return &pipepb.MonitoringInfo{Urn: urn, Payload: payload, Labels: map[string]string{
		urns.LabelTransform: transform, urns.LabelNamespace: "ns", urns.LabelName: name}}
}

func pipeline() *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Map(s, func(i int) int { return i + 1 }, sdk.Create(s, []int{1, 2}), sdk.Name("Inc"))
	return p
}

// idOf returns the id of the transform with unique name.
func idOf(t *testing.T, p *pipepb.Pipeline, name string) string {
	t.Helper()
	for id, pt := range p.GetComponents().GetTransforms() {
		if pt.GetUniqueName() == name {
			return id
		}
	}
	t.Fatalf("no transform %q", name)
	return ""
}

func TestRunFollowsTheJobProtocol(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_RUNNING), message("hello", jobpb.JobMessage_JOB_MESSAGE_BASIC), state(jobpb.JobState_DONE)}
	res, err := universal.New(&universal.Options{Endpoint: f.addr}).Run(context.Background(), pipeline())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res == nil {
		t.Fatal("Run returned no result")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ran {
		t.Error("the job was never run")
	}
	var ep pipepb.ExternalPayload
	env := onlyEnvironment(t, f, urns.EnvExternal, &ep)
	if !strings.HasPrefix(ep.GetEndpoint().GetUrl(), "127.0.0.1:") {
		t.Errorf("worker pool endpoint = %q, want a loopback address", ep.GetEndpoint().GetUrl())
	}
	if len(env.GetDependencies()) != 1 {
		t.Fatalf("environment has %d dependencies, want the one placeholder", len(env.GetDependencies()))
	}
	if data, ok := f.staged[string(env.GetDependencies()[0].GetTypePayload())]; !ok || len(data) != 0 {
		t.Errorf("placeholder artifact staged = %q, %v; want empty, true", data, ok)
	}
}

// onlyEnvironment checks that the submitted pipeline has one environment,
// of the given URN, decodes its payload into payload and returns it.
func onlyEnvironment(t *testing.T, f *fakeJobService, urn string, payload proto.Message) *pipepb.Environment {
	t.Helper()
	envs := f.pipeline.GetComponents().GetEnvironments()
	if len(envs) != 1 {
		t.Fatalf("pipeline has %d environments, want 1", len(envs))
	}
	for _, env := range envs {
		if env.GetUrn() != urn {
			t.Errorf("environment URN = %q, want %q", env.GetUrn(), urn)
		}
		if err := proto.Unmarshal(env.GetPayload(), payload); err != nil {
			t.Fatal(err)
		}
		return env
	}
	return nil
}

func TestProcessEnvironmentStartsThisProgramInWorkerMode(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_DONE)}
	args := []string{"-test.run=^TestNothing$", "--input=a b.txt"}
	_, err := universal.New(&universal.Options{Endpoint: f.addr, EnvironmentType: "process", WorkerArgs: args}).Run(context.Background(), pipeline())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	var pp pipepb.ProcessPayload
	env := onlyEnvironment(t, f, urns.EnvProcess, &pp)
	if pp.GetCommand() != self {
		t.Errorf("command = %q, want this program %q", pp.GetCommand(), self)
	}
	want := map[string]string{worker.ArgsVar: `["-test.run=^TestNothing$","--input=a b.txt"]`, worker.DirVar: wd}
	if diff := cmp.Diff(want, pp.GetEnv()); diff != "" {
		t.Errorf("worker environment (-want +got):\n%s", diff)
	}
	if len(env.GetDependencies()) != 1 || len(f.staged) != 1 {
		t.Errorf("environment has %d dependencies and %d were staged, want the one placeholder", len(env.GetDependencies()), len(f.staged))
	}
}

func TestExternalEnvironmentNamesTheWorkerPool(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_DONE)}
	const pool = "pool.example:50000"
	_, err := universal.New(&universal.Options{Endpoint: f.addr, EnvironmentType: "external", ExternalEndpoint: pool}).Run(context.Background(), pipeline())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ep pipepb.ExternalPayload
	env := onlyEnvironment(t, f, urns.EnvExternal, &ep)
	if ep.GetEndpoint().GetUrl() != pool {
		t.Errorf("worker pool endpoint = %q, want %q", ep.GetEndpoint().GetUrl(), pool)
	}
	if len(env.GetDependencies()) != 1 || len(f.staged) != 1 {
		t.Errorf("environment has %d dependencies and %d were staged, want the one placeholder", len(env.GetDependencies()), len(f.staged))
	}
	if got := f.options["beam:option:environment_config:v1"]; got != pool {
		t.Errorf("pipeline option environment_config = %v, want %q", got, pool)
	}
}

func TestMetricsComeBackByUniqueName(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_DONE)}
	// Learn the transform id the translation gives "Inc".
	p := pipeline()
	probe := newFakeJobService(t)
	probe.messages = f.messages
	if _, err := universal.New(&universal.Options{Endpoint: probe.addr}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	probe.mu.Lock()
	inc := idOf(t, probe.pipeline, "Inc")
	probe.mu.Unlock()
	f.metrics = []*pipepb.MonitoringInfo{
		user(urns.MetricUserSumInt64, inc, "count", varints(5)),
		user(urns.MetricUserDistributionInt64, inc, "sizes", varints(2, 10, 3, 7)),
		user(urns.MetricUserLatestInt64, inc, "last", varints(1000, 9)),
		user(urns.MetricUserLatestInt64, inc, "last", varints(999, 8)),
		{Urn: urns.MetricElementCount, Payload: varints(2), Labels: map[string]string{urns.LabelPCollection: "c1"}},
	}
	res, err := universal.New(&universal.Options{Endpoint: f.addr}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := runner.Metrics{
		Counters:      map[runner.MetricKey]int64{{Transform: "Inc", Namespace: "ns", Name: "count"}: 5},
		Distributions: map[runner.MetricKey]runner.DistributionValue{{Transform: "Inc", Namespace: "ns", Name: "sizes"}: {Count: 2, Sum: 10, Min: 3, Max: 7}},
		Gauges:        map[runner.MetricKey]runner.GaugeValue{{Transform: "Inc", Namespace: "ns", Name: "last"}: {Value: 9, Timestamp: 1000}},
	}
	if d := cmp.Diff(want, res.Metrics); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
}

func TestMalformedMetricsFailTheRun(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_DONE)}
	f.metrics = []*pipepb.MonitoringInfo{user(urns.MetricUserDistributionInt64, "t1", "d", varints(1, 2))}
	_, err := universal.New(&universal.Options{Endpoint: f.addr}).Run(context.Background(), pipeline())
	if err == nil || !strings.Contains(err.Error(), "distribution") {
		t.Errorf("Run error = %v, want one about the malformed distribution", err)
	}
}

func TestFailedJobReturnsItsErrorMessage(t *testing.T) {
	tests := []struct {
		name     string
		messages []*jobpb.JobMessagesResponse
		want     string
	}{
		{
			name:     "the error message follows the FAILED state",
			messages: []*jobpb.JobMessagesResponse{state(jobpb.JobState_RUNNING), state(jobpb.JobState_FAILED), message("transform Digest: cannot digest", jobpb.JobMessage_JOB_MESSAGE_ERROR)},
			want:     "transform Digest: cannot digest",
		},
		{
			name:     "the error message precedes the FAILED state",
			messages: []*jobpb.JobMessagesResponse{message("first", jobpb.JobMessage_JOB_MESSAGE_ERROR), message("worker lost", jobpb.JobMessage_JOB_MESSAGE_ERROR), state(jobpb.JobState_FAILED)},
			want:     "worker lost",
		},
		{
			name:     "a FAILED job without a message still fails",
			messages: []*jobpb.JobMessagesResponse{state(jobpb.JobState_FAILED)},
			want:     "no error message",
		},
		{
			name:     "a canceled job fails the run",
			messages: []*jobpb.JobMessagesResponse{state(jobpb.JobState_CANCELLED)},
			want:     "CANCELLED",
		},
		{
			name:     "a stream that ends before a terminal state fails the run",
			messages: []*jobpb.JobMessagesResponse{state(jobpb.JobState_RUNNING)},
			want:     "RUNNING",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJobService(t)
			f.messages = tt.messages
			_, err := universal.New(&universal.Options{Endpoint: f.addr}).Run(context.Background(), pipeline())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCanceledContextCancelsTheJob(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_RUNNING)}
	f.block = true
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err := universal.New(&universal.Options{Endpoint: f.addr}).Run(ctx, pipeline())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.canceled {
		t.Error("the job was not canceled")
	}
}

func TestUndeclaredArtifactIsRefused(t *testing.T) {
	f := newFakeJobService(t)
	f.messages = []*jobpb.JobMessagesResponse{state(jobpb.JobState_DONE)}
	typ, _ := proto.Marshal(&pipepb.ArtifactFilePayload{Path: "../../etc/passwd"})
	f.ask = []*pipepb.ArtifactInformation{{TypeUrn: "beam:artifact:type:file:v1", TypePayload: typ}}
	_, err := universal.New(&universal.Options{Endpoint: f.addr}).Run(context.Background(), pipeline())
	if err == nil || !strings.Contains(err.Error(), "did not declare") {
		t.Errorf("Run error = %v, want a refusal of the undeclared artifact", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ran {
		t.Error("the job ran although staging failed")
	}
}

func TestRunRefusesWhatItCannotDo(t *testing.T) {
	bad := sdk.NewPipeline()
	sdk.Map(bad.Root(), func(i int) int { return i }, sdk.PCollection[int]{})
	tests := []struct {
		name string
		opts universal.Options
		p    *sdk.Pipeline
		want string
	}{
		{"a missing endpoint is an error", universal.Options{}, pipeline(), "Endpoint"},
		{"the EXTERNAL environment needs the pool's endpoint", universal.Options{Endpoint: "127.0.0.1:1", EnvironmentType: universal.External}, pipeline(), "ExternalEndpoint"},
		{"an unknown environment is refused", universal.Options{Endpoint: "127.0.0.1:1", EnvironmentType: "DOCKER"}, pipeline(), `"DOCKER" is not supported`},
		{"an unreachable job service is an error", universal.Options{Endpoint: "127.0.0.1:1"}, pipeline(), "prepare"},
		{"a construction error is returned", universal.Options{Endpoint: "127.0.0.1:1"}, bad, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := universal.New(&tt.opts).Run(context.Background(), tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
