package state

import (
	"slices"
	"sync"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/keymap"
)

// memBackend is the in-memory backend. Its entries are partitioned as a
// bundle's writes are (partLen): each user key's state, timers and timer
// index in three small sorted slices of its own, all three in one memKey
// found by one map lookup, and the global index tables (due times, holds,
// windows), which the engine scans in order across keys, in one ordered
// list of sorted chunks (ordered). A bundle's reads and writes of a key,
// and its commit, then cost one map lookup per key and a search among
// that key's few entries, instead of a descent through a skiplist of every
// entry of the store, and the slices hold no per-entry pointers for the
// collector to chase.
type memBackend struct {
	// mu guards the fields below.
	mu sync.RWMutex
	// keys maps the escaped user key field of a partition prefix (the
	// prefix without its table tag) to the key's partitions.
	keys   keymap.Map[*memKey]
	global *ordered
}

var _ backend = (*memBackend)(nil)

func newMemBackend() *memBackend {
	return &memBackend{keys: keymap.New[*memKey](0), global: &ordered{}}
}

// memKey is one user key's partitions, by partSlot, and the windows
// whose entries in the global windows table its commits wrote and did not
// delete since (Bundle.stamp). The window entries are deleted only by a
// bundle's Drop, which the commit records here too; a memKey that empties
// is forgotten with what it knew, and the next stamp writes the entry
// again.
//
// The first window is held in the memKey itself (win, when hasWin), the
// others in more: most keys' state lives in one window (the global one of
// a stateful DoFn), which then costs no allocation and no pointer.
type memKey struct {
	parts  [3]memPart
	win    window.Window
	hasWin bool
	more   []window.Window
}

// hasWindow reports whether k (nil: none) knows w's window entry to be
// there.
func (k *memKey) hasWindow(w window.Window) bool {
	return k != nil && ((k.hasWin && k.win == w) || slices.Contains(k.more, w))
}

// markWindow records the write of w's window entry (on: set).
func (k *memKey) markWindow(w window.Window, on bool) {
	switch {
	case on && !k.hasWindow(w):
		if !k.hasWin {
			k.win, k.hasWin = w, true
			return
		}
		k.more = append(k.more, w)
	case on:
	case k.hasWin && k.win == w:
		// The last of the others, if any, takes its place.
		if n := len(k.more); n > 0 {
			k.win, k.more = k.more[n-1], k.more[:n-1]
			return
		}
		k.hasWin = false
	default:
		if i := slices.Index(k.more, w); i >= 0 {
			k.more = slices.Delete(k.more, i, i+1)
		}
	}
}

// empty reports whether k holds no entry.
func (k *memKey) empty() bool {
	return k.parts[0].len() == 0 && k.parts[1].len() == 0 && k.parts[2].len() == 0
}

// part returns the partition with prefix (a table tag and an escaped
// user key field), or nil; m.mu is held.
func (m *memBackend) part(prefix string) *memPart {
	k, _ := m.keys.Get(prefix[1:])
	if k == nil {
		return nil
	}
	return &k.parts[partSlot(prefix[0])]
}

// lookup returns the partitions of the user key whose escaped field is
// ukey, or nil.
func (m *memBackend) lookup(ukey []byte) *memKey {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mk, _ := m.keys.GetBytes(ukey)
	return mk
}

// getIn is get of a partitioned key k whose user key's partitions are mk
// (nil: none), as lookup found them for a bundle that owns the key. It
// takes no lock: only the commit of a bundle owning the key changes mk,
// and the last one happened before the lookup (which took the lock), the
// next one after the owner's reads.
func (m *memBackend) getIn(mk *memKey, k []byte) ([]byte, bool, error) {
	if mk == nil {
		return nil, false, nil
	}
	part := &mk.parts[partSlot(k[0])]
	if i, ok := part.find(string(k)); ok {
		return part.val(i), true, nil
	}
	return nil, false, nil
}

func (m *memBackend) get(k []byte) ([]byte, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := partLen(k)
	if p == 0 {
		v, ok := m.global.get(string(k))
		return v, ok, nil
	}
	mk, _ := m.keys.GetBytes(k[1:p])
	return m.getIn(mk, k)
}

// partitionedTags are the tables kept in partitions.
var partitionedTags = [...]byte{tagPerKey, tagState, tagTimer}

// scan serves the three shapes of range the store reads: within one
// partition (a bundle's reads), within the global tables (the engine's
// questions), and anything else (snapshots), which walks the partitions
// in order between the global entries.
func (m *memBackend) scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	if p := partLen(lo); p > 0 && len(hi) >= p && string(hi[:p]) == string(lo[:p]) {
		m.scanPart(string(lo[:p]), lo, hi, fn)
		return nil
	}
	touches := false
	for _, t := range partitionedTags {
		touches = touches || (string(lo) < string([]byte{t + 1}) && (hi == nil || string(hi) > string([]byte{t})))
	}
	if !touches {
		m.scanGlobal(lo, hi, fn)
		return nil
	}
	m.scanAll(lo, hi, fn)
	return nil
}

