package coder

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// This file compiles coders for Go types that generics cannot reach:
// structs, slices, arrays, maps and pointers of arbitrary element types.
// A compiled codec is a set of functions over a pointer to a value, built
// once per type; encoding and decoding then walk precomputed offsets and
// element sizes, with reflection only to allocate slices, maps and pointees
// and to range over maps.

// codec is a coder compiled for one Go type. dec is always called with p
// pointing to a zero value.
type codec struct {
	typ      reflect.Type
	spec     Spec              // standalone mode: the Beam coder
	ft       *pipepb.FieldType // schema mode: the row field type
	det      bool
	enc      func(dst []byte, p unsafe.Pointer) []byte
	dec      func(src []byte, p unsafe.Pointer) (int, error)
	encOuter func(dst []byte, p unsafe.Pointer) []byte // nil: same as enc
	decOuter func(src []byte, p unsafe.Pointer) error  // nil: dec using all of src
	skip     func(src []byte) (int, error)             // nil: decode into a scratch value
}

// complete fills in the optional functions of c.
func (c codec) complete() codec {
	if c.encOuter == nil {
		c.encOuter = c.enc
	}
	if c.decOuter == nil {
		dec, urn := c.dec, c.spec.URN
		c.decOuter = func(src []byte, p unsafe.Pointer) error {
			n, err := dec(src, p)
			if err == nil && n != len(src) {
				err = errCorrupt("%d trailing bytes after %s value", len(src)-n, urn)
			}
			return err
		}
	}
	if c.skip == nil {
		dec, t := c.dec, c.typ
		c.skip = func(src []byte) (int, error) { return dec(src, reflect.New(t).UnsafePointer()) }
	}
	return c
}

// codecOf adapts a typed coder to a codec.
func codecOf[T any](c Coder[T]) codec {
	eo, do := outerOf(c)
	return codec{
		typ:  reflect.TypeFor[T](),
		spec: c.Spec(),
		det:  c.Deterministic(),
		enc:  func(dst []byte, p unsafe.Pointer) []byte { return c.Encode(dst, *(*T)(p)) },
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			v, n, err := c.Decode(src)
			if err != nil {
				return 0, err
			}
			*(*T)(p) = v
			return n, nil
		},
		encOuter: func(dst []byte, p unsafe.Pointer) []byte { return eo(dst, *(*T)(p)) },
		decOuter: func(src []byte, p unsafe.Pointer) error {
			v, err := do(src)
			if err != nil {
				return err
			}
			*(*T)(p) = v
			return nil
		},
		skip: skipOf(c),
	}
}

// compiledCoder is the Coder[T] of a compiled codec. Encoding passes &v to
// the codec's functions, so each call moves v to the heap: one allocation
// that the typed coders avoid.
type compiledCoder[T any] struct{ c codec }

var (
	_ OuterCoder[int] = (*compiledCoder[int])(nil)
	_ skipper         = (*compiledCoder[int])(nil)
)

func (c *compiledCoder[T]) Encode(dst []byte, v T) []byte { return c.c.enc(dst, unsafe.Pointer(&v)) }

func (c *compiledCoder[T]) Decode(src []byte) (T, int, error) {
	var v T
	n, err := c.c.dec(src, unsafe.Pointer(&v))
	if err != nil {
		var zero T
		return zero, 0, err
	}
	return v, n, nil
}

func (c *compiledCoder[T]) EncodeOuter(dst []byte, v T) []byte {
	return c.c.encOuter(dst, unsafe.Pointer(&v))
}

