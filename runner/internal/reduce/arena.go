package reduce

import (
	"encoding/binary"
	"iter"
)

// arena holds the buffered values of all windows in large pages of bytes,
// so that a window's values cost the collector nothing: the pages hold no
// pointers, and a window refers to its values by position (a ref), not by
// slice. Per-window buffers were a third of the streaming benchmark's CPU,
// spent by the collector finding and marking them.
//
// A window's values are a linked list of chunks, each holding several
// values one after another: [next ref, 8 bytes][used, 4][capacity, 4]
// then the values, each a uvarint length and its bytes. A window's first
// chunk holds 32 bytes of values, each next one twice what the one before
// held, up to a kilobyte (or one value larger than that). With one record
// per value, reading a window's values and appending one each missed the
// cache once per value (the records of the windows being filled lie
// interleaved on the pages): a sixth of the unbounded bids job's CPU.
//
// The tail chunk's header is written only once a chunk follows it (its
// fill level is in the valueList until then), and bytes once written are
// never rewritten: a checkpoint reads a frozen copy of a list while the
// reducer appends to it (see Frozen). Pages are never reused either:
// emitted panes alias the bytes (a DISCARDING pane hands them over), so a
// page whose chunks are all released is only dropped, and the collector
// frees it once no pane refers to it.
type arena struct {
	pageSet
	// live[p] counts the chunks of page p not yet released.
	live []int32
	// free lists the indexes of dropped pages, for reuse by new pages.
	free []uint32
	cur  uint32 // the page being filled; len(pages) when none
	held int64  // bytes of the pages held in memory
	// spilledBytes are the bytes of the pages spilled (see spill.go);
	// cursor is the page the next spill looks at first.
	spilledBytes int64
	cursor       uint32
}

// pageSet is where the arena's pages are: in memory (pages), or, for a
// page that is nil there, in the spill file (spilled). A Frozen copy has
// one of its own.
type pageSet struct {
	pages [][]byte
	// spilled holds the extents of the spilled pages by page index.
	spilled map[uint32]extent
	// file is the spill file; nil while spilling is off.
	file *spillFile
}

// ref is the position of a chunk: page<<32 | offset.
type ref uint64

// noRef marks an empty list's head and tail.
const noRef ref = ^ref(0)

// Page and chunk sizes: a chunk larger than a quarter page gets a page of
// its own.
const (
	pageSize    = 64 << 10
	chunkHeader = 16
	firstChunk  = 32
	maxChunk    = 1 << 10
	bigValue    = pageSize / 4
	refPageBit  = 32
)

// valueList is one window's values: the chunks from head to tail, n
// values, size bytes of values; the tail holds tailUsed of its tailCap
// bytes.
//
// In a Reducer with an IntMerger (Reducer.ints) a window's values are
// merged as they come, and its list holds no chunks (head and tail are
// noRef): n is 1 once the window has a value, and size is the merged
// accumulator. Releasing the list empties it.
type valueList struct {
	head, tail        ref
	n                 int32
	tailUsed, tailCap uint32
	size              int64
}

func emptyList() valueList { return valueList{head: noRef, tail: noRef} }

