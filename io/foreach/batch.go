package foreach

import (
	"context"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
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
	b, ok := epochs(s, in, o)
	if !ok {
		return
	}
	sdk.ForEach(s, sdk.SinkFn[sdk.Group[int, []byte]](&batchFn[T]{fn: fn, coder: b.coder}), b.groups, sdk.Name("WriteBatch"))
}

// batchFn gathers each epoch into a slice and hands it to fn.
type batchFn[T any] struct {
	fn    BatchFunc[T]
	coder coder.Coder[[]T]
	// buf is reused across epochs of this instance.
	buf []T
}

// ProcessElement writes one epoch.
func (f *batchFn[T]) ProcessElement(ctx context.Context, g sdk.Group[int, []byte]) error {
	f.buf = f.buf[:0]
	for v := range elementsOf(f.coder, g.Values) {
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
