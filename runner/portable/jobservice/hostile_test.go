package jobservice_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/universal"
)

// The tests in this file probe the job server as a hostile client would.

func TestOversizedMessagesAreRefusedAndTheServerKeepsServing(t *testing.T) {
	const limit = 1 << 20
	srv := start(t, &jobservice.Options{MaxMessageSize: limit})
	jobs, staging := client(t, srv)

	t.Run("A Prepare request over the limit is refused with ResourceExhausted.", func(t *testing.T) {
		pb := basePipeline(t)
		ballast(pb, 2*limit)
		_, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb, JobName: "oversized"})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
			t.Errorf("Prepare of a %d-byte pipeline = %v, want ResourceExhausted saying it is larger than max", 2*limit, err)
		}
	})

	t.Run("An artifact chunk over the limit fails the staging stream.", func(t *testing.T) {
		prep, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withArtifact(t, "big.bin"), JobName: "big-artifact"})
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		err = stage(testCtx(t), staging, prep.GetStagingSessionToken(), bytes.Repeat([]byte{'y'}, 2*limit))
		if err == nil {
			// The send may succeed locally; the refusal then ends the
			// job's Run.
			_, err = jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: prep.GetPreparationId(), RetrievalToken: prep.GetStagingSessionToken()})
		}
		if err == nil {
			t.Fatal("staging a chunk twice the message limit succeeded")
		}
		t.Logf("staging an oversized chunk: %v", err)
		if c := status.Code(err); c != codes.ResourceExhausted && c != codes.FailedPrecondition && c != codes.InvalidArgument {
			t.Errorf("staging an oversized chunk: %v, want ResourceExhausted (or a refused Run)", err)
		}
	})

	t.Run("A well-formed job still runs afterwards.", func(t *testing.T) { runGoodJob(t, srv) })
}

// ballast adds n bytes to an annotation of one of pb's transforms.
func ballast(pb *pipepb.Pipeline, n int) {
	for _, tr := range pb.Components.Transforms {
		if tr.Annotations == nil {
			tr.Annotations = map[string][]byte{}
		}
		tr.Annotations["ballast"] = bytes.Repeat([]byte{'x'}, n)
		return
	}
}

// withEnvironment returns basePipeline with every environment replaced by
// one of type urn with payload pl.
func withEnvironment(t *testing.T, urn string, pl proto.Message) *pipepb.Pipeline {
	t.Helper()
	b, err := proto.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	pb := basePipeline(t)
	for _, env := range pb.Components.Environments {
		env.Urn, env.Payload = urn, b
	}
	return pb
}

func TestProcessEnvironmentsAreRefusedUnlessAllowed(t *testing.T) {
	exe := testBinary(t)
	def := start(t, nil)
	jobs, _ := client(t, def)
	_, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withEnvironment(t, urns.EnvProcess, &pipepb.ProcessPayload{Command: exe})})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "--allow_process") || !strings.Contains(err.Error(), "Options.AllowProcess") {
		t.Errorf("Prepare of a PROCESS job on a default server = %v, want InvalidArgument saying how to enable PROCESS (--allow_process, Options.AllowProcess)", err)
	}
	if s := def.Summary(); !strings.Contains(s, "PROCESS workers refused") || !strings.Contains(s, "authentication off") {
		t.Errorf("Summary of a default server = %q, want PROCESS refused and authentication off", s)
	}

	allowed := start(t, &jobservice.Options{AllowProcess: []string{filepath.Dir(exe)}})
	if s := allowed.Summary(); !strings.Contains(s, "PROCESS workers allowed for commands under "+filepath.Dir(exe)) {
		t.Errorf("Summary = %q, want PROCESS allowed under %s", s, filepath.Dir(exe))
	}
	link := filepath.Join(filepath.Dir(exe), "sh-link")
	if err := os.Symlink("/bin/sh", link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
	jobs, _ = client(t, allowed)
	tests := []struct {
		name    string
		payload *pipepb.ProcessPayload
		want    string // in the error; "" for success
	}{
		{"A command outside the allowed directory is refused.", &pipepb.ProcessPayload{Command: "/bin/sh"}, "not under any path"},
		{"A command climbing out of the allowed directory is refused.", &pipepb.ProcessPayload{Command: filepath.Dir(exe) + "/../../../bin/sh"}, "not under any path"},
		{"A symbolic link in the allowed directory to a command outside it is refused.", &pipepb.ProcessPayload{Command: link}, "not under any path"},
		{"A relative command is refused.", &pipepb.ProcessPayload{Command: "sh"}, "not an absolute path"},
		{"LD_PRELOAD is refused.", &pipepb.ProcessPayload{Command: exe, Env: map[string]string{"LD_PRELOAD": "/tmp/evil.so"}}, "LD_PRELOAD"},
		{"Another loader variable is refused.", &pipepb.ProcessPayload{Command: exe, Env: map[string]string{"ld_library_path": "/tmp"}}, "ld_library_path"},
		{"The allowed command with ordinary variables is accepted.", &pipepb.ProcessPayload{Command: exe, Env: map[string]string{"GREETING": "hello"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withEnvironment(t, urns.EnvProcess, tt.payload)})
			if tt.want == "" {
				if err != nil {
					t.Errorf("Prepare of %v = %v, want success", tt.payload, err)
				}
				return
			}
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Prepare of %v = %v, want InvalidArgument mentioning %q", tt.payload, err, tt.want)
			}
		})
	}

	for _, bad := range []string{"bin", ""} {
		var oe *jobservice.OptionError
		if _, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{AllowProcess: []string{bad}, StagingDir: t.TempDir(), Logger: quiet}); !errors.As(err, &oe) || oe.Option != "AllowProcess" {
			t.Errorf("Start with AllowProcess %q = %v, want an *OptionError for AllowProcess", bad, err)
		}
	}
}

