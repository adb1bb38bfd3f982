package sdk

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

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
type CombineFn[In, Acc, Out any] interface {
	CreateAccumulator() Acc
	AddInput(acc Acc, in In) Acc
	MergeAccumulators(a, b Acc) Acc
	ExtractOutput(acc Acc) Out
}

// Compacter is an optional CombineFn method that shrinks an accumulator
// before it is encoded for the shuffle.
type Compacter[Acc any] interface {
	Compact(acc Acc) Acc
}

// precombineFlushKeys bounds the keys a precombine holds before it flushes
// partial accumulators early, to bound memory.
const precombineFlushKeys = 1 << 18

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
	if !ok {
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
		kvIn: opsOf(in.c), kvOut: operator.OpsFor(outCoder), groupIn: operator.OpsFor(newGroupCoder(kc, vc))}
	if ac, err := coder.Of[Acc](); err == nil {
		ph.kvAcc = operator.OpsFor(coder.NewKV(kc, ac))
		ph.groupAcc = operator.OpsFor(newGroupCoder(kc, ac))
		comp.Combine = &graph.CombineInfo{KeyCoder: coder.Erase(kc), AccumCoder: coder.Erase(ac), Phases: ph}
	}
	grouped := GroupByKey(cs, in)
	t := s.p.g.AddTransform(comp, "CombineValues", graph.KindParDo)
	t.Fn = info
	t.Inputs = []graph.Input{{Local: "in", Coll: grouped.c}}
	t.Factory = ph.Grouped()
	out := s.p.g.AddOutput(t, "out", coder.Erase(outCoder), ph.kvOut, in.c.Windowing)
	// The composite's output is its last leaf's output, as in Beam.
	comp.Outputs = []graph.Output{{Local: "out", Coll: out}}
	return PCollection[KV[K, Out]]{c: out}
}

// combinePhases implements operator.CombinePhases for one CombineFn.
type combinePhases[K comparable, In, Acc, Out any] struct {
	fn                                    CombineFn[In, Acc, Out]
	global                                bool
	kvIn, kvOut, kvAcc, groupIn, groupAcc operator.TypeOps
}

func (p *combinePhases[K, In, Acc, Out]) Precombine() operator.Factory {
	return &phaseFactory{in: p.kvIn, out: p.kvAcc, build: func(env *operator.Env, next any) (operator.Operator, any, error) {
		r, ok := next.(operator.Receiver[KV[K, Acc]])
		if !ok {
			return nil, nil, fmt.Errorf("sdk: %s precombine: output receiver is %T", env.UniqueName, next)
		}
		op := &precombine[K, In, Acc, Out]{env: env, fn: p.cloneFn(), next: r, global: p.global}
		return op, op, nil
	}}
}

func (p *combinePhases[K, In, Acc, Out]) Merge() operator.Factory {
	return mapPhase(p.groupAcc, p.kvAcc, func(fn CombineFn[In, Acc, Out], g Group[K, Acc]) KV[K, Acc] {
		var acc Acc
		first := true
		for a := range g.Values {
			if first {
				acc, first = a, false
			} else {
				acc = fn.MergeAccumulators(acc, a)
			}
		}
		if first {
			acc = fn.CreateAccumulator()
		}
		return KV[K, Acc]{Key: g.Key, Value: acc}
	}, p)
}

func (p *combinePhases[K, In, Acc, Out]) Extract() operator.Factory {
	return mapPhase(p.kvAcc, p.kvOut, func(fn CombineFn[In, Acc, Out], kv KV[K, Acc]) KV[K, Out] {
		return KV[K, Out]{Key: kv.Key, Value: fn.ExtractOutput(kv.Value)}
	}, p)
}

