package coder

import (
	"encoding/binary"
	"iter"
	"math"
)

// NewIterable returns the beam:coder:iterable:v1 coder for slices: a
// four-byte big-endian element count, then each element nested. It also
// decodes the unknown-length form (count -1, then blocks of a varint count
// and that many elements, ended by a zero count). The encoding is the same
// in both contexts, and deterministic if the element coder is.
func NewIterable[T any](c Coder[T]) Coder[[]T] {
	return &iterableCoder[T]{c: c, skipElem: skipOf(c)}
}

type iterableCoder[T any] struct {
	c        Coder[T]
	skipElem func([]byte) (int, error)
}

var _ skipper = (*iterableCoder[int])(nil)

func (c *iterableCoder[T]) Encode(dst []byte, v []T) []byte {
	dst = appendIterCount(dst, len(v))
	for _, e := range v {
		dst = c.c.Encode(dst, e)
	}
	return dst
}

func (c *iterableCoder[T]) Decode(src []byte) ([]T, int, error) {
	count, n, blocks, err := readIterHeader(src, c.skipElem)
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, count)
	cur := iterCursor{blocks: blocks}
	for i := range out {
		if n, err = cur.next(src, n); err != nil {
			return nil, 0, err
		}
		v, m, err := c.c.Decode(src[n:])
		if err != nil {
			return nil, 0, err
		}
		out[i] = v
		n += m
	}
	if n, err = cur.end(src, n); err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

func (c *iterableCoder[T]) skip(src []byte) (int, error) { return skipIterable(src, c.skipElem) }

func (c *iterableCoder[T]) Spec() Spec {
	return Spec{URN: URNIterable, Components: []Spec{c.c.Spec()}}
}

func (c *iterableCoder[T]) Deterministic() bool { return c.c.Deterministic() }

// NewIterSeq returns a beam:coder:iterable:v1 coder whose values are
// sequences, for grouped values (sdk.Group's Values). Decode validates the
// encoding and returns a sequence that decodes elements lazily, each time it
// is ranged over, from the bytes of src it covers: the caller must not
// modify src while the sequence is in use. Encode ranges over the sequence
// once and writes the known-length form.
func NewIterSeq[T any](c Coder[T]) Coder[iter.Seq[T]] {
	return &iterSeqCoder[T]{c: c, skipElem: skipOf(c)}
}

type iterSeqCoder[T any] struct {
	c        Coder[T]
	skipElem func([]byte) (int, error)
}

var _ skipper = (*iterSeqCoder[int])(nil)

func (c *iterSeqCoder[T]) Encode(dst []byte, seq iter.Seq[T]) []byte {
	start := len(dst)
	dst = appendInt32(dst, 0)
	count := 0
	if seq != nil {
		for e := range seq {
			dst = c.c.Encode(dst, e)
			count++
		}
	}
	if count > math.MaxInt32 {
		panic("coder: iterable of more than 2^31-1 elements")
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(count))
	return dst
}

func (c *iterSeqCoder[T]) Decode(src []byte) (iter.Seq[T], int, error) {
	n, err := skipIterable(src, c.skipElem)
	if err != nil {
		return nil, 0, err
	}
	header, body, elem := int32(binary.BigEndian.Uint32(src)), src[4:n], c.c
	// The sequences call decodeIterElem rather than a shared closure: one
	// allocation per decoded iterable, not two.
	if header >= 0 {
		return func(yield func(T) bool) {
			off := 0
			for range header {
				v, m := decodeIterElem(elem, body, off)
				off += m
				if !yield(v) {
					return
				}
			}
		}, n, nil
	}
	return func(yield func(T) bool) {
		off := 0
		for {
			x, m, err := readVarint(body[off:])
			if err != nil {
				panic("coder: iterable bytes changed after they were decoded: " + err.Error())
			}
			off += m
			if x == 0 {
				return
			}
			for range x {
				v, m := decodeIterElem(elem, body, off)
				off += m
				if !yield(v) {
					return
				}
			}
		}
	}, n, nil
}

// decodeIterElem decodes the element at body[off:] of an iterable that
// skipIterable has validated: an error means the caller modified the bytes.
func decodeIterElem[T any](elem Coder[T], body []byte, off int) (T, int) {
	v, m, err := elem.Decode(body[off:])
	if err != nil {
		panic("coder: iterable bytes changed after they were decoded: " + err.Error())
	}
	return v, m
}

