package foreach

import (
	"context"
	"iter"

	"github.com/beamgo-dev/beamgo/sdk"
)

// BatchFunc writes one epoch's elements, in the shape of Spark's
// foreachBatch function. It may be called again with the same epoch and the
// same elements when a bundle is retried: an idempotent BatchFunc records
// the epoch with its data and does nothing for an epoch it has recorded.
// batch is valid only during the call. Calls for different epochs may run
// at once, on several worker threads (and attempts of one epoch may
// overlap, when a worker presumed dead is still running), so the function
// must be safe for concurrent use.
type BatchFunc[T any] func(ctx context.Context, batch []T, e Epoch) error

// Batch calls fn once per epoch of in: per shard, window and pane (see the
// package doc). Options: Shards, ShardOf, Trigger.
func Batch[T any](s sdk.Scope, fn BatchFunc[T], in sdk.PCollection[T], opts *Options[T]) {
	o := opts.withDefaults("foreach.Batch")
	s = s.Scope(o.Name)
	if fn == nil {
		s.Errorf(o.Name, "foreach: the batch function is nil")
		return
	}
	epochs(s, in, o, "WriteBatch",
		func(elems func(iter.Seq[T]) iter.Seq[T]) sdk.SinkFn[sdk.Group[int, T]] {
			return &batchFn[T, T]{fn: fn, elems: elems}
		},
		func(elems func(iter.Seq[[]byte]) iter.Seq[T]) sdk.SinkFn[sdk.Group[int, []byte]] {
			return &batchFn[T, []byte]{fn: fn, elems: elems}
		})
}

// batchFn gathers each epoch, a group whose values V elems turns into the
// epoch's elements, into a slice and hands it to fn.
type batchFn[T, V any] struct {
	fn    BatchFunc[T]
	elems func(iter.Seq[V]) iter.Seq[T]
	// buf is reused across epochs of this instance.
	buf []T
}

// ProcessElement writes one epoch.
func (f *batchFn[T, V]) ProcessElement(ctx context.Context, g sdk.Group[int, V]) error {
	f.buf = f.buf[:0]
	for v := range f.elems(g.Values) {
		f.buf = append(f.buf, v)
	}
	e := epochOf(ctx, g.Key)
	err := f.fn(ctx, f.buf, e)
	clear(f.buf) // drop references for the collector
	if err != nil {
		return &EpochError{Epoch: e, Err: err}
	}
	return nil
}
