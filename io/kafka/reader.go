package kafka

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Special values of ReaderOptions.Offset.
const (
	// OffsetLatest starts after the partition's last record.
	OffsetLatest int64 = -1
	// OffsetEarliest starts at the partition's first record.
	OffsetEarliest int64 = -2
	// OffsetCommitted starts at the offset ReaderOptions.Group committed
	// for the partition, or at the first record if it committed none.
	OffsetCommitted int64 = -3
)

// ReaderOptions configure a PartitionReader.
type ReaderOptions struct {
	// Brokers are the seed brokers (host:port). Required.
	Brokers []string
	// Topic and Partition say what to read. Topic is required.
	Topic     string
	Partition int32
	// Offset is the next offset to read: a Mark's NextOffset when
	// resuming, or OffsetEarliest (the zero value is offset 0),
	// OffsetLatest or OffsetCommitted.
	Offset int64
	// EventTime gives a record's event time; an error marks the record
	// malformed. Default: the record's timestamp.
	EventTime func(r *kgo.Record) (time.Time, error)
	// DeadLetter, when set, receives malformed records and their errors,
	// and reading goes on after them; when nil, Poll returns a
	// *PositionError at the first malformed record, and again on every
	// later call: the reader does not move past it.
	DeadLetter func(r *kgo.Record, err error)
	// MaxDelay is how far event times may run behind the greatest one
	// seen: the watermark is that time less MaxDelay.
	MaxDelay time.Duration
	// Watermark is the watermark to start from: when resuming from a
	// Mark, the Watermark the checkpointed reader had, so that the
	// watermark never goes back.
	Watermark time.Time
	// IdleAfter is how long a partition that is caught up with its end
	// must see no record before its watermark follows the clock (now
	// less MaxDelay), so that it does not hold back the job's watermark
	// (default 10 seconds).
	IdleAfter time.Duration
	// Group is the consumer group Commit commits offsets for.
	Group string
	// ReadUncommitted reads records of open and aborted transactions
	// too; the default reads committed records only.
	ReadUncommitted bool
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// ClientOptions are added to the franz-go client's options.
	ClientOptions []kgo.Opt

	// recycle, set by a Source's reader when no user function sees the
	// records, takes the fetched records from recordPool: the reader
	// recycles each one once it has copied it out.
	recycle bool
}

// Record is a record with its event time.
type Record struct {
	*kgo.Record
	EventTime time.Time
}

// Mark is a checkpoint of a PartitionReader: where a reader resumes to
// read exactly what follows the records returned so far. It is plain
// data, safe to encode.
type Mark struct {
	Topic      string
	Partition  int32
	NextOffset int64
}

// PartitionReader reads one partition of a topic. It is not safe for
// concurrent use; Close it when done.
type PartitionReader struct {
	opts ReaderOptions
	cl   *kgo.Client

	// next is the offset after the last record returned.
	next int64
	// end is the partition's end (last stable offset) as last seen.
	end int64
	// wm is the watermark; maxEvent the greatest event time seen.
	wm, maxEvent time.Time
	// lastRecord is when a record last arrived (or the reader started).
	lastRecord time.Time
	// stuck is the error of a malformed record the reader cannot pass.
	stuck error
}

// NewPartitionReader starts reading. It resolves the special offsets with
// the brokers, so it fails when they cannot be reached.
func NewPartitionReader(ctx context.Context, opts ReaderOptions) (*PartitionReader, error) {
	if len(opts.Brokers) == 0 || opts.Topic == "" {
		return nil, errors.New("kafka: ReaderOptions need Brokers and a Topic")
	}
	if opts.IdleAfter <= 0 {
		opts.IdleAfter = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &PartitionReader{opts: opts, end: -1, lastRecord: opts.Now(), wm: opts.Watermark}
	base, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(opts.Brokers...)}, opts.ClientOptions...)...)
	if err != nil {
		return nil, r.errAt(opts.Offset, err)
	}
	start, err := r.resolve(ctx, base, opts.Offset)
	base.Close()
	if err != nil {
		return nil, r.errAt(opts.Offset, err)
	}
	r.next = start
	iso := kgo.ReadCommitted()
	if opts.ReadUncommitted {
		iso = kgo.ReadUncommitted()
	}
	copts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{opts.Topic: {opts.Partition: kgo.NewOffset().At(start)}}),
		kgo.FetchIsolationLevel(iso),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}
	if opts.recycle {
		copts = append(copts, kgo.WithPools(&records))
	}
	cl, err := kgo.NewClient(append(copts, opts.ClientOptions...)...)
	if err != nil {
		return nil, r.errAt(start, err)
	}
	r.cl = cl
	return r, nil
}

