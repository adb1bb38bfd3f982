package reduce

import "github.com/beamgo-dev/beamgo/internal/window"

// winIndex maps a key and window to the window's index in Reducer.wins, for
// the windows that their key's recent list has no room for. It is an
// open-addressing table with linear probing: a look-up reads one slot of
// 24 bytes in the common case, where a map[winKey]int32 read a control
// word and then a slot, two cache misses once the table outgrows the
// cache. The index is asked for every element-window of a key with more
// live windows than recentWins, which is the normal case when the input
// runs far ahead of the watermark (a backlog being read, or large read
// turns: at 40,000 bids per turn the unbounded bids job spent a sixth of
// its CPU in the map).
//
// Deletion shifts the entries after the removed one back (no tombstones),
// so that a table under a stream of inserts and deletes never fills with
// dead slots.
type winIndex struct {
	slots []indexSlot // a power of two long, or nil
	n     int         // occupied slots
}

// indexSlot is one entry: key index and global flag packed in kg (key<<1 |
// global), the window's bounds, and the window's index plus one (0 marks
// an empty slot).
type indexSlot struct {
	start, end window.Time
	kg         uint32
	i1         int32
}

// packKey packs key index k and w's global flag for a slot.
func packKey(k int32, w window.Window) uint32 {
	kg := uint32(k) << 1
	if w.IsGlobal() {
		kg |= 1
	}
	return kg
}

// slotHash is where the probe for (kg, start, end) begins, before masking.
func slotHash(kg uint32, start, end window.Time) uint64 {
	h := uint64(start)*0x9e3779b97f4a7c15 ^ uint64(end)*0xc2b2ae3d27d4eb4f ^ uint64(kg)*0x165667b19e3779f9
	return h ^ h>>32
}

// len returns the number of entries.
func (x *winIndex) len() int { return x.n }

// clear removes every entry, keeping the table's capacity.
func (x *winIndex) clear() {
	clear(x.slots)
	x.n = 0
}

// get returns the index of key k's window w, if the index holds it.
func (x *winIndex) get(k int32, w window.Window) (int32, bool) {
	if x.n == 0 {
		return noWin, false
	}
	kg := packKey(k, w)
	mask := uint64(len(x.slots) - 1)
	for j := slotHash(kg, w.Start, w.End) & mask; ; j = (j + 1) & mask {
		s := &x.slots[j]
		if s.i1 == 0 {
			return noWin, false
		}
		if s.kg == kg && s.start == w.Start && s.end == w.End {
			return s.i1 - 1, true
		}
	}
}

// set makes key k's window w name index i.
func (x *winIndex) set(k int32, w window.Window, i int32) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.grow()
	}
	kg := packKey(k, w)
	mask := uint64(len(x.slots) - 1)
	for j := slotHash(kg, w.Start, w.End) & mask; ; j = (j + 1) & mask {
		s := &x.slots[j]
		if s.i1 == 0 {
			*s = indexSlot{start: w.Start, end: w.End, kg: kg, i1: i + 1}
			x.n++
			return
		}
		if s.kg == kg && s.start == w.Start && s.end == w.End {
			s.i1 = i + 1
			return
		}
	}
}

// delete removes key k's window w, if the index holds it, and moves the
// entries of the probe run after it back to close the gap.
func (x *winIndex) delete(k int32, w window.Window) {
	if x.n == 0 {
		return
	}
	kg := packKey(k, w)
	mask := uint64(len(x.slots) - 1)
	i := slotHash(kg, w.Start, w.End) & mask
	for {
		s := &x.slots[i]
		if s.i1 == 0 {
			return
		}
		if s.kg == kg && s.start == w.Start && s.end == w.End {
			break
		}
		i = (i + 1) & mask
	}
	// i is the gap. An entry further along the run may move into it if
	// its home slot does not lie cyclically in (i, j].
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := &x.slots[j]
		if s.i1 == 0 {
			break
		}
		home := slotHash(s.kg, s.start, s.end) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = *s
			i = j
		}
	}
	x.slots[i] = indexSlot{}
	x.n--
}

// grow doubles the table (to 64 slots at first) and reinserts the entries.
func (x *winIndex) grow() {
	old := x.slots
	x.slots = make([]indexSlot, max(64, 2*len(old)))
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s.i1 == 0 {
			continue
		}
		j := slotHash(s.kg, s.start, s.end) & mask
		for x.slots[j].i1 != 0 {
			j = (j + 1) & mask
		}
		x.slots[j] = s
	}
}

// bytes is the memory the table holds.
func (x *winIndex) bytes() int64 { return int64(len(x.slots)) * int64(indexSlotSize) }
