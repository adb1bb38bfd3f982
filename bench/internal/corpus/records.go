package corpus

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// RecordOptions configure the GroupByKey records; the zero value means
// defaults.
type RecordOptions struct {
	// Seed selects the records (default 1).
	Seed uint64
	// Records is how many records to write (default 10,000,000).
	Records int64
	// Keys is the size of the key space (default 1,000,000). Keys are
	// drawn from it with a Zipf distribution, P(k) ∝ (10+k)^-1.1, so the
	// hottest key holds about 1% of the records and many keys are never
	// drawn.
	Keys int
}

func (o *RecordOptions) withDefaults() RecordOptions {
	var out RecordOptions
	if o != nil {
		out = *o
	}
	if out.Seed == 0 {
		out.Seed = 1
	}
	if out.Records <= 0 {
		out.Records = 10_000_000
	}
	if out.Keys <= 0 {
		out.Keys = 1_000_000
	}
	return out
}

// RecordStats describe written records, and the result a correct
// GroupByKey of them must reproduce.
type RecordStats struct {
	// Records and Bytes count the records and the bytes written.
	Records, Bytes int64
	// Groups is the number of distinct keys; HottestKey holds the most
	// records, HottestCount of them.
	Groups       int64
	HottestKey   string
	HottestCount int64
	// ShuffleBytes is the size of the records as a shuffle holds them:
	// each key and value in Beam's string encoding (length prefix and
	// bytes).
	ShuffleBytes int64
	// Digest is the sum of GroupHash over all groups.
	Digest uint64
}

// WriteRecords writes records "key\tvalue\n" to w: keys "k0000123" drawn
// from a Zipf distribution, values 16 to 48 random letters and digits.
func WriteRecords(w io.Writer, opts *RecordOptions) (RecordStats, error) {
	o := opts.withDefaults()
	r := rand.New(rand.NewPCG(o.Seed, 0x6762b))
	zipf := rand.NewZipf(r, 1.1, 10, uint64(o.Keys-1))
	type group struct{ n, sum uint64 }
	groups := map[uint64]*group{}
	bw := bufio.NewWriterSize(w, 1<<20)
	var st RecordStats
	var line []byte
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for range o.Records {
		k := zipf.Uint64()
		line = appendKey(line[:0], k)
		klen := len(line)
		line = append(line, '\t')
		n := 16 + r.IntN(33)
		for range n {
			line = append(line, alphabet[r.IntN(len(alphabet))])
		}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
		}
		g.n++
		g.sum += ValueHash(string(line[klen+1:]))
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return st, fmt.Errorf("corpus: %w", err)
		}
		st.Records++
		st.Bytes += int64(len(line))
		st.ShuffleBytes += int64(1 + klen + varintLen(n) + n)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("corpus: %w", err)
	}
	st.Groups = int64(len(groups))
	var key []byte
	for k, g := range groups {
		key = appendKey(key[:0], k)
		st.Digest += GroupHash(string(key), g.n, g.sum)
		if int64(g.n) > st.HottestCount || int64(g.n) == st.HottestCount && string(key) < st.HottestKey {
			st.HottestKey, st.HottestCount = string(key), int64(g.n)
		}
	}
	return st, nil
}

// WriteRecordFile writes the records to the file at path.
func WriteRecordFile(path string, opts *RecordOptions) (RecordStats, error) {
	var st RecordStats
	err := writeFile(path, func(w io.Writer) error {
		var err error
		st, err = WriteRecords(w, opts)
		return err
	})
	return st, err
}

func appendKey(dst []byte, k uint64) []byte {
	dst = append(dst, 'k')
	s := strconv.FormatUint(k, 10)
	for range 7 - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func varintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// ValueHash is the hash of one value that GroupHash sums.
func ValueHash(v string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(v); i++ {
		h ^= uint64(v[i])
		h *= 1099511628211
	}
	return h
}

// GroupHash is the contribution of one group to RecordStats.Digest: a mix
// of its key, its number of values and the sum of their ValueHash, so that
// a lost, duplicated or misplaced value changes the digest.
func GroupHash(key string, count, valueHashSum uint64) uint64 {
	return mix(ValueHash(key) ^ mix(count^mix(valueHashSum)))
}

// mix is SplitMix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