// uvarintLen is the length of x as a uvarint.
func uvarintLen(x uint64) uint32 {
	n := uint32(1)
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// push appends v to l.
func (a *arena) push(l *valueList, v []byte) {
	need := uvarintLen(uint64(len(v))) + uint32(len(v))
	if l.tail == noRef || l.tailUsed+need > l.tailCap || a.pages[l.tail>>refPageBit] == nil {
		// (A tail on a spilled page takes no more values.)
		size := uint32(firstChunk)
		if l.tail != noRef {
			size = min(2*l.tailCap, maxChunk)
		}
		a.newChunk(l, max(size, need))
	}
	page := a.pages[l.tail>>refPageBit]
	at := uint32(l.tail) + chunkHeader + l.tailUsed
	at += uint32(binary.PutUvarint(page[at:], uint64(len(v))))
	copy(page[at:], v)
	l.tailUsed += need
	l.n++
	l.size += int64(len(v))
}

// newChunk appends an empty chunk of size bytes to l: the tail's header
// gets its link and fill level.
func (a *arena) newChunk(l *valueList, size uint32) {
	at := a.reserve(int(chunkHeader + size))
	p := at >> refPageBit
	a.live[p]++
	if l.tail != noRef {
		a.seal(l.tail, at, l.tailUsed)
	} else {
		l.head = at
	}
	l.tail, l.tailUsed, l.tailCap = at, 0, size
}

// seal writes the header of chunk c, followed by next, holding used bytes.
func (a *arena) seal(c, next ref, used uint32) {
	page := a.pages[c>>refPageBit]
	if page == nil {
		a.file.seal(a.spilled[uint32(c>>refPageBit)], c, next, used)
		return
	}
	page = page[uint32(c):]
	binary.LittleEndian.PutUint64(page, uint64(next))
	binary.LittleEndian.PutUint32(page[8:], used)
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

// chunk returns the values part of chunk c of l, read from ps (the
// arena's, or a frozen copy), and the chunk after it (noRef after the
// tail).
func (ps *pageSet) chunk(l *valueList, c ref) (data []byte, next ref) {
	page := ps.pages[c>>refPageBit]
	if page == nil {
		return ps.file.spilledChunk(ps.spilled[uint32(c>>refPageBit)], l, c)
	}
	off := uint32(c)
	if c == l.tail {
		return page[off+chunkHeader : off+chunkHeader+l.tailUsed], noRef
	}
	used := binary.LittleEndian.Uint32(page[off+8:])
	return page[off+chunkHeader : off+chunkHeader+used], ref(binary.LittleEndian.Uint64(page[off:]))
}

// nextValue splits the first value off data, a chunk's values part.
func nextValue(data []byte) (v, rest []byte) {
	n, k := uint64(data[0]), 1
	if n >= 0x80 {
		n, k = binary.Uvarint(data)
	}
	end := k + int(n)
	return data[k:end:end], data[end:]
}

// values appends l's values to dst as slices of the pages, capped so that
// an append by the caller cannot overwrite the next value.
func (a *arena) values(dst [][]byte, l valueList) [][]byte {
	for v := range eachValue(&a.pageSet, &l) {
		dst = append(dst, v)
	}
	return dst
}

// eachValue yields l's values, read from ps (the arena's, or a frozen
// copy), as capped slices of them.
func eachValue(ps *pageSet, l *valueList) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for c := l.head; c != noRef; {
			var data []byte
			data, c = ps.chunk(l, c)
			for len(data) > 0 {
				var v []byte
				v, data = nextValue(data)
				if !yield(v) {
					return
				}
			}
		}
	}
}

// appendConcat appends l's values, concatenated, to buf, and their end
// offsets (relative to the first value) to ends, reading ps (the
// arena's, or a frozen copy).
func appendConcat(ps *pageSet, buf []byte, ends []int, l *valueList) ([]byte, []int) {
	base := len(buf)
	for v := range eachValue(ps, l) {
		buf = append(buf, v...)
		ends = append(ends, len(buf)-base)
	}
	return buf, ends
}

// release drops l's chunks and empties it; a page left without live
// chunks is dropped (its bytes stay valid for panes that alias them).
func (a *arena) release(l *valueList) {
	for c := l.head; c != noRef; {
		p := uint32(c >> refPageBit)
		_, next := a.chunk(l, c)
		if a.live[p]--; a.live[p] == 0 && p != a.cur {
			// The page being filled stays: it is dropped when full.
			a.drop(p)
		}
		c = next
	}
	*l = emptyList()
}

func (a *arena) drop(p uint32) {
	if page := a.pages[p]; page != nil {
		a.held -= int64(cap(page))
		a.pages[p] = nil
	} else if e, ok := a.spilled[p]; ok {
		a.file.release(e)
		a.spilledBytes -= int64(e.n)
		delete(a.spilled, p)
	}
	a.free = append(a.free, p)
}

// spill writes pages to the spill file, oldest first, until those held
// in memory take limit bytes or less; the page being filled goes last,
// and the next value then starts a new one. It does nothing while
// spilling is off (file nil).
func (a *arena) spill(limit int64) {
	if a.file == nil || a.held <= limit {
		return
	}
	n := uint32(len(a.pages))
	if n == 0 {
		return
	}
	start := a.cursor
	for i := uint32(0); i <= n && a.held > limit; i++ {
		p := (start + i) % n
		if i == n {
			p = a.cur // only the page being filled is left
		}
		if int(p) >= len(a.pages) || (p == a.cur && i < n) {
			continue
		}
		page := a.pages[p]
		if page == nil {
			continue
		}
		if p == a.cur {
			a.cur = uint32(len(a.pages)) // none
			if a.live[p] == 0 {
				a.drop(p)
				continue
			}
		}
		e, ok := a.file.write(page)
		if !ok {
			return
		}
		if a.spilled == nil {
			a.spilled = map[uint32]extent{}
		}
		a.spilled[p] = e
		a.pages[p] = nil
		a.held -= int64(cap(page))
		a.spilledBytes += int64(e.n)
		a.cursor = p + 1
	}
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
	a.seal(l1.tail, l2.head, l1.tailUsed)
	l1.tail, l1.tailUsed, l1.tailCap = l2.tail, l2.tailUsed, l2.tailCap
	l1.n += l2.n
	l1.size += l2.size
	*l2 = emptyList()
}

// reset drops every page: no window holds values any more. The spill
// file stays, emptied.
func (a *arena) reset() {
	f := a.file
	*a = arena{}
	if f != nil {
		f.reset()
		a.file = f
	}
}
