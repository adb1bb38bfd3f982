package unbounded_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// tens produces batch n as n*10, n*10+1, n*10+2, and ends after batch 4.
type tens struct {
	Inits, Cleanups *atomic.Int64
}

func (t tens) Initialize(context.Context) error { t.Inits.Add(1); return nil }
func (t tens) Cleanup(context.Context) error    { t.Cleanups.Add(1); return nil }

func (tens) Next(_ context.Context, n int64) ([]int64, error) {
	if n == 5 {
		return nil, io.EOF
	}
	return []int64{n * 10, n*10 + 1, n*10 + 2}, nil
}

type double struct{}

func (double) Transform(_ context.Context, in []int64) ([]string, error) {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = fmt.Sprint(2 * v)
	}
	return out, nil
}

// renderBatch renders a batch with its number, due time and event time.
type renderBatch struct{}

func (renderBatch) ProcessElement(ctx context.Context, b unbounded.Batch[string], emit func(string)) error {
	emit(fmt.Sprintf("%d due %v at %v: %v", b.ID, b.Due().Sub(epoch), sdk.EventTime(ctx).Sub(epoch), b.Records))
	return nil
}

// An extractor's batches come in order of their number, each stamped with
// its due time, through a transformer; Initialize and Cleanup run.
func TestExtractAndTransformBatches(t *testing.T) {
	for name, newRunner := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			ext := tens{Inits: &atomic.Int64{}, Cleanups: &atomic.Int64{}}
			batches := unbounded.Extract(s, time.Second, unbounded.Extractor[int64](ext), unbounded.ExtractOptions{Start: epoch, Unpaced: true})
			out := unbounded.Transform(s, unbounded.Transformer[int64, string](double{}), batches)
			got := runnertest.Collect(s, sdk.ParDo(s, renderBatch{}, out))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := newRunner().Run(ctx, p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := []string{
				"0 due 0s at 0s: [0 2 4]",
				"1 due 1s at 1s: [20 22 24]",
				"2 due 2s at 2s: [40 42 44]",
				"3 due 3s at 3s: [60 62 64]",
				"4 due 4s at 4s: [80 82 84]",
			}
			if diff := cmp.Diff(want, got.Sorted()); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
			if i, c := ext.Inits.Load(), ext.Cleanups.Load(); i < 1 || i != c {
				t.Errorf("Initialize ran %d times, Cleanup %d times; want at least once each, as often", i, c)
			}
		})
	}
}

// Paced batches are not extracted before they are due.
func TestExtractWaitsForTheInterval(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ext := tens{Inits: &atomic.Int64{}, Cleanups: &atomic.Int64{}}
	start := time.Now()
	batches := unbounded.Extract(s, 60*time.Millisecond, unbounded.Extractor[int64](ext), unbounded.ExtractOptions{Start: start})
	got := runnertest.Collect(s, batches)
	if _, err := runners()["local"]().Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d < 4*60*time.Millisecond {
		t.Errorf("five batches 60ms apart took %v, want at least 240ms", d)
	}
	if n := len(got.Elements()); n != 5 {
		t.Errorf("%d batches, want 5", n)
	}
}
