package state

import (
	"encoding/binary"
	"slices"
	"strings"
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
// An ordered is not safe for concurrent use.
type ordered struct {
	chunks []*chunk
	// last[i] is the integer prefix of the last key of chunks[i]; the
	// key itself is the chunk's, read on a tie. No pointers: the list is
	// shifted whenever a chunk is split or removed, and a copy of
	// pointers pays the collector's write barriers while it marks.
	last []prefix
	n    int
}

// prefix is an okey's integers.
type prefix struct{ p0, p1 uint64 }

// chunkMax bounds a chunk's entries: small enough that an insert's copy
// is cheap, large enough that the chunk list stays short.
const chunkMax = 128

// chunk is a sorted run of entries; a chunk in a list is never empty.
//
// vals is nil while every value in the chunk is nil, as the store's own
// index entries are (due times, holds and windows carry their all in
// their keys): then an insert or delete shifts the keys alone, and the
// chunk holds no slice headers for the collector to scan.
type chunk struct {
	keys []okey
	vals [][]byte
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

// add appends an entry after c's last.
func (c *chunk) add(k okey, v []byte) {
	if v != nil {
		c.withVals()
	}
	c.keys = append(c.keys, k)
	if c.vals != nil {
		c.vals = append(c.vals, v)
	}
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

func (a *okey) cmp(b *okey) int {
	switch {
	case a.p0 < b.p0:
		return -1
	case a.p0 > b.p0:
		return 1
	case a.p1 < b.p1:
		return -1
	case a.p1 > b.p1:
		return 1
	}
	return strings.Compare(a.s, b.s)
}

// search returns the index of the first key >= k in keys.
func search(keys []okey, k *okey) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keys[m].cmp(k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// find returns the index of the first entry >= k in c, and whether it is k.
func (c *chunk) find(k *okey) (int, bool) {
	i := search(c.keys, k)
	return i, i < len(c.keys) && c.keys[i].s == k.s
}

// chunkFor returns the index of the chunk that holds k if anyone does: the
// first whose last key is >= k (len(o.chunks) if none is).
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
			c := o.chunks[m]
			less = c.keys[len(c.keys)-1].s < k.s
		}
		if less {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// fixLast refreshes the last key of chunk ci.
func (o *ordered) fixLast(ci int) {
	c := o.chunks[ci]
	l := &c.keys[len(c.keys)-1]
	o.last[ci] = prefix{l.p0, l.p1}
}

// appendChunk appends c, which is not empty, after every chunk.
func (o *ordered) appendChunk(c *chunk) {
	o.chunks = append(o.chunks, c)
	o.last = append(o.last, prefix{})
	o.fixLast(len(o.chunks) - 1)
}

func (o *ordered) get(k string) ([]byte, bool) {
	ok := makeOkey(k)
	ci := o.chunkFor(&ok)
	if ci == len(o.chunks) {
		return nil, false
	}
	c := o.chunks[ci]
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
	if ci == len(o.chunks) {
		if ci == 0 {
			c := &chunk{}
			ok.s = strings.Clone(ok.s)
			c.add(ok, v)
			o.appendChunk(c)
			o.n++
			return
		}
		ci-- // past every key: the last chunk takes it
	}
	c := o.chunks[ci]
	i, found := c.find(&ok)
	if v != nil {
		c.withVals()
	}
	if found {
		if c.vals != nil {
			c.vals[i] = v
		}
		return
	}
	ok.s = strings.Clone(ok.s)
	c.keys = slices.Insert(c.keys, i, ok)
	if c.vals != nil {
		c.vals = slices.Insert(c.vals, i, v)
	}
	o.n++
	if i == len(c.keys)-1 {
		o.fixLast(ci)
	}
	if len(c.keys) > chunkMax {
		o.split(ci)
	}
}

// split halves chunk ci.
func (o *ordered) split(ci int) {
	c := o.chunks[ci]
	h := len(c.keys) / 2
	nc := &chunk{keys: slices.Clone(c.keys[h:])}
	clear(c.keys[h:])
	c.keys = c.keys[:h]
	if c.vals != nil {
		nc.vals = slices.Clone(c.vals[h:])
		clear(c.vals[h:])
		c.vals = c.vals[:h]
	}
	o.chunks = slices.Insert(o.chunks, ci+1, nc)
	o.last = slices.Insert(o.last, ci+1, prefix{})
	o.fixLast(ci)
	o.fixLast(ci + 1)
}

// delete removes k, reporting whether it was present.
func (o *ordered) delete(k string) bool {
	ok := makeOkey(k)
	ci := o.chunkFor(&ok)
	if ci == len(o.chunks) {
		return false
	}
	c := o.chunks[ci]
	i, found := c.find(&ok)
	if !found {
		return false
	}
	c.keys = slices.Delete(c.keys, i, i+1)
	if c.vals != nil {
		c.vals = slices.Delete(c.vals, i, i+1)
	}
	o.n--
	if i == len(c.keys) && i > 0 {
		o.fixLast(ci)
	}
	o.compact(ci)
	return true
}

// compact removes chunk ci if it emptied, or merges it into its successor
// if both are small, so that deletes do not leave a long list of tiny
// chunks.
func (o *ordered) compact(ci int) {
	c := o.chunks[ci]
	switch {
	case len(c.keys) == 0:
		o.chunks = slices.Delete(o.chunks, ci, ci+1)
		o.last = slices.Delete(o.last, ci, ci+1)
	case ci+1 < len(o.chunks) && len(c.keys)+len(o.chunks[ci+1].keys) <= chunkMax/2:
		nc := o.chunks[ci+1]
		if nc.vals != nil {
			c.withVals()
		}
		if c.vals != nil {
			nc.withVals()
			c.vals = append(c.vals, nc.vals...)
		}
		c.keys = append(c.keys, nc.keys...)
		o.chunks = slices.Delete(o.chunks, ci+1, ci+2)
		o.last = slices.Delete(o.last, ci+1, ci+2)
		o.fixLast(ci)
	}
}

// ascend calls fn on the entries with keys >= from (> from if after) in
// ascending order until fn returns false.
func (o *ordered) ascend(from string, after bool, fn func(k string, v []byte) bool) {
	ok := makeOkey(from)
	for ci := o.chunkFor(&ok); ci < len(o.chunks); ci++ {
		c := o.chunks[ci]
		i, found := c.find(&ok)
		if found && after {
			i++
		}
		for ; i < len(c.keys); i++ {
			if !fn(c.keys[i].s, c.val(i)) {
				return
			}
		}
		ok = okey{} // later chunks from their start
		after = false
	}
}
