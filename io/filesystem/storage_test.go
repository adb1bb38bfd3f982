package filesystem

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"gocloud.dev/blob"
)

func writeFile(t *testing.T, s *Storage, path, content string) {
	t.Helper()
	w, err := s.NewWriter(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStorageClose(t *testing.T) {
	ctx := context.Background()
	s := New(nil)
	local := t.TempDir() + "/a.txt"
	writeFile(t, s, local, "local")
	writeFile(t, s, "mem://"+t.Name()+"/a.txt", "mem")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if _, err := s.Stat(ctx, local); !errors.Is(err, ErrClosed) {
		t.Errorf("Stat after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close() = %v, want ErrClosed", err)
	}
	// The local file outlives the Storage; its mem bucket does not.
	if ok, err := New(nil).Exists(ctx, local); !ok || err != nil {
		t.Errorf("Exists(%q) through a new Storage = %v, %v; want true", local, ok, err)
	}
}

func TestStorageMemBucketsAreItsOwn(t *testing.T) {
	ctx := context.Background()
	a, b := New(nil), New(nil)
	defer a.Close()
	defer b.Close()
	p := "mem://" + t.Name() + "/f"
	writeFile(t, a, p, "x")
	if ok, err := a.Exists(ctx, p); !ok || err != nil {
		t.Errorf("a.Exists = %v, %v; want true", ok, err)
	}
	if ok, err := b.Exists(ctx, p); ok || err != nil {
		t.Errorf("b.Exists = %v, %v; want false: mem buckets belong to their Storage", ok, err)
	}
	if ok, err := Exists(ctx, p); ok || err != nil {
		t.Errorf("Default().Exists = %v, %v; want false", ok, err)
	}
}

func TestDefaultStorageIsNotClosed(t *testing.T) {
	if err := Default().Close(); err == nil {
		t.Fatal("Default().Close() = nil, want an error")
	}
	p := "mem://" + t.Name() + "/f"
	writeFile(t, Default(), p, "x")
	if ok, err := Exists(context.Background(), p); !ok || err != nil {
		t.Errorf("Exists after Default().Close() = %v, %v; want true", ok, err)
	}
}

func TestSchemeWithoutDriver(t *testing.T) {
	// An empty mux has no driver, as DefaultURLMux in a program that
	// imports none.
	s := New(&Options{URLMux: new(blob.URLMux)})
	defer s.Close()
	_, err := s.Match(context.Background(), "s3://bucket/logs/*.gz?region=eu-west-1")
	var se *SchemeError
	if !errors.As(err, &se) || se.Scheme != "s3" {
		t.Fatalf("Match(s3://...) error = %v, want a *SchemeError for s3", err)
	}
	if !strings.Contains(err.Error(), `import _ "gocloud.dev/blob/s3blob"`) {
		t.Errorf("error %q does not say which driver to import", err)
	}
	// With the driver imported (this test binary imports s3blob), the
	// default mux knows the scheme.
	if !blob.DefaultURLMux().ValidBucketScheme("s3") {
		t.Errorf("DefaultURLMux does not know s3 although the test imports s3blob")
	}
}
