package state

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"
)

// ordered is the memory backend's map of the global index tables (due
// times, holds, windows): an ordered map from store keys to values kept as
// a list of sorted chunks, a two-level B-tree in effect.
//
// It replaces a skiplist whose cost showed in the stateful benchmark's
// profile: every event moves its key's timer, so the commit deletes and
// re-inserts a due-time and a hold entry, each a descent through ~log n
// nodes scattered over the heap and a byte-string compare per node. Here
// an entry's first 16 bytes are also held as two integers (the table tag,
// the domain and the big-endian time of these tables' keys lie in them),
// so that most compares are integer compares on a contiguous array and
// never touch the key's bytes; a lookup is two binary searches, and an
// insert a copy within one chunk, with no allocation per entry.
//
// The chunks' last keys are also held in one contiguous array (last), so
// that finding a key's chunk is a binary search over integers in a few
// cache lines instead of a pointer chase to every chunk it visits, which
// showed as the larger part of a lookup once the index outgrew the cache.
//
// Nothing the index shifts holds a pointer: the chunks stay where they are
// in a pool and the list orders their ids, and a chunk's entries hold
// their keys as offsets into the chunk's byte array, whose space the keys
// of later inserts reuse. With a million keys'
// timers the index is tens of thousands of chunks and millions of entries;
// as pointers, the copies that a chunk's split or removal and every insert
// make paid the collector's write barriers while it marked, and each
// entry's key was an object of its own to mark: more than a third of the
// stateful benchmark's CPU at that size.
//
// An ordered is not safe for concurrent use.
type ordered struct {
	// pool holds the chunks by id, in no order; free lists the ids of
	// pool entries in no use.
	pool []chunk
	free []int32
	// order lists the chunks' ids in key order; last[i] is the integer
	// prefix of the last key of chunk order[i] (the key itself is the
	// chunk's, read on a tie).
	order []int32
	last  []prefix
	n     int
	// scratch is where a chunk's live key bytes are gathered when it
	// repacks them.
	scratch []byte
}

// prefix is an okey's integers.
type prefix struct{ p0, p1 uint64 }

// chunkMax bounds a chunk's entries: small enough that an insert's copy
// is cheap, large enough that the chunk list stays short. A chunk's
// entries are allocated for chunkMax+1 at once, the most it holds before
// it splits.
const chunkMax = 128

// chunk is a sorted run of entries; a chunk in the list is never empty.
//
// The keys' bytes lie in kbuf: a new key's are appended, a deleted key's
// are left where they are, and once an append would outgrow the array
// while a quarter of it is dead, the live keys are packed to its front in
// place. The strings the index hands out are views of kbuf, valid until
// the index changes.
//
// vals is nil while every value in the chunk is nil, as the store's own
// index entries are (due times, holds and windows carry their all in
// their keys): then the chunk holds no slice headers for the collector to
// scan.
type chunk struct {
	keys []ckey
	kbuf []byte
	// dead counts the bytes of kbuf that no key refers to.
	dead int
	vals [][]byte
}

// ckey is an entry's key: its integer prefix (as okey's) and where its
// bytes lie in the chunk's kbuf.
type ckey struct {
	p0, p1 uint64
	off, n uint32
}

// str returns key i.
func (c *chunk) str(i int) string {
	k := &c.keys[i]
	if k.n == 0 {
		return ""
	}
	return unsafe.String(&c.kbuf[k.off], int(k.n))
}

// val returns the value of entry i.
func (c *chunk) val(i int) []byte {
	if c.vals == nil {
		return nil
	}
	return c.vals[i]
}

// withVals gives c its values, all nil, if it has none yet.
func (c *chunk) withVals() {
	if c.vals == nil {
		c.vals = make([][]byte, len(c.keys), cap(c.keys))
	}
}

// ckeyOf appends k's bytes to c's array, packing it first if that would
// make room, and returns k's entry key.
func (c *chunk) ckeyOf(k *okey, scratch *[]byte) ckey {
	if len(c.kbuf)+len(k.s) > cap(c.kbuf) && c.dead > 0 && 4*c.dead >= len(c.kbuf) {
		c.repack(scratch)
	}
	off := len(c.kbuf)
	c.kbuf = append(c.kbuf, k.s...)
	return ckey{p0: k.p0, p1: k.p1, off: uint32(off), n: uint32(len(k.s))}
}

// newKeys returns an empty entry array of a chunk's full size.
func newKeys() []ckey { return make([]ckey, 0, chunkMax+1) }

// insert adds an entry at i.
func (c *chunk) insert(i int, k *okey, v []byte, scratch *[]byte) {
	if v != nil {
		c.withVals()
	}
	if c.keys == nil {
		c.keys = newKeys()
	}
	c.keys = slices.Insert(c.keys, i, c.ckeyOf(k, scratch))
	if c.vals != nil {
		c.vals = slices.Insert(c.vals, i, v)
	}
}

