package sdk

import (
	"context"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
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

// ParDo applies fn to every element of in. Options: Name, WithSideInput.
func ParDo[In, Out any](s Scope, fn DoFn[In, Out], in PCollection[In], opts ...Option) PCollection[Out] {
	return parDo(s, fn, in, nil, opts...)
}

// parDo is ParDo with an explicit output coder (nil: inferred).
func parDo[In, Out any](s Scope, fn DoFn[In, Out], in PCollection[In], out coder.Coder[Out], opts ...Option) PCollection[Out] {
	o := collect(opts)
	name := pick(o.name, fnName(fn))
	t, ok := s.addParDo(name, fn, in.c, o)
	if !ok {
		return PCollection[Out]{}
	}
	if out == nil {
		if out, ok = inferCoder[Out](s, name); !ok {
			return PCollection[Out]{}
		}
	}
	f := &pardoFactory[In]{fn: fn, in: opsOf(in.c), sides: o.sides}
	if d, ok := fn.(funcDoFn[In, Out]); ok && d.ctxCall == nil && d.call != nil {
		f.direct = func(env *operator.Env, outs []any) (operator.Operator, any, error) {
			next, err := receiverOf[Out](outs, 0, t.UniqueName)
			if err != nil {
				return nil, nil, err
			}
			op := newFuncOp(env, d, next)
			return op, op, nil
		}
	}
	f.build = func(c *pardoCore[In], inst any, outs []any) error {
		next, err := receiverOf[Out](outs, 0, t.UniqueName)
		if err != nil {
			return err
		}
		fn := inst.(DoFn[In, Out])
		emit := emitter(c, next)
		c.process = func(ctx context.Context, v In) error { return fn.ProcessElement(ctx, v, emit) }
		if fb, ok := inst.(EmittingBundleFinisher[Out]); ok {
			c.finish = func(ctx context.Context) error { return fb.FinishBundle(ctx, emit) }
		}
		return nil
	}
	t.Factory = f
	res := addOutput(s, t, "out", out, in.c.Windowing)
	f.outs = outOps(t)
	return res
}

// ParDo2 applies fn, which has two outputs, to every element of in.
func ParDo2[In, O1, O2 any](s Scope, fn DoFn2[In, O1, O2], in PCollection[In], opts ...Option) (PCollection[O1], PCollection[O2]) {
	o := collect(opts)
	name := pick(o.name, fnName(fn))
	t, ok := s.addParDo(name, fn, in.c, o)
	if !ok {
		return PCollection[O1]{}, PCollection[O2]{}
	}
	c1, ok1 := inferCoder[O1](s, name)
	c2, ok2 := inferCoder[O2](s, name)
	if !ok1 || !ok2 {
		return PCollection[O1]{}, PCollection[O2]{}
	}
	f := &pardoFactory[In]{fn: fn, in: opsOf(in.c), sides: o.sides}
	f.build = func(c *pardoCore[In], inst any, outs []any) error {
		n1, err := receiverOf[O1](outs, 0, t.UniqueName)
		if err != nil {
			return err
		}
		n2, err := receiverOf[O2](outs, 1, t.UniqueName)
		if err != nil {
			return err
		}
		fn := inst.(DoFn2[In, O1, O2])
		e1, e2 := emitter(c, n1), emitter(c, n2)
		c.process = func(ctx context.Context, v In) error { return fn.ProcessElement(ctx, v, e1, e2) }
		return nil
	}
	t.Factory = f
	r1 := addOutput(s, t, "out0", c1, in.c.Windowing)
	r2 := addOutput(s, t, "out1", c2, in.c.Windowing)
	f.outs = outOps(t)
	return r1, r2
}

// ParDo3 applies fn, which has three outputs, to every element of in.
func ParDo3[In, O1, O2, O3 any](s Scope, fn DoFn3[In, O1, O2, O3], in PCollection[In], opts ...Option) (PCollection[O1], PCollection[O2], PCollection[O3]) {
	o := collect(opts)
	name := pick(o.name, fnName(fn))
	t, ok := s.addParDo(name, fn, in.c, o)
	if !ok {
		return PCollection[O1]{}, PCollection[O2]{}, PCollection[O3]{}
	}
	c1, ok1 := inferCoder[O1](s, name)
	c2, ok2 := inferCoder[O2](s, name)
	c3, ok3 := inferCoder[O3](s, name)
	if !ok1 || !ok2 || !ok3 {
		return PCollection[O1]{}, PCollection[O2]{}, PCollection[O3]{}
	}
	f := &pardoFactory[In]{fn: fn, in: opsOf(in.c), sides: o.sides}
	f.build = func(c *pardoCore[In], inst any, outs []any) error {
		n1, err := receiverOf[O1](outs, 0, t.UniqueName)
		if err != nil {
			return err
		}
		n2, err := receiverOf[O2](outs, 1, t.UniqueName)
		if err != nil {
			return err
		}
		n3, err := receiverOf[O3](outs, 2, t.UniqueName)
		if err != nil {
			return err
		}
		fn := inst.(DoFn3[In, O1, O2, O3])
		e1, e2, e3 := emitter(c, n1), emitter(c, n2), emitter(c, n3)
		c.process = func(ctx context.Context, v In) error { return fn.ProcessElement(ctx, v, e1, e2, e3) }
		return nil
	}
	t.Factory = f
	r1 := addOutput(s, t, "out0", c1, in.c.Windowing)
	r2 := addOutput(s, t, "out1", c2, in.c.Windowing)
	r3 := addOutput(s, t, "out2", c3, in.c.Windowing)
	f.outs = outOps(t)
	return r1, r2, r3
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
	t := s.p.g.AddTransform(s.parent, name, graph.KindParDo)
	t.Fn = info
	t.Inputs = append(t.Inputs, graph.Input{Local: "in", Coll: in})
	for i, v := range o.sides {
		t.Inputs = append(t.Inputs, graph.Input{Local: fmt.Sprintf("side%d", i), Coll: v.collection(), Side: v.spec()})
	}
	return t, true
}

func outOps(t *graph.Transform) []operator.TypeOps {
	ops := make([]operator.TypeOps, len(t.Outputs))
	for i, o := range t.Outputs {
		ops[i] = opsOf(o.Coll)
	}
	return ops
}

func pick(name, def string) string {
	if name != "" {
		return name
	}
	return def
}

// receiverOf asserts that outs[i] is a Receiver[T].
func receiverOf[T any](outs []any, i int, name string) (operator.Receiver[T], error) {
	if i >= len(outs) {
		return nil, fmt.Errorf("sdk: %s: executor wired %d outputs, want at least %d", name, len(outs), i+1)
	}
	r, ok := outs[i].(operator.Receiver[T])
	if !ok {
		return nil, fmt.Errorf("sdk: %s: output %d receiver is %T, want a receiver of %T", name, i, outs[i], *new(T))
	}
	return r, nil
}

// pardoFactory builds ParDo operators of any arity; build wires the typed
// outputs of one instance.
type pardoFactory[In any] struct {
	fn    any
	in    operator.TypeOps
	outs  []operator.TypeOps
	sides []sideView
	build func(c *pardoCore[In], inst any, outs []any) error
	// direct, when set, builds a lighter operator than pardoCore for
	// functions that need no element context (see funcOp).
	direct func(env *operator.Env, outs []any) (operator.Operator, any, error)
}

func (f *pardoFactory[In]) InputOps() operator.TypeOps    { return f.in }
func (f *pardoFactory[In]) OutputOps() []operator.TypeOps { return f.outs }

func (f *pardoFactory[In]) Build(env *operator.Env, outs []any) (operator.Operator, any, error) {
	if f.direct != nil {
		return f.direct(env, outs)
	}
	inst, err := cloneFn(f.fn)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", env.UniqueName, err)
	}
	c := newCore[In](env, inst)
	if err := f.build(c, inst, outs); err != nil {
		return nil, nil, err
	}
	return c, c, nil
}