func TestExternalWorkerPoolsBeyondLoopbackAreRefusedUnlessAllowed(t *testing.T) {
	def := start(t, nil)
	defJobs, _ := client(t, def)
	allowed := start(t, &jobservice.Options{AllowExternal: []string{"10.1.2.3", "pool.example"}})
	allowedJobs, _ := client(t, allowed)
	tests := []struct {
		name, endpoint string
		wantDefault    string // in the default server's error; "" for success
		wantAllowed    string // the same for the server allowing 10.1.2.3 and pool.example
	}{
		{"A loopback IP is accepted.", "127.0.0.1:5000", "", ""},
		{"localhost is accepted.", "localhost:5000", "", ""},
		{"An IPv6 loopback is accepted.", "[::1]:5000", "", ""},
		{"A private IP is refused unless allowed.", "10.1.2.3:5000", "--allow_external", ""},
		{"A host name is refused unless allowed.", "pool.example:5000", "--allow_external", ""},
		{"A host not on the list is refused.", "10.9.9.9:5000", "--allow_external", "--allow_external"},
		{"The wildcard address is refused.", "0.0.0.0:5000", "--allow_external", "--allow_external"},
		{"A gRPC target with a scheme is refused.", "unix:///var/run/docker.sock", "not host:port", "not host:port"},
		{"A resolver target is refused.", "dns:///10.1.2.3:5000", "not host:port", "not host:port"},
		{"An endpoint without a port is refused.", "127.0.0.1", "not host:port", "not host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				jobs jobpb.JobServiceClient
				want string
			}{{defJobs, tt.wantDefault}, {allowedJobs, tt.wantAllowed}} {
				pb := withEnvironment(t, urns.EnvExternal, &pipepb.ExternalPayload{Endpoint: &pipepb.ApiServiceDescriptor{Url: tt.endpoint}})
				_, err := c.jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb})
				switch {
				case c.want == "" && err != nil:
					t.Errorf("Prepare with worker pool %q = %v, want success", tt.endpoint, err)
				case c.want != "" && (status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.want)):
					t.Errorf("Prepare with worker pool %q = %v, want InvalidArgument mentioning %q", tt.endpoint, err, c.want)
				}
			}
		})
	}
	anyHost := start(t, &jobservice.Options{AllowExternal: []string{jobservice.AllowAnyHost}})
	anyJobs, _ := client(t, anyHost)
	pb := withEnvironment(t, urns.EnvExternal, &pipepb.ExternalPayload{Endpoint: &pipepb.ApiServiceDescriptor{Url: "10.9.9.9:5000"}})
	if _, err := anyJobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb}); err != nil {
		t.Errorf("Prepare with a pool at 10.9.9.9 on a server allowing any host = %v, want success", err)
	}
}

func TestNonLoopbackAddressWithoutTokenRefusesToStart(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		srv, err := jobservice.Start(addr, &jobservice.Options{StagingDir: t.TempDir(), Logger: quiet})
		var ie *jobservice.InsecureAddressError
		if !errors.As(err, &ie) || ie.Addr != addr || !strings.Contains(err.Error(), "--auth_token_file") || !strings.Contains(err.Error(), jobservice.TokenEnvVar) {
			t.Errorf("Start(%q) without a token = %v, want an *InsecureAddressError saying how to give a token", addr, err)
		}
		if srv != nil {
			srv.Stop()
		}
	}
	var oe *jobservice.OptionError
	_, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{AuthToken: "short", StagingDir: t.TempDir(), Logger: quiet})
	if !errors.As(err, &oe) || oe.Option != "AuthToken" || strings.Contains(err.Error(), "short\"") {
		t.Errorf("Start with a 5-byte token = %v, want an *OptionError for AuthToken that does not show the token", err)
	}
}

