package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/twmb/franz-go/pkg/kgo"
)

// StartAt says where a partition with no checkpoint mark is read from.
type StartAt int

// Where a partition's first read starts.
const (
	// StartEarliest reads from the partition's first record.
	StartEarliest StartAt = iota
	// StartLatest reads what arrives after the partition is first
	// opened. A first turn that fails is retried from the end as it is
	// then, so records that arrived in between are skipped: use
	// StartEarliest or StartCommitted where that matters.
	StartLatest
	// StartCommitted reads from the offset ReadOptions.Group committed,
	// or from the first record if it committed none.
	StartCommitted
)

// ReadOptions configure Read, ReadWithDeadLetters and NewSource.
type ReadOptions struct {
	// Brokers are the seed brokers (host:port). Required.
	Brokers []string
	// Topics are read whole: every partition of each is a partition of
	// the source. Required.
	Topics []string
	// Start is where a partition is read from before it has a mark.
	Start StartAt
	// Group, when set, is the consumer group whose offsets are committed
	// once the records before them are committed by the runner (bundle
	// finalization), so that other consumers see the job's progress, and
	// StartCommitted resumes there. The job itself resumes from its own
	// marks, not from the group's offsets.
	Group string
	// EventTime gives a record's event time (default: its timestamp); an
	// error marks the record malformed (see Read).
	EventTime func(r *kgo.Record) (time.Time, error)
	// MaxDelay is how far event times may run behind the greatest one
	// seen in a partition: its watermark is that time less MaxDelay.
	MaxDelay time.Duration
	// IdleAfter is how long a caught-up partition must see no record
	// before its watermark follows the clock less MaxDelay, so that a
	// quiet partition does not hold every window back (default 10s).
	IdleAfter time.Duration
	// PollWait bounds how long a read waits for records before its turn
	// ends as caught up (default 100ms).
	PollWait time.Duration
	// OpenTimeout bounds listing the partitions and opening one
	// (resolving its start with the brokers), so that an unreachable
	// broker fails the bundle instead of hanging it (default 30s).
	OpenTimeout time.Duration
	// ReadUncommitted also reads records of open and aborted
	// transactions; by default only committed records are read.
	ReadUncommitted bool
	// ClientOptions are added to the franz-go options of every client
	// (TLS, SASL, logging).
	ClientOptions []kgo.Opt
	// Unbounded configures the read's turns (MaxRecords, MaxReadTime,
	// PollInterval) and partition discovery (Discover); its Name, if
	// set, names the transform (default "kafka.Read").
	Unbounded unbounded.Options
}

// Message is a Kafka record as Read returns it.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	// Timestamp is the record's own timestamp; the element's event time
	// is ReadOptions.EventTime's, when set.
	Timestamp time.Time
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// DeadLetter is a malformed record, as ReadWithDeadLetters delivers it:
// the record and why ReadOptions.EventTime rejected it.
type DeadLetter struct {
	Message Message
	Error   string
}

// Partition is a partition of a Source: a topic's partition.
type Partition struct {
	Topic     string
	Partition int32
}

// Read reads opts.Topics as an unbounded PCollection (io/unbounded.Read
// over a Source): every topic partition is read in turns that end with a
// checkpoint at the next offset, so a failed bundle rereads from the last
// committed offset and nothing is lost or read twice; each record's event
// time is its timestamp or opts.EventTime's, and each partition has its
// own watermark. A malformed record (EventTime returns an error) fails the
// job at once with a *PositionError naming its topic, partition and
// offset; ReadWithDeadLetters delivers such records instead.
func Read(s sdk.Scope, opts ReadOptions) sdk.PCollection[Message] {
	src, o, err := newSource(opts)
	if err != nil {
		s.Fail(o.Unbounded.Name, err)
		return sdk.PCollection[Message]{}
	}
	return unbounded.Read(s, src, o.Unbounded)
}

// ReadWithDeadLetters is Read that delivers malformed records to its
// second output, stamped with their own timestamps, and goes on reading.
func ReadWithDeadLetters(s sdk.Scope, opts ReadOptions) (sdk.PCollection[Message], sdk.PCollection[DeadLetter]) {
	src, o, err := newSource(opts)
	if err != nil {
		s.Fail(o.Unbounded.Name, err)
		return sdk.PCollection[Message]{}, sdk.PCollection[DeadLetter]{}
	}
	items := unbounded.Read(s, dlSource{src}, o.Unbounded)
	return sdk.ParDo2(s, splitDead{}, items, sdk.Name("SplitDeadLetters"))
}