// resolve turns a special offset into a real one.
func (r *PartitionReader) resolve(ctx context.Context, cl *kgo.Client, off int64) (int64, error) {
	switch off {
	case OffsetCommitted:
		committed, ok, err := r.committed(ctx, cl)
		if err != nil || ok {
			return committed, err
		}
		return r.listOffset(ctx, cl, -2)
	case OffsetEarliest, OffsetLatest:
		return r.listOffset(ctx, cl, off)
	}
	return off, nil
}

// listOffset asks the partition's leader for its start (-2) or its end
// (-1: the last stable offset when reading committed records).
func (r *PartitionReader) listOffset(ctx context.Context, cl *kgo.Client, which int64) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	if !r.opts.ReadUncommitted {
		req.IsolationLevel = 1
	}
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = r.opts.Topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = r.opts.Partition, which, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Partition == r.opts.Partition {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return 0, err
				}
				return p.Offset, nil
			}
		}
	}
	return 0, kerr.UnknownTopicOrPartition
}

// committed returns the offset the group committed for the partition.
func (r *PartitionReader) committed(ctx context.Context, cl *kgo.Client) (int64, bool, error) {
	if r.opts.Group == "" {
		return 0, false, errors.New("OffsetCommitted needs a Group")
	}
	return fetchOffset(ctx, cl, r.opts.Group, r.opts.Topic, r.opts.Partition)
}

func (r *PartitionReader) errAt(off int64, err error) error {
	return &PositionError{Topic: r.opts.Topic, Partition: r.opts.Partition, Offset: off, Err: err}
}

// Poll returns up to max records, waiting up to wait for the first. An
// empty result with a nil error means the partition had nothing new; the
// reader then checks that the partition still exists and the brokers
// answer, and learns the partition's end for the watermark. Errors are
// *PositionError at the reader's position (or at the malformed record).
//
// Records already fetched are returned without a round trip, so reading
// one record at a time (max 1, a short wait) is cheap: a caller that needs
// a mark after every record, as a Reader of io/unbounded does with Next
// and Mark, can poll that way.
func (r *PartitionReader) Poll(ctx context.Context, max int, wait time.Duration) ([]Record, error) {
	return r.poll(ctx, nil, max, wait)
}

// poll is Poll that appends the records to dst[:0], reusing its array.
func (r *PartitionReader) poll(ctx context.Context, dst []Record, max int, wait time.Duration) ([]Record, error) {
	if r.stuck != nil {
		return nil, r.stuck
	}
	pctx, cancel := context.WithTimeout(ctx, wait)
	fs := r.cl.PollRecords(pctx, max)
	cancel()
	if err := ctx.Err(); err != nil {
		return nil, r.errAt(r.next, err)
	}
	// One slice of the poll's size, and one clock reading for all its
	// records (they arrived together): a slice grown by append and a
	// time.Now per record were 4% of a Kafka-to-Kafka job's CPU.
	out := slices.Grow(dst[:0], fs.NumRecords())
	now := r.opts.Now()
	var firstErr error
	fs.EachError(func(_ string, _ int32, err error) {
		if firstErr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			firstErr = r.errAt(r.next, err)
		}
	})
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.LastStableOffset >= 0 {
			r.end = p.LastStableOffset
		}
		for _, rec := range p.Records {
			if r.stuck != nil {
				return
			}
			if rec, ok := r.accept(rec, now); ok {
				out = append(out, rec)
			}
		}
	})
	if r.stuck != nil && len(out) == 0 {
		return nil, r.stuck
	}
	if firstErr != nil {
		return out, firstErr
	}
	if len(out) == 0 {
		return nil, r.checkIdle(ctx)
	}
	return out, nil
}

