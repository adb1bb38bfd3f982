package sdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
)

// PermanentError is an error of user code that retrying cannot fix. Make
// one with Permanent; runners fail the bundle at once instead of retrying
// it (and repeating its side effects). It is the runtime's type, so
// runners recognise it also when it arrives as text from a worker process.
type PermanentError = operator.PermanentError

// Permanent marks err as permanent: a DoFn, CombineFn or source that
// returns it (wrapped or not) fails its bundle without retries. Use it for
// what fails the same way every time, a record that cannot be parsed or a
// file that does not exist; leave transient errors (a timeout, a refused
// connection) unmarked, so that they are retried. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	var pe *PermanentError
	if errors.As(err, &pe) {
		return err
	}
	return &PermanentError{Err: err}
}

// Failed is an element that user code failed on, as TryParDo and TryMap
// deliver it to their dead-letter output: the element, the error's text,
// and the name of the transform.
type Failed[T any] struct {
	Element   T
	Error     string
	Transform string
}

// TryParDo is ParDo with a dead-letter output (Beam's error-handling
// pattern): an element on which fn's ProcessElement returns an error or
// panics goes to the second output, with the error, instead of failing
// the job; what fn emitted for it is dropped, so that each element either
// succeeds whole or fails whole. Errors of the lifecycle methods (Setup,
// StartBundle, FinishBundle) still fail the bundle. A FinishBundle that
// emits is not supported.
func TryParDo[In, Out any](s Scope, fn DoFn[In, Out], in PCollection[In], opts ...Option) (PCollection[Out], PCollection[Failed[In]]) {
	o := collect(opts)
	name := pick(o.name, fnName(fn))
	if fn == nil {
		s.fail(name, "DoFn is nil")
		return PCollection[Out]{}, PCollection[Failed[In]]{}
	}
	if _, ok := fn.(EmittingBundleFinisher[Out]); ok {
		s.fail(name, "TryParDo does not support a FinishBundle that emits: its outputs have no element to fail")
		return PCollection[Out]{}, PCollection[Failed[In]]{}
	}
	return ParDo2(s, DoFn2[In, Out, Failed[In]](&tryFn[In, Out]{fn: fn}), in, append(opts, Name(name))...)
}

// TryMap is Map with a dead-letter output: fn returns an error (or
// panics) for the elements it cannot map, which go to the second output
// with the error instead of failing the job.
func TryMap[In, Out any](s Scope, fn func(In) (Out, error), in PCollection[In], opts ...Option) (PCollection[Out], PCollection[Failed[In]]) {
	if fn == nil {
		s.fail("TryMap", "function is nil")
		return PCollection[Out]{}, PCollection[Failed[In]]{}
	}
	return TryParDo(s, DoFn[In, Out](tryMapFn[In, Out]{f: fn}), in, opts...)
}

// tryMapFn adapts TryMap's function to a DoFn.
type tryMapFn[In, Out any] struct{ f func(In) (Out, error) }

func (d tryMapFn[In, Out]) ProcessElement(_ context.Context, v In, emit func(Out)) error {
	out, err := d.f(v)
	if err != nil {
		return err
	}
	emit(out)
	return nil
}

func (d tryMapFn[In, Out]) transformName() string { return "TryMap(" + funcName(d.f) + ")" }
func (d tryMapFn[In, Out]) describe() *graph.FnInfo {
	return &graph.FnInfo{GoType: "TryMap:" + funcName(d.f)}
}
func (d tryMapFn[In, Out]) clone() any { return d }

// tryFn runs a DoFn with its outputs held back until ProcessElement
// succeeds, and sends the elements it fails on to the dead-letter output.
// It forwards the lifecycle methods.
type tryFn[In, Out any] struct {
	fn      DoFn[In, Out]
	pending []Out
}

func (f *tryFn[In, Out]) ProcessElement(ctx context.Context, v In, emit func(Out), dead func(Failed[In])) error {
	f.pending = f.pending[:0]
	if err := f.process(ctx, v); err != nil {
		dead(Failed[In]{Element: v, Error: err.Error(), Transform: TransformName(ctx)})
		return nil
	}
	for _, o := range f.pending {
		emit(o)
	}
	return nil
}

// process calls the DoFn, turning a panic into an error.
func (f *tryFn[In, Out]) process(ctx context.Context, v In) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f.fn.ProcessElement(ctx, v, func(o Out) { f.pending = append(f.pending, o) })
}

// Setup forwards to the DoFn's Setup, if any.
func (f *tryFn[In, Out]) Setup(ctx context.Context) error {
	if s, ok := f.fn.(Setupper); ok {
		return s.Setup(ctx)
	}
	return nil
}

// StartBundle forwards to the DoFn's StartBundle, if any.
func (f *tryFn[In, Out]) StartBundle(ctx context.Context) error {
	if s, ok := f.fn.(BundleStarter); ok {
		return s.StartBundle(ctx)
	}
	return nil
}

// FinishBundle forwards to the DoFn's FinishBundle, if any.
func (f *tryFn[In, Out]) FinishBundle(ctx context.Context) error {
	if s, ok := f.fn.(BundleFinisher); ok {
		return s.FinishBundle(ctx)
	}
	return nil
}

// Teardown forwards to the DoFn's Teardown, if any.
func (f *tryFn[In, Out]) Teardown(ctx context.Context) error {
	if s, ok := f.fn.(TearDowner); ok {
		return s.Teardown(ctx)
	}
	return nil
}

func (f *tryFn[In, Out]) transformName() string { return fnName(f.fn) }
func (f *tryFn[In, Out]) wrapped() any          { return f.fn }

// describe describes the wrapped DoFn, so that PROCESS workers compare its
// configuration.
func (f *tryFn[In, Out]) describe() *graph.FnInfo {
	info, err := describeFn(f.fn)
	if err != nil {
		return &graph.FnInfo{GoType: "Try:" + fnName(f.fn)}
	}
	return &graph.FnInfo{GoType: "Try:" + info.GoType, Config: info.Config}
}

// clone copies the wrapped DoFn too, which a shallow copy of the wrapper
// would share between instances.
func (f *tryFn[In, Out]) clone() any {
	inner, err := cloneFn(f.fn)
	if err != nil {
		inner = f.fn
	}
	return &tryFn[In, Out]{fn: inner.(DoFn[In, Out])}
}
