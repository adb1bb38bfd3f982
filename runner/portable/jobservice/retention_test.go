package jobservice_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
)

func TestPreparedJobsExpireWithTheirStaging(t *testing.T) {
	const ttl = 150 * time.Millisecond
	srv := start(t, &jobservice.Options{PreparedTTL: ttl})
	jobs, staging := client(t, srv)
	ctx := testCtx(t)
	prep, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: withArtifact(t, "dep.bin")})
	if err != nil {
		t.Fatal(err)
	}
	id := prep.GetPreparationId()
	stream, err := jobs.GetMessageStream(ctx, &jobpb.JobMessagesRequest{JobId: id})
	if err != nil {
		t.Fatal(err)
	}
	if err := stage(ctx, staging, prep.GetStagingSessionToken(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(srv.StagingDir(), id)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("staging directory of the prepared job: %v", err)
	}
	began := time.Now()
	var msgs []string
	var last jobpb.JobState_Enum
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := ev.GetMessageResponse(); m != nil {
			msgs = append(msgs, m.GetMessageText())
		}
		if se := ev.GetStateResponse(); se != nil {
			last = se.GetState()
		}
	}
	if waited := time.Since(began); last != jobpb.JobState_CANCELLED || waited > 20*ttl {
		t.Errorf("the prepared job ended %v after %v, want CANCELLED within a few TTLs of %v", last, waited, ttl)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "expired") {
		t.Errorf("messages of the expired job = %q, want one saying it expired", msgs)
	}
	if _, err := jobs.GetState(ctx, &jobpb.GetJobStateRequest{JobId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("GetState of the expired job = %v, want NotFound (forgotten)", err)
	}
	if _, err := jobs.Run(ctx, &jobpb.RunJobRequest{PreparationId: id, RetrievalToken: prep.GetStagingSessionToken()}); status.Code(err) != codes.NotFound {
		t.Errorf("Run of the expired job = %v, want NotFound", err)
	}
	waitFor(t, "the expired job's staging directory to be removed", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
}

func TestPreparedBytesAreBounded(t *testing.T) {
	pb := basePipeline(t)
	ballast(pb, 100_000)
	size := int64(proto.Size(pb))
	const ttl = 300 * time.Millisecond
	srv := start(t, &jobservice.Options{MaxPreparedBytes: 2*size + size/2, PreparedTTL: ttl})
	jobs, _ := client(t, srv)
	ctx := testCtx(t)
	var first *jobpb.PrepareJobResponse
	for i := range 2 {
		prep, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: pb})
		if err != nil {
			t.Fatalf("Prepare %d of 2 within the limit: %v", i+1, err)
		}
		if i == 0 {
			first = prep
		}
	}
	_, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: pb})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "MaxPreparedBytes") {
		t.Fatalf("a third Prepare past the limit = %v, want ResourceExhausted naming MaxPreparedBytes", err)
	}
	// A job that runs leaves the prepared ones, making room.
	if _, err := jobs.Run(ctx, &jobpb.RunJobRequest{PreparationId: first.GetPreparationId(), RetrievalToken: first.GetStagingSessionToken()}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: pb}); err != nil {
		t.Fatalf("Prepare after one prepared job ran: %v", err)
	}
	// Expired jobs make room too.
	time.Sleep(ttl + ttl/2)
	for i := range 2 {
		if _, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: pb}); err != nil {
			t.Fatalf("Prepare %d after the others expired: %v", i+1, err)
		}
	}
}

