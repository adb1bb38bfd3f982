package jobservice_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/universal"
	"github.com/beamgo-dev/beamgo/sdk"
)

// quiet discards log records.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start starts a job server on a free loopback port for one test, with a
// staging root of its own and no logging unless opts say otherwise.
func start(t *testing.T, opts *jobservice.Options) *jobservice.Server {
	t.Helper()
	var o jobservice.Options
	if opts != nil {
		o = *opts
	}
	if o.StagingDir == "" {
		o.StagingDir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	srv, err := jobservice.Start("127.0.0.1:0", &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// client returns a JobService and an ArtifactStagingService client of srv.
func client(t *testing.T, srv *jobservice.Server) (jobpb.JobServiceClient, jobpb.ArtifactStagingServiceClient) {
	t.Helper()
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return jobpb.NewJobServiceClient(cc), jobpb.NewArtifactStagingServiceClient(cc)
}

// submitter returns our SDK's universal runner aimed at srv.
func submitter(srv *jobservice.Server) *universal.Runner {
	return universal.New(&universal.Options{
		Endpoint: srv.Addr(), EnvironmentType: universal.Loopback,
		Logger: quiet,
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// collect keeps the strings it sees.
type collect struct {
	mu  *sync.Mutex
	out *[]string
}

func (c collect) ProcessElement(ctx context.Context, s string, _ func(int)) error {
	sdk.NewCounter("test", "kept").Inc(ctx, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.out = append(*c.out, s)
	return nil
}

// wordCount is a word count whose formatted output the returned function
// reports, sorted.
func wordCount(lines []string) (*sdk.Pipeline, func() []string) {
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.FlatMap(s, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	}, sdk.Create(s, lines))
	counts := sdk.CountElements(s, words)
	formatted := sdk.Map(s, func(kv sdk.KV[string, int64]) string { return fmt.Sprintf("%s: %d", kv.Key, kv.Value) }, counts)
	var mu sync.Mutex
	var out []string
	sdk.ParDo(s, sdk.DoFn[string, int](collect{mu: &mu, out: &out}), formatted, sdk.Name("Collect"))
	return p, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Sorted(slices.Values(out))
	}
}

var lines = []string{"the cat sat", "on the mat", "the end", "a cat a mat"}

// runGoodJob runs a word count on srv and checks it against the local
// runner's output and its counter.
func runGoodJob(t *testing.T, srv *jobservice.Server) {
	t.Helper()
	p, got := wordCount(lines)
	res, err := submitter(srv).Run(testCtx(t), p)
	if err != nil {
		t.Fatalf("Run on the job server: %v", err)
	}
	lp, want := wordCount(lines)
	if _, err := local.New(nil).Run(context.Background(), lp); err != nil {
		t.Fatalf("Run on the local runner: %v", err)
	}
	if len(want()) != 7 {
		t.Fatalf("local word count = %v, want 7 words", want())
	}
	if d := cmp.Diff(want(), got()); d != "" {
		t.Errorf("word count on the job server differs (-local +jobserver):\n%s", d)
	}
	if n := res.Counter("test", "kept"); n != int64(len(want())) {
		t.Errorf("counter test/kept = %d, want %d", n, len(want()))
	}
}

func TestOurSDKWordCountRunsWithMetrics(t *testing.T) {
	runGoodJob(t, start(t, nil))
}

type failing struct{}

func (failing) ProcessElement(_ context.Context, s string, _ func(int)) error {
	if s == "boom" {
		return errors.New("element boom is not allowed")
	}
	return nil
}

func TestFailingJobReportsItsError(t *testing.T) {
	srv := start(t, nil)
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[string, int](failing{}), sdk.Create(s, []string{"fine", "boom"}))
	_, err := submitter(srv).Run(testCtx(t), p)
	if err == nil || !strings.Contains(err.Error(), "element boom is not allowed") {
		t.Fatalf("Run of a failing job = %v, want the DoFn's error", err)
	}
	jobs, _ := client(t, srv)
	resp, err := jobs.GetJobs(testCtx(t), &jobpb.GetJobsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetJobInfo()) != 1 || resp.GetJobInfo()[0].GetState() != jobpb.JobState_FAILED {
		t.Errorf("GetJobs = %v, want one FAILED job", resp.GetJobInfo())
	}
	// The server keeps serving.
	runGoodJob(t, srv)
}

// basePipeline returns a valid pipeline proto whose environments are
// external worker pools at an address nothing listens on.
func basePipeline(t *testing.T) *pipepb.Pipeline {
	t.Helper()
	p, _ := wordCount(lines)
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := proto.Marshal(&pipepb.ExternalPayload{Endpoint: &pipepb.ApiServiceDescriptor{Url: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.GetComponents().GetEnvironments()) == 0 {
		t.Fatal("translated pipeline has no environment")
	}
	for _, env := range pb.GetComponents().GetEnvironments() {
		env.Urn, env.Payload = urns.EnvExternal, payload
	}
	return pb
}

// leaf returns the id of a leaf transform of pb with a ParDo URN and an
// input.
func leaf(t *testing.T, pb *pipepb.Pipeline) string {
	t.Helper()
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range pb.GetComponents().GetTransforms() {
			if !yield(id) {
				return
			}
		}
	}) {
		tr := pb.GetComponents().GetTransforms()[id]
		if len(tr.GetSubtransforms()) == 0 && tr.GetSpec().GetUrn() == urns.TransformParDo && len(tr.GetInputs()) > 0 {
			return id
		}
	}
	t.Fatal("no ParDo with an input")
	return ""
}

func TestPrepareRejectsMalformedPipelines(t *testing.T) {
	srv := start(t, nil)
	jobs, _ := client(t, srv)
	tests := []struct {
		name   string
		mutate func(*pipepb.Pipeline)
		want   string
	}{
		{"An unknown transform URN is refused.", func(pb *pipepb.Pipeline) {
			pb.Components.Transforms[leaf(t, pb)].Spec.Urn = "beam:transform:evil:v1"
		}, "beam:transform:evil:v1"},
		{"A dangling PCollection reference is refused.", func(pb *pipepb.Pipeline) {
			tr := pb.Components.Transforms[leaf(t, pb)]
			for k := range tr.Inputs {
				tr.Inputs[k] = "no-such-pcollection"
			}
		}, "no-such-pcollection"},
		{"A dangling coder reference is refused.", func(pb *pipepb.Pipeline) {
			for _, pc := range pb.Components.Pcollections {
				pc.CoderId = "no-such-coder"
				break
			}
		}, "no-such-coder"},
		{"A pipeline without components is refused.", func(pb *pipepb.Pipeline) { pb.Components = nil }, "components"},
		{"A PROCESS environment without a command is refused.", func(pb *pipepb.Pipeline) {
			for _, env := range pb.Components.Environments {
				env.Urn, env.Payload = urns.EnvProcess, nil
			}
		}, "no command"},
		{"A DOCKER environment is refused.", func(pb *pipepb.Pipeline) {
			for _, env := range pb.Components.Environments {
				env.Urn = "beam:env:docker:v1"
			}
		}, "beam:env:docker:v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := basePipeline(t)
			tt.mutate(pb)
			_, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb, JobName: "hostile"})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Prepare = %v, want InvalidArgument mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: basePipeline(t)}); err != nil {
		t.Errorf("Prepare of the unmodified pipeline: %v", err)
	}
	runGoodJob(t, srv)
}

// stage plays the submitter's side of artifact staging for the job with
// token, answering with the given bytes for every artifact.
func stage(ctx context.Context, staging jobpb.ArtifactStagingServiceClient, token string, data []byte) error {
	stream, err := staging.ReverseArtifactRetrievalService(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&jobpb.ArtifactResponseWrapper{StagingToken: token}); err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch r := req.GetRequest().(type) {
		case *jobpb.ArtifactRequestWrapper_ResolveArtifact:
			err = stream.Send(&jobpb.ArtifactResponseWrapper{Response: &jobpb.ArtifactResponseWrapper_ResolveArtifactResponse{
				ResolveArtifactResponse: &jobpb.ResolveArtifactsResponse{Replacements: r.ResolveArtifact.GetArtifacts()},
			}})
		case *jobpb.ArtifactRequestWrapper_GetArtifact:
			err = stream.Send(&jobpb.ArtifactResponseWrapper{Response: &jobpb.ArtifactResponseWrapper_GetArtifactResponse{
				GetArtifactResponse: &jobpb.GetArtifactResponse{Data: data},
			}})
			if err == nil {
				err = stream.Send(&jobpb.ArtifactResponseWrapper{IsLast: true, Response: &jobpb.ArtifactResponseWrapper_GetArtifactResponse{
					GetArtifactResponse: &jobpb.GetArtifactResponse{},
				}})
			}
		}
		if err == io.EOF {
			// The server ended the stream; Recv tells why.
			_, err = stream.Recv()
		}
		if err != nil {
			return err
		}
	}
}

// withArtifact returns basePipeline with one dependency staged as name.
func withArtifact(t *testing.T, name string) *pipepb.Pipeline {
	t.Helper()
	pb := basePipeline(t)
	role, err := proto.Marshal(&pipepb.ArtifactStagingToRolePayload{StagedName: name})
	if err != nil {
		t.Fatal(err)
	}
	typ, err := proto.Marshal(&pipepb.ArtifactFilePayload{Path: "/tmp/whatever"})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range pb.Components.Environments {
		env.Dependencies = []*pipepb.ArtifactInformation{{
			TypeUrn: "beam:artifact:type:file:v1", TypePayload: typ,
			RoleUrn: "beam:artifact:role:staging_to:v1", RolePayload: role,
		}}
	}
	return pb
}

func TestArtifactStagingChecksNames(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, &jobservice.Options{StagingDir: dir})
	jobs, staging := client(t, srv)
	tests := []struct {
		name, staged string
		wantErr      bool
	}{
		{"A name climbing out with ../ is refused.", "../evil", true},
		{"A name climbing out from a subdirectory is refused.", "sub/../../evil", true},
		{"An absolute name is refused.", "/etc/evil", true},
		{"A backslashed climb is refused.", `..\evil`, true},
		{"An empty name is refused.", "", true},
		{"A plain relative name is staged.", "deps/worker.bin", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withArtifact(t, tt.staged)})
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			err = stage(testCtx(t), staging, resp.GetStagingSessionToken(), []byte("payload"))
			if tt.wantErr {
				if status.Code(err) != codes.InvalidArgument {
					t.Errorf("staging %q = %v, want InvalidArgument", tt.staged, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("staging %q: %v", tt.staged, err)
			}
			got, err := os.ReadFile(filepath.Join(srv.StagingDir(), resp.GetPreparationId(), filepath.FromSlash(tt.staged)))
			if err != nil || string(got) != "payload" {
				t.Errorf("staged file = %q, %v; want %q", got, err, "payload")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
		t.Errorf("a file named evil was written outside the staging directory")
	}
	if err := stage(testCtx(t), staging, "no-such-token", nil); status.Code(err) != codes.PermissionDenied {
		t.Errorf("staging with an unknown token = %v, want PermissionDenied", err)
	}
	runGoodJob(t, srv)
}

func TestJobLifecycleWithoutRunning(t *testing.T) {
	srv := start(t, nil)
	jobs, _ := client(t, srv)
	ctx := testCtx(t)
	pb := basePipeline(t)
	prep, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: pb, JobName: "life"})
	if err != nil {
		t.Fatal(err)
	}
	id := prep.GetPreparationId()
	if st, err := jobs.GetState(ctx, &jobpb.GetJobStateRequest{JobId: id}); err != nil || st.GetState() != jobpb.JobState_STOPPED {
		t.Errorf("GetState = %v, %v; want STOPPED", st, err)
	}
	got, err := jobs.GetPipeline(ctx, &jobpb.GetJobPipelineRequest{JobId: id})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(pb, got.GetPipeline(), protocmp.Transform()); d != "" {
		t.Errorf("GetPipeline differs from the prepared pipeline (-want +got):\n%s", d)
	}
	if c, err := jobs.Cancel(ctx, &jobpb.CancelJobRequest{JobId: id}); err != nil || c.GetState() != jobpb.JobState_CANCELLED {
		t.Errorf("Cancel = %v, %v; want CANCELLED", c, err)
	}
	if _, err := jobs.Run(ctx, &jobpb.RunJobRequest{PreparationId: id, RetrievalToken: prep.GetStagingSessionToken()}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Run of a cancelled job = %v, want FailedPrecondition", err)
	}
	if _, err := jobs.Run(ctx, &jobpb.RunJobRequest{PreparationId: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("Run of an unknown job = %v, want NotFound", err)
	}
	stream, err := jobs.GetStateStream(ctx, &jobpb.GetJobStateRequest{JobId: id})
	if err != nil {
		t.Fatal(err)
	}
	var states []jobpb.JobState_Enum
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, ev.GetState())
	}
	if d := cmp.Diff([]jobpb.JobState_Enum{jobpb.JobState_STOPPED, jobpb.JobState_CANCELLED}, states); d != "" {
		t.Errorf("GetStateStream (-want +got):\n%s", d)
	}
	if m, err := jobs.GetJobMetrics(ctx, &jobpb.GetJobMetricsRequest{JobId: id}); err != nil || len(m.GetMetrics().GetCommitted()) != 0 {
		t.Errorf("GetJobMetrics of a job that never ran = %v, %v; want no metrics", m, err)
	}
	if _, err := jobs.DescribePipelineOptions(ctx, &jobpb.DescribePipelineOptionsRequest{}); err != nil {
		t.Errorf("DescribePipelineOptions: %v", err)
	}
	list, err := jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
	if err != nil || len(list.GetJobInfo()) != 1 || list.GetJobInfo()[0].GetJobId() != id || list.GetJobInfo()[0].GetJobName() != "life" {
		t.Errorf("GetJobs = %v, %v; want the one job %q", list, err, id)
	}
}

func TestRunWithUnreachableWorkerPoolFails(t *testing.T) {
	srv := start(t, nil)
	jobs, _ := client(t, srv)
	ctx := testCtx(t)
	prep, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: basePipeline(t)})
	if err != nil {
		t.Fatal(err)
	}
	run, err := jobs.Run(ctx, &jobpb.RunJobRequest{PreparationId: prep.GetPreparationId(), RetrievalToken: prep.GetStagingSessionToken()})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := jobs.GetMessageStream(ctx, &jobpb.JobMessagesRequest{JobId: run.GetJobId()})
	if err != nil {
		t.Fatal(err)
	}
	var errText string
	var last jobpb.JobState_Enum
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := ev.GetMessageResponse(); m.GetImportance() == jobpb.JobMessage_JOB_MESSAGE_ERROR {
			errText = m.GetMessageText()
		}
		if se := ev.GetStateResponse(); se != nil {
			last = se.GetState()
		}
	}
	if last != jobpb.JobState_FAILED || !strings.Contains(errText, "127.0.0.1:1") {
		t.Errorf("job ended %v with error message %q; want FAILED naming the worker pool", last, errText)
	}
}