// scanChunk is how many entries a scan copies under the read lock before
// calling fn without it, so that fn may commit (DropExpired's callers do)
// and long scans do not stall commits.
const scanChunk = 64

// scanFirst is how many entries scanPart copies in its first pass: most
// of a bundle's reads are of a cell with one or a few entries, and the
// arrays of a pass are cleared on every call.
const scanFirst = 8

// scanIn is scanPart within partition slot of the partitions mk (nil:
// none), as lookup found them for a bundle that owns the key: like getIn,
// without a lock, and so without copying the entries out first; fn must
// not commit.
func (m *memBackend) scanIn(mk *memKey, slot int, lo, hi []byte, fn func(k, v []byte) bool) bool {
	if mk == nil {
		return true
	}
	part := &mk.parts[slot]
	i, _ := part.find(string(lo))
	for ; i < part.len() && (hi == nil || part.key(i) < string(hi)); i++ {
		if !fn(bytesOf(part.key(i)), part.val(i)) {
			return false
		}
	}
	return true
}

// scanPart scans [lo, hi) within partition prefix, which it looks up
// under the read lock at every pass, and reports whether fn wanted more.
func (m *memBackend) scanPart(prefix string, lo, hi []byte, fn func(k, v []byte) bool) bool {
	var keys [scanFirst]string
	var vals [scanFirst][]byte
	n, more := m.copyPart(prefix, string(lo), false, hi, keys[:], vals[:])
	for i := range n {
		if !fn(bytesOf(keys[i]), vals[i]) {
			return false
		}
	}
	if !more {
		return true
	}
	return m.scanPartFrom(prefix, keys[n-1], hi, fn)
}

// scanPartFrom is scanPart's continuation past from, scanChunk entries
// at a time.
func (m *memBackend) scanPartFrom(prefix, from string, hi []byte, fn func(k, v []byte) bool) bool {
	var keys [scanChunk]string
	var vals [scanChunk][]byte
	for {
		n, more := m.copyPart(prefix, from, true, hi, keys[:], vals[:])
		for i := range n {
			if !fn(bytesOf(keys[i]), vals[i]) {
				return false
			}
		}
		if !more {
			return true
		}
		from = keys[n-1]
	}
}

// copyPart copies into keys and vals, under the read lock, the entries of
// partition prefix from from (past it if after) below hi, as many as fit, and
// reports how many it copied and whether they filled the arrays.
func (m *memBackend) copyPart(prefix, from string, after bool, hi []byte, keys []string, vals [][]byte) (int, bool) {
	n := 0
	m.mu.RLock()
	defer m.mu.RUnlock()
	if part := m.part(prefix); part != nil {
		i, found := part.find(from)
		if after && found {
			i++
		}
		// The entries are views of the partition's bytes, which the next
		// commit may move or overwrite: they are copied, all into one
		// string.
		first := i
		for ; i < part.len() && (hi == nil || part.key(i) < string(hi)) && n < len(keys); i++ {
			n++
		}
		if n > 0 {
			at := part.off(first)
			all := string(part.entries()[at:part.off(first+n)])
			for j := range n {
				e := first + j
				k, v := part.kend(e)-at, part.vend(e)-at
				keys[j], vals[j] = all[part.off(e)-at:k], bytesOf(all[k:v])
			}
		}
	}
	return n, n == len(keys)
}

// scanGlobal scans [lo, hi) of the global tables and reports whether fn
// wanted more. The index's keys are views of its arrays, which its next
// change may write over: each pass copies its keys under the lock.
func (m *memBackend) scanGlobal(lo, hi []byte, fn func(k, v []byte) bool) bool {
	var ends [scanChunk]int
	var vals [scanChunk][]byte
	var kbuf []byte
	from, after := string(lo), false
	for {
		n := 0
		kbuf = kbuf[:0]
		m.mu.RLock()
		m.global.ascend(from, after, func(k string, v []byte) bool {
			if (hi != nil && k >= string(hi)) || n == scanChunk {
				return false
			}
			kbuf = append(kbuf, k...)
			ends[n], vals[n] = len(kbuf), v
			n++
			return true
		})
		m.mu.RUnlock()
		start := 0
		for i := range n {
			if !fn(kbuf[start:ends[i]:ends[i]], vals[i]) {
				return false
			}
			start = ends[i]
		}
		if n < scanChunk {
			return true
		}
		ls := 0
		if n > 1 {
			ls = ends[n-2]
		}
		from, after = string(kbuf[ls:ends[n-1]]), true
	}
}

