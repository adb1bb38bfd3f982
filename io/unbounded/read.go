package unbounded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
)

// Options configure Read; the zero value means the defaults.
type Options struct {
	// Name is the Read transform's name in its scope (default "ReadUnbounded").
	Name string
	// MaxRecords is how many records a partition's read emits before it
	// checkpoints (default 10000): smaller means lower latency, larger
	// means less overhead per record.
	MaxRecords int
	// MaxReadTime is how long a partition's read runs before it
	// checkpoints (default 1s).
	MaxReadTime time.Duration
	// PollInterval is how long a caught-up partition waits before it is
	// read again (default 100ms).
	PollInterval time.Duration
	// Idleness, when positive, marks a partition idle once it has had
	// nothing to read for that long: its watermark then follows the wall
	// clock minus Idleness instead of holding every window back.
	Idleness time.Duration
	// Discover, when positive, asks Source.Partitions again at that
	// interval and reads the new partitions. The watermark then stays
	// behind the wall clock of the last discovery: a partition found
	// later is assumed to hold no records older than that.
	Discover time.Duration
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "ReadUnbounded"
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = 10000
	}
	if o.MaxReadTime <= 0 {
		o.MaxReadTime = time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	return o
}

// slot is the element that carries one partition between checkpoints:
// the JSON of the partition and of its mark (nil: from the start), the
// partition's watermark so far and when it became idle (Unix
// milliseconds; 0 when it is not).
type slot struct {
	Partition []byte
	Mark      []byte
	Watermark int64
	IdleSince int64
}

// noWatermark is slot.Watermark before a reader reported one.
const noWatermark = int64(-1) << 62

// Read returns the records of src, an unbounded PCollection: Impulse, a
// ParDo that lists src's partitions (and, with Options.Discover, lists
// them again every interval), a Reshuffle that spreads them over workers,
// and a ParDo that reads each partition in turns of at most MaxRecords or
// MaxReadTime, checkpointing its mark between turns (see the package doc).
func Read[T, P, M any](s sdk.Scope, src Source[T, P, M], opts Options) sdk.PCollection[T] {
	o := opts.withDefaults()
	rs := s.Scope(o.Name)
	if src == nil || reflect.ValueOf(src).Kind() == reflect.Pointer && reflect.ValueOf(src).IsNil() {
		rs.Fail("Read", fmt.Errorf("unbounded: source is nil"))
		return sdk.PCollection[T]{}
	}
	cfg := &readConfig[T, P, M]{src: src, opts: o}
	typ := fmt.Sprintf("%T", src)
	cfg.impulse = sdk.Impulse(rs)
	parts := sdk.ParDo(rs, &partitionsFn[T, P, M]{SourceType: typ, Discover: o.Discover, cfg: cfg}, cfg.impulse, sdk.Name("Partitions"))
	cfg.in = sdk.Reshuffle(rs, parts)
	if !cfg.in.IsValid() {
		return sdk.PCollection[T]{}
	}
	out := sdk.ParDo(rs, &readFn[T, P, M]{SourceType: typ, MaxRecords: o.MaxRecords, MaxReadTime: o.MaxReadTime,
		PollInterval: o.PollInterval, Idleness: o.Idleness, cfg: cfg}, cfg.in, sdk.Name("ReadPartition"))
	if out.IsValid() {
		sdk.MarkUnbounded(rs, out)
	}
	return out
}

// readConfig is what Read's DoFns share; immutable once built, but for
// the pool of open readers.
type readConfig[T, P, M any] struct {
	src     Source[T, P, M]
	opts    Options
	impulse sdk.PCollection[[]byte]
	in      sdk.PCollection[slot]
	// readers holds the readers not in a turn, shared by every instance
	// of readFn in this process.
	readers readerPool[T, M]
}

// readerPool keeps the readers of partitions between turns, keyed by the
// partition's JSON, for whichever worker thread reads the partition next:
// a turn resumed on another thread than the last one took over its reader
// instead of opening the partition again (for Kafka: a new client that
// fetched from the mark again, 50-100 ms before its first record, and
// the old reader's fetched records thrown away), which with two threads
// happened about every third turn. A reader is taken out for a turn, so
// that one goroutine at a time uses it.
type readerPool[T, M any] struct {
	mu   sync.Mutex
	idle map[string]*openReader[T, M]
}

