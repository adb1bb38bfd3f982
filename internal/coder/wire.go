package coder

import (
	"encoding/binary"
	"math"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// This file holds the byte-level primitives shared by the coders. They
// append to a destination slice and decode from the front of a source slice,
// returning the number of bytes used; none of them allocates.

// maxZeroWidth bounds how many more elements than remaining bytes an
// iterable may claim. Elements normally take at least one byte, so a count
// above the remaining length is only legitimate for zero-width elements
// (global windows); the bound keeps a forged count from allocating
// unboundedly while still admitting such iterables.
const maxZeroWidth = 1 << 16

// appendVarint appends x as Beam's varint: the unsigned LEB128 encoding of
// its 64-bit two's complement, so negative numbers take ten bytes.
func appendVarint(dst []byte, x int64) []byte {
	return binary.AppendUvarint(dst, uint64(x))
}

// readVarint decodes a varint from the front of src.
func readVarint(src []byte) (uint64, int, error) {
	if len(src) > 0 && src[0] < 0x80 {
		return uint64(src[0]), 1, nil
	}
	x, n := binary.Uvarint(src)
	switch {
	case n == 0:
		return 0, 0, errShort("varint")
	case n < 0:
		return 0, 0, errCorrupt("varint overflows 64 bits")
	}
	return x, n, nil
}

// skipVarint returns the length of the varint at the front of src.
func skipVarint(src []byte) (int, error) {
	for i := 0; i < len(src) && i < binary.MaxVarintLen64; i++ {
		if src[i] < 0x80 {
			if i == binary.MaxVarintLen64-1 && src[i] > 1 {
				break
			}
			return i + 1, nil
		}
	}
	_, n, err := readVarint(src)
	return n, err
}

// readLength decodes a varint length prefix and checks that the bytes it
// announces are present, so that no caller allocates for a forged length.
func readLength(src []byte, what string) (l, n int, err error) {
	x, n, err := readVarint(src)
	if err != nil {
		return 0, 0, err
	}
	if x > uint64(len(src)-n) {
		if int64(x) < 0 {
			return 0, 0, errCorrupt("negative %s length %d", what, int64(x))
		}
		return 0, 0, errShort(what)
	}
	return int(x), n, nil
}

// appendInt32 appends x as four big-endian bytes.
func appendInt32(dst []byte, x int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(x))
}

// readInt32 decodes four big-endian bytes.
func readInt32(src []byte, what string) (int32, error) {
	if len(src) < 4 {
		return 0, errShort(what)
	}
	return int32(binary.BigEndian.Uint32(src)), nil
}

// appendTime appends t as Beam's timestamp: the millisecond count with its
// sign bit flipped, as eight big-endian bytes, so that byte order is time
// order.
func appendTime(dst []byte, t window.Time) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

// readTime decodes a timestamp written by appendTime.
func readTime(src []byte) (window.Time, error) {
	if len(src) < 8 {
		return 0, errShort("timestamp")
	}
	return window.Time(binary.BigEndian.Uint64(src) ^ (1 << 63)), nil
}

