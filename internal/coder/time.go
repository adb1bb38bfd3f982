package coder

import (
	"reflect"
	"time"
	"unsafe"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// Beam's logical types for instants and durations with nanosecond
// precision (Java's NanosInstant and NanosDuration), whose representation
// is a row of whole seconds and nanoseconds.
const (
	LogicalTypeNanosInstant  = "beam:logical_type:nanos_instant:v1"
	LogicalTypeNanosDuration = "beam:logical_type:nanos_duration:v1"
)

// nanosRepr is the representation of the nanos logical types:
// Row(seconds INT64, nanos INT32), nanos in [0, 1e9).
type nanosRepr struct {
	Seconds int64 `beam:"seconds"`
	Nanos   int32 `beam:"nanos"`
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

// timeCodec returns the codec of time.Time (everywhere) and of
// time.Duration in rows, or ok false for other types. A time.Time is the
// representation row of nanos_instant: alone, a row coder of that
// schema; in a row, a nanos_instant field; it decodes in UTC, so the
// location (and any monotonic reading) is not kept. A time.Duration in a
// row is a nanos_duration field; alone it stays a varint of nanoseconds
// (it is an int64), which has no Beam logical type to honour.
func (cp *compiler) timeCodec(t reflect.Type) (c codec, ok bool, err error) {
	switch {
	case t == timeType:
		c, err = nanosCodec(cp.schema, LogicalTypeNanosInstant, func(p unsafe.Pointer) nanosRepr {
			tm := (*time.Time)(p)
			return nanosRepr{Seconds: tm.Unix(), Nanos: int32(tm.Nanosecond())}
		}, func(r nanosRepr, p unsafe.Pointer) {
			*(*time.Time)(p) = time.Unix(r.Seconds, int64(r.Nanos)).UTC()
		})
		return c, true, err
	case t == durationType && cp.schema:
		c, err = nanosCodec(true, LogicalTypeNanosDuration, func(p unsafe.Pointer) nanosRepr {
			d := *(*time.Duration)(p)
			s, n := int64(d/time.Second), int32(d%time.Second)
			if n < 0 {
				s, n = s-1, n+int32(time.Second)
			}
			return nanosRepr{Seconds: s, Nanos: n}
		}, func(r nanosRepr, p unsafe.Pointer) {
			*(*time.Duration)(p) = time.Duration(r.Seconds)*time.Second + time.Duration(r.Nanos)
		})
		return c, true, err
	}
	return codec{}, false, nil
}

// nanosCodec wraps the row codec of nanosRepr with conversions from and
// to a Go value; in a row (schema) it is the logical type urn.
func nanosCodec(schema bool, urn string, to func(unsafe.Pointer) nanosRepr, from func(nanosRepr, unsafe.Pointer)) (codec, error) {
	rc, err := (&compiler{active: map[reflect.Type]bool{}}).compile(reflect.TypeFor[nanosRepr]())
	if err != nil {
		return codec{}, err
	}
	c := codec{
		spec: rc.spec,
		det:  true,
		enc: func(dst []byte, p unsafe.Pointer) []byte {
			r := to(p)
			return rc.enc(dst, unsafe.Pointer(&r))
		},
		dec: func(src []byte, p unsafe.Pointer) (int, error) {
			var r nanosRepr
			n, err := rc.dec(src, unsafe.Pointer(&r))
			if err != nil {
				return 0, err
			}
			if r.Nanos < 0 || r.Nanos >= 1e9 {
				return 0, errCorrupt("%s nanos %d out of range", urn, r.Nanos)
			}
			from(r, p)
			return n, nil
		},
		skip: rc.skip,
	}
	if schema {
		c.ft = &pipepb.FieldType{TypeInfo: &pipepb.FieldType_LogicalType{LogicalType: &pipepb.LogicalType{
			Urn: urn, Representation: rc.ft,
		}}}
	}
	return c, nil
}
