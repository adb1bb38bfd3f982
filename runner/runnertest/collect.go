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
// The pipelines check their results in the pipeline, with passert, and
// through the job's metrics; the few facts that cannot travel that way
// (Teardown ran, a bundle started) are files in a directory the test and
// its workers share. So the suite runs with user code in the test's
// process (the local runner, LOOPBACK workers) and in other processes
// (PROCESS workers, which are the test binary started again: its TestMain
// calls worker.Init, and the runner passes arguments that select the one
// subtest, see WorkerArgs).
//
// Collector is for the tests of one runner that observe elements in
// process; the suite does not use it.
package runnertest

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
)

// Collector gathers the elements of a collection in the test's process,
// which only a runner that runs user code in that process (local,
// LOOPBACK) can fill. It is safe for concurrent use by parallel bundles.
type Collector[T any] struct {
	mu  *sync.Mutex
	got *[]T
}

// Collect adds a ParDo that records every element of pc in the returned
// Collector.
func Collect[T any](s sdk.Scope, pc sdk.PCollection[T]) Collector[T] {
	c := Collector[T]{mu: &sync.Mutex{}, got: new([]T)}
	sdk.ForEach(s, collectFn[T]{c}, pc, sdk.Name("Collect"))
	return c
}

type collectFn[T any] struct{ c Collector[T] }

func (f collectFn[T]) ProcessElement(_ context.Context, v T) error {
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

// WorkerArgs returns the arguments of a PROCESS worker or a worker pool
// that is the test binary started again to serve t's job: ones that
// select t alone, so the worker rebuilds the same pipeline. Pass them as
// the runner's worker arguments (portable.ProcessOptions.Args), or to
// worker.StartPool.
func WorkerArgs(t *testing.T) []string {
	var parts []string
	for _, part := range strings.Split(t.Name(), "/") {
		parts = append(parts, "^"+regexp.QuoteMeta(part)+"$")
	}
	return []string{"-test.run=" + strings.Join(parts, "/"), "-test.timeout=2m"}
}
