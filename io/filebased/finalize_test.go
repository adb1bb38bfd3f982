package filebased

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/filesystem"
)

type stringWriter struct{}

func (stringWriter) WriteRecord(w *bufio.Writer, s string) error {
	w.WriteString(s)
	return w.WriteByte('\n')
}

// faultyOps fails chosen operations.
type faultyOps struct {
	fileOps
	// mu guards the fields below.
	mu sync.Mutex
	// failCopy fails the copy to a destination containing it.
	failCopy string
	copies   int
}

var errInjected = errors.New("injected failure")

func (f *faultyOps) Copy(ctx context.Context, dst, src string) error {
	f.mu.Lock()
	f.copies++
	fail := f.failCopy != "" && strings.Contains(dst, f.failCopy)
	f.mu.Unlock()
	if fail {
		return errInjected
	}
	return f.fileOps.Copy(ctx, dst, src)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	r, err := filesystem.NewRangeReader(context.Background(), path, 0, -1)
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

func exists(t *testing.T, path string) bool {
	t.Helper()
	ok, err := filesystem.Exists(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// listing returns the files under dir and their contents.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filesystem.List(context.Background(), dir+"/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimPrefix(f.Path, dir+"/")] = readFile(t, f.Path)
	}
	return out
}

// sinkFixture is a sink configuration over a fresh directory, with
// temporary files written as bundles would.
type sinkFixture struct {
	dir, tempDir string
	cfg          *sinkConfig[string]
	ops          *faultyOps
}

// fixtures numbers the fixtures' mem:// directories, which live as long as
// the test process, so that repeated runs (-count) start empty.
var fixtures atomic.Int64

func newFixture(t *testing.T, opts SinkOptions) *sinkFixture {
	t.Helper()
	dir := fmt.Sprintf("mem://%s-%d/out", strings.ReplaceAll(t.Name(), "/", "_"), fixtures.Add(1))
	f := &sinkFixture{dir: dir, tempDir: dir + "/.temp-beamgo-part-test/", ops: &faultyOps{fileOps: filesystem.Default()}}
	f.cfg = &sinkConfig[string]{prefix: dir + "/part", opts: opts, writer: stringWriter{}, fs: filesystem.Default(), ops: f.ops}
	if err := f.cfg.check(); err != nil {
		t.Fatal(err)
	}
	return f
}

// bundle writes a temporary file as a bundle (shard -1) or a shard would.
func (f *sinkFixture) bundle(t *testing.T, name string, shard int, lines ...string) writeResult {
	t.Helper()
	tf, err := createTemp(context.Background(), f.cfg, tempPath(f.tempDir, name), shard)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if err := tf.write(l); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tf.commit()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFormatShard(t *testing.T) {
	for _, c := range []struct {
		template string
		i, n     int
		want     string
	}{
		{DefaultShardTemplate, 3, 12, "-00003-of-00012"},
		{"-SS", 7, 10, "-07"},
		{"_S_of_N", 12, 100, "_12_of_100"},
		{"-SSS-NN-S", 1, 2, "-001-02-S"},
	} {
		if got := formatShard(c.template, c.i, c.n); got != c.want {
			t.Errorf("formatShard(%q, %d, %d) = %q, want %q", c.template, c.i, c.n, got, c.want)
		}
	}
}

func TestFinalize(t *testing.T) {
	ctx := context.Background()
	t.Run("bundles become numbered shards and temporary files go", func(t *testing.T) {
		f := newFixture(t, SinkOptions{Suffix: ".txt"})
		results := []writeResult{f.bundle(t, "b", -1, "2", "3"), f.bundle(t, "a", -1, "1"), f.bundle(t, "c", -1)}
		f.bundle(t, "orphan-of-a-failed-attempt", -1, "x")
		names, err := finalize(ctx, f.cfg, f.tempDir, results)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"part-00000-of-00003.txt": "1\n", "part-00001-of-00003.txt": "2\n3\n", "part-00002-of-00003.txt": ""}
		if diff := cmp.Diff(want, listing(t, f.dir)); diff != "" {
			t.Errorf("files after finalize (-want +got):\n%s", diff)
		}
		wantNames := []string{f.dir + "/part-00000-of-00003.txt", f.dir + "/part-00001-of-00003.txt", f.dir + "/part-00002-of-00003.txt"}
		if diff := cmp.Diff(wantNames, names); diff != "" {
			t.Errorf("finalize names (-want +got):\n%s", diff)
		}
		// Finalizing again (a retry after the first attempt's output was
		// lost) changes nothing.
		names2, err := finalize(ctx, f.cfg, f.tempDir, results)
		if err != nil {
			t.Fatalf("second finalize: %v", err)
		}
		if diff := cmp.Diff(names, names2); diff != "" {
			t.Errorf("second finalize names (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(want, listing(t, f.dir)); diff != "" {
			t.Errorf("files after a second finalize (-want +got):\n%s", diff)
		}
	})

	t.Run("duplicate results are finalized once", func(t *testing.T) {
		f := newFixture(t, SinkOptions{})
		r := f.bundle(t, "a", -1, "1")
		if _, err := finalize(ctx, f.cfg, f.tempDir, []writeResult{r, r}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"part-00000-of-00001": "1\n"}, listing(t, f.dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
	})

	t.Run("a failed copy leaves no final file and a retry completes", func(t *testing.T) {
		f := newFixture(t, SinkOptions{Header: []byte("h\n")})
		var results []writeResult
		for i := range 6 {
			results = append(results, f.bundle(t, fmt.Sprint(i), -1, fmt.Sprint(i)))
		}
		f.ops.failCopy = "part-00004"
		_, err := finalize(ctx, f.cfg, f.tempDir, results)
		if !errors.Is(err, errInjected) {
			t.Fatalf("finalize = %v, want the injected failure", err)
		}
		for name := range listing(t, f.dir) {
			if !strings.HasPrefix(name, ".temp-beamgo-") {
				t.Errorf("%s exists after a failed finalize; want only temporary files", name)
			}
		}
		f.ops.failCopy = ""
		if _, err := finalize(ctx, f.cfg, f.tempDir, results); err != nil {
			t.Fatalf("retried finalize: %v", err)
		}
		got := listing(t, f.dir)
		if len(got) != 6 {
			t.Errorf("after the retry: %d files %v, want 6 final files", len(got), got)
		}
		for i := range 6 {
			name := fmt.Sprintf("part-%05d-of-00006", i)
			if got[name] != fmt.Sprintf("h\n%d\n", i) {
				t.Errorf("%s holds %q, want %q", name, got[name], fmt.Sprintf("h\n%d\n", i))
			}
		}
	})

	t.Run("a retry completes a finalize that crashed halfway", func(t *testing.T) {
		f := newFixture(t, SinkOptions{})
		var results []writeResult
		for i := range 4 {
			results = append(results, f.bundle(t, fmt.Sprint(i), -1, fmt.Sprint(i)))
		}
		moves, err := plan(ctx, f.cfg, f.tempDir, results)
		if err != nil {
			t.Fatal(err)
		}
		// The crashed attempt moved shard 0, copied shard 1 without deleting
		// its temporary file, and left a partial copy of shard 2 from a
		// previous job in place.
		filesystem.Rename(ctx, moves[0].dst, moves[0].src)
		filesystem.Copy(ctx, moves[1].dst, moves[1].src)
		w, _ := filesystem.NewWriter(ctx, moves[2].dst, nil)
		io.WriteString(w, "stale")
		w.Close()
		if _, err := finalize(ctx, f.cfg, f.tempDir, results); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"part-00000-of-00004": "0\n", "part-00001-of-00004": "1\n", "part-00002-of-00004": "2\n", "part-00003-of-00004": "3\n"}
		if diff := cmp.Diff(want, listing(t, f.dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
	})

	t.Run("a lost temporary file is an error", func(t *testing.T) {
		f := newFixture(t, SinkOptions{})
		r := f.bundle(t, "a", -1, "1")
		filesystem.Delete(ctx, r.Temp)
		_, err := finalize(ctx, f.cfg, f.tempDir, []writeResult{r})
		if err == nil || !strings.Contains(err.Error(), "missing") {
			t.Errorf("finalize = %v, want an error saying the temporary file is missing", err)
		}
	})

	t.Run("fixed shards get empty files for shards without data", func(t *testing.T) {
		f := newFixture(t, SinkOptions{NumShards: 3, Suffix: ".csv", Header: []byte("id\n"), Footer: []byte("end\n")})
		results := []writeResult{f.bundle(t, "s1", 1, "a", "b")}
		if _, err := finalize(ctx, f.cfg, f.tempDir, results); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"part-00000-of-00003.csv": "id\nend\n", "part-00001-of-00003.csv": "id\na\nb\nend\n", "part-00002-of-00003.csv": "id\nend\n"}
		if diff := cmp.Diff(want, listing(t, f.dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
		if _, err := finalize(ctx, f.cfg, f.tempDir, results); err != nil {
			t.Fatalf("second finalize: %v", err)
		}
		if diff := cmp.Diff(want, listing(t, f.dir)); diff != "" {
			t.Errorf("files after a second finalize (-want +got):\n%s", diff)
		}
	})

	t.Run("an empty input gives one empty file, or none with SkipIfEmpty", func(t *testing.T) {
		f := newFixture(t, SinkOptions{Header: []byte("h\n")})
		if _, err := finalize(ctx, f.cfg, f.tempDir, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"part-00000-of-00001": "h\n"}, listing(t, f.dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
		g := newFixture(t, SinkOptions{SkipIfEmpty: true})
		g.dir += "-skip"
		g.cfg.prefix = g.dir + "/part"
		names, err := finalize(ctx, g.cfg, g.tempDir, nil)
		if err != nil || len(names) != 0 || len(listing(t, g.dir)) != 0 {
			t.Errorf("SkipIfEmpty finalize = %v, %v; files %v; want nothing", names, err, listing(t, g.dir))
		}
	})

	t.Run("a single file is named prefix and suffix", func(t *testing.T) {
		f := newFixture(t, SinkOptions{SingleFile: true, Suffix: ".json"})
		if _, err := finalize(ctx, f.cfg, f.tempDir, []writeResult{f.bundle(t, "x", 0, "{}")}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"part.json": "{}\n"}, listing(t, f.dir)); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
	})

	t.Run("the MIME type reaches the final file", func(t *testing.T) {
		f := newFixture(t, SinkOptions{MIMEType: "text/csv"})
		names, err := finalize(ctx, f.cfg, f.tempDir, []writeResult{f.bundle(t, "x", -1, "a")})
		if err != nil {
			t.Fatal(err)
		}
		fi, err := filesystem.Stat(ctx, names[0])
		if err != nil {
			t.Fatal(err)
		}
		if fi.ContentType != "text/csv" {
			t.Errorf("ContentType of %s = %q, want text/csv", names[0], fi.ContentType)
		}
	})
}

func TestSinkOptionErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		opts SinkOptions
		want string
	}{
		{"template without shard number", SinkOptions{ShardTemplate: "-of-NN"}, "no S run"},
		{"negative shards", SinkOptions{NumShards: -1}, "negative"},
		{"single file with shards", SinkOptions{SingleFile: true, NumShards: 2}, "SingleFile"},
		{"unknown compression", SinkOptions{Compression: 42}, "compression"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &sinkConfig[string]{prefix: "mem://x/p", opts: c.opts, writer: stringWriter{}}
			if err := cfg.check(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("check() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
