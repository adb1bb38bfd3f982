package state

import (
	"slices"
	"unsafe"
)

// memPart is one partition's entries, ascending by key, each key followed
// by its value in one byte array: entry i is buf[start(i):ends[2i+1]], its
// key the bytes up to ends[2i], its value those after.
//
// One array rather than a string per key and a slice per value: a
// partition's binary search (every read and commit of a key does a few)
// then compares keys that lie next to each other in a few cache lines,
// instead of chasing a pointer to a separately allocated string at every
// step, which showed as a tenth of the stateful benchmark's profile; and
// the partition is two pointer-free objects, whatever its entries. With a
// slice per value, a store of a million keys with a bag of ten values each
// held eleven million small objects and their pointers, which the
// collector marked and the copies of a commit guarded with write
// barriers: two thirds of the stateful benchmark's CPU at that size.
//
// Keys and values are views of buf, valid until the partition's next
// change: a value that is set again with as many bytes is overwritten in
// place, and a change within the partition moves the bytes after it (for
// the few dozen entries of a typical key, a short copy). Readers copy what
// they keep; only a bundle owning the key, or a reader under the backend's
// lock, reads a partition.
type memPart struct {
	buf  []byte
	ends []uint32
}

// len returns the number of entries.
func (p *memPart) len() int { return len(p.ends) / 2 }

// off returns where entry i starts (i == p.len(): the end of the last).
func (p *memPart) off(i int) int {
	if i == 0 {
		return 0
	}
	return int(p.ends[2*i-1])
}

// key returns key i as a view of p's bytes, valid until p changes.
func (p *memPart) key(i int) string {
	b := p.buf[p.off(i):p.ends[2*i]]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// val returns value i as a view of p's bytes, valid until p changes.
func (p *memPart) val(i int) []byte {
	return p.buf[p.ends[2*i]:p.ends[2*i+1]:p.ends[2*i+1]]
}

// find returns the index of the first key >= k, and whether it is k.
func (p *memPart) find(k string) (int, bool) {
	lo, hi := 0, p.len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.key(m) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < p.len() && p.key(lo) == k
}

// splice replaces entries [i, j) with keys and their values vals (one
// each, del ignored), which must keep p ascending.
func (p *memPart) splice(i, j int, keys []string, vals []entry) {
	from, to := p.off(i), p.off(j)
	add := 0
	for n, k := range keys {
		add += len(k) + len(vals[n].val)
	}
	// The bytes: those after the replaced entries move to just after the
	// new ones.
	size := len(p.buf)
	shift := add - (to - from)
	switch {
	case shift > 0:
		p.buf = slices.Grow(p.buf, shift)[:size+shift]
		copy(p.buf[from+add:], p.buf[to:size])
	case shift < 0:
		copy(p.buf[from+add:], p.buf[to:size])
		p.buf = p.buf[:size+shift]
	}
	// The ends likewise, those after the new entries shifted by the
	// change in length.
	m := len(p.ends)
	switch grow := 2 * (len(keys) - (j - i)); {
	case grow > 0:
		p.ends = slices.Grow(p.ends, grow)[:m+grow]
		copy(p.ends[2*(i+len(keys)):], p.ends[2*j:m])
	case grow < 0:
		copy(p.ends[2*(i+len(keys)):], p.ends[2*j:m])
		p.ends = p.ends[:m+grow]
	}
	pos := from
	for n, k := range keys {
		pos += copy(p.buf[pos:], k)
		p.ends[2*(i+n)] = uint32(pos)
		pos += copy(p.buf[pos:], vals[n].val)
		p.ends[2*(i+n)+1] = uint32(pos)
	}
	if shift != 0 {
		for x := 2 * (i + len(keys)); x < len(p.ends); x++ {
			p.ends[x] = uint32(int(p.ends[x]) + shift)
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
