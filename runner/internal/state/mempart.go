package state

import (
	"encoding/binary"
	"slices"
	"unsafe"
)

// memPart is one partition's entries, ascending by key, all in one byte
// array: an entry count, then two ends per entry, then the entries' bytes,
// each key followed by its value. The ends are offsets into the entries'
// bytes: entry i's key ends at its first end and its value at its second,
// where entry i+1 starts.
//
//	count u32 | end(key 0) end(val 0) ... end(key n-1) end(val n-1) u32s | key 0 val 0 ... key n-1 val n-1
//
// One array rather than a string per key and a slice per value: a
// partition's binary search (every read and commit of a key does a few)
// then compares keys that lie next to each other in a few cache lines,
// instead of chasing a pointer to a separately allocated string at every
// step, which showed as a tenth of the stateful benchmark's profile; and
// the partition is one pointer-free object, whatever its entries. With a
// slice per value, a store of a million keys with a bag of ten values each
// held eleven million small objects and their pointers, which the
// collector marked and the copies of a commit guarded with write
// barriers: two thirds of the stateful benchmark's CPU at that size.
//
// Keys and values are views of the array, valid until the partition's
// next change: a value that is set again with as many bytes is
// overwritten in place, and a change within the partition moves the bytes
// after it (for the few dozen entries of a typical key, a short copy).
// Readers copy what they keep; only a bundle owning the key, or a reader
// under the backend's lock, reads a partition.
type memPart struct {
	b []byte
}

// u32 reads the integer at byte x of p's array.
func (p *memPart) u32(x int) int { return int(binary.LittleEndian.Uint32(p.b[x:])) }

// put32 writes v at byte x of p's array.
func (p *memPart) put32(x, v int) { binary.LittleEndian.PutUint32(p.b[x:], uint32(v)) }

// len returns the number of entries.
func (p *memPart) len() int {
	if len(p.b) == 0 {
		return 0
	}
	return p.u32(0)
}

// base returns where the entries' bytes start in an array of n entries.
func base(n int) int { return 4 + 8*n }

// kend returns where key i ends, as an offset into the entries' bytes.
func (p *memPart) kend(i int) int { return p.u32(4 + 8*i) }

// vend returns where value i ends, as an offset into the entries' bytes.
func (p *memPart) vend(i int) int { return p.u32(8 + 8*i) }

// off returns where entry i starts, as an offset into the entries' bytes
// (i == p.len(): the end of the last).
func (p *memPart) off(i int) int {
	if i == 0 {
		return 0
	}
	return p.vend(i - 1)
}

// entries returns the entries' bytes.
func (p *memPart) entries() []byte {
	if len(p.b) == 0 {
		return nil
	}
	return p.b[base(p.len()):]
}

// key returns key i as a view of p's bytes, valid until p changes.
func (p *memPart) key(i int) string {
	b := p.b[base(p.len())+p.off(i) : base(p.len())+p.kend(i)]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// val returns value i as a view of p's bytes, valid until p changes.
func (p *memPart) val(i int) []byte {
	at := base(p.len())
	return p.b[at+p.kend(i) : at+p.vend(i) : at+p.vend(i)]
}

// find returns the index of the first key >= k, and whether it is k.
func (p *memPart) find(k string) (int, bool) {
	n := p.len()
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.key(m) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && p.key(lo) == k
}

// move is one region of a partition's array that a splice moves.
type move struct{ dst, src, n int }

// splice replaces entries [i, j) with keys and their values vals (one
// each, del ignored), which must keep p ascending.
func (p *memPart) splice(i, j int, keys []string, vals []entry) {
	n := p.len()
	m := n - (j - i) + len(keys)
	if m == 0 {
		p.b = p.b[:0]
		return
	}
	from, to, size := p.off(i), p.off(j), p.off(n)
	add := 0
	for x, k := range keys {
		add += len(k) + len(vals[x].val)
	}
	// shift is how far the entries after the replaced ones move within the
	// entries' bytes, and the entries' bytes move by the change in the
	// ends' length.
	shift := add - (to - from)
	oldBase, newBase := base(n), base(m)
	oldLen, newLen := oldBase+size, newBase+size+shift
	if len(p.b) == 0 {
		oldLen = 0
	}
	if newLen > oldLen {
		p.b = slices.Grow(p.b[:oldLen], newLen-oldLen)[:newLen]
	}
	// Three regions move, in this order in the array: the ends after the
	// replaced ones, the entries before them, and the entries after them.
	// Those moving left go first, left to right, then those moving right,
	// right to left: no region then lands on one not yet moved.
	moves := [3]move{
		{dst: base(i + len(keys)), src: base(j), n: 8 * (n - j)},
		{dst: newBase, src: oldBase, n: from},
		{dst: newBase + from + add, src: oldBase + to, n: size - to},
	}
	for _, mv := range moves {
		if mv.dst < mv.src {
			copy(p.b[mv.dst:mv.dst+mv.n], p.b[mv.src:mv.src+mv.n])
		}
	}
	for x := len(moves) - 1; x >= 0; x-- {
		if mv := moves[x]; mv.dst > mv.src {
			copy(p.b[mv.dst:mv.dst+mv.n], p.b[mv.src:mv.src+mv.n])
		}
	}
	p.b = p.b[:newLen]
	p.put32(0, m)
	pos := from
	for x, k := range keys {
		pos += copy(p.b[newBase+pos:], k)
		p.put32(4+8*(i+x), pos)
		pos += copy(p.b[newBase+pos:], vals[x].val)
		p.put32(8+8*(i+x), pos)
	}
	if shift != 0 {
		for x := base(i + len(keys)); x < newBase; x += 4 {
			p.put32(x, p.u32(x)+shift)
		}
	}
}

// set stores a copy of v under k.
func (p *memPart) set(k string, v []byte) {
	i, ok := p.find(k)
	if ok {
		if old := p.val(i); len(old) == len(v) {
			copy(old, v)
			return
		}
		p.splice(i, i+1, []string{k}, []entry{{val: v}})
		return
	}
	p.splice(i, i, []string{k}, []entry{{val: v}})
}

// delete removes k if present.
func (p *memPart) delete(k string) {
	if i, ok := p.find(k); ok {
		p.splice(i, i+1, nil, nil)
	}
}

// replaceRange deletes [lo, hi) and, when keys (the point writes made
// after the delete within the range, ascending, with their entries in
// vals) are as many sets as the entries deleted, stores them in those
// entries' places and reports true: a value state's write, which clears
// its cell and appends one value, then moves none of the entries after it
// (nor, when the entries are as long as those they replace, any byte).
// Otherwise the caller applies the writes.
func (p *memPart) replaceRange(lo, hi string, keys []string, vals []entry) bool {
	i, _ := p.find(lo)
	j, _ := p.find(hi)
	if j-i == len(keys) && !slices.ContainsFunc(vals, func(e entry) bool { return e.del }) {
		p.splice(i, j, keys, vals)
		return true
	}
	if i < j {
		p.splice(i, j, nil, nil)
	}
	return false
}