const testToken = "correct-horse-battery-staple"

// withToken returns ctx carrying token the way Options.AuthToken is sent.
func withToken(ctx context.Context, header string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", header)
}

func TestEveryRPCNeedsTheToken(t *testing.T) {
	srv := start(t, &jobservice.Options{AuthToken: testToken, MaxMessageSize: 1 << 20})
	if s := srv.Summary(); !strings.Contains(s, "authentication on") {
		t.Errorf("Summary = %q, want authentication on", s)
	}
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	services := jobservice.ServiceInfo(srv)
	for _, want := range []string{"org.apache.beam.model.job_management.v1.JobService", "org.apache.beam.model.job_management.v1.ArtifactStagingService"} {
		if _, ok := services[want]; !ok {
			t.Errorf("the server does not serve %s", want)
		}
	}
	calls := 0
	for name, info := range services {
		for _, m := range info.Methods {
			method := "/" + name + "/" + m.Name
			for _, header := range []string{"", "Bearer wrong-token-of-some-length", "Bearer " + testToken + "x", testToken, "Basic " + testToken} {
				ctx := testCtx(t)
				if header != "" {
					ctx = withToken(ctx, header)
				}
				err := call(ctx, cc, method, m)
				calls++
				if status.Code(err) != codes.Unauthenticated {
					t.Errorf("%s with authorization %q = %v, want Unauthenticated", method, header, err)
				}
			}
		}
	}
	if calls < 5*11 {
		t.Errorf("made %d unauthenticated calls, want at least 55 (11 methods, 5 headers)", calls)
	}

	t.Run("An unauthenticated request over the message limit is refused for its token, not its size.", func(t *testing.T) {
		pb := basePipeline(t)
		ballast(pb, 4<<20)
		_, err := jobpb.NewJobServiceClient(cc).Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("Prepare of 4 MiB without a token = %v, want Unauthenticated", err)
		}
	})

	t.Run("With the token, calls succeed and a job runs.", func(t *testing.T) {
		jobs := jobpb.NewJobServiceClient(cc)
		if _, err := jobs.GetJobs(withToken(testCtx(t), "Bearer "+testToken), &jobpb.GetJobsRequest{}); err != nil {
			t.Errorf("GetJobs with the token: %v", err)
		}
		p, got := wordCount(lines)
		r := universal.New(&universal.Options{Endpoint: srv.Addr(), AuthToken: testToken, Logger: quiet})
		if _, err := r.Run(testCtx(t), p); err != nil {
			t.Fatalf("universal Run with Options.AuthToken: %v", err)
		}
		if len(got()) != 7 {
			t.Errorf("word count with the token = %v, want 7 words", got())
		}
		list, err := jobs.GetJobs(withToken(testCtx(t), "Bearer "+testToken), &jobpb.GetJobsRequest{})
		if err != nil || len(list.GetJobInfo()) != 1 {
			t.Errorf("GetJobs with the token = %v, %v; want the one job", list, err)
		}
	})

	t.Run("universal without the token is refused.", func(t *testing.T) {
		p, _ := wordCount(lines)
		_, err := universal.New(&universal.Options{Endpoint: srv.Addr(), Logger: quiet}).Run(testCtx(t), p)
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("universal Run without the token = %v, want Unauthenticated", err)
		}
	})
}

// call calls method with an empty request (which any request message
// decodes from) and returns its error.
func call(ctx context.Context, cc *grpc.ClientConn, method string, m grpc.MethodInfo) error {
	if !m.IsClientStream && !m.IsServerStream {
		return cc.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
	}
	stream, err := cc.NewStream(ctx, &grpc.StreamDesc{ClientStreams: m.IsClientStream, ServerStreams: m.IsServerStream}, method)
	if err != nil {
		return err
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil && err != io.EOF {
		return err
	}
	stream.CloseSend()
	return stream.RecvMsg(&emptypb.Empty{})
}

func TestStagingAndRunNeedTheJobsToken(t *testing.T) {
	srv := start(t, nil)
	jobs, staging := client(t, srv)
	prep, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withArtifact(t, "dep.bin")})
	if err != nil {
		t.Fatal(err)
	}
	id, token := prep.GetPreparationId(), prep.GetStagingSessionToken()
	if err := stage(testCtx(t), staging, "", []byte("x")); status.Code(err) != codes.PermissionDenied {
		t.Errorf("staging with an empty token = %v, want PermissionDenied", err)
	}
	for _, bad := range []string{"", "wrong", token + "0"} {
		if _, err := jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: id, RetrievalToken: bad}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("Run with retrieval token %q = %v, want PermissionDenied", bad, err)
		}
	}
	if err := stage(testCtx(t), staging, token, []byte("x")); err != nil {
		t.Fatalf("staging with the job's token: %v", err)
	}
	dir := filepath.Join(srv.StagingDir(), id)
	if _, err := os.Stat(filepath.Join(dir, "dep.bin")); err != nil {
		t.Errorf("the staged artifact is missing: %v", err)
	}
	if err := stage(testCtx(t), staging, token, []byte("again")); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("staging a second time = %v, want FailedPrecondition", err)
	}
	if _, err := jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: id, RetrievalToken: "wrong"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Run with a wrong retrieval token after staging = %v, want PermissionDenied", err)
	}
	if _, err := jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: id, RetrievalToken: token}); err != nil {
		t.Fatalf("Run with the job's token: %v", err)
	}
	// The job fails (nothing serves its worker pool); its staging
	// directory goes when it ends.
	waitFor(t, "the ended job's staging directory to be removed", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
}