func (p *combinePhases[K, In, Acc, Out]) Grouped() operator.Factory {
	return mapPhase(p.groupIn, p.kvOut, func(fn CombineFn[In, Acc, Out], g Group[K, In]) KV[K, Out] {
		acc := fn.CreateAccumulator()
		for v := range g.Values {
			acc = fn.AddInput(acc, v)
		}
		return KV[K, Out]{Key: g.Key, Value: fn.ExtractOutput(acc)}
	}, p)
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
	return &phaseFactory{in: in, out: out, build: func(env *operator.Env, next any) (operator.Operator, any, error) {
		r, ok := next.(operator.Receiver[B])
		if !ok {
			return nil, nil, fmt.Errorf("sdk: %s: output receiver is %T", env.UniqueName, next)
		}
		fn := p.cloneFn()
		return noLifecycle{}, receiverFunc[A](func(v window.Value[A]) (err error) {
			defer func() {
				if x := recover(); x != nil {
					err = operator.PanicError(env.UniqueName, v.Elem, true, x)
				}
			}()
			return r.Receive(window.Value[B]{Elem: f(fn, v.Elem), Timestamp: v.Timestamp, Windows: v.Windows, Pane: v.Pane})
		}), nil
	}}
}

// receiverFunc adapts a function to operator.Receiver.
type receiverFunc[T any] func(v window.Value[T]) error

func (f receiverFunc[T]) Receive(v window.Value[T]) error { return f(v) }

// phaseFactory is a operator.Factory for single-input, single-output operators.
type phaseFactory struct {
	in, out operator.TypeOps
	build   func(env *operator.Env, next any) (operator.Operator, any, error)
}

func (f *phaseFactory) InputOps() operator.TypeOps    { return f.in }
func (f *phaseFactory) OutputOps() []operator.TypeOps { return []operator.TypeOps{f.out} }
func (f *phaseFactory) Build(env *operator.Env, outs []any) (operator.Operator, any, error) {
	if len(outs) != 1 {
		return nil, nil, fmt.Errorf("sdk: %s: wired %d outputs, want 1", env.UniqueName, len(outs))
	}
	return f.build(env, outs[0])
}

type keyWindow[K comparable] struct {
	k K
	w window.Window
}

// precombine holds partial accumulators per key (and window) for one bundle
// and emits them when the bundle finishes or too many keys are held.
//
// The maps hold indexes into accs rather than accumulators or pointers:
// the accumulators stay contiguous (one cache miss less per element than a
// pointer), and an existing key is never assigned again, so the map keeps
// the copied key it was inserted with. String keys are copied into
// keyArena chunks rather than allocated one by one: the keys of a bundle lie
// together in memory, the frequent ones (which come first) in the first
// chunks, so the map's key comparisons touch fewer cache lines. The maps
// are reused (cleared) from bundle to bundle.
type precombine[K comparable, In, Acc, Out any] struct {
	env    *operator.Env
	fn     CombineFn[In, Acc, Out]
	next   operator.Receiver[KV[K, Acc]]
	global bool
	// byKey is used in the global window, byKeyWindow otherwise.
	byKey       map[K]int32
	byKeyWindow map[keyWindow[K]]int32
	accs        []Acc
	// builtin is set for the sdk's own CombineFns, which cannot panic:
	// their elements skip the panic recovery.
	builtin bool
	// strKeys is set when K is string: keys are copied into keys.
	strKeys bool
	keys    keyArena
	// tally, when set, holds the sums instead of byKey and accs: the
	// CombineFn is the sdk's count or int64 sum, K is string and the
	// window global (see tallyTable). tallyIn is the input as an int64
	// for a sum, nil for a count (which adds 1); asKey and asAcc turn a
	// table's key and sum into K and Acc, which are string and int64.
	tally   *tallyTable
	tallyIn func(In) int64
	asKey   func(string) K
	asAcc   func(int64) Acc
	// configured is set once the fields above are.
	configured bool
}

var _ elemSinker[KV[string, int]] = (*precombine[string, int, int, int])(nil)

// configure sets the fields derived from the types and the CombineFn.
func (p *precombine[K, In, Acc, Out]) configure() {
	if p.configured {
		return
	}
	p.configured = true
	var k K
	_, p.strKeys = any(k).(string)
	b, ok := p.fn.(builtinCombineFn)
	p.builtin = ok && b.builtinCombine(p.fn)
	asKey, strKey := any(func(s string) string { return s }).(func(string) K)
	asAcc, intAcc := any(func(n int64) int64 { return n }).(func(int64) Acc)
	if !p.global || !strKey || !intAcc {
		return
	}
	switch any(p.fn).(type) {
	case countFn[In]:
		p.tally = newTallyTable()
	case SumFn[int64]:
		in, ok := any(func(v int64) int64 { return v }).(func(In) int64)
		if !ok {
			return
		}
		p.tally, p.tallyIn = newTallyTable(), in
	default:
		return
	}
	p.asKey, p.asAcc = asKey, asAcc
}

