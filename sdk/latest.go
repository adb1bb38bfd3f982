package sdk

import (
	"context"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// latestFn is the CombineFn of Latest and LatestPerKey: of values stamped
// with their event time (the key of the KV, in milliseconds), it keeps
// the latest. The accumulator is nil until the first value.
type latestFn[T any] struct{}

// CreateAccumulator returns the accumulator of no input.
func (latestFn[T]) CreateAccumulator() *KV[int64, T] { return nil }

// AddInput keeps v if it is later than the accumulator's value.
func (latestFn[T]) AddInput(a *KV[int64, T], v KV[int64, T]) *KV[int64, T] {
	if a == nil || v.Key > a.Key {
		return &v
	}
	return a
}

// MergeAccumulators keeps the later of two partial results.
func (f latestFn[T]) MergeAccumulators(a, b *KV[int64, T]) *KV[int64, T] {
	if b == nil {
		return a
	}
	return f.AddInput(a, *b)
}

// ExtractOutput returns the latest value (the zero value for no input,
// which Latest never emits).
func (latestFn[T]) ExtractOutput(a *KV[int64, T]) T {
	if a == nil {
		var zero T
		return zero
	}
	return a.Value
}

func (latestFn[T]) builtinCombine(self any) bool { _, ok := self.(latestFn[T]); return ok }

// Latest returns, per window, the element of in with the latest event
// timestamp (Beam's Latest.globally); of elements with the same timestamp,
// any one. An empty window yields nothing.
func Latest[T any](s Scope, in PCollection[T], opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Latest")
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	cs := s.Scope(name)
	stamped := ParDo(cs, DoFn[T, KV[int64, KV[int64, T]]](funcDoFn[T, KV[int64, KV[int64, T]]]{kind: "Stamp", f: stampNilKey[T], builtin: true,
		ctxCall: func(ctx context.Context, v T, emit func(KV[int64, KV[int64, T]])) {
			emit(KV[int64, KV[int64, T]]{Value: KV[int64, T]{Key: eventMillis(ctx), Value: v}})
		}}), in, Name("Stamp"))
	latest := CombinePerKey(cs, CombineFn[KV[int64, T], *KV[int64, T], T](latestFn[T]{}), stamped, Name("Latest"))
	return Values(cs, latest)
}

// LatestPerKey returns, per key and window, the value with the latest
// event timestamp (Beam's Latest.perKey).
func LatestPerKey[K comparable, V any](s Scope, in PCollection[KV[K, V]], opts ...Option) PCollection[KV[K, V]] {
	o := collect(opts)
	name := pick(o.name, "LatestPerKey")
	if !s.checkInputs(name, in.c) {
		return PCollection[KV[K, V]]{}
	}
	cs := s.Scope(name)
	stamped := ParDo(cs, DoFn[KV[K, V], KV[K, KV[int64, V]]](funcDoFn[KV[K, V], KV[K, KV[int64, V]]]{kind: "Stamp", f: stampValue[K, V], builtin: true,
		ctxCall: func(ctx context.Context, kv KV[K, V], emit func(KV[K, KV[int64, V]])) {
			emit(KV[K, KV[int64, V]]{Key: kv.Key, Value: KV[int64, V]{Key: eventMillis(ctx), Value: kv.Value}})
		}}), in, Name("Stamp"))
	return CombinePerKey(cs, CombineFn[KV[int64, V], *KV[int64, V], V](latestFn[V]{}), stamped, Name("Latest"))
}

// eventMillis returns the event time of the element being processed.
func eventMillis(ctx context.Context) int64 {
	if ec := operator.FromContext(ctx); ec != nil {
		return int64(ec.Timestamp)
	}
	return int64(window.MinTime)
}

// stampNilKey and stampValue name the stamping functions in the
// pipeline's function descriptions; they are never called.
func stampNilKey[T any](T) KV[int64, KV[int64, T]]      { return KV[int64, KV[int64, T]]{} }
func stampValue[K, V any](KV[K, V]) KV[K, KV[int64, V]] { return KV[K, KV[int64, V]]{} }
