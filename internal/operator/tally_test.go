package operator

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// tallyKey returns a key of one of several shapes: short, exactly
// tallyInline bytes, long, and long keys that share their first 8 bytes
// and their length (told apart only by the full copy).
func tallyKey(r *rand.Rand) string {
	n := r.IntN(300)
	switch r.IntN(6) {
	case 0:
		return strings.Repeat("x", r.IntN(3))
	case 5:
		// 0 to 9 bytes, some of them 0: around the short keys' bounds
		// (see shortSlot), which a zero byte takes a key out of.
		b := make([]byte, r.IntN(10))
		for i := range b {
			b[i] = "ab\x00"[r.IntN(3)]
		}
		return string(b)
	case 1:
		return fmt.Sprintf("%016d", n)[:tallyInline]
	case 2:
		return fmt.Sprintf("prefix-0%030d", n)
	case 3:
		return fmt.Sprintf("k%d", n)
	default:
		return fmt.Sprintf("a longer key number %d, past the inline bytes", n)
	}
}

func tallySums(t *testing.T, tab *tallyTable) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	if err := tab.each(func(k string, sum int64) error {
		if _, dup := got[k]; dup {
			t.Fatalf("key %q listed twice", k)
		}
		got[k] = sum
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestTallyTableMatchesAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tab := newTallyTable()
	for round := range 3 {
		want := map[string]int64{}
		for range 20000 {
			k := tallyKey(r)
			v := r.Int64N(100) - 50
			if !tab.add(k, v, 1<<30) {
				t.Fatalf("add %q refused below the limit", k)
			}
			want[k] += v
		}
		if tab.len() != len(want) {
			t.Errorf("round %d: %d keys held, want %d", round, tab.len(), len(want))
		}
		if tab.shortUsed == 0 || tab.used == 0 {
			t.Errorf("round %d: %d short keys and %d others, want both kinds", round, tab.shortUsed, tab.used)
		}
		if diff := cmp.Diff(want, tallySums(t, tab)); diff != "" {
			t.Fatalf("round %d: sums (-want +got):\n%s", round, diff)
		}
		tab.reset()
		if got := tallySums(t, tab); len(got) != 0 {
			t.Fatalf("round %d: %d keys after reset", round, len(got))
		}
	}
}

func TestTallyTableGrows(t *testing.T) {
	tab := newTallyTable()
	want := map[string]int64{}
	n := 10 * tallyMinSlots
	for i := range n {
		k := fmt.Sprint(i)
		if i%3 == 0 {
			k = strings.Repeat("long", 5) + k
		}
		tab.add(k, int64(i), n)
		tab.add(k, 1, n)
		want[k] = int64(i) + 1
	}
	if 4*tab.used > 3*len(tab.slots) || 4*tab.shortUsed > 3*len(tab.short) {
		t.Errorf("%d slots for %d keys, %d short slots for %d short keys: more than 3/4 full", len(tab.slots), tab.used, len(tab.short), tab.shortUsed)
	}
	if tab.len() != n {
		t.Errorf("%d keys held, want %d", tab.len(), n)
	}
	if diff := cmp.Diff(want, tallySums(t, tab)); diff != "" {
		t.Fatalf("sums (-want +got):\n%s", diff)
	}
}

func TestTallyTableLimit(t *testing.T) {
	tab := newTallyTable()
	for _, k := range []string{"a", "b", "a longer key than the inline bytes"} {
		if !tab.add(k, 1, 3) {
			t.Fatalf("add %q refused below the limit", k)
		}
	}
	if tab.add("c", 1, 3) {
		t.Errorf("a new key was added past the limit")
	}
	if !tab.add("a", 1, 3) || !tab.add("a longer key than the inline bytes", 1, 3) {
		t.Errorf("a held key was refused at the limit")
	}
	want := map[string]int64{"a": 2, "b": 1, "a longer key than the inline bytes": 2}
	if diff := cmp.Diff(want, tallySums(t, tab)); diff != "" {
		t.Fatalf("sums (-want +got):\n%s", diff)
	}
}

func TestTallyTableTellsLongKeysApartByTheirCopy(t *testing.T) {
	tab := newTallyTable()
	a, b := "same-prefix and length: A", "same-prefix and length: B"
	tab.add(a, 1, 10)
	// A slot whose tag, length and first bytes match b's but whose copy
	// is a's must not be taken for b's.
	var s *tallySlot
	for i := range tab.slots {
		if tab.slots[i].tag != 0 {
			s = &tab.slots[i]
		}
	}
	if !tab.holds(s, a) || tab.holds(s, b) {
		t.Errorf("holds: a %v (want true), b %v (want false)", tab.holds(s, a), tab.holds(s, b))
	}
}

func TestTallyTableKeysDoNotPinInputs(t *testing.T) {
	tab := newTallyTable()
	line := "short and a key that is longer than sixteen bytes"
	tab.add(line[:5], 1, 10)
	tab.add(line[10:], 1, 10)
	if err := tab.each(func(k string, _ int64) error {
		p, start := uintptr(unsafe.Pointer(unsafe.StringData(k))), uintptr(unsafe.Pointer(unsafe.StringData(line)))
		if p >= start && p < start+uintptr(len(line)) {
			t.Errorf("key %q shares the input's bytes", k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestKeyWordsAreTheKeysBytesZeroPadded(t *testing.T) {
	// Keys of every inline length, cut from a longer string at every
	// offset (so that no load may read past them unnoticed), and keys
	// ending in zero bytes, which only their length tells from shorter
	// ones.
	src := "abcdefghijklmnopqrstuvwxyz\x00\x00ABC"
	for n := 0; n <= tallyInline; n++ {
		for off := 0; off+n <= len(src); off++ {
			k := src[off : off+n]
			var b [2 * 8]byte
			copy(b[:], k)
			k0, k1 := keyWords(k)
			if want0, want1 := binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:]); k0 != want0 || k1 != want1 {
				t.Errorf("keyWords(%q) = %#x, %#x, want %#x, %#x", k, k0, k1, want0, want1)
			}
		}
	}
	tab := newTallyTable()
	keys := []string{"", "\x00", "\x00\x00", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00\x00", "a\x00\x00\x00\x00\x00\x00\x00\x00"}
	for i, k := range keys {
		tab.add(k, int64(i+1), 100)
	}
	want := map[string]int64{}
	for i, k := range keys {
		want[k] = int64(i + 1)
	}
	if diff := cmp.Diff(want, tallySums(t, tab)); diff != "" {
		t.Errorf("sums of keys told apart by their length (-want +got):\n%s", diff)
	}
}

func BenchmarkTallyTable(b *testing.B) {
	lines := benchLines(8 << 20)
	var words []string
	for _, l := range lines {
		words = append(words, strings.Fields(l)...)
	}
	b.Run("tally", func(b *testing.B) {
		tab := newTallyTable()
		for b.Loop() {
			tab.reset()
			for _, w := range words {
				tab.add(w, 1, 1<<30)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(words)), "ns/word")
	})
	b.Run("map", func(b *testing.B) {
		m := map[string]*int64{}
		for b.Loop() {
			clear(m)
			for _, w := range words {
				c := m[w]
				if c == nil {
					c = new(int64)
					m[strings.Clone(w)] = c
				}
				*c++
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(words)), "ns/word")
	})
}

// TestShortKey checks which keys take a short slot (1 to 8 bytes, none of
// them 0) and that shortLen gives their length back from their word.
func TestShortKey(t *testing.T) {
	for _, k := range []string{"", "a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghi", "\x00", "a\x00", "\x00a", "abcdefg\x00", "\x00bcdefgh", "abc\x00efgh", "\xff\xff\xff\xff\xff\xff\xff\xff", "\x80", "\x01\x01"} {
		k0, _ := keyWords(k)
		want := len(k) >= 1 && len(k) <= 8 && !strings.Contains(k, "\x00")
		if got := shortKey(k0, len(k)); got != want {
			t.Errorf("shortKey(%q) = %v, want %v", k, got, want)
		}
		if want && shortLen(k0) != len(k) {
			t.Errorf("shortLen(%q) = %d, want %d", k, shortLen(k0), len(k))
		}
	}
}