func TestFinishedJobsAreKeptUpToACountAndAnAge(t *testing.T) {
	const ttl = 400 * time.Millisecond
	srv := start(t, &jobservice.Options{MaxFinishedJobs: 2, FinishedTTL: ttl})
	jobs, _ := client(t, srv)
	ctx := testCtx(t)
	var ids []string
	for i := range 4 {
		prep, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: basePipeline(t), JobName: fmt.Sprint("j", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, prep.GetPreparationId())
		// A job cancelled before it runs has finished.
		if _, err := jobs.Cancel(ctx, &jobpb.CancelJobRequest{JobId: prep.GetPreparationId()}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, info := range list.GetJobInfo() {
		got = append(got, info.GetJobId())
	}
	if want := ids[2:]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GetJobs after 4 finished jobs with MaxFinishedJobs 2 = %v, want the 2 newest %v", got, want)
	}
	if _, err := jobs.GetPipeline(ctx, &jobpb.GetJobPipelineRequest{JobId: ids[0]}); status.Code(err) != codes.NotFound {
		t.Errorf("GetPipeline of a dropped job = %v, want NotFound", err)
	}
	if _, err := jobs.GetState(ctx, &jobpb.GetJobStateRequest{JobId: ids[3]}); err != nil {
		t.Errorf("GetState of a kept job: %v", err)
	}
	waitFor(t, "finished jobs older than FinishedTTL to be dropped", func() bool {
		list, err := jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
		return err == nil && len(list.GetJobInfo()) == 0
	})

	// A job that ran is kept like the others, with its metrics.
	runGoodJob(t, srv)
	list, err = jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
	if err != nil || len(list.GetJobInfo()) != 1 || list.GetJobInfo()[0].GetState() != jobpb.JobState_DONE {
		t.Errorf("GetJobs after a job ran = %v, %v; want it, DONE", list, err)
	}
}

func TestStagingDirectoriesOfDeadServersAreRemovedAtStart(t *testing.T) {
	root := t.TempDir()
	// A server that died left its directory and an unlocked lock file.
	dead := filepath.Join(root, "server-12345")
	if err := os.MkdirAll(filepath.Join(dead, "job-001"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"lock", "job-001/worker.bin"} {
		if err := os.WriteFile(filepath.Join(dead, f), []byte("12345\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Others' files in the root are not ours to remove.
	other := filepath.Join(root, "not-a-server")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	live := start(t, &jobservice.Options{StagingDir: root})
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead server's staging directory is still there (%v)", err)
	}
	second := start(t, &jobservice.Options{StagingDir: root})
	if _, err := os.Stat(live.StagingDir()); err != nil {
		t.Errorf("starting a second server removed the live server's staging directory: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a directory that is no server's was removed: %v", err)
	}
	second.Stop()
	if _, err := os.Stat(second.StagingDir()); !os.IsNotExist(err) {
		t.Errorf("Stop left the server's staging directory (%v)", err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{StagingDir: root, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("Start with a world-writable staging root = %v, want a refusal", err)
	}
}

// deepCoderChain returns basePipeline whose first PCollection's coder is
// n length_prefix coders nested around a bytes coder.
func deepCoderChain(t *testing.T, n int) *pipepb.Pipeline {
	t.Helper()
	pb := basePipeline(t)
	coders := pb.Components.Coders
	coders["deep-0"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderBytes}}
	for i := 1; i <= n; i++ {
		coders[fmt.Sprint("deep-", i)] = &pipepb.Coder{
			Spec:              &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix},
			ComponentCoderIds: []string{fmt.Sprint("deep-", i-1)},
		}
	}
	for _, pc := range pb.Components.Pcollections {
		pc.CoderId = fmt.Sprint("deep-", n)
		break
	}
	return pb
}

func TestDeepCoderChainIsRefusedAndTheServerKeepsServing(t *testing.T) {
	// Deep enough to take the old recursive walks' stacks to hundreds of
	// MB; a tenth under the race detector, which slows the decode.
	depth := 200_000
	if raceEnabled {
		depth = 20_000
	}
	pb := deepCoderChain(t, depth)
	srv := start(t, nil)
	jobs, _ := client(t, srv)
	began := time.Now()
	_, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb, JobName: "deep"})
	t.Logf("Prepare of a %d-byte pipeline with %d nested coders: %v after %v", proto.Size(pb), depth, err, time.Since(began))
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Prepare of %d nested length_prefix coders = %v, want InvalidArgument", depth, err)
	}
	runGoodJob(t, srv)
}
