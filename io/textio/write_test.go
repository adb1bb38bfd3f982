package textio_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("line %04d", i)
	}
	return out
}

// readBack reads the files named by names (decompressing by extension)
// and returns their lines sorted.
func readBack(t *testing.T, names []string) []string {
	t.Helper()
	var all []string
	for _, n := range names {
		all = append(all, readSource(t, textio.NewSource(n))...)
	}
	slices.Sort(all)
	return all
}

// outputs lists the files under dir that are not temporary.
func outputs(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filesystem.List(context.Background(), dir+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.Contains(f.Path, ".temp-beamgo-") {
			t.Errorf("temporary file %s left behind", f.Path)
			continue
		}
		out = append(out, f.Path)
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".temp-beamgo-") {
				t.Errorf("temporary directory %s left behind", e.Name())
			}
		}
	}
	return out
}

func runLocal(t *testing.T, p *sdk.Pipeline, attempts int) error {
	t.Helper()
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: attempts}}).Run(context.Background(), p)
	return err
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		opts      []textio.Option
		wantFiles []string // nil: any names starting with "out"
		header    string
	}{
		{"runner-chosen shards", 500, []textio.Option{textio.WithSuffix(".txt")}, nil, ""},
		{"fixed shards with header and footer", 300, []textio.Option{textio.NumShards(3), textio.WithSuffix(".csv"), textio.WithHeader("id"), textio.WithFooter("end")},
			[]string{"out-00000-of-00003.csv", "out-00001-of-00003.csv", "out-00002-of-00003.csv"}, "id"},
		{"gzip by suffix", 200, []textio.Option{textio.NumShards(2), textio.WithSuffix(".txt.gz")}, []string{"out-00000-of-00002.txt.gz", "out-00001-of-00002.txt.gz"}, ""},
		{"zstd by option", 200, []textio.Option{textio.NumShards(1), textio.WithCompression(filebased.Zstd), textio.WithSuffix(".zst")}, []string{"out-00000-of-00001.zst"}, ""},
		{"single file", 100, []textio.Option{textio.ShardTemplate(""), textio.WithSuffix(".txt")}, []string{"out.txt"}, ""},
		{"custom template", 50, []textio.Option{textio.NumShards(2), textio.ShardTemplate("_SS")}, []string{"out_00", "out_01"}, ""},
		{"empty input", 0, []textio.Option{textio.WithHeader("h")}, []string{"out-00000-of-00001"}, "h"},
		{"empty input skipped", 0, []textio.Option{textio.SkipIfEmpty()}, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := sdk.NewPipeline()
			s := p.Root()
			lines := numbers(tt.n)
			names := runnertest.Collect(s, textio.Write(s, filepath.Join(dir, "out"), sdk.Reshuffle(s, sdk.Create(s, lines)), tt.opts...))
			if err := runLocal(t, p, 1); err != nil {
				t.Fatalf("Run: %v", err)
			}
			files := outputs(t, dir)
			if diff := cmp.Diff(files, names.Sorted()); diff != "" {
				t.Errorf("Write's output names differ from the files written (-files +names):\n%s", diff)
			}
			if tt.wantFiles != nil {
				var want []string
				for _, f := range tt.wantFiles {
					want = append(want, filepath.Join(dir, f))
				}
				if diff := cmp.Diff(want, files, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
					t.Errorf("files (-want +got):\n%s", diff)
				}
			}
			var got []string
			for _, f := range files {
				fl := readSource(t, textio.NewSource(f))
				if tt.header != "" {
					if len(fl) == 0 || fl[0] != tt.header {
						t.Errorf("%s does not start with the header %q: %q", f, tt.header, fl)
					} else {
						fl = fl[1:]
					}
				}
				if len(fl) > 0 && fl[len(fl)-1] == "end" {
					fl = fl[:len(fl)-1]
				}
				got = append(got, fl...)
			}
			slices.Sort(got)
			if diff := cmp.Diff(lines, got, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
				t.Errorf("lines read back (-want +got):\n%s", diff)
			}
		})
	}
}

// failOnce fails the first attempt at each element in fail, once.
type failOnce struct {
	fail map[string]bool
	// mu guards failed.
	mu     *sync.Mutex
	failed map[string]bool
	count  *atomic.Int64
}

func newFailOnce(elems ...string) failOnce {
	f := failOnce{fail: map[string]bool{}, mu: &sync.Mutex{}, failed: map[string]bool{}, count: new(atomic.Int64)}
	for _, e := range elems {
		f.fail[e] = true
	}
	return f
}