func (c *compiledCoder[T]) DecodeOuter(src []byte) (T, error) {
	var v T
	if err := c.c.decOuter(src, unsafe.Pointer(&v)); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func (c *compiledCoder[T]) skip(src []byte) (int, error) { return c.c.skip(src) }
func (c *compiledCoder[T]) Spec() Spec                   { return c.c.spec }
func (c *compiledCoder[T]) Deterministic() bool          { return c.c.det }

// coderProvider is implemented by this package's generic types (KV,
// ShardedKey) to build their coders from their type parameters, which
// reflection cannot do. It returns the Coder[Self] and its codec.
type coderProvider interface {
	inferCoder() (any, codec, error)
}

var coderProviderType = reflect.TypeFor[coderProvider]()

// compiler compiles codecs; it tracks the types being compiled to reject
// recursive types.
type compiler struct {
	// schema selects row-field encodings (BYTE, INT16, FLOAT, MAP, ...)
	// over standalone Beam coders.
	schema bool
	active map[reflect.Type]bool
}

// typeError explains why a type has no coder.
type typeError struct {
	outer reflect.Type // the type a coder was asked for
	path  []string     // the steps from outer to t, innermost first
	t     reflect.Type // the type without a coder
	why   string
}

func (e *typeError) Error() string {
	msg := "coder: no coder for "
	if e.outer != nil && (e.outer != e.t || len(e.path) > 0) {
		msg += typeName(e.outer) + ": "
		for i := len(e.path) - 1; i >= 0; i-- {
			msg += e.path[i] + ": "
		}
	}
	return msg + typeName(e.t) + ": " + e.why
}

// within adds a path step (a field or element) to err if it is a typeError.
func within(err error, step string) error {
	if te, ok := err.(*typeError); ok {
		te.path = append(te.path, step)
	}
	return err
}

// asked records the type a coder was asked for in err, if a typeError.
func asked(err error, t reflect.Type) error {
	if te, ok := err.(*typeError); ok {
		te.outer = t
	}
	return err
}

func (cp *compiler) compile(t reflect.Type) (codec, error) {
	if cp.active[t] {
		return codec{}, &typeError{t: t, why: "recursive types are not supported"}
	}
	cp.active[t] = true
	defer delete(cp.active, t)
	c, err := cp.compileType(t)
	if err != nil {
		return codec{}, err
	}
	c.typ = t
	return c.complete(), nil
}

func (cp *compiler) compileType(t reflect.Type) (codec, error) {
	if t.Kind() != reflect.Pointer && t.Implements(coderProviderType) && !cp.schema {
		_, c, err := reflect.Zero(t).Interface().(coderProvider).inferCoder()
		return c, err
	}
	if c, ok := cp.registeredCodec(t); ok {
		return c, nil
	}
	if c, ok, err := cp.timeCodec(t); ok {
		return c, err
	}
	if isCustom(t) {
		c := customCodec(t)
		if cp.schema {
			c.ft = &pipepb.FieldType{TypeInfo: &pipepb.FieldType_LogicalType{LogicalType: &pipepb.LogicalType{
				Urn: LogicalTypeCustom, Payload: []byte(typeName(t)), Representation: atomic(pipepb.AtomicType_BYTES),
			}}}
		}
		return c, nil
	}
	if cp.schema {
		if c, ok := schemaScalar(t.Kind()); ok {
			return c, nil
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return withType(codecOf(Bool()), pipepb.AtomicType_BOOLEAN), nil
	case reflect.Int:
		return withType(codecOf(Varint[int]()), pipepb.AtomicType_INT64), nil
	case reflect.Int8:
		return codecOf(Varint[int8]()), nil
	case reflect.Int16:
		return codecOf(Varint[int16]()), nil
	case reflect.Int32:
		return withType(codecOf(Varint[int32]()), pipepb.AtomicType_INT32), nil
	case reflect.Int64:
		return withType(codecOf(Varint[int64]()), pipepb.AtomicType_INT64), nil
	case reflect.Uint:
		return withType(codecOf(Varint[uint]()), pipepb.AtomicType_INT64), nil
	case reflect.Uint8:
		return codecOf(Varint[uint8]()), nil
	case reflect.Uint16:
		return codecOf(Varint[uint16]()), nil
	case reflect.Uint32:
		return codecOf(Varint[uint32]()), nil
	case reflect.Uint64:
		return withType(codecOf(Varint[uint64]()), pipepb.AtomicType_INT64), nil
	case reflect.Uintptr:
		return withType(codecOf(Varint[uintptr]()), pipepb.AtomicType_INT64), nil
	case reflect.Float32:
		return codecOf[float32](doubleCoder[float32]{}), nil
	case reflect.Float64:
		return withType(codecOf(Double()), pipepb.AtomicType_DOUBLE), nil
	case reflect.String:
		return withType(codecOf(String()), pipepb.AtomicType_STRING), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !isCustom(t.Elem()) {
			return withType(codecOf(Bytes()), pipepb.AtomicType_BYTES), nil
		}
		ec, err := cp.compile(t.Elem())
		if err != nil {
			return codec{}, within(err, "element")
		}
		return cp.withList(sliceCodec(t, ec), ec), nil
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !isCustom(t.Elem()) {
			return withType(fixedBytesCodec(t.Len()), pipepb.AtomicType_BYTES), nil
		}
		ec, err := cp.compile(t.Elem())
		if err != nil {
			return codec{}, within(err, "element")
		}
		return cp.withList(arrayCodec(t, ec), ec), nil
	case reflect.Map:
		kc, err := cp.compile(t.Key())
		if err != nil {
			return codec{}, within(err, "map key")
		}
		vc, err := cp.compile(t.Elem())
		if err != nil {
			return codec{}, within(err, "map value")
		}
		c := mapCodec(t, kc, vc)
		if cp.schema {
			c.ft = &pipepb.FieldType{TypeInfo: &pipepb.FieldType_MapType{MapType: &pipepb.MapType{KeyType: kc.ft, ValueType: vc.ft}}}
		}
		return c, nil
	case reflect.Pointer:
		ec, err := cp.compile(t.Elem())
		if err != nil {
			return codec{}, within(err, "pointee")
		}
		c := nullableCodec(t.Elem(), ec)
		if cp.schema {
			if ec.ft.Nullable {
				return codec{}, &typeError{t: t, why: "rows cannot hold pointers to pointers"}
			}
			c.ft = proto.Clone(ec.ft).(*pipepb.FieldType)
			c.ft.Nullable = true
		}
		return c, nil
	case reflect.Struct:
		return cp.structRow(t)
	case reflect.Interface:
		return codec{}, &typeError{t: t, why: "interface types have no coder; use a concrete type"}
	case reflect.Chan:
		return codec{}, &typeError{t: t, why: "channels cannot be encoded"}
	case reflect.Func:
		return codec{}, &typeError{t: t, why: "functions cannot be encoded"}
	}
	return codec{}, &typeError{t: t, why: fmt.Sprintf("%s values cannot be encoded; implement coder.Marshaler", t.Kind())}
}

// withList sets the schema type of a slice or array codec.
func (cp *compiler) withList(c codec, ec codec) codec {
	if cp.schema {
		c.ft = &pipepb.FieldType{TypeInfo: &pipepb.FieldType_ArrayType{ArrayType: &pipepb.ArrayType{ElementType: ec.ft}}}
	}
	return c
}

// withType records the schema type of a scalar codec.
func withType(c codec, at pipepb.AtomicType) codec {
	c.ft = atomic(at)
	return c
}

func atomic(at pipepb.AtomicType) *pipepb.FieldType {
	return &pipepb.FieldType{TypeInfo: &pipepb.FieldType_AtomicType{AtomicType: at}}
}

// schemaScalar returns the row-field codecs whose encoding differs from the
// standalone coder of the same Go kind: BYTE (one byte), INT16 (two
// big-endian bytes), INT32 for unsigned 32-bit integers and FLOAT (four
// big-endian bytes), as Beam's Java RowCoder encodes them.
func schemaScalar(k reflect.Kind) (codec, bool) {
	switch k {
	case reflect.Int8, reflect.Uint8:
		return withType(codecOf[uint8](fixedIntCoder[uint8]{}), pipepb.AtomicType_BYTE), true
	case reflect.Int16, reflect.Uint16:
		return withType(codecOf[uint16](fixedIntCoder[uint16]{}), pipepb.AtomicType_INT16), true
	case reflect.Int32:
		return withType(codecOf(Varint[int32]()), pipepb.AtomicType_INT32), true
	case reflect.Uint32:
		// Stored as the int32 of the same bits, so that other SDKs see an
		// INT32 and values round-trip.
		return withType(codecOf[uint32](newView[uint32](Varint[int32]())), pipepb.AtomicType_INT32), true
	case reflect.Float32:
		return withType(codecOf[float32](floatCoder{}), pipepb.AtomicType_FLOAT), true
	}
	return codec{}, false
}

// fixedIntCoder encodes 8- and 16-bit integers big-endian in their own
// width, as schema BYTE and INT16 fields.
type fixedIntCoder[T uint8 | uint16] struct{}

func (fixedIntCoder[T]) Encode(dst []byte, v T) []byte {
	if unsafe.Sizeof(v) == 1 {
		return append(dst, byte(v))
	}
	return append(dst, byte(uint16(v)>>8), byte(v))
}

func (fixedIntCoder[T]) Decode(src []byte) (T, int, error) {
	size := int(unsafe.Sizeof(T(0)))
	if len(src) < size {
		return 0, 0, errShort("fixed-width integer")
	}
	if size == 1 {
		return T(src[0]), 1, nil
	}
	return T(uint16(src[0])<<8 | uint16(src[1])), 2, nil
}

func (fixedIntCoder[T]) Spec() Spec          { return Spec{URN: "beamgo:coder:fixed_int:v1"} }
func (fixedIntCoder[T]) Deterministic() bool { return true }

// floatCoder encodes float32 in four bytes, as schema FLOAT fields.
type floatCoder struct{}

func (floatCoder) Encode(dst []byte, v float32) []byte { return appendFloat32(dst, v) }

func (floatCoder) Decode(src []byte) (float32, int, error) {
	f, err := readFloat32(src)
	if err != nil {
		return 0, 0, err
	}
	return f, 4, nil
}

func (floatCoder) Spec() Spec          { return Spec{URN: "beamgo:coder:float:v1"} }
func (floatCoder) Deterministic() bool { return false }

// sliceHeader is the runtime layout of a slice.
type sliceHeader struct {
	Data unsafe.Pointer
	Len  int
	Cap  int
}

// sliceCodec encodes a slice as an iterable of ec's elements.
func sliceCodec(t reflect.Type, ec codec) codec {
	size := t.Elem().Size()
	return codec{
		spec: Spec{URN: URNIterable, Components: []Spec{ec.spec}},
		det:  ec.det,
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			s := (*sliceHeader)(p)
			dst = appendIterCount(dst, s.Len)
			for i := range s.Len {
				dst = ec.enc(dst, unsafe.Add(s.Data, uintptr(i)*size))
			}
			return dst
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			count, n, blocks, err := readIterHeader(src, ec.skip)
			if err != nil {
				return 0, err
			}
			s := reflect.MakeSlice(t, count, count)
			if n, err = decodeElems(src, n, blocks, count, s.UnsafePointer(), size, ec); err != nil {
				return 0, err
			}
			reflect.NewAt(t, p).Elem().Set(s)
			return n, nil
		},
		skip: func(src []byte) (int, error) { return skipIterable(src, ec.skip) },
	}
}

// arrayCodec encodes an array as an iterable of its elements.
func arrayCodec(t reflect.Type, ec codec) codec {
	size, length := t.Elem().Size(), t.Len()
	return codec{
		spec: Spec{URN: URNIterable, Components: []Spec{ec.spec}},
		det:  ec.det,
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			dst = appendIterCount(dst, length)
			for i := range length {
				dst = ec.enc(dst, unsafe.Add(p, uintptr(i)*size))
			}
			return dst
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			count, n, blocks, err := readIterHeader(src, ec.skip)
			if err != nil {
				return 0, err
			}
			if count != length {
				return 0, errCorrupt("%d elements for %v", count, t)
			}
			return decodeElems(src, n, blocks, count, p, size, ec)
		},
		skip: func(src []byte) (int, error) {
			count, _, _, err := readIterHeader(src, ec.skip)
			if err == nil && count != length {
				err = errCorrupt("%d elements for %v", count, t)
			}
			if err != nil {
				return 0, err
			}
			return skipIterable(src, ec.skip)
		},
	}
}

