package jobservice_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/universal"
)

// checkpointRoot returns a new directory with its symbolic links
// resolved, as the server resolves its root.
func checkpointRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// prepareWith prepares a pipeline with the given pipeline options.
func prepareWith(t *testing.T, jobs jobpb.JobServiceClient, opts map[string]any) error {
	t.Helper()
	st, err := structpb.NewStruct(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: basePipeline(t), PipelineOptions: st, JobName: "ckpt"})
	return err
}

// A hostile submission cannot make the server write snapshots where it
// likes: without --checkpoint_root no checkpoint directory is taken, and
// with it only directories inside the root are.
func TestCheckpointDirectoriesAreConfinedToTheRoot(t *testing.T) {
	dir := func(d string) map[string]any { return map[string]any{"beam:option:checkpoint_dir:v1": d} }

	t.Run("Without a root, checkpointed submissions are refused.", func(t *testing.T) {
		jobs, _ := client(t, start(t, nil))
		err := prepareWith(t, jobs, dir(t.TempDir()))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "--checkpoint_root") {
			t.Errorf("Prepare with a checkpoint dir = %v, want InvalidArgument naming --checkpoint_root", err)
		}
	})

	root := checkpointRoot(t)
	outside := checkpointRoot(t)
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	jobs, _ := client(t, start(t, &jobservice.Options{CheckpointRoot: root}))
	refused := []struct {
		name string
		opts map[string]any
		says string
	}{
		{"a relative path that climbs out", dir("../escape"), `".."`},
		{"a path that climbs out midway", dir("a/../../escape"), `".."`},
		{"an absolute path elsewhere", dir(filepath.Join(outside, "x")), "not under"},
		{"an absolute path with ..", dir(root + "/a/../../escape"), `".."`},
		{"the root itself", dir(root), "not under"},
		{"a symbolic link out of the root", dir("link"), "symbolic link"},
		{"a path through a symbolic link", dir("link/deeper"), "symbolic link"},
		{"a file", dir("file"), "not a directory"},
		{"an interval too short", map[string]any{"beam:option:checkpoint_dir:v1": "a", "beam:option:checkpoint_interval:v1": "1ns"}, "shorter than"},
		{"an interval that is no duration", map[string]any{"beam:option:checkpoint_dir:v1": "a", "beam:option:checkpoint_interval:v1": "soon"}, "neither a duration"},
		{"an interval without a directory", map[string]any{"beam:option:checkpoint_interval:v1": "1s"}, "needs checkpoint_dir"},
		{"a fresh flag that is no boolean", map[string]any{"beam:option:checkpoint_dir:v1": "a", "beam:option:checkpoint_fresh:v1": "perhaps"}, "checkpoint_fresh"},
	}
	for _, tt := range refused {
		t.Run("Refused: "+tt.name+".", func(t *testing.T) {
			err := prepareWith(t, jobs, tt.opts)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Prepare = %v, want InvalidArgument saying %s", err, tt.says)
			}
		})
	}
	accepted := []struct {
		name string
		opts map[string]any
	}{
		{"a relative path (Beam Python's form)", map[string]any{"beam:option:checkpoint_dir:v1": "jobs/a", "beam:option:checkpoint_interval:v1": "250ms"}},
		{"an absolute path inside", map[string]any{"beam:option:checkpoint_dir:v1": filepath.Join(root, "b"), "beam:option:checkpoint_interval:v1": 2.5}},
		{"Beam Go's form", map[string]any{"options": map[string]any{"checkpoint_dir": "go/c", "checkpoint_interval": "1s", "checkpoint_fresh": "true"}}},
		{"no directory, as Beam Python sends a flag's default", map[string]any{"beam:option:checkpoint_fresh:v1": false}},
	}
	for _, tt := range accepted {
		t.Run("Accepted: "+tt.name+".", func(t *testing.T) {
			if err := prepareWith(t, jobs, tt.opts); err != nil {
				t.Errorf("Prepare = %v, want it accepted", err)
			}
		})
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 || exists(filepath.Join(filepath.Dir(root), "escape")) {
		t.Errorf("the refused submissions left files outside the root: %v", ents)
	}
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// DescribePipelineOptions lists the checkpoint options, which Beam
// Python's PortableRunner then accepts as flags.
func TestDescribePipelineOptionsListsTheCheckpointOptions(t *testing.T) {
	jobs, _ := client(t, start(t, nil))
	resp, err := jobs.DescribePipelineOptions(testCtx(t), &jobpb.DescribePipelineOptionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range resp.GetOptions() {
		names = append(names, o.GetName())
	}
	if got := strings.Join(names, ","); got != "checkpoint_dir,checkpoint_interval,checkpoint_fresh" {
		t.Errorf("options = %s, want the three checkpoint options", got)
	}
}

// checkpointed returns our SDK's universal runner aimed at srv with a
// checkpoint directory.
func checkpointed(srv *jobservice.Server, dir string) *universal.Runner {
	return universal.New(&universal.Options{
		Endpoint: srv.Addr(), EnvironmentType: universal.Loopback, Logger: quiet,
		CheckpointDir: dir, CheckpointInterval: 50 * time.Millisecond,
	})
}

// A job submitted with a checkpoint directory writes its snapshots there,
// under the root, and reports them; a second job may not write to the
// same directory while the first runs.
func TestCheckpointedJobsWriteUnderTheRoot(t *testing.T) {
	root := checkpointRoot(t)
	srv := start(t, &jobservice.Options{CheckpointRoot: root})
	jc, _ := client(t, srv)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := checkpointed(srv, "streams/one").Run(ctx, endless())
		done <- err
	}()
	dir := filepath.Join(root, "streams", "one")
	waitFor(t, "snapshots in "+dir, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
		return len(files) > 0
	})
	_, err := checkpointed(srv, dir).Run(testCtx(t), endless())
	if err == nil || !strings.Contains(err.Error(), "in use by running job") {
		t.Errorf("a second job on the same directory: %v, want it refused as in use", err)
	}
	resp, err := jc.GetJobs(testCtx(t), &jobpb.GetJobsRequest{})
	if err != nil || len(resp.GetJobInfo()) == 0 {
		t.Fatalf("GetJobs = %v, %v", resp, err)
	}
	id := resp.GetJobInfo()[0].GetJobId()
	if _, err := jc.Drain(testCtx(t), &jobpb.DrainJobRequest{JobId: id}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the drained job: %v", err)
	}
	if msgs := messages(t, jc, id); !strings.Contains(msgs, "snapshots written") || !strings.Contains(msgs, "started afresh") {
		t.Errorf("the job's messages do not report its snapshots:\n%s", msgs)
	}
}

