package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SinkOptions configure Write.
type SinkOptions struct {
	// Brokers are the seed brokers (host:port). Required.
	Brokers []string
	// Topic is the topic written to, unless a record names its own.
	// Required: each epoch's record is an offset of its partition 0.
	Topic string
	// SinkID names this sink in transactional IDs and group names
	// (default: Topic). Two sinks writing one topic need different IDs.
	SinkID string
	// Shards is how many transactions may run at once (default 1); see
	// foreach.Options.
	Shards int
	// Trigger, when set, decides how often epochs are cut; see
	// foreach.Options.
	Trigger *sdk.Trigger
	// TransactionTimeout bounds an epoch's transaction (default 1 minute).
	TransactionTimeout time.Duration
	// ClientOptions are added to the franz-go options of every client
	// (TLS, SASL, logging).
	ClientOptions []kgo.Opt
	// Name names the transform (default "kafka.Write").
	Name string

	// hook, in tests, injects failures at the named points of an epoch's
	// write: "open", "process", "commit" (before) and "committed" (after).
	hook func(point string, e foreach.Epoch) error
}

// Write sends in to Kafka exactly once per epoch: record turns an element
// into a record (its Topic defaults to opts.Topic). See the package doc for
// how replays are detected.
func Write[T any](s sdk.Scope, in sdk.PCollection[T], record func(T) *kgo.Record, opts SinkOptions) {
	name := opts.Name
	if name == "" {
		name = "kafka.Write"
	}
	if len(opts.Brokers) == 0 || opts.Topic == "" || record == nil {
		s.Fail(name, errors.New("kafka: Write needs Brokers, a Topic and a record function"))
		return
	}
	if opts.SinkID == "" {
		opts.SinkID = opts.Topic
	}
	if opts.TransactionTimeout <= 0 {
		opts.TransactionTimeout = time.Minute
	}
	fo := &foreach.Options[T]{Name: name, Shards: opts.Shards, Trigger: opts.Trigger}
	foreach.Write(s, func() foreach.Writer[T] { return &writer[T]{opts: &opts, record: record} }, in, fo)
}

// writer sends epochs, one transactional client per epoch. Process hands
// each record to the client as it comes (the transaction begins with the
// epoch's first record), so that producing overlaps decoding the epoch and
// the epoch is never held whole; Close flushes, records the epoch and
// commits.
type writer[T any] struct {
	opts   *SinkOptions
	record func(T) *kgo.Record

	// The open epoch: its client and ID, and whether its transaction has
	// begun.
	epoch foreach.Epoch
	id    string
	cl    *kgo.Client
	inTxn bool
	// topicID is the ID of the epoch's topic, as Open found it.
	topicID [16]byte
	// produced is the promise of every record; it keeps the first error.
	produced func(*kgo.Record, error)
	// ctx is the epoch's context (epochContext), which its client's calls
	// and records carry; cancel ends it when the client is closed.
	ctx    context.Context
	cancel context.CancelFunc

	// closing counts the clients of ended epochs still closing.
	closing sync.WaitGroup
	// mu guards failed, which the client's goroutines set.
	mu     sync.Mutex
	failed error
}

var _ foreach.Writer[int] = (*writer[int])(nil)

// epochID names an epoch's transactional ID and consumer group.
func (w *writer[T]) epochID(e foreach.Epoch) string {
	return fmt.Sprintf("beamgo-sink/%s/%d/%s/%d", w.opts.SinkID, e.Shard, e.WindowKey(), e.Pane)
}

// Open makes the epoch's transactional client, fences earlier attempts of
// the epoch, and reports whether the epoch is still to be written.
func (w *writer[T]) Open(ctx context.Context, e foreach.Epoch) (bool, error) {
	w.closeClient()
	w.ctx, w.cancel = epochContext(ctx)
	ctx = w.ctx
	w.epoch, w.id, w.inTxn, w.failed = e, w.epochID(e), false, nil
	if w.produced == nil {
		w.produced = w.onProduced
	}
	if err := w.inject("open"); err != nil {
		return false, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(w.opts.Brokers...),
		kgo.DefaultProduceTopic(w.opts.Topic),
		kgo.TransactionalID(w.id),
		kgo.TransactionTimeout(w.opts.TransactionTimeout),
	}, w.opts.ClientOptions...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return false, fmt.Errorf("kafka: client for %s: %w", w.id, err)
	}
	w.cl = cl
	// The topic's ID, which the epoch's record names, is asked for while
	// the producer ID is: one round trip less before the epoch's first
	// record, and one less in Close, which reuses it.
	ids := make(chan error, 1)
	go func() {
		var err error
		w.topicID, err = topicID(ctx, cl, w.opts.Topic)
		ids <- err
	}()
	// Initialising the producer ID fences an older attempt of this epoch:
	// its open transaction is aborted, its commit in flight completes.
	_, _, perr := cl.ProducerID(ctx)
	if err := <-ids; err != nil {
		return false, fmt.Errorf("kafka: topic %q: its ID for the record of %s: %w", w.opts.Topic, w.id, err)
	}
	if perr != nil {
		return false, fmt.Errorf("kafka: init producer for %s: %w", w.id, perr)
	}
	done, err := w.committed(ctx)
	return !done, err
}

// committed asks whether the epoch's group has its offset committed. It
// asks after the producer ID is initialised, so that an older attempt's
// commit is complete or fenced.
func (w *writer[T]) committed(ctx context.Context) (bool, error) {
	_, ok, err := fetchOffsetOf(ctx, w.cl, w.id, w.opts.Topic, w.topicID, 0)
	if err != nil {
		return false, fmt.Errorf("kafka: topic %q: read the record of %s: %w", w.opts.Topic, w.id, err)
	}
	return ok, nil
}

