// Package sink writes collections to arbitrary external systems with a
// writer per bundle, in the manner of Spark's ForeachWriter: Open when a
// bundle's first element arrives, Write each element, and Close with the
// bundle's outcome, so that a writer can stage its writes and commit them
// only when the bundle succeeded.
//
// For files, use package filebased (or textio), whose Write also makes the
// output appear only when the whole job succeeded.
//
// # Delivery
//
// Runners retry failed bundles. A writer closed with an error must undo
// (or never make visible) what it wrote; then every element reaches the
// external system in exactly one committed bundle, except in one case: a
// bundle can still fail after Close(nil) returned (a later step of the same
// bundle fails, or the worker dies before the runner records the bundle),
// and its retry writes the elements again. Sinks that must be exactly-once
// make their commit idempotent, for example by keying each write by element
// so that a repeated commit overwrites instead of duplicating.
package sink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/sdk"
)

// Sink opens a Writer for each bundle. Implementations must be safe for
// concurrent use: bundles run in parallel. A Sink travels to workers by
// rebuilding the pipeline, so its configuration belongs in exported fields.
type Sink[T any] interface {
	// Open returns the writer of a bundle. b.ID is unique per attempt at a
	// bundle, so a writer can name its staging area by it.
	Open(ctx context.Context, b Bundle) (Writer[T], error)
}

// Writer writes the elements of one bundle. It is used by one goroutine.
type Writer[T any] interface {
	// Write writes one element. An error fails the bundle; Close is then
	// called with that error. ctx carries the element's metadata and
	// metrics and is valid only during the call: work that outlives the
	// call (a database driver watching for cancellation, say) must use the
	// context Open was given.
	Write(ctx context.Context, elem T) error
	// Close ends the bundle and is called exactly once per opened writer:
	// with nil when the bundle's elements were all written (commit them),
	// or with the error that failed the bundle (roll back) — the writer's
	// own Write error, or ErrBundleFailed when another step of the bundle
	// failed. An error from Close(nil) fails the bundle.
	Close(ctx context.Context, err error) error
}

// Bundle identifies one attempt at a bundle.
type Bundle struct {
	// ID is a random identifier, unique per attempt.
	ID string
	// Transform is the unique name of the ForEach transform.
	Transform string
}

// ErrBundleFailed is the error Close gets when the bundle failed outside
// the writer.
var ErrBundleFailed = errors.New("sink: bundle failed")

// ForEach writes the elements of in with a writer that sink opens per
// bundle, and returns, per committed bundle, the number of elements it
// wrote (an empty bundle opens no writer and returns nothing).
func ForEach[T any](s sdk.Scope, sink Sink[T], in sdk.PCollection[T], opts ...sdk.Option) sdk.PCollection[int64] {
	if sink == nil {
		s.Fail("ForEach", errors.New("sink: sink is nil"))
		return sdk.PCollection[int64]{}
	}
	return sdk.ParDo(s, sdk.DoFn[T, int64](&forEachFn[T]{SinkType: fmt.Sprintf("%T", sink), Sink: sink}), in,
		append([]sdk.Option{sdk.Name(fmt.Sprintf("ForEach(%T)", sink))}, opts...)...)
}

// forEachFn runs a Sink. Sink is exported so that the pipeline's protos
// describe its configuration.
type forEachFn[T any] struct {
	SinkType string
	Sink     Sink[T]
	w        Writer[T]
	n        int64
}

func (f *forEachFn[T]) StartBundle(ctx context.Context) error {
	// A writer still open belongs to a bundle that never finished.
	return f.closeWith(ctx, ErrBundleFailed)
}

func (f *forEachFn[T]) ProcessElement(ctx context.Context, elem T, _ func(int64)) error {
	if f.w == nil {
		w, err := f.Sink.Open(sdk.BundleContext(ctx), Bundle{ID: randomID(), Transform: sdk.TransformName(ctx)})
		if err != nil {
			return fmt.Errorf("sink: open %s: %w", f.SinkType, err)
		}
		if w == nil {
			return fmt.Errorf("sink: %s.Open returned no writer", f.SinkType)
		}
		f.w, f.n = w, 0
	}
	if err := f.w.Write(ctx, elem); err != nil {
		if cerr := f.closeWith(ctx, err); cerr != nil {
			return errors.Join(err, cerr)
		}
		return err
	}
	f.n++
	return nil
}

func (f *forEachFn[T]) FinishBundle(ctx context.Context, emit func(int64)) error {
	if f.w == nil {
		return nil
	}
	w, n := f.w, f.n
	f.w = nil
	if err := w.Close(sdk.BundleContext(ctx), nil); err != nil {
		return fmt.Errorf("sink: commit %s: %w", f.SinkType, err)
	}
	emit(n)
	return nil
}

// Teardown rolls back the writer of a bundle that failed.
func (f *forEachFn[T]) Teardown(ctx context.Context) error {
	return f.closeWith(ctx, ErrBundleFailed)
}

// closeWith closes an open writer with the bundle's error.
func (f *forEachFn[T]) closeWith(ctx context.Context, cause error) error {
	if f.w == nil {
		return nil
	}
	w := f.w
	f.w = nil
	if err := w.Close(sdk.BundleContext(ctx), cause); err != nil {
		return fmt.Errorf("sink: roll back %s: %w", f.SinkType, err)
	}
	return nil
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