// pardoCore is the arity-independent part of a ParDo operator: lifecycle,
// window explosion, element context and error handling.
type pardoCore[In any] struct {
	env     *operator.Env
	ec      operator.ElemContext
	process func(ctx context.Context, in In) error
	finish  func(ctx context.Context) error
	inst    any
	// outWins are the windows of emitted elements: the input's windows, or
	// win[:] when an element in several windows is processed per window.
	outWins []window.Window
	win     [1]window.Window
	// downErr is the first error of a downstream receiver during a call.
	downErr error
}

func newCore[In any](env *operator.Env, inst any) *pardoCore[In] {
	c := &pardoCore[In]{env: env, inst: inst}
	c.ec.Env = env
	c.ec.Context = context.Background()
	c.resetWindow()
	return c
}

func (c *pardoCore[In]) resetWindow() {
	c.ec.Timestamp = window.MinTime
	c.ec.Window = window.Global()
	c.ec.Pane = window.NoFiringPane()
	c.outWins = window.GlobalWindows()
}

// emitter returns the emit function of one output of c.
func emitter[In, Out any](c *pardoCore[In], next operator.Receiver[Out]) func(Out) {
	return func(out Out) {
		if c.downErr != nil {
			return
		}
		c.downErr = next.Receive(window.Value[Out]{Elem: out, Timestamp: c.ec.Timestamp, Windows: c.outWins, Pane: c.ec.Pane})
	}
}

