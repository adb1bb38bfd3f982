package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs, as a program using them imports it
	"gocloud.dev/gcerrors"
)

// store is a place to run the same checks in: a directory path and the
// query string its files carry.
type store struct {
	dir   string
	query string
}

func (s store) path(name string) string {
	p := Join(s.dir, name)
	if s.query != "" {
		p += "?" + s.query
	}
	return p
}

func write(t *testing.T, path, content string) {
	t.Helper()
	w, err := NewWriter(context.Background(), path, &WriterOptions{ContentType: "text/plain"})
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

func read(t *testing.T, path string, off, n int64) string {
	t.Helper()
	r, err := NewRangeReader(context.Background(), path, off, n)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func names(files []FileInfo) map[string]int64 {
	m := map[string]int64{}
	for _, f := range files {
		m[f.Path] = f.Size
	}
	return m
}

// checkStore runs the filesystem operations against one store.
func checkStore(t *testing.T, s store) {
	ctx := context.Background()
	files := map[string]string{
		"in/a.txt":     "alpha\n",
		"in/b.txt":     "bravo!\n",
		"in/c.csv":     "c",
		"in/sub/d.txt": "delta delta\n",
		"in/sub/e.log": "e",
		"other/x.txt":  "x",
	}
	for name, content := range files {
		write(t, s.path(name), content)
	}

	t.Run("match", func(t *testing.T) {
		tests := []struct {
			pattern string
			want    []string
		}{
			{"in/*.txt", []string{"in/a.txt", "in/b.txt"}},
			{"in/**.txt", []string{"in/a.txt", "in/b.txt", "in/sub/d.txt"}},
			{"in/**/*.txt", []string{"in/a.txt", "in/b.txt", "in/sub/d.txt"}},
			{"in/?.csv", []string{"in/c.csv"}},
			{"in/[ab].txt", []string{"in/a.txt", "in/b.txt"}},
			{"*/x.txt", []string{"other/x.txt"}},
			{"in/b.txt", []string{"in/b.txt"}},
			{"in/missing.txt", nil},
			{"in/*.none", nil},
		}
		for _, tt := range tests {
			got, err := Match(ctx, s.path(tt.pattern))
			if err != nil {
				t.Fatalf("Match(%q): %v", tt.pattern, err)
			}
			want := map[string]int64{}
			for _, n := range tt.want {
				want[s.path(n)] = int64(len(files[n]))
			}
			if diff := cmp.Diff(want, names(got)); diff != "" {
				t.Errorf("Match(%q) (-want +got):\n%s", tt.pattern, diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].Path >= got[i].Path {
					t.Errorf("Match(%q) is not sorted: %q before %q", tt.pattern, got[i-1].Path, got[i].Path)
				}
			}
		}
	})

	t.Run("stat and range reads", func(t *testing.T) {
		p := s.path("in/sub/d.txt")
		fi, err := Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size != 12 || fi.Path != p {
			t.Errorf("Stat(%q) = %+v, want size 12", p, fi)
		}
		for _, r := range []struct {
			off, n int64
			want   string
		}{{0, -1, "delta delta\n"}, {6, -1, "delta\n"}, {6, 3, "del"}, {11, 10, "\n"}, {0, 0, ""}} {
			if got := read(t, p, r.off, r.n); got != r.want {
				t.Errorf("NewRangeReader(%q, %d, %d) read %q, want %q", p, r.off, r.n, got, r.want)
			}
		}
	})

	t.Run("copy, rename and delete", func(t *testing.T) {
		src, dst, moved := s.path("in/a.txt"), s.path("out/a-copy.txt"), s.path("out/a-moved.txt")
		if err := Copy(ctx, dst, src); err != nil {
			t.Fatal(err)
		}
		write(t, moved, "stale")
		if err := Rename(ctx, moved, dst); err != nil {
			t.Fatal(err)
		}
		if got := read(t, moved, 0, -1); got != "alpha\n" {
			t.Errorf("after Rename, %q holds %q, want %q", moved, got, "alpha\n")
		}
		for p, want := range map[string]bool{src: true, dst: false, moved: true} {
			if got, err := Exists(ctx, p); err != nil || got != want {
				t.Errorf("Exists(%q) = %v, %v; want %v", p, got, err, want)
			}
		}
		if err := Delete(ctx, moved); err != nil {
			t.Fatal(err)
		}
		err := Delete(ctx, moved)
		if !IsNotFound(err) || !strings.Contains(err.Error(), moved) {
			t.Errorf("second Delete(%q) = %v, want a NotFound error naming the path", moved, err)
		}
	})

	t.Run("delete all under a prefix", func(t *testing.T) {
		for _, n := range []string{"tmp/x/1", "tmp/x/2/3", "tmp/y"} {
			write(t, s.path(n), n)
		}
		if err := DeleteAll(ctx, s.path("tmp/x/")); err != nil {
			t.Fatal(err)
		}
		got, err := List(ctx, s.path("tmp/"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int64{s.path("tmp/y"): 5}, names(got)); diff != "" {
			t.Errorf("List after DeleteAll (-want +got):\n%s", diff)
		}
	})

	t.Run("missing files are NotFound errors naming the path", func(t *testing.T) {
		p := s.path("in/nope.txt")
		_, err := Stat(ctx, p)
		if Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "nope.txt") {
			t.Errorf("Stat(%q) = %v, want NotFound naming the file", p, err)
		}
		_, err = NewRangeReader(ctx, p, 0, -1)
		if Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "nope.txt") {
			t.Errorf("NewRangeReader(%q) = %v, want NotFound naming the file", p, err)
		}
	})
}

func TestLocal(t *testing.T) {
	checkStore(t, store{dir: t.TempDir()})
}

func TestLocalFileURL(t *testing.T) {
	checkStore(t, store{dir: "file://" + filepath.ToSlash(t.TempDir())})
}

func TestMem(t *testing.T) {
	checkStore(t, store{dir: fmt.Sprintf("mem://%s-%d/root", t.Name(), time.Now().UnixNano())})
}

func TestMemBucketsAreSharedByName(t *testing.T) {
	p := "mem://" + t.Name() + "/f"
	write(t, p, "shared")
	if got := read(t, p, 0, -1); got != "shared" {
		t.Errorf("read back %q, want %q", got, "shared")
	}
	if ok, err := Exists(context.Background(), "mem://"+t.Name()+"-other/f"); ok || err != nil {
		t.Errorf("Exists in another mem bucket = %v, %v; want false", ok, err)
	}
}

// TestS3 runs against a real S3-compatible server (gofakes3) on loopback.
func TestS3(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("test"); err != nil {
		t.Fatal(err)
	}
	q := "endpoint=" + srv.URL + "&use_path_style=true&disable_https=true&region=us-east-1&anonymous=true"
	s := store{dir: "s3://test/" + t.Name(), query: q}
	checkStore(t, s)

	t.Run("objects are on the server with their MIME type", func(t *testing.T) {
		obj, err := backend.HeadObject("test", t.Name()[:len("TestS3")]+"/in/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		if ct := obj.Metadata["Content-Type"]; ct != "text/plain" {
			t.Errorf("Content-Type = %q, want text/plain", ct)
		}
	})
}

func TestLocalPermissionError(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a non-root Unix user")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(p, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := NewRangeReader(context.Background(), p, 0, -1)
	if err == nil {
		r, _ := NewRangeReader(context.Background(), p, 0, -1)
		_, err = io.ReadAll(r)
	}
	if Code(err) != gcerrors.PermissionDenied || !strings.Contains(err.Error(), "secret.txt") {
		t.Errorf("reading an unreadable file: %v (code %v), want PermissionDenied naming the file", err, Code(err))
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("error %v does not wrap os.ErrPermission", err)
	}
}

func TestCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{nil, gcerrors.OK},
		{fmt.Errorf("filesystem: read %q: %w", "/x", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission}), gcerrors.PermissionDenied},
		{fmt.Errorf("wrapped: %w", fs.ErrNotExist), gcerrors.NotFound},
		{errors.New("other"), gcerrors.Unknown},
	} {
		if got := Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
