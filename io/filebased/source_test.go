package filebased_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil"
)

// fixedReader reads records of 4 bytes: the record holding offset p starts
// at p rounded down to a multiple of 4.
type fixedReader struct{}

func (fixedReader) ReadRecords(ctx context.Context, f filebased.File, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		start := (rt.StartPosition() + 3) / 4 * 4
		if !f.Splittable {
			start = 0
		}
		r, err := f.Open(ctx, start)
		if err != nil {
			yield("", err)
			return
		}
		defer r.Close()
		buf := make([]byte, 4)
		for pos := start; ; pos += 4 {
			n, err := io.ReadFull(r, buf)
			if err == io.EOF {
				return
			}
			if err != nil && err != io.ErrUnexpectedEOF {
				yield("", err)
				return
			}
			ok, err := rt.TryClaim(pos)
			if err != nil {
				yield("", err)
				return
			}
			if !ok || !yield(string(buf[:n]), nil) {
				return
			}
		}
	}
}

func put(t testing.TB, path string, content []byte, c filebased.Compression) {
	t.Helper()
	w, err := filesystem.NewWriter(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw, err := filebased.NewCompressor(w, c)
	if err != nil {
		t.Fatal(err)
	}
	cw.Write(content)
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// memDirs numbers mem:// directories, which live as long as the test
// process, so that repeated runs (-count) start empty.
var memDirs atomic.Int64

func memDir(t testing.TB) string {
	return fmt.Sprintf("mem://%s-%d/d", strings.ReplaceAll(t.Name(), "/", "_"), memDirs.Add(1))
}

func records(prefix string, n int) ([]byte, []string) {
	var b bytes.Buffer
	var want []string
	for i := range n {
		r := fmt.Sprintf("%s%03d", prefix, i)[:4]
		b.WriteString(r)
		want = append(want, r)
	}
	return b.Bytes(), want
}

func TestSourceSplits(t *testing.T) {
	ctx := context.Background()
	dir := memDir(t)
	a, wantA := records("a", 25) // 100 bytes
	b, wantB := records("b", 10) // 40 bytes, gzip
	put(t, dir+"/a.dat", a, filebased.Uncompressed)
	put(t, dir+"/b.dat.gz", b, filebased.Gzip)
	put(t, dir+"/c.dat", nil, filebased.Uncompressed)
	tests := []struct {
		name    string
		opts    filebased.Options
		desired int64
		want    []string
	}{
		{"ranges of the desired size", filebased.Options{}, 30, []string{"a.dat [0, 30)", "a.dat [30, 60)", "a.dat [60, 90)", "a.dat [90, 100)", "b.dat.gz [0, infinity)"}},
		{"minimum bundle size merges a small tail", filebased.Options{MinBundleSize: 40}, 30, []string{"a.dat [0, 40)", "a.dat [40, 100)", "b.dat.gz [0, infinity)"}},
		{"unsplittable files are whole", filebased.Options{Unsplittable: true}, 30, []string{"a.dat [0, infinity)", "b.dat.gz [0, infinity)"}},
		{"compression set for all files", filebased.Options{Compression: filebased.Uncompressed}, 1000, []string{"a.dat [0, 100)", "b.dat.gz [0, " + fmt.Sprint(sizeOf(t, dir+"/b.dat.gz")) + ")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filebased.New(dir+"/*", filebased.RecordReader[string](fixedReader{}), &tt.opts)
			bundles, err := src.Split(ctx, tt.desired)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, bd := range bundles {
				stop := fmt.Sprint(bd.Stop)
				if bd.Stop == rangetracker.OffsetInfinity {
					stop = "infinity"
				}
				got = append(got, fmt.Sprintf("%s [%d, %s)", fileOf(t, bd), bd.Start, stop))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Split(%d) (-want +got):\n%s", tt.desired, diff)
			}
			if tt.opts.Compression == filebased.Uncompressed {
				return
			}
			if err := testutil.CheckSourcesEqualReference[string, int64](ctx, src, bundles, nil); err != nil {
				t.Error(err)
			}
			all, err := testutil.ReadAll[string, int64](ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(append(wantA, wantB...), all); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func sizeOf(t *testing.T, path string) int64 {
	fi, err := filesystem.Stat(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size
}

// fileOf names the file a bundle reads, through the source's encoding.
func fileOf(t *testing.T, b source.Bundle[string, int64]) string {
	t.Helper()
	root := filebased.New("x", filebased.RecordReader[string](fixedReader{}), nil)
	data, err := root.EncodeSource(b.Source)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, `"Path":"`)
	s = s[i+len(`"Path":"`):]
	s = s[:strings.IndexByte(s, '"')]
	return s[strings.LastIndexByte(s, '/')+1:]
}

// TestSourceConformance runs the source verification suite on two
// uncompressed files read as one source, and on one compressed file, which
// cannot split.
func TestSourceConformance(t *testing.T) {
	t.Run("uncompressed", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[string, int64] {
			dir := memDir(t)
			a, _ := records("a", 9)
			b, _ := records("b", 7)
			put(t, dir+"/a.dat", a, filebased.Uncompressed)
			put(t, dir+"/b.dat", b, filebased.Uncompressed)
			return filebased.New(dir+"/*.dat", filebased.RecordReader[string](fixedReader{}), nil)
		}, nil)
	})
	t.Run("zstd", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[string, int64] {
			dir := memDir(t)
			a, _ := records("a", 9)
			put(t, dir+"/a.dat", a, filebased.Zstd)
			return filebased.New(dir+"/*.dat", filebased.RecordReader[string](fixedReader{}), &filebased.Options{Compression: filebased.Zstd})
		}, &testutil.Options[string]{Unsplittable: true})
	})
}

func TestSourceCodecRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := memDir(t)
	a, want := records("a", 6)
	put(t, dir+"/a.dat", a, filebased.Uncompressed)
	root := filebased.New(dir+"/*.dat", filebased.RecordReader[string](fixedReader{}), &filebased.Options{MinBundleSize: 8})
	bundles, err := root.Split(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bundles {
		data, err := root.EncodeSource(b.Source)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := root.DecodeSource(data)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := testutil.ReadFromSource(ctx, sub, b.Start, b.Stop)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records through encoded sub-sources (-want +got):\n%s", diff)
	}
	data, err := root.EncodeSource(root)
	if err != nil {
		t.Fatal(err)
	}
	back, err := root.DecodeSource(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.(*filebased.Source[string]).Pattern() != root.Pattern() {
		t.Errorf("decoded root reads %q, want %q", back.(*filebased.Source[string]).Pattern(), root.Pattern())
	}
}

func TestSourceErrorsNameTheFile(t *testing.T) {
	ctx := context.Background()
	dir := memDir(t)
	a, _ := records("a", 6)
	put(t, dir+"/a.dat", a, filebased.Uncompressed)
	src := filebased.New(dir+"/*.dat", filebased.RecordReader[string](fixedReader{}), nil)
	if _, err := src.EstimateSize(ctx); err != nil {
		t.Fatal(err)
	}
	// The file disappears between expansion and reading.
	if err := filesystem.Delete(ctx, dir+"/a.dat"); err != nil {
		t.Fatal(err)
	}
	_, err := testutil.ReadAll[string, int64](ctx, src)
	if !filesystem.IsNotFound(err) || !strings.Contains(err.Error(), dir+"/a.dat") {
		t.Errorf("reading a deleted file: %v, want a NotFound error naming it", err)
	}
	_, err = filebased.New(dir+"/none-*", filebased.RecordReader[string](fixedReader{}), nil).Split(ctx, 10)
	if err == nil || !strings.Contains(err.Error(), "none-*") {
		t.Errorf("Split of a pattern matching nothing = %v, want an error naming it", err)
	}
}

func TestDetectCompression(t *testing.T) {
	for path, want := range map[string]filebased.Compression{
		"a.txt": filebased.Uncompressed, "a.TXT.GZ": filebased.Gzip, "a.bz2": filebased.Bzip2, "a.deflate": filebased.Deflate,
		"a.zst": filebased.Zstd, "a.zstd": filebased.Zstd, "s3://b/a.gz?region=x": filebased.Gzip, "a.gz.txt": filebased.Uncompressed,
	} {
		if got := filebased.DetectCompression(path); got != want {
			t.Errorf("DetectCompression(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestCompressionRoundTrip(t *testing.T) {
	for _, c := range []filebased.Compression{filebased.Uncompressed, filebased.Gzip, filebased.Bzip2, filebased.Deflate, filebased.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			var b bytes.Buffer
			// Two streams, concatenated: readers must read both.
			for _, part := range []string{"first stream\n", "second stream\n"} {
				w, err := filebased.NewCompressor(&b, c)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(w, part)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			r, err := filebased.NewDecompressor(&b, c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "first stream\nsecond stream\n" {
				t.Errorf("read %q, want both streams", got)
			}
			text, _ := c.MarshalText()
			var back filebased.Compression
			if err := back.UnmarshalText(text); err != nil || back != c {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, back, err, c)
			}
		})
	}
}
