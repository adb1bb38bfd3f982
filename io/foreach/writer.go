package foreach

import (
	"context"
	"errors"
	"iter"

	"github.com/beamgo-dev/beamgo/sdk"
)

// Writer writes the epochs of one shard at a time, in the shape of
// Spark's ForeachWriter. For each epoch the sink calls Open; if Open
// returns true it calls Process for each element of the epoch; then, if
// Open returned without error (true or false), Close with the first
// error of Open or Process, or nil. A Writer that returns an error fails
// the bundle; the runner retries it with the same epochs.
//
// Open returning false means the epoch is already written (the target
// recorded it when it committed it): skip it. Close(nil) after Open returned true is the place to commit the
// epoch's data and the epoch in one transaction.
//
// A Writer is used by one goroutine at a time; Write makes one per worker
// thread with the factory it is given. A Writer may also implement
// sdk.Setupper and sdk.TearDowner (to connect once and disconnect).
type Writer[T any] interface {
	Open(ctx context.Context, e Epoch) (bool, error)
	Process(ctx context.Context, v T) error
	Close(ctx context.Context, err error) error
}

// SeqWriter is a Writer that takes an epoch's elements as one sequence
// instead of one Process call each: an optional upgrade, for a target that
// streams an epoch (a COPY, a producer) rather than gathering it first.
// When the Writer made by Write's factory is a SeqWriter and Open returns
// true, the sink calls WriteSeq once with the epoch's elements and never
// calls Process; Close follows as for any Writer, told WriteSeq's error.
//
// values decodes the elements lazily from the epoch's grouped bytes each
// time it is ranged over; it is valid until Close returns, so a SeqWriter
// may keep it in WriteSeq and range over it (again) in Close, and it may
// range over it from another goroutine, one at a time.
type SeqWriter[T any] interface {
	Writer[T]
	WriteSeq(ctx context.Context, values iter.Seq[T]) error
}

// Write writes in with writers made by newWriter, one epoch per shard,
// window and pane (see the package doc). Options: Shards, ShardOf, Trigger.
func Write[T any](s sdk.Scope, newWriter func() Writer[T], in sdk.PCollection[T], opts *Options[T]) {
	o := opts.withDefaults("foreach.Write")
	s = s.Scope(o.Name)
	if newWriter == nil {
		s.Errorf(o.Name, "foreach: the writer factory is nil")
		return
	}
	epochs(s, in, o, "Write",
		func(elems func(iter.Seq[T]) iter.Seq[T]) sdk.SinkFn[sdk.Group[int, T]] {
			return &writerFn[T, T]{newWriter: newWriter, elems: elems}
		},
		func(elems func(iter.Seq[[]byte]) iter.Seq[T]) sdk.SinkFn[sdk.Group[int, []byte]] {
			return &writerFn[T, []byte]{newWriter: newWriter, elems: elems}
		})
}

// writerFn runs a Writer over each epoch, a group whose values V elems
// turns into the epoch's elements.
type writerFn[T, V any] struct {
	newWriter func() Writer[T]
	elems     func(iter.Seq[V]) iter.Seq[T]
	w         Writer[T]
}

// Setup makes this instance's writer and sets it up.
func (f *writerFn[T, V]) Setup(ctx context.Context) error {
	f.w = f.newWriter()
	if su, ok := f.w.(sdk.Setupper); ok {
		return su.Setup(ctx)
	}
	return nil
}

// ProcessElement writes one epoch.
func (f *writerFn[T, V]) ProcessElement(ctx context.Context, g sdk.Group[int, V]) error {
	e := epochOf(ctx, g.Key)
	write, err := f.w.Open(ctx, e)
	if err != nil {
		return &EpochError{Epoch: e, Err: err}
	}
	if sw, ok := f.w.(SeqWriter[T]); ok && write {
		err = sw.WriteSeq(ctx, f.elems(g.Values))
	} else if write {
		for v := range f.elems(g.Values) {
			if err = f.w.Process(ctx, v); err != nil {
				break
			}
		}
	}
	if cerr := f.w.Close(ctx, err); cerr != nil && !errors.Is(cerr, err) {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return &EpochError{Epoch: e, Err: err}
	}
	return nil
}

// Teardown tears the writer down if it can be.
func (f *writerFn[T, V]) Teardown(ctx context.Context) error {
	if td, ok := f.w.(sdk.TearDowner); ok {
		return td.Teardown(ctx)
	}
	return nil
}