// appendFloat64 appends f as eight big-endian IEEE 754 bytes. NaNs are
// written in Java's canonical form, as Beam's DoubleCoder does.
func appendFloat64(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	if f != f {
		bits = 0x7ff8000000000000
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

// readFloat64 decodes eight big-endian IEEE 754 bytes.
func readFloat64(src []byte) (float64, error) {
	if len(src) < 8 {
		return 0, errShort("double")
	}
	return math.Float64frombits(binary.BigEndian.Uint64(src)), nil
}

// appendFloat32 appends f as four big-endian IEEE 754 bytes, canonicalizing
// NaN as Java's FloatCoder does.
func appendFloat32(dst []byte, f float32) []byte {
	bits := math.Float32bits(f)
	if f != f {
		bits = 0x7fc00000
	}
	return binary.BigEndian.AppendUint32(dst, bits)
}

// readFloat32 decodes four big-endian IEEE 754 bytes.
func readFloat32(src []byte) (float32, error) {
	if len(src) < 4 {
		return 0, errShort("float")
	}
	return math.Float32frombits(binary.BigEndian.Uint32(src)), nil
}

// readBool decodes Beam's one-byte boolean; only 0 and 1 are valid.
func readBool(src []byte) (bool, error) {
	if len(src) < 1 {
		return false, errShort("bool")
	}
	switch src[0] {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, errCorrupt("bool byte %#x", src[0])
}

// appendBool appends b as one byte.
func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Pane encoding: the low nibble of the first byte holds is_first (bit 0),
// is_last (bit 1) and the timing (bits 2-3); the high nibble says how many
// varint indices follow (0, 1 or 2).
const (
	paneFirst      = 0x01
	paneLast       = 0x02
	paneOneIndex   = 1 << 4
	paneTwoIndices = 2 << 4
)

// appendPane appends Beam's encoding of p, choosing the shortest form that
// Beam's decoders restore: no index when both are zero or the timing is
// unknown, one when the non-speculative index follows from the index.
func appendPane(dst []byte, p window.Pane) []byte {
	b := byte(p.Timing&3) << 2
	if p.IsFirst {
		b |= paneFirst
	}
	if p.IsLast {
		b |= paneLast
	}
	switch paneIndexes(p) {
	case 0:
		return append(dst, b)
	case 1:
		return appendVarint(append(dst, b|paneOneIndex), p.Index)
	default:
		dst = appendVarint(append(dst, b|paneTwoIndices), p.Index)
		return appendVarint(dst, p.NonSpeculativeIndex)
	}
}

// paneIndexes is how many indexes appendPane writes for p: none when both
// are zero or the timing is unknown, one when the non-speculative index
// follows from the index (equal, or an early pane's).
func paneIndexes(p window.Pane) int {
	switch {
	case (p.Index == 0 && p.NonSpeculativeIndex == 0) || p.Timing == window.TimingUnknown:
		return 0
	case p.Index == p.NonSpeculativeIndex || p.Timing == window.TimingEarly:
		return 1
	}
	return 2
}

// readPane decodes a pane written by appendPane. Early panes have a
// non-speculative index of -1, as in Beam, whatever the encoding says, so
// that every decoded pane re-encodes stably.
func readPane(src []byte) (window.Pane, int, error) {
	if len(src) < 1 {
		return window.Pane{}, 0, errShort("pane")
	}
	b := src[0]
	p := window.Pane{
		IsFirst: b&paneFirst != 0,
		IsLast:  b&paneLast != 0,
		Timing:  window.Timing(b>>2) & 3,
	}
	switch b >> 4 {
	case 0:
		if p.Timing == window.TimingEarly {
			p.NonSpeculativeIndex = -1
		}
		return p, 1, nil
	case 1:
		x, n, err := readVarint(src[1:])
		if err != nil {
			return window.Pane{}, 0, err
		}
		p.Index, p.NonSpeculativeIndex = int64(x), int64(x)
		if p.Timing == window.TimingEarly {
			p.NonSpeculativeIndex = -1
		}
		return p, 1 + n, nil
	case 2:
		x, n, err := readVarint(src[1:])
		if err != nil {
			return window.Pane{}, 0, err
		}
		y, m, err := readVarint(src[1+n:])
		if err != nil {
			return window.Pane{}, 0, err
		}
		p.Index, p.NonSpeculativeIndex = int64(x), int64(y)
		if p.Timing == window.TimingEarly {
			p.NonSpeculativeIndex = -1
		}
		return p, 1 + n + m, nil
	}
	return window.Pane{}, 0, errCorrupt("pane encoding %d", b>>4)
}

// WirePane returns the pane that Beam's encoding of p decodes to: p with
// what appendPane leaves out restored as readPane restores it (an early
// pane's non-speculative index is -1; an unknown timing carries no index).
func WirePane(p window.Pane) window.Pane {
	switch paneIndexes(p) {
	case 0:
		p.Index, p.NonSpeculativeIndex = 0, 0
	case 1:
		p.NonSpeculativeIndex = p.Index
	}
	if p.Timing &= 3; p.Timing == window.TimingEarly {
		p.NonSpeculativeIndex = -1
	}
	return p
}

// skipPane returns the length of the pane at the front of src.
func skipPane(src []byte) (int, error) {
	_, n, err := readPane(src)
	return n, err
}
