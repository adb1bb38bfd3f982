// Package kafka writes to and reads from Apache Kafka with franz-go
// (github.com/twmb/franz-go): an exactly-once sink on the epochs of
// io/foreach, an unbounded source (Read) on io/unbounded, and the
// partition reader that the source builds on.
//
// # The source
//
// Read (and Source, for unbounded.Read) takes every partition of its
// topics as a partition of an io/unbounded source, found again while the
// job runs with ReadOptions.Unbounded.Discover. A partition's checkpoint
// mark is its next offset (Mark, plain JSON, deterministic): a turn that
// fails is retried from the last committed mark, so together with the
// transactional sink a job is exactly once end to end. Once the runner
// has committed a turn, Finalize commits its offset for ReadOptions.Group,
// if set, for other consumers to see. Event times are the records'
// timestamps or ReadOptions.EventTime's; each partition's watermark is the
// greatest event time returned less MaxDelay, and follows the clock once
// the partition is caught up and has been idle for IdleAfter. A record
// EventTime rejects fails the job without retries (sdk.Permanent) with a
// *PositionError, or goes to ReadWithDeadLetters' second output.
//
// # The sink
//
// Write sends each epoch (shard, window, pane; see io/foreach) in one Kafka
// transaction, whose transactional ID is derived from the sink and the
// epoch. The same transaction commits an offset for a consumer group named
// after the epoch: that committed offset is the epoch's record. A retried
// epoch first initialises its producer ID, which fences any earlier attempt
// still running and aborts its open transaction, then asks the group
// coordinator (with RequireStable, so a commit in flight is waited for)
// whether the epoch's offset is committed, and writes nothing if it is.
// Readers with isolation level read_committed see each record once.
//
// Why transactions and not the idempotent producer alone: idempotence
// removes duplicates from one producer session's retries, but a retried
// bundle is a new session, so only a record of the committed epoch that
// commits atomically with the data can tell a replay from a first attempt.
// An epoch-derived key would leave the deduplication to every consumer.
//
// The cost is one transactional ID and one consumer-group offset per epoch
// on the brokers; both expire (transactional.id.expiration.ms,
// offsets.retention.minutes, 7 days by default), after which a replay of
// that epoch would write again. Cut epochs coarsely (a trigger of seconds,
// a few shards), as Flink's Kafka sink ties transactions to checkpoints.
//
// # The partition reader
//
// PartitionReader reads one partition from an offset, gives each record an
// event time (the record's timestamp or a user function), keeps a
// watermark per partition that moves on when the partition is idle and
// caught up, and commits offsets for a consumer group when told (on bundle
// finalization, after the runner committed the output). It knows nothing
// of runners: a source lists its splits with Partitions (again, to find
// partitions added while it runs), reads with Poll, checkpoints with Mark,
// resumes with ReaderOptions.Offset, and acknowledges with Commit.
//
// # Errors
//
// Errors that concern a record or a position are *PositionError, naming
// the topic, partition and offset; find them with errors.As. A record the
// event-time function rejects, a deleted topic and an unreachable broker
// are reported this way.
package kafka