// item is a record or a dead letter, as the dead-letter reader returns
// them, in offset order.
type item struct {
	Message Message
	// Error is why the record is malformed; empty for a good record.
	Error string
}

// splitDead sends the items to the records or the dead letters.
type splitDead struct{}

func (splitDead) ProcessElement(_ context.Context, it item, msg func(Message), dead func(DeadLetter)) error {
	if it.Error != "" {
		dead(DeadLetter{Message: it.Message, Error: it.Error})
		return nil
	}
	msg(it.Message)
	return nil
}

// NewSource returns the io/unbounded.Source that Read reads, for use with
// unbounded.Read directly or with testutil.CheckUnboundedCheckpoints.
// Its marks are the next offsets to read, plain JSON.
func NewSource(opts ReadOptions) (*Source, error) {
	src, _, err := newSource(opts)
	return src, err
}

func newSource(opts ReadOptions) (*Source, ReadOptions, error) {
	if opts.Unbounded.Name == "" {
		opts.Unbounded.Name = "kafka.Read"
	}
	if len(opts.Brokers) == 0 || len(opts.Topics) == 0 {
		return nil, opts, errors.New("kafka: Read needs Brokers and Topics")
	}
	if opts.Start == StartCommitted && opts.Group == "" {
		return nil, opts, errors.New("kafka: StartCommitted needs a Group")
	}
	if opts.PollWait <= 0 {
		opts.PollWait = 100 * time.Millisecond
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 30 * time.Second
	}
	return &Source{opts: opts}, opts, nil
}

// Source is the unbounded source of Read: its partitions are the topics'
// partitions, its marks the next offset of each. It commits the group's
// offsets on finalization (Finalize). It is safe for concurrent use.
type Source struct {
	opts ReadOptions

	// mu guards the fields below.
	mu sync.Mutex
	// admin is the client Finalize commits with, shared while readers
	// are open (users counts them) and closed with the last.
	admin *kgo.Client
	users int
}

var (
	_ unbounded.Source[Message, Partition, Mark] = (*Source)(nil)
	_ unbounded.Finalizer[Partition, Mark]       = (*Source)(nil)
)

// Partitions lists the partitions of every topic, topic by topic, each in
// order. A topic that does not exist is an error naming it.
func (s *Source) Partitions(ctx context.Context) ([]Partition, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpenTimeout)
	defer cancel()
	var out []Partition
	for _, t := range s.opts.Topics {
		ps, err := Partitions(ctx, s.opts.Brokers, t, s.opts.ClientOptions...)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out = append(out, Partition{Topic: t, Partition: p})
		}
	}
	return out, nil
}

// Open implements unbounded.Source: malformed records are errors.
func (s *Source) Open(ctx context.Context, p Partition, mark *Mark) (unbounded.Reader[Message, Mark], error) {
	r, err := s.open(ctx, p, mark, false)
	if err != nil {
		return nil, err
	}
	return msgReader{r}, nil
}

// Finalize commits mark's offset for ReadOptions.Group, if set. Commits
// of older marks, which a runner may send late, are harmless: the job
// resumes from its own marks, and the group's offset is advisory.
func (s *Source) Finalize(ctx context.Context, p Partition, mark Mark) error {
	if s.opts.Group == "" {
		return nil
	}
	cl, release, err := s.adminClient()
	if err != nil {
		return fmt.Errorf("kafka: commit for group %q: %w", s.opts.Group, err)
	}
	defer release()
	if err := commitOffset(ctx, cl, s.opts.Group, mark.Topic, mark.Partition, mark.NextOffset); err != nil {
		return &PositionError{Topic: mark.Topic, Partition: mark.Partition, Offset: mark.NextOffset,
			Err: fmt.Errorf("commit for group %q: %w", s.opts.Group, err)}
	}
	return nil
}

// adminClient returns the shared client, holding it until release.
func (s *Source) adminClient() (*kgo.Client, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.opts.Brokers...)}, s.opts.ClientOptions...)...)
		if err != nil {
			return nil, nil, err
		}
		s.admin = cl
	}
	s.users++
	return s.admin, s.releaseAdmin, nil
}

// releaseAdmin closes the shared client when its last user is done.
func (s *Source) releaseAdmin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users--
	if s.users == 0 && s.admin != nil {
		s.admin.Close()
		s.admin = nil
	}
}

