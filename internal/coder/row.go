package coder

import (
	"fmt"
	"reflect"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// Row is a schema'd value decoded without a Go struct, as runners and the
// dynamic path (FromSpec) see rows. Values holds one value per schema
// field, in schema order, nil for null. Field values have these Go types:
//
//	BYTE byte, INT16 int16, INT32 int32, INT64 int64, FLOAT float32,
//	DOUBLE float64, STRING string, BOOLEAN bool, BYTES []byte,
//	ARRAY and ITERABLE []any, MAP []KV[any, any] (in encoded order),
//	ROW Row, and a logical type the value of its representation.
type Row struct {
	// Names are the field names in schema order. Decoded rows share them:
	// do not modify.
	Names  []string
	Values []any
}

// Get returns the value of the named field.
func (r Row) Get(name string) (any, bool) {
	for i, n := range r.Names {
		if n == name && i < len(r.Values) {
			return r.Values[i], true
		}
	}
	return nil, false
}

// NewRowFromSchema returns the beam:coder:row:v1 coder for rows of the
// given schema, a serialized pipeline_v1.Schema (the coder's payload).
// Encode panics if a Row's values do not match the schema's types; Any's
// EncodeAny reports that as an error instead.
func NewRowFromSchema(payload []byte) (Coder[Row], error) {
	var s pipepb.Schema
	if err := proto.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("coder: row schema: %w", err)
	}
	r, err := compileDynRow(&s)
	if err != nil {
		return nil, err
	}
	r.payload = append([]byte(nil), payload...)
	return r, nil
}

// mismatch is the panic value of dynamic encoders given a value of the
// wrong type; Any's EncodeAny recovers it as an error.
type mismatch struct {
	want string
	got  any
}

func (m *mismatch) Error() string {
	return fmt.Sprintf("coder: cannot encode %T as %s", m.got, m.want)
}

// dynType encodes values of one schema field type held in an any.
type dynType struct {
	enc  func(dst []byte, v any) []byte
	dec  func(src []byte) (any, int, error)
	skip func(src []byte) (int, error)
	// zero returns the zero value, given to non-nullable fields that a row
	// written with an older, shorter schema lacks.
	zero func() any
	det  bool
}

// dynOf adapts a typed coder to a dynType.
func dynOf[T any](c Coder[T]) dynType {
	want := reflect.TypeFor[T]().String()
	return dynType{
		enc: func(dst []byte, v any) []byte {
			x, ok := v.(T)
			if !ok {
				panic(&mismatch{want: want, got: v})
			}
			return c.Encode(dst, x)
		},
		dec: func(src []byte) (any, int, error) {
			x, n, err := c.Decode(src)
			if err != nil {
				return nil, 0, err
			}
			return x, n, nil
		},
		skip: skipOf(c),
		zero: func() any { return *new(T) },
		det:  c.Deterministic(),
	}
}

// compileDyn compiles a field type nested in an array or map, where
// nullability takes a presence byte.
func compileDyn(ft *pipepb.FieldType) (dynType, error) {
	d, err := compileDynBase(ft)
	if err != nil || !ft.GetNullable() {
		return d, err
	}
	return dynType{
		enc: func(dst []byte, v any) []byte {
			if v == nil {
				return append(dst, 0)
			}
			return d.enc(append(dst, 1), v)
		},
		dec: func(src []byte) (any, int, error) {
			present, err := readBool(src)
			if err != nil {
				return nil, 0, err
			}
			if !present {
				return nil, 1, nil
			}
			v, n, err := d.dec(src[1:])
			return v, 1 + n, err
		},
		skip: func(src []byte) (int, error) {
			present, err := readBool(src)
			if err != nil {
				return 0, err
			}
			if !present {
				return 1, nil
			}
			n, err := d.skip(src[1:])
			return 1 + n, err
		},
		zero: func() any { return nil },
		det:  d.det,
	}, nil
}

