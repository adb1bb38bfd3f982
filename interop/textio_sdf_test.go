package interop

import (
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
