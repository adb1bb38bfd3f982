package state

import (
	"bytes"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Bundle is the state and timer work of one bundle: reads see the
// committed state overlaid with the bundle's own writes, and the writes
// reach the store together on Commit or not at all on Discard. The engine
// commits a bundle's state after the bundle succeeded and before its
// outputs and fired timers are released (the commit order of the streaming
// reference, §1.1), so that state, timers and outputs move together; a
// retried bundle begins afresh and sees the pre-bundle state.
//
// Values passed in are copied; values returned belong to the caller.
//
// A Bundle is not safe for concurrent use. Bundles open at the same time
// must touch disjoint user keys (see Store).
type Bundle struct {
	s    *Store
	w    *writeSet
	done bool
	buf  []byte
	// kbuf holds the store key being written by a timer's set or
	// deletion (the write set copies the keys it keeps).
	kbuf []byte
	// rbuf holds the bounds of ReadBag's scan.
	rbuf []byte
	keys map[string]struct{} // with Options.CheckKeys: user keys touched

	// stampKey and stampWindow are the last (key, window) stamped, so that
	// runs of writes to one key's cells stamp it once.
	stampKey    []byte
	stampWindow window.Window
	stamped     bool

	// earliest bounds, per Domain, the firing times of the timers of the
	// bundle's keys, so that PopTimer can answer "none" without looking:
	// the committed minimum over all keys when first asked (the bundle's
	// keys' committed timers cannot change while it owns them), lowered by
	// every timer the bundle sets.
	earliest     [3]window.Time
	earliestRead bool
}

// Page is one page of a read. Next is the continuation token for the
// following page, nil when this is the last; pass it back to the same read
// (same cell, same arguments) in the same bundle.
type Page struct {
	Values [][]byte
	// Timestamps holds the timestamp of each value, for ordered-list reads.
	Timestamps []window.Time
	Next       []byte
}

// Commit writes the bundle's state and timer changes to the store
// atomically. The bundle cannot be used afterwards.
func (b *Bundle) Commit() error {
	if b.done {
		return ErrDone
	}
	// The keys are released after the write lands, so that a bundle that
	// takes them over sees it.
	defer b.finish()
	if b.w.empty() {
		return nil
	}
	err := b.s.kv.apply(b.w)
	b.s.lowerHeads(b.w)
	return err
}

// Discard drops the bundle's changes, as if it never ran. Discarding a
// finished bundle does nothing, so `defer b.Discard()` is safe.
func (b *Bundle) Discard() {
	if !b.done {
		b.finish()
	}
}

func (b *Bundle) finish() {
	b.done = true
	b.w.reset()
	b.s.writeSets.Put(b.w)
	b.w = nil
	if b.keys != nil {
		b.s.release(b)
	}
}

// use checks that b may still be used and registers key.
func (b *Bundle) use(key []byte) error {
	if b.done {
		return ErrDone
	}
	if b.keys != nil {
		return b.s.touch(b, key)
	}
	return nil
}

// get reads k through the overlay.
func (b *Bundle) get(k []byte) ([]byte, bool, error) {
	if v, ok, found := b.w.get(k); found {
		return v, ok, nil
	}
	if p := partLen(k); p > 0 && b.s.mem != nil {
		return b.s.mem.getIn(b.memKey(k, p), k)
	}
	return b.s.kv.get(k)
}

// memKey returns the memory backend's partitions of the user key of k
// (partition prefix length p), nil if it has none, looked up once per
// bundle: the bundle owns the key, so no other commit adds, replaces or
// removes them until this bundle's own.
func (b *Bundle) memKey(k []byte, p int) *memKey {
	kw := b.w.keyOf(k, p, true)
	if !kw.looked {
		kw.mem, kw.looked = b.s.mem.lookup(k[1:p]), true
	}
	return kw.mem
}

// kvScan is the committed part of scan: within one partition of the
// memory backend, through the bundle's lookup of the key (memKey).
func (b *Bundle) kvScan(lo, hi []byte, fn func(k, v []byte) bool) error {
	if p := partLen(lo); p > 0 && b.s.mem != nil && len(hi) >= p && string(hi[:p]) == string(lo[:p]) {
		b.s.mem.scanIn(b.memKey(lo, p), partSlot(lo[0]), lo, hi, fn)
		return nil
	}
	return b.s.kv.scan(lo, hi, fn)
}

// scan calls fn on the entries of [lo, hi) through the overlay, in order,
// until fn returns false; [lo, hi) lies within one user key's table. k
// and v are valid only during the call.
func (b *Bundle) scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	pw := b.w.part(lo, partLen(lo), false)
	if pw == nil || pw.empty() {
		return b.kvScan(lo, hi, fn)
	}
	n, _ := pw.find(string(lo))
	stopped := false
	// emitUpTo emits overlay writes below limit (all of them if limit is
	// nil) and reports whether fn wants more.
	emitUpTo := func(limit []byte) bool {
		for ; n < len(pw.keys) && (hi == nil || pw.keys[n] < string(hi)) && (limit == nil || pw.keys[n] < string(limit)); n++ {
			if pw.vals[n].del {
				continue
			}
			if !fn(bytesOf(pw.keys[n]), pw.vals[n].val) {
				return false
			}
		}
		return true
	}
	err := b.kvScan(lo, hi, func(k, v []byte) bool {
		if !emitUpTo(k) {
			stopped = true
			return false
		}
		if n < len(pw.keys) && pw.keys[n] == string(k) {
			return true // the overlay's version, emitted next
		}
		if pw.deleted(string(k)) {
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil || stopped {
		return err
	}
	emitUpTo(nil)
	return nil
}

// stamp records that (key, w) has state or timers, for its expiry; sk is
// a store key of one of key's partitions.
//
// Every event of a stateful DoFn stamps its key, and its key's window
// entry is almost always there already: the memory backend's partitions of
// a key remember the windows whose entries its commits wrote (memKey), so
// that the bundle writes the entry only when it is not known to be there,
// instead of a global write per key per bundle whose commit searches the
// index for an entry it then leaves as it was.
func (b *Bundle) stamp(sk, key []byte, w window.Window) {
	if b.stamped && w == b.stampWindow && bytes.Equal(key, b.stampKey) {
		return
	}
	b.stampKey, b.stampWindow, b.stamped = append(b.stampKey[:0], key...), w, true
	p := partLen(sk)
	kw := b.w.keyOf(sk, p, true)
	on, known := kw.window(w)
	if !known && b.s.mem != nil {
		on = b.memKey(sk, p).hasWindow(w)
	}
	if on {
		return
	}
	b.buf = windowKey(b.buf[:0], b.s.GCTime(w), key, w)
	b.w.set(b.buf, nil)
	kw.windows = append(kw.windows, windowMark{w: w, on: true})
}

// start returns where a paged read of [lo, hi) resumes: lo, or the token.
func start(lo, hi, token []byte) ([]byte, error) {
	if token == nil {
		return lo, nil
	}
	if bytes.Compare(token, lo) < 0 || (hi != nil && bytes.Compare(token, hi) > 0) {
		return nil, ErrBadToken
	}
	return token, nil
}

// page reads one page of [lo, hi) from token; conv turns an entry into its
// value and timestamp and may skip it.
func (b *Bundle) page(lo, hi, token []byte, conv func(k, v []byte) ([]byte, window.Time)) (Page, error) {
	from, err := start(lo, hi, token)
	if err != nil {
		return Page{}, err
	}
	var p Page
	size := 0
	err = b.scan(from, hi, func(k, v []byte) bool {
		if size >= b.s.pageBytes {
			p.Next = append([]byte(nil), k...)
			return false
		}
		val, ts := conv(k, v)
		p.Values = append(p.Values, val)
		p.Timestamps = append(p.Timestamps, ts)
		size += len(val) + 1
		return true
	})
	return p, err
}

// copyValue is the conv of reads whose values are the entries' values.
func copyValue(_, v []byte) ([]byte, window.Time) { return append([]byte{}, v...), 0 }

// write appends a new entry to cell c under sub-key sub (the cell prefix is
// in b.buf[:n]), with a fresh sequence number.
func (b *Bundle) cellWrite(c Cell, sub func([]byte) []byte, v []byte) error {
	if err := b.use(c.Key); err != nil {
		return err
	}
	b.buf = cellPrefix(b.buf[:0], c)
	b.buf = sub(b.buf)
	b.buf = appendUint(b.buf, b.s.seq.Add(1))
	b.w.set(b.buf, append([]byte{}, v...))
	b.stamp(b.buf, c.Key, c.Window)
	return nil
}

func noSub(dst []byte) []byte { return dst }

// Append adds v to bag cell c.
func (b *Bundle) Append(c Cell, v []byte) error { return b.cellWrite(c, noSub, v) }

// Read reads a page of bag cell c, in insertion order, from token (nil:
// from the start).
func (b *Bundle) Read(c Cell, token []byte) (Page, error) {
	if err := b.use(c.Key); err != nil {
		return Page{}, err
	}
	lo := cellPrefix(nil, c)
	p, err := b.page(lo, prefixEnd(lo), token, copyValue)
	p.Timestamps = nil
	return p, err
}

// ReadBag appends a page of bag cell c's values, from token (nil: from
// the start), to dst, back to back in insertion order, and returns the
// result and the continuation token (nil on the last page). It is Read for
// callers that want the values concatenated, as the Fn API's state
// responses carry them: each value is copied once, from the store into
// dst, with no Page and no copy of its own.
func (b *Bundle) ReadBag(c Cell, token, dst []byte) ([]byte, []byte, error) {
	if err := b.use(c.Key); err != nil {
		return dst, nil, err
	}
	var lo, hi []byte
	b.rbuf, lo, hi = cellRange(b.rbuf[:0], c)
	from, err := start(lo, hi, token)
	if err != nil {
		return dst, nil, err
	}
	var next []byte
	size := 0
	err = b.scan(from, hi, func(k, v []byte) bool {
		if size >= b.s.pageBytes {
			next = append([]byte(nil), k...)
			return false
		}
		dst = append(dst, v...)
		size += len(v) + 1
		return true
	})
	return dst, next, err
}

// cellRange appends to buf cell c's prefix and the prefix's end, and
// returns buf and the two, the range of the cell's entries.
func cellRange(buf []byte, c Cell) (_, lo, hi []byte) {
	buf = cellPrefix(buf, c)
	n := len(buf)
	buf = append(buf, buf...)
	lo, hi = buf[:n:n], buf[n:]
	// The prefix ends in a field's terminator (0 1), so its end is the
	// prefix with its last byte raised (prefixEnd).
	hi[n-1]++
	return buf, lo, hi
}

// Clear empties cell c, whatever its kind.
func (b *Bundle) Clear(c Cell) error {
	if err := b.use(c.Key); err != nil {
		return err
	}
	// The range is built in b.buf: the write set copies it. A value
	// state's write clears its cell every time.
	var lo, hi []byte
	b.buf, lo, hi = cellRange(b.buf[:0], c)
	b.w.deleteRange(lo, hi)
	return nil
}

// Value reads the first value of bag cell c: value state, which the Fn
// API keeps as a bag cleared before each write (SetValue).
func (b *Bundle) Value(c Cell) ([]byte, bool, error) {
	if err := b.use(c.Key); err != nil {
		return nil, false, err
	}
	var lo, hi []byte
	b.rbuf, lo, hi = cellRange(b.rbuf[:0], c)
	var v []byte
	found := false
	err := b.scan(lo, hi, func(_, val []byte) bool {
		v, found = append([]byte{}, val...), true
		return false
	})
	return v, found, err
}

// SetValue replaces the contents of bag cell c with the one value v.
func (b *Bundle) SetValue(c Cell, v []byte) error {
	if err := b.Clear(c); err != nil {
		return err
	}
	return b.Append(c, v)
}

// Put adds v to the values of map key mk in multimap cell c (map and set
// state put after a Remove of mk; set state uses empty values).
func (b *Bundle) Put(c Cell, mk, v []byte) error {
	return b.cellWrite(c, func(dst []byte) []byte { return appendBytes(dst, mk) }, v)
}

// mapKeyPrefix is the store prefix of map key mk's values in cell c.
func mapKeyPrefix(c Cell, mk []byte) []byte { return appendBytes(cellPrefix(nil, c), mk) }

// Get reads a page of the values of map key mk in multimap cell c, in
// insertion order.
func (b *Bundle) Get(c Cell, mk []byte, token []byte) (Page, error) {
	if err := b.use(c.Key); err != nil {
		return Page{}, err
	}
	lo := mapKeyPrefix(c, mk)
	p, err := b.page(lo, prefixEnd(lo), token, copyValue)
	p.Timestamps = nil
	return p, err
}

// Remove deletes map key mk and all its values from multimap cell c.
func (b *Bundle) Remove(c Cell, mk []byte) error {
	if err := b.use(c.Key); err != nil {
		return err
	}
	lo := mapKeyPrefix(c, mk)
	b.w.deleteRange(lo, prefixEnd(lo))
	return nil
}

// Keys reads a page of the distinct map keys of multimap cell c, in
// bytewise order.
func (b *Bundle) Keys(c Cell, token []byte) (Page, error) {
	if err := b.use(c.Key); err != nil {
		return Page{}, err
	}
	lo := cellPrefix(nil, c)
	hi := prefixEnd(lo)
	from, err := start(lo, hi, token)
	if err != nil {
		return Page{}, err
	}
	var p Page
	size := 0
	for {
		// Each key is found by one short scan that stops at its first
		// value; the next scan starts past all of the key's values, so a
		// key with many values costs no more than one with one.
		var mk []byte
		err := b.scan(from, hi, func(k, _ []byte) bool {
			d := decoder{b: k[len(lo):]}
			mk = d.bytes()
			if d.err != nil {
				mk = nil
			}
			return false
		})
		if err != nil || mk == nil {
			return p, err
		}
		next := prefixEnd(appendBytes(append([]byte(nil), lo...), mk))
		if size >= b.s.pageBytes {
			p.Next = from
			return p, nil
		}
		p.Values = append(p.Values, mk)
		size += len(mk) + 1
		from = next
	}
}

// listSub is the ordered-list sub-key prefix for timestamp ts.
func listKey(c Cell, ts window.Time) []byte { return appendTime(cellPrefix(nil, c), ts) }

// AddAt adds v at timestamp ts to ordered-list cell c.
func (b *Bundle) AddAt(c Cell, ts window.Time, v []byte) error {
	return b.cellWrite(c, func(dst []byte) []byte { return appendTime(dst, ts) }, v)
}

// ReadRange reads a page of the values of ordered-list cell c with
// timestamps in [from, to), ascending by timestamp, equal timestamps in
// insertion order.
func (b *Bundle) ReadRange(c Cell, from, to window.Time, token []byte) (Page, error) {
	if err := b.use(c.Key); err != nil {
		return Page{}, err
	}
	if from >= to {
		return Page{}, nil
	}
	n := len(cellPrefix(nil, c))
	return b.page(listKey(c, from), listKey(c, to), token, func(k, v []byte) ([]byte, window.Time) {
		d := decoder{b: k[n:]}
		return append([]byte{}, v...), d.time()
	})
}

// ClearRange deletes the values of ordered-list cell c with timestamps in
// [from, to).
func (b *Bundle) ClearRange(c Cell, from, to window.Time) error {
	if err := b.use(c.Key); err != nil {
		return err
	}
	if from < to {
		b.w.deleteRange(listKey(c, from), listKey(c, to))
	}
	return nil
}

// Drop deletes all state cells and pending timers of (key, w), releasing
// the timers' holds: a window's garbage collection, after its
// OnWindowExpiration callbacks ran in the same bundle.
func (b *Bundle) Drop(key []byte, w window.Window) error {
	if err := b.use(key); err != nil {
		return err
	}
	lo := scopePrefix(nil, tagState, key, w)
	b.w.deleteRange(lo, prefixEnd(lo))
	lo = scopePrefix(nil, tagTimer, key, w)
	var timers []Timer
	var derr error
	err := b.scan(lo, prefixEnd(lo), func(_, v []byte) bool {
		t, err := decodeTimer(v)
		timers, derr = append(timers, t), err
		return err == nil
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("state: drop %q %v: %w", key, w, err)
	}
	for _, t := range timers {
		b.deleteTimer(t)
	}
	b.w.delete(windowKey(nil, b.s.GCTime(w), key, w))
	kw := b.w.keyOf(lo, partLen(lo), true)
	kw.windows = append(kw.windows, windowMark{w: w, on: false})
	b.stamped = false
	return nil
}
