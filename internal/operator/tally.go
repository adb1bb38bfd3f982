package operator

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// tallyInline is how many bytes of a key a tallySlot holds: keys up to this
// length (most words of a text) live entirely in their slot.
const tallyInline = 16

// tallyTable sums int64 values per string key. It is the precombine of the
// sdk's count and int64 sum over string keys in the global window (a word
// count's hot loop), where a Go map costs three cache lines per lookup for
// keys it does not hold in cache: the group's control word, the slot with
// the key's header and the key's bytes elsewhere. Here a key of up to
// tallyInline bytes, its hash tag and its sum share one 32-byte slot, so a
// lookup reads one cache line. Counting the words of the 200 MB benchmark
// corpus in one goroutine took 1.9 s with it against 3.1 s with a map
// (best of 5); BenchmarkTallyTable compares the two on 8 MB.
//
// A key of up to tallyInline bytes is held as two little-endian words,
// zero-padded, which are also what it is hashed from: loading them from the
// key (keyWords) and hashing them (one multiplication) is inlined into add,
// and a probe compares two words, where a call of maphash.String and a
// byte comparison per candidate slot cost about as much as the probe's
// memory access in the word count.
//
// Open addressing with linear probing, at most 3/4 full (the frequent
// keys, inserted first, sit at or next to their home slot). A slot's tag
// is the upper half of the key's hash (never 0: 0 marks a free slot), so
// that long keys are mostly told apart without comparing bytes; the tag
// also gives the home slot, so growing moves slots without hashing their
// keys again, and in order (a slot at i moves to about i or i plus the
// old size) rather than at random. A key longer than tallyInline keeps its
// first 8 bytes in the slot and, in place of the next 8, the index of its
// full copy in long; it is hashed with maphash.
//
// Keys of 1 to 8 bytes without a zero byte (see shortSlot) have a table
// of their own, of 16-byte slots, the key's word and its sum: no tag (the
// word is compared whole) and no length (the padding tells it). The word
// count's slots are L2 cache misses (70% of add's time on the load of the
// probed slot); with most keys in slots of half the size, in tables of
// 2.5 MiB instead of 8 on the benchmark corpus, more of them hit.
type tallyTable struct {
	slots []tallySlot
	used  int
	// short and shortUsed are the table of short keys (see shortSlot),
	// whose slots are half the size: the words of a text mostly go there,
	// into half the memory, which more of the processor's cache holds
	// (the benchmark corpus's 98,611 words: 2 MiB of short slots and 0.5
	// MiB of slots here, against 8 MiB of slots here alone).
	short     []shortSlot
	shortUsed int
	long      []string
	// seed hashes long keys; seed0 and seed1 short ones.
	seed         maphash.Seed
	seed0, seed1 uint64
	// keys holds the copies of long keys.
	keys keyArena
}

type tallySlot struct {
	// k0 and k1 are the key's bytes 0-7 and 8-15 (see keyWords); for a
	// key longer than tallyInline, k1 is the index of its copy in long.
	k0, k1 uint64
	tag    uint32
	n      uint32
	sum    int64
}

// shortSlot is a slot of tallyTable.short: a key of 1 to 8 bytes, none
// of them 0 (every word of a text), as a little-endian word zero-padded
// as keyWords pads it, so that the key's length is where its zero bytes
// start, and the key's sum. A w of 0 marks a free slot. Such a key is
// compared, hashed and stored as one word.
type shortSlot struct {
	w   uint64
	sum int64
}

// shortKey reports whether a key of n bytes whose word (keyWords' first)
// is w goes to the table of short keys: 1 to 8 bytes, none of them 0.
func shortKey(w uint64, n int) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// Bytes n to 7 of w are 0: set them to 1, then look for a zero byte
	// (the classic test: a byte of x is 0 if and only if it borrows).
	x := w | (^uint64(0)<<(8*n))&ones
	return uint(n-1) < 8 && (x-ones)&^x&highs == 0
}

