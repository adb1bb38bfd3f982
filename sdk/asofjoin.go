package sdk

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/sdk/window"
)

// An as-of join (Flink's event-time temporal join, "FOR SYSTEM_TIME AS
// OF"; the reference's §7.1 enrichment) enriches a stream of events with
// the version of a changing keyed value that was current at each event's
// time: an item's name at the time of a sale, an exchange rate at the
// time of an order. Versions are a stream too: a version of key k at time
// t holds from t until the next version of k.
//
// The two inputs arrive in any order, so an event is not matched when it
// arrives but once the input watermark (the minimum of both inputs') has
// passed its time: every on-time version at or before the event is in
// state then, and the result does not depend on the order of arrival. An
// event-time timer at the event's time holds the output watermark there
// meanwhile, so the enriched event is not late downstream.

// AsOf configures an AsOfJoin. The zero value is a strict as-of join that
// keeps every version.
type AsOf struct {
	// Wait is how long (in event time) an event older than every version
	// of its key waits for the key's first version, for a stream whose
	// reference data may start after the events that need it (a sale
	// before its item was ever named). An event that found one within
	// Wait is enriched with the key's earliest version and stamped with
	// that version's time, once the watermark passes it; one that did not
	// comes out unmatched (HasRight false) when the watermark passes its
	// time plus Wait. Zero: an event with no version at or before its time
	// comes out unmatched at once, as Flink's left temporal join emits
	// NULLs.
	Wait time.Duration
	// Retain bounds the versions kept: a version superseded by a newer
	// one at time t is dropped once the watermark passes t+Retain. A late
	// event (behind the watermark by more than Retain) may then be
	// enriched with a newer version than the one current at its time.
	// Zero keeps every version (state then grows with the versions of a
	// key, which suits reference data that changes rarely). Retain should
	// be at least Wait, so that a waiting event still finds its key's
	// earliest version.
	Retain time.Duration
}

// AsOfJoin joins each event of events with the version of versions of
// the same key (and window) current at the event's time: the latest
// version at or before it. Each event comes out exactly once, as a Joined
// with HasLeft set and, if it found a version, HasRight set and Right the
// version; an event with none comes out with HasRight false (see
// AsOf.Wait), so no event is dropped silently. An event is emitted once
// the input watermark passes its time, with its own timestamp (see
// AsOf.Wait for one that waited for its key's first version). A version
// that arrives late (behind the watermark) does not change events already
// emitted. Both inputs need the same windowing and a key type with a
// deterministic coder; in the global window their state lasts as long as
// the job, bounded by AsOf.Retain.
func AsOfJoin[K, E, V any](s Scope, events PCollection[KV[K, E]], versions PCollection[KV[K, V]], as AsOf, opts ...Option) PCollection[KV[K, Joined[E, V]]] {
	o := collect(opts)
	name := pick(o.name, "AsOfJoin")
	if as.Wait < 0 || as.Retain < 0 {
		s.fail(name, "AsOf.Wait %v and AsOf.Retain %v may not be negative", as.Wait, as.Retain)
		return PCollection[KV[K, Joined[E, V]]]{}
	}
	cs := s.Scope(name)
	fn := &asOfJoinFn[K, E, V]{Wait: as.Wait.Milliseconds(), Retain: as.Retain.Milliseconds()}
	return ParDo(cs, DoFn[KV[K, Either[E, V]], KV[K, Joined[E, V]]](fn), Connect(cs, events, versions), Name("Join"))
}

// asOfJoinFn keeps a key's versions and its events in ordered lists by
// time. Timer tags are a kind and a time in milliseconds: 'e' matches the
// events of that time, 't' ends the wait of the events of that time that
// found no version, 'f' matches the waiting events once the watermark
// passes the version of that time, 'p' drops the versions the version of
// that time superseded. Wait and Retain are in milliseconds.
type asOfJoinFn[K, E, V any] struct {
	Wait, Retain int64

	Versions OrderedListState[V]
	// Pending are the events whose time the watermark has not passed.
	Pending OrderedListState[E]
	// Waiting are the events that found no version at or before their
	// time, waiting for their key's first one.
	Waiting OrderedListState[E]
	// First is the time of the key's earliest version, kept with Retain:
	// an event after it whose versions were dropped gets the oldest kept.
	First  ValueState[int64]
	Timers EventTimeTimerFamily
}

func (f *asOfJoinFn[K, E, V]) ProcessElement(ctx context.Context, kv KV[K, Either[E, V]], emit func(KV[K, Joined[E, V]])) error {
	t := eventTime(ctx)
	if kv.Value.Which == 0 {
		if err := f.Pending.Add(ctx, t.ToTime(), kv.Value.A); err != nil {
			return err
		}
		return f.Timers.Set(ctx, timerTag('e', t), t.ToTime())
	}
	if err := f.Versions.Add(ctx, t.ToTime(), kv.Value.B); err != nil {
		return err
	}
	if f.Retain > 0 {
		if err := f.Timers.Set(ctx, timerTag('p', t), capAt(ctx, t, f.Retain).ToTime()); err != nil {
			return err
		}
		first, ok, err := f.First.Read(ctx)
		if err != nil {
			return err
		}
		if !ok || int64(t) < first {
			if err := f.First.Write(ctx, int64(t)); err != nil {
				return err
			}
		}
	}
	if f.Wait == 0 {
		return nil
	}
	waiting, err := f.Waiting.Read(ctx)
	if err != nil || len(waiting) == 0 {
		return err
	}
	return f.Timers.Set(ctx, timerTag('f', t), t.ToTime())
}

