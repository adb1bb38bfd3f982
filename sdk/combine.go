package sdk

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// CombineFn combines many inputs into one output through a mergeable
// accumulator, so runners can pre-combine before the shuffle ("combiner
// lifting") and merge partial results after it.
//
// Runners call the methods from one goroutine per instance, on copies of the
// CombineFn value; accumulators passed in may be modified and returned.
//
// It is the runtime's interface (the operators call it), so a CombineFn is
// handed to them as it is.
type CombineFn[In, Acc, Out any] = operator.CombineFn[In, Acc, Out]

// Compacter is an optional CombineFn method that shrinks an accumulator
// before it is encoded for the shuffle.
type Compacter[Acc any] = operator.Compacter[Acc]

// CombinePerKey combines the values of each key and window with fn. When the
// accumulator type has a coder and the windowing does not merge, runners
// lift the combine: a precombine before the shuffle, a merge after it.
func CombinePerKey[K comparable, In, Acc, Out any](s Scope, fn CombineFn[In, Acc, Out], in PCollection[KV[K, In]], opts ...Option) PCollection[KV[K, Out]] {
	o := collect(opts)
	name := pick(o.name, "CombinePerKey("+fnName(fn)+")")
	if fn == nil {
		s.fail(name, "CombineFn is nil")
		return PCollection[KV[K, Out]]{}
	}
	kc, vc, ok := kvCoders[K, In](s, name, in)
	if !ok || !s.checkGroupable(name, in.c) {
		return PCollection[KV[K, Out]]{}
	}
	oc, err := coder.Of[Out]()
	if err != nil {
		s.fail(name, "no coder for output type: %v", err)
		return PCollection[KV[K, Out]]{}
	}
	info, err := describeFn(fn)
	if err != nil {
		s.fail(name, "%v", err)
		return PCollection[KV[K, Out]]{}
	}
	outCoder := coder.NewKV(kc, oc)
	comp := s.p.g.AddTransform(s.parent, name, graph.KindCombinePerKey)
	comp.Fn = info
	comp.Inputs = []graph.Input{{Local: "in", Coll: in.c}}
	cs := Scope{p: s.p, parent: comp}
	ph := &combinePhases[K, In, Acc, Out]{fn: fn, global: !in.c.Windowing.Fn.IsMerging() && in.c.Windowing.Fn.Kind == window.KindGlobal,
		endOfWindow: in.c.Windowing.TimestampCombiner == window.OutputAtEndOfWindow,
		kvIn:        opsOf(in.c), kvOut: operator.OpsFor(outCoder), groupIn: operator.OpsFor(newGroupCoder(kc, vc))}
	if ac, err := coder.Of[Acc](); err == nil {
		ph.acc = ac
		ph.kvAcc = operator.OpsFor(coder.NewKV(kc, ac))
		ph.groupAcc = operator.OpsFor(newGroupCoder(kc, ac))
		comp.Combine = &graph.CombineInfo{KeyCoder: coder.Erase(kc), AccumCoder: coder.Erase(ac), Phases: ph}
	}
	grouped := GroupByKey(cs, in)
	t := s.p.g.AddTransform(comp, "CombineValues", graph.KindParDo)
	t.Fn = info
	t.Inputs = []graph.Input{{Local: "in", Coll: grouped.c}}
	t.Factory = ph.Grouped()
	out := s.p.g.AddOutput(t, "out", coder.Erase(outCoder), ph.kvOut, grouped.c.Windowing)
	// The composite's output is its last leaf's output, as in Beam.
	comp.Outputs = []graph.Output{{Local: "out", Coll: out}}
	return PCollection[KV[K, Out]]{c: out}
}

// combinePhases implements operator.CombinePhases for one CombineFn.
type combinePhases[K comparable, In, Acc, Out any] struct {
	fn                                    CombineFn[In, Acc, Out]
	global                                bool
	endOfWindow                           bool
	kvIn, kvOut, kvAcc, groupIn, groupAcc operator.TypeOps
	// acc is the accumulator coder (nil without one: not liftable).
	acc coder.Coder[Acc]
}

