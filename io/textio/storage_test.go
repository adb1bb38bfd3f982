package textio_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"gocloud.dev/blob"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// TestWithStorage writes and reads mem:// files through a Storage of the
// test's own: the files live in it, not in filesystem.Default(), and go
// with its Close.
func TestWithStorage(t *testing.T) {
	ctx := context.Background()
	fs := filesystem.New(nil)
	dir := "mem://" + t.Name() + "/out"

	p := sdk.NewPipeline()
	s := p.Root()
	textio.Write(s, dir+"/part", sdk.Create(s, []string{"a", "b", "c"}), textio.NumShards(2), textio.WithStorage(fs))
	if _, err := local.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	if files, err := filesystem.List(ctx, dir); err != nil || len(files) != 0 {
		t.Errorf("Default().List(%q) = %v, %v; want no files: they were written through another Storage", dir, files, err)
	}
	files, err := fs.List(ctx, dir)
	if err != nil || len(files) != 2 {
		t.Fatalf("fs.List(%q) = %v, %v; want the 2 shards", dir, files, err)
	}

	p = sdk.NewPipeline()
	s = p.Root()
	got := runnertest.Collect(s, textio.Read(s, dir+"/part-*", textio.WithStorage(fs)))
	if _, err := local.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	lines := got.Elements()
	slices.Sort(lines)
	if !slices.Equal(lines, []string{"a", "b", "c"}) {
		t.Errorf("read back %q, want [a b c]", lines)
	}

	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	p = sdk.NewPipeline()
	s = p.Root()
	textio.Read(s, dir+"/part-*", textio.WithStorage(fs))
	if _, err := local.Execute(ctx, p); !errors.Is(err, filesystem.ErrClosed) {
		t.Errorf("reading through a closed Storage: %v, want filesystem.ErrClosed", err)
	}
}

// TestCloudSchemeWithoutDriver reads an s3:// URL through a Storage whose
// mux has no driver, as in a program that does not import s3blob: the job
// fails with a *filesystem.SchemeError.
func TestCloudSchemeWithoutDriver(t *testing.T) {
	fs := filesystem.New(&filesystem.Options{URLMux: new(blob.URLMux)})
	defer fs.Close()
	p := sdk.NewPipeline()
	s := p.Root()
	textio.Read(s, "s3://bucket/in/*.txt?region=us-east-1", textio.WithStorage(fs))
	_, err := local.Execute(context.Background(), p)
	var se *filesystem.SchemeError
	if !errors.As(err, &se) || se.Scheme != "s3" {
		t.Errorf("Execute() = %v, want a *filesystem.SchemeError for s3", err)
	}
}

// TestConstructionErrorNamesCaller checks that a textio construction error
// goes through sdk's Scope hook: a *sdk.ConstructionError naming the
// transform and the line that called textio.
func TestConstructionErrorNamesCaller(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	textio.Read(s, "in/*.txt", textio.SkipHeaderLines(-1))
	_, _, line, _ := runtime.Caller(0)
	var ce *sdk.ConstructionError
	if err := p.Err(); !errors.As(err, &ce) {
		t.Fatalf("Err() = %v, want a *sdk.ConstructionError", err)
	}
	if want := fmt.Sprintf("storage_test.go:%d", line-1); ce.Location != want || ce.Transform != "ReadText" {
		t.Errorf("ConstructionError = %q at %q, want ReadText at %q", ce.Transform, ce.Location, want)
	}
}
