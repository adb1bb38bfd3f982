package sdk

import (
	"context"
	"fmt"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// DoFn processes elements of type In and emits elements of type Out. It is
// the user code of a ParDo.
//
// ProcessElement is called once per element and window: an element in
// several windows (sliding windows) is processed once per window. Emitted
// elements get the input element's timestamp, window and pane. ctx carries
// the element's metadata (EventTime, WindowOf), side inputs (View.Get) and
// metrics (Counter.Inc); it is valid only during the call.
//
// An instance is used by one goroutine at a time. The runner makes one
// instance per worker thread by copying the DoFn value (a shallow copy of
// a struct pointer's fields), so per-instance state belongs in fields set in
// Setup or StartBundle, and configuration in fields set before ParDo.
//
// Optional lifecycle methods, found by type assertion:
//
//	Setup(ctx context.Context) error          // once per instance, before any bundle
//	StartBundle(ctx context.Context) error    // before each bundle
//	FinishBundle(ctx context.Context) error   // after each bundle; or, to emit:
//	FinishBundle(ctx context.Context, emit func(Out)) error
//	Teardown(ctx context.Context) error       // once per instance, best effort
//
// Elements emitted from FinishBundle get the timestamp and window of the
// last element of the bundle (the global window if there was none).
type DoFn[In, Out any] interface {
	ProcessElement(ctx context.Context, in In, emit func(Out)) error
}

// DoFn2 is a DoFn with two tagged outputs, for ParDo2.
type DoFn2[In, O1, O2 any] interface {
	ProcessElement(ctx context.Context, in In, emit1 func(O1), emit2 func(O2)) error
}

// DoFn3 is a DoFn with three tagged outputs, for ParDo3.
type DoFn3[In, O1, O2, O3 any] interface {
	ProcessElement(ctx context.Context, in In, emit1 func(O1), emit2 func(O2), emit3 func(O3)) error
}

// Setupper is a DoFn that sets up an instance once before its first bundle
// (a connection, a parsed model): Flink's open, Streamliner's initialize.
type Setupper interface {
	Setup(ctx context.Context) error
}

// BundleStarter is a DoFn that prepares for each bundle.
type BundleStarter interface {
	StartBundle(ctx context.Context) error
}

// BundleFinisher is a DoFn that completes each bundle (flushes a batch).
type BundleFinisher interface {
	FinishBundle(ctx context.Context) error
}

// EmittingBundleFinisher is a DoFn that may emit when it completes a bundle.
type EmittingBundleFinisher[Out any] interface {
	FinishBundle(ctx context.Context, emit func(Out)) error
}

// TearDowner is a DoFn that releases an instance's resources: Flink's close,
// Streamliner's cleanup. It runs after the last bundle, also after failures.
type TearDowner interface {
	Teardown(ctx context.Context) error
}

// The ParDo operators find the lifecycle methods through the runtime's
// interfaces of the same method sets.
var (
	_ operator.Setupper       = Setupper(nil)
	_ operator.BundleStarter  = BundleStarter(nil)
	_ operator.BundleFinisher = BundleFinisher(nil)
	_ operator.TearDowner     = TearDowner(nil)
)

// ParDo applies fn to every element of in. Options: Name, WithSideInput.
func ParDo[In, Out any](s Scope, fn DoFn[In, Out], in PCollection[In], opts ...Option) PCollection[Out] {
	return parDo(s, fn, in, nil, opts...)
}

// parDo is ParDo with an explicit output coder (nil: inferred).
func parDo[In, Out any](s Scope, fn DoFn[In, Out], in PCollection[In], out coder.Coder[Out], opts ...Option) PCollection[Out] {
	o := collect(opts)
	outs := []parDoOut[In]{output[In, Out]{local: "out", c: out}}
	t, f, cols, ok := parDoN(s, pick(o.name, fnName(fn)), fn, in, o, outs, func(c *operator.ParDoCore[In], inst any, emits []any) {
		fn, emit := inst.(DoFn[In, Out]), emits[0].(func(Out))
		c.Process = func(ctx context.Context, v In) error { return fn.ProcessElement(ctx, v, emit) }
		if fb, ok := inst.(EmittingBundleFinisher[Out]); ok {
			c.Finish = func(ctx context.Context) error { return fb.FinishBundle(ctx, emit) }
		}
		wireTimers(c, inst, emit)
	})
	if !ok {
		return PCollection[Out]{}
	}
	if f.Stateful, ok = stateful[In, Out](s, t, fn, in.c); !ok {
		return PCollection[Out]{}
	}
	if d, ok := fn.(funcDoFn[In, Out]); ok && d.ctxCall == nil && d.call != nil {
		f.Direct = func(env *operator.Env, outs []any) (operator.Operator, any, error) {
			next, err := operator.ReceiverOf[Out](outs, 0, t.UniqueName)
			if err != nil {
				return nil, nil, err
			}
			op := operator.NewFuncOp(env, operator.Func[In, Out]{Call: d.call, One: d.one, Builtin: d.builtin, KeysOne: d.keysOne}, next)
			return op, op, nil
		}
	}
	return PCollection[Out]{c: cols[0]}
}

// ParDo2 applies fn, which has two outputs, to every element of in.
func ParDo2[In, O1, O2 any](s Scope, fn DoFn2[In, O1, O2], in PCollection[In], opts ...Option) (PCollection[O1], PCollection[O2]) {
	o := collect(opts)
	outs := []parDoOut[In]{output[In, O1]{local: "out0"}, output[In, O2]{local: "out1"}}
	t, f, cols, ok := parDoN(s, pick(o.name, fnName(fn)), fn, in, o, outs, func(c *operator.ParDoCore[In], inst any, emits []any) {
		fn, e1, e2 := inst.(DoFn2[In, O1, O2]), emits[0].(func(O1)), emits[1].(func(O2))
		c.Process = func(ctx context.Context, v In) error { return fn.ProcessElement(ctx, v, e1, e2) }
	})
	if !ok {
		return PCollection[O1]{}, PCollection[O2]{}
	}
	if f.Stateful, ok = statefulNoTimers[In](s, t, fn, in.c); !ok {
		return PCollection[O1]{}, PCollection[O2]{}
	}
	return PCollection[O1]{c: cols[0]}, PCollection[O2]{c: cols[1]}
}

// ParDo3 applies fn, which has three outputs, to every element of in.
func ParDo3[In, O1, O2, O3 any](s Scope, fn DoFn3[In, O1, O2, O3], in PCollection[In], opts ...Option) (PCollection[O1], PCollection[O2], PCollection[O3]) {
	o := collect(opts)
	outs := []parDoOut[In]{output[In, O1]{local: "out0"}, output[In, O2]{local: "out1"}, output[In, O3]{local: "out2"}}
	t, f, cols, ok := parDoN(s, pick(o.name, fnName(fn)), fn, in, o, outs, func(c *operator.ParDoCore[In], inst any, emits []any) {
		fn, e1, e2, e3 := inst.(DoFn3[In, O1, O2, O3]), emits[0].(func(O1)), emits[1].(func(O2)), emits[2].(func(O3))
		c.Process = func(ctx context.Context, v In) error { return fn.ProcessElement(ctx, v, e1, e2, e3) }
	})
	if !ok {
		return PCollection[O1]{}, PCollection[O2]{}, PCollection[O3]{}
	}
	if f.Stateful, ok = statefulNoTimers[In](s, t, fn, in.c); !ok {
		return PCollection[O1]{}, PCollection[O2]{}, PCollection[O3]{}
	}
	return PCollection[O1]{c: cols[0]}, PCollection[O2]{c: cols[1]}, PCollection[O3]{c: cols[2]}
}

// parDoOut is one output of a ParDo with main input type In under
// construction: an output[In, T] for its element type T.
type parDoOut[In any] interface {
	// infer returns the output with its coder, or records a construction
	// error for the transform called name.
	infer(s Scope, name string) (parDoOut[In], bool)
	// add adds the output's collection to t.
	add(s Scope, t *graph.Transform, w graph.Windowing) *graph.Collection
	// emitter returns the emit function (a func(T)) of output i of an
	// operator instance, delivering to outs[i].
	emitter(c *operator.ParDoCore[In], outs []any, i int, name string) (any, error)
}

// output is a ParDo output of element type T called local ("out" if it is
// the only one, "out0", "out1", ... otherwise); c, when set, is its coder
// (otherwise inferred).
type output[In, T any] struct {
	local string
	c     coder.Coder[T]
}

func (o output[In, T]) infer(s Scope, name string) (parDoOut[In], bool) {
	if o.c != nil {
		return o, true
	}
	c, ok := inferCoder[T](s, name)
	return output[In, T]{local: o.local, c: c}, ok
}

func (o output[In, T]) add(s Scope, t *graph.Transform, w graph.Windowing) *graph.Collection {
	return addOutput(s, t, o.local, o.c, w).c
}

func (o output[In, T]) emitter(c *operator.ParDoCore[In], outs []any, i int, name string) (any, error) {
	next, err := operator.ReceiverOf[T](outs, i, name)
	if err != nil {
		return nil, err
	}
	return operator.Emitter(c, next), nil
}

// parDoN adds a ParDo of fn called name, reading in (and o's side inputs),
// with the given outputs. It is the construction that ParDo, ParDo2, ParDo3,
// Partition, ForEach and Collect share. For each operator instance, wire
// sets the core's Process (and Finish) to call inst, a copy of fn, with
// emits, the emit functions of its outputs (a func(T) each, in order).
// It returns the transform, its factory and the output collections, or
// ok false after recording a construction error.
func parDoN[In any](s Scope, name string, fn any, in PCollection[In], o options, outs []parDoOut[In],
	wire func(c *operator.ParDoCore[In], inst any, emits []any)) (t *graph.Transform, f *operator.ParDoFactory[In], cols []*graph.Collection, ok bool) {
	if t, ok = s.addParDo(name, fn, in.c, o); !ok {
		return nil, nil, nil, false
	}
	for i, out := range outs {
		if outs[i], ok = out.infer(s, name); !ok {
			return nil, nil, nil, false
		}
	}
	f = &operator.ParDoFactory[In]{Fn: fn, Clone: cloneFn, In: opsOf(in.c), Outs: []operator.TypeOps{}}
	f.Wire = func(c *operator.ParDoCore[In], inst any, recvs []any) error {
		emits := make([]any, len(outs))
		for i, out := range outs {
			var err error
			if emits[i], err = out.emitter(c, recvs, i, t.UniqueName); err != nil {
				return err
			}
		}
		wire(c, inst, emits)
		return nil
	}
	t.Factory = f
	for _, out := range outs {
		col := out.add(s, t, in.c.Windowing)
		cols = append(cols, col)
		f.Outs = append(f.Outs, opsOf(col))
	}
	return t, f, cols, true
}

// addParDo adds a ParDo leaf with its main and side inputs, checking them.
func (s Scope) addParDo(name string, fn any, in *graph.Collection, o options) (*graph.Transform, bool) {
	if fn == nil {
		s.fail(name, "DoFn is nil")
		return nil, false
	}
	cols := []*graph.Collection{in}
	for _, v := range o.sides {
		cols = append(cols, v.collection())
	}
	if !s.checkInputs(name, cols...) {
		return nil, false
	}
	info, err := describeFn(fn)
	if err != nil {
		s.fail(name, "%v", err)
		return nil, false
	}
	if missing := undeclaredSideInputs(fn, o.sides); len(missing) > 0 {
		s.fail(name, "the DoFn's side input %s is not declared: pass it with WithSideInput", strings.Join(missing, ", "))
		return nil, false
	}
	t := s.p.g.AddTransform(s.parent, name, graph.KindParDo)
	t.Fn = info
	t.Inputs = append(t.Inputs, graph.Input{Local: "in", Coll: in})
	for i, v := range o.sides {
		t.Inputs = append(t.Inputs, graph.Input{Local: fmt.Sprintf("side%d", i), Coll: v.collection(), Side: v.spec()})
	}
	return t, true
}

func pick(name, def string) string {
	if name != "" {
		return name
	}
	return def
}