// add appends an entry after c's last.
func (c *chunk) add(k *okey, v []byte, scratch *[]byte) { c.insert(len(c.keys), k, v, scratch) }

// remove deletes entries [i, j); their bytes stay in kbuf, dead, until a
// repack.
func (c *chunk) remove(i, j int) {
	for x := i; x < j; x++ {
		c.dead += int(c.keys[x].n)
	}
	c.keys = slices.Delete(c.keys, i, j)
	if c.vals != nil {
		c.vals = slices.Delete(c.vals, i, j)
	}
}

// repack moves the live keys' bytes to the front of kbuf, through
// scratch.
func (c *chunk) repack(scratch *[]byte) {
	buf := (*scratch)[:0]
	for x := range c.keys {
		k := &c.keys[x]
		off := len(buf)
		buf = append(buf, c.kbuf[k.off:k.off+k.n]...)
		k.off = uint32(off)
	}
	c.kbuf = append(c.kbuf[:0], buf...)
	c.dead = 0
	*scratch = buf
}

// okey is a store key with its first 16 bytes, zero-padded, as two
// big-endian integers. Comparing the integers first and the strings only
// on a tie is bytewise order: where the padded prefixes differ first, the
// shorter key (padded with zero there) is a prefix of the other up to that
// point, so it sorts first in both orders.
type okey struct {
	p0, p1 uint64
	s      string
}

func makeOkey(s string) okey {
	if len(s) >= 16 {
		// The index's keys are mostly this long: read the integers in
		// place, without the copy into a padded array (a call to
		// memmove for every key the commit sets or deletes).
		b := bytesOf(s)
		return okey{p0: binary.BigEndian.Uint64(b[:8]), p1: binary.BigEndian.Uint64(b[8:16]), s: s}
	}
	var b [16]byte
	copy(b[:], s)
	return okey{p0: binary.BigEndian.Uint64(b[:8]), p1: binary.BigEndian.Uint64(b[8:]), s: s}
}

// cmp compares entry i's key with k.
func (c *chunk) cmp(i int, k *okey) int {
	a := &c.keys[i]
	switch {
	case a.p0 < k.p0:
		return -1
	case a.p0 > k.p0:
		return 1
	case a.p1 < k.p1:
		return -1
	case a.p1 > k.p1:
		return 1
	}
	return strings.Compare(c.str(i), k.s)
}

