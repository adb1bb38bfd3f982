package sdk

import (
	"cmp"
	"slices"
)

// Number is the constraint of the numeric aggregations.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// SumFn is the CombineFn of Sum.
type SumFn[T Number] struct{}

// CreateAccumulator returns the accumulator of no input.
func (SumFn[T]) CreateAccumulator() T { return 0 }

// AddInput adds one input to an accumulator.
func (SumFn[T]) AddInput(a, v T) T { return a + v }

// MergeAccumulators combines two partial accumulators.
func (SumFn[T]) MergeAccumulators(a, b T) T { return a + b }

// ExtractOutput returns the result of an accumulator.
func (SumFn[T]) ExtractOutput(a T) T { return a }

func (SumFn[T]) builtinCombine(self any) bool { _, ok := self.(SumFn[T]); return ok }

// Sum returns the sum of the elements of each window.
func Sum[T Number](s Scope, in PCollection[T]) PCollection[T] {
	return CombineGlobally(s, CombineFn[T, T, T](SumFn[T]{}), in, Name("Sum"))
}

// SumPerKey returns the sum of the values of each key.
func SumPerKey[K comparable, V Number](s Scope, in PCollection[KV[K, V]]) PCollection[KV[K, V]] {
	return CombinePerKey(s, CombineFn[V, V, V](SumFn[V]{}), in, Name("SumPerKey"))
}

// countFn counts inputs.
type countFn[T any] struct{}

// CreateAccumulator returns the accumulator of no input.
func (countFn[T]) CreateAccumulator() int64 { return 0 }

// AddInput adds one input to an accumulator.
func (countFn[T]) AddInput(a int64, _ T) int64 { return a + 1 }

// MergeAccumulators combines two partial accumulators.
func (countFn[T]) MergeAccumulators(a, b int64) int64 { return a + b }

// ExtractOutput returns the result of an accumulator.
func (countFn[T]) ExtractOutput(a int64) int64 { return a }

func (countFn[T]) builtinCombine(self any) bool { _, ok := self.(countFn[T]); return ok }

// Count returns the number of elements of each window.
func Count[T any](s Scope, in PCollection[T]) PCollection[int64] {
	return CombineGlobally(s, CombineFn[T, int64, int64](countFn[T]{}), in, Name("Count"))
}

// CountPerKey returns the number of values of each key.
func CountPerKey[K comparable, V any](s Scope, in PCollection[KV[K, V]]) PCollection[KV[K, int64]] {
	return CombinePerKey(s, CombineFn[V, int64, int64](countFn[V]{}), in, Name("CountPerKey"))
}

// CountElements returns, for each distinct element, how often it occurs (Beam's Count.PerElement).
func CountElements[T comparable](s Scope, in PCollection[T]) PCollection[KV[T, int64]] {
	cs := s.Scope("CountElements")
	keyed := ParDo(cs, DoFn[T, KV[T, int64]](funcDoFn[T, KV[T, int64]]{kind: "Map", f: keyByElement[T], one: keyByElement[T], builtin: true, keysOne: true,
		call: func(v T, emit func(KV[T, int64])) { emit(keyByElement(v)) }}), in, Name("KeyByElement"))
	return CombinePerKey(cs, CombineFn[int64, int64, int64](countFn[int64]{}), keyed, Name("Count"))
}

func keyByElement[T any](v T) KV[T, int64] { return KV[T, int64]{Key: v, Value: 1} }

// ExtremeAcc is the accumulator of MinFn and MaxFn: whether a value was
// seen, and the smallest or largest one.
type ExtremeAcc[T cmp.Ordered] struct {
	Set bool
	V   T
}

// MinFn is the CombineFn of Min.
type MinFn[T cmp.Ordered] struct{}

// CreateAccumulator returns the accumulator of no input.
func (MinFn[T]) CreateAccumulator() ExtremeAcc[T] { return ExtremeAcc[T]{} }

// AddInput adds one input to an accumulator.
func (MinFn[T]) AddInput(a ExtremeAcc[T], v T) ExtremeAcc[T] {
	if !a.Set || v < a.V {
		return ExtremeAcc[T]{Set: true, V: v}
	}
	return a
}

// MergeAccumulators combines two partial accumulators.
func (f MinFn[T]) MergeAccumulators(a, b ExtremeAcc[T]) ExtremeAcc[T] {
	if !b.Set {
		return a
	}
	return f.AddInput(a, b.V)
}

// ExtractOutput returns the result of an accumulator.
func (MinFn[T]) ExtractOutput(a ExtremeAcc[T]) T { return a.V }

func (MinFn[T]) builtinCombine(self any) bool { _, ok := self.(MinFn[T]); return ok }

// MaxFn is the CombineFn of Max.
type MaxFn[T cmp.Ordered] struct{}

// CreateAccumulator returns the accumulator of no input.
func (MaxFn[T]) CreateAccumulator() ExtremeAcc[T] { return ExtremeAcc[T]{} }

// AddInput adds one input to an accumulator.
func (MaxFn[T]) AddInput(a ExtremeAcc[T], v T) ExtremeAcc[T] {
	if !a.Set || v > a.V {
		return ExtremeAcc[T]{Set: true, V: v}
	}
	return a
}

// MergeAccumulators combines two partial accumulators.
func (f MaxFn[T]) MergeAccumulators(a, b ExtremeAcc[T]) ExtremeAcc[T] {
	if !b.Set {
		return a
	}
	return f.AddInput(a, b.V)
}

