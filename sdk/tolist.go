package sdk

// toListFn is the CombineFn of ToList.
type toListFn[T any] struct{}

// CreateAccumulator returns the accumulator of no input.
func (toListFn[T]) CreateAccumulator() []T { return nil }

// AddInput appends one input.
func (toListFn[T]) AddInput(a []T, v T) []T { return append(a, v) }

// MergeAccumulators concatenates two partial lists.
func (toListFn[T]) MergeAccumulators(a, b []T) []T { return append(a, b...) }

// ExtractOutput returns the list, empty rather than nil.
func (toListFn[T]) ExtractOutput(a []T) []T {
	if a == nil {
		return []T{}
	}
	return a
}

func (toListFn[T]) builtinCombine(self any) bool { _, ok := self.(toListFn[T]); return ok }

// ToList gathers the elements of each window of in into one slice, in no
// particular order (Beam Python's ToList). The slice is one element, held
// in memory by one worker: use it for small collections. An empty global
// window yields an empty slice.
func ToList[T any](s Scope, in PCollection[T], opts ...Option) PCollection[[]T] {
	o := collect(opts)
	return CombineGlobally(s, CombineFn[T, []T, []T](toListFn[T]{}), in, Name(pick(o.name, "ToList")))
}