// shortHome returns the first slot of the short key with word w.
func (t *tallyTable) shortHome(w uint64, mask uint64) uint64 {
	hi, lo := bits.Mul64(w^t.seed0, t.seed1|1)
	return (hi ^ lo) & mask
}

// shortLen returns the length of the short key with word w.
func shortLen(w uint64) int { return 8 - bits.LeadingZeros64(w)/8 }

// tallyMinSlots is the initial size of a table.
const tallyMinSlots = 1 << 10

func newTallyTable() *tallyTable {
	return &tallyTable{slots: make([]tallySlot, tallyMinSlots), short: make([]shortSlot, tallyMinSlots), seed: maphash.MakeSeed(), seed0: rand.Uint64(), seed1: rand.Uint64()}
}

// keyWords returns the bytes of k, at most tallyInline of them, as two
// little-endian words padded with zeros. It reads only k's bytes (some
// twice), with whole-word loads where k is long enough. Its two halves,
// longWords and shortWord, are each small enough for the compiler to
// inline, so that add does not pay a call per key (keyWords as one
// function is not inlined: over the inliner's budget).
func keyWords(k string) (k0, k1 uint64) {
	if len(k) >= 8 {
		return longWords(k)
	}
	return shortWord(k), 0
}

// longWords is keyWords for a key of 8 to tallyInline bytes.
func longWords(k string) (k0, k1 uint64) {
	n := len(k)
	b := unsafe.Slice(unsafe.StringData(k), n)
	// For n == 8 the shift is 64: k1 is 0.
	return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:]) >> (8 * (16 - n))
}

// shortWord is keyWords' first word for a key of fewer than 8 bytes.
func shortWord(k string) uint64 {
	n := len(k)
	b := unsafe.Slice(unsafe.StringData(k), n)
	if n >= 4 {
		return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:])>>(8*(8-n)))<<32
	}
	if n > 0 {
		return uint64(b[0]) | uint64(b[n>>1])<<(8*(n>>1)) | uint64(b[n-1])<<(8*(n-1))
	}
	return 0
}

// tagOf returns the tag of a key of up to tallyInline bytes from its
// words and length: the upper half of a multiply-fold hash (as wyhash
// folds), never 0.
func (t *tallyTable) tagOf(k0, k1 uint64, n int) uint32 {
	hi, lo := bits.Mul64(k0^t.seed0, k1^t.seed1^uint64(n))
	return uint32((hi^lo)>>32) | 1
}

// add adds v to k's sum and reports true, or, when k is not held and
// limit keys are, changes nothing and reports false.
func (t *tallyTable) add(k string, v int64, limit int) bool {
	n := len(k)
	if n > tallyInline {
		return t.addLong(k, v, limit)
	}
	var k0, k1 uint64
	if n >= 8 {
		k0, k1 = longWords(k)
	} else {
		k0 = shortWord(k)
	}
	if shortKey(k0, n) {
		mask := uint64(len(t.short) - 1)
		pos := t.shortHome(k0, mask)
		for {
			s := &t.short[pos]
			if s.w == k0 {
				s.sum += v
				return true
			}
			if s.w == 0 {
				break
			}
			pos = (pos + 1) & mask
		}
		if t.len() >= limit {
			return false
		}
		t.short[pos] = shortSlot{w: k0, sum: v}
		t.shortUsed++
		if 4*t.shortUsed > 3*len(t.short) {
			t.growShort()
		}
		return true
	}
	tag := t.tagOf(k0, k1, n)
	mask := uint64(len(t.slots) - 1)
	pos := home(tag, mask)
	for {
		s := &t.slots[pos]
		if s.tag == tag && s.k0 == k0 && s.k1 == k1 && s.n == uint32(n) {
			s.sum += v
			return true
		}
		if s.tag == 0 {
			break
		}
		pos = (pos + 1) & mask
	}
	if t.len() >= limit {
		return false
	}
	s := &t.slots[pos]
	s.k0, s.k1, s.tag, s.n, s.sum = k0, k1, tag, uint32(n), v
	t.inserted()
	return true
}

