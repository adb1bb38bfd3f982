// Package coder implements Beam's standard coders, typed with generics.
//
// A Coder[T] encodes values of T in Beam's wire format, byte for byte the
// encodings of Beam's reference vectors (standard_coders.yaml, which the
// tests of the implementation check), so that pipelines built here can run
// on any Beam runner and our runners can read the bytes of other SDKs.
// Coders are stateless and safe for concurrent use. Encode appends to a
// caller's buffer and Decode reads from the front of one, so the hot coders
// (varint, string, bytes, double, bool, kv, windowed values) neither reflect
// nor allocate beyond the decoded value.
//
// # Go types and Beam coders
//
// Of[T] infers a coder from a Go type:
//
//	int, int8 ... int64, uint ... uint64, uintptr   beam:coder:varint:v1
//	float32, float64                                beam:coder:double:v1
//	string                                          beam:coder:string_utf8:v1
//	[]byte                                          beam:coder:bytes:v1
//	bool                                            beam:coder:bool:v1
//	KV[K, V]                                        beam:coder:kv:v1
//	ShardedKey[K]                                   beam:coder:sharded_key:v1
//	[]E, [N]E (E not byte)                          beam:coder:iterable:v1
//	[N]byte                                         beam:coder:bytes:v1 (exactly N bytes)
//	map[K]V                                         iterable of kv, sorted by encoded key
//	*E                                              beam:coder:nullable:v1
//	time.Time                                       beam:coder:row:v1 of (seconds, nanos)
//	time.Duration                                   beam:coder:varint:v1 (nanoseconds)
//	struct with exported fields                     beam:coder:row:v1
//	a type given to Register                        the registered coder
//	a type whose pointer implements Marshaler       beamgo:coder:custom:v1
//	  and Unmarshaler
//
// A time.Time is the representation of Beam's nanos_instant logical type,
// whole seconds and nanoseconds since the epoch; it decodes in UTC, so
// the location is not kept (compare times with Equal). In a row, time.Time
// and time.Duration fields are the logical types nanos_instant and
// nanos_duration, which Beam's Java SDK reads as Instant and Duration.
//
// A type of another package that has no coder (unexported fields, no
// Marshaler) gets one with Register, without changing it.
//
// Defined types (type ID int, type Words []string) take the coder of their
// underlying type unless they implement Marshaler. Channels, functions,
// interfaces, complex numbers, recursive types and structs with unexported
// fields have no coder; Of reports the type and the reason.
//
// The typed constructors compose coders explicitly: Bytes, String, Varint,
// Double, Bool, NewKV, NewIterable, NewIterSeq (grouped values as an
// iter.Seq decoded lazily), LengthPrefix, NewNullable, GlobalWindow,
// IntervalWindow, NewWindowedValue, NewParamWindowedValue, NewTimer,
// NewShardedKey, NewRow and NewRowFromSchema.
//
// # Custom coders
//
// A type whose pointer implements Marshaler and Unmarshaler encodes itself.
// MarshalBeam appends any bytes; the coder frames them with a varint length
// in the nested context (none in the outer context), so UnmarshalBeam gets
// exactly those bytes and the encoding need not be self-delimiting. This
// is also what lets runners, which do not know the URN, carry the values as
// length-prefixed bytes. Custom coders are not deterministic unless the type
// implements Determiner. A Coder[T] written by hand works anywhere the
// typed constructors take a coder.
//
// # Rows
//
// A struct's exported fields become the fields of a Beam schema, in
// declaration order; a `beam:"name"` tag renames a field and `beam:"-"`
// omits it. Field types map to schema types as Beam's Java SDK encodes
// them: int8 and uint8 to BYTE (one byte), int16 and uint16 to INT16 (two
// big-endian bytes), int32 and uint32 to INT32, other integers to INT64,
// float32 to FLOAT (four bytes), float64 to DOUBLE, string to STRING, bool
// to BOOLEAN, []byte and [N]byte to BYTES, other slices and arrays to
// ARRAY, maps to MAP, structs to ROW, time.Time and time.Duration to the
// logical types beam:logical_type:nanos_instant:v1 and
// beam:logical_type:nanos_duration:v1, and Marshaler types and registered
// types to the logical type beamgo:logical_type:custom:v1 over BYTES. A pointer field is a
// nullable field, null when nil; pointers inside arrays and maps are
// nullable element types. The schema's id is a UUID derived from the type
// name and fields, so rebuilding a pipeline yields identical protos.
//
// Rows of a schema known only at run time decode to Row values through
// NewRowFromSchema or FromSpec.
//
// # Contexts
//
// Beam encodes a value in the nested context when more data may follow it
// and in the outer context when it is last in its buffer. Encode and Decode
// are nested. EncodeOuter and DecodeOuter use a coder's outer form: bytes,
// strings and custom coders drop their length prefix there, and kv,
// windowed_value, param_windowed_value, nullable and sharded_key put their
// last component in the outer context. The other coders encode the same in
// both contexts.
//
// # Determinism
//
// Deterministic reports whether equal values always encode to equal bytes,
// which grouping keys need. As in Beam, double is not deterministic (0 and
// -0 are equal but encode differently), nor are rows with float fields, nor
// custom coders unless they implement Determiner. Iterables, kvs,
// nullables, length prefixes and windowed values are deterministic when
// their components are. Unlike Beam's map coders, Go maps encode their
// entries sorted by encoded key, so a map is deterministic when its key and
// value coders are; maps in dynamic rows (FromSpec) keep their encoded
// order and are not.
//
// # Decoding untrusted bytes
//
// Decoding returns an error, never panics, on malformed input: errors wrap
// io.ErrUnexpectedEOF when the input ends early and ErrCorrupt otherwise.
// Lengths and counts are checked against the remaining input before
// anything is allocated, so a forged length cannot exhaust memory.
//
// # Dynamic coders
//
// A graph holds coders of many element types as Any, the type-erased view
// that Erase returns (As recovers the typed coder). FromSpec builds an Any
// from a Spec alone, for runners that must handle the bytes of pipelines
// they did not build; it decodes the values of unknown coders wrapped in
// length_prefix, and of custom coders, as raw bytes. Skip and Any.Skip
// measure an encoded value without decoding it.
//
// The names of this package are aliases of an internal package that
// runners and the job server share, so a coder built here is the very
// value a runner decodes with, and runners need not link the user SDK.
package coder