// decodeElems decodes count elements of an iterable accepted by
// readIterHeader into consecutive slots of size bytes at data.
func decodeElems(src []byte, n int, blocks bool, count int, data unsafe.Pointer, size uintptr, ec codec) (int, error) {
	cur := iterCursor{blocks: blocks}
	var err error
	for i := range count {
		if n, err = cur.next(src, n); err != nil {
			return 0, err
		}
		m, err := ec.dec(src[n:], unsafe.Add(data, uintptr(i)*size))
		if err != nil {
			return 0, err
		}
		n += m
	}
	return cur.end(src, n)
}

// fixedBytesCodec encodes a byte array as bytes of exactly its length.
func fixedBytesCodec(length int) codec {
	return codec{
		spec: Spec{URN: URNBytes},
		det:  true,
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			return bytesCoder{}.Encode(dst, unsafe.Slice((*byte)(p), length))
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			l, n, err := readLength(src, "bytes")
			if err != nil {
				return 0, err
			}
			if l != length {
				return 0, errCorrupt("%d bytes for a [%d]byte", l, length)
			}
			copy(unsafe.Slice((*byte)(p), length), src[n:n+l])
			return n + l, nil
		},
		encOuter: func(dst []byte, p unsafe.Pointer) []byte {
			return append(dst, unsafe.Slice((*byte)(p), length)...)
		},
		decOuter: func(src []byte, p unsafe.Pointer) error {
			if len(src) != length {
				return errCorrupt("%d bytes for a [%d]byte", len(src), length)
			}
			copy(unsafe.Slice((*byte)(p), length), src)
			return nil
		},
		skip: func(src []byte) (int, error) {
			l, n, err := readLength(src, "bytes")
			if err == nil && l != length {
				err = errCorrupt("%d bytes for a [%d]byte", l, length)
			}
			return n + l, err
		},
	}
}

