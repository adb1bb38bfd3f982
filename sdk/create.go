package sdk

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// globalWindowing is the windowing of collections that no WindowInto has touched.
var globalWindowing = graph.Windowing{Strategy: window.GlobalStrategy()}

// Impulse returns a collection of one empty byte slice in the global window:
// the root that every source starts from.
func Impulse(s Scope, opts ...Option) PCollection[[]byte] {
	o := collect(opts)
	t := s.p.g.AddTransform(s.parent, pick(o.name, "Impulse"), graph.KindImpulse)
	return addOutput(s, t, "out", coder.Bytes(), globalWindowing)
}

// Create returns a collection of the given values, in the global window.
// The values are held by the pipeline: a worker in another process gets
// them by rebuilding the pipeline (see the package doc).
func Create[T any](s Scope, values []T, opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Create")
	if _, err := coder.Of[T](); err != nil {
		s.fail(name, "no coder for element type: %v", err)
		return PCollection[T]{}
	}
	cs := s.Scope(name)
	imp := Impulse(cs)
	vals := append([]T(nil), values...)
	return ParDo(cs, DoFn[[]byte, T](&createFn[T]{values: vals}), imp, Name("Values"))
}

// createFn emits the values of a Create.
type createFn[T any] struct{ values []T }

func (f *createFn[T]) ProcessElement(_ context.Context, _ []byte, emit func(T)) error {
	for _, v := range f.values {
		emit(v)
	}
	return nil
}

// describe names the values' type and gives their number and the digest
// of their encodings: a PROCESS worker, which rebuilds the pipeline,
// compares it with the submitted one, so values that depend on when or
// where the program runs (time.Now(), a random number, a file) fail the
// job at the worker's start, naming the Create, instead of running with
// the worker's values.
func (f *createFn[T]) describe() *graph.FnInfo {
	h := sha256.New()
	if c, err := coder.Of[T](); err == nil {
		var buf []byte
		for _, v := range f.values {
			buf = c.Encode(buf[:0], v)
			h.Write(buf)
		}
	}
	return &graph.FnInfo{GoType: fmt.Sprintf("Create[%T]", *new(T)), Config: fmt.Sprintf("%d values, sha256 %x", len(f.values), h.Sum(nil)[:12])}
}
func (f *createFn[T]) clone() any { return f }

// CreateTimestamped returns a collection of values with explicit timestamps and
// windows, for tests of windowed pipelines.
func CreateTimestamped[T any](s Scope, values []T, timestamps []window.Time, opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "CreateTimestamped")
	if len(values) != len(timestamps) {
		s.fail(name, "%d values but %d timestamps", len(values), len(timestamps))
		return PCollection[T]{}
	}
	cs := s.Scope(name)
	vals := append([]T(nil), values...)
	ts := append([]window.Time(nil), timestamps...)
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	ids := Create(cs, idx, Name("Indexes"))
	return ParDo(cs, DoFn[int, T](funcDoFn[int, T]{kind: "Stamp", f: stampByIndex[T], call: nil, ctxCall: func(ctx context.Context, i int, emit func(T)) {
		operator.FromContext(ctx).Timestamp = ts[i]
		emit(vals[i])
	}}), ids, Name("Stamp"))
}

func stampByIndex[T any](int) T { var z T; return z }
