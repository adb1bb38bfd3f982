package state

import (
	"slices"
	"sync"
)

// memBackend is the in-memory backend. Its entries are partitioned as a
// bundle's writes are (partLen): each user key's state, timers and timer
// index in a small sorted slice of its own, found through a map, and the
// global index tables (due times, holds, windows), which the engine scans
// in order across keys, in one ordered list of sorted chunks (ordered).
// A bundle's reads and writes of a key then cost a map lookup and a search
// among that key's few entries, instead of a descent through a skiplist of
// every entry of the store, and the slices hold no per-entry pointers for
// the collector to chase.
type memBackend struct {
	// mu guards the fields below.
	mu     sync.RWMutex
	parts  map[string]*memPart
	global *ordered
}

var _ backend = (*memBackend)(nil)

func newMemBackend() *memBackend {
	return &memBackend{parts: map[string]*memPart{}, global: &ordered{}}
}

// memPart is one partition's entries, ascending by key. Values are never
// mutated in place (apply stores fresh copies), so readers may keep them.
type memPart struct {
	keys []string
	vals [][]byte
}

func (p *memPart) find(k string) (int, bool) { return slices.BinarySearch(p.keys, k) }

func (p *memPart) set(k string, v []byte) {
	i, ok := p.find(k)
	if ok {
		p.vals[i] = v
		return
	}
	p.keys = slices.Insert(p.keys, i, k)
	p.vals = slices.Insert(p.vals, i, v)
}

func (p *memPart) delete(k string) {
	if i, ok := p.find(k); ok {
		p.keys = slices.Delete(p.keys, i, i+1)
		p.vals = slices.Delete(p.vals, i, i+1)
	}
}

func (p *memPart) deleteRange(lo, hi string) {
	i, _ := p.find(lo)
	j, _ := p.find(hi)
	if i < j {
		p.keys = slices.Delete(p.keys, i, j)
		p.vals = slices.Delete(p.vals, i, j)
	}
}

func (m *memBackend) get(k []byte) ([]byte, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := partLen(k)
	if p == 0 {
		v, ok := m.global.get(string(k))
		return v, ok, nil
	}
	part := m.parts[string(k[:p])]
	if part == nil {
		return nil, false, nil
	}
	if i, ok := part.find(string(k)); ok {
		return part.vals[i], true, nil
	}
	return nil, false, nil
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

// scanPart scans [lo, hi) within partition prefix and reports whether fn
// wanted more.
func (m *memBackend) scanPart(prefix string, lo, hi []byte, fn func(k, v []byte) bool) bool {
	var keys [scanChunk]string
	var vals [scanChunk][]byte
	from, after := string(lo), false
	for {
		n := 0
		m.mu.RLock()
		if part := m.parts[prefix]; part != nil {
			i, found := part.find(from)
			if after && found {
				i++
			}
			for ; i < len(part.keys) && (hi == nil || part.keys[i] < string(hi)) && n < scanChunk; i++ {
				keys[n], vals[n] = part.keys[i], part.vals[i]
				n++
			}
		}
		m.mu.RUnlock()
		for i := range n {
			if !fn(bytesOf(keys[i]), vals[i]) {
				return false
			}
		}
		if n < scanChunk {
			return true
		}
		from, after = keys[n-1], true
	}
}

// scanGlobal scans [lo, hi) of the global tables and reports whether fn
// wanted more.
func (m *memBackend) scanGlobal(lo, hi []byte, fn func(k, v []byte) bool) bool {
	var keys [scanChunk]string
	var vals [scanChunk][]byte
	from, after := string(lo), false
	for {
		n := 0
		m.mu.RLock()
		m.global.ascend(from, after, func(k string, v []byte) bool {
			if (hi != nil && k >= string(hi)) || n == scanChunk {
				return false
			}
			keys[n], vals[n] = k, v
			n++
			return true
		})
		m.mu.RUnlock()
		for i := range n {
			if !fn(bytesOf(keys[i]), vals[i]) {
				return false
			}
		}
		if n < scanChunk {
			return true
		}
		from, after = keys[n-1], true
	}
}

// scanAll scans [lo, hi) across partitions and the global tables in key
// order. A global key sorts before or after all of a partition's keys (it
// never starts with a partition's prefix), so the global entries between
// partitions are scanned in the gaps.
func (m *memBackend) scanAll(lo, hi []byte, fn func(k, v []byte) bool) {
	m.mu.RLock()
	var prefixes []string
	for p := range m.parts {
		if (hi == nil || p < string(hi)) && string(lo) < string(prefixEnd([]byte(p))) {
			prefixes = append(prefixes, p)
		}
	}
	m.mu.RUnlock()
	slices.Sort(prefixes)
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

// apply replays w one partition at a time, so that a partition costs one
// map lookup however many writes it has, then the global writes.
func (m *memBackend) apply(w *writeSet) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for prefix, pw := range w.parts {
		m.applyPart(prefix, pw)
	}
	for k, e := range w.points {
		if e.del {
			m.global.delete(k)
		} else {
			m.global.set(k, e.val)
		}
	}
	return nil
}

// applyPart replays one partition's range deletes, then its point writes;
// m.mu is held.
func (m *memBackend) applyPart(prefix string, pw *partWrites) {
	part := m.parts[prefix]
	if part != nil {
		for _, d := range pw.dels {
			part.deleteRange(d.lo, d.hi)
		}
	}
	for i, k := range pw.keys {
		e := pw.vals[i]
		switch {
		case e.del && part != nil:
			part.delete(k)
		case !e.del:
			if part == nil {
				part = &memPart{}
				m.parts[prefix] = part
			}
			part.set(k, e.val)
		}
	}
	if part != nil {
		m.dropIfEmpty(prefix, part)
	}
}

// dropIfEmpty forgets an emptied partition, so that keys whose state was
// cleared cost nothing.
func (m *memBackend) dropIfEmpty(prefix string, part *memPart) {
	if len(part.keys) == 0 {
		delete(m.parts, prefix)
	}
}

// export walks everything in order under the read lock: it blocks commits
// while it runs.
func (m *memBackend) export(fn func(k, v []byte) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	prefixes := make([]string, 0, len(m.parts))
	for p := range m.parts {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)
	// A global key sorts before or after all of a partition's keys, so
	// each partition goes out just before the first global key above it.
	emitPart := func(p string) error {
		part := m.parts[p]
		for i, k := range part.keys {
			if err := fn([]byte(k), part.vals[i]); err != nil {
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
	m.parts, m.global = map[string]*memPart{}, &ordered{}
	m.mu.Unlock()
	return nil
}
