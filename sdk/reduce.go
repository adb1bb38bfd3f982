package sdk

import (
	"github.com/beamgo-dev/beamgo/internal/graph"
)

// reduceFn is the CombineFn of Reduce and ReducePerKey: it folds values
// with a binary function. Its accumulator is a pointer, nil until the
// first value, so the nullable coder carries it through the shuffle and an
// empty accumulator is told apart from a zero value.
type reduceFn[T any] struct{ f func(a, b T) T }

// CreateAccumulator returns the accumulator of no input.
func (reduceFn[T]) CreateAccumulator() *T { return nil }

// AddInput folds one input into an accumulator.
func (r reduceFn[T]) AddInput(a *T, v T) *T {
	if a == nil {
		return &v
	}
	*a = r.f(*a, v)
	return a
}

// MergeAccumulators folds two partial accumulators.
func (r reduceFn[T]) MergeAccumulators(a, b *T) *T {
	if b == nil {
		return a
	}
	return r.AddInput(a, *b)
}

// ExtractOutput returns the folded value (the zero value for no input,
// which Reduce never emits).
func (reduceFn[T]) ExtractOutput(a *T) T {
	if a == nil {
		var zero T
		return zero
	}
	return *a
}

func (r reduceFn[T]) transformName() string { return "Reduce(" + funcName(r.f) + ")" }
func (r reduceFn[T]) describe() *graph.FnInfo {
	return &graph.FnInfo{GoType: "Reduce:" + funcName(r.f)}
}
func (r reduceFn[T]) clone() any { return r }

// Reduce folds the elements of each window of in with fn, which must be
// associative and commutative (runners apply it in any order, on partial
// results of any bundles): Flink's and Spark's reduce, Beam's
// Combine.globally of a binary function. It is a combine, so runners lift
// it: each bundle folds its elements before the shuffle.
//
// Unlike Sum or Count, Reduce emits nothing for an empty window, since
// fn has no identity to emit.
func Reduce[T any](s Scope, fn func(a, b T) T, in PCollection[T], opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Reduce")
	if fn == nil {
		s.fail(name, "function is nil")
		return PCollection[T]{}
	}
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	cs := s.Scope(name)
	keyed := ParDo(cs, DoFn[T, KV[int64, T]](funcDoFn[T, KV[int64, T]]{kind: "Map", f: withNilKey[T], one: withNilKey[T], builtin: true,
		call: func(v T, emit func(KV[int64, T])) { emit(withNilKey(v)) }}), in, Name("KeyByNil"))
	reduced := CombinePerKey(cs, CombineFn[T, *T, T](reduceFn[T]{f: fn}), keyed, Name(fnName(reduceFn[T]{f: fn})))
	return Values(cs, reduced)
}

// ReducePerKey folds the values of each key and window of in with fn,
// which must be associative and commutative: Flink's keyBy().reduce(),
// Spark's reduceByKey. Runners lift it, folding before the shuffle.
func ReducePerKey[K comparable, V any](s Scope, fn func(a, b V) V, in PCollection[KV[K, V]], opts ...Option) PCollection[KV[K, V]] {
	o := collect(opts)
	name := pick(o.name, "ReducePerKey")
	if fn == nil {
		s.fail(name, "function is nil")
		return PCollection[KV[K, V]]{}
	}
	return CombinePerKey(s, CombineFn[V, *V, V](reduceFn[V]{f: fn}), in, Name(name))
}
