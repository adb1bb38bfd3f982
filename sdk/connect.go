package sdk

import (
	"context"

	"github.com/beamgo-dev/beamgo/internal/graph"
)

// Connecting streams is Flink's connect + keyBy in Beam terms (reference
// §7.1): the elements of keyed collections of different types are tagged
// with their input in one union type, flattened, and given to one stateful
// DoFn, which so shares its state (and timers) between the inputs, per
// key and window:
//
//	connected := sdk.Connect(s, items, sales) // PCollection[KV[K, Either[Item, Sale]]]
//	totals := sdk.ParDo(s, fn, connected)      // fn has state fields, reads kv.Value.Which
//
// CoParDo does both steps for a DoFn with one method per input (Flink's
// CoProcessFunction). As with Flink, the runner serializes the calls of one
// key, but the order in which the elements of the two inputs arrive is
// whatever the inputs' timing makes it: a DoFn that must not depend on it
// waits for the watermark with an event-time timer (see IntervalJoin).
// The input watermark of the connected DoFn is the minimum of its inputs',
// so an input whose watermark stays behind (an idle source) holds back its
// event-time timers.

// Either is an element of two connected collections: the value of an
// element of the first in A, or of the second in B, as Which says. The
// other field is its zero value.
type Either[A, B any] struct {
	// Which is 0 for an element of the first collection, 1 for the second.
	Which int
	A     A
	B     B
}

// Either3 is an element of three connected collections: as Either, with
// Which 2 for an element of the third, in C.
type Either3[A, B, C any] struct {
	Which int
	A     A
	B     B
	C     C
}

// Connect merges two keyed collections of different types into one whose
// elements remember their input: the input of a stateful DoFn shared by
// both. The inputs need the same windowing (as Flatten's), and, for the
// DoFn, a key type with a deterministic coder.
func Connect[K, A, B any](s Scope, first PCollection[KV[K, A]], second PCollection[KV[K, B]], opts ...Option) PCollection[KV[K, Either[A, B]]] {
	cs := s.Scope(pick(collect(opts).name, "Connect"))
	a := Map(cs, tagFirst[K, A, B], first, Name("First"))
	b := Map(cs, tagSecond[K, A, B], second, Name("Second"))
	return Flatten(cs, a, b)
}

// Connect3 is Connect for three collections.
func Connect3[K, A, B, C any](s Scope, first PCollection[KV[K, A]], second PCollection[KV[K, B]], third PCollection[KV[K, C]], opts ...Option) PCollection[KV[K, Either3[A, B, C]]] {
	cs := s.Scope(pick(collect(opts).name, "Connect3"))
	a := Map(cs, func(kv KV[K, A]) KV[K, Either3[A, B, C]] { return Pair(kv.Key, Either3[A, B, C]{A: kv.Value}) }, first, Name("First"))
	b := Map(cs, func(kv KV[K, B]) KV[K, Either3[A, B, C]] {
		return Pair(kv.Key, Either3[A, B, C]{Which: 1, B: kv.Value})
	}, second, Name("Second"))
	c := Map(cs, func(kv KV[K, C]) KV[K, Either3[A, B, C]] {
		return Pair(kv.Key, Either3[A, B, C]{Which: 2, C: kv.Value})
	}, third, Name("Third"))
	return Flatten(cs, a, b, c)
}

func tagFirst[K, A, B any](kv KV[K, A]) KV[K, Either[A, B]] {
	return KV[K, Either[A, B]]{Key: kv.Key, Value: Either[A, B]{A: kv.Value}}
}

func tagSecond[K, A, B any](kv KV[K, B]) KV[K, Either[A, B]] {
	return KV[K, Either[A, B]]{Key: kv.Key, Value: Either[A, B]{Which: 1, B: kv.Value}}
}

// CoDoFn is the user code of CoParDo, Flink's CoProcessFunction: one
// method per input, called with the element's key and value. Like a DoFn
// it is a pointer to a struct whose exported state and timer fields both
// methods share, and it may have the optional methods of a DoFn: the
// lifecycle (Setup, StartBundle, FinishBundle, Teardown), OnTimer and
// OnWindowExpiration.
type CoDoFn[K, A, B, Out any] interface {
	ProcessFirst(ctx context.Context, key K, a A, emit func(Out)) error
	ProcessSecond(ctx context.Context, key K, b B, emit func(Out)) error
}

