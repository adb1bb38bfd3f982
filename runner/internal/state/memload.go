package state

import (
	"encoding/binary"
	"unsafe"

	"github.com/beamgo-dev/beamgo/runner/internal/keymap"
)

// Bulk loading of the memory backend (Import of a snapshot). Entries come
// in ascending order, so every partition arrives whole and the global
// tables arrive sorted: partitions are built by appending, and global
// entries are appended to the last chunk of the ordered index, with no
// search at all. Each partition, the one array memPart keeps, and the
// global entries' values are carved from large pointer-free slabs, and the
// memKeys from large slabs too, so that a restored gigabyte is a few
// thousand objects for the collector to mark instead of several million.
// A slab stays alive while any entry in it does: values replaced after
// the restore free their slab only once all its neighbours are replaced
// too, which bounds the overhead at the restored size.

// loadSlab is the size of the slabs the loader carves bytes and slices
// from; an entry larger than a quarter of it gets its own allocation.
const loadSlab = 1 << 20

var _ bulkLoader = (*memBackend)(nil)

// load builds the backend's partitions and global tables from the
// ascending entries next returns, and installs them. The backend is empty
// (Import checks it) and no bundle is open.
func (m *memBackend) load(next func() (k, v []byte, ok bool, err error)) error {
	var l memLoader
	l.global = &ordered{}
	for {
		k, v, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		l.add(k, v)
	}
	l.endPart()
	// The map is made at its final size: growing it entry by entry
	// rehashed it a dozen times, a fifth of a restore's time. A key's
	// partitions do not arrive together (the tables are ordered by tag
	// first), so they are gathered here.
	keys := keymap.New[*memKey](l.userKeys)
	for _, p := range l.parts {
		ukey := p.prefix[1:]
		mk, _ := keys.Get(ukey)
		if mk == nil {
			mk = l.newKey()
			keys.SetOwned(ukey, mk)
		}
		mk.parts[partSlot(p.prefix[0])] = p.part
	}
	m.mu.Lock()
	m.keys, m.global = keys, l.global
	m.mu.Unlock()
	return nil
}

// memLoader is the state of one bulk load.
type memLoader struct {
	parts  []loadedPart
	global *ordered

	// prefix and kbuf, ends gather the entries of the partition being
	// loaded (keys and values back to back, and their ends, as in
	// memPart), until it ends.
	prefix string
	kbuf   []byte
	ends   []uint32

	// userKeys is the most partitions of one table so far: at most the
	// number of user keys, and usually all of them, the size of the map.
	userKeys int
	tagParts [3]int

	bytes   []byte
	memKeys []memKey
}

// loadedPart is a partition and its prefix.
type loadedPart struct {
	prefix string
	part   memPart
}

// newKey returns an empty memKey carved from a slab.
func (l *memLoader) newKey() *memKey {
	if len(l.memKeys) == 0 {
		l.memKeys = make([]memKey, loadSlab/int(unsafe.Sizeof(memKey{})))
	}
	k := &l.memKeys[0]
	l.memKeys = l.memKeys[1:]
	return k
}

// add loads one entry.
func (l *memLoader) add(k, v []byte) {
	p := partLen(k)
	if p == 0 {
		l.appendGlobal(k, l.copy(v))
		return
	}
	if string(k[:p]) != l.prefix {
		l.endPart()
		l.prefix = l.string(k[:p])
	}
	l.kbuf = append(l.kbuf, k...)
	l.ends = append(l.ends, uint32(len(l.kbuf)))
	l.kbuf = append(l.kbuf, v...)
	l.ends = append(l.ends, uint32(len(l.kbuf)))
}

// endPart installs the partition gathered so far.
func (l *memLoader) endPart() {
	if len(l.ends) == 0 {
		return
	}
	n := len(l.ends) / 2
	b := carve(&l.bytes, base(n)+len(l.kbuf))
	binary.LittleEndian.PutUint32(b, uint32(n))
	for x, e := range l.ends {
		binary.LittleEndian.PutUint32(b[4+4*x:], e)
	}
	copy(b[base(n):], l.kbuf)
	l.parts = append(l.parts, loadedPart{l.prefix, memPart{b: b}})
	slot := partSlot(l.prefix[0])
	l.tagParts[slot]++
	l.userKeys = max(l.userKeys, l.tagParts[slot])
	l.kbuf, l.ends = l.kbuf[:0], l.ends[:0]
}

// carve returns n elements from the slab *s, starting a new slab when it
// is short; the result's capacity is n, so that growing a partition later
// reallocates instead of writing over its neighbour.
func carve[T any](s *[]T, n int) []T {
	if len(*s) < n {
		var zero T
		*s = make([]T, max(n, loadSlab/int(unsafe.Sizeof(zero))))
	}
	out := (*s)[:n:n]
	*s = (*s)[n:]
	return out
}

// copy returns a copy of b in the byte slab, capacity-limited like
// carve's results.
func (l *memLoader) copy(b []byte) []byte {
	if len(b) > loadSlab/4 {
		return append([]byte(nil), b...)
	}
	out := carve(&l.bytes, len(b))
	copy(out, b)
	return out
}

// string returns a copy of b in the byte slab as a string. The slab's
// bytes under it are never written again (copy hands out each byte once,
// and a partition writes only within its own array, which a growth moves
// out of the slab), which is what makes the string immutable.
func (l *memLoader) string(b []byte) string {
	c := l.copy(b)
	if len(c) == 0 {
		return ""
	}
	return unsafe.String(&c[0], len(c))
}

// loadFill is how full the loader leaves each chunk of the global index,
// so that the inserts after a restore do not split every chunk at once.
const loadFill = chunkMax * 3 / 4

// appendGlobal appends key at the end of the global index: the keys
// ascend, so the last chunk is where it belongs.
func (l *memLoader) appendGlobal(key []byte, v []byte) {
	if len(v) == 0 {
		v = nil // the index entries' values: so their chunks need none
	}
	o := l.global
	// The chunk copies the key's bytes.
	ok := makeOkey(unsafe.String(unsafe.SliceData(key), len(key)))
	ci := len(o.order) - 1
	if ci < 0 || len(o.chunk(ci).keys) >= loadFill {
		o.appendChunk().keys = newKeys()
		ci++
	}
	o.chunk(ci).add(&ok, v, &o.scratch)
	o.fixLast(ci)
	o.n++
}