// mapCodec encodes a map as a count and its entries, key then value:
// Beam's map encoding, identical to an iterable of kvs. Entries are sorted
// by their encoded keys, so the encoding is canonical and deterministic if
// the keys' and values' are.
func mapCodec(t reflect.Type, kc, vc codec) codec {
	skipEntry := func(src []byte) (int, error) {
		n, err := kc.skip(src)
		if err != nil {
			return 0, err
		}
		m, err := vc.skip(src[n:])
		return n + m, err
	}
	return codec{
		spec: Spec{URN: URNIterable, Components: []Spec{{URN: URNKV, Components: []Spec{kc.spec, vc.spec}}}},
		det:  kc.det && vc.det,
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			m := reflect.NewAt(t, p).Elem()
			dst = appendIterCount(dst, m.Len())
			if m.Len() == 0 {
				return dst
			}
			k, v := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
			start := len(dst)
			entries := make([]mapEntry, 0, m.Len())
			for it := m.MapRange(); it.Next(); {
				k.SetIterKey(it)
				v.SetIterValue(it)
				e := mapEntry{start: len(dst) - start}
				dst = kc.enc(dst, kp)
				e.keyEnd = len(dst) - start
				dst = vc.enc(dst, vp)
				e.end = len(dst) - start
				entries = append(entries, e)
			}
			return sortEntries(dst, start, entries)
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			count, n, blocks, err := readIterHeader(src, skipEntry)
			if err != nil {
				return 0, err
			}
			m := reflect.MakeMapWithSize(t, count)
			cur := iterCursor{blocks: blocks}
			for range count {
				if n, err = cur.next(src, n); err != nil {
					return 0, err
				}
				k, v := reflect.New(t.Key()), reflect.New(t.Elem())
				a, err := kc.dec(src[n:], k.UnsafePointer())
				if err != nil {
					return 0, err
				}
				b, err := vc.dec(src[n+a:], v.UnsafePointer())
				if err != nil {
					return 0, err
				}
				n += a + b
				m.SetMapIndex(k.Elem(), v.Elem())
			}
			if n, err = cur.end(src, n); err != nil {
				return 0, err
			}
			reflect.NewAt(t, p).Elem().Set(m)
			return n, nil
		},
		skip: func(src []byte) (int, error) { return skipIterable(src, skipEntry) },
	}
}

