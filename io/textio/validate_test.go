package textio_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// readErr builds a pipeline that reads pattern with opts and returns its
// construction error and the line of the textio.Read call.
func readErr(pattern string, opts ...textio.Option) (error, string) {
	p := sdk.NewPipeline()
	_, _, line, _ := runtime.Caller(0)
	textio.Read(p.Root(), pattern, opts...)
	return p.Err(), fmt.Sprintf("validate_test.go:%d", line+1)
}

// A malformed pattern fails the construction, naming the pattern and the
// user's call; Run refuses the pipeline before anything runs.
func TestMalformedPatternFailsAtConstruction(t *testing.T) {
	for _, pattern := range []string{"", `/data/in\`, "/data/[a-", "s3://?region=x"} {
		err, at := readErr(pattern)
		var pe *textio.PatternError
		var ce *sdk.ConstructionError
		if !errors.As(err, &pe) || pe.Pattern != pattern || !errors.As(err, &ce) {
			t.Errorf("pattern %q: construction error %v, want a *textio.PatternError in a *sdk.ConstructionError", pattern, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", pattern)) || ce.Location != at || ce.Transform != "ReadText" {
			t.Errorf("pattern %q: error %q at %s in %s, want it to name the pattern, ReadText and %s", pattern, err, ce.Location, ce.Transform, at)
		}
	}
	p := sdk.NewPipeline()
	textio.Read(p.Root(), "/data/[a-")
	if _, err := local.New(nil).Run(context.Background(), p); !errors.As(err, new(*textio.PatternError)) {
		t.Errorf("Run = %v, want the pattern's error", err)
	}
}

// With Validate, a pattern that matches no file fails the construction;
// without it, or with AllowEmpty, the files are matched when the job runs.
func TestValidateMatchesAtConstruction(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none-*.txt")
	err, at := readErr(missing, textio.Validate())
	var ce *sdk.ConstructionError
	if !errors.Is(err, textio.ErrNoMatch) || !errors.As(err, &ce) || ce.Location != at || !strings.Contains(err.Error(), missing) {
		t.Errorf("Validate of %s = %v, want ErrNoMatch naming the pattern at %s", missing, err, at)
	}
	if err, _ := readErr(missing); err != nil {
		t.Errorf("without Validate: %v, want the pattern matched when the job runs", err)
	}
	if err, _ := readErr(missing, textio.Validate(), textio.AllowEmpty()); err != nil {
		t.Errorf("Validate with AllowEmpty: %v, want no error", err)
	}
	mem := memDir(t)
	put(t, mem+"/a.txt", "x\ny\n", filebased.Uncompressed)
	if err, _ := readErr(mem+"/*.txt", textio.Validate()); err != nil {
		t.Errorf("Validate of a pattern that matches: %v", err)
	}
	if err, _ := readErr(mem+"/*.csv", textio.Validate()); !errors.Is(err, textio.ErrNoMatch) {
		t.Errorf("Validate of %s/*.csv = %v, want ErrNoMatch", mem, err)
	}
}
