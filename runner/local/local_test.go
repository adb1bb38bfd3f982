package local_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
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
	sdk.ParDo(s, k, pc, sdk.Name("Collect"))
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

// TestShuffleSpillsPastBudget groups ~24 MB of values with 2 MB of
// shuffle memory: the shuffle must spill and still group exactly.
func TestShuffleSpillsPastBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("spill test writes tens of MB")
	}
	const keys, perKey = 1000, 200
	p := sdk.NewPipeline()
	s := p.Root()
	seeds := sdk.Reshuffle(s, sdk.Create(s, ints(keys)))
	kvs := sdk.FlatMap(s, func(k int, emit func(sdk.KV[int, string])) {
		for i := range perKey {
			emit(sdk.Pair(k, fmt.Sprintf("%08d-%0100d", i, k)))
		}
	}, seeds)
	sizes := collect(s, sdk.Map(s, func(g sdk.Group[int, string]) string {
		n, distinct := 0, map[string]bool{}
		for v := range g.Values {
			n++
			distinct[v] = true
		}
		return fmt.Sprintf("%d:%d:%d", g.Key, n, len(distinct))
	}, sdk.GroupByKey(s, kvs)))
	res := run(t, p, &local.Options{Job: local.Job{Parallelism: 2}, ShuffleMemory: 2 << 20})
	var want []string
	for k := range keys {
		want = append(want, fmt.Sprintf("%d:%d:%d", k, perKey, perKey))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, out(sizes)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if res.Spills == 0 {
		t.Errorf("Spills = 0, want the shuffle to spill past 2 MB of shuffle memory")
	}
}

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func out(s sink[string]) []string { return s.sorted(strings.Compare) }

// point encodes itself (a custom coder).
type point struct{ X, Y int32 }

func (p *point) MarshalBeam(dst []byte) []byte { return fmt.Appendf(dst, "%d,%d", p.X, p.Y) }
func (p *point) UnmarshalBeam(src []byte) error {
	_, err := fmt.Sscanf(string(src), "%d,%d", &p.X, &p.Y)
	return err
}

func TestCustomCoderThroughShuffle(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	pts := sdk.Create(s, []sdk.KV[string, point]{{Key: "a", Value: point{1, 2}}, {Key: "a", Value: point{3, 4}}, {Key: "b", Value: point{5, 6}}})
	sums := sdk.Map(s, func(g sdk.Group[string, point]) string {
		var x, y int32
		for v := range g.Values {
			x, y = x+v.X, y+v.Y
		}
		return fmt.Sprintf("%s=%d,%d", g.Key, x, y)
	}, sdk.GroupByKey(s, pts))
	got := collect(s, sums)
	run(t, p, nil)
	if diff := cmp.Diff([]string{"a=4,6", "b=5,6"}, out(got)); diff != "" {
		t.Errorf("sums (-want +got):\n%s", diff)
	}
}
