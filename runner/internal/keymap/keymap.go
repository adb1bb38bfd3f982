// Package keymap maps byte-string keys to values, holding the short keys
// in the map's slots themselves: an integer key's encoding, a short
// string. A Go map keyed by string reads each key's bytes from elsewhere
// in the heap, a cache miss per look-up once the keys outgrow the caches,
// and each key is an object for the collector to mark; a key of up to
// ShortLen bytes here is a fixed-size array in the slot, hashed and
// compared as plain memory. Longer keys go to a map keyed by string.
//
// The runner's memory state backend maps its user keys with it, and the
// GroupByKey's reducer its keys.
package keymap

import (
	"strings"
	"unsafe"
)

// ShortLen is the longest key held in a slot.
const ShortLen = 15

// short is a key of up to ShortLen bytes and its length.
type short struct {
	b [ShortLen]byte
	n uint8
}

// shortOf returns k as a short key, if it is short enough.
func shortOf(k string) (short, bool) {
	var s short
	if len(k) > ShortLen {
		return s, false
	}
	copy(s.b[:], k)
	s.n = uint8(len(k))
	return s, true
}

// Map maps keys to values of type V. Its zero value is not ready: use
// New. It is not safe for concurrent use.
type Map[V any] struct {
	short map[short]V
	long  map[string]V
}

// New returns an empty Map with room for n short keys.
func New[V any](n int) Map[V] {
	return Map[V]{short: make(map[short]V, n), long: map[string]V{}}
}

// Get returns k's value and whether k is in m.
func (m *Map[V]) Get(k string) (V, bool) {
	if s, ok := shortOf(k); ok {
		v, ok := m.short[s]
		return v, ok
	}
	v, ok := m.long[k]
	return v, ok
}

// GetBytes is Get of a key in a byte slice, without copying it.
func (m *Map[V]) GetBytes(k []byte) (V, bool) {
	return m.Get(unsafe.String(unsafe.SliceData(k), len(k)))
}

// Set maps k to v; a long k is copied.
func (m *Map[V]) Set(k string, v V) {
	if s, ok := shortOf(k); ok {
		m.short[s] = v
		return
	}
	m.long[strings.Clone(k)] = v
}

// SetOwned is Set of a k that stays as it is for as long as m holds it
// (bytes the caller keeps and never changes): a long k is kept, not
// copied.
func (m *Map[V]) SetOwned(k string, v V) {
	if s, ok := shortOf(k); ok {
		m.short[s] = v
		return
	}
	m.long[k] = v
}

// Delete removes k.
func (m *Map[V]) Delete(k string) {
	if s, ok := shortOf(k); ok {
		delete(m.short, s)
		return
	}
	delete(m.long, k)
}

// Len returns the number of keys.
func (m *Map[V]) Len() int { return len(m.short) + len(m.long) }

// Clear removes every key, keeping the maps' room.
func (m *Map[V]) Clear() {
	clear(m.short)
	clear(m.long)
}

// Each calls fn on every key and its value, in no order; a short key is a
// copy.
func (m *Map[V]) Each(fn func(k string, v V)) {
	for s, v := range m.short {
		fn(string(s.b[:s.n]), v)
	}
	for k, v := range m.long {
		fn(k, v)
	}
}
