package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs, as a program using them imports it

	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/runner/local"
)

// A checkpoint directory given as a blob URL: the job stopped after two
// snapshots and started again resumes from the newest object, with
// exactly the reference output; with the newest object damaged, it says
// so and resumes from the one before, still exact. On mem:// and on a
// real S3-protocol server (gofakes3) on loopback.
func TestCheckpointsInBlobStorage(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("ckpt"); err != nil {
		t.Fatal(err)
	}
	q := "?endpoint=" + srv.URL + "&use_path_style=true&disable_https=true&region=us-east-1&anonymous=true"
	for _, scheme := range []string{"mem", "s3"} {
		t.Run(scheme, func(t *testing.T) {
			for _, damage := range []bool{false, true} {
				url := fmt.Sprintf("mem://ckpt/%s/damaged-%v", t.Name(), damage)
				if scheme == "s3" {
					url = fmt.Sprintf("s3://ckpt/%s/damaged-%v%s", t.Name(), damage, q)
				}
				resumeFromBlob(t, url, damage)
			}
		})
	}
}

func resumeFromBlob(t *testing.T, url string, damage bool) {
	ctx := context.Background()
	src := DefaultEvents()
	src.N = 1500
	out := t.TempDir()
	store := launch.SnapshotStore(url)
	var mu sync.Mutex
	var logs []string
	job := local.Job{
		Checkpoint: &local.Checkpointing{Dir: url, Store: store, Interval: 80 * time.Millisecond},
		Logf: func(format string, args ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(format, args...))
			mu.Unlock()
		},
	}
	snapshots := func() []string {
		names, err := store.List(ctx)
		if err != nil {
			t.Error(err)
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, "ckpt-") {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	stopCtx, cancel := context.WithTimeout(ctx, time.Minute)
	go func() {
		defer cancel()
		for stopCtx.Err() == nil && len(snapshots()) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := Run(stopCtx, src, out, job); err == nil {
		t.Fatalf("%s: the job ended before it wrote 2 snapshots", url)
	}
	cancel()
	names := snapshots()
	if len(names) != 2 {
		t.Fatalf("%s: %d snapshots kept, want 2: %v", url, len(names), names)
	}
	newestName := names[1]
	if damage {
		r, err := store.NewRangeReader(ctx, newestName, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x40
		w, err := store.NewWriter(ctx, newestName)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Run(ctx, src, out, job)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	want := strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(names[0], "ckpt-"), ".bin"), "0")
	if !damage {
		want = strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(newestName, "ckpt-"), ".bin"), "0")
	}
	if got := fmt.Sprint(res.RestoredFrom); got != want {
		t.Errorf("%s (damaged: %v): resumed from snapshot %s, want %s", url, damage, got, want)
	}
	if err := Verify(src, out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	mu.Lock()
	said := strings.Join(logs, "\n")
	mu.Unlock()
	if damage && (!strings.Contains(said, newestName) || !strings.Contains(said, "damaged")) {
		t.Errorf("%s: the job did not report the damaged snapshot %s; it logged:\n%s", url, newestName, said)
	}
	left, _ := store.List(ctx)
	for _, n := range left {
		if strings.HasSuffix(n, ".tmp") {
			t.Errorf("%s: temporary object %s left behind", url, n)
		}
	}
}
