package unbounded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
)

// Extractor produces a batch of records every interval, as the extractors
// of MemSQL Streamliner do. Next gets the batch's number (0, 1, 2, ...),
// and returns io.EOF to end the stream. A failed bundle asks for the same
// batch number again: an extractor that can produce batch n again (the
// rows of a time range, the files of a listing) gives exactly-once
// results; one that cannot is at-least-once.
//
// An Extractor may also implement Initialize(ctx) error, called before
// its first batch in a worker (open connections), and Cleanup(ctx) error,
// called when the worker is done with it.
type Extractor[T any] interface {
	Next(ctx context.Context, batch int64) ([]T, error)
}

// Batch is one batch of an Extractor: its number, the time it was due in
// Unix milliseconds (also its event timestamp) and its records.
type Batch[T any] struct {
	ID        int64
	DueMillis int64
	Records   []T
}

// Due returns the time the batch was due.
func (b Batch[T]) Due() time.Time { return time.UnixMilli(b.DueMillis) }

// ExtractOptions configure Extract.
type ExtractOptions struct {
	// Name is the transform's name (default "Extract").
	Name string
	// Start is when batch 0 is due (default: when the job starts reading;
	// set it for deterministic batch times).
	Start time.Time
	// Unpaced asks for the batches as fast as they are processed, with
	// the due times they would have had: for tests and back-fills.
	Unpaced bool
}

// Extract polls ext every interval and returns its batches, each stamped
// with its due time, as an unbounded PCollection. Batch n is due at
// Start + n*interval; the watermark follows the due times.
func Extract[T any](s sdk.Scope, interval time.Duration, ext Extractor[T], opts ExtractOptions) sdk.PCollection[Batch[T]] {
	if opts.Name == "" {
		opts.Name = "Extract"
	}
	if interval <= 0 {
		s.Fail(opts.Name, fmt.Errorf("unbounded: Extract: interval %v is not positive", interval))
		return sdk.PCollection[Batch[T]]{}
	}
	if ext == nil {
		s.Fail(opts.Name, errors.New("unbounded: Extract: extractor is nil"))
		return sdk.PCollection[Batch[T]]{}
	}
	src := &extractSource[T]{Interval: interval, Start: opts.Start, Unpaced: opts.Unpaced, ext: ext}
	return Read[Batch[T], ExtractPartition, ExtractMark](s, src, Options{Name: opts.Name, MaxRecords: 1, PollInterval: min(interval/4, 100*time.Millisecond)})
}

// ExtractPartition is the one partition of an Extract.
type ExtractPartition struct{}

// ExtractMark is the number of the next batch of an Extract and the time
// batch 0 was due.
type ExtractMark struct {
	Next      int64
	StartUnix int64 // Unix milliseconds
}

// extractSource adapts an Extractor to Source. Its exported fields
// describe it in the pipeline.
type extractSource[T any] struct {
	Interval time.Duration
	Start    time.Time
	Unpaced  bool
	ext      Extractor[T]
}

func (e *extractSource[T]) Partitions(context.Context) ([]ExtractPartition, error) {
	return []ExtractPartition{{}}, nil
}

func (e *extractSource[T]) Open(ctx context.Context, _ ExtractPartition, mark *ExtractMark) (Reader[Batch[T], ExtractMark], error) {
	m := ExtractMark{StartUnix: e.Start.UnixMilli()}
	if e.Start.IsZero() {
		m.StartUnix = time.Now().UnixMilli()
	}
	if mark != nil {
		m = *mark
	}
	if in, ok := e.ext.(interface{ Initialize(context.Context) error }); ok {
		if err := in.Initialize(ctx); err != nil {
			return nil, fmt.Errorf("Initialize: %w", err)
		}
	}
	return &extractReader[T]{e: e, m: m, ctx: ctx}, nil
}

type extractReader[T any] struct {
	e   *extractSource[T]
	m   ExtractMark
	ctx context.Context
}

func (r *extractReader[T]) due(n int64) time.Time {
	return time.UnixMilli(r.m.StartUnix).Add(time.Duration(n) * r.e.Interval)
}

func (r *extractReader[T]) Next(ctx context.Context) (Record[Batch[T]], bool, error) {
	due := r.due(r.m.Next)
	if !r.e.Unpaced && time.Now().Before(due) {
		return Record[Batch[T]]{}, false, nil
	}
	recs, err := r.e.ext.Next(ctx, r.m.Next)
	if errors.Is(err, io.EOF) {
		return Record[Batch[T]]{}, false, io.EOF
	}
	if err != nil {
		return Record[Batch[T]]{}, false, fmt.Errorf("batch %d: %w", r.m.Next, err)
	}
	b := Batch[T]{ID: r.m.Next, DueMillis: due.UnixMilli(), Records: recs}
	r.m.Next++
	return Record[Batch[T]]{Value: b, Time: due}, true, nil
}

func (r *extractReader[T]) Mark() ExtractMark { return r.m }

func (r *extractReader[T]) Watermark() time.Time { return r.due(r.m.Next) }

func (r *extractReader[T]) Close() error {
	if c, ok := r.e.ext.(interface{ Cleanup(context.Context) error }); ok {
		if err := c.Cleanup(context.WithoutCancel(r.ctx)); err != nil {
			return fmt.Errorf("Cleanup: %w", err)
		}
	}
	return nil
}

// Transformer turns each batch's records into new records, as the
// transformers of MemSQL Streamliner do. It may also implement
// Initialize(ctx) error and Cleanup(ctx) error, called once per worker
// instance before its first batch and after its last.
type Transformer[In, Out any] interface {
	Transform(ctx context.Context, records []In) ([]Out, error)
}

// Transform applies t to every batch, keeping the batch's number and due
// time.
func Transform[In, Out any](s sdk.Scope, t Transformer[In, Out], batches sdk.PCollection[Batch[In]], opts ...sdk.Option) sdk.PCollection[Batch[Out]] {
	if t == nil {
		s.Fail("Transform", errors.New("unbounded: Transform: transformer is nil"))
		return sdk.PCollection[Batch[Out]]{}
	}
	return sdk.ParDo(s, &transformFn[In, Out]{TransformerType: fmt.Sprintf("%T", t), t: t}, batches, append([]sdk.Option{sdk.Name("Transform")}, opts...)...)
}

type transformFn[In, Out any] struct {
	TransformerType string
	t               Transformer[In, Out]
}

func (f *transformFn[In, Out]) Setup(ctx context.Context) error {
	if in, ok := f.t.(interface{ Initialize(context.Context) error }); ok {
		return in.Initialize(ctx)
	}
	return nil
}

func (f *transformFn[In, Out]) Teardown(ctx context.Context) error {
	if c, ok := f.t.(interface{ Cleanup(context.Context) error }); ok {
		return c.Cleanup(ctx)
	}
	return nil
}

func (f *transformFn[In, Out]) ProcessElement(ctx context.Context, b Batch[In], emit func(Batch[Out])) error {
	out, err := f.t.Transform(ctx, b.Records)
	if err != nil {
		return fmt.Errorf("unbounded: %s: batch %d: %w", f.TransformerType, b.ID, err)
	}
	emit(Batch[Out]{ID: b.ID, DueMillis: b.DueMillis, Records: out})
	return nil
}
