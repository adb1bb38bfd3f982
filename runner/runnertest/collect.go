// Package runnertest is the runner conformance suite: small pipelines with
// known results — ParDo lifecycle order, multiple outputs, GroupByKey,
// CoGroupByKey, Combine lifted and not, Flatten, side inputs of each kind,
// each window type, metrics, user errors, panics and retries — that every
// runner of this project runs from one call:
//
//	func TestConformance(t *testing.T) {
//		runnertest.RunConformanceTests(t, func(t *testing.T) runner.Runner { return local.New(nil) }, runnertest.Capabilities{})
//	}
//
// The pipelines observe their results in the test's process, so the runner
// must run user code in process (the local runner, or a portable runner with
// LOOPBACK workers).
package runnertest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"beamgo/sdk"
)

// Collector gathers the elements of a collection in the test's process.
// It is safe for concurrent use by parallel bundles.
type Collector[T any] struct {
	mu  *sync.Mutex
	got *[]T
}

// Collect adds a ParDo that records every element of pc in the returned
// Collector.
func Collect[T any](s sdk.Scope, pc sdk.PCollection[T]) Collector[T] {
	c := Collector[T]{mu: &sync.Mutex{}, got: new([]T)}
	sdk.ParDo(s, sdk.DoFn[T, int](collectFn[T]{c}), pc, sdk.Name("Collect"))
	return c
}

type collectFn[T any] struct{ c Collector[T] }

func (f collectFn[T]) ProcessElement(_ context.Context, v T, _ func(int)) error {
	f.c.mu.Lock()
	*f.c.got = append(*f.c.got, v)
	f.c.mu.Unlock()
	return nil
}

// Elements returns the collected elements in arrival order.
func (c Collector[T]) Elements() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), *c.got...)
}

// Sorted returns the collected elements sorted by their fmt rendering, for
// comparisons that ignore order.
func (c Collector[T]) Sorted() []T {
	out := c.Elements()
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

// SortedStrings returns the collected elements rendered with format and sorted.
func (c Collector[T]) SortedStrings(render func(T) string) []string {
	var out []string
	for _, v := range c.Elements() {
		out = append(out, render(v))
	}
	slices.Sort(out)
	return out
}