// take removes and returns the partition's reader, if the pool has one.
func (p *readerPool[T, M]) take(partition string) *openReader[T, M] {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.idle[partition]
	delete(p.idle, partition)
	return o
}

// put keeps o for the partition's next turn; a reader the pool held for
// the partition already (one an attempt presumed dead gave back) is
// closed.
func (p *readerPool[T, M]) put(partition string, o *openReader[T, M]) {
	p.mu.Lock()
	old := p.idle[partition]
	if p.idle == nil {
		p.idle = map[string]*openReader[T, M]{}
	}
	p.idle[partition] = o
	p.mu.Unlock()
	if old != nil {
		old.r.Close()
	}
}

// closeAll closes and drops every reader not in a turn.
func (p *readerPool[T, M]) closeAll() error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var errs []error
	for _, o := range idle {
		errs = append(errs, o.r.Close())
	}
	return errors.Join(errs...)
}

// partitionsFn lists the partitions; with Discover it checkpoints the
// list it has seen and lists again after the interval.
type partitionsFn[T, P, M any] struct {
	SourceType string
	Discover   time.Duration
	cfg        *readConfig[T, P, M]
}

func (f *partitionsFn[T, P, M]) ProcessElement(ctx context.Context, known []byte, emit func(slot)) error {
	var seen []string
	if len(known) > 0 {
		if err := json.Unmarshal(known, &seen); err != nil {
			return fmt.Errorf("unbounded: %s: the partitions seen: %w", f.SourceType, err)
		}
	}
	ps, err := f.cfg.src.Partitions(ctx)
	if err != nil {
		return fmt.Errorf("unbounded: %s: Partitions: %w", f.SourceType, err)
	}
	now := time.Now()
	if f.Discover > 0 {
		// Partitions found now start at the discovery's time; see
		// Options.Discover.
		sdk.SetTimestamp(ctx, now)
	}
	for i, p := range ps {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("unbounded: %s: partition %d (%v) does not encode as JSON: %w", f.SourceType, i, p, err)
		}
		if slices.Contains(seen, string(b)) {
			continue
		}
		seen = append(seen, string(b))
		emit(slot{Partition: b, Watermark: noWatermark})
	}
	if f.Discover <= 0 {
		return nil
	}
	next, err := json.Marshal(seen)
	if err != nil {
		return fmt.Errorf("unbounded: %s: the partitions seen: %w", f.SourceType, err)
	}
	if err := sdk.Checkpoint(ctx, f.cfg.impulse, next, f.Discover, now); err != nil {
		return fmt.Errorf("unbounded: %s: discovery: %w: %w", f.SourceType, ErrRunnerCannotResume, err)
	}
	return nil
}

// readFn reads partitions in turns. The readers of the partitions read
// last stay open in the shared pool (readConfig.readers), so that a
// partition resumed at the mark its reader stands at goes on without
// reopening, on any instance.
type readFn[T, P, M any] struct {
	SourceType   string
	MaxRecords   int
	MaxReadTime  time.Duration
	PollInterval time.Duration
	Idleness     time.Duration
	cfg          *readConfig[T, P, M]
}

// openReader is a reader kept between turns and the JSON of its mark.
type openReader[T, M any] struct {
	r    Reader[T, M]
	mark []byte
}

// Teardown closes the readers not in a turn. Another instance still
// running opens its partition again if it needs it; the last instance
// torn down closes what the others gave back.
func (f *readFn[T, P, M]) Teardown(context.Context) error {
	return f.cfg.readers.closeAll()
}

