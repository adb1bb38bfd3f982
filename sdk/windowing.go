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
// timestamp. Grouping and combining downstream happen per window, and emit
// their groups as the windowing options say:
//
//	sdk.WindowInto(s, window.FixedFn(10*time.Second), in,
//		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2))),
//		sdk.Accumulating(), sdk.AllowedLateness(5*time.Second))
//
// As in Beam Java, what the options do not set is kept from in's windowing
// strategy (the trigger, accumulation mode, allowed lateness, ...), and a
// strategy never set anywhere has Beam Java's defaults (see
// window.Strategy). Elements keep their timestamps; their panes are reset.
func WindowInto[T any](s Scope, fn window.Fn, in PCollection[T], opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "WindowInto("+fn.String()+")")
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	w := in.c.Windowing
	w.Fn, w.AlreadyMerged = fn, false
	for _, f := range o.windowing {
		f(&w)
	}
	if err := w.Validate(); err != nil {
		s.fail(name, "%w", err)
		return PCollection[T]{}
	}
	t := s.p.g.AddTransform(s.parent, name, graph.KindWindowInto)
	t.Window = &fn
	t.Inputs = []graph.Input{{Local: "in", Coll: in.c}}
	c := opsOf(in.c)
	out := s.p.g.AddOutput(t, "out", in.c.Coder, c, w)
	t.Factory = &windowIntoFactory[T]{fn: fn, ops: c}
	return PCollection[T]{c: out}
}

// windowOption returns a WindowInto option that changes the strategy with f.
func windowOption(f func(*graph.Windowing)) Option {
	return optionFunc(func(o *options) { o.windowing = append(o.windowing, f) })
}

// Triggering sets when the panes of each window are emitted (WindowInto
// only). The default is DefaultTrigger. Over bounded input the runners
// follow Beam's batch semantics: the watermark reaches the end only once
// the input is read and processing-time timers fire at the end, so only
// triggers that count elements fire early panes there.
func Triggering(t Trigger) Option {
	return windowOption(func(w *graph.Windowing) { w.Trigger = t })
}

// Accumulating makes every pane of a window hold all its elements so far,
// replacing the window's previous pane (WindowInto only).
func Accumulating() Option {
	return windowOption(func(w *graph.Windowing) { w.Accumulation = window.Accumulating })
}

// Discarding makes every pane of a window hold only the elements since its
// previous pane (WindowInto only). It is the default.
func Discarding() Option {
	return windowOption(func(w *graph.Windowing) { w.Accumulation = window.Discarding })
}

// AllowedLateness sets how long after the end of a window its late
// elements are still grouped, in late panes (WindowInto only); later ones
// are dropped. The default is 0.
func AllowedLateness(d time.Duration) Option {
	return windowOption(func(w *graph.Windowing) { w.AllowedLateness = d })
}

// TimestampCombiner sets the timestamp of a pane's output (WindowInto
// only): the end of the window (the default), or the earliest or latest
// timestamp of its elements.
func TimestampCombiner(c window.TimestampCombiner) Option {
	return windowOption(func(w *graph.Windowing) { w.TimestampCombiner = c })
}

// ClosingBehavior sets whether a window's final pane, when it expires, is
// emitted even if it is empty (WindowInto only). The default emits it
// only if it holds elements.
func ClosingBehavior(b window.ClosingBehavior) Option {
	return windowOption(func(w *graph.Windowing) { w.Closing = b })
}

// OnTimeBehavior sets whether a window's on-time pane is emitted even if
// it is empty (WindowInto only). The default, as in Beam Java, always
// emits it.
func OnTimeBehavior(b window.OnTimeBehavior) Option {
	return windowOption(func(w *graph.Windowing) { w.OnTime = b })
}

// AllowUnsafeTriggers lets GroupByKey and the combines accept a trigger
// that may finish before its window expires, dropping the window's later
// elements (WindowInto only; see window.Strategy.CheckTriggerSafe).
// Without it such a trigger is a construction error, as in Beam.
func AllowUnsafeTriggers() Option {
	return windowOption(func(w *graph.Windowing) { w.AllowUnsafeTriggers = true })
}

// checkGroupable records a construction error if grouping c (by
// GroupByKey or a combine called name) would never emit, or may lose data
// (Beam Java's GroupByKey.applicableTo).
func (s Scope) checkGroupable(name string, c *graph.Collection) bool {
	w := c.Windowing
	if !c.Bounded && w.Fn.Kind == window.KindGlobal && w.Trigger.Kind == window.TriggerDefault {
		s.fail(name, "%s is unbounded and in the global window with the default trigger, so its groups would never be emitted: window it or set a trigger with WindowInto", c.Name)
		return false
	}
	if w.AllowUnsafeTriggers {
		return true
	}
	if err := w.CheckTriggerSafe(); err != nil {
		s.fail(name, "%s: %w", c.Name, err)
		return false
	}
	return true
}

// groupedWindowing returns the windowing strategy of the output of a
// grouping of a collection windowed by w: the trigger is its
// continuation, which fires as upstream panes arrive (Beam Java's
// GroupByKey.updateWindowingStrategy).
//
// Java also marks merged windows ALREADY_MERGED there. Our batch engine
// decides whether a grouping merges from its output's strategy, so the
// output keeps NEEDS_MERGE, which is harmless: a key's merged windows are
// disjoint, and merging them again changes nothing.
// TODO(#15): set AlreadyMerged once the engine reads the input's strategy.
func groupedWindowing(w graph.Windowing) graph.Windowing {
	w.Trigger = w.Trigger.Continuation()
	return w
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

// assignWindows assigns windows by timestamp. An element's window list is
// decoded into one buffer, reused for the next element: a Receiver may not
// retain v.Windows (operator.Receiver). Lists carved from slabs, one per
// element, had cost an allocation of 1024 windows every 200 elements of
// sliding windows of five periods, and clearing it (the bids benchmark's
// bounded job: 1.2 GB, 0.3-0.6 CPU s of 10M elements).
type assignWindows[T any] struct {
	fn   window.Fn
	next operator.Receiver[T]
	buf  []window.Window
}

func (a *assignWindows[T]) Receive(v window.Value[T]) error {
	v.Pane = window.NoFiringPane()
	if a.fn.Kind == window.KindGlobal {
		v.Windows = window.GlobalWindows()
	} else {
		v.Windows = a.assign(v.Timestamp)
	}
	return a.next.Receive(v)
}

// assign returns the windows of t in the reused buffer, capped so that an
// append by a consumer copies the list rather than writing into the
// buffer.
func (a *assignWindows[T]) assign(t window.Time) []window.Window {
	a.buf = a.fn.Assign(a.buf[:0], t)
	return a.buf[:len(a.buf):len(a.buf)]
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

// PaneOf returns the pane of the element being processed: which firing of
// its window's trigger produced it (first, last, early, on time or late,
// and its index). Elements that no grouping produced have
// window.NoFiringPane.
func PaneOf(ctx context.Context) window.Pane {
	if ec := operator.FromContext(ctx); ec != nil {
		return ec.Pane
	}
	return window.NoFiringPane()
}

// WindowOf returns the window of the element being processed (an element in
// several windows is processed once per window).
func WindowOf(ctx context.Context) window.Window {
	if ec := operator.FromContext(ctx); ec != nil {
		return ec.Window
	}
	return window.Global()
}