func (c *iterSeqCoder[T]) skip(src []byte) (int, error) { return skipIterable(src, c.skipElem) }

func (c *iterSeqCoder[T]) Spec() Spec {
	return Spec{URN: URNIterable, Components: []Spec{c.c.Spec()}}
}

func (c *iterSeqCoder[T]) Deterministic() bool { return c.c.Deterministic() }

// appendIterCount appends the known-length header of an iterable.
func appendIterCount(dst []byte, n int) []byte {
	if n > math.MaxInt32 {
		panic("coder: iterable of more than 2^31-1 elements")
	}
	return appendInt32(dst, int32(n))
}

// readIterHeader reads an iterable's header. For the known-length form it
// returns the count and n == 4. For the unknown-length form it validates
// all blocks first, returns the total count, n == 4 and blocks == true.
// Either way the count is bounded by the input, so callers may allocate
// count elements.
func readIterHeader(src []byte, skip func([]byte) (int, error)) (count, n int, blocks bool, err error) {
	c, err := readInt32(src, "iterable length")
	if err != nil {
		return 0, 0, false, err
	}
	rest := src[4:]
	switch {
	case c == -1:
		total, _, err := scanBlocks(rest, skip)
		if err != nil {
			return 0, 0, false, err
		}
		return total, 4, true, nil
	case c < 0:
		return 0, 0, false, errCorrupt("iterable length %d", c)
	case int(c) > len(rest):
		// Only zero-width elements can be this dense; check that they are
		// before anyone allocates for them.
		if int(c) > len(rest)+maxZeroWidth {
			return 0, 0, false, errCorrupt("iterable length %d exceeds the %d remaining bytes", c, len(rest))
		}
		off := 0
		for range c {
			m, err := skip(rest[off:])
			if err != nil {
				return 0, 0, false, err
			}
			off += m
		}
	}
	return int(c), 4, false, nil
}

// scanBlocks walks the blocks of an unknown-length iterable, which start at
// the front of src, and returns the element count and the bytes used,
// including the terminating zero count.
func scanBlocks(src []byte, skip func([]byte) (int, error)) (count, n int, err error) {
	for {
		x, m, err := readVarint(src[n:])
		if err != nil {
			return 0, 0, err
		}
		n += m
		if x == 0 {
			return count, n, nil
		}
		if x > uint64(len(src)+maxZeroWidth-count) {
			return 0, 0, errCorrupt("iterable block of %d elements exceeds the input", int64(x))
		}
		count += int(x)
		for range x {
			m, err := skip(src[n:])
			if err != nil {
				return 0, 0, err
			}
			n += m
		}
	}
}

// skipIterable returns the length of the iterable at the front of src.
func skipIterable(src []byte, skip func([]byte) (int, error)) (int, error) {
	c, err := readInt32(src, "iterable length")
	if err != nil {
		return 0, err
	}
	if c == -1 {
		_, n, err := scanBlocks(src[4:], skip)
		return 4 + n, err
	}
	if c < 0 {
		return 0, errCorrupt("iterable length %d", c)
	}
	if int(c) > len(src)-4+maxZeroWidth {
		return 0, errCorrupt("iterable length %d exceeds the %d remaining bytes", c, len(src)-4)
	}
	n := 4
	for range c {
		m, err := skip(src[n:])
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// iterCursor steps through the elements of an iterable that readIterHeader
// accepted, reading block headers in the unknown-length form.
type iterCursor struct {
	blocks bool
	left   uint64
}

// next returns the offset of the next element, at or after n.
func (c *iterCursor) next(src []byte, n int) (int, error) {
	if !c.blocks {
		return n, nil
	}
	for c.left == 0 {
		x, m, err := readVarint(src[n:])
		if err != nil {
			return 0, err
		}
		if x == 0 {
			return 0, errCorrupt("iterable ended early")
		}
		c.left, n = x, n+m
	}
	c.left--
	return n, nil
}

// end consumes what follows the last element: the zero count that ends
// the unknown-length form.
func (c *iterCursor) end(src []byte, n int) (int, error) {
	if !c.blocks {
		return n, nil
	}
	x, m, err := readVarint(src[n:])
	if err != nil {
		return 0, err
	}
	if c.left != 0 || x != 0 {
		return 0, errCorrupt("iterable has more elements than counted")
	}
	return n + m, nil
}