// Beam Python's PortableRunner stages with the staging token and then
// calls Run with no retrieval token: that is accepted once staging is done,
// and only then.
func TestRunWithoutRetrievalTokenAfterStaging(t *testing.T) {
	srv := start(t, nil)
	jobs, staging := client(t, srv)
	prep, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withArtifact(t, "dep.bin")})
	if err != nil {
		t.Fatal(err)
	}
	id := prep.GetPreparationId()
	if _, err := jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: id}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Run with no retrieval token before staging = %v, want PermissionDenied", err)
	}
	if err := stage(testCtx(t), staging, prep.GetStagingSessionToken(), []byte("x")); err != nil {
		t.Fatalf("staging with the job's token: %v", err)
	}
	if _, err := jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: id}); err != nil {
		t.Errorf("Run with no retrieval token after staging: %v", err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGetPipelineRedactsEnvironmentValues(t *testing.T) {
	exe := testBinary(t)
	srv := start(t, &jobservice.Options{AllowProcess: []string{exe}})
	jobs, _ := client(t, srv)
	tests := []struct {
		name    string
		urn     string
		payload proto.Message
		keys    []string
		secrets func(*pipepb.Environment) (map[string]string, error)
	}{
		{"PROCESS variable values are redacted.", urns.EnvProcess,
			&pipepb.ProcessPayload{Command: exe, Env: map[string]string{"DB_PASSWORD": "hunter2", "API_KEY": "sk-123"}},
			[]string{"API_KEY", "DB_PASSWORD"},
			func(env *pipepb.Environment) (map[string]string, error) {
				var pl pipepb.ProcessPayload
				err := proto.Unmarshal(env.GetPayload(), &pl)
				return pl.GetEnv(), err
			}},
		{"EXTERNAL parameter values are redacted.", urns.EnvExternal,
			&pipepb.ExternalPayload{Endpoint: &pipepb.ApiServiceDescriptor{Url: "127.0.0.1:1"}, Params: map[string]string{"secret": "hunter2"}},
			[]string{"secret"},
			func(env *pipepb.Environment) (map[string]string, error) {
				var pl pipepb.ExternalPayload
				err := proto.Unmarshal(env.GetPayload(), &pl)
				return pl.GetParams(), err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prep, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withEnvironment(t, tt.urn, tt.payload)})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the stored pipeline is not changed by the first answer
				got, err := jobs.GetPipeline(testCtx(t), &jobpb.GetJobPipelineRequest{JobId: prep.GetPreparationId()})
				if err != nil {
					t.Fatal(err)
				}
				if len(got.GetPipeline().GetComponents().GetTransforms()) == 0 {
					t.Fatal("GetPipeline returned no transforms")
				}
				for id, env := range got.GetPipeline().GetComponents().GetEnvironments() {
					vals, err := tt.secrets(env)
					if err != nil {
						t.Fatalf("environment %q: %v", id, err)
					}
					if d := cmp.Diff(tt.keys, slices.Sorted(maps.Keys(vals))); d != "" {
						t.Errorf("environment %q: keys differ from the submitted ones (-want +got):\n%s", id, d)
					}
					for k, v := range vals {
						if v != jobservice.Redacted {
							t.Errorf("environment %q: GetPipeline returned %s=%q, want %q", id, k, v, jobservice.Redacted)
						}
					}
				}
			}
		})
	}
}

// Beam Python uses its own coders (beam:coder:pickled_python:v1) directly,
// outside any length prefix; the server accepts them, since the planner
// length-prefixes every coder it does not know.
func TestPrepareAcceptsOtherSDKsCoders(t *testing.T) {
	srv := start(t, nil)
	jobs, _ := client(t, srv)
	pb := basePipeline(t)
	pb.Components.Coders["pickled"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: "beam:coder:pickled_python:v1"}}
	for _, pc := range pb.GetComponents().GetPcollections() {
		pc.CoderId = "pickled"
		break
	}
	if _, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb}); err != nil {
		t.Errorf("Prepare of a pipeline with a Python coder: %v", err)
	}
}