// messages returns the text of a finished job's messages, a line each.
func messages(t *testing.T, jc jobpb.JobServiceClient, id string) string {
	t.Helper()
	stream, err := jc.GetMessageStream(testCtx(t), &jobpb.JobMessagesRequest{JobId: id})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		m, err := stream.Recv()
		if err != nil {
			return b.String()
		}
		if text := m.GetMessageResponse().GetMessageText(); text != "" {
			b.WriteString(text + "\n")
		}
	}
}

// A checkpointed job whose server stops (here with Stop; cmd/jobserver's
// tests kill it) runs again, under the same id, on a server started again
// with the same jobs directory, from its newest snapshot. Its LOOPBACK
// submitter still runs, so its workers are there, and it follows the job
// on the new server until the job ends.
func TestCheckpointedJobsRunAgainOnARestartedServer(t *testing.T) {
	root := checkpointRoot(t)
	testRunAgainOnARestartedServer(t, root, nil, func() int {
		files, _ := filepath.Glob(filepath.Join(root, "stream", "ckpt-*.bin"))
		return len(files)
	})
}

// testRunAgainOnARestartedServer runs the test above with a checkpoint
// root, the store that opens it (nil for a directory) and a count of the
// job's snapshots.
func testRunAgainOnARestartedServer(t *testing.T, root string, store func(string) jobservice.SnapshotStore, snapshots func() int) {
	jobsDir := t.TempDir()
	opts := &jobservice.Options{CheckpointRoot: root, SnapshotStore: store, JobsDir: jobsDir, StagingDir: t.TempDir()}
	first := start(t, opts)
	addr := first.Addr()
	jc, _ := client(t, first)
	done := make(chan error, 1)
	go func() {
		_, err := checkpointed(first, "stream").Run(testCtx(t), endless())
		done <- err
	}()
	waitFor(t, "two snapshots", func() bool { return snapshots() >= 2 })
	resp, err := jc.GetJobs(testCtx(t), &jobpb.GetJobsRequest{})
	if err != nil || len(resp.GetJobInfo()) != 1 {
		t.Fatalf("GetJobs = %v, %v", resp, err)
	}
	id := resp.GetJobInfo()[0].GetJobId()
	first.Stop()
	if !exists(filepath.Join(jobsDir, id, "job.json")) {
		t.Fatalf("no record of job %s in %s after Stop", id, jobsDir)
	}

	second, err := jobservice.Start(addr, &jobservice.Options{CheckpointRoot: root, SnapshotStore: store, JobsDir: jobsDir, StagingDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Stop)
	jc2, _ := client(t, second)
	var ended bool
	waitFor(t, "the job running again", func() bool {
		st, err := jc2.GetState(testCtx(t), &jobpb.GetJobStateRequest{JobId: id})
		ended = err == nil && st.GetState() != jobpb.JobState_RUNNING && st.GetState() != jobpb.JobState_STARTING && st.GetState() != jobpb.JobState_STOPPED
		return err == nil && st.GetState() == jobpb.JobState_RUNNING || ended
	})
	if ended {
		t.Fatalf("the job ended on the restarted server:\n%s", messages(t, jc2, id))
	}
	// Let it snapshot once more on the new server, then drain it.
	time.Sleep(200 * time.Millisecond)
	if _, err := jc2.Drain(testCtx(t), &jobpb.DrainJobRequest{JobId: id}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the submitter, which followed the job on the restarted server: %v", err)
	}
	msgs := messages(t, jc2, id)
	if !strings.Contains(msgs, "job server restarted") || !strings.Contains(msgs, "resumed from snapshot") {
		t.Errorf("the job's messages on the restarted server do not say it resumed:\n%s", msgs)
	}
	if exists(filepath.Join(jobsDir, id)) {
		t.Errorf("the record of the drained job %s is still in %s", id, jobsDir)
	}
}

// A recorded job that the restarted server's options no longer allow
// (here: no checkpoint root) ends FAILED, saying why, and its record goes.
func TestRecordedJobsTheServerNoLongerAllowsFail(t *testing.T) {
	root, jobsDir := checkpointRoot(t), t.TempDir()
	first := start(t, &jobservice.Options{CheckpointRoot: root, JobsDir: jobsDir})
	go checkpointed(first, "stream").Run(testCtx(t), endless())
	waitFor(t, "a snapshot", func() bool {
		files, _ := filepath.Glob(filepath.Join(root, "stream", "ckpt-*.bin"))
		return len(files) >= 1
	})
	first.Stop()
	ents, _ := filepath.Glob(filepath.Join(jobsDir, "job-*"))
	if len(ents) != 1 {
		t.Fatalf("records after Stop: %v, want one", ents)
	}
	id := filepath.Base(ents[0])
	second := start(t, &jobservice.Options{JobsDir: jobsDir})
	jc, _ := client(t, second)
	st, err := jc.GetState(testCtx(t), &jobpb.GetJobStateRequest{JobId: id})
	if err != nil || st.GetState() != jobpb.JobState_FAILED {
		t.Fatalf("GetState(%s) = %v, %v; want FAILED", id, st, err)
	}
	if msgs := messages(t, jc, id); !strings.Contains(msgs, "cannot run again") || !strings.Contains(msgs, "--checkpoint_root") {
		t.Errorf("the job's messages do not say why it cannot run again:\n%s", msgs)
	}
	if exists(ents[0]) {
		t.Errorf("the record %s is still there", ents[0])
	}
}

// Two servers may not share a jobs directory: both would run its jobs
// again.
func TestAJobsDirectoryServesOneServer(t *testing.T) {
	jobsDir := t.TempDir()
	start(t, &jobservice.Options{JobsDir: jobsDir})
	srv, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{JobsDir: jobsDir, StagingDir: t.TempDir(), Logger: quiet})
	var oe *jobservice.OptionError
	if !errors.As(err, &oe) || oe.Option != "JobsDir" {
		if srv != nil {
			srv.Stop()
		}
		t.Fatalf("a second server on the jobs directory: %v, want an OptionError for JobsDir", err)
	}
}

// A jobs directory that other users may write is refused: whoever writes
// it chooses what the server runs at its next start.
func TestAJobsDirectoryOthersCanWriteIsRefused(t *testing.T) {
	jobsDir := t.TempDir()
	if err := os.Chmod(jobsDir, 0o777); err != nil {
		t.Fatal(err)
	}
	srv, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{JobsDir: jobsDir, StagingDir: t.TempDir(), Logger: quiet})
	var oe *jobservice.OptionError
	if !errors.As(err, &oe) || oe.Option != "JobsDir" || !strings.Contains(err.Error(), "writable by other users") {
		if srv != nil {
			srv.Stop()
		}
		t.Fatalf("a world-writable jobs directory: %v, want an OptionError for JobsDir saying others can write it", err)
	}
}
