package textio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil"
)

// put writes content to path, compressed with c.
func put(t testing.TB, path, content string, c filebased.Compression) {
	t.Helper()
	if err := putErr(path, []byte(content), c); err != nil {
		t.Fatal(err)
	}
}

func putErr(path string, content []byte, c filebased.Compression) error {
	w, err := filesystem.NewWriter(context.Background(), path, nil)
	if err != nil {
		return err
	}
	cw, err := filebased.NewCompressor(w, c.Resolve(path))
	if err != nil {
		return err
	}
	if _, err := cw.Write(content); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	return w.Close()
}

func compress(t testing.TB, content string, c filebased.Compression) []byte {
	t.Helper()
	var b bytes.Buffer
	cw, err := filebased.NewCompressor(&b, c)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(cw, content)
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// memDir returns a mem:// directory of its own for a test.
// memDirs numbers mem:// directories, which live as long as the test
// process, so that repeated runs (-count) start empty.
var memDirs atomic.Int64

// memDir returns a mem:// directory of its own for a test.
func memDir(t testing.TB) string {
	return fmt.Sprintf("mem://%s-%d/d", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()), memDirs.Add(1))
}

func readSource(t testing.TB, src *filebased.Source[string]) []string {
	t.Helper()
	got, err := testutil.ReadAll[string, int64](context.Background(), src)
	if err != nil {
		t.Fatalf("reading %s: %v", src.Pattern(), err)
	}
	return got
}

// naiveLines splits text as the reader should: at "\n", dropping a "\r"
// before it, with a last line only if it is not empty.
func naiveLines(text string) []string {
	parts := strings.Split(text, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		if i < len(parts)-1 || strings.HasSuffix(text, "\n") {
			parts[i] = strings.TrimSuffix(p, "\r")
		}
	}
	return parts
}

var lineCases = []struct {
	name    string
	content string
	want    []string
}{
	{"LF lines", "a\nbb\nccc\n", []string{"a", "bb", "ccc"}},
	{"CRLF lines", "a\r\nbb\r\nccc\r\n", []string{"a", "bb", "ccc"}},
	{"mixed line ends", "a\r\nbb\nccc\r\nd\n", []string{"a", "bb", "ccc", "d"}},
	{"last line without newline", "a\nbb", []string{"a", "bb"}},
	{"last line with a lone CR keeps it", "a\nbb\r", []string{"a", "bb\r"}},
	{"CR inside a line is data", "a\rb\n", []string{"a\rb"}},
	{"empty lines", "\n\n\n", []string{"", "", ""}},
	{"one empty CRLF line", "\r\n", []string{""}},
	{"single line without newline", "x", []string{"x"}},
	{"blank lines between", "a\n\nb\n", []string{"a", "", "b"}},
}

func TestReadLines(t *testing.T) {
	for _, c := range []filebased.Compression{filebased.Uncompressed, filebased.Gzip, filebased.Bzip2, filebased.Deflate, filebased.Zstd} {
		for _, tt := range lineCases {
			t.Run(c.String()+"/"+tt.name, func(t *testing.T) {
				p := memDir(t) + "/f.txt" + c.Extension()
				put(t, p, tt.content, c)
				got := readSource(t, textio.NewSource(p))
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("lines of %q (-want +got):\n%s", tt.content, diff)
				}
				if diff := cmp.Diff(naiveLines(tt.content), got); diff != "" {
					t.Errorf("lines of %q differ from the naive split (-naive +got):\n%s", tt.content, diff)
				}
			})
		}
	}
}