// CoParDo connects first and second (Connect) and applies fn to every
// element, calling ProcessFirst or ProcessSecond by its input. Options:
// those of ParDo.
func CoParDo[K, A, B, Out any](s Scope, fn CoDoFn[K, A, B, Out], first PCollection[KV[K, A]], second PCollection[KV[K, B]], opts ...Option) PCollection[Out] {
	o := collect(opts)
	name := pick(o.name, "CoParDo")
	if fn == nil {
		s.fail(name, "CoDoFn is nil")
		return PCollection[Out]{}
	}
	name = pick(o.name, fnName(fn))
	cs := s.Scope(name)
	connected := Connect(cs, first, second)
	return ParDo(cs, DoFn[KV[K, Either[A, B]], Out](&coDoFn[K, A, B, Out]{fn: fn}), connected, append(opts, Name(name))...)
}

// adapter is implemented by the DoFns of the SDK that adapt a user's DoFn
// (CoParDo's): the user's DoFn declares the state and timers, and handles
// OnTimer and OnWindowExpiration.
type adapter interface{ adapted() any }

// statefulOf returns the DoFn whose fields and methods make fn stateful.
func statefulOf(fn any) any {
	if a, ok := fn.(adapter); ok {
		return a.adapted()
	}
	return fn
}

// coDoFn adapts a CoDoFn to a DoFn of the connected collection; it
// forwards the lifecycle methods.
type coDoFn[K, A, B, Out any] struct {
	fn CoDoFn[K, A, B, Out]
}

func (c *coDoFn[K, A, B, Out]) ProcessElement(ctx context.Context, kv KV[K, Either[A, B]], emit func(Out)) error {
	if kv.Value.Which == 1 {
		return c.fn.ProcessSecond(ctx, kv.Key, kv.Value.B, emit)
	}
	return c.fn.ProcessFirst(ctx, kv.Key, kv.Value.A, emit)
}

// Setup forwards to the CoDoFn's Setup, if any.
func (c *coDoFn[K, A, B, Out]) Setup(ctx context.Context) error {
	if s, ok := c.fn.(Setupper); ok {
		return s.Setup(ctx)
	}
	return nil
}

// StartBundle forwards to the CoDoFn's StartBundle, if any.
func (c *coDoFn[K, A, B, Out]) StartBundle(ctx context.Context) error {
	if s, ok := c.fn.(BundleStarter); ok {
		return s.StartBundle(ctx)
	}
	return nil
}

// FinishBundle forwards to the CoDoFn's FinishBundle of either form.
func (c *coDoFn[K, A, B, Out]) FinishBundle(ctx context.Context, emit func(Out)) error {
	switch f := c.fn.(type) {
	case EmittingBundleFinisher[Out]:
		return f.FinishBundle(ctx, emit)
	case BundleFinisher:
		return f.FinishBundle(ctx)
	}
	return nil
}

// Teardown forwards to the CoDoFn's Teardown, if any.
func (c *coDoFn[K, A, B, Out]) Teardown(ctx context.Context) error {
	if s, ok := c.fn.(TearDowner); ok {
		return s.Teardown(ctx)
	}
	return nil
}

func (c *coDoFn[K, A, B, Out]) adapted() any          { return c.fn }
func (c *coDoFn[K, A, B, Out]) wrapped() any          { return c.fn }
func (c *coDoFn[K, A, B, Out]) transformName() string { return fnName(c.fn) }

// describe describes the CoDoFn, so that PROCESS workers compare its
// configuration.
func (c *coDoFn[K, A, B, Out]) describe() *graph.FnInfo {
	info, err := describeFn(c.fn)
	if err != nil {
		return &graph.FnInfo{GoType: "Connect:" + fnName(c.fn)}
	}
	return &graph.FnInfo{GoType: "Connect:" + info.GoType, Config: info.Config}
}

// clone copies the CoDoFn too, which a shallow copy of the adapter would
// share between instances.
func (c *coDoFn[K, A, B, Out]) clone() any {
	inner, err := cloneFn(c.fn)
	if err != nil {
		inner = c.fn
	}
	return &coDoFn[K, A, B, Out]{fn: inner.(CoDoFn[K, A, B, Out])}
}
