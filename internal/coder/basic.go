package coder

import "unsafe"

// Integer is the set of Go integer types the varint coder accepts.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Bytes returns the beam:coder:bytes:v1 coder: a varint length and the
// bytes in the nested context, the bare bytes in the outer context. Decoded
// slices are copies, never nil.
func Bytes() Coder[[]byte] { return bytesCoder{} }

// String returns the beam:coder:string_utf8:v1 coder, which encodes like
// Bytes. Strings are not validated as UTF-8, so any Go string round-trips.
func String() Coder[string] { return stringCoder{} }

// Varint returns the beam:coder:varint:v1 coder for an integer type. Values
// are widened to 64 bits (sign-extended for signed types) and written as an
// unsigned LEB128 varint, so negative numbers take ten bytes. Decoding
// truncates to T's width, which also accepts Java's five-byte encoding of
// negative 32-bit integers.
func Varint[T Integer]() Coder[T] { return varintCoder[T]{} }

// Double returns the beam:coder:double:v1 coder: eight big-endian IEEE 754
// bytes. It is not deterministic, as in Beam: 0 and -0 are equal but encode
// differently.
func Double() Coder[float64] { return doubleCoder[float64]{} }

// Bool returns the beam:coder:bool:v1 coder: one byte, 0 or 1.
func Bool() Coder[bool] { return boolCoder{} }

type bytesCoder struct{}

var (
	_ OuterCoder[[]byte] = bytesCoder{}
	_ skipper            = bytesCoder{}
)

func (bytesCoder) Encode(dst []byte, v []byte) []byte {
	return append(appendVarint(dst, int64(len(v))), v...)
}

func (bytesCoder) Decode(src []byte) ([]byte, int, error) {
	l, n, err := readLength(src, "bytes")
	if err != nil {
		return nil, 0, err
	}
	return append(make([]byte, 0, l), src[n:n+l]...), n + l, nil
}

func (bytesCoder) EncodeOuter(dst []byte, v []byte) []byte { return append(dst, v...) }

func (bytesCoder) DecodeOuter(src []byte) ([]byte, error) {
	return append(make([]byte, 0, len(src)), src...), nil
}

func (bytesCoder) skip(src []byte) (int, error) {
	l, n, err := readLength(src, "bytes")
	return n + l, err
}

func (bytesCoder) Spec() Spec          { return Spec{URN: URNBytes} }
func (bytesCoder) Deterministic() bool { return true }

type stringCoder struct{}

var (
	_ OuterCoder[string] = stringCoder{}
	_ skipper            = stringCoder{}
)

func (stringCoder) Encode(dst []byte, v string) []byte {
	return append(appendVarint(dst, int64(len(v))), v...)
}

func (stringCoder) Decode(src []byte) (string, int, error) {
	l, n, err := readLength(src, "string")
	if err != nil {
		return "", 0, err
	}
	return string(src[n : n+l]), n + l, nil
}

func (stringCoder) EncodeOuter(dst []byte, v string) []byte { return append(dst, v...) }
func (stringCoder) DecodeOuter(src []byte) (string, error)  { return string(src), nil }

func (stringCoder) skip(src []byte) (int, error) {
	l, n, err := readLength(src, "string")
	return n + l, err
}

func (stringCoder) Spec() Spec          { return Spec{URN: URNStringUTF8} }
func (stringCoder) Deterministic() bool { return true }

type varintCoder[T Integer] struct{}

var _ skipper = varintCoder[int]{}

func (varintCoder[T]) Encode(dst []byte, v T) []byte { return appendVarint(dst, int64(v)) }

func (varintCoder[T]) Decode(src []byte) (T, int, error) {
	x, n, err := readVarint(src)
	return T(x), n, err
}

func (varintCoder[T]) skip(src []byte) (int, error) { return skipVarint(src) }
func (varintCoder[T]) Spec() Spec                   { return Spec{URN: URNVarint} }
func (varintCoder[T]) Deterministic() bool          { return true }

type doubleCoder[T ~float32 | ~float64] struct{}

var _ skipper = doubleCoder[float64]{}

func (doubleCoder[T]) Encode(dst []byte, v T) []byte { return appendFloat64(dst, float64(v)) }

func (doubleCoder[T]) Decode(src []byte) (T, int, error) {
	f, err := readFloat64(src)
	if err != nil {
		return 0, 0, err
	}
	return T(f), 8, nil
}

func (doubleCoder[T]) skip(src []byte) (int, error) {
	if len(src) < 8 {
		return 0, errShort("double")
	}
	return 8, nil
}

func (doubleCoder[T]) Spec() Spec          { return Spec{URN: URNDouble} }
func (doubleCoder[T]) Deterministic() bool { return false }

type boolCoder struct{}

var _ skipper = boolCoder{}

func (boolCoder) Encode(dst []byte, v bool) []byte { return appendBool(dst, v) }

func (boolCoder) Decode(src []byte) (bool, int, error) {
	b, err := readBool(src)
	if err != nil {
		return false, 0, err
	}
	return b, 1, nil
}

func (boolCoder) skip(src []byte) (int, error) {
	_, err := readBool(src)
	if err != nil {
		return 0, err
	}
	return 1, nil
}

func (boolCoder) Spec() Spec          { return Spec{URN: URNBool} }
func (boolCoder) Deterministic() bool { return true }

// viewCoder adapts a Coder[U] to a Coder[T] for a T with U's memory layout
// (int16 over uint16's fixed-width coder, say). The conversion is an
// unsafe reinterpretation chosen once at construction; values never escape,
// so it adds no allocation. It is generic in both types, so it serves the
// few fixed pairs the row coders need; a defined type of the user's gets a
// castCoder, generic in its type alone.
type viewCoder[T, U any] struct {
	c        Coder[U]
	encOuter func([]byte, U) []byte
	decOuter func([]byte) (U, error)
	skipFn   func([]byte) (int, error)
}

var (
	_ OuterCoder[int] = (*viewCoder[int, int64])(nil)
	_ skipper         = (*viewCoder[int, int64])(nil)
)

// newView returns c viewed as a Coder[T]. The caller guarantees that T and
// U have the same size and layout.
func newView[T, U any](c Coder[U]) Coder[T] {
	if unsafe.Sizeof(*new(T)) != unsafe.Sizeof(*new(U)) {
		panic("coder: internal error: cast between types of different size")
	}
	eo, do := outerOf(c)
	return &viewCoder[T, U]{c: c, encOuter: eo, decOuter: do, skipFn: skipOf(c)}
}

func (c *viewCoder[T, U]) Encode(dst []byte, v T) []byte {
	return c.c.Encode(dst, *(*U)(unsafe.Pointer(&v)))
}

func (c *viewCoder[T, U]) Decode(src []byte) (T, int, error) {
	u, n, err := c.c.Decode(src)
	return *(*T)(unsafe.Pointer(&u)), n, err
}

func (c *viewCoder[T, U]) EncodeOuter(dst []byte, v T) []byte {
	return c.encOuter(dst, *(*U)(unsafe.Pointer(&v)))
}

func (c *viewCoder[T, U]) DecodeOuter(src []byte) (T, error) {
	u, err := c.decOuter(src)
	return *(*T)(unsafe.Pointer(&u)), err
}

func (c *viewCoder[T, U]) skip(src []byte) (int, error) { return c.skipFn(src) }
func (c *viewCoder[T, U]) Spec() Spec                   { return c.c.Spec() }
func (c *viewCoder[T, U]) Deterministic() bool          { return c.c.Deterministic() }