func (f failOnce) check(key string) error {
	if !f.fail[key] {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed[key] {
		return nil
	}
	f.failed[key] = true
	f.count.Add(1)
	return fmt.Errorf("injected failure at %q", key)
}

func (f failOnce) ProcessElement(_ context.Context, s string, emit func(string)) error {
	if err := f.check(s); err != nil {
		return err
	}
	emit(s)
	return nil
}

// TestWriteExactlyOnceUnderRetries fails bundles on the local runner while
// they write (the failing step is fused with the write, so each failure
// abandons a temporary file half written) and checks that the output holds
// each line exactly once and no temporary file is left.
func TestWriteExactlyOnceUnderRetries(t *testing.T) {
	for _, shards := range []int{0, 3} {
		t.Run(fmt.Sprintf("NumShards(%d)", shards), func(t *testing.T) {
			dir := t.TempDir()
			p := sdk.NewPipeline()
			s := p.Root()
			lines := numbers(400)
			before := newFailOnce("line 0007", "line 0123", "line 0301")
			in := sdk.ParDo(s, sdk.DoFn[string, string](before), sdk.Reshuffle(s, sdk.Create(s, lines)), sdk.Name("FailBefore"))
			textio.Write(s, filepath.Join(dir, "out"), in, textio.NumShards(shards))
			if err := runLocal(t, p, 3); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if before.count.Load() != 3 {
				t.Errorf("%d injected failures happened, want 3", before.count.Load())
			}
			if diff := cmp.Diff(lines, readBack(t, outputs(t, dir))); diff != "" {
				t.Errorf("lines written (-want +got):\n%s", diff)
			}
		})
	}
}

// commitThenFail passes written-file results through and fails the first
// time: downstream of the write in the same stage, it fails a bundle whose
// temporary file is already committed.
type commitThenFail struct{ failed *atomic.Bool }

func (f commitThenFail) ProcessElement(_ context.Context, name string, emit func(string)) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("injected failure after the files were final")
	}
	emit(name)
	return nil
}

// TestWriteFinalizeRetried fails the bundle that runs the finalize after it
// succeeded; the retried finalize finds the files final and returns the
// same names.
func TestWriteFinalizeRetried(t *testing.T) {
	dir := t.TempDir()
	p := sdk.NewPipeline()
	s := p.Root()
	lines := numbers(100)
	names := textio.Write(s, filepath.Join(dir, "out"), sdk.Reshuffle(s, sdk.Create(s, lines)), textio.NumShards(2))
	got := runnertest.Collect(s, sdk.ParDo(s, sdk.DoFn[string, string](commitThenFail{new(atomic.Bool)}), names))
	if err := runLocal(t, p, 2); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{filepath.Join(dir, "out-00000-of-00002"), filepath.Join(dir, "out-00001-of-00002")}
	if diff := cmp.Diff(want, got.Sorted()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lines, readBack(t, outputs(t, dir))); diff != "" {
		t.Errorf("lines written (-want +got):\n%s", diff)
	}
}

// alwaysFail fails on one element every time.
type alwaysFail struct{ Bad string }

func (f alwaysFail) ProcessElement(_ context.Context, s string, emit func(string)) error {
	if s == f.Bad {
		return errors.New("permanent failure")
	}
	emit(s)
	return nil
}

func TestWriteFailedJobLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.ParDo(s, sdk.DoFn[string, string](alwaysFail{Bad: "line 0042"}), sdk.Reshuffle(s, sdk.Create(s, numbers(100))))
	textio.Write(s, filepath.Join(dir, "out"), in)
	if err := runLocal(t, p, 2); err == nil {
		t.Fatal("Run succeeded, want the permanent failure")
	}
	files, err := filesystem.Match(context.Background(), filepath.Join(dir, "out*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Errorf("final files %v exist after the job failed, want none", files)
	}
}

// TestWriteReadS3 writes to and reads from a real S3-compatible server.
func TestWriteReadS3(t *testing.T) {
	q := "?endpoint=" + s3Server() + "&use_path_style=true&disable_https=true&region=us-east-1&anonymous=true"
	prefix := "s3://textio/" + t.Name() + "/out/part" + q
	lines := numbers(300)

	p := sdk.NewPipeline()
	s := p.Root()
	names := runnertest.Collect(s, textio.Write(s, prefix, sdk.Reshuffle(s, sdk.Create(s, lines)), textio.NumShards(3), textio.WithSuffix(".txt.gz")))
	if err := runLocal(t, p, 1); err != nil {
		t.Fatalf("write: %v", err)
	}
	want := []string{
		"s3://textio/" + t.Name() + "/out/part-00000-of-00003.txt.gz" + q,
		"s3://textio/" + t.Name() + "/out/part-00001-of-00003.txt.gz" + q,
		"s3://textio/" + t.Name() + "/out/part-00002-of-00003.txt.gz" + q,
	}
	if diff := cmp.Diff(want, names.Sorted()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	fi, err := filesystem.Stat(context.Background(), want[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.ContentType != "text/plain" {
		t.Errorf("ContentType = %q, want text/plain", fi.ContentType)
	}
	if left, _ := filesystem.List(context.Background(), "s3://textio/"+t.Name()+"/out/.temp"+q); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	p = sdk.NewPipeline()
	s = p.Root()
	got := runnertest.Collect(s, textio.Read(s, "s3://textio/"+t.Name()+"/out/part-*"+q))
	if err := runLocal(t, p, 1); err != nil {
		t.Fatalf("read: %v", err)
	}
	if diff := cmp.Diff(lines, got.Sorted()); diff != "" {
		t.Errorf("lines read back (-want +got):\n%s", diff)
	}
}

// TestReadWriteRoundTripLarge writes many lines with runner-chosen shards
// and reads them back with small bundles, through the source conformance
// reference check as well.
func TestReadWriteRoundTripLarge(t *testing.T) {
	dir := memDir(t)
	lines := numbers(5000)
	p := sdk.NewPipeline()
	s := p.Root()
	textio.Write(s, dir+"/part", sdk.Reshuffle(s, sdk.Create(s, lines)))
	if err := runLocal(t, p, 1); err != nil {
		t.Fatal(err)
	}
	p = sdk.NewPipeline()
	s = p.Root()
	got := runnertest.Collect(s, textio.Read(s, dir+"/part-*", textio.DesiredBundleSize(1000)))
	if err := runLocal(t, p, 1); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lines, got.Sorted()); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