// compileDynBase compiles a field type, ignoring its nullability.
func compileDynBase(ft *pipepb.FieldType) (dynType, error) {
	switch ti := ft.GetTypeInfo().(type) {
	case *pipepb.FieldType_AtomicType:
		switch ti.AtomicType {
		case pipepb.AtomicType_BYTE:
			return dynOf[byte](fixedIntCoder[uint8]{}), nil
		case pipepb.AtomicType_INT16:
			return dynOf(newView[int16](Coder[uint16](fixedIntCoder[uint16]{}))), nil
		case pipepb.AtomicType_INT32:
			return dynOf(Varint[int32]()), nil
		case pipepb.AtomicType_INT64:
			return dynOf(Varint[int64]()), nil
		case pipepb.AtomicType_FLOAT:
			return dynOf[float32](floatCoder{}), nil
		case pipepb.AtomicType_DOUBLE:
			return dynOf(Double()), nil
		case pipepb.AtomicType_STRING:
			return dynOf(String()), nil
		case pipepb.AtomicType_BOOLEAN:
			return dynOf(Bool()), nil
		case pipepb.AtomicType_BYTES:
			return dynOf(Bytes()), nil
		}
		return dynType{}, fmt.Errorf("coder: row schema: unsupported atomic type %v", ti.AtomicType)
	case *pipepb.FieldType_ArrayType:
		return compileDynList(ti.ArrayType.GetElementType())
	case *pipepb.FieldType_IterableType:
		return compileDynList(ti.IterableType.GetElementType())
	case *pipepb.FieldType_MapType:
		return compileDynMap(ti.MapType.GetKeyType(), ti.MapType.GetValueType())
	case *pipepb.FieldType_RowType:
		r, err := compileDynRow(ti.RowType.GetSchema())
		if err != nil {
			return dynType{}, err
		}
		d := dynOf[Row](r)
		d.zero = func() any { return r.zeroRow() }
		return d, nil
	case *pipepb.FieldType_LogicalType:
		if ti.LogicalType.GetRepresentation() == nil {
			return dynType{}, fmt.Errorf("coder: row schema: logical type %q has no representation", ti.LogicalType.GetUrn())
		}
		return compileDyn(ti.LogicalType.GetRepresentation())
	}
	return dynType{}, fmt.Errorf("coder: row schema: field type %v has no type", ft)
}

func compileDynList(elemType *pipepb.FieldType) (dynType, error) {
	if elemType == nil {
		return dynType{}, fmt.Errorf("coder: row schema: array without element type")
	}
	e, err := compileDyn(elemType)
	if err != nil {
		return dynType{}, err
	}
	skip := func(src []byte) (int, error) { return skipIterable(src, e.skip) }
	return dynType{
		enc: func(dst []byte, v any) []byte {
			list, ok := v.([]any)
			if !ok {
				panic(&mismatch{want: "[]any", got: v})
			}
			dst = appendIterCount(dst, len(list))
			for _, x := range list {
				dst = e.enc(dst, x)
			}
			return dst
		},
		dec: func(src []byte) (any, int, error) {
			count, n, blocks, err := readIterHeader(src, e.skip)
			if err != nil {
				return nil, 0, err
			}
			list := make([]any, count)
			cur := iterCursor{blocks: blocks}
			for i := range list {
				if n, err = cur.next(src, n); err != nil {
					return nil, 0, err
				}
				x, m, err := e.dec(src[n:])
				if err != nil {
					return nil, 0, err
				}
				list[i], n = x, n+m
			}
			if n, err = cur.end(src, n); err != nil {
				return nil, 0, err
			}
			return list, n, nil
		},
		skip: skip,
		zero: func() any { return []any{} },
		det:  e.det,
	}, nil
}

func compileDynMap(keyType, valueType *pipepb.FieldType) (dynType, error) {
	if keyType == nil || valueType == nil {
		return dynType{}, fmt.Errorf("coder: row schema: map without key or value type")
	}
	k, err := compileDyn(keyType)
	if err != nil {
		return dynType{}, err
	}
	v, err := compileDyn(valueType)
	if err != nil {
		return dynType{}, err
	}
	skipEntry := func(src []byte) (int, error) {
		n, err := k.skip(src)
		if err != nil {
			return 0, err
		}
		m, err := v.skip(src[n:])
		return n + m, err
	}
	return dynType{
		enc: func(dst []byte, x any) []byte {
			entries, ok := x.([]KV[any, any])
			if !ok {
				panic(&mismatch{want: "[]coder.KV[any, any]", got: x})
			}
			dst = appendIterCount(dst, len(entries))
			for _, e := range entries {
				dst = v.enc(k.enc(dst, e.Key), e.Value)
			}
			return dst
		},
		dec: func(src []byte) (any, int, error) {
			count, n, blocks, err := readIterHeader(src, skipEntry)
			if err != nil {
				return nil, 0, err
			}
			entries := make([]KV[any, any], count)
			cur := iterCursor{blocks: blocks}
			for i := range entries {
				if n, err = cur.next(src, n); err != nil {
					return nil, 0, err
				}
				key, a, err := k.dec(src[n:])
				if err != nil {
					return nil, 0, err
				}
				val, b, err := v.dec(src[n+a:])
				if err != nil {
					return nil, 0, err
				}
				entries[i], n = KV[any, any]{Key: key, Value: val}, n+a+b
			}
			if n, err = cur.end(src, n); err != nil {
				return nil, 0, err
			}
			return entries, n, nil
		},
		skip: func(src []byte) (int, error) { return skipIterable(src, skipEntry) },
		zero: func() any { return []KV[any, any]{} },
		det:  false,
	}, nil
}

