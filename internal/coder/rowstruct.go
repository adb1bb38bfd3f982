package coder

import (
	"crypto/sha1"
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// NewRow returns the beam:coder:row:v1 coder for a struct type T, whose
// exported fields become the schema's fields in declaration order. A field
// tag `beam:"name"` renames a field and `beam:"-"` leaves it out; any other
// unexported field is an error, since dropping it silently would lose data.
// See the package documentation for the field type mapping.
func NewRow[T any]() (Coder[T], error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("coder: NewRow: %v is not a struct", t)
	}
	c, err := (&compiler{active: map[reflect.Type]bool{}}).compile(t)
	if err != nil {
		return nil, asked(err, t)
	}
	return &compiledCoder[T]{c: c}, nil
}

// structField is a compiled struct field.
type structField struct {
	name   string
	offset uintptr
	// nullable marks a pointer field: it is null when nil, and c codes the
	// pointee, of type elem.
	nullable bool
	elem     reflect.Type
	c        codec
}

// structRow compiles a struct type to a row codec.
func (cp *compiler) structRow(t reflect.Type) (codec, error) {
	sub := &compiler{schema: true, active: cp.active}
	schema := &pipepb.Schema{}
	var fields []structField
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Name
		if tag, ok := f.Tag.Lookup("beam"); ok {
			tag, _, _ = strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			if tag != "" {
				name = tag
			}
		}
		if f.Name == "_" {
			continue
		}
		if !f.IsExported() {
			return codec{}, &typeError{t: t, why: fmt.Sprintf("field %s is unexported; export it, tag it `beam:\"-\"`, implement coder.Marshaler, or, for a type you cannot change, give it a coder with coder.Register", f.Name)}
		}
		if seen[name] {
			return codec{}, &typeError{t: t, why: fmt.Sprintf("two fields are named %q", name)}
		}
		seen[name] = true
		sf := structField{name: name, offset: f.Offset, elem: f.Type}
		if f.Type.Kind() == reflect.Pointer {
			sf.nullable, sf.elem = true, f.Type.Elem()
		}
		c, err := sub.compile(sf.elem)
		if err != nil {
			return codec{}, within(err, "field "+f.Name)
		}
		ft := c.ft
		if sf.nullable {
			if ft.Nullable {
				return codec{}, &typeError{t: t, why: fmt.Sprintf("field %s: rows cannot hold pointers to pointers", f.Name)}
			}
			ft = proto.Clone(ft).(*pipepb.FieldType)
			ft.Nullable = true
		}
		sf.c = c
		fields = append(fields, sf)
		schema.Fields = append(schema.Fields, &pipepb.Field{Name: name, Type: ft})
	}
	schema.Id = schemaID(t, schema)
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(schema)
	if err != nil {
		return codec{}, fmt.Errorf("coder: marshal schema of %v: %w", t, err)
	}
	r := &structRowCodec{fields: fields}
	det := true
	for i, f := range fields {
		det = det && f.c.det
		if f.nullable {
			r.nullable = append(r.nullable, i)
		}
	}
	return codec{
		spec: Spec{URN: URNRow, Payload: payload},
		ft:   &pipepb.FieldType{TypeInfo: &pipepb.FieldType_RowType{RowType: &pipepb.RowType{Schema: schema}}},
		det:  det,
		enc:  r.encode,
		dec:  r.decode,
		skip: r.skip,
	}, nil
}

// schemaID derives a stable UUID (name-based, version 5 layout) for the
// schema of t, since Java parses schema ids as UUIDs and rebuilt pipelines
// must produce identical protos.
func schemaID(t reflect.Type, s *pipepb.Schema) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(s)
	sum := sha1.Sum(append([]byte(typeName(t)+"\x00"), b...))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// structRowCodec encodes a struct as a row.
type structRowCodec struct {
	fields   []structField
	nullable []int // indices of the pointer fields
}

func (r *structRowCodec) isNull(f *structField, p unsafe.Pointer) bool {
	return f.nullable && *(*unsafe.Pointer)(unsafe.Add(p, f.offset)) == nil
}

func (r *structRowCodec) encode(dst []byte, p unsafe.Pointer) []byte {
	dst = appendVarint(dst, int64(len(r.fields)))
	last := -1
	for _, i := range r.nullable {
		if r.isNull(&r.fields[i], p) {
			last = i
		}
	}
	if last < 0 {
		dst = append(dst, 0)
	} else {
		l := last/8 + 1
		dst = appendVarint(dst, int64(l))
		start := len(dst)
		dst = append(dst, make([]byte, l)...)
		for _, i := range r.nullable {
			if r.isNull(&r.fields[i], p) {
				dst[start+i/8] |= 1 << (i % 8)
			}
		}
	}
	for i := range r.fields {
		f := &r.fields[i]
		fp := unsafe.Add(p, f.offset)
		if f.nullable {
			q := *(*unsafe.Pointer)(fp)
			if q == nil {
				continue
			}
			fp = q
		}
		dst = f.c.enc(dst, fp)
	}
	return dst
}

// readRowHeader reads a row's field count and null bitmap, checking the
// count against a schema of want fields: rows written with fewer fields
// (an older schema) are accepted, rows with more only if the extra fields
// are null.
func readRowHeader(src []byte, want int) (count int, nulls []byte, n int, err error) {
	x, n, err := readVarint(src)
	if err != nil {
		return 0, nil, 0, err
	}
	l, m, err := readLength(src[n:], "row null bitmap")
	if err != nil {
		return 0, nil, 0, err
	}
	nulls = src[n+m : n+m+l]
	n += m + l
	if x > uint64(want) {
		if x > uint64(want)+8*uint64(len(nulls)) {
			return 0, nil, 0, errCorrupt("row has %d fields, the schema %d", int64(x), want)
		}
		for i := want; i < int(x); i++ {
			if !isNull(nulls, i) {
				return 0, nil, 0, errCorrupt("row has %d fields, the schema %d", x, want)
			}
		}
		x = uint64(want)
	}
	return int(x), nulls, n, nil
}

// isNull reports whether bit i of a row's null bitmap is set.
func isNull(nulls []byte, i int) bool {
	return i/8 < len(nulls) && nulls[i/8]&(1<<(i%8)) != 0
}

func (r *structRowCodec) decode(src []byte, p unsafe.Pointer) (int, error) {
	count, nulls, n, err := readRowHeader(src, len(r.fields))
	if err != nil {
		return 0, err
	}
	for i := range count {
		f := &r.fields[i]
		if isNull(nulls, i) {
			if !f.nullable {
				return 0, errCorrupt("row field %q is null but not nullable", f.name)
			}
			continue
		}
		fp := unsafe.Add(p, f.offset)
		if f.nullable {
			q := reflect.New(f.elem).UnsafePointer()
			m, err := f.c.dec(src[n:], q)
			if err != nil {
				return 0, err
			}
			*(*unsafe.Pointer)(fp) = q
			n += m
			continue
		}
		m, err := f.c.dec(src[n:], fp)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

func (r *structRowCodec) skip(src []byte) (int, error) {
	count, nulls, n, err := readRowHeader(src, len(r.fields))
	if err != nil {
		return 0, err
	}
	for i := range count {
		f := &r.fields[i]
		if isNull(nulls, i) {
			if !f.nullable {
				return 0, errCorrupt("row field %q is null but not nullable", f.name)
			}
			continue
		}
		m, err := f.c.skip(src[n:])
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}