func (p *combinePhases[K, In, Acc, Out]) Precombine() operator.Factory {
	return operator.NewPrecombine[K](p.kvIn, p.kvAcc, operator.Combine[In, Acc, Out]{
		NewFn:       func() operator.CombineFn[In, Acc, Out] { return p.cloneFn() },
		Global:      p.global,
		EndOfWindow: p.endOfWindow,
		Builtin:     isBuiltinCombine(p.fn),
		Tally:       tallyOf(p.fn),
	})
}

func (p *combinePhases[K, In, Acc, Out]) Merge() operator.Factory {
	return operator.NewMapPhase(p.groupAcc, p.kvAcc, func() *groupFolder[In, Acc, Out] { return newGroupFolder(p.cloneFn()) },
		func(f *groupFolder[In, Acc, Out], g Group[K, Acc]) KV[K, Acc] {
			return KV[K, Acc]{Key: g.Key, Value: f.merge(g.Values)}
		})
}

func (p *combinePhases[K, In, Acc, Out]) Extract() operator.Factory {
	return mapPhase(p.kvAcc, p.kvOut, func(fn CombineFn[In, Acc, Out], kv KV[K, Acc]) KV[K, Out] {
		return KV[K, Out]{Key: kv.Key, Value: fn.ExtractOutput(kv.Value)}
	}, p)
}

func (p *combinePhases[K, In, Acc, Out]) Grouped() operator.Factory {
	return operator.NewMapPhase(p.groupIn, p.kvOut, func() *groupFolder[In, Acc, Out] { return newGroupFolder(p.cloneFn()) },
		func(f *groupFolder[In, Acc, Out], g Group[K, In]) KV[K, Out] {
			return KV[K, Out]{Key: g.Key, Value: f.fn.ExtractOutput(f.add(g.Values))}
		})
}

// groupFolder folds a group's values into an accumulator with one
// operator instance's copy of the CombineFn. Its yield functions are made
// once: a loop over a group's iter.Seq would allocate its body and the
// variables it updates for every group (the bids benchmark: about 5M
// groups of one accumulator each).
type groupFolder[In, Acc, Out any] struct {
	fn    CombineFn[In, Acc, Out]
	acc   Acc
	first bool
	// mergeOne and addOne are the yield functions of merge and add.
	mergeOne func(Acc) bool
	addOne   func(In) bool
}

func newGroupFolder[In, Acc, Out any](fn CombineFn[In, Acc, Out]) *groupFolder[In, Acc, Out] {
	f := &groupFolder[In, Acc, Out]{fn: fn}
	f.mergeOne = func(a Acc) bool {
		if f.first {
			f.acc, f.first = a, false
		} else {
			f.acc = f.fn.MergeAccumulators(f.acc, a)
		}
		return true
	}
	f.addOne = func(v In) bool {
		f.acc = f.fn.AddInput(f.acc, v)
		return true
	}
	return f
}

// merge merges the accumulators of seq, the first as is; with none, it
// returns a new accumulator.
func (f *groupFolder[In, Acc, Out]) merge(seq iter.Seq[Acc]) Acc {
	var zero Acc
	f.acc, f.first = zero, true
	seq(f.mergeOne)
	acc := f.acc
	if f.first {
		acc = f.fn.CreateAccumulator()
	}
	f.acc = zero // not kept past the group
	return acc
}

// add adds the inputs of seq to a new accumulator.
func (f *groupFolder[In, Acc, Out]) add(seq iter.Seq[In]) Acc {
	var zero Acc
	f.acc = f.fn.CreateAccumulator()
	seq(f.addOne)
	acc := f.acc
	f.acc = zero
	return acc
}

