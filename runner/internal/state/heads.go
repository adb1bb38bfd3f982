package state

import (
	"bytes"
	"sync"
)

// The engine's questions (Hold, NextTime, DueKeys, Expired) each read the
// head of an index that is used as a queue: entries go in at their time,
// and the engine consumes them from the front (timers fire, windows
// expire). A pebble store keeps every consumed entry as a tombstone until
// a compaction drops it, and an iterator steps over tombstones one by one,
// so a scan from the start of the index would walk over everything
// consumed so far: at the end of the input of a job with a million keys,
// a million timers and windows drained a bundle at a time, that is
// quadratic. The store therefore remembers, per index, a floor: a key
// below which the index is known to hold nothing, and scans start there.
//
// A scan raises the floor to the first entry it finds (or to its upper
// bound if it finds none). A commit that adds an entry below the floor
// lowers it again, after its write has landed. Each index has a
// generation, bumped by every commit that adds to the index; a scan
// raises the floor only if no such commit landed while it ran, since it
// may have stepped past an entry added behind it.

// The queue-like indexes.
const (
	headHold = iota
	headDueEvent
	headDueProcessing
	headWindows
	numHeads
)

// headCache holds the indexes' floors.
type headCache struct {
	mu    sync.Mutex
	floor [numHeads][]byte
	gen   [numHeads]uint64
}

// headOf returns the queue-like index of store key k, or -1.
func headOf(k string) int {
	if len(k) == 0 {
		return -1
	}
	switch k[0] {
	case tagHold:
		return headHold
	case tagWindows:
		return headWindows
	case tagDue:
		if len(k) > 1 {
			return headDue(Domain(k[1]))
		}
	}
	return -1
}

// headDue returns the due-time index of domain d, or -1.
func headDue(d Domain) int {
	switch d {
	case EventTime:
		return headDueEvent
	case ProcessingTime:
		return headDueProcessing
	}
	return -1
}

// scanHead is kv.scan over [lo, hi) of index h, starting at the index's
// floor when that is above lo; it raises the floor as it learns more.
func (s *Store) scanHead(h int, lo, hi []byte, fn func(k, v []byte) bool) error {
	if h < 0 {
		return s.kv.scan(lo, hi, fn)
	}
	c := &s.heads
	c.mu.Lock()
	from, gen := c.floor[h], c.gen[h]
	c.mu.Unlock()
	if bytes.Compare(from, lo) < 0 {
		from = lo
	}
	if bytes.Compare(from, hi) >= 0 {
		return nil
	}
	found := false
	var first []byte
	err := s.kv.scan(from, hi, func(k, v []byte) bool {
		if !found {
			found = true
			if !bytes.Equal(k, from) {
				first = bytes.Clone(k)
			}
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	if !found {
		first = bytes.Clone(hi)
	}
	if first == nil {
		return nil // the floor is the head: nothing to learn
	}
	c.mu.Lock()
	if c.gen[h] == gen && bytes.Compare(first, c.floor[h]) > 0 {
		c.floor[h] = first
	}
	c.mu.Unlock()
	return nil
}

// lowerHeads lowers the floors below the index entries w added, and
// bumps the generation of every index w added to; it runs after w has
// been applied.
func (s *Store) lowerHeads(w *writeSet) {
	var low [numHeads]string
	var added [numHeads]bool
	some := false
	for i, k := range w.pkeys {
		if w.pvals[i].del {
			continue
		}
		h := headOf(k)
		if h < 0 {
			continue
		}
		if !added[h] || k < low[h] {
			low[h], added[h] = k, true
		}
		some = true
	}
	if !some {
		return
	}
	c := &s.heads
	c.mu.Lock()
	for h := range numHeads {
		if !added[h] {
			continue
		}
		c.gen[h]++
		if c.floor[h] != nil && low[h] < string(c.floor[h]) {
			c.floor[h] = []byte(low[h])
		}
	}
	c.mu.Unlock()
}

// resetHeads forgets every floor, for a store whose contents were
// replaced outside bundles (Import).
func (s *Store) resetHeads() {
	c := &s.heads
	c.mu.Lock()
	for h := range numHeads {
		c.floor[h] = nil
		c.gen[h]++
	}
	c.mu.Unlock()
}
