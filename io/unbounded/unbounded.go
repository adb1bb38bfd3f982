// Package unbounded reads unbounded sources: data that keeps arriving, from
// partitions (Kafka topic-partitions, shards, directories) that a runner
// reads in parallel, each resuming exactly where the last committed bundle
// ended.
//
// A Source names its partitions and opens a Reader per partition at a
// checkpoint mark. Read turns it into a PCollection: it reads each
// partition for a while (MaxRecords or MaxReadTime), emits the records with
// their event times, and checkpoints (sdk.Checkpoint) the partition with
// the reader's mark and watermark; the runner commits the output, then
// resumes the partition in a later bundle, at once when the reader had
// more, after PollInterval when it was caught up. The mark travels only
// with committed output, so a failed bundle is retried from the previous
// mark: nothing is lost, nothing emitted twice. Sources that must
// acknowledge what was read (commit Kafka offsets) implement Finalizer,
// which runs once the runner has committed the bundle (sdk.OnCommit).
//
// # Watermarks
//
// The runner holds Read's output watermark at the earliest watermark of
// its partitions: the Reader's Watermark, a lower bound of the event times
// of the records it will return. A partition that has had nothing to read
// for Idleness is marked idle: its watermark then follows the wall clock
// (now minus Idleness), so that one quiet partition does not stall every
// window forever. A partition whose reader returns io.EOF has ended; when
// all have (and no discovery runs), the watermark reaches the end of time
// and the job can finish. A job is otherwise stopped by cancelling it, or
// drained (the runner's Drain option): reads stop at their next checkpoint
// and every window fires its final pane.
//
// # Encoding
//
// Partitions and marks travel between bundles and workers as JSON (their
// exported fields), so they must survive encoding/json's round trip.
package unbounded

import (
	"context"
	"errors"
	"time"
)

// Record is one record of a partition with its event time.
type Record[T any] struct {
	Value T
	Time  time.Time
}

// Source is an unbounded source of records of type T, read from
// partitions of type P, each resumed from a checkpoint mark of type M.
// Its methods are called from many goroutines (and processes) at once.
type Source[T, P, M any] interface {
	// Partitions returns the partitions to read. Read calls it once when
	// the job starts and, with Discover, again every interval, reading
	// from then on the partitions it had not seen.
	Partitions(ctx context.Context) ([]P, error)
	// Open returns a reader of partition p that starts after mark, or at
	// the partition's start (as the source defines it) if mark is nil.
	Open(ctx context.Context, p P, mark *M) (Reader[T, M], error)
}

// Reader reads one partition; it is used by one goroutine at a time.
type Reader[T, M any] interface {
	// Next returns the next record. ok is false when no record is
	// available now (Read polls again later); err is io.EOF once the
	// partition has ended for good. ctx is the bundle's context, valid
	// until the bundle ends, so a reader may derive contexts from it.
	Next(ctx context.Context) (rec Record[T], ok bool, err error)
	// Mark returns the checkpoint mark after the last record Next
	// returned: a reader opened at it returns the records after that one.
	Mark() M
	// Watermark returns a lower bound of the event times of the records
	// Next will return from now on (the zero time: unknown yet).
	Watermark() time.Time
	// Close releases the reader.
	Close() error
}

// Finalizer is implemented by sources that acknowledge what was read once
// the runner has committed it: Finalize gets the partition and the mark
// up to which its records are committed. It is called at most once per
// committed bundle, possibly not at all (a runner may not finalize
// bundles, or the job may stop first), and out of order across bundles
// of one partition when a runner retries, so it must be idempotent and
// tolerate older marks.
type Finalizer[P, M any] interface {
	Finalize(ctx context.Context, p P, mark M) error
}

// ErrRunnerCannotResume is returned, wrapped, when the runner running Read
// cannot resume checkpointed work (sdk.ErrCheckpointUnsupported).
var ErrRunnerCannotResume = errors.New("unbounded: the runner cannot resume checkpointed reads")