// open opens a reader of p after mark; with deadLetters, malformed
// records become items instead of errors.
func (s *Source) open(ctx context.Context, p Partition, mark *Mark, deadLetters bool) (*reader, error) {
	off := s.startOffset()
	if mark != nil {
		if mark.Topic != p.Topic || mark.Partition != p.Partition {
			return nil, fmt.Errorf("kafka: mark %+v is not a mark of partition %+v", *mark, p)
		}
		off = mark.NextOffset
	}
	r := &reader{maxDelay: s.opts.MaxDelay, wait: s.opts.PollWait}
	ro := ReaderOptions{
		Brokers: s.opts.Brokers, Topic: p.Topic, Partition: p.Partition, Offset: off,
		EventTime: s.opts.EventTime, MaxDelay: s.opts.MaxDelay, IdleAfter: s.opts.IdleAfter,
		Group: s.opts.Group, ReadUncommitted: s.opts.ReadUncommitted, ClientOptions: s.opts.ClientOptions,
		// The records' structs are recycled once copied out, unless a
		// user function sees them (it might keep one).
		recycle: s.opts.EventTime == nil,
	}
	if deadLetters {
		ro.DeadLetter = r.deadLetter
	}
	octx, cancel := context.WithTimeout(ctx, s.opts.OpenTimeout)
	defer cancel()
	pr, err := NewPartitionReader(octx, ro)
	if err != nil {
		return nil, err
	}
	r.pr, r.next = pr, pr.Mark().NextOffset
	if s.opts.Group != "" {
		// Hold the admin client while the reader is open, so that the
		// finalizations of its turns share one connection.
		if _, release, err := s.adminClient(); err == nil {
			r.release = release
		}
	}
	return r, nil
}

func (s *Source) startOffset() int64 {
	switch s.opts.Start {
	case StartLatest:
		return OffsetLatest
	case StartCommitted:
		return OffsetCommitted
	}
	return OffsetEarliest
}

// pollMax is how many records a reader fetches from its client at once.
const pollMax = 4096

// behindPolls is how many more polls a reader that knows it is behind the
// partition's end makes before it reports nothing to read.
const behindPolls = 10

// caughtUpWait is how long a reader that has handed out records and
// reached the partition's end waits for more: only for what its client has
// already fetched. Waiting PollWait there kept the turn, and the commit of
// the records it had read, open for nothing (about a tenth of a second at
// the end of every burst).
const caughtUpWait = time.Millisecond

// reader reads a partition one item at a time: Poll fetches batches, and
// Next hands out their records and dead letters in offset order, so that
// Mark can be taken after any one of them.
type reader struct {
	pr       *PartitionReader
	maxDelay time.Duration
	wait     time.Duration
	release  func()

	// recs holds the records of the last poll and dead its dead letters,
	// both in offset order; pos and dpos are the next of each to return.
	// Next merges them by offset as it goes: the records are not copied
	// into a list of items first (that copy, of every record, was about
	// 3% of a Kafka-to-Kafka job's CPU), and recs' array is reused by
	// the next poll.
	recs []Record
	pos  int
	dead []item
	dpos int
	// next is the offset after the last item returned.
	next int64
	// wm is the watermark of the items returned so far.
	wm time.Time
	// handed says an item was returned since the last poll.
	handed bool
}

// deadLetter is the PartitionReader's DeadLetter function.
func (r *reader) deadLetter(rec *kgo.Record, err error) {
	r.dead = append(r.dead, item{Message: message(rec), Error: err.Error()})
	rec.Recycle()
}

