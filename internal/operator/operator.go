package operator

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// Receiver receives the windowed elements of one collection. The executor
// wires typed receivers built by the sdk without knowing T: it passes them
// around as any and each Factory asserts the type it needs once, when the
// operator graph is built.
//
// Receive may not retain v.Windows after it returns: producers reuse it.
type Receiver[T any] interface {
	Receive(v window.Value[T]) error
}

// Operator is one executing instance of a leaf transform. An executor calls
// Setup once, then StartBundle, any number of Receive calls on the input
// receiver and FinishBundle for each bundle, then Teardown once. A bundle is
// processed by one goroutine; different instances run concurrently.
type Operator interface {
	Setup(ctx context.Context) error
	StartBundle(ctx context.Context) error
	FinishBundle(ctx context.Context) error
	Teardown(ctx context.Context) error
}

// Env is what an operator instance learns from the executor.
type Env struct {
	// TransformID and UniqueName identify the transform, for errors and metrics.
	TransformID string
	UniqueName  string
	// SideInputs reads the materialized side inputs of the transform; nil if
	// it has none.
	SideInputs SideInputReader
	// Metrics receives the metrics that user code reports.
	Metrics *metrics.Store
	// Splits, when non-nil, takes the splittable work of the running bundle
	// (a source read) so that the runner can split it dynamically.
	Splits SplitRegistry
	// State serves the user state of a stateful ParDo in the running
	// bundle, and Timers takes the timers it sets; nil elsewhere.
	State  StateAccess
	Timers TimerSink
	// Checkpoints, when non-nil, takes the rest of an element's work that
	// the DoFn stopped early (an unbounded read that checkpointed): the
	// runner processes it later as a new element. Nil if the runner does
	// not resume work.
	Checkpoints func(Checkpoint)
	// Finalizers, when non-nil, takes functions to call once the runner
	// has committed the bundle's output (bundle finalization: acknowledge
	// what was read); nil if the runner does not finalize bundles.
	Finalizers func(func(context.Context) error)
}

// Checkpoint is the rest of an element's work, which its DoFn stopped
// early to let the runner commit what was done so far.
type Checkpoint struct {
	// Residual is the rest, one windowed value encoded with the main input
	// collection's coder and window coder.
	Residual []byte
	// ResumeAfter is how long the runner waits before processing it
	// (an unbounded read that is caught up asks to be polled later).
	ResumeAfter time.Duration
	// Watermark is a lower bound of the event times that the residual's
	// processing will output (window.MinTime if unknown): the runner holds
	// the transform's output watermark there, and no further back, until
	// the residual runs.
	Watermark window.Time
}

// SplitTracker is running splittable work — one restriction of a source
// being read — that a runner may split while it runs. Its methods are called
// from another goroutine than the one doing the work.
type SplitTracker interface {
	// TrySplit keeps about fractionOfRemainder of the remaining work and
	// returns both halves as elements of the transform's main input: primary
	// is what the running work now covers (a runner retries with it if the
	// bundle fails), residual is the rest, to be processed by another bundle
	// of the same stage. Each is one windowed value encoded with the main
	// input collection's coder and global window coder. ok is false if no
	// split happened.
	TrySplit(fractionOfRemainder float64) (primary, residual []byte, ok bool)
	// Progress returns work done and remaining, in the same units.
	Progress() (done, remaining float64)
}

// SplitRegistry receives the splittable work of a bundle.
type SplitRegistry interface {
	// Register announces work that is starting; the returned function
	// announces that it ended (after which TrySplit is no longer called).
	Register(t SplitTracker) (done func())
}

// Factory builds the operators of a leaf transform. Implementations are
// typed (created by the sdk with generics); the executor sees only this
// erased form.
type Factory interface {
	// Build returns a new operator instance and its main input receiver (a
	// Receiver[In] for the transform's input element type; nil for
	// transforms without a main input). outs[i] is the receiver for the
	// transform's output i (a Receiver[Out_i] built with OutputOps()[i]).
	Build(env *Env, outs []any) (Operator, any, error)
	// InputOps returns the type operations of the main input elements.
	InputOps() TypeOps
	// OutputOps returns the type operations of each output's elements.
	OutputOps() []TypeOps
}

// SideInputReader gives operators the materialized side inputs of their
// transform for the window of the element being processed.
type SideInputReader interface {
	// Get returns the materialized value of the side input with the given
	// view ID for the main-input window w.
	Get(ctx context.Context, id any, w window.Window) (any, error)
}

// ElemContext is the context.Context handed to user code. Each operator has
// its own, updated before every call with the current element's timestamp,
// window and pane, so accessors in the sdk are a type assertion away.
type ElemContext struct {
	context.Context
	Env       *Env
	Timestamp window.Time
	Window    window.Window
	Pane      window.Pane
	// Keyed is the key and timer of a stateful ParDo's call; nil for
	// other transforms.
	Keyed *Keyed
	// cells caches metric cells by their descriptor for this operator.
	cells map[any]any
}

