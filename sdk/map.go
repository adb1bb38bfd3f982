package sdk

import (
	"context"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// funcDoFn adapts a plain function to a DoFn. It is stateless, so instances
// are shared, and it names the transform after the function.
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

// elemMeta is the timestamp, windows and pane of an element: a
// window.Value without the element.
type elemMeta struct {
	Timestamp window.Time
	Windows   []window.Window
	Pane      window.Pane
}

// elemSinker is implemented by the sdk's operators that sit inside fused
// chains (funcOp, precombine). A window.Value is too large to be passed in
// registers, and building and copying one at every hop of a chain costs
// more than the work of a Map; so an operator hands its successor the
// element and a pointer to the metadata, which passes down the chain
// unchanged. It does so through the function elemSink returns rather than
// through an interface method: a method of a generic type called through
// an interface goes through a wrapper that loads the type's dictionary,
// one more call per element and hop, while a function value built by the
// operator is one indirect call to code that already holds what it needs.
// elemSink is called when the chain is built, after the operator's
// successors are known; the function it returns may not retain m.
type elemSinker[T any] interface {
	elemSink() func(elem T, m *elemMeta) error
}

// funcOp is the operator of a funcDoFn without element context (Map,
// FlatMap, Filter, MapKV, ...): the per-element work of a fused chain of
// such transforms, so it calls the function directly instead of going
// through the DoFn interface, the element context and a window.Value per
// hop.
//
// The function sees no window, so an element in several windows is
// processed once and its outputs keep all its windows, which the model
// treats as the same as processing it once per window (Beam's runners do
// the same for DoFns that do not observe the window).
type funcOp[In, Out any] struct {
	env     *operator.Env
	call    func(In, func(Out))
	one     func(In) Out
	builtin bool
	next    operator.Receiver[Out]
	// sink passes an output to next: next's elemSink if it has one.
	sink func(Out, *elemMeta) error
	// fused is set when next is an elemSinker.
	fused bool
	emit  func(Out)
	// meta holds the metadata of an element that arrived through Receive.
	meta elemMeta
	// cur is the metadata of the element being processed, which its
	// outputs take.
	cur *elemMeta
	// downErr is the first error of the downstream receiver during a call.
	downErr error
}

var _ elemSinker[int] = (*funcOp[int, int])(nil)

func newFuncOp[In, Out any](env *operator.Env, d funcDoFn[In, Out], next operator.Receiver[Out]) *funcOp[In, Out] {
	o := &funcOp[In, Out]{env: env, call: d.call, one: d.one, builtin: d.builtin, next: next}
	if s, ok := next.(elemSinker[Out]); ok {
		o.sink, o.fused = s.elemSink(), true
	} else {
		o.sink = func(out Out, m *elemMeta) error {
			return next.Receive(window.Value[Out]{Elem: out, Timestamp: m.Timestamp, Windows: m.Windows, Pane: m.Pane})
		}
	}
	o.emit = func(out Out) {
		if o.downErr != nil {
			return
		}
		if err := o.sink(out, o.cur); err != nil {
			o.downErr = err
		}
	}
	return o
}

// elemSink returns the function a predecessor in a fused chain calls with
// each element. For a one-to-one function it is the function and the
// successor's sink composed, without going through the operator.
func (o *funcOp[In, Out]) elemSink() func(In, *elemMeta) error {
	if o.one == nil {
		return o.receiveElem
	}
	sink, one := o.sink, o.one
	if o.builtin {
		return func(in In, m *elemMeta) error { return sink(one(in), m) }
	}
	return func(in In, m *elemMeta) error {
		out, err := o.apply(in)
		if err != nil {
			return err
		}
		return sink(out, m)
	}
}

func (o *funcOp[In, Out]) Setup(context.Context) error { return nil }
func (o *funcOp[In, Out]) StartBundle(context.Context) error {
	o.downErr = nil
	return nil
}
func (o *funcOp[In, Out]) FinishBundle(context.Context) error { return nil }
func (o *funcOp[In, Out]) Teardown(context.Context) error     { return nil }

// Receive processes one element.
func (o *funcOp[In, Out]) Receive(v window.Value[In]) error {
	o.meta = elemMeta{Timestamp: v.Timestamp, Windows: v.Windows, Pane: v.Pane}
	err := o.receiveElem(v.Elem, &o.meta)
	o.meta.Windows = nil
	return err
}

func (o *funcOp[In, Out]) receiveElem(in In, m *elemMeta) error {
	if o.one != nil {
		var out Out
		if o.builtin {
			out = o.one(in)
		} else {
			var err error
			if out, err = o.apply(in); err != nil {
				return err
			}
		}
		return o.sink(out, m)
	}
	o.cur = m
	err := o.invoke(in)
	o.cur = nil
	if err != nil {
		return err
	}
	if err := o.downErr; err != nil {
		o.downErr = nil
		return err
	}
	return nil
}

// apply calls the one-to-one function, recovering a panic.
func (o *funcOp[In, Out]) apply(in In) (out Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = operator.PanicError(o.env.UniqueName, in, true, r)
		}
	}()
	return o.one(in), nil
}

// invoke calls the function with the emit closure, recovering a panic.
func (o *funcOp[In, Out]) invoke(in In) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = operator.PanicError(o.env.UniqueName, in, true, r)
		}
	}()
	o.call(in, o.emit)
	return nil
}