// Receive processes one windowed element, once per window.
func (c *pardoCore[In]) Receive(v window.Value[In]) error {
	c.ec.Timestamp = v.Timestamp
	c.ec.Pane = v.Pane
	if len(v.Windows) == 1 {
		c.ec.Window = v.Windows[0]
		c.outWins = v.Windows
		return c.invoke(v.Elem)
	}
	for _, w := range v.Windows {
		c.ec.Window = w
		c.win[0] = w
		c.outWins = c.win[:]
		if err := c.invoke(v.Elem); err != nil {
			return err
		}
	}
	return nil
}

func (c *pardoCore[In]) invoke(in In) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = operator.PanicError(c.env.UniqueName, in, true, r)
		}
	}()
	if err := c.process(&c.ec, in); err != nil {
		return operator.WrapUserError(c.env.UniqueName, in, true, err)
	}
	if err := c.downErr; err != nil {
		c.downErr = nil
		return err
	}
	return nil
}

// lifecycle runs one optional lifecycle method with panic recovery.
func (c *pardoCore[In]) lifecycle(ctx context.Context, stage string, call func(context.Context) error) (err error) {
	c.ec.Context = ctx
	defer func() {
		if r := recover(); r != nil {
			err = operator.PanicError(c.env.UniqueName+" "+stage, nil, false, r)
		}
	}()
	if err := call(&c.ec); err != nil {
		return operator.WrapUserError(c.env.UniqueName+" "+stage, nil, false, err)
	}
	if err := c.downErr; err != nil {
		c.downErr = nil
		return err
	}
	return nil
}

func (c *pardoCore[In]) Setup(ctx context.Context) error {
	if s, ok := c.inst.(Setupper); ok {
		return c.lifecycle(ctx, "Setup", s.Setup)
	}
	return nil
}

func (c *pardoCore[In]) StartBundle(ctx context.Context) error {
	c.resetWindow()
	c.ec.StartBundle(ctx)
	if s, ok := c.inst.(BundleStarter); ok {
		return c.lifecycle(ctx, "StartBundle", s.StartBundle)
	}
	return nil
}

func (c *pardoCore[In]) FinishBundle(ctx context.Context) error {
	// Emit with the last element's window, held in c.win: the producer may
	// have reused the slice the element arrived with.
	c.win[0] = c.ec.Window
	c.outWins = c.win[:]
	if c.finish != nil {
		return c.lifecycle(ctx, "FinishBundle", c.finish)
	}
	if s, ok := c.inst.(BundleFinisher); ok {
		return c.lifecycle(ctx, "FinishBundle", s.FinishBundle)
	}
	return nil
}

func (c *pardoCore[In]) Teardown(ctx context.Context) error {
	if s, ok := c.inst.(TearDowner); ok {
		return c.lifecycle(ctx, "Teardown", s.Teardown)
	}
	return nil
}