// Process hands v's record to the epoch's transaction, beginning it with
// the first record. The record carries the epoch's context, not ctx.
func (w *writer[T]) Process(_ context.Context, v T) error {
	ctx := w.ctx
	if err := w.inject("process"); err != nil {
		return err
	}
	r := w.record(v)
	if r == nil {
		return fmt.Errorf("kafka: topic %q: the record function returned nil for %v", w.opts.Topic, v)
	}
	first := !w.inTxn
	if !w.inTxn {
		if err := w.cl.BeginTransaction(); err != nil {
			return fmt.Errorf("kafka: begin %s: %w", w.id, err)
		}
		w.inTxn = true
	}
	topic := r.Topic
	if topic == "" {
		topic = w.opts.Topic
	}
	w.cl.Produce(ctx, r, w.produced)
	if first {
		w.awaitTopic(ctx, topic)
	}
	return nil
}

// awaitTopic waits, after the epoch's first record, until the epoch's
// client knows the partitions of topic, the record's: a client new to a
// topic keeps the records produced to it in a list of their own until a
// metadata request returns, asking for metadata again with each record
// (franz-go's unknown-topic path), and the epoch went on producing into
// that list, tens of thousands of records per epoch, each moved to its
// partition afterwards: about 3% of bench/kafka's CPU. The wait is one
// metadata round trip. It ends early when a record has failed (the topic
// does not exist, say: Close reports that) and after a second at most.
func (w *writer[T]) awaitTopic(ctx context.Context, topic string) {
	deadline := time.Now().Add(time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if l, _, _ := w.cl.PartitionLeader(topic, 0); l >= 0 {
			return
		}
		w.mu.Lock()
		failed := w.failed
		w.mu.Unlock()
		if failed != nil {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// onProduced keeps the first error of the records' promises.
func (w *writer[T]) onProduced(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed == nil {
		w.failed = fmt.Errorf("kafka: produce to topic %q for %s: %w", r.Topic, w.id, err)
	}
}

// Close flushes the epoch's records and commits them with the epoch's
// offset in one transaction; if err says the epoch failed, or flushing
// fails, it aborts the transaction instead (the retry's client fences this
// one anyway).
func (w *writer[T]) Close(_ context.Context, err error) error {
	defer w.closeClient()
	if !w.inTxn || w.cl == nil {
		return nil
	}
	ctx := w.ctx
	if err == nil {
		err = w.send(ctx)
		if err == nil {
			if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return fmt.Errorf("kafka: commit %s: %w", w.id, err)
			}
			return w.inject("committed")
		}
	}
	_ = w.cl.AbortBufferedRecords(ctx)
	_ = w.cl.EndTransaction(ctx, kgo.TryAbort)
	return err
}

// send waits for the records and commits the epoch's offset inside the
// open transaction.
//
// The epoch's offset is committed in the transaction while the records
// are flushed, not after: both only count if the transaction commits, and
// Kafka takes a transaction's offsets and records in any order (a
// producer may send offsets to its transaction with records in flight).
// If a record failed, Close aborts the transaction, offset and all.
func (w *writer[T]) send(ctx context.Context) error {
	recorded := make(chan error, 1)
	go func() {
		err := txnCommitOffset(ctx, w.cl, w.id, w.id, w.opts.Topic, w.topicID, 0, 1)
		if err != nil {
			err = fmt.Errorf("kafka: topic %q: record %s in its transaction: %w", w.opts.Topic, w.id, err)
		}
		recorded <- err
	}()
	ferr := w.cl.Flush(ctx)
	rerr := <-recorded
	if ferr != nil {
		return fmt.Errorf("kafka: flush %s: %w", w.id, ferr)
	}
	w.mu.Lock()
	failed := w.failed
	w.mu.Unlock()
	if failed != nil {
		return failed
	}
	if rerr != nil {
		return rerr
	}
	return w.inject("commit")
}

// closeClient closes the epoch's client in the background: its epoch has
// ended (committed or aborted, or fenced by the next attempt), and closing
// a client (its connections and goroutines) took up to tens of
// milliseconds of the worker's time per epoch on a busy machine.
// Teardown waits for the closes.
func (w *writer[T]) closeClient() {
	if w.cl != nil {
		cl := w.cl
		w.cl = nil
		w.closing.Go(cl.Close)
	}
	if w.cancel != nil {
		w.cancel()
		w.cancel = nil
	}
}

// epochContext returns a context for an epoch opened under parent, the
// context of the call that opens it: canceled when parent is, but not
// parent itself. The client's goroutines keep a record's context past the
// call (franz-go waits for an unknown topic's metadata with it), and the
// context a DoFn is handed is only valid during its call: the executor
// reuses it for the next element and for Teardown, which raced with those
// goroutines reading it. parent's Done channel is read here, in the call.
func epochContext(parent context.Context) (context.Context, context.CancelFunc) {
	done := parent.Done()
	ctx, cancel := context.WithCancel(context.Background())
	if done != nil {
		go func() {
			select {
			case <-done:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// inject returns the test hook's failure at point, if any.
func (w *writer[T]) inject(point string) error {
	if w.opts.hook == nil {
		return nil
	}
	return w.opts.hook(point, w.epoch)
}

// Teardown closes a client left open by a failed epoch and waits for the
// clients closing in the background.
func (w *writer[T]) Teardown(context.Context) error {
	w.closeClient()
	w.closing.Wait()
	return nil
}