// NewAccumulatorMerger implements operator.AccumulatorMerging. For int64
// accumulators in Beam's varint encoding (Count's, Sum's over int64, and
// any CombineFn's of that type that does not compact), the merger merges
// them as int64s, which a runner's GroupByKey keeps one per window (see
// intAccMerger).
func (p *combinePhases[K, In, Acc, Out]) NewAccumulatorMerger(name string) operator.AccumulatorMerger {
	m := &accMerger[In, Acc, Out]{fn: p.cloneFn(), c: p.acc, name: name}
	merge, ok := any(m.fn.MergeAccumulators).(func(a, b int64) int64)
	_, compacts := m.fn.(operator.Compacter[Acc])
	if !ok || compacts || p.acc == nil || p.acc.Spec().URN != coder.URNVarint {
		return m
	}
	return &intAccMerger[In, Acc, Out]{accMerger: m, merge: merge, builtin: isBuiltinCombine(p.fn), add: tallyOf(p.fn) != operator.NoTally}
}

// intAccMerger is an accMerger whose accumulators are int64s in Beam's
// varint encoding (the uvarint of their two's complement): it also merges
// them decoded, one pair at a time (the runner's reduce.IntMerger),
// through the CombineFn's MergeAccumulators.
type intAccMerger[In, Acc, Out any] struct {
	*accMerger[In, Acc, Out]
	merge func(a, b int64) int64
	// builtin is set for the sdk's CombineFns, which cannot panic; add
	// for its count and int64 sum, whose merge is an addition.
	builtin, add bool
}

// DecodeInt decodes an accumulator from all of v.
func (m *intAccMerger[In, Acc, Out]) DecodeInt(v []byte) (int64, error) {
	if len(v) == 1 && v[0] < 0x80 {
		return int64(v[0]), nil
	}
	x, n := binary.Uvarint(v)
	switch {
	case n == 0:
		return 0, fmt.Errorf("%s: accumulator of %d bytes: the varint is cut short", m.name, len(v))
	case n < 0:
		return 0, fmt.Errorf("%s: accumulator of %d bytes: the varint overflows 64 bits", m.name, len(v))
	case n != len(v):
		return 0, fmt.Errorf("%s: accumulator of %d bytes: %d bytes left over", m.name, len(v), len(v)-n)
	}
	return int64(x), nil
}

// AppendInt appends the encoding of accumulator a to dst. It keeps no
// state, so it may run beside the other methods (a snapshot's).
func (m *intAccMerger[In, Acc, Out]) AppendInt(dst []byte, a int64) []byte {
	return binary.AppendUvarint(dst, uint64(a))
}

// MergeInts merges two accumulators; a panic of the CombineFn comes back
// as an error naming the combine.
func (m *intAccMerger[In, Acc, Out]) MergeInts(a, b int64) (out int64, err error) {
	if m.add {
		return a + b, nil
	}
	if m.builtin {
		return m.merge(a, b), nil
	}
	defer func() {
		if x := recover(); x != nil {
			out, err = 0, operator.PanicError(m.name, nil, false, x)
		}
	}()
	return m.merge(a, b), nil
}

// accMerger merges encoded accumulators with one copy of a CombineFn.
type accMerger[In, Acc, Out any] struct {
	fn   CombineFn[In, Acc, Out]
	c    coder.Coder[Acc]
	name string
}

// Merge decodes accs, merges them in order and appends the
// result's encoding (compacted, if the CombineFn is a Compacter, as the
// precombine's are) to dst. A panic of the CombineFn comes back as an
// error naming the combine.
func (m *accMerger[In, Acc, Out]) Merge(dst []byte, accs [][]byte) (out []byte, err error) {
	defer func() {
		if x := recover(); x != nil {
			out, err = nil, operator.PanicError(m.name, nil, false, x)
		}
	}()
	var acc Acc
	for i, b := range accs {
		a, n, err := m.c.Decode(b)
		if err == nil && n != len(b) {
			err = fmt.Errorf("%d bytes left over", len(b)-n)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: accumulator %d of %d: %w", m.name, i, len(accs), err)
		}
		if i == 0 {
			acc = a
		} else {
			acc = m.fn.MergeAccumulators(acc, a)
		}
	}
	if len(accs) == 0 {
		acc = m.fn.CreateAccumulator()
	}
	if c, ok := m.fn.(operator.Compacter[Acc]); ok {
		acc = c.Compact(acc)
	}
	return m.c.Encode(dst, acc), nil
}