func (f *readFn[T, P, M]) ProcessElement(ctx context.Context, sl slot, emit func(T)) error {
	var p P
	if err := json.Unmarshal(sl.Partition, &p); err != nil {
		return fmt.Errorf("unbounded: %s: partition %s: %w", f.SourceType, sl.Partition, err)
	}
	o, err := f.reader(ctx, sl, p)
	if err != nil {
		return err
	}
	// The reader goes back to the pool only after a turn that
	// checkpointed; any other way out closes it.
	kept := false
	defer func() {
		if !kept {
			o.r.Close()
		}
	}()
	r := o.r
	// The turn's time runs out when the timer says so: reading the clock
	// after every record was 3% of a Kafka-to-Kafka job's CPU.
	var expired atomic.Bool
	timer := time.AfterFunc(f.MaxReadTime, func() { expired.Store(true) })
	defer timer.Stop()
	idle, ended := false, false
	// The reader may derive contexts that outlive a call (timers, client
	// goroutines); the element's context is reused for the next element,
	// so it gets the bundle's.
	bctx := sdk.BundleContext(ctx)
	for n := 0; n < f.MaxRecords && !expired.Load(); n++ {
		rec, ok, err := r.Next(bctx)
		if errors.Is(err, io.EOF) {
			ended = true
			break
		}
		if err != nil {
			return fmt.Errorf("unbounded: %s: partition %s after mark %s: %w", f.SourceType, sl.Partition, markText(sl.Mark), err)
		}
		if !ok {
			idle = true
			break
		}
		sdk.SetTimestamp(ctx, rec.Time)
		emit(rec.Value)
	}
	mark := r.Mark()
	mj, err := json.Marshal(mark)
	if err != nil {
		return fmt.Errorf("unbounded: %s: partition %s: mark %v does not encode as JSON: %w", f.SourceType, sl.Partition, mark, err)
	}
	if fin, ok := f.cfg.src.(Finalizer[P, M]); ok && !bytes.Equal(mj, sl.Mark) {
		sdk.OnCommit(ctx, func(ctx context.Context) error { return fin.Finalize(ctx, p, mark) })
	}
	if ended {
		return nil
	}
	next := f.advance(sl, r, idle)
	next.Mark = mj
	delay := time.Duration(0)
	if idle {
		delay = f.PollInterval
	}
	var wm time.Time
	if next.Watermark != noWatermark {
		wm = time.UnixMilli(next.Watermark)
	}
	if err := sdk.Checkpoint(ctx, f.cfg.in, next, delay, wm); err != nil {
		return fmt.Errorf("unbounded: %s: partition %s: %w: %w", f.SourceType, sl.Partition, ErrRunnerCannotResume, err)
	}
	o.mark, kept = mj, true
	f.cfg.readers.put(string(sl.Partition), o)
	return nil
}

// advance returns the partition's slot after a turn: its watermark, never
// behind the last one, and its idleness.
func (f *readFn[T, P, M]) advance(sl slot, r Reader[T, M], idle bool) slot {
	next := slot{Partition: sl.Partition, Watermark: sl.Watermark}
	if w := r.Watermark(); !w.IsZero() {
		next.Watermark = max(next.Watermark, w.UnixMilli())
	}
	if !idle {
		return next
	}
	now := time.Now()
	next.IdleSince = sl.IdleSince
	if next.IdleSince == 0 {
		next.IdleSince = now.UnixMilli()
	}
	if f.Idleness > 0 && now.Sub(time.UnixMilli(next.IdleSince)) >= f.Idleness {
		next.Watermark = max(next.Watermark, now.Add(-f.Idleness).UnixMilli())
	}
	return next
}

// reader takes the pool's reader of the slot's partition if it stands at
// the slot's mark, or opens one there; the caller closes it or puts it
// back. A reader at another mark (one whose turn's output was not
// committed, so that the partition resumes from an earlier mark) is
// closed.
func (f *readFn[T, P, M]) reader(ctx context.Context, sl slot, p P) (*openReader[T, M], error) {
	if o := f.cfg.readers.take(string(sl.Partition)); o != nil {
		if bytes.Equal(o.mark, sl.Mark) {
			return o, nil
		}
		o.r.Close()
	}
	var mark *M
	if len(sl.Mark) > 0 {
		mark = new(M)
		if err := json.Unmarshal(sl.Mark, mark); err != nil {
			return nil, fmt.Errorf("unbounded: %s: partition %s: mark %s: %w", f.SourceType, sl.Partition, sl.Mark, err)
		}
	}
	r, err := f.cfg.src.Open(sdk.BundleContext(ctx), p, mark)
	if err != nil {
		return nil, fmt.Errorf("unbounded: %s: opening partition %s after mark %s: %w", f.SourceType, sl.Partition, markText(sl.Mark), err)
	}
	return &openReader[T, M]{r: r, mark: sl.Mark}, nil
}

func markText(m []byte) string {
	if len(m) == 0 {
		return "(start)"
	}
	return string(m)
}
