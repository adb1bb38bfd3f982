package exec_test

import (
	"context"
	"fmt"
	"iter"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/exec"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// gatedFn upper-cases strings; at the element named by Stop it tells the
// test (on At) and waits for Resume.
type gatedFn struct {
	Stop   string
	At     chan<- struct{}
	Resume <-chan struct{}
}

func (f gatedFn) ProcessElement(_ context.Context, s string, emit func(string)) error {
	if s == f.Stop {
		f.At <- struct{}{}
		<-f.Resume
	}
	emit(s + "!")
	return nil
}

// stringStage returns a processor whose source feeds values to fn and
// whose sink collects fn's output, with the encoded input.
func stringStage(t *testing.T, fn sdk.DoFn[string, string], values []string) (*exec.Processor, exec.Bundle, func() []string) {
	t.Helper()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{"unused"})
	out := sdk.ParDo(s, fn, in, sdk.Name("Gated"))
	desc := descriptorOf(t, p, func(tr *pipepb.PTransform) bool { return tr.GetUniqueName() == "Gated" }, sdkaccess.Collection(in).ID, sdkaccess.Collection(out).ID)
	proc, err := exec.New(desc, sdkaccess.Graph(p))
	if err != nil {
		t.Fatalf("exec.New: %v", err)
	}
	var enc []byte
	r := sdkaccess.Collection(in).Ops.(operator.TypeOps).NewEncoder(false, func(b []byte) error { enc = append(enc, b...); return nil })
	for _, v := range values {
		if err := r.(operator.Receiver[string]).Receive(window.InGlobalWindow(v)); err != nil {
			t.Fatal(err)
		}
	}
	got := &collect[string]{}
	dec, err := sdkaccess.Collection(out).Ops.(operator.TypeOps).NewDecoder(false, operator.Receiver[string](got))
	if err != nil {
		t.Fatal(err)
	}
	return proc, exec.Bundle{
		Inputs: map[string]iter.Seq2[[]byte, error]{"src": func(yield func([]byte, error) bool) { yield(enc, nil) }},
		Output: func(string) func([]byte) error {
			return func(b []byte) error { _, err := dec.Decode(b); return err }
		},
	}, func() []string { return got.got }
}

func TestSplitInputStopsTheBundleAtTheChosenElement(t *testing.T) {
	at, resume := make(chan struct{}), make(chan struct{})
	values := []string{"a", "b", "c", "d", "e"}
	proc, b, got := stringStage(t, gatedFn{Stop: "c", At: at, Resume: resume}, values)
	done := make(chan error, 1)
	go func() { done <- proc.Process(context.Background(), b) }()
	<-at
	if pos, ok := proc.InputPosition("src"); !ok || pos != 2 {
		t.Errorf("InputPosition(src) = %d, %v, want 2, true", pos, ok)
	}
	var sawCurrent int64 = -1
	first := proc.SplitInput("src", func(cur int64) int64 { sawCurrent = cur; return cur + 1 })
	if sawCurrent != 2 || first != 3 {
		t.Errorf("SplitInput chose %d with current %d, want 3 with current 2", first, sawCurrent)
	}
	if again := proc.SplitInput("src", func(cur int64) int64 { return cur }); again != -1 {
		t.Errorf("SplitInput at the element in progress = %d, want -1 (refused)", again)
	}
	if again := proc.SplitInput("src", func(cur int64) int64 { return cur + 2 }); again != -1 {
		t.Errorf("SplitInput past the earlier split point = %d, want -1 (refused)", again)
	}
	if again := proc.SplitInput("src", func(cur int64) int64 { return cur + 1 }); again != 3 {
		t.Errorf("SplitInput at the earlier split point = %d, want 3 (no change)", again)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("Process: %v", err)
	}
	if d := cmp.Diff([]string{"a!", "b!", "c!"}, got()); d != "" {
		t.Errorf("output after a split at 3 (-want +got):\n%s", d)
	}
	if got := proc.SplitInput("nope", func(cur int64) int64 { return cur + 1 }); got != -1 {
		t.Errorf("SplitInput of an unknown source = %d, want -1", got)
	}
}

// TestSplitInputRacesWithProcessing splits a running bundle at random
// moments: the elements processed must be exactly those before the split
// point SplitInput returned.
func TestSplitInputRacesWithProcessing(t *testing.T) {
	values := make([]string, 200)
	for i := range values {
		values[i] = fmt.Sprint(i)
	}
	for trial := range 200 {
		proc, b, got := stringStage(t, gatedFn{Stop: "never"}, values)
		done := make(chan error, 1)
		go func() { done <- proc.Process(context.Background(), b) }()
		for range trial % 7 * 10 {
			proc.InputPosition("src")
		}
		first := proc.SplitInput("src", func(cur int64) int64 { return cur + 1 + int64(trial%3) })
		if err := <-done; err != nil {
			t.Fatalf("Process: %v", err)
		}
		want := len(values)
		if first >= 0 && first < int64(len(values)) {
			want = int(first)
		}
		if n := len(got()); n != want {
			t.Fatalf("trial %d: split at %d, %d elements processed, want %d", trial, first, n, want)
		}
	}
}
