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
		return &customCoder[T]{name: typeName(t), det: customDeterministic(t)}, nil
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
// of the common ones.
func builtin[T any]() (Coder[T], bool) {
	var c any
	switch any(*new(T)).(type) {
	case string:
		c = String()
	case []byte:
		c = Bytes()
	case bool:
		c = Bool()
	case float64:
		c = Double()
	case float32:
		c = Coder[float32](doubleCoder[float32]{})
	case int:
		c = Varint[int]()
	case int8:
		c = Varint[int8]()
	case int16:
		c = Varint[int16]()
	case int32:
		c = Varint[int32]()
	case int64:
		c = Varint[int64]()
	case uint:
		c = Varint[uint]()
	case uint8:
		c = Varint[uint8]()
	case uint16:
		c = Varint[uint16]()
	case uint32:
		c = Varint[uint32]()
	case uint64:
		c = Varint[uint64]()
	case uintptr:
		c = Varint[uintptr]()
	case []string:
		c = NewIterable(String())
	case [][]byte:
		c = NewIterable(Bytes())
	case []int:
		c = NewIterable(Varint[int]())
	case []int32:
		c = NewIterable(Varint[int32]())
	case []int64:
		c = NewIterable(Varint[int64]())
	case []uint64:
		c = NewIterable(Varint[uint64]())
	case []float64:
		c = NewIterable(Double())
	case []bool:
		c = NewIterable(Bool())
	default:
		return nil, false
	}
	return c.(Coder[T]), true
}
