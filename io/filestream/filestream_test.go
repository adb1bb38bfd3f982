package filestream_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/filestream"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil"
)

// writeFile writes lines to path, the last one without a line break.
func writeFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	w, err := filesystem.NewWriter(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Modification times order the files; keep them apart.
	time.Sleep(5 * time.Millisecond)
}

func lines(file string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s line %d", file, i)
	}
	return out
}

// The source resumes at every mark: after each line, between files and
// at a file's last line without a line break.
func TestSourceResumesAtEveryMark(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a", "b", "c"} {
		writeFile(t, dir+"/"+f+".txt", lines(f, 4)...)
	}
	writeFile(t, dir+"/ignored.csv", "x")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := testutil.CheckUnboundedCheckpoints[filestream.Line](ctx, filestream.Source{Pattern: dir + "/*.txt"}, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Records != 12 || stats.Resumes != 13 {
		t.Errorf("stats %+v, want 12 records and 13 resumes", stats)
	}
}

// Files that appear while the job runs are read, every line once, with
// its file's modification time as event time.
func TestReadPicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/1.txt", lines("1", 30)...)
	p := sdk.NewPipeline()
	s := p.Root()
	got := filestream.Read(s, dir+"/*.txt", unbounded.Options{MaxRecords: 7, PollInterval: 10 * time.Millisecond})
	var mu sync.Mutex
	var seen []string
	var n atomic.Int64
	drain := make(chan struct{})
	var once sync.Once
	const total = 30 + 20 + 25
	sdk.ForEachFunc(s, func(ctx context.Context, l filestream.Line) error {
		if sdk.EventTime(ctx).IsZero() {
			return fmt.Errorf("line %q has no event time", l.Text)
		}
		mu.Lock()
		seen = append(seen, l.Text)
		mu.Unlock()
		if n.Add(1) == total {
			once.Do(func() { close(drain) })
		}
		return nil
	}, sdk.Reshuffle(s, got))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, Drain: drain}}).Run(ctx, p)
		done <- err
	}()
	for n.Load() < 30 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	// Written elsewhere and renamed into place, as a producer should.
	writeFile(t, dir+"/2.tmp", lines("2", 20)...)
	if err := filesystem.Rename(ctx, dir+"/2.txt", dir+"/2.tmp"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir+"/3.txt", lines("3", 25)...)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := slices.Concat(lines("1", 30), lines("2", 20), lines("3", 25))
	slices.Sort(want)
	slices.Sort(seen)
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