// mapEntry locates one encoded map entry, relative to the first entry.
type mapEntry struct{ start, keyEnd, end int }

// sortEntries reorders the encoded entries in dst[start:] by key bytes.
func sortEntries(dst []byte, start int, entries []mapEntry) []byte {
	body := dst[start:]
	sorted := slices.IsSortedFunc(entries, func(a, b mapEntry) int {
		return bytes.Compare(body[a.start:a.keyEnd], body[b.start:b.keyEnd])
	})
	if sorted {
		return dst
	}
	old := slices.Clone(body)
	slices.SortStableFunc(entries, func(a, b mapEntry) int {
		return bytes.Compare(old[a.start:a.keyEnd], old[b.start:b.keyEnd])
	})
	off := 0
	for _, e := range entries {
		off += copy(body[off:], old[e.start:e.end])
	}
	return dst
}

// nullableCodec encodes a pointer as a presence byte and the pointee.
func nullableCodec(elem reflect.Type, ec codec) codec {
	return codec{
		spec: Spec{URN: URNNullable, Components: []Spec{ec.spec}},
		det:  ec.det,
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			if q := *(*unsafe.Pointer)(p); q != nil {
				return ec.enc(append(dst, 1), q)
			}
			return append(dst, 0)
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			present, err := readBool(src)
			if err != nil {
				return 0, err
			}
			if !present {
				return 1, nil
			}
			q := reflect.New(elem).UnsafePointer()
			n, err := ec.dec(src[1:], q)
			if err != nil {
				return 0, err
			}
			*(*unsafe.Pointer)(p) = q
			return 1 + n, nil
		},
		encOuter: func(dst []byte, p unsafe.Pointer) []byte {
			if q := *(*unsafe.Pointer)(p); q != nil {
				return ec.encOuter(append(dst, 1), q)
			}
			return append(dst, 0)
		},
		decOuter: func(src []byte, p unsafe.Pointer) error {
			present, err := readBool(src)
			if err != nil {
				return err
			}
			if !present {
				if len(src) != 1 {
					return errCorrupt("%d trailing bytes after null", len(src)-1)
				}
				return nil
			}
			q := reflect.New(elem).UnsafePointer()
			if err := ec.decOuter(src[1:], q); err != nil {
				return err
			}
			*(*unsafe.Pointer)(p) = q
			return nil
		},
		skip: func(src []byte) (int, error) {
			present, err := readBool(src)
			if err != nil {
				return 0, err
			}
			if !present {
				return 1, nil
			}
			n, err := ec.skip(src[1:])
			return 1 + n, err
		},
	}
}

