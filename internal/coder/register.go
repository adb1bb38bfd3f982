package coder

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// registry holds the coders given to Register, by Go type. It is read
// when coders are inferred, which is when pipelines are built, never per
// element.
var registry struct {
	// mu guards the fields below.
	mu     sync.RWMutex
	typed  map[reflect.Type]any   // LengthPrefix of the Coder[T] for each T
	codecs map[reflect.Type]codec // the same, for compiled types
	raw    map[reflect.Type]codec // the Coder[T] itself, for row fields
}

// Register makes c the coder of T wherever Of infers one: as an element
// type, and inside slices, maps, pointers and struct fields. It is for
// types that cannot carry a coder themselves, a type of another package
// whose fields are unexported, without a Marshaler method. In a row
// (a struct field) the value is the logical type LogicalTypeCustom over
// BYTES, holding c's outer encoding; elsewhere it is c wrapped in
// LengthPrefix, so that runners that do not know c's URN carry its values
// as bytes.
//
// Call Register from an init function or from main before building a
// pipeline, so that worker processes, which run main again, register the
// same coders. It panics if T already has a registered coder or is a type
// whose coder is built in (a predeclared type, KV), as sql.Register panics
// on a duplicate. It is safe for concurrent use.
func Register[T any](c Coder[T]) {
	t := reflect.TypeFor[T]()
	if c == nil {
		panic(fmt.Sprintf("coder: Register of %v: coder is nil", t))
	}
	if _, ok := builtin[T](); ok || t.Implements(coderProviderType) {
		panic(fmt.Sprintf("coder: Register of %v: the type has a built-in coder", t))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.typed[t]; dup {
		panic(fmt.Sprintf("coder: Register called twice for %v", t))
	}
	if registry.typed == nil {
		registry.typed, registry.codecs, registry.raw = map[reflect.Type]any{}, map[reflect.Type]codec{}, map[reflect.Type]codec{}
	}
	lp := LengthPrefix(c)
	registry.typed[t] = lp
	registry.codecs[t] = codecOf(lp)
	registry.raw[t] = codecOf(c)
}

// registered returns the coder given to Register for T, if any.
func registered[T any]() (Coder[T], bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	c, ok := registry.typed[reflect.TypeFor[T]()]
	if !ok {
		return nil, false
	}
	return c.(Coder[T]), true
}

// registeredCodec returns the codec of a registered type t: in a row, a
// custom logical type holding its outer encoding as bytes.
func (cp *compiler) registeredCodec(t reflect.Type) (codec, bool) {
	registry.mu.RLock()
	c, ok := registry.codecs[t]
	raw := registry.raw[t]
	registry.mu.RUnlock()
	if !ok || !cp.schema {
		return c, ok
	}
	c = raw
	name, inner := typeName(t), raw.complete()
	c.ft = &pipepb.FieldType{TypeInfo: &pipepb.FieldType_LogicalType{LogicalType: &pipepb.LogicalType{
		Urn: LogicalTypeCustom, Payload: []byte(name), Representation: atomic(pipepb.AtomicType_BYTES),
	}}}
	c.enc = func(dst []byte, p unsafe.Pointer) []byte {
		start := len(dst)
		return fixLengthPrefix(inner.encOuter(append(dst, 0), p), start)
	}
	c.dec = func(src []byte, p unsafe.Pointer) (int, error) {
		l, n, err := readLength(src, name)
		if err != nil {
			return 0, err
		}
		if err := inner.decOuter(src[n:n+l], p); err != nil {
			return 0, err
		}
		return n + l, nil
	}
	c.encOuter, c.decOuter, c.skip = nil, nil, nil
	return c, true
}