func (p *combinePhases[K, In, Acc, Out]) cloneFn() CombineFn[In, Acc, Out] {
	c, err := cloneFn(p.fn)
	if err != nil {
		return p.fn
	}
	return c.(CombineFn[In, Acc, Out])
}

// mapPhase builds a one-to-one phase operator that calls f with a copy of
// the CombineFn, recovering panics as errors naming the transform.
func mapPhase[K comparable, In, Acc, Out, A, B any](in, out operator.TypeOps, f func(CombineFn[In, Acc, Out], A) B, p *combinePhases[K, In, Acc, Out]) operator.Factory {
	return operator.NewMapPhase(in, out, p.cloneFn, f)
}

// isBuiltinCombine reports whether fn is one of the sdk's CombineFns,
// whose methods cannot panic.
func isBuiltinCombine(fn any) bool {
	b, ok := fn.(builtinCombineFn)
	return ok && b.builtinCombine(fn)
}

// tallyOf returns the tally table that may run fn's precombine: the sdk's
// count and int64 sum over string keys in the global window sum int64s
// instead of accumulating in a map.
func tallyOf[In, Acc, Out any](fn CombineFn[In, Acc, Out]) operator.Tally {
	switch any(fn).(type) {
	case countFn[In]:
		return operator.TallyCount
	case SumFn[int64]:
		return operator.TallySum
	}
	return operator.NoTally
}

// CombineGlobally combines all elements of each window of in into one
// output per pane. In the global window an empty bounded input yields the
// output of an empty accumulator, as in Beam; an unbounded one yields
// nothing until it has elements.
func CombineGlobally[In, Acc, Out any](s Scope, fn CombineFn[In, Acc, Out], in PCollection[In], opts ...Option) PCollection[Out] {
	o := collect(opts)
	name := pick(o.name, "CombineGlobally("+fnName(fn)+")")
	if fn == nil {
		s.fail(name, "CombineFn is nil")
		return PCollection[Out]{}
	}
	if !s.checkInputs(name, in.c) {
		return PCollection[Out]{}
	}
	cs := s.Scope(name)
	keyed := Map(cs, withNilKey[In], in, Name("KeyByNil"))
	combined := Values(cs, CombinePerKey(cs, fn, keyed))
	// An unbounded input's panes flow on as they fire: the default, read
	// through a side input once, would stop them (Beam's withoutDefaults).
	if in.c.Windowing.Fn.Kind != window.KindGlobal || !in.c.Bounded {
		return combined
	}
	view := AsIter(combined)
	seed := Create(cs, []int64{0}, Name("Seed"))
	return ParDo(cs, DoFn[int64, Out](&insertDefault[In, Acc, Out]{Fn: fn, View: view}), seed, Name("InsertDefault"), WithSideInput(view))
}

func withNilKey[T any](v T) KV[int64, T] { return KV[int64, T]{Value: v} }

// insertDefault emits the combined value, or the empty accumulator's output
// when the input was empty.
type insertDefault[In, Acc, Out any] struct {
	Fn   CombineFn[In, Acc, Out]
	View *IterView[Out]
}

func (d *insertDefault[In, Acc, Out]) ProcessElement(ctx context.Context, _ int64, emit func(Out)) error {
	any := false
	for v := range d.View.Get(ctx) {
		emit(v)
		any = true
	}
	if !any {
		emit(d.Fn.ExtractOutput(d.Fn.CreateAccumulator()))
	}
	return nil
}

// builtinCombineFn marks the sdk's CombineFns, whose methods cannot panic.
// builtinCombine reports whether self is the CombineFn itself, not a type
// that embeds it (and may override its methods with code that panics).
type builtinCombineFn interface{ builtinCombine(self any) bool }