// ExtractOutput returns the result of an accumulator.
func (MaxFn[T]) ExtractOutput(a ExtremeAcc[T]) T { return a.V }

func (MaxFn[T]) builtinCombine(self any) bool { _, ok := self.(MaxFn[T]); return ok }

// Min returns the smallest element of each window (the zero value for an
// empty global window).
func Min[T cmp.Ordered](s Scope, in PCollection[T]) PCollection[T] {
	return CombineGlobally(s, CombineFn[T, ExtremeAcc[T], T](MinFn[T]{}), in, Name("Min"))
}

// Max returns the largest element of each window (the zero value for an
// empty global window).
func Max[T cmp.Ordered](s Scope, in PCollection[T]) PCollection[T] {
	return CombineGlobally(s, CombineFn[T, ExtremeAcc[T], T](MaxFn[T]{}), in, Name("Max"))
}

// MinPerKey returns the smallest value of each key.
func MinPerKey[K comparable, V cmp.Ordered](s Scope, in PCollection[KV[K, V]]) PCollection[KV[K, V]] {
	return CombinePerKey(s, CombineFn[V, ExtremeAcc[V], V](MinFn[V]{}), in, Name("MinPerKey"))
}

// MaxPerKey returns the largest value of each key.
func MaxPerKey[K comparable, V cmp.Ordered](s Scope, in PCollection[KV[K, V]]) PCollection[KV[K, V]] {
	return CombinePerKey(s, CombineFn[V, ExtremeAcc[V], V](MaxFn[V]{}), in, Name("MaxPerKey"))
}

// MeanAcc is the accumulator of MeanFn: a running sum and count.
type MeanAcc struct {
	Sum   float64
	Count int64
}

// MeanFn is the CombineFn of Mean.
type MeanFn[T Number] struct{}

// CreateAccumulator returns the accumulator of no input.
func (MeanFn[T]) CreateAccumulator() MeanAcc { return MeanAcc{} }

// AddInput adds one input to an accumulator.
func (MeanFn[T]) AddInput(a MeanAcc, v T) MeanAcc {
	return MeanAcc{Sum: a.Sum + float64(v), Count: a.Count + 1}
}

// MergeAccumulators combines two partial accumulators.
func (MeanFn[T]) MergeAccumulators(a, b MeanAcc) MeanAcc {
	return MeanAcc{Sum: a.Sum + b.Sum, Count: a.Count + b.Count}
}

// ExtractOutput returns the result of an accumulator.
func (MeanFn[T]) ExtractOutput(a MeanAcc) float64 {
	if a.Count == 0 {
		return 0
	}
	return a.Sum / float64(a.Count)
}

func (MeanFn[T]) builtinCombine(self any) bool { _, ok := self.(MeanFn[T]); return ok }

// Mean returns the arithmetic mean of the elements of each window (0 for an
// empty global window).
func Mean[T Number](s Scope, in PCollection[T]) PCollection[float64] {
	return CombineGlobally(s, CombineFn[T, MeanAcc, float64](MeanFn[T]{}), in, Name("Mean"))
}

// MeanPerKey returns the mean of the values of each key.
func MeanPerKey[K comparable, V Number](s Scope, in PCollection[KV[K, V]]) PCollection[KV[K, float64]] {
	return CombinePerKey(s, CombineFn[V, MeanAcc, float64](MeanFn[V]{}), in, Name("MeanPerKey"))
}

// TopFn is the CombineFn of Top: it keeps the N largest elements by Less.
type TopFn[T any] struct {
	N    int
	Less func(a, b T) bool
}

// CreateAccumulator returns the accumulator of no input.
func (f TopFn[T]) CreateAccumulator() []T { return nil }

// AddInput adds one input to an accumulator.
func (f TopFn[T]) AddInput(a []T, v T) []T {
	a = append(a, v)
	if len(a) > 2*f.N+16 {
		a = f.trim(a)
	}
	return a
}

// MergeAccumulators combines two partial accumulators.
func (f TopFn[T]) MergeAccumulators(a, b []T) []T { return f.trim(append(a, b...)) }

// ExtractOutput returns the result of an accumulator.
func (f TopFn[T]) ExtractOutput(a []T) []T { return f.trim(a) }

// Compact trims an accumulator to its N largest elements.
func (f TopFn[T]) Compact(a []T) []T { return f.trim(a) }

// trim sorts a from largest to smallest and keeps the first N.
func (f TopFn[T]) trim(a []T) []T {
	slices.SortStableFunc(a, func(x, y T) int {
		switch {
		case f.Less(y, x):
			return -1
		case f.Less(x, y):
			return 1
		}
		return 0
	})
	if len(a) > f.N {
		a = a[:f.N]
	}
	return a
}

// Top returns, per window, the n largest elements by less, largest first.
func Top[T any](s Scope, n int, less func(a, b T) bool, in PCollection[T]) PCollection[[]T] {
	return CombineGlobally(s, CombineFn[T, []T, []T](TopFn[T]{N: n, Less: less}), in, Name("Top"))
}

// TopPerKey returns, per key, the n largest values by less, largest first.
func TopPerKey[K comparable, V any](s Scope, n int, less func(a, b V) bool, in PCollection[KV[K, V]]) PCollection[KV[K, []V]] {
	return CombinePerKey(s, CombineFn[V, []V, []V](TopFn[V]{N: n, Less: less}), in, Name("TopPerKey"))
}
