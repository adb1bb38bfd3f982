package state

import (
	"fmt"
	"slices"
	"sort"
	"unsafe"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// backend is the ordered key-value space a Store keeps everything in. Keys
// and values passed in are not retained; values returned by get belong to
// the caller; k and v passed to scan's fn are valid only during the call.
//
// A backend is safe for concurrent use: reads run concurrently with each
// other and with apply, and apply is atomic (a reader sees all of a write
// set or none of it).
type backend interface {
	// get returns the value under k.
	get(k []byte) ([]byte, bool, error)
	// scan calls fn on the entries in [lo, hi) in ascending order (hi nil:
	// no upper bound) until fn returns false.
	scan(lo, hi []byte, fn func(k, v []byte) bool) error
	// apply commits w atomically: its range deletes, then its point writes.
	apply(w *writeSet) error
	// export calls fn on every entry of one consistent view, in order.
	export(fn func(k, v []byte) error) error
	// close releases the backend and its files.
	close() error
}

// bytesOf returns the bytes of s without copying them, for the k passed
// to a scan's fn, which the backend contract makes read-only and valid
// only during the call: a scan of a cell then allocates nothing per entry.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// keySpaceEnd bounds every key of the store: all start with a table tag
// below 0xFF.
var keySpaceEnd = []byte{0xFF}

// entry is one point write of a write set: a value, or a deletion.
type entry struct {
	val []byte
	del bool
}

// writeSet is a bundle's pending writes. The bundle reads back only what
// it wrote under one user key (a cell, a timer, a key's timer index), so
// the writes are partitioned: those to the tables whose keys start with
// the user key (state, timers, per-key index) by user key, each key's
// three partitions in one keyWrites found by one lookup, each partition a
// small sorted run; and those to the global index tables (due times,
// holds, windows), which a bundle only writes, in a map. Every lookup
// then searches a handful of entries instead of everything the bundle
// wrote. Range deletes stay within one partition (every range the store
// deletes is a prefix of one user key's table).
type writeSet struct {
	// keys maps the escaped user key field of a partition prefix (the
	// prefix without its table tag) to that key's writes.
	keys map[string]*keyWrites
	// points indexes pkeys and pvals, the global writes in the order
	// first made.
	points map[string]int
	pkeys  []string
	pvals  []entry
	// recent is the key used last: an element's state calls and timer
	// set all fall in its key's partitions, so most lookups stop here
	// instead of hashing.
	recent *keyWrites
	// free holds keyWrites of earlier bundles for reuse.
	free []*keyWrites
	// arena holds the bytes of the keys above (the map keys, the
	// partitions' keys and ranges), which live as long as the write set.
	arena keyArena
}

// keyArena hands out strings whose bytes are copied into large reused
// pointer-free blocks: the write set's keys, which were a third of the
// allocations of a stateful event (a due-time, hold, timer, per-key
// index and cell key each, and a cleared cell's range), cost a copy
// instead, and nothing for the collector. The strings are valid until
// reset: a backend that keeps a write set's key past apply copies it (the
// memory backend's partitions copy every key into their arrays anyway;
// its user key map and global index clone the keys they insert; pebble's
// batches copy everything). The write set copies a key once however often
// it is written, but a key deleted within the bundle keeps its bytes until
// the reset: a value state written by every event of a bundle makes a new
// key each time (its sequence number), a few dozen bytes a write held to
// the bundle's end instead of freed by the collector.
type keyArena struct {
	// blocks are every block allocated, blocks[i] the one being filled;
	// reset empties them for reuse.
	blocks [][]byte
	i      int
}

// arenaBlock is the size of a keyArena block; a key longer than an eighth
// of it gets an allocation of its own.
const arenaBlock = 64 << 10

// string returns a copy of b valid until a.reset.
func (a *keyArena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(a.blocks) == 0 || len(b) > cap(a.blocks[a.i])-len(a.blocks[a.i]) {
		if len(b) > arenaBlock/8 {
			return string(b)
		}
		a.next()
	}
	cur := a.blocks[a.i]
	n := len(cur)
	cur = append(cur, b...)
	a.blocks[a.i] = cur
	return unsafe.String(&cur[n], len(b))
}

// next moves to the next block, allocating it if there is none.
func (a *keyArena) next() {
	if a.i+1 < len(a.blocks) {
		a.i++
		return
	}
	a.blocks = append(a.blocks, make([]byte, 0, arenaBlock))
	a.i = len(a.blocks) - 1
}

// reset empties every block for reuse: the strings handed out become
// invalid.
func (a *keyArena) reset() {
	for i := range a.blocks {
		a.blocks[i] = a.blocks[i][:0]
	}
	a.i = 0
}

// keyWrites are one user key's writes to the three partitioned tables,
// by partSlot.
type keyWrites struct {
	ukey  string
	parts [3]partWrites
	// mem is the memory backend's partitions of the key (nil: none) once
	// the bundle looked them up (looked), which its reads and commit then
	// use instead of a lookup each (Bundle.memKey).
	mem    *memKey
	looked bool
	// windows are the key's window entries the bundle wrote (on) or
	// deleted, in order, which the memory backend's commit records in
	// memKey (Bundle.stamp).
	windows []windowMark
}

// windowMark is a write of a key's window entry: set (on) or deleted.
type windowMark struct {
	w  window.Window
	on bool
}

// window reports whether kw's last write of window w's entry set it, and
// whether kw wrote it at all.
func (kw *keyWrites) window(w window.Window) (on, known bool) {
	for i := len(kw.windows) - 1; i >= 0; i-- {
		if kw.windows[i].w == w {
			return kw.windows[i].on, true
		}
	}
	return false, false
}

// partSlot is the slot of a partition prefix's table tag in keyWrites
// and memKey.
func partSlot(tag byte) int {
	switch tag {
	case tagState:
		return 0
	case tagTimer:
		return 1
	}
	return 2
}

// slotTags are the table tags of the slots, the inverse of partSlot.
var slotTags = [3]byte{tagState, tagTimer, tagPerKey}

func newWriteSet() *writeSet {
	return &writeSet{keys: map[string]*keyWrites{}, points: map[string]int{}}
}

// partLen returns the length of k's partition prefix: the table tag and
// the escaped user key field for the tables keyed by user key first, 0
// for the global index tables.
func partLen(k []byte) int {
	if len(k) == 0 {
		return 0
	}
	switch k[0] {
	case tagState, tagTimer, tagPerKey:
		for i := 1; i+1 < len(k); i++ {
			if k[i] == 0 {
				if k[i+1] == 1 {
					return i + 2
				}
				i++
			}
		}
	}
	return 0
}

// part returns the partition of k (prefix length p), creating it if
// create is set; nil if there is none.
func (w *writeSet) part(k []byte, p int, create bool) *partWrites {
	kw := w.keyOf(k, p, create)
	if kw == nil {
		return nil
	}
	return &kw.parts[partSlot(k[0])]
}

// keyOf returns the writes of k's user key (k's partition prefix length
// p), creating them if create is set; nil if there are none.
func (w *writeSet) keyOf(k []byte, p int, create bool) *keyWrites {
	ukey := k[1:p]
	kw := w.recent
	if kw == nil || kw.ukey != string(ukey) {
		kw = w.keys[string(ukey)]
		if kw == nil {
			if !create {
				return nil
			}
			kw = w.newKey(w.arena.string(ukey))
		}
		w.recent = kw
	}
	return kw
}

// newKey adds an empty keyWrites for ukey, reusing a recycled one.
func (w *writeSet) newKey(ukey string) *keyWrites {
	var kw *keyWrites
	if n := len(w.free); n > 0 {
		kw, w.free = w.free[n-1], w.free[:n-1]
	} else {
		kw = &keyWrites{}
	}
	kw.ukey = ukey
	w.keys[ukey] = kw
	return kw
}

// set records v under k; v is retained.
func (w *writeSet) set(k, v []byte) {
	if p := partLen(k); p > 0 {
		w.part(k, p, true).put(&w.arena, k, entry{val: v})
		return
	}
	w.point(k, entry{val: v})
}

func (w *writeSet) delete(k []byte) {
	if p := partLen(k); p > 0 {
		w.part(k, p, true).put(&w.arena, k, entry{del: true})
		return
	}
	w.point(k, entry{del: true})
}

// point records e under global key k. A key the bundle wrote before is
// looked up without a copy: the arena takes a key once, however often the
// bundle writes it.
func (w *writeSet) point(k []byte, e entry) {
	if i, ok := w.points[string(k)]; ok {
		w.pvals[i] = e
		return
	}
	ks := w.arena.string(k)
	w.points[ks] = len(w.pkeys)
	w.pkeys = append(w.pkeys, ks)
	w.pvals = append(w.pvals, e)
}

// deleteRange deletes [lo, hi), which must lie in one partition: a
// caller's bug otherwise.
func (w *writeSet) deleteRange(lo, hi []byte) {
	p := partLen(lo)
	if p == 0 || len(hi) < p || string(hi[:p]) != string(lo[:p]) {
		panic(fmt.Sprintf("state: range delete [%q, %q) is not within one user key", lo, hi))
	}
	w.part(lo, p, true).deleteRange(&w.arena, lo, hi)
}

// get returns the bundle's write of k: found reports whether the bundle
// wrote or deleted k, ok whether k now has the value v.
func (w *writeSet) get(k []byte) (v []byte, ok, found bool) {
	p := partLen(k)
	if p == 0 {
		i, found := w.points[string(k)]
		if !found {
			return nil, false, false
		}
		e := w.pvals[i]
		return e.val, !e.del, true
	}
	pw := w.part(k, p, false)
	if pw == nil {
		return nil, false, false
	}
	if i, found := pw.find(string(k)); found {
		e := pw.vals[i]
		return e.val, !e.del, true
	}
	return nil, false, pw.deleted(string(k))
}

// reset empties w for reuse, keeping its maps' capacity. The backends
// keep no reference to w's maps, partitions or keys (they copy the keys
// they keep), only to the values.
func (w *writeSet) reset() {
	for _, kw := range w.keys {
		kw.ukey, kw.mem, kw.looked = "", nil, false
		kw.windows = kw.windows[:0]
		for i := range kw.parts {
			kw.parts[i].reset()
		}
		w.free = append(w.free, kw)
	}
	clear(w.keys)
	clear(w.points)
	clear(w.pkeys)
	clear(w.pvals)
	w.pkeys, w.pvals = w.pkeys[:0], w.pvals[:0]
	w.recent = nil
	w.arena.reset()
}

func (w *writeSet) empty() bool { return len(w.keys) == 0 && len(w.points) == 0 }

// each calls del on every range delete, then put on every point write:
// the order that replays the bundle (a range delete removes the earlier
// point writes it covers). Point writes come in ascending order within a
// partition, partitions and global writes in no particular order.
func (w *writeSet) each(del func(lo, hi string) error, put func(k string, e entry) error) error {
	for _, kw := range w.keys {
		for _, pw := range &kw.parts {
			for _, d := range pw.dels {
				if err := del(d.lo, d.hi); err != nil {
					return err
				}
			}
		}
	}
	for _, kw := range w.keys {
		for _, pw := range &kw.parts {
			for i, k := range pw.keys {
				if err := put(k, pw.vals[i]); err != nil {
					return err
				}
			}
		}
	}
	for i, k := range w.pkeys {
		if err := put(k, w.pvals[i]); err != nil {
			return err
		}
	}
	return nil
}

// partWrites are the writes of one partition: range deletes, then point
// writes made after them, each kept sorted. The range deletes are kept
// merged into disjoint ranges, so that a read checks them with one binary
// search however many cells the bundle cleared. Sorted slices rather than
// a skiplist: a partition holds a few entries, and a bundle makes
// thousands of partitions, which then cost two small arrays each instead
// of a node per entry.
type partWrites struct {
	dels []span
	keys []string
	vals []entry
}

// reset empties w for reuse, keeping its slices' capacity but no
// reference to the strings and values they held.
func (w *partWrites) reset() {
	clear(w.dels)
	clear(w.keys)
	clear(w.vals)
	w.dels, w.keys, w.vals = w.dels[:0], w.keys[:0], w.vals[:0]
}

// empty reports whether w holds no write.
func (w *partWrites) empty() bool { return len(w.dels) == 0 && len(w.keys) == 0 }

// span is a range delete [lo, hi).
type span struct{ lo, hi string }

func (w *partWrites) find(k string) (int, bool) { return slices.BinarySearch(w.keys, k) }

// put records e under k, copied into a.
func (w *partWrites) put(a *keyArena, k []byte, e entry) {
	i, found := w.find(string(k))
	if found {
		w.vals[i] = e
		return
	}
	w.keys = slices.Insert(w.keys, i, a.string(k))
	w.vals = slices.Insert(w.vals, i, e)
}

// deleteRange deletes [lo, hi), copied into ka; hi nil means no upper
// bound.
func (w *partWrites) deleteRange(ka *keyArena, lo, hi []byte) {
	if hi == nil {
		hi = keySpaceEnd
	}
	if string(lo) >= string(hi) {
		return
	}
	i, _ := w.find(string(lo))
	j, _ := w.find(string(hi))
	w.keys = slices.Delete(w.keys, i, j)
	w.vals = slices.Delete(w.vals, i, j)
	// Merge with every range that overlaps or touches [lo, hi): from the
	// first that ends at or after lo, while they start at or before hi.
	a := sort.Search(len(w.dels), func(i int) bool { return w.dels[i].hi >= string(lo) })
	b := a
	// The merged range's bounds are copied into ka only if they are lo
	// or hi, not an earlier range's: a value state's writes clear the
	// same range again and again.
	l, h := unsafe.String(unsafe.SliceData(lo), len(lo)), unsafe.String(unsafe.SliceData(hi), len(hi))
	newLo, newHi := true, true
	for ; b < len(w.dels) && w.dels[b].lo <= h; b++ {
		if d := w.dels[b]; d.lo <= l {
			l, newLo = d.lo, false
		}
		if d := w.dels[b]; d.hi >= h {
			h, newHi = d.hi, false
		}
	}
	if newLo {
		l = ka.string(lo)
	}
	if newHi {
		h = ka.string(hi)
	}
	w.dels = slices.Replace(w.dels, a, b, span{lo: l, hi: h})
}

// deleted reports whether a range delete covers k.
func (w *partWrites) deleted(k string) bool {
	i := sort.Search(len(w.dels), func(i int) bool { return w.dels[i].hi > k })
	return i < len(w.dels) && w.dels[i].lo <= k
}