func (p *precombine[K, In, Acc, Out]) Setup(context.Context) error {
	p.configure()
	return nil
}

// elemSink returns the function a fused predecessor calls with each
// input, specialized for the common cases: the global window with the
// sdk's own CombineFns (no panic recovery), and counting.
func (p *precombine[K, In, Acc, Out]) elemSink() func(KV[K, In], *elemMeta) error {
	p.configure()
	switch {
	case p.tally != nil:
		return func(kv KV[K, In], _ *elemMeta) error { return p.addTally(kv) }
	case p.global && p.builtin:
		return func(kv KV[K, In], _ *elemMeta) error { return p.addGlobal(kv) }
	case p.builtin:
		return func(kv KV[K, In], m *elemMeta) error { return p.add(kv, m.Windows) }
	default:
		return func(kv KV[K, In], m *elemMeta) error { return p.addRecovering(kv, m.Windows) }
	}
}

// addTally adds an input to its key's sum in the tally table, flushing
// first if the key is new and too many are held.
func (p *precombine[K, In, Acc, Out]) addTally(kv KV[K, In]) error {
	// K is string (configure checked), so its bytes are a string's.
	k := *(*string)(unsafe.Pointer(&kv.Key))
	v := int64(1)
	if p.tallyIn != nil {
		v = p.tallyIn(kv.Value)
	}
	if p.tally.add(k, v, precombineFlushKeys) {
		return nil
	}
	if err := p.flush(); err != nil {
		return err
	}
	p.tally.add(k, v, precombineFlushKeys)
	return nil
}

// addGlobal adds an input to its key's accumulator in the global window.
func (p *precombine[K, In, Acc, Out]) addGlobal(kv KV[K, In]) error {
	i, ok := p.byKey[kv.Key]
	if !ok {
		var err error
		if i, err = p.newAcc(); err != nil {
			return err
		}
		p.byKey[p.ownKey(kv.Key)] = i
	}
	p.accs[i] = p.fn.AddInput(p.accs[i], kv.Value)
	return nil
}

func (p *precombine[K, In, Acc, Out]) StartBundle(context.Context) error {
	if p.byKey == nil {
		p.byKey = map[K]int32{}
		p.byKeyWindow = map[keyWindow[K]]int32{}
	}
	clear(p.byKey)
	clear(p.byKeyWindow)
	clear(p.accs)
	p.accs = p.accs[:0]
	p.keys.release()
	if p.tally != nil {
		p.tally.reset()
	}
	return nil
}
func (p *precombine[K, In, Acc, Out]) Teardown(context.Context) error { return nil }

// newAcc starts an accumulator, flushing first if too many are held, and
// returns its index.
func (p *precombine[K, In, Acc, Out]) newAcc() (int32, error) {
	if len(p.accs) >= precombineFlushKeys {
		if err := p.flush(); err != nil {
			return 0, err
		}
	}
	p.accs = append(p.accs, p.fn.CreateAccumulator())
	return int32(len(p.accs) - 1), nil
}

// ownKey returns a copy of a key about to be held, so that it does not pin
// the larger string it was cut from (a line of text, say).
func (p *precombine[K, In, Acc, Out]) ownKey(k K) K {
	if p.strKeys {
		return any(p.keys.clone(any(k).(string))).(K)
	}
	return k
}

func (p *precombine[K, In, Acc, Out]) Receive(v window.Value[KV[K, In]]) error {
	return p.addRecovering(v.Elem, v.Windows)
}

// addRecovering is add, turning a panic of the CombineFn into an error.
func (p *precombine[K, In, Acc, Out]) addRecovering(kv KV[K, In], wins []window.Window) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = operator.PanicError(p.env.UniqueName, kv, true, x)
		}
	}()
	return p.add(kv, wins)
}