// addLong is add for a key longer than tallyInline.
func (t *tallyTable) addLong(k string, v int64, limit int) bool {
	tag := uint32(maphash.String(t.seed, k)>>32) | 1
	k0 := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(k), 8))
	mask := uint64(len(t.slots) - 1)
	pos := home(tag, mask)
	for {
		s := &t.slots[pos]
		if s.tag == tag && s.n == uint32(len(k)) && s.k0 == k0 && t.long[s.k1] == k {
			s.sum += v
			return true
		}
		if s.tag == 0 {
			break
		}
		pos = (pos + 1) & mask
	}
	if t.len() >= limit {
		return false
	}
	s := &t.slots[pos]
	s.k0, s.k1, s.tag, s.n, s.sum = k0, uint64(len(t.long)), tag, uint32(len(k)), v
	t.long = append(t.long, t.keys.clone(k))
	t.inserted()
	return true
}

// len returns how many keys the table holds.
func (t *tallyTable) len() int { return t.used + t.shortUsed }

// inserted counts a key just placed, growing the table past 3/4 full.
func (t *tallyTable) inserted() {
	t.used++
	if 4*t.used > 3*len(t.slots) {
		t.grow()
	}
}

// holds reports whether slot s holds k.
func (t *tallyTable) holds(s *tallySlot, k string) bool {
	if s.tag == 0 || s.n != uint32(len(k)) {
		return false
	}
	if len(k) > tallyInline {
		return t.long[s.k1] == k
	}
	k0, k1 := keyWords(k)
	return s.k0 == k0 && s.k1 == k1
}

// key returns the key of a used slot; keys of up to tallyInline bytes are
// copied out of the slot into a.
func (t *tallyTable) key(s *tallySlot, a *keyArena) string {
	if s.n > tallyInline {
		return t.long[s.k1]
	}
	var b [tallyInline]byte
	binary.LittleEndian.PutUint64(b[:8], s.k0)
	binary.LittleEndian.PutUint64(b[8:], s.k1)
	return a.cloneBytes(b[:s.n])
}

// home returns the first slot a key with the tag may occupy.
func home(tag uint32, mask uint64) uint64 { return uint64(tag>>1) & mask }

// grow doubles the slots and places the keys again.
func (t *tallyTable) grow() {
	old := t.slots
	t.slots = make([]tallySlot, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for i := range old {
		s := &old[i]
		if s.tag == 0 {
			continue
		}
		pos := home(s.tag, mask)
		for t.slots[pos].tag != 0 {
			pos = (pos + 1) & mask
		}
		t.slots[pos] = *s
	}
}

// growShort doubles the short slots and places the keys again.
func (t *tallyTable) growShort() {
	old := t.short
	t.short = make([]shortSlot, 2*len(old))
	mask := uint64(len(t.short) - 1)
	for _, s := range old {
		if s.w == 0 {
			continue
		}
		pos := t.shortHome(s.w, mask)
		for t.short[pos].w != 0 {
			pos = (pos + 1) & mask
		}
		t.short[pos] = s
	}
}

// each calls f with every key and its sum, stopping at an error. The keys
// are fresh copies that do not pin the table.
func (t *tallyTable) each(f func(k string, sum int64) error) error {
	if t.len() == 0 {
		return nil
	}
	var a keyArena
	for _, s := range t.short {
		if s.w == 0 {
			continue
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], s.w)
		if err := f(a.cloneBytes(b[:shortLen(s.w)]), s.sum); err != nil {
			return err
		}
	}
	for i := range t.slots {
		s := &t.slots[i]
		if s.tag == 0 {
			continue
		}
		if err := f(t.key(s, &a), s.sum); err != nil {
			return err
		}
	}
	return nil
}

// reset empties the table, keeping its slots.
func (t *tallyTable) reset() {
	if t.used > 0 {
		clear(t.slots)
	}
	if t.shortUsed > 0 {
		clear(t.short)
	}
	t.used, t.shortUsed = 0, 0
	clear(t.long)
	t.long = t.long[:0]
	t.keys.release()
}