// capAt returns t+d, capped at the expiry of the window being processed
// (and at the end of time).
func capAt(ctx context.Context, t window.Time, d int64) window.Time {
	fire := t + window.Time(d)
	if fire < t {
		fire = window.MaxTime
	}
	return min(fire, expiry(ctx))
}

func (f *asOfJoinFn[K, E, V]) OnTimer(ctx context.Context, ft FiredTimer, emit func(KV[K, Joined[E, V]])) error {
	kind, at, err := parseTimerTag("as-of join", ft.Tag)
	if err != nil {
		return err
	}
	key, err := CurrentKey[K](ctx)
	if err != nil {
		return err
	}
	out := func(e E, v V, has bool) {
		emit(KV[K, Joined[E, V]]{Key: key, Value: Joined[E, V]{Left: e, Right: v, HasLeft: true, HasRight: has}})
	}
	switch kind {
	case 'e':
		return f.match(ctx, at, out)
	case 'f':
		return f.flush(ctx, at, out)
	case 't':
		return f.expire(ctx, at, out)
	case 'p':
		return f.Versions.ClearRange(ctx, window.MinTime.ToTime(), at.ToTime())
	}
	return fmt.Errorf("sdk: as-of join: unknown timer tag %q", ft.Tag)
}

// match emits the events of time at with the version current then; with
// none, they wait (AsOf.Wait) or come out unmatched.
func (f *asOfJoinFn[K, E, V]) match(ctx context.Context, at window.Time, out func(E, V, bool)) error {
	from, to := at.ToTime(), (at + millisecond).ToTime()
	events, err := f.Pending.ReadRange(ctx, from, to)
	if err != nil || len(events) == 0 {
		return err
	}
	if err := f.Pending.ClearRange(ctx, from, to); err != nil {
		return err
	}
	versions, err := f.Versions.Read(ctx)
	if err != nil {
		return err
	}
	v, found := versionAt(versions, at)
	if !found && f.Retain > 0 && len(versions) > 0 {
		// The versions of at were dropped if the key had one by then.
		first, ok, err := f.First.Read(ctx)
		if err != nil {
			return err
		}
		if ok && int64(at) >= first {
			v, found = versions[0].Value, true
		}
	}
	if found || f.Wait == 0 {
		for _, e := range events {
			out(e.Value, v, found)
		}
		return nil
	}
	for _, e := range events {
		if err := f.Waiting.Add(ctx, from, e.Value); err != nil {
			return err
		}
	}
	// The wait ends when the watermark passes at+Wait: a version at that
	// time or before has its flush fire first, timers firing in time
	// order.
	if err := f.Timers.Set(ctx, timerTag('t', at), capAt(ctx, at, f.Wait+1).ToTime(), WithOutputTimestamp(from)); err != nil {
		return err
	}
	if len(versions) > 0 { // every version is after at: the earliest may end the wait
		if first := window.FromTime(versions[0].Timestamp); first-at <= window.Time(f.Wait) {
			return f.Timers.Set(ctx, timerTag('f', first), first.ToTime())
		}
	}
	return nil
}

// versionAt returns the latest of versions (in time order) at or before
// at, if there is one.
func versionAt[V any](versions []TimestampedValue[V], at window.Time) (V, bool) {
	var v V
	found := false
	for _, x := range versions {
		if window.FromTime(x.Timestamp) > at {
			break
		}
		v, found = x.Value, true
	}
	return v, found
}

// flush enriches the events waiting for a version at or before at, once
// the watermark has passed at: each gets the version current at its time
// if a late one came, else its key's earliest. An event whose wait ends
// before at keeps waiting, for its own timer to emit it unmatched: it may
// fire at the same time as this one, in either order.
func (f *asOfJoinFn[K, E, V]) flush(ctx context.Context, at window.Time, out func(E, V, bool)) error {
	from := at - window.Time(f.Wait)
	waiting, err := f.Waiting.ReadRange(ctx, from.ToTime(), window.MaxTime.ToTime())
	if err != nil || len(waiting) == 0 {
		return err
	}
	versions, err := f.Versions.Read(ctx)
	if err != nil || len(versions) == 0 {
		return err
	}
	last := window.MinTime
	for _, w := range waiting {
		t := window.FromTime(w.Timestamp)
		v, found := versionAt(versions, t)
		if !found {
			v = versions[0].Value
		}
		out(w.Value, v, true)
		if t != last {
			if err := f.Timers.Clear(ctx, timerTag('t', t)); err != nil {
				return err
			}
			last = t
		}
	}
	return f.Waiting.ClearRange(ctx, from.ToTime(), window.MaxTime.ToTime())
}

// expire emits the events of time at that are still waiting as
// unmatched.
func (f *asOfJoinFn[K, E, V]) expire(ctx context.Context, at window.Time, out func(E, V, bool)) error {
	from, to := at.ToTime(), (at + millisecond).ToTime()
	waiting, err := f.Waiting.ReadRange(ctx, from, to)
	if err != nil || len(waiting) == 0 {
		return err
	}
	var none V
	for _, w := range waiting {
		out(w.Value, none, false)
	}
	return f.Waiting.ClearRange(ctx, from, to)
}
