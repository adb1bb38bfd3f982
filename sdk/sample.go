package sdk

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// sampleFn is the CombineFn of Sample and SamplePerKey: a reservoir
// sample of N values. Each value gets a random priority when it is added;
// the N values of highest priority are a uniform sample, and merging two
// samples keeps the N highest of both, so partial samples of any bundles
// combine into a uniform sample of the whole.
type sampleFn[T any] struct {
	N int
}

// CreateAccumulator returns the accumulator of no input.
func (sampleFn[T]) CreateAccumulator() []KV[uint64, T] { return nil }

// AddInput adds one input with a random priority.
func (f sampleFn[T]) AddInput(a []KV[uint64, T], v T) []KV[uint64, T] {
	a = append(a, KV[uint64, T]{Key: rand.Uint64(), Value: v})
	// Trimming in batches keeps adding amortized O(log N).
	if len(a) > 2*f.N+16 {
		a = f.trim(a)
	}
	return a
}

// MergeAccumulators keeps the N values of highest priority of both.
func (f sampleFn[T]) MergeAccumulators(a, b []KV[uint64, T]) []KV[uint64, T] {
	return f.trim(append(a, b...))
}

// ExtractOutput returns the sampled values.
func (f sampleFn[T]) ExtractOutput(a []KV[uint64, T]) []T {
	a = f.trim(a)
	out := make([]T, len(a))
	for i, kv := range a {
		out[i] = kv.Value
	}
	return out
}

// Compact trims an accumulator to its N values before the shuffle.
func (f sampleFn[T]) Compact(a []KV[uint64, T]) []KV[uint64, T] { return f.trim(a) }

// trim keeps the N values of highest priority.
func (f sampleFn[T]) trim(a []KV[uint64, T]) []KV[uint64, T] {
	if len(a) <= f.N {
		return a
	}
	slices.SortFunc(a, func(x, y KV[uint64, T]) int { return cmp.Compare(y.Key, x.Key) })
	return a[:f.N]
}

func (f sampleFn[T]) builtinCombine(self any) bool { _, ok := self.(sampleFn[T]); return ok }

// Sample returns, per window, a uniform random sample of n elements of in
// (all of them if there are fewer), in no particular order: Beam's
// Sample.fixedSizeGlobally. An empty global window yields an empty slice.
// The sample differs from run to run, and from a retried bundle to the
// first attempt.
func Sample[T any](s Scope, n int, in PCollection[T], opts ...Option) PCollection[[]T] {
	o := collect(opts)
	name := pick(o.name, "Sample")
	if n < 0 {
		s.fail(name, "sample size %d is negative", n)
		return PCollection[[]T]{}
	}
	return CombineGlobally(s, CombineFn[T, []KV[uint64, T], []T](sampleFn[T]{N: n}), in, Name(name))
}

// SamplePerKey returns, per key and window, a uniform random sample of n
// values of the key (Beam's Sample.fixedSizePerKey).
func SamplePerKey[K comparable, V any](s Scope, n int, in PCollection[KV[K, V]], opts ...Option) PCollection[KV[K, []V]] {
	o := collect(opts)
	name := pick(o.name, "SamplePerKey")
	if n < 0 {
		s.fail(name, "sample size %d is negative", n)
		return PCollection[KV[K, []V]]{}
	}
	return CombinePerKey(s, CombineFn[V, []KV[uint64, V], []V](sampleFn[V]{N: n}), in, Name(name))
}