// scanAll scans [lo, hi) across partitions and the global tables in key
// order. A global key sorts before or after all of a partition's keys (it
// never starts with a partition's prefix), so the global entries between
// partitions are scanned in the gaps.
func (m *memBackend) scanAll(lo, hi []byte, fn func(k, v []byte) bool) {
	m.mu.RLock()
	var prefixes []string
	for _, p := range m.prefixes() {
		if (hi == nil || p < string(hi)) && string(lo) < string(prefixEnd([]byte(p))) {
			prefixes = append(prefixes, p)
		}
	}
	m.mu.RUnlock()
	cur := lo
	for _, p := range prefixes {
		if !m.scanGlobal(cur, []byte(p), fn) {
			return
		}
		from, to := []byte(p), prefixEnd([]byte(p))
		if string(lo) > p {
			from = lo
		}
		if hi != nil && string(hi) < string(to) {
			to = hi
		}
		if !m.scanPart(p, from, to, fn) {
			return
		}
		cur = prefixEnd([]byte(p))
	}
	m.scanGlobal(cur, hi, fn)
}

// prefixes returns the prefixes of the non-empty partitions, ascending;
// m.mu is held.
func (m *memBackend) prefixes() []string {
	out := make([]string, 0, m.keys.Len())
	m.keys.Each(func(ukey string, k *memKey) {
		for slot := range k.parts {
			if k.parts[slot].len() > 0 {
				out = append(out, string(slotTags[slot])+ukey)
			}
		}
	})
	slices.Sort(out)
	return out
}

// apply replays w one user key at a time, so that a key costs one map
// lookup however many writes it has, then the global writes.
func (m *memBackend) apply(w *writeSet) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ukey, kw := range w.keys {
		m.applyKey(ukey, kw)
	}
	for i, k := range w.pkeys {
		if e := w.pvals[i]; e.del {
			m.global.delete(k)
		} else {
			m.global.set(k, e.val)
		}
	}
	return nil
}

// applyKey replays one user key's writes, partition by partition: each
// range delete together with the point writes made after it within its
// range, and the point writes outside every range; m.mu is held. A key
// left without entries is forgotten, so that keys whose state was cleared
// cost nothing.
func (m *memBackend) applyKey(ukey string, kw *keyWrites) {
	mk := kw.mem
	if !kw.looked {
		mk, _ = m.keys.Get(ukey)
	}
	for slot := range kw.parts {
		pw := &kw.parts[slot]
		// The ranges are disjoint and ascending, and so are the point
		// writes: the writes below a range lie outside every range.
		next := 0
		for _, d := range pw.dels {
			lo := next
			for lo < len(pw.keys) && pw.keys[lo] < d.lo {
				lo++
			}
			mk = m.put(ukey, mk, slot, pw.keys[next:lo], pw.vals[next:lo])
			hi := lo
			for hi < len(pw.keys) && pw.keys[hi] < d.hi {
				hi++
			}
			if mk != nil && mk.parts[slot].replaceRange(d.lo, d.hi, pw.keys[lo:hi], pw.vals[lo:hi]) {
				next = hi
				continue
			}
			next = lo
		}
		mk = m.put(ukey, mk, slot, pw.keys[next:], pw.vals[next:])
	}
	if mk != nil {
		for _, wm := range kw.windows {
			mk.markWindow(wm.w, wm.on)
		}
	}
	if mk != nil && mk.empty() {
		m.keys.Delete(ukey)
	}
}

// put applies point writes to partition slot of ukey (mk, nil if the key
// has no entry yet) and returns the key's partitions; m.mu is held.
func (m *memBackend) put(ukey string, mk *memKey, slot int, keys []string, vals []entry) *memKey {
	for i, k := range keys {
		e := vals[i]
		switch {
		case e.del && mk != nil:
			mk.parts[slot].delete(k)
		case !e.del:
			if mk == nil {
				mk = &memKey{}
				// ukey is the write set's (its arena's): the map keeps a
				// copy.
				m.keys.Set(ukey, mk)
			}
			mk.parts[slot].set(k, e.val)
		}
	}
	return mk
}

// export walks everything in order under the read lock: it blocks commits
// while it runs.
func (m *memBackend) export(fn func(k, v []byte) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	prefixes := m.prefixes()
	// A global key sorts before or after all of a partition's keys, so
	// each partition goes out just before the first global key above it.
	emitPart := func(p string) error {
		part := m.part(p)
		for i := range part.len() {
			if err := fn([]byte(part.key(i)), part.val(i)); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	m.global.ascend("", false, func(k string, v []byte) bool {
		for len(prefixes) > 0 && prefixes[0] < k && err == nil {
			err, prefixes = emitPart(prefixes[0]), prefixes[1:]
		}
		if err == nil {
			err = fn([]byte(k), v)
		}
		return err == nil
	})
	for len(prefixes) > 0 && err == nil {
		err, prefixes = emitPart(prefixes[0]), prefixes[1:]
	}
	return err
}

func (m *memBackend) close() error {
	m.mu.Lock()
	m.keys, m.global = keymap.New[*memKey](0), &ordered{}
	m.mu.Unlock()
	return nil
}
