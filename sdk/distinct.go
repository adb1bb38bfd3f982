package sdk

// Distinct returns the distinct elements of each window of in (Beam's
// Distinct, Spark's distinct). Elements are compared by their encoding,
// so T's coder must be deterministic, as a grouping key's is; otherwise
// construction fails naming the transform. Runners lift it: each bundle
// drops its own duplicates before the shuffle.
func Distinct[T comparable](s Scope, in PCollection[T], opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Distinct")
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	cs := s.Scope(name)
	counted := CombinePerKey(cs, CombineFn[int64, int64, int64](countFn[int64]{}), keyedByElement(cs, in), Name("Deduplicate"))
	return Keys(cs, counted)
}

// keyedByElement keys each element of in by itself (with a count of one),
// in a transform of cs named KeyByElement.
func keyedByElement[T comparable](cs Scope, in PCollection[T]) PCollection[KV[T, int64]] {
	return ParDo(cs, DoFn[T, KV[T, int64]](funcDoFn[T, KV[T, int64]]{kind: "Map", f: keyByElement[T], one: keyByElement[T], builtin: true,
		call: func(v T, emit func(KV[T, int64])) { emit(keyByElement(v)) }}), in, Name("KeyByElement"))
}

// DistinctPerKey returns the distinct values of each key and window of in:
// its distinct key-value pairs. Keys and values are compared by their
// encodings, which must be deterministic.
func DistinctPerKey[K, V comparable](s Scope, in PCollection[KV[K, V]], opts ...Option) PCollection[KV[K, V]] {
	o := collect(opts)
	return Distinct(s, in, Name(pick(o.name, "DistinctPerKey")))
}
