package sdk

// This file holds the hooks that transform authors outside package sdk
// build on: construction errors, the windowing of a collection, dynamic
// splitting of running work, and the error of user code.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// ConstructionError is an error found while a pipeline was built: the
// transform that could not be built, where its caller is, and why.
// Pipeline.Err and every runner return it (joined with the others); match
// it with errors.As.
type ConstructionError struct {
	// Transform is the full name of the transform ("wordcount/ReadText").
	Transform string
	// Location is the file:line of the code that called the transform.
	Location string
	// Err is the cause.
	Err error
}

// Error renders the transform, the location and the cause.
func (e *ConstructionError) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.Transform, e.Location, e.Err)
}

// Unwrap returns the cause.
func (e *ConstructionError) Unwrap() error { return e.Err }

// UserError is the error of user code at run time: an error that a DoFn,
// CombineFn or source returned, or a panic it raised (then with its
// stack), naming the transform and the element. Runners that run user
// code in this process (the local runner, and LOOPBACK workers' bundles as
// the runner reports them) return it wrapped; match it with errors.As.
// Errors that crossed a process boundary arrive as text.
type UserError = operator.UserError

// Fail records err as a construction error of the transform called name in
// s, which could not be built: Pipeline.Err and every runner report it,
// naming the transform and the file:line of its caller. The caller is the
// first frame outside package sdk and outside the package that called Fail
// (the transform's package); a transform called from its own package gets
// the outermost call in that package. A *ConstructionError keeps the
// Transform and Location it has.
//
// A transform that fails returns a zero PCollection (IsValid is false),
// which transforms applied to it accept without recording more errors.
func (s Scope) Fail(name string, err error) {
	var ce *ConstructionError
	if !errors.As(err, &ce) {
		ce = &ConstructionError{Err: err}
	}
	if ce.Transform == "" {
		ce.Transform = s.fullName(name)
	}
	if ce.Location == "" {
		ce.Location = callerOutside(callerPackage(2))
	}
	s.p.g.Fail(ce)
}

// Errorf is Fail with fmt.Errorf(format, args...).
func (s Scope) Errorf(name, format string, args ...any) {
	s.Fail(name, &ConstructionError{Location: callerOutside(callerPackage(2)), Err: fmt.Errorf(format, args...)})
}

// fullName returns the unique name that a transform called name gets in s.
func (s Scope) fullName(name string) string {
	if s.parent != nil {
		return s.parent.UniqueName + "/" + name
	}
	return name
}

// sdkPackage is the import path of this package.
var sdkPackage = func() string {
	pc, _, _, _ := runtime.Caller(0)
	return packageOf(runtime.FuncForPC(pc).Name())
}()

// callerPackage returns the import path of the package of the function
// skip frames above callerPackage's caller.
func callerPackage(skip int) string {
	pc, _, _, ok := runtime.Caller(skip + 1)
	if !ok {
		return ""
	}
	return packageOf(runtime.FuncForPC(pc).Name())
}

// packageOf returns the import path of a function's package from its full
// name ("github.com/beamgo-dev/beamgo/io/textio.read[...]", "main.main.func1").
func packageOf(fn string) string {
	slash := strings.LastIndex(fn, "/")
	if dot := strings.Index(fn[slash+1:], "."); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}

// callerOutside returns the file:line of the first caller outside package
// sdk, pkg and the library packages of this module (a composite such as
// passert.Count or textio.Read, whose own lines say nothing to the user);
// if the stack leaves user code first (a transform called from its own
// package or its internal tests), the outermost frame of those packages.
func callerOutside(pkg string) string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	last := "unknown"
	for {
		f, more := frames.Next()
		switch p := packageOf(f.Function); {
		case p == sdkPackage:
		case p == pkg || libraryPackage(p):
			last = shortLocation(f)
		case p == "runtime" || p == "testing":
			return last
		default:
			return shortLocation(f)
		}
		if !more {
			return last
		}
	}
}

// modulePrefix is the import path prefix of this module's packages.
var modulePrefix = strings.TrimSuffix(sdkPackage, "sdk")

// libraryPackage reports whether pkg is a library package of this module,
// not its tests' or examples' code, which is the user's.
func libraryPackage(pkg string) bool {
	rest, ok := strings.CutPrefix(pkg, modulePrefix)
	return ok && !strings.HasSuffix(pkg, "_test") && !strings.HasPrefix(rest, "examples/")
}

func shortLocation(f runtime.Frame) string {
	short := f.File
	if i := strings.LastIndex(short, "/"); i >= 0 {
		short = short[i+1:]
	}
	return fmt.Sprintf("%s:%d", short, f.Line)
}

