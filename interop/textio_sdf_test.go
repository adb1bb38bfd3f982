package interop

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamtextio "github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
)

// TestBeamGoTextioWordCountOnOurJobServer runs Beam Go's word count as Beam
// ships it, reading files with textio.Read (a splittable DoFn), on our job
// server.
func TestBeamGoTextioWordCountOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	dir := t.TempDir()
	var lines []string
	for i := range 3 {
		part := strings.Split(hamlet, "\n")
		lines = append(lines, part...)
		if err := os.WriteFile(filepath.Join(dir, "part"+string(rune('a'+i))+".txt"), []byte(strings.Join(part, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := wantWordCount(lines)
	p, s := beam.NewPipelineWithRoot()
	in := beamtextio.Read(s, filepath.Join(dir, "*.txt"))
	words := beam.ParDo(s.Scope("ExtractWords"), splitWords, in)
	formatted := beam.ParDo(s, formatCount, stats.Count(s, words))
	passert.Equals(s, formatted, want...)
	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("Beam Go textio word count on our job server: %v", err)
	}
}

// writeGzip writes lines, newline-terminated, gzip-compressed to path.
func writeGzip(t *testing.T, path string, lines []string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = filepath.Base(path)
	for _, l := range lines {
		fmt.Fprintln(zw, l)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadGzip is Beam Go's textio TestReadGzip on our job server: a gzip
// file whose compressed size (the restriction Beam's textio creates) is
// larger than its text, read with textio.Read and ReadGzip. A split of
// that restriction past the end of the text fails Beam's reader ("TextIO
// restriction lies outside the file being read").
func TestReadGzip(t *testing.T) {
	ourJobServer(t)
	path := filepath.Join(t.TempDir(), "textio_test.gz")
	writeGzip(t, path, []string{"hello", "go"})
	p, s := beam.NewPipelineWithRoot()
	got := beamtextio.Read(s, path, beamtextio.ReadGzip())
	passert.Equals(s, got, "hello", "go")
	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("Beam Go textio.Read(ReadGzip) on our job server: %v", err)
	}
}
