package postgres

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"time"
)

// hashKey hashes the key columns of a row the same way in every process,
// so that all rows of a key go to one shard whichever worker shards them.
// Common column types are hashed without reflection.
func hashKey(row []any, keyIdx []int) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	num := func(u uint64) {
		binary.LittleEndian.PutUint64(buf[:], u)
		h.Write(buf[:])
	}
	for _, i := range keyIdx {
		if i >= len(row) {
			continue // Process reports the short row
		}
		switch v := row[i].(type) {
		case string:
			h.Write([]byte(v))
		case []byte:
			h.Write(v)
		case int:
			num(uint64(v))
		case int32:
			num(uint64(v))
		case int64:
			num(uint64(v))
		case uint32:
			num(uint64(v))
		case uint64:
			num(v)
		case float64:
			num(math.Float64bits(v))
		case bool:
			if v {
				num(1)
			} else {
				num(0)
			}
		case time.Time:
			num(uint64(v.UnixNano()))
		default:
			fmt.Fprint(h, v)
		}
		h.Write([]byte{0}) // separates the columns
	}
	return h.Sum64()
}
