package state

import (
	"bytes"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// The engine's questions about committed state. Each reads one table's
// first entries in key order, so each costs a seek, not a walk over all
// timers. Open bundles' changes are not seen until they commit.

// Hold returns the minimum output timestamp over all pending timers that
// hold one, or window.MaxTime if none does: the stage's output watermark
// may not pass it.
func (s *Store) Hold() (window.Time, error) {
	hold := window.MaxTime
	err := s.scanHead(headHold, []byte{tagHold}, []byte{tagHold + 1}, func(k, _ []byte) bool {
		d := decoder{b: k[1:]}
		if t := d.time(); d.err == nil {
			hold = t
		}
		return false
	})
	return hold, err
}

// NextTime returns the earliest firing time of a pending timer of domain
// d, with ok false when there is none: the engine schedules the stage when
// the input watermark passes it (event time) or arms a wake-up for it
// (processing time).
func (s *Store) NextTime(d Domain) (t window.Time, ok bool, err error) {
	lo := []byte{tagDue, byte(d)}
	err = s.scanHead(headDue(d), lo, prefixEnd(lo), func(k, _ []byte) bool {
		_, t, _, err = decodeDueKey(k)
		ok = err == nil
		return false
	})
	return t, ok, err
}

// DueKeys returns up to limit distinct user keys (limit <= 0: all) that
// have a timer eligible under now, earliest firing time first, event-time
// keys before processing-time ones. A processing-time timer of an expired
// window may still list its key until DropExpired removes it; PopTimer
// skips such timers.
func (s *Store) DueKeys(now Times, limit int) ([][]byte, error) {
	seen := map[string]bool{}
	var keys [][]byte
	collect := func(d Domain, hi window.Time) error {
		lo := []byte{tagDue, byte(d)}
		return s.scanHead(headDue(d), lo, appendTime(bytes.Clone(lo), hi), func(k, _ []byte) bool {
			_, _, key, err := decodeDueKey(k)
			if err == nil && !seen[string(key)] {
				seen[string(key)] = true
				keys = append(keys, key)
			}
			return limit <= 0 || len(keys) < limit
		})
	}
	if err := collect(EventTime, now.Input); err != nil {
		return nil, err
	}
	if limit > 0 && len(keys) >= limit {
		return keys, nil
	}
	// Up to and including now.Clock: at the end of time, timers set to
	// fire at window.MaxTime are due too.
	if err := collect(ProcessingTime, min(now.Clock, window.MaxTime)+1); err != nil {
		return nil, err
	}
	return keys, nil
}

// Scope is a (user key, window) pair.
type Scope struct {
	Key    []byte
	Window window.Window
}

// Expired calls fn, in GC-time order, for every (key, window) with state
// or timers whose window has expired under input watermark iw (iw > GC
// time), until fn returns false: the OnWindowExpiration callbacks to run
// before the engine drops them (Bundle.Drop, or DropExpired).
func (s *Store) Expired(iw window.Time, fn func(Scope) bool) error {
	lo := []byte{tagWindows}
	var derr error
	err := s.scanHead(headWindows, lo, appendTime(bytes.Clone(lo), iw), func(k, _ []byte) bool {
		_, key, w, err := decodeWindowKey(k)
		if err != nil {
			derr = err
			return false
		}
		return fn(Scope{Key: key, Window: w})
	})
	if err == nil {
		err = derr
	}
	return err
}

// DropExpired deletes the state and timers of every window expired under
// input watermark iw, in bundles of up to batch scopes (batch <= 0: 1024),
// and returns how many (key, window)s it dropped. It must not run while a
// bundle touching an expired key is open; an engine that runs
// OnWindowExpiration drops in that bundle with Bundle.Drop instead.
func (s *Store) DropExpired(iw window.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 1024
	}
	total := 0
	for {
		var scopes []Scope
		if err := s.Expired(iw, func(sc Scope) bool {
			scopes = append(scopes, sc)
			return len(scopes) < batch
		}); err != nil {
			return total, err
		}
		if len(scopes) == 0 {
			return total, nil
		}
		b := s.Begin()
		for _, sc := range scopes {
			if err := b.Drop(sc.Key, sc.Window); err != nil {
				b.Discard()
				return total, err
			}
		}
		if err := b.Commit(); err != nil {
			return total, fmt.Errorf("state: drop expired: %w", err)
		}
		total += len(scopes)
	}
}