type elemCtxKey struct{}

// Value returns the ElemContext itself for the package's key, so that user
// code that wraps the context still reaches it.
func (c *ElemContext) Value(key any) any {
	if key == (elemCtxKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// FromContext returns the ElemContext of user code, or nil if ctx was not
// handed out by an executor.
func FromContext(ctx context.Context) *ElemContext {
	if ec, ok := ctx.(*ElemContext); ok {
		return ec
	}
	if ec, ok := ctx.Value(elemCtxKey{}).(*ElemContext); ok {
		return ec
	}
	return nil
}

// StartBundle prepares the context for a new bundle: ctx is the bundle's
// context, and cached metric cells, which belong to the previous bundle's
// store, are dropped.
func (c *ElemContext) StartBundle(ctx context.Context) {
	c.Context = ctx
	clear(c.cells)
}

// Cell returns the metric cell cached under key, creating it with mk.
func (c *ElemContext) Cell(key any, mk func() any) any {
	if v, ok := c.cells[key]; ok {
		return v
	}
	if c.cells == nil {
		c.cells = map[any]any{}
	}
	v := mk()
	c.cells[key] = v
	return v
}

// UserError is the error of user code: a returned error or a recovered
// panic, with the transform that ran it and the element it was processing.
type UserError struct {
	Transform string
	Element   string
	Err       error
	// Stack is set for panics.
	Stack string
}

// Error renders the transform, the element and the cause (and the stack of a panic).
func (e *UserError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "transform %q", e.Transform)
	if e.Element != "" {
		fmt.Fprintf(&b, " on element %s", e.Element)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.Stack != "" {
		fmt.Fprintf(&b, "\n%s", e.Stack)
	}
	return b.String()
}

// Unwrap returns the user code's error.
func (e *UserError) Unwrap() error { return e.Err }

// RenderElement renders v for an error message, cut to a short length.
func RenderElement(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// WrapUserError wraps err from user code of transform name, unless it already
// is a UserError (from a downstream transform).
func WrapUserError(name string, elem any, hasElem bool, err error) error {
	var ue *UserError
	if errors.As(err, &ue) {
		return err
	}
	e := &UserError{Transform: name, Err: err}
	if hasElem {
		e.Element = RenderElement(elem)
	}
	return e
}

// PanicError converts a recovered panic value into a UserError with stack.
func PanicError(name string, elem any, hasElem bool, r any) error {
	if err, ok := r.(error); ok {
		var ue *UserError
		if errors.As(err, &ue) {
			return err
		}
	}
	e := &UserError{Transform: name, Err: fmt.Errorf("panic: %v", r), Stack: readableStack(string(debug.Stack()))}
	if hasElem {
		e.Element = RenderElement(elem)
	}
	return e
}

// CombinePhases builds the operators of a per-key combine's lifted phases
// (Beam's combine_per_key_precombine, merge_accumulators and extract_outputs)
// and of its unlifted form (combine_grouped_values).
type CombinePhases interface {
	// Precombine turns KV[K,V] into partial KV[K,A] accumulators per bundle.
	Precombine() Factory
	// Merge turns grouped accumulators (KV<K, Iterable<A>>) into one KV[K,A].
	Merge() Factory
	// Extract turns KV[K,A] into the output KV[K,O].
	Extract() Factory
	// Grouped combines grouped input values (KV<K, Iterable<V>>) into KV[K,O].
	Grouped() Factory
}

// AccumulatorMerger merges encoded accumulators of a CombineFn into one,
// encoded (each in the accumulator coder's nested encoding): what a runner
// that keeps a lifted combine's accumulators per key and window calls so
// that it holds a few, not one per bundle that reached it (its method is
// the runner's merger's, so the runner takes it as is). It is not safe for
// concurrent use.
type AccumulatorMerger interface {
	Merge(dst []byte, accs [][]byte) ([]byte, error)
}

// AccumulatorMerging is implemented by CombinePhases whose accumulators a
// runner can merge in its own process (the local runner's).
type AccumulatorMerging interface {
	// NewAccumulatorMerger returns a merger with its own copy of the
	// CombineFn; name names the combine in its errors.
	NewAccumulatorMerger(name string) AccumulatorMerger
}

// PermanentMark ends the text of a PermanentError, so that a runner that
// gets the error as text from another process (a worker's failed bundle)
// still knows not to retry it.
const PermanentMark = "(permanent: not retried)"

// PermanentError marks an error of user code that a retry cannot fix (a
// record that cannot be parsed, a validation that fails): runners fail
// the bundle at once instead of retrying it. Permanent reports true for
// runners, which match it by that method alone.
type PermanentError struct{ Err error }

// Error renders the cause, then PermanentMark.
func (e *PermanentError) Error() string { return fmt.Sprintf("%v %s", e.Err, PermanentMark) }

// Unwrap returns the cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports true: the error is not worth retrying.
func (e *PermanentError) Permanent() bool { return true }
