package coder

import (
	"fmt"
	"reflect"
	"unsafe"
)

// castKind names the underlying type whose standard coder a defined type
// (type ID int, type Words []string) uses.
type castKind uint8

const (
	castBool castKind = iota
	castInt8
	castInt16
	castInt32
	castInt64
	castUint8
	castUint16
	castUint32
	castUint64
	castFloat32
	castFloat64
	castString
	castBytes
	castStrings  // []string
	castInts     // []int
	castInt64s   // []int64
	castFloat64s // []float64
)

// castUnder is the non-generic part of a castCoder: the kind of the
// underlying type and its coder's description. Its methods take a pointer
// to the value and switch on the kind, so that one castCoder type per
// defined type serves every underlying kind. (Until the twenty-fifth
// session each kind had a generic coder type of its own, instantiated for
// every type Of was asked for, whatever its kind: two fifths of the
// functions an SDK-heavy test package compiled.) The pointer is only read
// or written through, never kept, so the value stays on its caller's
// stack.
type castUnder struct {
	kind   castKind
	spec   Spec
	det    bool
	skipFn func([]byte) (int, error)
	// The coders of the slice kinds; the one of kind is set.
	strs Coder[[]string]
	ints Coder[[]int]
	i64s Coder[[]int64]
	f64s Coder[[]float64]
}

// castUnderlying is the type, in builtins, whose coder each kind uses.
var castUnderlying = [...]reflect.Type{
	castBool:     reflect.TypeFor[bool](),
	castInt8:     reflect.TypeFor[int8](),
	castInt16:    reflect.TypeFor[int16](),
	castInt32:    reflect.TypeFor[int32](),
	castInt64:    reflect.TypeFor[int64](),
	castUint8:    reflect.TypeFor[uint8](),
	castUint16:   reflect.TypeFor[uint16](),
	castUint32:   reflect.TypeFor[uint32](),
	castUint64:   reflect.TypeFor[uint64](),
	castFloat32:  reflect.TypeFor[float32](),
	castFloat64:  reflect.TypeFor[float64](),
	castString:   reflect.TypeFor[string](),
	castBytes:    reflect.TypeFor[[]byte](),
	castStrings:  reflect.TypeFor[[]string](),
	castInts:     reflect.TypeFor[[]int](),
	castInt64s:   reflect.TypeFor[[]int64](),
	castFloat64s: reflect.TypeFor[[]float64](),
}

// castOf returns the castUnder of the defined type t, ok=false if t's
// underlying type has no standard coder to cast. The underlying type's
// coder is the one builtin gives it.
func castOf(t reflect.Type) (u castUnder, ok bool) {
	k, ok := castKindOf(t)
	if !ok {
		return u, false
	}
	c := builtins[castUnderlying[k]]
	d := c.(interface {
		Spec() Spec
		Deterministic() bool
	})
	u = castUnder{kind: k, spec: d.Spec(), det: d.Deterministic(), skipFn: c.(skipper).skip}
	switch k {
	case castStrings:
		u.strs = c.(Coder[[]string])
	case castInts:
		u.ints = c.(Coder[[]int])
	case castInt64s:
		u.i64s = c.(Coder[[]int64])
	case castFloat64s:
		u.f64s = c.(Coder[[]float64])
	}
	return u, true
}

// castKindOf maps t's kind (and, for a slice, its element's) to a
// castKind; int, uint and uintptr by their size on this platform.
func castKindOf(t reflect.Type) (castKind, bool) {
	switch t.Kind() {
	case reflect.Bool:
		return castBool, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return [...]castKind{1: castInt8, 2: castInt16, 4: castInt32, 8: castInt64}[t.Size()], true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return [...]castKind{1: castUint8, 2: castUint16, 4: castUint32, 8: castUint64}[t.Size()], true
	case reflect.Float32:
		return castFloat32, true
	case reflect.Float64:
		return castFloat64, true
	case reflect.String:
		return castString, true
	case reflect.Slice:
		e := t.Elem()
		if isCustom(e) || e.Implements(coderProviderType) {
			return 0, false
		}
		switch e.Kind() {
		case reflect.Uint8:
			return castBytes, true
		case reflect.String:
			return castStrings, true
		case reflect.Int:
			return castInts, true
		case reflect.Int64:
			return castInt64s, true
		case reflect.Float64:
			return castFloat64s, true
		}
	}
	return 0, false
}

// encode appends the nested encoding of the value at p.
func (u *castUnder) encode(dst []byte, p unsafe.Pointer) []byte {
	switch u.kind {
	case castBool:
		return appendBool(dst, *(*bool)(p))
	case castInt8:
		return appendVarint(dst, int64(*(*int8)(p)))
	case castInt16:
		return appendVarint(dst, int64(*(*int16)(p)))
	case castInt32:
		return appendVarint(dst, int64(*(*int32)(p)))
	case castInt64:
		return appendVarint(dst, *(*int64)(p))
	case castUint8:
		return appendVarint(dst, int64(*(*uint8)(p)))
	case castUint16:
		return appendVarint(dst, int64(*(*uint16)(p)))
	case castUint32:
		return appendVarint(dst, int64(*(*uint32)(p)))
	case castUint64:
		return appendVarint(dst, int64(*(*uint64)(p)))
	case castFloat32:
		return appendFloat64(dst, float64(*(*float32)(p)))
	case castFloat64:
		return appendFloat64(dst, *(*float64)(p))
	case castString:
		return stringCoder{}.Encode(dst, *(*string)(p))
	case castBytes:
		return bytesCoder{}.Encode(dst, *(*[]byte)(p))
	case castStrings:
		return u.strs.Encode(dst, *(*[]string)(p))
	case castInts:
		return u.ints.Encode(dst, *(*[]int)(p))
	case castInt64s:
		return u.i64s.Encode(dst, *(*[]int64)(p))
	case castFloat64s:
		return u.f64s.Encode(dst, *(*[]float64)(p))
	}
	panic(u.badKind())
}

