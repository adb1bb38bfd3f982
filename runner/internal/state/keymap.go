package state

import (
	"strings"
	"unsafe"
)

// keyMap maps the escaped user key fields of the memory backend's
// partitions to their memKeys. Fields of up to shortKeyLen bytes (an
// integer key's, a short string's) are held in the map's slots
// themselves, the longer ones as strings: a look-up of a short key then
// reads no string from elsewhere in the heap, a cache miss per look-up at
// a million keys, and the keys are no objects for the collector to mark.
type keyMap struct {
	short map[shortKey]*memKey
	long  map[string]*memKey
}

// shortKeyLen is the longest field a shortKey holds.
const shortKeyLen = 15

// shortKey is a field of up to shortKeyLen bytes and its length.
type shortKey struct {
	b [shortKeyLen]byte
	n uint8
}

// shortOf returns k as a shortKey, if it is short enough.
func shortOf(k string) (shortKey, bool) {
	var s shortKey
	if len(k) > shortKeyLen {
		return s, false
	}
	copy(s.b[:], k)
	s.n = uint8(len(k))
	return s, true
}

// newKeyMap returns an empty keyMap with room for n keys.
func newKeyMap(n int) keyMap {
	return keyMap{short: make(map[shortKey]*memKey, n), long: map[string]*memKey{}}
}

// get returns k's memKey, or nil.
func (m *keyMap) get(k string) *memKey {
	if s, ok := shortOf(k); ok {
		return m.short[s]
	}
	return m.long[k]
}

// getBytes is get of a field in a byte slice, without copying it.
func (m *keyMap) getBytes(k []byte) *memKey {
	return m.get(unsafe.String(unsafe.SliceData(k), len(k)))
}

// set maps k to v; a long k is copied.
func (m *keyMap) set(k string, v *memKey) {
	if s, ok := shortOf(k); ok {
		m.short[s] = v
		return
	}
	m.long[strings.Clone(k)] = v
}

// setOwned is set of a k that stays as it is (a restore's keys, in its
// slabs): a long k is kept, not copied.
func (m *keyMap) setOwned(k string, v *memKey) {
	if s, ok := shortOf(k); ok {
		m.short[s] = v
		return
	}
	m.long[k] = v
}

// delete removes k.
func (m *keyMap) delete(k string) {
	if s, ok := shortOf(k); ok {
		delete(m.short, s)
		return
	}
	delete(m.long, k)
}

// len returns the number of keys.
func (m *keyMap) len() int { return len(m.short) + len(m.long) }

// each calls fn on every key and its memKey, in no order; a short key is
// a copy.
func (m *keyMap) each(fn func(k string, v *memKey)) {
	for s, v := range m.short {
		fn(string(s.b[:s.n]), v)
	}
	for k, v := range m.long {
		fn(k, v)
	}
}
