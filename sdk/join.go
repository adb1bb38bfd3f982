package sdk

import (
	"slices"
)

// Joined is a value of the joins' output: a left value and a right value
// with the same key. In an outer join a side that had no value for the
// key has its zero value and its Has flag false; in an inner join both
// flags are true.
type Joined[L, R any] struct {
	Left     L
	Right    R
	HasLeft  bool
	HasRight bool
}

// joinKind says which unmatched values a join keeps.
type joinKind struct {
	name                string
	keepLeft, keepRight bool
}

var (
	innerJoin = joinKind{name: "InnerJoin"}
	leftJoin  = joinKind{name: "LeftOuterJoin", keepLeft: true}
	rightJoin = joinKind{name: "RightOuterJoin", keepRight: true}
	fullJoin  = joinKind{name: "FullOuterJoin", keepLeft: true, keepRight: true}
)

// InnerJoin joins left and right by key and window over CoGroupByKey:
// for each key, every pair of a left value and a right value (Beam Java's
// Join.innerJoin, Spark's join). Keys present on one side only are
// dropped.
func InnerJoin[K comparable, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return join(s, innerJoin, left, right, opts)
}

// LeftOuterJoin is InnerJoin that also keeps each left value whose key
// has no right value, with HasRight false.
func LeftOuterJoin[K comparable, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return join(s, leftJoin, left, right, opts)
}

// RightOuterJoin is InnerJoin that also keeps each right value whose key
// has no left value, with HasLeft false.
func RightOuterJoin[K comparable, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return join(s, rightJoin, left, right, opts)
}

// FullOuterJoin is InnerJoin that also keeps the values of either side
// whose key has no value on the other.
func FullOuterJoin[K comparable, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return join(s, fullJoin, left, right, opts)
}

// join co-groups left and right and emits the pairs kind asks for.
func join[K comparable, L, R any](s Scope, kind joinKind, left PCollection[KV[K, L]], right PCollection[KV[K, R]], opts []Option) PCollection[KV[K, Joined[L, R]]] {
	o := collect(opts)
	name := pick(o.name, kind.name)
	if !s.checkInputs(name, left.c, right.c) {
		return PCollection[KV[K, Joined[L, R]]]{}
	}
	cs := s.Scope(name)
	lt, rt := NewTag(left), NewTag(right)
	grouped := CoGroupByKey(cs, []Tagged[K]{lt, rt})
	pairs := func(g CoGroup[K], emit func(KV[K, Joined[L, R]])) {
		rights := slices.Collect(ValuesOf(g, rt))
		matched := false
		for l := range ValuesOf(g, lt) {
			matched = true
			if len(rights) == 0 && kind.keepLeft {
				emit(KV[K, Joined[L, R]]{Key: g.Key, Value: Joined[L, R]{Left: l, HasLeft: true}})
			}
			for _, r := range rights {
				emit(KV[K, Joined[L, R]]{Key: g.Key, Value: Joined[L, R]{Left: l, Right: r, HasLeft: true, HasRight: true}})
			}
		}
		if !matched && kind.keepRight {
			for _, r := range rights {
				emit(KV[K, Joined[L, R]]{Key: g.Key, Value: Joined[L, R]{Right: r, HasRight: true}})
			}
		}
	}
	return ParDo(cs, DoFn[CoGroup[K], KV[K, Joined[L, R]]](funcDoFn[CoGroup[K], KV[K, Joined[L, R]]]{
		kind: kind.name, f: joinPairs[K, L, R], call: pairs}), grouped, Name("Pairs"))
}

// joinPairs names the function of the joins' pairing step in the
// pipeline's function descriptions; it is never called.
func joinPairs[K comparable, L, R any](CoGroup[K], func(KV[K, Joined[L, R]])) {}