// decode decodes a nested value from the front of src into p, as the
// underlying type's coder decodes it (an integer truncated to its width),
// and returns its length.
func (u *castUnder) decode(src []byte, p unsafe.Pointer) (n int, err error) {
	switch u.kind {
	case castBool:
		b, err := readBool(src)
		if err != nil {
			return 0, err
		}
		*(*bool)(p) = b
		return 1, nil
	case castInt8, castInt16, castInt32, castInt64, castUint8, castUint16, castUint32, castUint64:
		x, n, err := readVarint(src)
		switch u.kind {
		case castInt8, castUint8:
			*(*uint8)(p) = uint8(x)
		case castInt16, castUint16:
			*(*uint16)(p) = uint16(x)
		case castInt32, castUint32:
			*(*uint32)(p) = uint32(x)
		default:
			*(*uint64)(p) = x
		}
		return n, err
	case castFloat32, castFloat64:
		f, err := readFloat64(src)
		if err != nil {
			return 0, err
		}
		if u.kind == castFloat32 {
			*(*float32)(p) = float32(f)
		} else {
			*(*float64)(p) = f
		}
		return 8, nil
	case castString:
		*(*string)(p), n, err = stringCoder{}.Decode(src)
	case castBytes:
		*(*[]byte)(p), n, err = bytesCoder{}.Decode(src)
	case castStrings:
		*(*[]string)(p), n, err = u.strs.Decode(src)
	case castInts:
		*(*[]int)(p), n, err = u.ints.Decode(src)
	case castInt64s:
		*(*[]int64)(p), n, err = u.i64s.Decode(src)
	case castFloat64s:
		*(*[]float64)(p), n, err = u.f64s.Decode(src)
	default:
		panic(u.badKind())
	}
	return n, err
}

// encodeOuter appends the outer encoding of the value at p: the bare bytes
// of a string or []byte, the nested encoding of the others.
func (u *castUnder) encodeOuter(dst []byte, p unsafe.Pointer) []byte {
	switch u.kind {
	case castString:
		return append(dst, *(*string)(p)...)
	case castBytes:
		return append(dst, *(*[]byte)(p)...)
	}
	return u.encode(dst, p)
}

// decodeOuter decodes the value that occupies all of src into p.
func (u *castUnder) decodeOuter(src []byte, p unsafe.Pointer) error {
	switch u.kind {
	case castString:
		*(*string)(p), _ = stringCoder{}.DecodeOuter(src)
		return nil
	case castBytes:
		*(*[]byte)(p), _ = bytesCoder{}.DecodeOuter(src)
		return nil
	}
	n, err := u.decode(src, p)
	if err != nil {
		return err
	}
	if n != len(src) {
		return fmt.Errorf("coder: %d trailing bytes after %s value: %w", len(src)-n, u.spec.URN, ErrCorrupt)
	}
	return nil
}

func (u *castUnder) badKind() string {
	return fmt.Sprintf("coder: internal error: cast of kind %d", u.kind)
}

// castCoder is the coder of a defined type T over a type with a standard
// coder (type ID int over int): the underlying type's coder, reading and
// writing T's memory as that type, chosen once at construction. Values do
// not escape, so it adds no allocation.
type castCoder[T any] struct{ u castUnder }

var (
	_ OuterCoder[int] = (*castCoder[int])(nil)
	_ skipper         = (*castCoder[int])(nil)
)

func (c *castCoder[T]) Encode(dst []byte, v T) []byte {
	return c.u.encode(dst, unsafe.Pointer(&v))
}

func (c *castCoder[T]) Decode(src []byte) (v T, n int, err error) {
	n, err = c.u.decode(src, unsafe.Pointer(&v))
	return v, n, err
}

func (c *castCoder[T]) EncodeOuter(dst []byte, v T) []byte {
	return c.u.encodeOuter(dst, unsafe.Pointer(&v))
}

func (c *castCoder[T]) DecodeOuter(src []byte) (v T, err error) {
	if err = c.u.decodeOuter(src, unsafe.Pointer(&v)); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func (c *castCoder[T]) skip(src []byte) (int, error) { return c.u.skipFn(src) }
func (c *castCoder[T]) Spec() Spec                   { return c.u.spec }
func (c *castCoder[T]) Deterministic() bool          { return c.u.det }

// cast returns the coder of a defined type over a scalar kind, []byte, or
// a common slice, as a cast of the underlying type's standard coder.
func cast[T any](t reflect.Type) (Coder[T], bool) {
	u, ok := castOf(t)
	if !ok {
		return nil, false
	}
	return &castCoder[T]{u: u}, true
}
