package sdk

import (
	"fmt"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// Group is the output element of GroupByKey: a key and all values with that
// key in one window. Values may be iterated more than once.
type Group[K, V any] struct {
	Key    K
	Values iter.Seq[V]
}

// groupCoder encodes Group[K,V] as Beam's KV<K, Iterable<V>>.
type groupCoder[K, V any] struct {
	kv coder.Coder[KV[K, iter.Seq[V]]]
}

func newGroupCoder[K, V any](kc coder.Coder[K], vc coder.Coder[V]) coder.Coder[Group[K, V]] {
	return groupCoder[K, V]{kv: coder.NewKV(kc, coder.NewIterSeq(vc))}
}

func (c groupCoder[K, V]) Encode(dst []byte, g Group[K, V]) []byte {
	return c.kv.Encode(dst, KV[K, iter.Seq[V]]{Key: g.Key, Value: g.Values})
}

func (c groupCoder[K, V]) Decode(src []byte) (Group[K, V], int, error) {
	kv, n, err := c.kv.Decode(src)
	return Group[K, V]{Key: kv.Key, Values: kv.Value}, n, err
}

func (c groupCoder[K, V]) Spec() coder.Spec    { return c.kv.Spec() }
func (c groupCoder[K, V]) Deterministic() bool { return c.kv.Deterministic() }

// GroupByKey groups the values of in by key and window, emitting a group
// per key and window whenever the window's trigger fires. The key type must
// have a deterministic coder (equal keys encode to equal bytes); otherwise
// construction fails naming the transform. So does an unbounded input in
// the global window with the default trigger, whose groups would never be
// emitted, and a trigger that may lose data (see AllowUnsafeTriggers).
//
// The output's trigger is the continuation of in's (see
// window.Trigger.Continuation).
func GroupByKey[K comparable, V any](s Scope, in PCollection[KV[K, V]], opts ...Option) PCollection[Group[K, V]] {
	o := collect(opts)
	return groupByKey(s, pick(o.name, "GroupByKey"), in, true)
}

// groupByKey adds a GroupByKey called name; check says whether to check
// that in's windowing can be grouped.
func groupByKey[K comparable, V any](s Scope, name string, in PCollection[KV[K, V]], check bool) PCollection[Group[K, V]] {
	kc, vc, ok := kvCoders[K, V](s, name, in)
	if !ok || (check && !s.checkGroupable(name, in.c)) {
		return PCollection[Group[K, V]]{}
	}
	t := s.p.g.AddTransform(s.parent, name, graph.KindGroupByKey)
	t.Inputs = []graph.Input{{Local: "in", Coll: in.c}}
	return addOutput(s, t, "out", newGroupCoder(kc, vc), groupedWindowing(in.c.Windowing))
}

// kvCoders checks a keyed input and returns its key and value coders.
func kvCoders[K, V any](s Scope, name string, in PCollection[KV[K, V]]) (coder.Coder[K], coder.Coder[V], bool) {
	if !s.checkInputs(name, in.c) {
		return nil, nil, false
	}
	kc, err := coder.Of[K]()
	if err != nil {
		s.fail(name, "no coder for key type: %v", err)
		return nil, nil, false
	}
	if !kc.Deterministic() {
		s.fail(name, "key type %T has a non-deterministic coder (%s): equal keys might not group together", *new(K), kc.Spec().URN)
		return nil, nil, false
	}
	vc, err := coder.Of[V]()
	if err != nil {
		s.fail(name, "no coder for value type: %v", err)
		return nil, nil, false
	}
	return kc, vc, true
}

// Tag identifies one input of a CoGroupByKey and the type of its values.
// Make one with NewTag for each input.
type Tag[K comparable, V any] struct {
	pc PCollection[KV[K, V]]
	vc coder.Coder[V]
}

// NewTag tags a keyed collection as an input of CoGroupByKey.
func NewTag[K comparable, V any](pc PCollection[KV[K, V]]) *Tag[K, V] {
	return &Tag[K, V]{pc: pc}
}

// Tagged is an input of CoGroupByKey with key type K: a *Tag[K, V] for any V.
type Tagged[K comparable] interface {
	inject(s Scope, i int) PCollection[KV[K, KV[int64, []byte]]]
	collection() *graph.Collection
}

func (t *Tag[K, V]) collection() *graph.Collection { return t.pc.c }

func (t *Tag[K, V]) inject(s Scope, i int) PCollection[KV[K, KV[int64, []byte]]] {
	vc, err := coder.Of[V]()
	if err != nil {
		s.fail("CoGroupByKey", "input %d: no coder for value type: %v", i, err)
		return PCollection[KV[K, KV[int64, []byte]]]{}
	}
	t.vc = vc
	idx := int64(i)
	return Map(s, func(kv KV[K, V]) KV[K, KV[int64, []byte]] {
		return KV[K, KV[int64, []byte]]{Key: kv.Key, Value: KV[int64, []byte]{Key: idx, Value: vc.Encode(nil, kv.Value)}}
	}, t.pc, Name(fmt.Sprintf("Tag%d", i)))
}

// CoGroup is the output element of CoGroupByKey: a key and, per input, the
// values with that key in one window. Read them with ValuesOf.
type CoGroup[K comparable] struct {
	Key K
	// values[i] holds the encoded values of input i.
	values [][][]byte
	tags   []any
}

// ValuesOf returns the values from the input tagged t in g. It panics if t
// was not an input of the CoGroupByKey that produced g (a programming error).
func ValuesOf[K comparable, V any](g CoGroup[K], t *Tag[K, V]) iter.Seq[V] {
	for i, tag := range g.tags {
		if tag == any(t) {
			return func(yield func(V) bool) {
				for _, b := range g.values[i] {
					v, _, err := t.vc.Decode(b)
					if err != nil {
						panic(fmt.Sprintf("sdk: CoGroupByKey input %d: decode value: %v", i, err))
					}
					if !yield(v) {
						return
					}
				}
			}
		}
	}
	panic(fmt.Sprintf("sdk: ValuesOf: tag of %s is not an input of this CoGroupByKey", t.pc))
}

// CoGroupByKey joins keyed collections: for each key and window it yields
// one CoGroup holding the values of every input with that key.
func CoGroupByKey[K comparable](s Scope, inputs []Tagged[K], opts ...Option) PCollection[CoGroup[K]] {
	o := collect(opts)
	name := pick(o.name, "CoGroupByKey")
	if len(inputs) < 1 {
		s.fail(name, "needs at least one input")
		return PCollection[CoGroup[K]]{}
	}
	cols := make([]*graph.Collection, len(inputs))
	for i, in := range inputs {
		cols[i] = in.collection()
	}
	if !s.checkInputs(name, cols...) {
		return PCollection[CoGroup[K]]{}
	}
	kc, err := coder.Of[K]()
	if err != nil || !kc.Deterministic() {
		s.fail(name, "key type %T needs a deterministic coder (%v)", *new(K), err)
		return PCollection[CoGroup[K]]{}
	}
	cs := s.Scope(name)
	tagged := make([]PCollection[KV[K, KV[int64, []byte]]], len(inputs))
	tags := make([]any, len(inputs))
	for i, in := range inputs {
		tagged[i] = in.inject(cs, i)
		tags[i] = in
	}
	grouped := GroupByKey(cs, Flatten(cs, tagged...))
	n := len(inputs)
	cc := cogroupCoder[K]{kc: kc, vals: coder.NewIterable(coder.NewIterable(coder.Bytes())), tags: tags}
	return parDo(cs, DoFn[Group[K, KV[int64, []byte]], CoGroup[K]](funcDoFn[Group[K, KV[int64, []byte]], CoGroup[K]]{
		kind: "Expand", f: newTag[K, int],
		call: func(g Group[K, KV[int64, []byte]], emit func(CoGroup[K])) {
			out := CoGroup[K]{Key: g.Key, values: make([][][]byte, n), tags: tags}
			for v := range g.Values {
				out.values[v.Key] = append(out.values[v.Key], v.Value)
			}
			emit(out)
		}}), grouped, coder.Coder[CoGroup[K]](cc), Name("Expand"))
}

// cogroupCoder encodes CoGroup[K] as Beam's KV<K, Iterable<Iterable<bytes>>>:
// per input, the nested encodings of its values. The tags are the
// construction-time inputs, restored on decode.
type cogroupCoder[K comparable] struct {
	kc   coder.Coder[K]
	vals coder.Coder[[][][]byte]
	tags []any
}

func (c cogroupCoder[K]) Encode(dst []byte, g CoGroup[K]) []byte {
	return c.vals.Encode(c.kc.Encode(dst, g.Key), g.values)
}

func (c cogroupCoder[K]) Decode(src []byte) (CoGroup[K], int, error) {
	k, n, err := c.kc.Decode(src)
	if err != nil {
		return CoGroup[K]{}, 0, err
	}
	vs, m, err := c.vals.Decode(src[n:])
	if err != nil {
		return CoGroup[K]{}, 0, err
	}
	if len(vs) != len(c.tags) {
		return CoGroup[K]{}, 0, fmt.Errorf("sdk: CoGroup has %d inputs, want %d", len(vs), len(c.tags))
	}
	return CoGroup[K]{Key: k, values: vs, tags: c.tags}, n + m, nil
}

func (c cogroupCoder[K]) Spec() coder.Spec {
	return coder.Spec{URN: "beam:coder:kv:v1", Components: []coder.Spec{c.kc.Spec(), c.vals.Spec()}}
}
func (c cogroupCoder[K]) Deterministic() bool { return c.kc.Deterministic() }

func newTag[K comparable, V any](pc PCollection[KV[K, V]]) *Tag[K, V] { return NewTag(pc) }