// accept gives rec its event time and moves the position past it; a
// malformed record goes to the dead letter or stops the reader. now is
// when the poll that returned rec ended.
func (r *PartitionReader) accept(rec *kgo.Record, now time.Time) (Record, bool) {
	et := rec.Timestamp
	if r.opts.EventTime != nil {
		var err error
		if et, err = r.opts.EventTime(rec); err != nil {
			if r.opts.DeadLetter == nil {
				r.stuck = &PositionError{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
					Err: fmt.Errorf("malformed record: %w", err)}
				return Record{}, false
			}
			r.opts.DeadLetter(rec, err)
			r.next = rec.Offset + 1
			return Record{}, false
		}
	}
	r.next = rec.Offset + 1
	r.lastRecord = now
	if et.After(r.maxEvent) {
		r.maxEvent = et
		r.advance(et.Add(-r.opts.MaxDelay))
	}
	return Record{Record: rec, EventTime: et}, true
}

// checkIdle asks for the partition's end, which also tells that the
// brokers answer and the partition exists.
func (r *PartitionReader) checkIdle(ctx context.Context) error {
	end, err := r.listOffset(ctx, r.cl, -1)
	if err != nil {
		return r.errAt(r.next, err)
	}
	r.end = end
	return nil
}

// advance moves the watermark to t if that is later: it never goes back.
func (r *PartitionReader) advance(t time.Time) {
	if t.After(r.wm) {
		r.wm = t
	}
}

// Watermark returns the partition's watermark: the greatest event time
// seen less MaxDelay or, once the reader is caught up with the
// partition's end and no record came for IdleAfter, the clock less
// MaxDelay. It is the zero time before either applies.
func (r *PartitionReader) Watermark() time.Time {
	now := r.opts.Now()
	if r.end >= 0 && r.next >= r.end && now.Sub(r.lastRecord) >= r.opts.IdleAfter {
		r.advance(now.Add(-r.opts.MaxDelay))
	}
	return r.wm
}

// Backlog returns how many offsets remain between the position and the
// partition's end as last seen (-1 when not yet known).
func (r *PartitionReader) Backlog() int64 {
	if r.end < 0 {
		return -1
	}
	return max(r.end-r.next, 0)
}

// Mark returns the checkpoint after the records returned so far.
func (r *PartitionReader) Mark() Mark {
	return Mark{Topic: r.opts.Topic, Partition: r.opts.Partition, NextOffset: r.next}
}

// Commit commits m's offset for ReaderOptions.Group: call it once the
// output of the records before m is committed (bundle finalization). A
// reader opened with OffsetCommitted resumes there.
func (r *PartitionReader) Commit(ctx context.Context, m Mark) error {
	if r.opts.Group == "" {
		return r.errAt(m.NextOffset, errors.New("commit needs ReaderOptions.Group"))
	}
	err := commitOffset(ctx, r.cl, r.opts.Group, m.Topic, m.Partition, m.NextOffset)
	if err != nil {
		return &PositionError{Topic: m.Topic, Partition: m.Partition, Offset: m.NextOffset,
			Err: fmt.Errorf("commit for group %q: %w", r.opts.Group, err)}
	}
	return nil
}

// Close stops reading and closes the connections.
func (r *PartitionReader) Close() { r.cl.Close() }

// recordPool keeps the arrays franz-go decodes a fetched batch's records
// into, for the next batches (kgo.PoolRecords), in buckets by capacity
// (powers of two). Without it every batch's records were a new array of
// up to about 9,000 records, cleared: a third of the bytes a 2M-record
// bench/kafka run allocated in its read. A record goes back with
// kgo.Record.Recycle once nothing refers to it, and its batch's array once
// all of its records went back; an array whose records are not all
// recycled (a reader closed with records unread) is left to the collector.
// Only the records' structs are pooled: their keys and values stay in the
// fetched bytes, which are not reused, so a Message keeps them.
type recordPool struct {
	buckets [64]sync.Pool
}

// records is the pool of every reader of a Source.
var records recordPool

var _ kgo.PoolRecords = (*recordPool)(nil)

// GetRecords returns an empty slice of capacity at least n.
func (p *recordPool) GetRecords(n int) []kgo.Record {
	if n <= 0 {
		return nil
	}
	b := bits.Len(uint(n - 1)) // the smallest b with 1<<b >= n
	if s, ok := p.buckets[b].Get().(*[]kgo.Record); ok {
		return (*s)[:0]
	}
	return make([]kgo.Record, 0, 1<<b)
}

// PutRecords keeps s, whose records are zero, for a later GetRecords.
func (p *recordPool) PutRecords(s []kgo.Record) {
	if cap(s) == 0 {
		return
	}
	s = s[:0]
	p.buckets[bits.Len(uint(cap(s)))-1].Put(&s) // the largest b with 1<<b <= cap
}