// find returns the index of the first entry >= k in c, and whether it is k.
func (c *chunk) find(k *okey) (int, bool) {
	lo, hi := 0, len(c.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.cmp(m, k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(c.keys) && c.keys[lo].n == uint32(len(k.s)) && c.str(lo) == k.s
}

// chunk returns the chunk at position ci of the list; the pointer is
// valid until the next newChunk.
func (o *ordered) chunk(ci int) *chunk { return &o.pool[o.order[ci]] }

// newChunk returns the id of an empty chunk from the pool.
func (o *ordered) newChunk() int32 {
	if n := len(o.free); n > 0 {
		id := o.free[n-1]
		o.free = o.free[:n-1]
		return id
	}
	o.pool = append(o.pool, chunk{})
	return int32(len(o.pool) - 1)
}

// dropChunk removes the chunk at position ci from the list and returns
// it to the pool, emptied, its arrays kept for the chunk that reuses it:
// as timers fire, the due times' chunks empty at the front of the index
// while those at its back split.
func (o *ordered) dropChunk(ci int) {
	id := o.order[ci]
	c := &o.pool[id]
	c.keys, c.kbuf, c.dead, c.vals = c.keys[:0], c.kbuf[:0], 0, nil
	o.free = append(o.free, id)
	if ci < len(o.order)/2 {
		// Nearer the front, where the due times' chunks empty as their
		// timers fire: shift the chunks before it instead of after.
		copy(o.order[1:ci+1], o.order[:ci])
		copy(o.last[1:ci+1], o.last[:ci])
		o.order, o.last = o.order[1:], o.last[1:]
		return
	}
	o.order = slices.Delete(o.order, ci, ci+1)
	o.last = slices.Delete(o.last, ci, ci+1)
}

// chunkFor returns the position of the chunk that holds k if anyone does:
// the first whose last key is >= k (len(o.order) if none is).
func (o *ordered) chunkFor(k *okey) int {
	lo, hi := 0, len(o.last)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		l := &o.last[m]
		var less bool
		switch {
		case l.p0 != k.p0:
			less = l.p0 < k.p0
		case l.p1 != k.p1:
			less = l.p1 < k.p1
		default:
			c := o.chunk(m)
			less = c.str(len(c.keys)-1) < k.s
		}
		if less {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// fixLast refreshes the last key of the chunk at position ci.
func (o *ordered) fixLast(ci int) {
	c := o.chunk(ci)
	l := &c.keys[len(c.keys)-1]
	o.last[ci] = prefix{l.p0, l.p1}
}

// appendChunk appends a new chunk after every other and returns it; the
// caller fills it (it must not stay empty) and calls fixLast.
func (o *ordered) appendChunk() *chunk {
	id := o.newChunk()
	o.order = append(o.order, id)
	o.last = append(o.last, prefix{})
	return &o.pool[id]
}

func (o *ordered) get(k string) ([]byte, bool) {
	ok := makeOkey(k)
	ci := o.chunkFor(&ok)
	if ci == len(o.order) {
		return nil, false
	}
	c := o.chunk(ci)
	if i, found := c.find(&ok); found {
		return c.val(i), true
	}
	return nil, false
}

// set stores v under k, replacing any value; v is retained, and a copy
// of k if it is new (the write set's keys live in its arena).
func (o *ordered) set(k string, v []byte) {
	ok := makeOkey(k)
	ci := o.chunkFor(&ok)
	if ci == len(o.order) {
		if ci == 0 {
			o.appendChunk().add(&ok, v, &o.scratch)
			o.fixLast(0)
			o.n++
			return
		}
		ci-- // past every key: the last chunk takes it
	}
	c := o.chunk(ci)
	i, found := c.find(&ok)
	if found {
		if v != nil {
			c.withVals()
		}
		if c.vals != nil {
			c.vals[i] = v
		}
		return
	}
	c.insert(i, &ok, v, &o.scratch)
	o.n++
	if i == len(c.keys)-1 {
		o.fixLast(ci)
	}
	if len(c.keys) > chunkMax {
		o.split(ci)
	}
}

// split halves the chunk at position ci.
func (o *ordered) split(ci int) {
	id := o.newChunk()
	c, nc := o.chunk(ci), &o.pool[id]
	h := len(c.keys) / 2
	if nc.keys == nil {
		nc.keys = newKeys()
	}
	size := 0
	for x := h; x < len(c.keys); x++ {
		size += int(c.keys[x].n)
	}
	// The new chunk's array holds its half twice over, room for as many
	// inserts as it takes to split again.
	if cap(nc.kbuf) < 2*size {
		nc.kbuf = make([]byte, 0, 2*size)
	}
	for x := h; x < len(c.keys); x++ {
		k := okey{p0: c.keys[x].p0, p1: c.keys[x].p1, s: c.str(x)}
		nc.keys = append(nc.keys, nc.ckeyOf(&k, &o.scratch))
	}
	if c.vals != nil {
		nc.vals = make([][]byte, 0, chunkMax+1)
		nc.vals = append(nc.vals, c.vals[h:]...)
		clear(c.vals[h:])
	}
	c.remove(h, len(c.keys))
	o.order = slices.Insert(o.order, ci+1, id)
	o.last = slices.Insert(o.last, ci+1, prefix{})
	o.fixLast(ci)
	o.fixLast(ci + 1)
}

// delete removes k, reporting whether it was present.
func (o *ordered) delete(k string) bool {
	ok := makeOkey(k)
	ci := o.chunkFor(&ok)
	if ci == len(o.order) {
		return false
	}
	c := o.chunk(ci)
	i, found := c.find(&ok)
	if !found {
		return false
	}
	c.remove(i, i+1)
	o.n--
	if i == len(c.keys) && i > 0 {
		o.fixLast(ci)
	}
	o.compact(ci)
	return true
}

// compact removes the chunk at position ci if it emptied, or merges it
// into its successor if both are small, so that deletes do not leave a
// long list of tiny chunks.
func (o *ordered) compact(ci int) {
	c := o.chunk(ci)
	switch {
	case len(c.keys) == 0:
		o.dropChunk(ci)
	case ci+1 < len(o.order) && len(c.keys)+len(o.chunk(ci+1).keys) <= chunkMax/2:
		nc := o.chunk(ci + 1)
		if nc.vals != nil {
			c.withVals()
		}
		if c.vals != nil {
			nc.withVals()
			c.vals = append(c.vals, nc.vals...)
		}
		for x := range nc.keys {
			k := okey{p0: nc.keys[x].p0, p1: nc.keys[x].p1, s: nc.str(x)}
			c.keys = append(c.keys, c.ckeyOf(&k, &o.scratch))
		}
		o.dropChunk(ci + 1)
		o.fixLast(ci)
	}
}

// ascend calls fn on the entries with keys >= from (> from if after) in
// ascending order until fn returns false. The keys are valid until the
// index changes.
func (o *ordered) ascend(from string, after bool, fn func(k string, v []byte) bool) {
	ok := makeOkey(from)
	for ci := o.chunkFor(&ok); ci < len(o.order); ci++ {
		c := o.chunk(ci)
		i, found := c.find(&ok)
		if found && after {
			i++
		}
		for ; i < len(c.keys); i++ {
			if !fn(c.str(i), c.val(i)) {
				return
			}
		}
		ok = okey{} // later chunks from their start
		after = false
	}
}