// customCodec encodes a type whose pointer implements Marshaler and
// Unmarshaler: beam:coder:custom:v1 naming the type, the marshalled bytes
// length-prefixed in the nested context and bare in the outer one. It is
// the coder Of gives such a type, and a row's codec of such a field.
func customCodec(t reflect.Type) codec {
	name := typeName(t)
	unmarshal := func(src []byte, p unsafe.Pointer) error {
		if err := reflect.NewAt(t, p).Interface().(Unmarshaler).UnmarshalBeam(src); err != nil {
			return fmt.Errorf("coder: unmarshal %s: %w", name, err)
		}
		return nil
	}
	return codec{
		typ:  t,
		spec: Spec{URN: URNCustom, Payload: []byte(name)},
		det:  customDeterministic(t),
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			start := len(dst)
			m := reflect.NewAt(t, p).Interface().(Marshaler)
			return fixLengthPrefix(m.MarshalBeam(append(dst, 0)), start)
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			l, n, err := readLength(src, name)
			if err != nil {
				return 0, err
			}
			if err := unmarshal(src[n:n+l], p); err != nil {
				return 0, err
			}
			return n + l, nil
		},
		encOuter: func(dst []byte, p unsafe.Pointer) []byte {
			return reflect.NewAt(t, p).Interface().(Marshaler).MarshalBeam(dst)
		},
		decOuter: unmarshal,
	}
}
