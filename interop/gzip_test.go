package interop

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamtextio "github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
)

// TestBeamGoReadGzipOnOurJobServer is Beam Go's textio TestReadGzip on our
// job server: Beam's text reader claims offsets of the decompressed stream
// in a restriction sized by the compressed file, so a runner that splits
// such a restriction hands the reader a range it cannot take.
func TestBeamGoReadGzipOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("hello\ngo\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	got := beamtextio.Read(s, path, beamtextio.ReadGzip())
	passert.Equals(s, got, "hello", "go")
	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("Beam Go textio gzip read on our job server: %v", err)
	}
}
