// Package foreach holds sinks in the shape of Spark's foreach and
// foreachBatch: a Writer opened per epoch (Open, Process, Close) and a
// function given each micro-batch, where every epoch is stable across
// retries so that a sink can make its writes idempotent.
//
// # Epochs
//
// Write and Batch shard their input (Options.Shards), group it by shard
// with a GroupByKey under the input's windowing (or Options.Trigger), and
// take each group as one epoch: Epoch{Shard, Window, Pane}. A GroupByKey's
// committed output is replayed identically when the bundle that consumes
// it is retried, so a retried epoch has the same identity and the same
// elements as the attempt that failed. A sink that records each epoch it
// commits, in the same transaction as the data, can skip an epoch it has
// recorded (see the PostgreSQL sink in io/postgres). Pane indexes count
// the firings of a window's trigger per shard, in firing order; but the
// runner may write two epochs of one shard at once, or a later one first,
// so a high-water mark of panes is not a safe record.
//
// The same pipeline runs in batch and in streaming: a bounded input under
// the default trigger gives one epoch (pane 0) per shard and window; an
// unbounded one needs a trigger that fires repeatedly, e.g.
//
//	trig := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(time.Second))
//	foreach.Batch(s, save, rows, &foreach.Options[Row]{Shards: 4, Trigger: &trig})
//
// In the global window, under the default trigger or one that fires on
// time only (processing time or the watermark, as in the example above),
// the shard step sends each shard's elements of a bundle through the
// shuffle in batches of up to 256, encoded together, so the shuffle's
// per-record work is done once per batch; the epochs hold the same
// elements either way. Under other windows, and triggers that count
// elements (AfterCount, Always), it sends one record per element.
//
// A Writer that also implements SeqWriter is given each epoch as one
// sequence, decoded lazily from the grouped bytes, instead of one Process
// call per element: a target that streams an epoch (a COPY, a producer)
// then never holds it whole.
//
// # Differences from Spark
//
// Spark does not promise identical data for a replayed (partition, epoch)
// (SPARK-28650), so deduplicating on that pair is unsound there; here it is
// sound, because the epoch is a committed pane. Batch is called once per
// shard and window pane rather than once per job-wide micro-batch: with
// Shards: 1 and the global window it is Spark's foreachBatch.
//
// # Errors
//
// An error from a Writer's methods or a batch function fails the bundle,
// which the runner retries with the same epochs; Close is told the error.
// Sinks return *EpochError, which names the transform's epoch; use
// errors.As to find it.
package foreach
