package operator

import (
	"context"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Func is a plain function of a ParDo (sdk.Map, FlatMap, Filter, MapKV,
// ...) that needs no element context: what FuncOp runs.
type Func[In, Out any] struct {
	// Call is the function, emitting any number of outputs.
	Call func(in In, emit func(Out))
	// One, when set, is the one-to-one function of Call (Map): FuncOp
	// calls it without an emit closure.
	One func(in In) Out
	// Builtin marks the sdk's own functions, which cannot panic: FuncOp
	// skips the panic recovery.
	Builtin bool
	// KeysOne says that One pairs its input with the count 1, KV{Key:
	// in, Value: 1} (sdk.CountElements' first step). A FuncOp of such a
	// function that feeds a counting precombine hands it the inputs
	// directly (see counter).
	KeysOne bool
}

// elemMeta is the timestamp, windows and pane of an element: a
// window.Value without the element.
type elemMeta struct {
	Timestamp window.Time
	Windows   []window.Window
	Pane      window.Pane
}

// elemSinker is implemented by the operators that sit inside fused
// chains (FuncOp, precombine). A window.Value is too large to be passed in
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

// FuncOp is the operator of a Func (sdk.Map, FlatMap, Filter, MapKV, ...):
// the per-element work of a fused chain of such transforms, so it calls the
// function directly instead of going through the DoFn interface, the
// element context and a window.Value per hop. It is used by one goroutine
// at a time.
//
// The function sees no window, so an element in several windows is
// processed once and its outputs keep all its windows, which the model
// treats as the same as processing it once per window (Beam's runners do
// the same for DoFns that do not observe the window).
type FuncOp[In, Out any] struct {
	env     *Env
	call    func(In, func(Out))
	one     func(In) Out
	builtin bool
	// keysOne is Func.KeysOne for a builtin function.
	keysOne bool
	next    Receiver[Out]
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

var _ elemSinker[int] = (*FuncOp[int, int])(nil)

// NewFuncOp returns the operator that runs f for the transform of env,
// delivering to next.
func NewFuncOp[In, Out any](env *Env, f Func[In, Out], next Receiver[Out]) *FuncOp[In, Out] {
	o := &FuncOp[In, Out]{env: env, call: f.Call, one: f.One, builtin: f.Builtin, keysOne: f.KeysOne && f.Builtin, next: next}
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
	if c, ok := next.(countEmitter); ok && f.One == nil {
		// A FlatMap feeding a count: its outputs go straight into the
		// count's table.
		if emit, ok := c.countEmit(&o.downErr).(func(Out)); ok {
			o.emit = emit
		}
	}
	return o
}

// countEmit implements countEmitter for a function that pairs its input
// with 1 in front of a counting precombine: the count's emit function
// takes the inputs, as its elemSink does.
func (o *FuncOp[In, Out]) countEmit(downErr *error) any {
	if !o.keysOne || o.one == nil {
		return nil
	}
	if _, ok := o.next.(counter); !ok {
		return nil // only the precombine counts its inputs' keys
	}
	if c, ok := o.next.(countEmitter); ok {
		return c.countEmit(downErr)
	}
	return nil
}

// elemSink returns the function a predecessor in a fused chain calls with
// each element. For a one-to-one function it is the function and the
// successor's sink composed, without going through the emit closure; for a
// function that pairs its input with 1 and feeds a count, it is the
// count's own sink of inputs (counter), which skips building the pair and
// two calls per element.
func (o *FuncOp[In, Out]) elemSink() func(In, *elemMeta) error {
	if o.one == nil {
		return o.receiveElem
	}
	if c, ok := o.next.(counter); ok && o.keysOne {
		if f, ok := c.countSink().(func(In, *elemMeta) error); ok {
			return f
		}
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

// Setup does nothing: a Func has no lifecycle.
func (o *FuncOp[In, Out]) Setup(context.Context) error { return nil }

// StartBundle forgets a downstream error of the previous bundle.
func (o *FuncOp[In, Out]) StartBundle(context.Context) error {
	o.downErr = nil
	return nil
}

// FinishBundle does nothing: a Func has no lifecycle.
func (o *FuncOp[In, Out]) FinishBundle(context.Context) error { return nil }

// Teardown does nothing: a Func has no lifecycle.
func (o *FuncOp[In, Out]) Teardown(context.Context) error { return nil }

// Receive processes one element.
func (o *FuncOp[In, Out]) Receive(v window.Value[In]) error {
	o.meta = elemMeta{Timestamp: v.Timestamp, Windows: v.Windows, Pane: v.Pane}
	err := o.receiveElem(v.Elem, &o.meta)
	o.meta.Windows = nil
	return err
}

func (o *FuncOp[In, Out]) receiveElem(in In, m *elemMeta) error {
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
func (o *FuncOp[In, Out]) apply(in In) (out Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = PanicError(o.env.UniqueName, in, true, r)
		}
	}()
	return o.one(in), nil
}

// invoke calls the function with the emit closure, recovering a panic.
func (o *FuncOp[In, Out]) invoke(in In) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = PanicError(o.env.UniqueName, in, true, r)
		}
	}()
	o.call(in, o.emit)
	return nil
}