// TestEveryBoundary reads each file as two ranges [0, k) and [k, n) for
// every k, and as n one-byte ranges: every line exactly once, in order.
func TestEveryBoundary(t *testing.T) {
	for _, tt := range lineCases {
		t.Run(tt.name, func(t *testing.T) {
			p := memDir(t) + "/f.txt"
			put(t, p, tt.content, filebased.Uncompressed)
			src := textio.NewSource(p)
			ctx := context.Background()
			n := int64(len(tt.content))
			for k := int64(0); k <= n; k++ {
				a, err := testutil.ReadFromSource[string, int64](ctx, src, 0, k)
				if err != nil {
					t.Fatal(err)
				}
				b, err := testutil.ReadFromSource[string, int64](ctx, src, k, n)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, append(a, b...)); diff != "" {
					t.Errorf("[0, %d) + [%d, %d) (-want +got):\n%s", k, k, n, diff)
				}
			}
			var all []string
			for k := range n {
				got, err := testutil.ReadFromSource[string, int64](ctx, src, k, k+1)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) > 1 {
					t.Errorf("[%d, %d) read %q: a one-byte range holds at most one line start", k, k+1, got)
				}
				all = append(all, got...)
			}
			if diff := cmp.Diff(tt.want, all); diff != "" {
				t.Errorf("one-byte ranges (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSkipHeaderLines(t *testing.T) {
	tests := []struct {
		name    string
		content string
		skip    int
		want    []string
	}{
		{"one header line", "h\na\nb\n", 1, []string{"a", "b"}},
		{"two CRLF header lines", "h1\r\nh2\r\na\r\n", 2, []string{"a"}},
		{"file shorter than the header", "h\n", 3, nil},
		{"header only", "h1\nh2", 2, nil},
		{"no header", "a\nb\n", 0, []string{"a", "b"}},
	}
	for _, c := range []filebased.Compression{filebased.Uncompressed, filebased.Gzip} {
		for _, tt := range tests {
			t.Run(c.String()+"/"+tt.name, func(t *testing.T) {
				p := memDir(t) + "/f.csv" + c.Extension()
				put(t, p, tt.content, c)
				src := textio.NewSource(p, textio.SkipHeaderLines(tt.skip))
				if diff := cmp.Diff(tt.want, readSource(t, src), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("lines (-want +got):\n%s", diff)
				}
				if c != filebased.Uncompressed {
					return
				}
				// Any split point gives the same lines.
				n := int64(len(tt.content))
				for k := int64(0); k <= n; k++ {
					a, _ := testutil.ReadFromSource[string, int64](context.Background(), src, 0, k)
					b, _ := testutil.ReadFromSource[string, int64](context.Background(), src, k, n)
					if diff := cmp.Diff(tt.want, append(a, b...), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("[0, %d) + [%d, %d) (-want +got):\n%s", k, k, n, diff)
					}
				}
			})
		}
	}
}

// TestMultipleFiles reads a glob over files of every compression as one
// source, and again split at every position of its concatenated range.
func TestMultipleFiles(t *testing.T) {
	dir := memDir(t)
	var want []string
	for i, c := range []filebased.Compression{filebased.Uncompressed, filebased.Gzip, filebased.Uncompressed, filebased.Zstd, filebased.Bzip2, filebased.Deflate} {
		var lines []string
		for j := range 4 {
			lines = append(lines, fmt.Sprintf("file %d line %d", i, j))
		}
		put(t, fmt.Sprintf("%s/part-%d.txt%s", dir, i, c.Extension()), strings.Join(lines, "\n")+"\n", c)
		want = append(want, lines...)
	}
	put(t, dir+"/part-9.txt", "", filebased.Uncompressed) // zero bytes: skipped
	src := textio.NewSource(dir + "/part-*")
	if diff := cmp.Diff(want, readSource(t, src)); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}
	ctx := context.Background()
	_, n := src.DefaultRange()
	for k := int64(0); k <= n; k++ {
		a, err := testutil.ReadFromSource[string, int64](ctx, src, 0, k)
		if err != nil {
			t.Fatal(err)
		}
		b, err := testutil.ReadFromSource[string, int64](ctx, src, k, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, append(a, b...)); diff != "" {
			t.Fatalf("[0, %d) + [%d, %d) (-want +got):\n%s", k, k, n, diff)
		}
	}
	bundles, err := src.Split(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CheckSourcesEqualReference[string, int64](ctx, src, bundles, nil); err != nil {
		t.Error(err)
	}
}

func TestMissingAndEmptyPatterns(t *testing.T) {
	dir := memDir(t)
	ctx := context.Background()
	_, err := textio.NewSource(dir + "/nothing-*.txt").EstimateSize(ctx)
	if err == nil || !strings.Contains(err.Error(), "nothing-*.txt") || !strings.Contains(err.Error(), "matches no files") {
		t.Errorf("EstimateSize of a pattern that matches nothing = %v, want an error naming the pattern", err)
	}
	src := textio.NewSource(dir+"/nothing-*.txt", textio.AllowEmpty())
	if got := readSource(t, src); len(got) != 0 {
		t.Errorf("AllowEmpty source read %q, want nothing", got)
	}
	put(t, dir+"/empty.txt", "", filebased.Uncompressed)
	if got := readSource(t, textio.NewSource(dir+"/empty.txt")); len(got) != 0 {
		t.Errorf("zero-byte file read %q, want nothing", got)
	}
}

func TestCorruptCompressedInput(t *testing.T) {
	content := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 2000)
	tests := []struct {
		name   string
		c      filebased.Compression
		break_ func([]byte) []byte
	}{
		{"truncated gzip", filebased.Gzip, func(b []byte) []byte { return b[:len(b)/2] }},
		{"gzip without its trailer", filebased.Gzip, func(b []byte) []byte { return b[:len(b)-4] }},
		{"corrupt gzip", filebased.Gzip, flipMiddle},
		{"gzip with trailing garbage", filebased.Gzip, func(b []byte) []byte { return append(b, "garbage"...) }},
		{"truncated bzip2", filebased.Bzip2, func(b []byte) []byte { return b[:len(b)/2] }},
		{"corrupt bzip2", filebased.Bzip2, flipMiddle},
		{"truncated zstd", filebased.Zstd, func(b []byte) []byte { return b[:len(b)/2] }},
		{"corrupt zstd", filebased.Zstd, flipMiddle},
		{"truncated deflate", filebased.Deflate, func(b []byte) []byte { return b[:len(b)/2] }},
		{"corrupt deflate", filebased.Deflate, flipMiddle},
		{"not compressed at all", filebased.Gzip, func([]byte) []byte { return []byte(content) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := memDir(t) + "/broken.txt" + tt.c.Extension()
			if err := putErr(p, tt.break_(compress(t, content, tt.c)), filebased.Uncompressed); err != nil {
				t.Fatal(err)
			}
			_, err := testutil.ReadAll[string, int64](context.Background(), textio.NewSource(p))
			if err == nil {
				t.Fatalf("reading %s succeeded, want an error", p)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, p) || !strings.Contains(msg, tt.c.String()) {
				t.Errorf("error %q does not name the file and its compression", msg)
			}
			if tt.name != "not compressed at all" && !strings.Contains(msg, "offset") {
				t.Errorf("error %q does not give the offset", msg)
			}
		})
	}
}

func flipMiddle(b []byte) []byte {
	b = slices.Clone(b)
	for i := len(b) / 3; i < len(b)/3+16 && i < len(b); i++ {
		b[i] ^= 0x55
	}
	return b
}

// TestReadPipeline reads a glob of plain and compressed files on the local
// runner, with and without file names.
func TestReadPipeline(t *testing.T) {
	dir := t.TempDir()
	var want, wantNamed []string
	for i := range 5 {
		c := filebased.Uncompressed
		if i%2 == 1 {
			c = filebased.Gzip
		}
		path := filepath.Join(dir, fmt.Sprintf("in-%d.txt%s", i, c.Extension()))
		var b strings.Builder
		for j := range 300 * (i + 1) {
			line := fmt.Sprintf("f%d-%04d", i, j)
			fmt.Fprintf(&b, "%s\r\n", line)
			want = append(want, line)
			wantNamed = append(wantNamed, path+": "+line)
		}
		put(t, path, b.String(), c)
	}
	p := sdk.NewPipeline()
	s := p.Root()
	lines := runnertest.Collect(s, textio.Read(s, filepath.Join(dir, "in-*"), textio.DesiredBundleSize(2000)))
	named := runnertest.Collect(s, textio.ReadWithFileName(s, filepath.Join(dir, "in-*")))
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, lines.SortedStrings(func(s string) string { return s })); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	slices.Sort(wantNamed)
	if diff := cmp.Diff(wantNamed, named.SortedStrings(func(kv sdk.KV[string, string]) string { return kv.Key + ": " + kv.Value })); diff != "" {
		t.Errorf("ReadWithFileName (-want +got):\n%s", diff)
	}
	t.Logf("%d bundles, %d dynamic splits", res.Bundles, res.Splits)
}

func TestReadPipelineErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		setup   func()
		pattern string
		want    string
	}{
		{"pattern matching nothing", func() {}, filepath.Join(dir, "none-*.txt"), "matches no files"},
		{"truncated gzip file", func() {
			b := compress(t, strings.Repeat("line\n", 1000), filebased.Gzip)
			putErr(filepath.Join(dir, "bad.txt.gz"), b[:len(b)-10], filebased.Uncompressed)
		}, filepath.Join(dir, "bad.txt.gz"), "bad.txt.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			p := sdk.NewPipeline()
			textio.Read(p.Root(), tt.pattern)
			_, err := local.New(&local.Options{Job: local.Job{Parallelism: 1, MaxAttempts: 1}}).Run(context.Background(), p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	p := sdk.NewPipeline()
	textio.Read(p.Root(), "x", textio.SkipHeaderLines(-1))
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("SkipHeaderLines(-1): pipeline error %v, want one saying it is negative", err)
	}
}
