package sdk

import (
	"context"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/graph"
)

// funcDoFn adapts a plain function to a DoFn. It is stateless, so instances
// are shared, and it names the transform after the function. Unless it
// needs the element context (ctxCall), it runs as an operator.FuncOp.
type funcDoFn[In, Out any] struct {
	kind string
	f    any
	call func(in In, emit func(Out))
	// one, when set, is the one-to-one function of call (Map): its
	// operator calls it without an emit closure.
	one func(in In) Out
	// builtin marks the sdk's own functions, which cannot panic: their
	// operator skips the panic recovery.
	builtin bool
	// keysOne says that one is KV{Key: in, Value: 1} (operator.Func.KeysOne).
	keysOne bool
	// ctxCall, when set, replaces call for internal functions that need
	// the element context.
	ctxCall func(ctx context.Context, in In, emit func(Out))
}

func (d funcDoFn[In, Out]) ProcessElement(ctx context.Context, in In, emit func(Out)) error {
	if d.ctxCall != nil {
		d.ctxCall(ctx, in, emit)
		return nil
	}
	d.call(in, emit)
	return nil
}

func (d funcDoFn[In, Out]) transformName() string { return d.kind + "(" + funcName(d.f) + ")" }
func (d funcDoFn[In, Out]) describe() *graph.FnInfo {
	return &graph.FnInfo{GoType: d.kind + ":" + funcName(d.f)}
}
func (d funcDoFn[In, Out]) clone() any { return d }

// Map applies fn to every element: one output per input. Like the other
// function transforms (FlatMap, FlatMapSeq, Filter, MapKV), it calls fn
// once per element, whatever windows the element is in: fn cannot see
// them, and each output is in all of them.
func Map[In, Out any](s Scope, fn func(In) Out, in PCollection[In], opts ...Option) PCollection[Out] {
	if fn == nil {
		s.fail("Map", "function is nil")
		return PCollection[Out]{}
	}
	return ParDo(s, DoFn[In, Out](funcDoFn[In, Out]{kind: "Map", f: fn, one: fn, call: func(v In, emit func(Out)) { emit(fn(v)) }}), in, opts...)
}

// FlatMap applies fn to every element; fn emits any number of outputs.
func FlatMap[In, Out any](s Scope, fn func(in In, emit func(Out)), in PCollection[In], opts ...Option) PCollection[Out] {
	if fn == nil {
		s.fail("FlatMap", "function is nil")
		return PCollection[Out]{}
	}
	return ParDo(s, DoFn[In, Out](funcDoFn[In, Out]{kind: "FlatMap", f: fn, call: fn}), in, opts...)
}

// FlatMapSeq applies fn to every element and emits every value of the
// sequence it returns.
func FlatMapSeq[In, Out any](s Scope, fn func(In) iter.Seq[Out], in PCollection[In], opts ...Option) PCollection[Out] {
	if fn == nil {
		s.fail("FlatMapSeq", "function is nil")
		return PCollection[Out]{}
	}
	call := func(v In, emit func(Out)) {
		for o := range fn(v) {
			emit(o)
		}
	}
	return ParDo(s, DoFn[In, Out](funcDoFn[In, Out]{kind: "FlatMap", f: fn, call: call}), in, opts...)
}

// Filter keeps the elements for which keep returns true.
func Filter[T any](s Scope, keep func(T) bool, in PCollection[T], opts ...Option) PCollection[T] {
	if keep == nil {
		s.fail("Filter", "predicate is nil")
		return PCollection[T]{}
	}
	call := func(v T, emit func(T)) {
		if keep(v) {
			emit(v)
		}
	}
	return ParDo(s, DoFn[T, T](funcDoFn[T, T]{kind: "Filter", f: keep, call: call}), in, opts...)
}

// MapKV turns each element into a key-value pair.
func MapKV[In, K, V any](s Scope, fn func(In) (K, V), in PCollection[In], opts ...Option) PCollection[KV[K, V]] {
	if fn == nil {
		s.fail("MapKV", "function is nil")
		return PCollection[KV[K, V]]{}
	}
	one := func(v In) KV[K, V] {
		k, val := fn(v)
		return KV[K, V]{Key: k, Value: val}
	}
	call := func(v In, emit func(KV[K, V])) { emit(one(v)) }
	return ParDo(s, DoFn[In, KV[K, V]](funcDoFn[In, KV[K, V]]{kind: "MapKV", f: fn, one: one, call: call}), in, opts...)
}

// Keys returns the keys of a keyed collection.
func Keys[K, V any](s Scope, in PCollection[KV[K, V]], opts ...Option) PCollection[K] {
	return Map(s, kvKey[K, V], in, append([]Option{Name("Keys")}, opts...)...)
}

// Values returns the values of a keyed collection.
func Values[K, V any](s Scope, in PCollection[KV[K, V]], opts ...Option) PCollection[V] {
	return Map(s, kvValue[K, V], in, append([]Option{Name("Values")}, opts...)...)
}

func kvKey[K, V any](kv KV[K, V]) K   { return kv.Key }
func kvValue[K, V any](kv KV[K, V]) V { return kv.Value }
