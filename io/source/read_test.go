package source_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil"
)

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func sortedInts(c runnertest.Collector[int64]) []int64 {
	out := c.Elements()
	slices.Sort(out)
	return out
}

func TestGenerateSequence(t *testing.T) {
	tests := []struct {
		name     string
		from, to int64
	}{
		{"empty range", 5, 5},
		{"one element", 7, 8},
		{"many elements in one bundle", 0, 1000},
		{"negative numbers", -20, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			got := runnertest.Collect(s, source.GenerateSequence(s, tt.from, tt.to))
			if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(seq(tt.from, tt.to), sortedInts(got), cmpEmpty); diff != "" {
				t.Errorf("GenerateSequence(%d, %d) (-want +got):\n%s", tt.from, tt.to, diff)
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []int64) bool { return slices.Equal(a, b) })

// TestReadManyBundles reads a counting source split into many small bundles
// with dynamic splitting on.
func TestReadManyBundles(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	const n = 5000
	got := runnertest.Collect(s, source.Read[int64, int64](s, source.CountingSource{From: 0, To: n}, source.DesiredBundleSize(8*97)))
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(seq(0, n), sortedInts(got)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	t.Logf("bundles %d, dynamic splits %d", res.Bundles, res.Splits)
}

// subSource is a counting source whose Split returns sub-sources of
// another type, so it needs a Codec.
type subSource struct {
	source.CountingSource
	WithCodec bool
	// encoded counts EncodeSource calls.
	encoded *atomic.Int64
}

type part struct{ source.CountingSource }

func (s *subSource) Split(ctx context.Context, size int64) ([]source.Bundle[int64, int64], error) {
	bs, err := s.CountingSource.Split(ctx, size)
	for i := range bs {
		bs[i].Source = part{CountingSource: source.CountingSource{From: bs[i].Start, To: bs[i].Stop}}
	}
	return bs, err
}

type codecSource struct{ subSource }

func (s *codecSource) EncodeSource(sub source.Bounded[int64, int64]) ([]byte, error) {
	s.encoded.Add(1)
	p, ok := sub.(part)
	if !ok {
		return nil, fmt.Errorf("unexpected sub-source %T", sub)
	}
	return fmt.Appendf(nil, "%d %d", p.From, p.To), nil
}

func (s *codecSource) DecodeSource(b []byte) (source.Bounded[int64, int64], error) {
	var p part
	_, err := fmt.Sscanf(string(b), "%d %d", &p.From, &p.To)
	return p, err
}

func TestReadSubSourcesNeedACodec(t *testing.T) {
	t.Run("without a codec the read fails naming the types", func(t *testing.T) {
		p := sdk.NewPipeline()
		s := p.Root()
		source.Read[int64, int64](s, &subSource{CountingSource: source.CountingSource{To: 100}}, source.DesiredBundleSize(80))
		_, err := local.New(&local.Options{Job: local.Job{Parallelism: 1, MaxAttempts: 1}}).Run(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), "source_test.part") || !strings.Contains(err.Error(), "source.Codec") {
			t.Errorf("Run = %v, want an error naming the sub-source type and source.Codec", err)
		}
	})
	t.Run("with a codec the sub-sources travel encoded", func(t *testing.T) {
		p := sdk.NewPipeline()
		s := p.Root()
		src := &codecSource{subSource{CountingSource: source.CountingSource{To: 100}, encoded: new(atomic.Int64)}}
		got := runnertest.Collect(s, source.Read[int64, int64](s, src, source.DesiredBundleSize(80)))
		if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if diff := cmp.Diff(seq(0, 100), sortedInts(got)); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		if n := src.encoded.Load(); n < 10 {
			t.Errorf("EncodeSource called %d times, want at least once per bundle (10)", n)
		}
	})
}

// funcSource cannot be encoded as JSON.
type funcSource struct {
	source.CountingSource
	F func() `json:"f"`
}

// lossySource loses its unexported configuration in a JSON round trip.
type lossySource struct {
	source.CountingSource
	hidden int
}

func (s lossySource) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"From":%d,"To":%d,"Hidden":%d}`, s.From, s.To, s.hidden), nil
}

func TestReadConstructionErrors(t *testing.T) {
	tests := []struct {
		name string
		src  source.Bounded[int64, int64]
		want string
	}{
		{"nil source", nil, "source is nil"},
		{"typed nil source", (*subSource)(nil), "source is nil"},
		{"source that is not JSON", funcSource{F: func() {}}, "source_test.funcSource does not encode as JSON"},
		{"source that does not round-trip", lossySource{hidden: 3}, "does not survive a JSON round trip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			out := source.Read(p.Root(), tt.src)
			err := p.Err()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "read_test.go") {
				t.Errorf("Read: pipeline error %v, want one containing %q and the caller's file", err, tt.want)
			}
			if out.IsValid() {
				t.Errorf("Read returned a valid collection despite the error")
			}
		})
	}
}

// failingSource fails its read of the range holding Bad.
type failingSource struct {
	source.CountingSource
	Bad int64
}

func (s failingSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for v, err := range s.CountingSource.Read(ctx, rt) {
			if err == nil && v == s.Bad {
				err = errors.New("disk on fire")
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

func (s failingSource) Split(ctx context.Context, size int64) ([]source.Bundle[int64, int64], error) {
	bs, err := s.CountingSource.Split(ctx, size)
	for i := range bs {
		bs[i].Source = s
	}
	return bs, err
}

func TestReadErrorNamesSourceAndRange(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	source.Read[int64, int64](s, failingSource{CountingSource: source.CountingSource{To: 50}, Bad: 33}, source.DesiredBundleSize(80))
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 1, MaxAttempts: 1}}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "source_test.failingSource") || !strings.Contains(err.Error(), "[30, 40)") {
		t.Errorf("Run = %v, want the read error with the source type and range [30, 40)", err)
	}
}

func TestDesiredBundleSizeFor(t *testing.T) {
	for _, c := range []struct{ total, want int64 }{
		{-1, 64 << 20}, {0, 1 << 20}, {1 << 30, 32768000}, {1 << 40, 1048576000}, {1 << 20, 1 << 20}, {5 << 20, 2289733},
	} {
		if got := source.DesiredBundleSizeFor(c.total); got != c.want {
			t.Errorf("DesiredBundleSizeFor(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}

func TestCountingSourceSplit(t *testing.T) {
	src := source.CountingSource{From: 3, To: 30}
	bs, err := src.Split(context.Background(), 8*5)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bs {
		got = append(got, fmt.Sprintf("[%d,%d) %g", b.Start, b.Stop, b.Weight))
	}
	want := []string{"[3,8) 5", "[8,13) 5", "[13,18) 5", "[18,23) 5", "[23,28) 5", "[28,30) 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Split(40) (-want +got):\n%s", diff)
	}
}

// TestCountingSourceConformance runs the source verification suite:
// exhaustive on a small range, sampled random fractions on a large one.
func TestCountingSourceConformance(t *testing.T) {
	t.Run("small", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[int64, int64] {
			return source.CountingSource{From: 10, To: 40}
		}, nil)
	})
	t.Run("large", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[int64, int64] {
			return source.CountingSource{From: -1000, To: 1000}
		}, &testutil.Options[int64]{SampleReadBefore: 6, SampleFractions: 4, Seed: 3, SkipConcurrent: testing.Short()})
	})
}

// TestIdleWorkerSplitsTheRunningRead reads one large restriction slowly on
// two workers: the idle worker must split the running read, and every
// record must still be read exactly once.
func TestIdleWorkerSplitsTheRunningRead(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	const n = 4000
	// One bundle: the desired size covers the whole source.
	nums := source.Read[int64, int64](s, source.CountingSource{From: 0, To: n}, source.DesiredBundleSize(8*n))
	slow := sdk.Map(s, func(v int64) int64 {
		end := time.Now().Add(50 * time.Microsecond)
		for time.Now().Before(end) {
		}
		return v
	}, nums)
	got := runnertest.Collect(s, slow)
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(seq(0, n), sortedInts(got)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if res.Splits == 0 {
		t.Errorf("Splits = 0 after a %d-record read on one bundle with an idle worker, want at least 1", n)
	}
}

// TestRetryAfterSplitReadsOnlyThePrimary fails a read bundle once, after the
// idle worker has split it: the retry must read only the primary, or records
// of the residual would be read twice.
func TestRetryAfterSplitReadsOnlyThePrimary(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	const n = 4000
	var failed atomic.Bool
	nums := source.Read[int64, int64](s, source.CountingSource{From: 0, To: n}, source.DesiredBundleSize(8*n))
	slow := sdk.ParDo(s, sdk.DoFn[int64, int64](&failOnceAfter{At: 1200, Failed: &failed}), nums)
	got := runnertest.Collect(s, sdk.Reshuffle(s, slow))
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(seq(0, n), sortedInts(got)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if res.Splits == 0 || res.Retries == 0 {
		t.Errorf("Splits = %d, Retries = %d, want both > 0", res.Splits, res.Retries)
	}
}

// failOnceAfter processes slowly and fails the first time it sees At.
type failOnceAfter struct {
	At     int64
	Failed *atomic.Bool
}

func (f *failOnceAfter) ProcessElement(_ context.Context, v int64, emit func(int64)) error {
	end := time.Now().Add(50 * time.Microsecond)
	for time.Now().Before(end) {
	}
	if v == f.At && f.Failed.CompareAndSwap(false, true) {
		return fmt.Errorf("injected failure at %d", v)
	}
	emit(v)
	return nil
}
