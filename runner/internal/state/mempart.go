package state

import (
	"slices"
	"unsafe"
)

// memPart is one partition's entries, ascending by key: the keys back to
// back in one byte array (key i is buf[ends[i-1]:ends[i]]), the values in
// a slice beside them. Values are never mutated in place (apply stores
// fresh copies), so readers may keep them; keys are views of buf, valid
// until the partition's next change.
//
// One array rather than a string per key: a partition's binary search
// (every read and commit of a key does a few) then compares keys that lie
// next to each other in a few cache lines, instead of chasing a pointer to
// a separately allocated string at every step, which showed as a tenth of
// the stateful benchmark's profile; and a key's hundred-odd bytes of keys
// are one pointer-free object for the collector instead of one per entry.
// A change within the partition moves the bytes after it, which for the
// few dozen entries of a typical key is a short copy.
type memPart struct {
	buf  []byte
	ends []uint32
	vals [][]byte
}

// len returns the number of entries.
func (p *memPart) len() int { return len(p.ends) }

// off returns where key i starts (i == p.len(): the end of the last).
func (p *memPart) off(i int) int {
	if i == 0 {
		return 0
	}
	return int(p.ends[i-1])
}

// key returns key i as a view of p's bytes, valid until p changes.
func (p *memPart) key(i int) string {
	b := p.buf[p.off(i):p.ends[i]]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// find returns the index of the first key >= k, and whether it is k.
func (p *memPart) find(k string) (int, bool) {
	lo, hi := 0, len(p.ends)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.key(m) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(p.ends) && p.key(lo) == k
}

// splice replaces entries [i, j) with keys, which must keep p ascending,
// leaving their values nil for the caller to set.
func (p *memPart) splice(i, j int, keys []string) {
	from, to := p.off(i), p.off(j)
	add := 0
	for _, k := range keys {
		add += len(k)
	}
	// The bytes: those after the replaced keys move to just after the
	// new ones.
	n := len(p.buf)
	switch grow := add - (to - from); {
	case grow > 0:
		p.buf = slices.Grow(p.buf, grow)[:n+grow]
		copy(p.buf[from+add:], p.buf[to:n])
	case grow < 0:
		copy(p.buf[from+add:], p.buf[to:n])
		p.buf = p.buf[:n+grow]
	}
	pos := from
	for _, k := range keys {
		pos += copy(p.buf[pos:], k)
	}
	// The ends and values likewise, the ends after the new keys shifted
	// by the change in length.
	m := len(p.ends)
	switch grow := len(keys) - (j - i); {
	case grow > 0:
		p.ends = slices.Grow(p.ends, grow)[:m+grow]
		p.vals = slices.Grow(p.vals, grow)[:m+grow]
		copy(p.ends[i+len(keys):], p.ends[j:m])
		copy(p.vals[i+len(keys):], p.vals[j:m])
	case grow < 0:
		copy(p.ends[i+len(keys):], p.ends[j:m])
		copy(p.vals[i+len(keys):], p.vals[j:m])
		clear(p.vals[m+grow:])
		p.ends, p.vals = p.ends[:m+grow], p.vals[:m+grow]
	}
	pos = from
	for x, k := range keys {
		pos += len(k)
		p.ends[i+x] = uint32(pos)
		p.vals[i+x] = nil
	}
	if shift := add - (to - from); shift != 0 {
		for x := i + len(keys); x < len(p.ends); x++ {
			p.ends[x] = uint32(int(p.ends[x]) + shift)
		}
	}
}

// set stores v under k; k is copied, v retained.
func (p *memPart) set(k string, v []byte) {
	i, ok := p.find(k)
	if !ok {
		p.splice(i, i, []string{k})
	}
	p.vals[i] = v
}

// delete removes k if present.
func (p *memPart) delete(k string) {
	if i, ok := p.find(k); ok {
		p.splice(i, i+1, nil)
	}
}

// replaceRange deletes [lo, hi) and, when keys (the point writes made
// after the delete within the range, ascending, with their entries in
// vals) are as many sets as the entries deleted, stores them in those
// entries' places and reports true: a value state's write, which clears
// its cell and appends one value, then moves none of the entries after it
// (nor, when the keys are as long as those they replace, any byte).
// Otherwise the caller applies the writes.
func (p *memPart) replaceRange(lo, hi string, keys []string, vals []entry) bool {
	i, _ := p.find(lo)
	j, _ := p.find(hi)
	if j-i == len(keys) && !slices.ContainsFunc(vals, func(e entry) bool { return e.del }) {
		p.splice(i, j, keys)
		for n := range keys {
			p.vals[i+n] = vals[n].val
		}
		return true
	}
	if i < j {
		p.splice(i, j, nil)
	}
	return false
}
