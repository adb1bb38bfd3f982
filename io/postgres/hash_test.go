package postgres

import (
	"hash/fnv"
	"testing"
)

// keyHash is FNV-1a: the same as hash/fnv's on the same bytes.
func TestKeyHashIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "counts", "a longer key of some 40 bytes or so ...."} {
		h := keyHash(fnvOffset)
		h.str(s)
		f := fnv.New64a()
		f.Write([]byte(s))
		if uint64(h) != f.Sum64() {
			t.Errorf("keyHash(%q) = %x, want %x", s, uint64(h), f.Sum64())
		}
	}
}

func TestHashKeyDependsOnKeyColumnsOnly(t *testing.T) {
	a := hashKey([]any{"k", int64(1)}, []int{0})
	b := hashKey([]any{"k", int64(2)}, []int{0})
	c := hashKey([]any{"j", int64(1)}, []int{0})
	if a != b {
		t.Errorf("rows with the same key hash differently: %x %x", a, b)
	}
	if a == c {
		t.Errorf("rows with different keys hash the same: %x", a)
	}
	// Column boundaries count: ("ab", "") and ("a", "b") differ.
	if hashKey([]any{"ab", ""}, []int{0, 1}) == hashKey([]any{"a", "b"}, []int{0, 1}) {
		t.Error("column boundaries are not hashed")
	}
	if n := testing.AllocsPerRun(100, func() { hashKey([]any{"a string key", int64(7)}, []int{0, 1}) }); n > 0 {
		t.Errorf("hashKey allocates %v times", n)
	}
}
