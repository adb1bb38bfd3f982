package sdk

import (
	"context"
	"time"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// GlobalWindows returns the window function of the global window.
func GlobalWindows() window.Fn { return window.GlobalFn() }

// FixedWindows returns a window function of consecutive windows of size d.
func FixedWindows(d time.Duration) window.Fn { return window.FixedFn(d) }

// SlidingWindows returns a window function of windows of the given size
// starting every period.
func SlidingWindows(size, period time.Duration) window.Fn { return window.SlidingFn(size, period) }

// Sessions returns a merging window function: per key, elements closer in
// time than gap share a session window.
func Sessions(gap time.Duration) window.Fn { return window.SessionsFn(gap) }

// WindowInto assigns every element of in to the windows of fn by its
// timestamp. Grouping and combining downstream happen per window.
func WindowInto[T any](s Scope, fn window.Fn, in PCollection[T], opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "WindowInto("+fn.String()+")")
	if err := fn.Validate(); err != nil {
		s.fail(name, "%v", err)
		return PCollection[T]{}
	}
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	t := s.p.g.AddTransform(s.parent, name, graph.KindWindowInto)
	t.Window = &fn
	t.Inputs = []graph.Input{{Local: "in", Coll: in.c}}
	c := opsOf(in.c)
	out := s.p.g.AddOutput(t, "out", in.c.Coder, c, graph.Windowing{Fn: fn})
	t.Factory = &windowIntoFactory[T]{fn: fn, ops: c}
	return PCollection[T]{c: out}
}

type windowIntoFactory[T any] struct {
	fn  window.Fn
	ops operator.TypeOps
}

func (f *windowIntoFactory[T]) InputOps() operator.TypeOps    { return f.ops }
func (f *windowIntoFactory[T]) OutputOps() []operator.TypeOps { return []operator.TypeOps{f.ops} }

func (f *windowIntoFactory[T]) Build(env *operator.Env, outs []any) (operator.Operator, any, error) {
	next, err := operator.ReceiverOf[T](outs, 0, env.UniqueName)
	if err != nil {
		return nil, nil, err
	}
	return operator.NoLifecycle{}, &assignWindows[T]{fn: f.fn, next: next}, nil
}

// assignWindows assigns windows by timestamp. Non-global window functions
// allocate the window list per element: windowed values may be retained
// downstream (grouping), so the list cannot be shared.
type assignWindows[T any] struct {
	fn   window.Fn
	next operator.Receiver[T]
}

func (a *assignWindows[T]) Receive(v window.Value[T]) error {
	if a.fn.Kind == window.KindGlobal {
		v.Windows = window.GlobalWindows()
	} else {
		v.Windows = a.fn.Assign(make([]window.Window, 0, 1), v.Timestamp)
	}
	return a.next.Receive(v)
}

// WithTimestamps sets each element's event timestamp to ts(element). Use it
// before WindowInto so that windows follow the data's own times.
func WithTimestamps[T any](s Scope, ts func(T) time.Time, in PCollection[T], opts ...Option) PCollection[T] {
	if ts == nil {
		s.fail("WithTimestamps", "timestamp function is nil")
		return PCollection[T]{}
	}
	call := func(ctx context.Context, v T, emit func(T)) {
		operator.FromContext(ctx).Timestamp = window.FromTime(ts(v))
		emit(v)
	}
	return ParDo(s, DoFn[T, T](funcDoFn[T, T]{kind: "WithTimestamps", f: ts, ctxCall: call}), in, opts...)
}

// EventTime returns the event timestamp of the element being processed.
func EventTime(ctx context.Context) time.Time {
	if ec := operator.FromContext(ctx); ec != nil {
		return ec.Timestamp.ToTime()
	}
	return time.Time{}
}

// WindowOf returns the window of the element being processed (an element in
// several windows is processed once per window).
func WindowOf(ctx context.Context) window.Window {
	if ec := operator.FromContext(ctx); ec != nil {
		return ec.Window
	}
	return window.Global()
}
