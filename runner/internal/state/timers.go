package state

import (
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Domain is a timer's time domain.
type Domain uint8

const (
	// EventTime timers fire when the input watermark passes them (IW >
	// fire time).
	EventTime Domain = 1
	// ProcessingTime timers fire when the processing clock reaches them
	// (clock >= fire time).
	ProcessingTime Domain = 2
)

// String names d.
func (d Domain) String() string {
	switch d {
	case EventTime:
		return "event-time"
	case ProcessingTime:
		return "processing-time"
	}
	return fmt.Sprintf("Domain(%d)", uint8(d))
}

// TimerID is the identity of a timer: at most one timer per identity is
// pending; setting it again replaces it, clearing deletes it.
type TimerID struct {
	Transform TransformID
	Family    FamilyID
	Tag       string
	Key       []byte
	Window    window.Window
}

// Timer is a pending timer.
type Timer struct {
	TimerID
	Domain Domain
	// Fire is the firing time (event time or processing time by Domain).
	Fire window.Time
	// Hold is the output timestamp: the timer holds the stage's output
	// watermark at Hold until it fires or is cleared or reset.
	Hold window.Time
	// NoHold marks a timer without output timestamp; Hold is ignored.
	NoHold bool
}

// Times are the engine's clocks for deciding which timers are eligible.
type Times struct {
	// Input is the stage's input watermark: event-time timers with Fire <
	// Input are eligible, and windows whose GC time is below Input have
	// expired (their processing-time timers never fire).
	Input window.Time
	// Clock is the processing-time clock: processing-time timers with Fire
	// <= Clock are eligible.
	Clock window.Time
}

// TimerError reports a timer the store refuses to set; match it with
// errors.As.
type TimerError struct {
	Timer  Timer
	Reason string
}

// Error describes the refused timer.
func (e *TimerError) Error() string {
	return fmt.Sprintf("state: timer %s/%s/%q in %v: %s", e.Timer.Transform, e.Timer.Family, e.Timer.Tag, e.Timer.Window, e.Reason)
}

// validate checks the rules the store can check without knowing the input
// timestamp (the SDK checks the rest, case 28 of the reference).
func (s *Store) validate(t Timer) error {
	gc := s.GCTime(t.Window)
	bad := func(reason string, args ...any) error {
		return &TimerError{Timer: t, Reason: fmt.Sprintf(reason, args...)}
	}
	switch {
	case t.Domain != EventTime && t.Domain != ProcessingTime:
		return bad("unknown time domain %d", t.Domain)
	case t.Domain == EventTime && t.Fire > gc:
		return bad("fires at %v, after the window's expiry %v", t.Fire, gc)
	case t.NoHold:
		return nil
	case t.Domain == EventTime && t.Hold > t.Fire:
		return bad("output timestamp %v after the firing time %v", t.Hold, t.Fire)
	case t.Hold > gc:
		return bad("output timestamp %v after the window's expiry %v", t.Hold, gc)
	}
	return nil
}

// SetTimer sets t, replacing the pending timer of the same identity (its
// time and hold) if there is one.
//
// Every event of a typical stateful DoFn moves its key's timer, so this
// is on the hot path: the old timer is read for its times alone, and the
// index entries that do not change with them are left alone.
func (b *Bundle) SetTimer(t Timer) error {
	if err := b.use(t.Key); err != nil {
		return err
	}
	if err := b.s.validate(t); err != nil {
		return err
	}
	// The store keys are built in b.kbuf one at a time: the write set
	// copies them.
	b.kbuf = timerKey(b.kbuf[:0], t.TimerID)
	old, had, err := b.pendingTimes(b.kbuf, t.TimerID)
	if err != nil {
		return err
	}
	if had && old.Domain == t.Domain && old.Fire == t.Fire && old.NoHold == t.NoHold && old.Hold == t.Hold {
		return nil // unchanged
	}
	b.lower(t.Domain, t.Fire)
	rec := encodeTimer(nil, t)
	b.w.set(b.kbuf, rec)
	b.stamp(b.kbuf, t.Key, t.Window)
	fireMoved := !had || old.Domain != t.Domain || old.Fire != t.Fire
	if fireMoved && had {
		b.w.delete(b.key(perKeyKey, old))
		b.w.delete(b.key(dueKey, old))
	}
	// The per-key entry holds the record, so it is rewritten whenever the
	// timer changes; the due entry only when the firing time moved.
	b.w.set(b.key(perKeyKey, t), rec)
	if fireMoved {
		b.w.set(b.key(dueKey, t), nil)
	}
	holdMoved := !had || old.NoHold != t.NoHold || old.Hold != t.Hold
	if holdMoved && had && !old.NoHold {
		b.w.delete(b.key(holdKey, old))
	}
	if holdMoved && !t.NoHold {
		b.w.set(b.key(holdKey, t), nil)
	}
	return nil
}

// key returns t's index key built by enc in b.kbuf, valid until the next
// use of b.kbuf.
func (b *Bundle) key(enc func([]byte, Timer) []byte, t Timer) []byte {
	b.kbuf = enc(b.kbuf[:0], t)
	return b.kbuf
}

// pendingTimes returns the pending timer with identity id, whose primary
// key is tk, decoding only its times: the identity is id's.
func (b *Bundle) pendingTimes(tk []byte, id TimerID) (Timer, bool, error) {
	v, ok, err := b.get(tk)
	if err != nil || !ok {
		return Timer{}, false, err
	}
	t, err := decodeTimerTimes(v)
	t.TimerID = id
	return t, err == nil, err
}

// Timer returns the pending timer with identity id.
func (b *Bundle) Timer(id TimerID) (Timer, bool, error) {
	if err := b.use(id.Key); err != nil {
		return Timer{}, false, err
	}
	v, ok, err := b.get(timerKey(nil, id))
	if err != nil || !ok {
		return Timer{}, false, err
	}
	t, err := decodeTimer(v)
	return t, err == nil, err
}

// ClearTimer deletes the pending timer with identity id, reporting whether
// there was one.
func (b *Bundle) ClearTimer(id TimerID) (bool, error) {
	if err := b.use(id.Key); err != nil {
		return false, err
	}
	old, ok, err := b.pendingTimes(timerKey(nil, id), id)
	if err != nil || !ok {
		return false, err
	}
	b.deleteTimer(old)
	return true, nil
}

// deleteTimer deletes t and its index entries.
func (b *Bundle) deleteTimer(t Timer) {
	b.kbuf = timerKey(b.kbuf[:0], t.TimerID)
	b.w.delete(b.kbuf)
	b.w.delete(b.key(perKeyKey, t))
	b.w.delete(b.key(dueKey, t))
	if !t.NoHold {
		b.w.delete(b.key(holdKey, t))
	}
}

// PopTimer removes and returns key's earliest eligible timer under now:
// an event-time timer with Fire < now.Input or a processing-time timer with
// Fire <= now.Clock whose window has not expired; the earlier firing time
// first, event time first at equal times, then by transform, family, tag
// and window.
//
// The engine drains a key with a loop that calls PopTimer, runs the
// callback (which may set, reset and clear timers in the same bundle), and
// calls PopTimer again until it reports none. Because every call looks at
// the bundle's current timers, a timer set during a callback to an already
// eligible time fires before later ones, and a timer reset or cleared
// before its turn never fires with its old time (reference §3.4). The
// popped timer's deletion, and so its hold's release, commits with the
// bundle.
func (b *Bundle) PopTimer(key []byte, now Times) (Timer, bool, error) {
	if err := b.use(key); err != nil {
		return Timer{}, false, err
	}
	if none, err := b.noneEligible(now); none || err != nil {
		return Timer{}, false, err
	}
	et, eok, err := b.firstTimer(key, EventTime, func(t Timer) (bool, bool) {
		return t.Fire < now.Input, false
	})
	if err != nil {
		return Timer{}, false, err
	}
	pt, pok, err := b.firstTimer(key, ProcessingTime, func(t Timer) (bool, bool) {
		if t.Fire > now.Clock {
			return false, false
		}
		// The global window's timers fire until none is left, even once
		// the input ended (the engine expires it only then).
		expired := b.s.GCTime(t.Window) < now.Input && t.Window.MaxTimestamp() < window.Global().MaxTimestamp()
		return !expired, expired
	})
	if err != nil {
		return Timer{}, false, err
	}
	var t Timer
	switch {
	case eok && (!pok || et.Fire <= pt.Fire):
		t = et
	case pok:
		t = pt
	default:
		return Timer{}, false, nil
	}
	b.deleteTimer(t)
	return t, true, nil
}

// noneEligible reports whether no timer of the bundle's keys can be
// eligible under now (see Bundle.earliest): then PopTimer need not scan,
// which it otherwise does twice for every key of every bundle, most of
// them with nothing due.
func (b *Bundle) noneEligible(now Times) (bool, error) {
	if !b.earliestRead {
		for _, d := range []Domain{EventTime, ProcessingTime} {
			t, ok, err := b.s.NextTime(d)
			if err != nil {
				return false, err
			}
			if ok {
				b.lower(d, t)
			}
		}
		b.earliestRead = true
	}
	return b.earliest[EventTime] >= now.Input && b.earliest[ProcessingTime] > now.Clock, nil
}

// lower records that a timer of domain d may fire at t.
func (b *Bundle) lower(d Domain, t window.Time) {
	if int(d) < len(b.earliest) {
		b.earliest[d] = min(b.earliest[d], t)
	}
}

// firstTimer scans key's timers of domain d in firing order and returns the
// first that ok accepts; it stops at the first that is neither accepted nor
// to be skipped.
func (b *Bundle) firstTimer(key []byte, d Domain, ok func(Timer) (accept, skip bool)) (Timer, bool, error) {
	lo := perKeyPrefix(nil, key, d)
	var found Timer
	var hit bool
	var derr error
	err := b.scan(lo, prefixEnd(lo), func(_, v []byte) bool {
		t, err := decodeTimer(v)
		if err != nil {
			derr = err
			return false
		}
		accept, skip := ok(t)
		if accept {
			found, hit = t, true
		}
		return skip
	})
	return found, hit, errors.Join(err, derr)
}
