package sdk

import (
	"context"
	"time"
)

// Dedup configures Deduplicate and DeduplicatePerKey: how long an
// element is remembered after its first occurrence, and on which clock.
type Dedup struct {
	// Within is how long after a first occurrence its duplicates are
	// dropped (default 10 minutes, as Beam's Deduplicate).
	Within time.Duration
	// EventTime measures Within in event time: a duplicate is dropped
	// until the watermark passes the first occurrence's timestamp plus
	// Within (Spark's dropDuplicatesWithinWatermark). By default Within
	// is measured on the job's processing-time clock from the first
	// occurrence's arrival, as Beam's Deduplicate does; over bounded
	// input, whose processing-time timers fire only once it has ended,
	// a first occurrence is then remembered for the rest of the job.
	EventTime bool
}

// defaultDedupWithin is Beam's Deduplicate's default duration.
const defaultDedupWithin = 10 * time.Minute

// Deduplicate passes each element of in the first time it occurs and
// drops the elements equal to it that follow within d.Within (Beam's
// Deduplicate.values, Spark's dropDuplicatesWithinWatermark), per window.
// Unlike Distinct, which emits each distinct element once its window's
// pane fires, it emits a first occurrence as it arrives, with its own
// timestamp, so it suits the global window of a stream; a duplicate that
// comes after d.Within is a first occurrence again. Which of several
// equal elements arriving at once passes is up to the runner (their
// timestamps may differ). Elements are compared by their encoding, so T's
// coder must be deterministic; otherwise construction fails naming the
// transform.
func Deduplicate[T comparable](s Scope, in PCollection[T], d Dedup, opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Deduplicate")
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	cs := s.Scope(name)
	return Keys(cs, dedupPerKey(s, cs, name, keyedByElement(cs, in), d))
}

// DeduplicatePerKey passes the first element of each key of in and drops
// the elements of that key that follow within d.Within, whatever their
// values (Beam's Deduplicate.keyedValues), per window; see Deduplicate.
// The key's coder must be deterministic.
func DeduplicatePerKey[K comparable, V any](s Scope, in PCollection[KV[K, V]], d Dedup, opts ...Option) PCollection[KV[K, V]] {
	o := collect(opts)
	name := pick(o.name, "DeduplicatePerKey")
	if !s.checkInputs(name, in.c) {
		return PCollection[KV[K, V]]{}
	}
	return dedupPerKey(s, s.Scope(name), name, in, d)
}

// dedupPerKey is the stateful ParDo of both: per key, a flag that a first
// occurrence passed and a timer that clears it after d.Within.
func dedupPerKey[K comparable, V any](s, cs Scope, name string, in PCollection[KV[K, V]], d Dedup) PCollection[KV[K, V]] {
	if d.Within < 0 {
		s.fail(name, "Dedup.Within %v may not be negative", d.Within)
		return PCollection[KV[K, V]]{}
	}
	if d.Within == 0 {
		d.Within = defaultDedupWithin
	}
	switch {
	case d.EventTime:
		return ParDo(cs, DoFn[KV[K, V], KV[K, V]](&dedupEventFn[K, V]{Within: d.Within.Milliseconds()}), in, Name("FirstOccurrences"))
	case in.IsBounded():
		// A batch job's processing-time timers fire only once its input
		// has ended (reference §1.1), when the state goes anyway: a key is
		// remembered until then with no timer, which saves a timer per
		// key, and on runners that wait for processing-time timers on the
		// wall clock (Prism) the job does not wait out Within at its end.
		return ParDo(cs, DoFn[KV[K, V], KV[K, V]](&dedupOnceFn[K, V]{}), in, Name("FirstOccurrences"))
	}
	return ParDo(cs, DoFn[KV[K, V], KV[K, V]](&dedupProcFn[K, V]{Within: d.Within}), in, Name("FirstOccurrences"))
}

// dedupOnceFn remembers a key for as long as its window's state lasts.
type dedupOnceFn[K, V any] struct {
	Seen ValueState[bool]
}

func (f *dedupOnceFn[K, V]) ProcessElement(ctx context.Context, kv KV[K, V], emit func(KV[K, V])) error {
	first, err := firstOccurrence(ctx, &f.Seen)
	if first {
		emit(kv)
	}
	return err
}

// firstOccurrence reports whether the key being processed was not seen
// yet, and marks it seen.
func firstOccurrence(ctx context.Context, seen *ValueState[bool]) (bool, error) {
	was, _, err := seen.Read(ctx)
	if err != nil || was {
		return false, err
	}
	return true, seen.Write(ctx, true)
}

// dedupEventFn remembers a key until the watermark passes its first
// occurrence's timestamp plus Within (milliseconds).
type dedupEventFn[K, V any] struct {
	Within int64
	Seen   ValueState[bool]
	Expiry EventTimeTimer
}

func (f *dedupEventFn[K, V]) ProcessElement(ctx context.Context, kv KV[K, V], emit func(KV[K, V])) error {
	if first, err := firstOccurrence(ctx, &f.Seen); err != nil || !first {
		return err
	}
	// The timer's hold is its fire time, which the input watermark
	// reaches only as it fires: it holds the output watermark back from
	// nothing (a hold at the element's time would, for Within).
	if err := f.Expiry.Set(ctx, capAt(ctx, eventTime(ctx), f.Within).ToTime()); err != nil {
		return err
	}
	emit(kv)
	return nil
}

func (f *dedupEventFn[K, V]) OnTimer(ctx context.Context, _ FiredTimer, _ func(KV[K, V])) error {
	return f.Seen.Clear(ctx)
}

// dedupProcFn remembers a key for Within of processing time after its
// first occurrence arrived.
type dedupProcFn[K, V any] struct {
	Within time.Duration
	Seen   ValueState[bool]
	Expiry ProcessingTimeTimer
}

func (f *dedupProcFn[K, V]) ProcessElement(ctx context.Context, kv KV[K, V], emit func(KV[K, V])) error {
	if first, err := firstOccurrence(ctx, &f.Seen); err != nil || !first {
		return err
	}
	// The timer emits nothing, so it holds the output watermark at the
	// window's expiry, which it never passes before then, and not at the
	// element's timestamp, where it would hold it back for Within.
	if err := f.Expiry.SetAfter(ctx, f.Within, WithOutputTimestamp(expiry(ctx).ToTime())); err != nil {
		return err
	}
	emit(kv)
	return nil
}

func (f *dedupProcFn[K, V]) OnTimer(ctx context.Context, _ FiredTimer, _ func(KV[K, V])) error {
	return f.Seen.Clear(ctx)
}
