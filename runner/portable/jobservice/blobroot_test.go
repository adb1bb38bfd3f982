package jobservice_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
)

// blobRoot returns a new in-memory bucket's URL, unique to the test, and
// server options with it as the checkpoint root.
func blobRoot(t *testing.T) (string, *jobservice.Options) {
	root := fmt.Sprintf("mem://ckpt-%d/roots", time.Now().UnixNano())
	return root, &jobservice.Options{
		CheckpointRoot: root,
		SnapshotStore:  func(url string) jobservice.SnapshotStore { return filesystem.NewPrefix(url) },
	}
}

// A URL checkpoint root takes relative paths of plain names under it (or
// URLs under it) and refuses anything that could leave it.
func TestBlobCheckpointDirectoriesAreConfinedToTheRoot(t *testing.T) {
	root, opts := blobRoot(t)
	jobs, _ := client(t, start(t, opts))
	dir := func(d string) map[string]any { return map[string]any{"beam:option:checkpoint_dir:v1": d} }
	for _, tt := range []struct{ name, dir, says string }{
		{"a relative path that climbs out", "../escape", `".."`},
		{"a path that climbs out midway", "a/../../escape", `".."`},
		{"an absolute path", "/etc/x", "plain names"},
		{"an empty name", "a//b", "plain names"},
		{"a dot", "./a", "plain names"},
		{"a query", "a?b=c", "plain names"},
		{"another bucket", "s3://elsewhere/x", "not under"},
		{"a bucket whose name extends the root's", root + "x/a", "not under"},
		{"the root itself", root + "/", "not under"},
		{"a URL under the root that climbs out", root + "/a/../../x", `".."`},
	} {
		t.Run("Refused: "+tt.name+".", func(t *testing.T) {
			err := prepareWith(t, jobs, dir(tt.dir))
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Prepare(%q) = %v, want InvalidArgument saying %s", tt.dir, err, tt.says)
			}
		})
	}
	for _, d := range []string{"jobs/a", root + "/jobs/b"} {
		if err := prepareWith(t, jobs, dir(d)); err != nil {
			t.Errorf("Prepare(%q) = %v, want it accepted", d, err)
		}
	}
}

// A URL root without a store to open it is refused when the server
// starts, naming the option.
func TestBlobCheckpointRootNeedsAStore(t *testing.T) {
	_, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{CheckpointRoot: "mem://x/roots", StagingDir: t.TempDir(), Logger: quiet})
	var oe *jobservice.OptionError
	if !errors.As(err, &oe) || oe.Option != "CheckpointRoot" {
		t.Fatalf("Start = %v, want an OptionError for CheckpointRoot", err)
	}
}

// A job submitted with a checkpoint directory under a URL root writes its
// snapshots as objects there, and a second job on it is refused while
// the first runs.
func TestBlobCheckpointedJobsWriteUnderTheRoot(t *testing.T) {
	root, opts := blobRoot(t)
	srv := start(t, opts)
	jc, _ := client(t, srv)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := checkpointed(srv, "streams/one").Run(ctx, endless())
		done <- err
	}()
	store := filesystem.NewPrefix(root + "/streams/one")
	waitFor(t, "snapshots under "+store.String(), func() bool {
		names, _ := store.List(context.Background())
		for _, n := range names {
			if strings.HasPrefix(n, "ckpt-") && strings.HasSuffix(n, ".bin") {
				return true
			}
		}
		return false
	})
	_, err := checkpointed(srv, root+"/streams/one").Run(testCtx(t), endless())
	if err == nil || !strings.Contains(err.Error(), "in use by running job") {
		t.Errorf("a second job on the same URL: %v, want it refused as in use", err)
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
	if msgs := messages(t, jc, id); !strings.Contains(msgs, "snapshots written") {
		t.Errorf("the job's messages do not report its snapshots:\n%s", msgs)
	}
}

// A job checkpointed under a URL root runs again on a restarted server
// from its newest snapshot there.
func TestBlobCheckpointedJobsRunAgainOnARestartedServer(t *testing.T) {
	root, opts := blobRoot(t)
	store := filesystem.NewPrefix(root + "/stream")
	testRunAgainOnARestartedServer(t, root, opts.SnapshotStore, func() int {
		names, _ := store.List(context.Background())
		n := 0
		for _, name := range names {
			if strings.HasPrefix(name, "ckpt-") && strings.HasSuffix(name, ".bin") {
				n++
			}
		}
		return n
	})
}
