package filesystem_test

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/io/filesystem"
)

// A Prefix lists only the objects directly under it, and writes, reads,
// sizes, copies and deletes them by name.
func TestPrefixIsAFlatStoreOfNamedObjects(t *testing.T) {
	ctx := context.Background()
	p := filesystem.NewPrefix("mem://prefix-test/jobs/a/")
	if got := p.String(); got != "mem://prefix-test/jobs/a/" {
		t.Errorf("String = %q", got)
	}
	for name, data := range map[string]string{"x": "one", "y": "two"} {
		w, err := p.NewWriter(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Deeper, and beside: not the prefix's.
	for _, path := range []string{"mem://prefix-test/jobs/a/deeper/z", "mem://prefix-test/jobs/ab"} {
		w, err := filesystem.NewWriter(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	names, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"x", "y"}) {
		t.Errorf("List = %v, want [x y]", names)
	}
	if err := p.Copy(ctx, "z", "y"); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Size(ctx, "z"); err != nil || n != 3 {
		t.Errorf("Size(z) = %d, %v; want 3", n, err)
	}
	r, err := p.NewRangeReader(ctx, "z", 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "wo" {
		t.Errorf("z from offset 1 = %q, want \"wo\"", b)
	}
	if err := p.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(ctx, "x"); err == nil || !filesystem.IsNotFound(err) {
		t.Errorf("deleting a deleted object: %v, want a not-found error", err)
	}
	names, _ = p.List(ctx)
	slices.Sort(names)
	if !slices.Equal(names, []string{"y", "z"}) {
		t.Errorf("List after Copy and Delete = %v, want [y z]", names)
	}
}

// IsURL tells blob-store URLs from local paths.
func TestIsURL(t *testing.T) {
	for path, want := range map[string]bool{
		"s3://b/x": true, "mem://": true, "file:///tmp/x": true,
		"/tmp/x": false, "rel/dir": false, "a/b://c": false, `c:\x://y`: false, "://x": false,
	} {
		if got := filesystem.IsURL(path); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", path, got, want)
		}
	}
}
