package kafka

import (
	"context"
	"errors"
	"fmt"
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

// writer sends epochs, one transactional client per epoch.
type writer[T any] struct {
	opts   *SinkOptions
	record func(T) *kgo.Record

	// The open epoch: its client, ID and records.
	epoch foreach.Epoch
	id    string
	cl    *kgo.Client
	recs  []*kgo.Record
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
	w.epoch, w.id, w.recs = e, w.epochID(e), w.recs[:0]
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
	// Initialising the producer ID fences an older attempt of this epoch:
	// its open transaction is aborted, its commit in flight completes.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return false, fmt.Errorf("kafka: init producer for %s: %w", w.id, err)
	}
	done, err := w.committed(ctx)
	return !done, err
}

// committed asks whether the epoch's group has its offset committed.
func (w *writer[T]) committed(ctx context.Context) (bool, error) {
	_, ok, err := fetchOffset(ctx, w.cl, w.id, w.opts.Topic, 0)
	if err != nil {
		return false, fmt.Errorf("kafka: topic %q: read the record of %s: %w", w.opts.Topic, w.id, err)
	}
	return ok, nil
}

// Process adds v's record to the epoch.
func (w *writer[T]) Process(_ context.Context, v T) error {
	if err := w.inject("process"); err != nil {
		return err
	}
	r := w.record(v)
	if r == nil {
		return fmt.Errorf("kafka: topic %q: the record function returned nil for %v", w.opts.Topic, v)
	}
	w.recs = append(w.recs, r)
	return nil
}

// Close sends the epoch's records and its offset in one transaction,
// unless err says the epoch failed (then the transaction is never begun).
func (w *writer[T]) Close(ctx context.Context, err error) error {
	defer func() {
		w.closeClient()
		clear(w.recs) // the records are sent: let them go
	}()
	if err != nil || len(w.recs) == 0 || w.cl == nil {
		return nil
	}
	if err := w.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("kafka: begin %s: %w", w.id, err)
	}
	if err := w.send(ctx); err != nil {
		// Abort what was sent; the retry fences this producer anyway.
		_ = w.cl.EndTransaction(ctx, kgo.TryAbort)
		return err
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("kafka: commit %s: %w", w.id, err)
	}
	return w.inject("committed")
}

// send produces the records and commits the epoch's offset inside the
// open transaction.
func (w *writer[T]) send(ctx context.Context) error {
	results := w.cl.ProduceSync(ctx, w.recs...)
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("kafka: produce to topic %q for %s: %w", r.Record.Topic, w.id, r.Err)
		}
	}
	if err := txnCommitOffset(ctx, w.cl, w.id, w.id, w.opts.Topic, 0, 1); err != nil {
		return fmt.Errorf("kafka: topic %q: record %s in its transaction: %w", w.opts.Topic, w.id, err)
	}
	return w.inject("commit")
}

func (w *writer[T]) closeClient() {
	if w.cl != nil {
		w.cl.Close()
		w.cl = nil
	}
}

// inject returns the test hook's failure at point, if any.
func (w *writer[T]) inject(point string) error {
	if w.opts.hook == nil {
		return nil
	}
	return w.opts.hook(point, w.epoch)
}

// Teardown closes a client left open by a failed epoch.
func (w *writer[T]) Teardown(context.Context) error {
	w.closeClient()
	return nil
}