// add adds an input to the accumulators of its key in each of the windows.
func (p *precombine[K, In, Acc, Out]) add(kv KV[K, In], wins []window.Window) (err error) {
	if p.tally != nil {
		return p.addTally(kv)
	}
	if p.global {
		return p.addGlobal(kv)
	}
	for _, w := range wins {
		kw := keyWindow[K]{k: kv.Key, w: w}
		i, ok := p.byKeyWindow[kw]
		if !ok {
			if i, err = p.newAcc(); err != nil {
				return err
			}
			kw.k = p.ownKey(kw.k)
			p.byKeyWindow[kw] = i
		}
		p.accs[i] = p.fn.AddInput(p.accs[i], kv.Value)
	}
	return nil
}

func (p *precombine[K, In, Acc, Out]) compact(a Acc) Acc {
	if c, ok := p.fn.(Compacter[Acc]); ok {
		return c.Compact(a)
	}
	return a
}

// flush emits every held accumulator, at the end of its window, and clears.
func (p *precombine[K, In, Acc, Out]) flush() error {
	gw := window.GlobalWindows()
	if p.tally != nil {
		if err := p.tally.each(func(k string, sum int64) error {
			return p.next.Receive(window.Value[KV[K, Acc]]{Elem: KV[K, Acc]{Key: p.asKey(k), Value: p.asAcc(sum)}, Timestamp: window.EndOfGlobalWindow, Windows: gw, Pane: window.NoFiringPane()})
		}); err != nil {
			return err
		}
	}
	for k, i := range p.byKey {
		if err := p.next.Receive(window.Value[KV[K, Acc]]{Elem: KV[K, Acc]{Key: k, Value: p.compact(p.accs[i])}, Timestamp: window.EndOfGlobalWindow, Windows: gw, Pane: window.NoFiringPane()}); err != nil {
			return err
		}
	}
	ws := make([]window.Window, 1)
	for kw, i := range p.byKeyWindow {
		ws[0] = kw.w
		if err := p.next.Receive(window.Value[KV[K, Acc]]{Elem: KV[K, Acc]{Key: kw.k, Value: p.compact(p.accs[i])}, Timestamp: kw.w.MaxTimestamp(), Windows: ws, Pane: window.NoFiringPane()}); err != nil {
			return err
		}
	}
	clear(p.byKey)
	clear(p.byKeyWindow)
	clear(p.accs)
	p.accs = p.accs[:0]
	// Later keys go to new chunks, so that the chunks of the keys just
	// emitted are freed as soon as nothing downstream holds them.
	p.keys.release()
	if p.tally != nil {
		p.tally.reset()
	}
	return nil
}

func (p *precombine[K, In, Acc, Out]) FinishBundle(context.Context) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = operator.PanicError(p.env.UniqueName, nil, false, x)
		}
	}()
	return p.flush()
}

// keyArena copies strings into shared chunks (the buffers of a
// strings.Builder, whose earlier bytes are never written again). A string it
// returns pins its chunk, which is why chunks are small.
type keyArena struct {
	b strings.Builder
}

// keyChunk is the size of a keyArena chunk; longer strings get their own.
const keyChunk = 16 << 10

// clone returns a copy of s.
func (a *keyArena) clone(s string) string {
	if len(s) > keyChunk/16 {
		return strings.Clone(s)
	}
	if a.b.Cap()-a.b.Len() < len(s) {
		a.b = strings.Builder{}
		a.b.Grow(keyChunk)
	}
	start := a.b.Len()
	a.b.WriteString(s)
	return a.b.String()[start:]
}

// cloneBytes returns a string with the bytes of b.
func (a *keyArena) cloneBytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// clone copies the bytes before returning: the view does not outlive
	// the call.
	return a.clone(unsafe.String(&b[0], len(b)))
}

// release makes the next clone start a new chunk, so that strings handed
// out so far share no chunk with later ones.
func (a *keyArena) release() { a.b = strings.Builder{} }

// CombineGlobally combines all elements of each window of in into one
// output. In the global window an empty input yields the output of an empty
// accumulator, as in Beam.
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
	if in.c.Windowing.Fn.Kind != window.KindGlobal {
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
