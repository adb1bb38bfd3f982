package passert

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// Equals checks that pc holds exactly want, in any order: the same
// elements, each as many times.
func Equals[T any](s sdk.Scope, pc sdk.PCollection[T], want ...T) {
	EqualsWith(s, pc, want)
}

// EqualsList is Equals with the elements in a slice.
func EqualsList[T any](s sdk.Scope, pc sdk.PCollection[T], want []T) {
	EqualsWith(s, pc, want)
}

// EqualsWith is Equals comparing elements with cmp.Equal and opts
// (cmp.Comparer, cmp.AllowUnexported, cmpopts.EquateApprox, ...).
func EqualsWith[T any](s sdk.Scope, pc sdk.PCollection[T], want []T, opts ...cmp.Option) {
	c := comparer[T]("passert.Equals", opts)
	want = slices.Clone(want)
	add(s, "passert.Equals", pc, func(got []T) error { return checkEquals(c, want, got) })
}

// EqualsInOrder checks that pc holds want in this order. The order is that
// in which the runner hands the collection to a side input: the output
// order only for a collection produced by one bundle, on a runner that
// keeps it. Prefer Equals.
func EqualsInOrder[T any](s sdk.Scope, pc sdk.PCollection[T], want ...T) {
	c := comparer[T]("passert.EqualsInOrder", nil)
	want = slices.Clone(want)
	add(s, "passert.EqualsInOrder", pc, func(got []T) error { return checkInOrder(c, want, got) })
}

// Count checks that pc holds n elements.
func Count[T any](s sdk.Scope, pc sdk.PCollection[T], n int) {
	add(s, "passert.Count", pc, func(got []T) error { return checkCount(n, got) })
}

// Empty checks that pc holds no element.
func Empty[T any](s sdk.Scope, pc sdk.PCollection[T]) {
	add(s, "passert.Empty", pc, func(got []T) error { return checkCount(0, got) })
}

// NonEmpty checks that pc holds at least one element.
func NonEmpty[T any](s sdk.Scope, pc sdk.PCollection[T]) {
	add(s, "passert.NonEmpty", pc, checkNonEmpty[T])
}

// True checks that every element of pc satisfies pred. pred runs on a
// worker, once per element.
func True[T any](s sdk.Scope, pc sdk.PCollection[T], pred func(T) bool) {
	add(s, "passert.True", pc, func(got []T) error { return checkAll(pred, got) })
}

// add builds the assertion name over pc: pc re-windowed into the global
// window, read whole as the side input of a ParDo over an Impulse.
func add[T any](s sdk.Scope, name string, pc sdk.PCollection[T], check func(got []T) error) {
	s = s.Scope(name)
	global := sdk.WindowInto(s, sdk.GlobalWindows(), pc)
	fn := newCheckFn(name, sdk.AsIter(global), check)
	sdk.ParDo(s, fn, sdk.Impulse(s), sdk.WithSideInput(fn.view), sdk.Name("Check"))
}

// checkFn runs a check on the whole of its side input, once, for the
// single element of an Impulse. Its fields are set at construction and
// only read after.
type checkFn[T any] struct {
	name  string
	view  *sdk.IterView[T]
	check func(got []T) error
}

func newCheckFn[T any](name string, view *sdk.IterView[T], check func(got []T) error) *checkFn[T] {
	return &checkFn[T]{name: name, view: view, check: check}
}

// ProcessElement reads the collection and fails if the check does.
func (f *checkFn[T]) ProcessElement(ctx context.Context, _ []byte, _ func([]byte)) error {
	got := slices.Collect(f.view.Get(ctx))
	if err := f.check(got); err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	return nil
}

// comparer returns a comparer for T with opts, or panics naming the
// assertion's caller.
func comparer[T any](name string, opts []cmp.Option) *recordcmp.Comparer[T] {
	c, err := recordcmp.New[T](opts, nil)
	if err != nil {
		panic(fmt.Sprintf("%s: %s: %v", callerOutside(), name, err))
	}
	return c
}

// callerOutside returns file:line of the first caller outside this
// package.
func callerOutside() string {
	pcs := make([]uintptr, 16)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "github.com/beamgo-dev/beamgo/testutil/passert.") {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}
