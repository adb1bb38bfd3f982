package coder

import (
	"iter"

	icoder "github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// The declarations below re-export the coders of the internal coder
// package, which runners and the job server import without the user SDK.
// The types are aliases, so a coder built here is the very value a runner
// decodes with; the functions are wrappers the compiler inlines, called
// when a pipeline is built, never per element.

// Coder encodes and decodes values of T in Beam's wire format.
//
// Implementations must be stateless and safe for concurrent use: a runner
// calls one Coder from many bundles at once.
//
// Encode and Decode use the nested context, in which every encoding is
// self-delimiting, so that values can be concatenated. Coders whose outer
// context differs (bytes and strings drop their length prefix; kv and
// windowed values put their last component in the outer context)
// additionally implement OuterCoder; use the EncodeOuter and DecodeOuter
// functions, which fall back to the nested form for the others.
type Coder[T any] = icoder.Coder[T]

// OuterCoder is implemented by coders whose outer-context encoding differs
// from their nested one. In the outer context a value is the last thing in
// its buffer, so it need not be self-delimiting.
type OuterCoder[T any] = icoder.OuterCoder[T]

// Any is the type-erased view of a Coder[T], so that a pipeline graph and
// runners can hold coders of any element type. Values pass through it as
// interface values of GoType. Erase and FromSpec are its only
// implementations; it is safe for concurrent use.
type Any = icoder.Any

// Spec is the model description of a coder: a URN, an optional payload and
// component coders. It is free of protos; proto/translate maps it to a
// pipeline_v1.Coder. Specs are values: do not modify a Spec returned by a
// coder.
type Spec = icoder.Spec

// Integer is the set of Go integer types the varint coder accepts.
type Integer = icoder.Integer

// KV is a key-value pair, the element type of keyed PCollections. The sdk
// package aliases it as sdk.KV.
type KV[K, V any] = icoder.KV[K, V]

// ShardedKey is a key with an opaque shard id, the key type of
// beam:coder:sharded_key:v1 (used by GroupIntoBatches with sharding).
type ShardedKey[K any] = icoder.ShardedKey[K]

// Timer is a timer as the Fn API carries it (beam:coder:timer:v1): the key
// and tag it belongs to, its windows, and unless ClearBit is set, when it
// fires, the output watermark hold it sets and its pane.
type Timer[K any] = icoder.Timer[K]

// Row is a schema'd value decoded without a Go struct, as runners and the
// dynamic path (FromSpec) see rows. Values holds one value per schema
// field, in schema order, nil for null. Field values have these Go types:
//
//	BYTE byte, INT16 int16, INT32 int32, INT64 int64, FLOAT float32,
//	DOUBLE float64, STRING string, BOOLEAN bool, BYTES []byte,
//	ARRAY and ITERABLE []any, MAP []KV[any, any] (in encoded order),
//	ROW Row, and a logical type the value of its representation.
type Row = icoder.Row

// Marshaler is implemented by Go types that encode themselves; Of uses it
// for any type whose pointer implements both Marshaler and Unmarshaler.
// Such a coder has URN URNCustom and the Go type name as payload. Its
// nested encoding is a varint length followed by the marshaled bytes, so
// MarshalBeam need not be self-delimiting.
type Marshaler = icoder.Marshaler

// Unmarshaler is the decoding half of Marshaler.
type Unmarshaler = icoder.Unmarshaler

// Determiner may be implemented by Marshaler types whose encoding is
// deterministic (equal values always marshal to equal bytes), so that they
// can be grouping keys. Custom coders are non-deterministic otherwise.
type Determiner = icoder.Determiner

// ErrCorrupt is wrapped by decoding errors caused by malformed input, as
// opposed to input that merely ends too early, which wraps
// io.ErrUnexpectedEOF.
var ErrCorrupt = icoder.ErrCorrupt

// ErrUnknownCoder is wrapped by FromSpec errors for URNs it does not know.
var ErrUnknownCoder = icoder.ErrUnknownCoder

// The coder URNs, exactly as Beam's Runner API spells them
// (StandardCoders in beam_runner_api.proto), plus this SDK's own.
const (
	URNBytes              = icoder.URNBytes
	URNStringUTF8         = icoder.URNStringUTF8
	URNKV                 = icoder.URNKV
	URNBool               = icoder.URNBool
	URNVarint             = icoder.URNVarint
	URNDouble             = icoder.URNDouble
	URNIterable           = icoder.URNIterable
	URNTimer              = icoder.URNTimer
	URNIntervalWindow     = icoder.URNIntervalWindow
	URNLengthPrefix       = icoder.URNLengthPrefix
	URNGlobalWindow       = icoder.URNGlobalWindow
	URNWindowedValue      = icoder.URNWindowedValue
	URNParamWindowedValue = icoder.URNParamWindowedValue
	URNStateBackedIter    = icoder.URNStateBackedIter
	URNCustomWindow       = icoder.URNCustomWindow
	URNRow                = icoder.URNRow
	URNShardedKey         = icoder.URNShardedKey
	URNNullable           = icoder.URNNullable

	// URNCustom identifies a coder for a Go type that implements Marshaler
	// (or encoding.BinaryMarshaler). Its payload is the Go type name. Its
	// nested encoding is a varint length followed by the marshaled bytes,
	// so runners can treat it as length_prefix(unknown).
	URNCustom = icoder.URNCustom

	// LogicalTypeCustom is the schema logical type of row fields whose Go
	// type implements Marshaler; its representation is BYTES and its
	// payload the Go type name.
	LogicalTypeCustom = icoder.LogicalTypeCustom

	// LogicalTypeNanosInstant is Beam's logical type of a time.Time row
	// field: Row(seconds INT64, nanos INT32), as Java's NanosInstant.
	LogicalTypeNanosInstant = icoder.LogicalTypeNanosInstant
	// LogicalTypeNanosDuration is Beam's logical type of a time.Duration
	// row field, with the same representation (Java's NanosDuration).
	LogicalTypeNanosDuration = icoder.LogicalTypeNanosDuration
)

// Register makes c the coder of T wherever Of infers one: as an element
// type, and inside slices, maps, pointers and struct fields. It is for a
// type you cannot change, one of another package whose fields are
// unexported and that has no Marshaler method:
//
//	func init() { coder.Register[money.Amount](amountCoder{}) }
//
// In a row (a struct field) the value is the logical type
// LogicalTypeCustom over BYTES, holding c's outer encoding; elsewhere it is
// c wrapped in LengthPrefix, so that runners that do not know c's URN
// carry its values as bytes. Call Register
// from an init function or from main before building a pipeline, so that
// worker processes, which run main again, register the same coders. It
// panics if T already has a registered coder or a built-in one, as
// sql.Register panics on a duplicate. It is safe for concurrent use.
func Register[T any](c Coder[T]) { icoder.Register(c) }

// Of infers the coder of a Go type. See the package documentation for the
// mapping. Common types get typed coders that neither reflect nor allocate
// per element; defined types over them (type ID int) reuse those coders
// through an unsafe cast chosen here; structs, other slices, arrays, maps
// and pointers get coders compiled once from their reflect.Type. Types
// without a coder (channels, functions, interfaces, structs with
// unexported fields, ...) return an error naming the type and the reason.
func Of[T any]() (Coder[T], error) { return icoder.Of[T]() }

// Erase returns the type-erased view of c.
func Erase[T any](c Coder[T]) Any { return icoder.Erase(c) }

// As returns the typed coder behind a, if it codes values of T.
func As[T any](a Any) (Coder[T], bool) { return icoder.As[T](a) }

// FromSpec builds a coder from its model description alone, for runners
// and harnesses that handle the bytes of pipelines they did not build
// (possibly from other SDKs). Values have these Go types:
//
//	bytes []byte, string_utf8 string, varint int64, bool bool,
//	double float64, kv KV[any, any], iterable []any,
//	global_window and interval_window window.Window,
//	windowed_value and param_windowed_value window.Value[any],
//	timer Timer[any], row Row, nullable any (nil or the value),
//	sharded_key ShardedKey[any], length_prefix its component's type.
//
// A custom coder of this SDK (URNCustom) and a length_prefix around a coder
// FromSpec does not know decode to the raw []byte of the value, since both
// are length-prefixed on the wire. Any other unknown URN is an error
// wrapping ErrUnknownCoder.
func FromSpec(s Spec) (Any, error) { return icoder.FromSpec(s) }

// EncodeOuter appends the outer-context encoding of v to dst, using c's
// outer form if it has one and its nested form otherwise.
func EncodeOuter[T any](c Coder[T], dst []byte, v T) []byte { return icoder.EncodeOuter(c, dst, v) }

// DecodeOuter decodes a value encoded in the outer context, which must
// occupy all of src.
func DecodeOuter[T any](c Coder[T], src []byte) (T, error) { return icoder.DecodeOuter(c, src) }

// Skip returns the length of the nested-context value of c at the front of
// src, validating it as Decode would. It is cheap (no allocation) for the
// standard coders and falls back to decoding for others.
func Skip[T any](c Coder[T], src []byte) (int, error) { return icoder.Skip(c, src) }

// Bytes returns the beam:coder:bytes:v1 coder: a varint length and the
// bytes in the nested context, the bare bytes in the outer context. Decoded
// slices are copies, never nil.
func Bytes() Coder[[]byte] { return icoder.Bytes() }

// String returns the beam:coder:string_utf8:v1 coder, which encodes like
// Bytes. Strings are not validated as UTF-8, so any Go string round-trips.
func String() Coder[string] { return icoder.String() }

// Varint returns the beam:coder:varint:v1 coder for an integer type. Values
// are widened to 64 bits (sign-extended for signed types) and written as an
// unsigned LEB128 varint, so negative numbers take ten bytes. Decoding
// truncates to T's width, which also accepts Java's five-byte encoding of
// negative 32-bit integers.
func Varint[T Integer]() Coder[T] { return icoder.Varint[T]() }

// Double returns the beam:coder:double:v1 coder: eight big-endian IEEE 754
// bytes. It is not deterministic, as in Beam: 0 and -0 are equal but encode
// differently.
func Double() Coder[float64] { return icoder.Double() }

// Bool returns the beam:coder:bool:v1 coder: one byte, 0 or 1.
func Bool() Coder[bool] { return icoder.Bool() }

// NewKV returns the beam:coder:kv:v1 coder: the key then the value, both
// nested in the nested context; in the outer context the value is encoded
// in the outer context. It is deterministic if both components are.
func NewKV[K, V any](kc Coder[K], vc Coder[V]) Coder[KV[K, V]] { return icoder.NewKV(kc, vc) }

// KeyCoder returns the key coder of a kv coder built by NewKV, for runners
// and the sdk that need the key's encoding alone.
func KeyCoder[K, V any](c Coder[KV[K, V]]) (Coder[K], bool) { return icoder.KeyCoder(c) }

// ValueCoder returns the value coder of a kv coder built by NewKV.
func ValueCoder[K, V any](c Coder[KV[K, V]]) (Coder[V], bool) { return icoder.ValueCoder(c) }

// NewIterable returns the beam:coder:iterable:v1 coder for slices: a
// four-byte big-endian element count, then each element nested. It also
// decodes the unknown-length form (count -1, then blocks of a varint count
// and that many elements, ended by a zero count). The encoding is the same
// in both contexts, and deterministic if the element coder is.
func NewIterable[T any](c Coder[T]) Coder[[]T] { return icoder.NewIterable(c) }

// NewIterSeq returns a beam:coder:iterable:v1 coder whose values are
// sequences, for grouped values (sdk.Group's Values). Decode validates the
// encoding and returns a sequence that decodes elements lazily, each time it
// is ranged over, from the bytes of src it covers: the caller must not
// modify src while the sequence is in use. Encode ranges over the sequence
// once and writes the known-length form.
func NewIterSeq[T any](c Coder[T]) Coder[iter.Seq[T]] { return icoder.NewIterSeq(c) }

// LengthPrefix returns the beam:coder:length_prefix:v1 coder over c: a
// varint length, then v encoded by c in the outer context. The encoding is
// the same in both contexts. Runners use it to carry values of coders they
// do not know as opaque bytes.
func LengthPrefix[T any](c Coder[T]) Coder[T] { return icoder.LengthPrefix(c) }

// NewNullable returns the beam:coder:nullable:v1 coder: a byte 0 for nil,
// or 1 followed by the value encoded by c in the same context. Decoded
// non-nil values are freshly allocated.
func NewNullable[T any](c Coder[T]) Coder[*T] { return icoder.NewNullable(c) }

// NewShardedKey returns the beam:coder:sharded_key:v1 coder: the shard id
// as nested bytes, then the key encoded by kc in the same context.
func NewShardedKey[K any](kc Coder[K]) Coder[ShardedKey[K]] { return icoder.NewShardedKey(kc) }

// NewRow returns the beam:coder:row:v1 coder for a struct type T, whose
// exported fields become the schema's fields in declaration order. A field
// tag `beam:"name"` renames a field and `beam:"-"` leaves it out; any other
// unexported field is an error, since dropping it silently would lose data.
// See the package documentation for the field type mapping.
func NewRow[T any]() (Coder[T], error) { return icoder.NewRow[T]() }

// NewRowFromSchema returns the beam:coder:row:v1 coder for rows of the
// given schema, a serialized pipeline_v1.Schema (the coder's payload).
// Encode panics if a Row's values do not match the schema's types; Any's
// EncodeAny reports that as an error instead.
func NewRowFromSchema(payload []byte) (Coder[Row], error) { return icoder.NewRowFromSchema(payload) }

// GlobalWindow returns the beam:coder:global_window:v1 coder. The global
// window encodes to no bytes; Encode ignores its argument and Decode
// returns window.Global().
func GlobalWindow() Coder[window.Window] { return icoder.GlobalWindow() }

// IntervalWindow returns the beam:coder:interval_window:v1 coder: the end
// as a timestamp, then the span (end - start) as a varint.
func IntervalWindow() Coder[window.Window] { return icoder.IntervalWindow() }

// NewWindowedValue returns the beam:coder:windowed_value:v1 coder: the
// timestamp, the windows (an iterable encoded by wc), the pane, then the
// element encoded by elem in the same context. Decoded values in the single
// global window share window.GlobalWindows(); do not modify Windows.
func NewWindowedValue[T any](elem Coder[T], wc Coder[window.Window]) Coder[window.Value[T]] {
	return icoder.NewWindowedValue(elem, wc)
}

// NewParamWindowedValue returns the beam:coder:param_windowed_value:v1
// coder: only the element is encoded; decoded values get the timestamp,
// windows and pane given here, which the spec's payload carries. Decoded
// values share the windows slice; do not modify it.
func NewParamWindowedValue[T any](elem Coder[T], wc Coder[window.Window], ts window.Time, windows []window.Window, pane window.Pane) Coder[window.Value[T]] {
	return icoder.NewParamWindowedValue(elem, wc, ts, windows, pane)
}

// NewTimer returns the beam:coder:timer:v1 coder for timers keyed by kc's
// type in windows encoded by wc. All parts are nested, in both contexts.
func NewTimer[K any](kc Coder[K], wc Coder[window.Window]) Coder[Timer[K]] {
	return icoder.NewTimer(kc, wc)
}
