package postgres

import (
	"fmt"
	"math"
	"time"
)

// FNV-1a, 64 bits: stable across processes and Go versions, unlike
// hash/maphash, whose seeds differ per process.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// keyHash is an FNV-1a hash being computed; its methods take strings and
// numbers without converting them to []byte, so hashing does not allocate.
type keyHash uint64

func (h *keyHash) str(s string) {
	for i := 0; i < len(s); i++ {
		*h = (*h ^ keyHash(s[i])) * fnvPrime
	}
}

func (h *keyHash) bytes(b []byte) {
	for _, c := range b {
		*h = (*h ^ keyHash(c)) * fnvPrime
	}
}

func (h *keyHash) num(u uint64) {
	for range 8 {
		*h = (*h ^ keyHash(u&0xff)) * fnvPrime
		u >>= 8
	}
}

// hashKey hashes the key columns of a row the same way in every process,
// so that all rows of a key go to one shard whichever worker shards them.
// Common column types are hashed without reflection.
func hashKey(row []any, keyIdx []int) uint64 {
	h := keyHash(fnvOffset)
	for _, i := range keyIdx {
		if i >= len(row) {
			continue // Process reports the short row
		}
		switch v := row[i].(type) {
		case string:
			h.str(v)
		case []byte:
			h.bytes(v)
		case int:
			h.num(uint64(v))
		case int32:
			h.num(uint64(v))
		case int64:
			h.num(uint64(v))
		case uint32:
			h.num(uint64(v))
		case uint64:
			h.num(v)
		case float64:
			h.num(math.Float64bits(v))
		case bool:
			if v {
				h.num(1)
			} else {
				h.num(0)
			}
		case time.Time:
			h.num(uint64(v.UnixNano()))
		default:
			h.str(fmt.Sprint(v))
		}
		h.num(0) // separates the columns
	}
	return uint64(h)
}
