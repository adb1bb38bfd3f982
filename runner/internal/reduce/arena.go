package reduce

import "encoding/binary"

// arena holds the buffered values of all windows in large pages of bytes,
// as linked records, so that a window's values cost the collector nothing:
// the pages hold no pointers, and a window refers to its values by
// position (a ref), not by slice. Per-window buffers were a third of the
// streaming benchmark's CPU, spent by the collector finding and marking
// them.
//
// A record is [next ref, 8 bytes][length, 4 bytes][value]. Records are
// never rewritten once their window has moved on, and pages are never
// reused: emitted panes alias the bytes (a DISCARDING pane hands them
// over), so a page whose records are all released is only dropped, and
// the collector frees it once no pane refers to it.
type arena struct {
	pages [][]byte
	// live[p] counts the records of page p not yet released.
	live []int32
	// free lists the indexes of dropped pages, for reuse by new pages.
	free []uint32
	cur  uint32 // the page being filled; len(pages) when none
	held int64  // bytes of the pages held
}

// ref is the position of a record: page<<32 | offset.
type ref uint64

// noRef marks an empty list's head and tail.
const noRef ref = ^ref(0)

// Page sizes: values larger than a quarter page get a page of their own.
const (
	pageSize   = 64 << 10
	recHeader  = 12
	bigValue   = pageSize / 4
	refPageBit = 32
)

// valueList is one window's values: the records from head to tail, n of
// them, size bytes of values.
type valueList struct {
	head, tail ref
	n          int32
	size       int64
}

func emptyList() valueList { return valueList{head: noRef, tail: noRef} }

// push appends v to l.
func (a *arena) push(l *valueList, v []byte) {
	at := a.reserve(recHeader + len(v))
	p, off := at>>refPageBit, uint32(at)
	page := a.pages[p]
	binary.LittleEndian.PutUint64(page[off:], uint64(noRef))
	binary.LittleEndian.PutUint32(page[off+8:], uint32(len(v)))
	copy(page[off+recHeader:], v)
	a.live[p]++
	if l.tail != noRef {
		a.setNext(l.tail, at)
	} else {
		l.head = at
	}
	l.tail = at
	l.n++
	l.size += int64(len(v))
}

func (a *arena) setNext(r, next ref) {
	binary.LittleEndian.PutUint64(a.pages[r>>refPageBit][uint32(r):], uint64(next))
}

// reserve returns the position of n fresh bytes.
func (a *arena) reserve(n int) ref {
	if n > bigValue {
		p := a.newPage(n)
		a.pages[p] = a.pages[p][:n]
		return ref(p) << refPageBit
	}
	if int(a.cur) == len(a.pages) || cap(a.pages[a.cur])-len(a.pages[a.cur]) < n {
		if old := a.cur; int(old) < len(a.pages) && a.live[old] == 0 {
			a.cur = uint32(len(a.pages)) // not the page being filled any more
			a.drop(old)
		}
		a.cur = a.newPage(pageSize)
	}
	page := a.pages[a.cur]
	off := len(page)
	a.pages[a.cur] = page[:off+n]
	return ref(a.cur)<<refPageBit | ref(off)
}

// newPage adds an empty page of capacity n and returns its index.
func (a *arena) newPage(n int) uint32 {
	a.held += int64(n)
	page := make([]byte, 0, n)
	if k := len(a.free); k > 0 {
		p := a.free[k-1]
		a.free = a.free[:k-1]
		a.pages[p], a.live[p] = page, 0
		return p
	}
	a.pages = append(a.pages, page)
	a.live = append(a.live, 0)
	if int(a.cur) == len(a.pages)-1 {
		// cur meant "none" and now names the new page: keep meaning none.
		a.cur = uint32(len(a.pages))
	}
	return uint32(len(a.pages) - 1)
}

// values appends l's values to dst as slices of the pages, capped so that
// an append by the caller cannot overwrite the next record.
func (a *arena) values(dst [][]byte, l valueList) [][]byte {
	r := l.head
	for range l.n {
		page := a.pages[r>>refPageBit]
		off := uint32(r)
		n := binary.LittleEndian.Uint32(page[off+8:])
		start := off + recHeader
		dst = append(dst, page[start:start+n:start+n])
		r = ref(binary.LittleEndian.Uint64(page[off:]))
	}
	return dst
}

// appendConcat appends l's values, concatenated, to buf, and their end
// offsets (relative to the first value) to ends.
func (a *arena) appendConcat(buf []byte, ends []int, l valueList) ([]byte, []int) {
	base := len(buf)
	r := l.head
	for range l.n {
		page := a.pages[r>>refPageBit]
		off := uint32(r)
		n := binary.LittleEndian.Uint32(page[off+8:])
		buf = append(buf, page[off+recHeader:off+recHeader+n]...)
		ends = append(ends, len(buf)-base)
		r = ref(binary.LittleEndian.Uint64(page[off:]))
	}
	return buf, ends
}

// release drops l's records and empties it; a page left without live
// records is dropped (its bytes stay valid for panes that alias them).
func (a *arena) release(l *valueList) {
	r := l.head
	for range l.n {
		p := uint32(r >> refPageBit)
		next := ref(binary.LittleEndian.Uint64(a.pages[p][uint32(r):]))
		if a.live[p]--; a.live[p] == 0 && p != a.cur {
			// The page being filled stays: it is dropped when full.
			a.drop(p)
		}
		r = next
	}
	*l = emptyList()
}

func (a *arena) drop(p uint32) {
	a.held -= int64(cap(a.pages[p]))
	a.pages[p] = nil
	a.free = append(a.free, p)
}

// concat links l2 after l1 and empties l2.
func (a *arena) concat(l1, l2 *valueList) {
	if l2.n == 0 {
		return
	}
	if l1.n == 0 {
		*l1, *l2 = *l2, emptyList()
		return
	}
	a.setNext(l1.tail, l2.head)
	l1.tail = l2.tail
	l1.n += l2.n
	l1.size += l2.size
	*l2 = emptyList()
}

// reset drops every page: no window holds values any more.
func (a *arena) reset() { *a = arena{} }
