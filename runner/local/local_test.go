package local_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"beamgo/runner"
	"beamgo/runner/local"
	"beamgo/sdk"
)

// sink collects the elements of a collection, in process.
type sink[T any] struct {
	mu  *sync.Mutex
	got *[]T
}

func newSink[T any]() sink[T] { return sink[T]{mu: &sync.Mutex{}, got: new([]T)} }

func (s sink[T]) ProcessElement(_ context.Context, v T, _ func(int)) error {
	s.mu.Lock()
	*s.got = append(*s.got, v)
	s.mu.Unlock()
	return nil
}

func collect[T any](s sdk.Scope, pc sdk.PCollection[T]) sink[T] {
	k := newSink[T]()
	sdk.ParDo(s, sdk.DoFn[T, int](k), pc, sdk.Name("Collect"))
	return k
}

func (s sink[T]) sorted(less func(a, b T) int) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]T(nil), *s.got...)
	slices.SortFunc(out, less)
	return out
}

func run(t *testing.T, p *sdk.Pipeline, opts *local.Options) *runner.Result {
	t.Helper()
	res, err := local.New(opts).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func TestWordCount(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	lines := sdk.Create(s, []string{"a b a", "c b a", ""})
	words := sdk.FlatMap(s, func(l string, emit func(string)) {
		for _, w := range strings.Fields(l) {
			emit(w)
		}
	}, lines)
	counts := sdk.CountElements(s, words)
	out := collect(s, sdk.Map(s, func(kv sdk.KV[string, int64]) string { return fmt.Sprintf("%s: %d", kv.Key, kv.Value) }, counts))
	run(t, p, nil)
	if diff := cmp.Diff([]string{"a: 3", "b: 2", "c: 1"}, out.sorted(strings.Compare)); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