// WindowFn returns the window function of pc's elements (window.GlobalFn()
// for an invalid collection).
func (pc PCollection[T]) WindowFn() window.Fn {
	if pc.c == nil {
		return window.GlobalFn()
	}
	return pc.c.Windowing.Fn
}

// WindowingStrategy returns the windowing strategy of pc's elements: its
// window function, trigger, accumulation mode, allowed lateness and the
// rest (window.GlobalStrategy() for an invalid collection).
func (pc PCollection[T]) WindowingStrategy() window.Strategy {
	if pc.c == nil {
		return window.GlobalStrategy()
	}
	return pc.c.Windowing.Strategy
}

// IsBounded reports whether pc is bounded: false if it may never end,
// being the output of an unbounded source (a TestStream, or one that
// MarkUnbounded marked) or computed from one. An invalid collection is
// bounded.
func (pc PCollection[T]) IsBounded() bool { return pc.c == nil || pc.c.Bounded }

// MarkUnbounded declares that pc, the output of a source transform built
// outside package sdk (a splittable read of a stream, a generator), may
// never end. Transforms applied to pc afterwards produce unbounded
// collections, and groupings of it check that their trigger can fire
// before the end of time. Marking a collection that transforms already
// read is a construction error: their outputs were made bounded.
func MarkUnbounded[T any](s Scope, pc PCollection[T]) {
	if pc.c == nil || !pc.c.Bounded {
		return
	}
	for _, t := range s.p.g.Transforms {
		for _, in := range t.Inputs {
			if in.Coll == pc.c {
				s.fail("MarkUnbounded", "%s is already read by %s; mark it before applying transforms to it", pc.c.Name, t.UniqueName)
				return
			}
		}
	}
	pc.c.Bounded = false
}

// Splittable is running work of a DoFn that a runner may split while it
// runs: one restriction of a source being read, for example, whose element
// of the DoFn's main input describes it. Its methods are called from
// another goroutine than the one doing the work, and must be safe for
// that.
type Splittable[In any] interface {
	// TrySplit keeps about fractionOfRemainder of the remaining work and
	// returns both halves as elements of the DoFn's main input: primary is
	// what the running work now covers (a runner retries with it if the
	// bundle fails), residual is the rest, which the runner gives to
	// another bundle of the same DoFn. ok is false if no split happened.
	TrySplit(fractionOfRemainder float64) (primary, residual In, ok bool)
	// Progress returns the work done and remaining, in any one unit.
	Progress() (done, remaining float64)
}

// RegisterSplittable offers work t that the DoFn reading in starts for the
// current element to the runner, which may split it while it runs; ctx is
// the context ProcessElement got, and in the DoFn's main input. Call done
// once the work has ended (after which the runner no longer calls t). A
// runner that does not split running work ignores t.
func RegisterSplittable[In any](ctx context.Context, in PCollection[In], t Splittable[In]) (done func()) {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.Splits == nil || in.c == nil {
		return func() {}
	}
	return ec.Env.Splits.Register(&splitAdapter[In]{t: t, ops: opsOf(in.c)})
}

// splitAdapter encodes the halves of a Splittable's splits as windowed
// values in the global window, as operator.SplitTracker returns them.
type splitAdapter[In any] struct {
	t   Splittable[In]
	ops operator.TypeOps
}

func (a *splitAdapter[In]) TrySplit(fraction float64) (primary, residual []byte, ok bool) {
	var out []byte
	enc, ok := a.ops.NewEncoder(false, func(b []byte) error {
		out = append([]byte(nil), b...)
		return nil
	}).(operator.Receiver[In])
	if !ok {
		return nil, nil, false
	}
	p, r, ok := a.t.TrySplit(fraction)
	if !ok {
		return nil, nil, false
	}
	encode := func(v In) []byte {
		// The write function above never fails, so neither does Receive.
		_ = enc.Receive(window.InGlobalWindow(v))
		return out
	}
	return encode(p), encode(r), true
}

func (a *splitAdapter[In]) Progress() (done, remaining float64) { return a.t.Progress() }

// BundleContext returns the context of the bundle that ctx, the context a
// DoFn's method got, belongs to; ctx itself if it is not a DoFn's. The
// context a method gets is valid only during the call (the runner reuses
// it for the next element), so I/O that outlives the call (a reader kept
// open across elements, an upload in flight) must use this one.
func BundleContext(ctx context.Context) context.Context {
	if ec := operator.FromContext(ctx); ec != nil && ec.Context != nil {
		return ec.Context
	}
	return ctx
}

// TransformName returns the unique name of the transform whose user code
// got ctx, or "" if ctx is not a DoFn's context.
func TransformName(ctx context.Context) string {
	if ec := operator.FromContext(ctx); ec != nil && ec.Env != nil {
		return ec.Env.UniqueName
	}
	return ""
}