// dynRow is the coder of Row values for one schema.
type dynRow struct {
	names    []string
	fields   []dynType
	nullable []bool
	// order lists field indices in encoding order: the wire holds field
	// order[k] at position k, and bit k of the null bitmap is its.
	order []int
	// payload is the serialized schema; nested rows have none.
	payload []byte
	det     bool
}

var _ skipper = (*dynRow)(nil)

func compileDynRow(s *pipepb.Schema) (*dynRow, error) {
	if s == nil {
		return nil, fmt.Errorf("coder: row type without schema")
	}
	r := &dynRow{det: true}
	for i, f := range s.GetFields() {
		if f.GetType() == nil {
			return nil, fmt.Errorf("coder: row schema: field %q has no type", f.GetName())
		}
		d, err := compileDynBase(f.GetType())
		if err != nil {
			return nil, fmt.Errorf("%w (field %q)", err, f.GetName())
		}
		r.names = append(r.names, f.GetName())
		r.fields = append(r.fields, d)
		r.nullable = append(r.nullable, f.GetType().GetNullable())
		r.order = append(r.order, i)
		r.det = r.det && d.det
	}
	if s.GetEncodingPositionsSet() {
		seen := make([]bool, len(r.fields))
		for i, f := range s.GetFields() {
			pos := int(f.GetEncodingPosition())
			if pos < 0 || pos >= len(r.fields) || seen[pos] {
				return nil, fmt.Errorf("coder: row schema: field %q has invalid encoding position %d", f.GetName(), pos)
			}
			seen[pos] = true
			r.order[pos] = i
		}
	}
	return r, nil
}

func (r *dynRow) Encode(dst []byte, row Row) []byte {
	if len(row.Values) != len(r.fields) {
		panic(&mismatch{want: fmt.Sprintf("a row of %d fields", len(r.fields)), got: row})
	}
	dst = appendVarint(dst, int64(len(r.fields)))
	last := -1
	for k, i := range r.order {
		if row.Values[i] == nil {
			if !r.nullable[i] {
				panic(&mismatch{want: fmt.Sprintf("a value for non-nullable field %q", r.names[i]), got: nil})
			}
			last = k
		}
	}
	if last < 0 {
		dst = append(dst, 0)
	} else {
		l := last/8 + 1
		dst = appendVarint(dst, int64(l))
		start := len(dst)
		dst = append(dst, make([]byte, l)...)
		for k, i := range r.order {
			if row.Values[i] == nil {
				dst[start+k/8] |= 1 << (k % 8)
			}
		}
	}
	for _, i := range r.order {
		if v := row.Values[i]; v != nil {
			dst = r.fields[i].enc(dst, v)
		}
	}
	return dst
}

func (r *dynRow) Decode(src []byte) (Row, int, error) {
	count, nulls, n, err := readRowHeader(src, len(r.fields))
	if err != nil {
		return Row{}, 0, err
	}
	values := make([]any, len(r.fields))
	for k := range count {
		i := r.order[k]
		if isNull(nulls, k) {
			if !r.nullable[i] {
				return Row{}, 0, errCorrupt("row field %q is null but not nullable", r.names[i])
			}
			continue
		}
		v, m, err := r.fields[i].dec(src[n:])
		if err != nil {
			return Row{}, 0, err
		}
		values[i], n = v, n+m
	}
	for _, i := range r.order[count:] {
		if !r.nullable[i] {
			values[i] = r.fields[i].zero()
		}
	}
	return Row{Names: r.names, Values: values}, n, nil
}

// zeroRow returns the row of zero values: null for nullable fields.
func (r *dynRow) zeroRow() Row {
	values := make([]any, len(r.fields))
	for i, f := range r.fields {
		if !r.nullable[i] {
			values[i] = f.zero()
		}
	}
	return Row{Names: r.names, Values: values}
}

func (r *dynRow) skip(src []byte) (int, error) {
	count, nulls, n, err := readRowHeader(src, len(r.fields))
	if err != nil {
		return 0, err
	}
	for k := range count {
		i := r.order[k]
		if isNull(nulls, k) {
			if !r.nullable[i] {
				return 0, errCorrupt("row field %q is null but not nullable", r.names[i])
			}
			continue
		}
		m, err := r.fields[i].skip(src[n:])
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

func (r *dynRow) Spec() Spec          { return Spec{URN: URNRow, Payload: r.payload} }
func (r *dynRow) Deterministic() bool { return r.det }
