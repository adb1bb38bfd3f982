package state

import (
	"sync"
)

// backend is the ordered key-value space a Store keeps everything in. Keys
// and values passed in are not retained; values returned by get belong to
// the caller; k and v passed to scan's fn are valid only during the call.
//
// A backend is safe for concurrent use: reads run concurrently with each
// other and with apply, and apply is atomic (a reader sees all of a write
// set or none of it).
type backend interface {
	// get returns the value under k.
	get(k []byte) ([]byte, bool, error)
	// scan calls fn on the entries in [lo, hi) in ascending order (hi nil:
	// no upper bound) until fn returns false.
	scan(lo, hi []byte, fn func(k, v []byte) bool) error
	// apply commits w atomically: its range deletes, then its point writes.
	apply(w *writeSet) error
	// export calls fn on every entry of one consistent view, in order.
	export(fn func(k, v []byte) error) error
	// close releases the backend and its files.
	close() error
}

// keySpaceEnd bounds every key of the store: all start with a table tag
// below 0xFF.
var keySpaceEnd = []byte{0xFF}

// entry is one point write of a write set: a value, or a deletion.
type entry struct {
	val []byte
	del bool
}

// writeSet is a bundle's pending writes: range deletes, then point writes
// made after them (a range delete removes the earlier point writes it
// covers, so applying deletes first and puts second replays the bundle's
// order exactly). The range deletes are kept merged into disjoint ranges,
// keyed by their end, so that a read checks them in O(log n) however many
// cells the bundle cleared.
type writeSet struct {
	dels *skiplist[string] // hi -> lo
	puts *skiplist[entry]
}

func newWriteSet() *writeSet {
	return &writeSet{dels: newSkiplist[string](), puts: newSkiplist[entry]()}
}

// set records v under k; v is retained.
func (w *writeSet) set(k, v []byte) { w.puts.set(string(k), entry{val: v}) }

func (w *writeSet) delete(k []byte) { w.puts.set(string(k), entry{del: true}) }

// deleteRange deletes [lo, hi); hi nil means no upper bound.
func (w *writeSet) deleteRange(lo, hi []byte) {
	if hi == nil {
		hi = keySpaceEnd
	}
	l, h := string(lo), string(hi)
	if l >= h {
		return
	}
	w.puts.deleteRange(l, h)
	// Merge with every range that overlaps or touches [l, h).
	for n := w.dels.seek(l); n != nil && n.val <= h; n = w.dels.seek(l) {
		l, h = min(l, n.val), max(h, n.key)
		w.dels.delete(n.key)
	}
	w.dels.set(h, l)
}

// deleted reports whether a range delete covers k.
func (w *writeSet) deleted(k string) bool {
	n := w.dels.seekAfter(k)
	return n != nil && n.val <= k
}

func (w *writeSet) empty() bool { return w.dels.n == 0 && w.puts.n == 0 }

// memBackend is the in-memory backend: one skiplist under a RWMutex.
type memBackend struct {
	// mu guards t.
	mu sync.RWMutex
	t  *skiplist[[]byte]
}

var _ backend = (*memBackend)(nil)

func newMemBackend() *memBackend { return &memBackend{t: newSkiplist[[]byte]()} }

func (m *memBackend) get(k []byte) ([]byte, bool, error) {
	m.mu.RLock()
	v, ok := m.t.get(string(k))
	m.mu.RUnlock()
	// Values are never mutated in place (apply stores fresh copies), so
	// the caller may keep v.
	return v, ok, nil
}

// scan copies up to scanChunk entries at a time under the read lock and
// calls fn without it, so that fn may commit (DropExpired's callers do)
// and long scans do not stall commits. Keys are immutable strings and
// values are never mutated in place, so the copies are references.
func (m *memBackend) scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	const scanChunk = 64
	var keys [scanChunk]string
	var vals [scanChunk][]byte
	from, after := string(lo), false
	for {
		n := 0
		m.mu.RLock()
		x := m.t.seek(from)
		if after {
			x = m.t.seekAfter(from)
		}
		for ; x != nil && (hi == nil || x.key < string(hi)) && n < scanChunk; x = x.next[0] {
			keys[n], vals[n] = x.key, x.val
			n++
		}
		m.mu.RUnlock()
		for i := range n {
			if !fn([]byte(keys[i]), vals[i]) {
				return nil
			}
		}
		if n < scanChunk {
			return nil
		}
		from, after = keys[n-1], true
	}
}

func (m *memBackend) apply(w *writeSet) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := w.dels.seek(""); n != nil; n = n.next[0] {
		m.t.deleteRange(n.val, n.key)
	}
	var f finger[[]byte]
	for n := w.puts.seek(""); n != nil; n = n.next[0] {
		if n.val.del {
			m.t.deleteAt(n.key, &f)
			continue
		}
		m.t.setAt(n.key, n.val.val, &f)
	}
	return nil
}

func (m *memBackend) export(fn func(k, v []byte) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for n := m.t.seek(""); n != nil; n = n.next[0] {
		if err := fn([]byte(n.key), n.val); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBackend) close() error {
	m.mu.Lock()
	m.t = newSkiplist[[]byte]()
	m.mu.Unlock()
	return nil
}