func message(rec *kgo.Record) Message {
	m := Message{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp}
	if len(rec.Headers) > 0 {
		m.Headers = make([]Header, len(rec.Headers))
		for i, h := range rec.Headers {
			m.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	return m
}

// nextItem returns the next item and its event time; ok is false when
// the partition has nothing new now.
func (r *reader) nextItem(ctx context.Context) (item, time.Time, bool, error) {
	if r.pos == len(r.recs) && r.dpos == len(r.dead) {
		if err := r.fill(ctx); err != nil || (r.pos == len(r.recs) && r.dpos == len(r.dead)) {
			return item{}, time.Time{}, false, err
		}
	}
	r.handed = true
	if r.dpos < len(r.dead) && (r.pos == len(r.recs) || r.dead[r.dpos].Message.Offset < r.recs[r.pos].Offset) {
		it := r.dead[r.dpos]
		r.dead[r.dpos] = item{} // let the record go once returned
		r.dpos++
		r.next = it.Message.Offset + 1
		et := it.Message.Timestamp
		if et.Before(r.wm) {
			// A dead letter is not a record the watermark promised to
			// hold for: keep it on time.
			et = r.wm
		}
		return it, et, true, nil
	}
	rec := r.recs[r.pos]
	r.recs[r.pos] = Record{} // let the record go once returned
	r.pos++
	r.next = rec.Offset + 1
	if w := rec.EventTime.Add(-r.maxDelay); w.After(r.wm) {
		r.wm = w
	}
	m := message(rec.Record)
	rec.Recycle() // the message holds no reference to the record's struct
	return item{Message: m}, rec.EventTime, true, nil
}

// fill polls the next batch of records and dead letters.
func (r *reader) fill(ctx context.Context) error {
	// Every slot was cleared as it was returned.
	r.recs, r.pos, r.dead, r.dpos = r.recs[:0], 0, r.dead[:0], 0
	wait := r.wait
	if r.handed && r.pr.Backlog() == 0 {
		wait = caughtUpWait
	}
	r.handed = false
	recs, err := r.pr.poll(ctx, r.recs, pollMax, wait)
	// A reader behind the partition's end is waiting for its next fetch,
	// not caught up: ending the turn would cost a checkpoint and a
	// reschedule for nothing, so it waits a little longer.
	for tries := 0; len(recs) == 0 && len(r.dead) == 0 && err == nil && r.pr.Backlog() > 0 && tries < behindPolls; tries++ {
		recs, err = r.pr.poll(ctx, r.recs, pollMax, r.wait)
	}
	if recs != nil {
		r.recs = recs // else keep the array for the next poll
	}
	if err != nil && len(recs)+len(r.dead) > 0 {
		// Hand out what was read before the error; the next poll
		// reports it again.
		return nil
	}
	if err != nil {
		var pe *PositionError
		if errors.As(err, &pe) && r.malformed(pe) {
			// The same record fails the same way on every retry.
			return sdk.Permanent(err)
		}
		return err
	}
	return nil
}

// malformed reports whether pe is a record the event-time function
// rejected, not an error of the brokers.
func (r *reader) malformed(pe *PositionError) bool {
	return r.pr.stuck != nil && errors.Is(r.pr.stuck, error(pe))
}

// watermark is a lower bound of the event times of the items still to
// come: what was returned less MaxDelay, and, once everything fetched is
// returned, the PartitionReader's (which moves with the clock when the
// partition is idle).
func (r *reader) watermark() time.Time {
	if r.pos == len(r.recs) && r.dpos == len(r.dead) {
		if w := r.pr.Watermark(); w.After(r.wm) {
			r.wm = w
		}
	}
	return r.wm
}

func (r *reader) mark() Mark {
	return Mark{Topic: r.pr.opts.Topic, Partition: r.pr.opts.Partition, NextOffset: r.next}
}

func (r *reader) close() error {
	r.pr.Close()
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return nil
}

// msgReader is the Reader of Source: records only.
type msgReader struct{ r *reader }

func (m msgReader) Next(ctx context.Context) (unbounded.Record[Message], bool, error) {
	it, et, ok, err := m.r.nextItem(ctx)
	return unbounded.Record[Message]{Value: it.Message, Time: et}, ok, err
}

func (m msgReader) Mark() Mark           { return m.r.mark() }
func (m msgReader) Watermark() time.Time { return m.r.watermark() }
func (m msgReader) Close() error         { return m.r.close() }

// dlSource is the source of ReadWithDeadLetters: records and dead
// letters, as items.
type dlSource struct{ *Source }

func (d dlSource) Open(ctx context.Context, p Partition, mark *Mark) (unbounded.Reader[item, Mark], error) {
	r, err := d.open(ctx, p, mark, true)
	if err != nil {
		return nil, err
	}
	return itemReader{r}, nil
}

// itemReader is the Reader of dlSource.
type itemReader struct{ r *reader }

func (i itemReader) Next(ctx context.Context) (unbounded.Record[item], bool, error) {
	it, et, ok, err := i.r.nextItem(ctx)
	return unbounded.Record[item]{Value: it, Time: et}, ok, err
}

func (i itemReader) Mark() Mark           { return i.r.mark() }
func (i itemReader) Watermark() time.Time { return i.r.watermark() }
func (i itemReader) Close() error         { return i.r.close() }
