package coder

import (
	"reflect"
)

// Of infers the coder of a Go type. See the package documentation for the
// mapping. Common types get typed coders that neither reflect nor allocate
// per element; defined types over them (type ID int) reuse those coders
// through an unsafe cast chosen here; structs, other slices, arrays, maps
// and pointers get coders compiled once from their reflect.Type. Types
// without a coder (channels, functions, interfaces, structs with
// unexported fields, ...) return an error naming the type and the reason.
func Of[T any]() (Coder[T], error) {
	if c, ok := builtin[T](); ok {
		return c, nil
	}
	if c, ok := registered[T](); ok {
		return c, nil
	}
	// A pointer to KV has KV's methods too, but is a nullable KV: only
	// the value types provide their coders.
	var zero T
	if p, ok := any(zero).(coderProvider); ok && reflect.TypeFor[T]().Kind() != reflect.Pointer {
		c, _, err := p.inferCoder()
		if err != nil {
			return nil, asked(err, reflect.TypeFor[T]())
		}
		return c.(Coder[T]), nil
	}
	t := reflect.TypeFor[T]()
	if isCustom(t) {
		// The custom codec's functions are not generic, so a type Of is
		// asked for instantiates no coder type of its own for the case.
		return &compiledCoder[T]{c: customCodec(t).complete()}, nil
	}
	if c, ok := cast[T](t); ok {
		return c, nil
	}
	c, err := (&compiler{active: map[reflect.Type]bool{}}).compile(t)
	if err != nil {
		return nil, asked(err, t)
	}
	return &compiledCoder[T]{c: c}, nil
}

// builtin returns the typed coders of the predeclared types and of slices
// of the common ones. The look-up is not generic, so that a type Of is
// asked for instantiates one line here, not a type switch that builds
// every coder of the table (until the twenty-fifth session, a twentieth
// of an SDK-heavy test package's code).
func builtin[T any]() (Coder[T], bool) {
	c, ok := builtins[reflect.TypeFor[T]()]
	if !ok {
		return nil, false
	}
	return c.(Coder[T]), true
}

// builtins maps each type builtin knows to its coder. The coders are
// immutable values, shared by all who ask.
var builtins = map[reflect.Type]any{
	reflect.TypeFor[string]():    String(),
	reflect.TypeFor[[]byte]():    Bytes(),
	reflect.TypeFor[bool]():      Bool(),
	reflect.TypeFor[float64]():   Double(),
	reflect.TypeFor[float32]():   Coder[float32](doubleCoder[float32]{}),
	reflect.TypeFor[int]():       Varint[int](),
	reflect.TypeFor[int8]():      Varint[int8](),
	reflect.TypeFor[int16]():     Varint[int16](),
	reflect.TypeFor[int32]():     Varint[int32](),
	reflect.TypeFor[int64]():     Varint[int64](),
	reflect.TypeFor[uint]():      Varint[uint](),
	reflect.TypeFor[uint8]():     Varint[uint8](),
	reflect.TypeFor[uint16]():    Varint[uint16](),
	reflect.TypeFor[uint32]():    Varint[uint32](),
	reflect.TypeFor[uint64]():    Varint[uint64](),
	reflect.TypeFor[uintptr]():   Varint[uintptr](),
	reflect.TypeFor[[]string]():  NewIterable(String()),
	reflect.TypeFor[[][]byte]():  NewIterable(Bytes()),
	reflect.TypeFor[[]int]():     NewIterable(Varint[int]()),
	reflect.TypeFor[[]int32]():   NewIterable(Varint[int32]()),
	reflect.TypeFor[[]int64]():   NewIterable(Varint[int64]()),
	reflect.TypeFor[[]uint64]():  NewIterable(Varint[uint64]()),
	reflect.TypeFor[[]float64](): NewIterable(Double()),
	reflect.TypeFor[[]bool]():    NewIterable(Bool()),
}
