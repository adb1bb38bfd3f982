package coder

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

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
type Coder[T any] interface {
	// Encode appends the nested-context encoding of v to dst and returns the
	// extended slice.
	Encode(dst []byte, v T) []byte
	// Decode decodes a nested-context value from the front of src and
	// returns it with the number of bytes it used. Decode must return an
	// error, never panic, on malformed input, and must not allocate more
	// than a small multiple of len(src). Decoded values must not alias src.
	Decode(src []byte) (v T, n int, err error)
	// Spec describes the coder for translation to the Runner API.
	Spec() Spec
	// Deterministic reports whether equal values always encode to equal
	// bytes, as grouping keys require.
	Deterministic() bool
}

// OuterCoder is implemented by coders whose outer-context encoding differs
// from their nested one. In the outer context a value is the last thing in
// its buffer, so it need not be self-delimiting.
type OuterCoder[T any] interface {
	Coder[T]
	// EncodeOuter appends the outer-context encoding of v to dst.
	EncodeOuter(dst []byte, v T) []byte
	// DecodeOuter decodes a value that occupies all of src.
	DecodeOuter(src []byte) (T, error)
}

// EncodeOuter appends the outer-context encoding of v to dst, using c's
// outer form if it has one and its nested form otherwise.
func EncodeOuter[T any](c Coder[T], dst []byte, v T) []byte {
	if oc, ok := c.(OuterCoder[T]); ok {
		return oc.EncodeOuter(dst, v)
	}
	return c.Encode(dst, v)
}

// DecodeOuter decodes a value encoded in the outer context, which must
// occupy all of src.
func DecodeOuter[T any](c Coder[T], src []byte) (T, error) {
	if oc, ok := c.(OuterCoder[T]); ok {
		return oc.DecodeOuter(src)
	}
	return decodeAll(c, src)
}

// decodeAll decodes a nested value that must use all of src.
func decodeAll[T any](c Coder[T], src []byte) (T, error) {
	v, n, err := c.Decode(src)
	if err != nil {
		return v, err
	}
	if n != len(src) {
		var zero T
		return zero, fmt.Errorf("coder: %d trailing bytes after %s value: %w", len(src)-n, c.Spec().URN, ErrCorrupt)
	}
	return v, nil
}

// outerOf returns c's outer-context pair as functions, resolved once at
// construction so hot paths make no type assertions.
func outerOf[T any](c Coder[T]) (enc func([]byte, T) []byte, dec func([]byte) (T, error)) {
	// Closures rather than method values: a method value of a generic
	// interface made the compiler generate wrappers of the interface's
	// methods for every T (668 functions fewer in sdk's tests without
	// them), where a closure is one function.
	if oc, ok := c.(OuterCoder[T]); ok {
		return func(dst []byte, v T) []byte { return oc.EncodeOuter(dst, v) },
			func(src []byte) (T, error) { return oc.DecodeOuter(src) }
	}
	return func(dst []byte, v T) []byte { return c.Encode(dst, v) },
		func(src []byte) (T, error) { return decodeAll(c, src) }
}

// skipper is implemented by coders that can step over an encoded value
// without decoding it. skip must accept exactly the inputs Decode accepts.
type skipper interface {
	skip(src []byte) (int, error)
}

// Skip returns the length of the nested-context value of c at the front of
// src, validating it as Decode would. It is cheap (no allocation) for the
// standard coders and falls back to decoding for others.
func Skip[T any](c Coder[T], src []byte) (int, error) {
	if s, ok := c.(skipper); ok {
		return s.skip(src)
	}
	_, n, err := c.Decode(src)
	return n, err
}

// skipOf resolves Skip for c once, at construction.
func skipOf[T any](c Coder[T]) func([]byte) (int, error) {
	if s, ok := c.(skipper); ok {
		return s.skip
	}
	return func(src []byte) (int, error) {
		_, n, err := c.Decode(src)
		return n, err
	}
}

// Spec is the model description of a coder: a URN, an optional payload and
// component coders. It is free of protos; proto/translate maps it to a
// pipeline_v1.Coder. Specs are values: do not modify a Spec returned by a
// coder.
type Spec struct {
	URN        string
	Payload    []byte
	Components []Spec
}

// Equal reports whether s and o describe the same coder.
func (s Spec) Equal(o Spec) bool {
	if s.URN != o.URN || string(s.Payload) != string(o.Payload) || len(s.Components) != len(o.Components) {
		return false
	}
	for i := range s.Components {
		if !s.Components[i].Equal(o.Components[i]) {
			return false
		}
	}
	return true
}

// String renders s as urn(component, ...), omitting payloads.
func (s Spec) String() string {
	var b strings.Builder
	s.write(&b)
	return b.String()
}

func (s Spec) write(b *strings.Builder) {
	b.WriteString(s.URN)
	if len(s.Payload) > 0 {
		fmt.Fprintf(b, "[%d bytes]", len(s.Payload))
	}
	if len(s.Components) == 0 {
		return
	}
	b.WriteByte('(')
	for i, c := range s.Components {
		if i > 0 {
			b.WriteString(", ")
		}
		c.write(b)
	}
	b.WriteByte(')')
}

// ErrCorrupt is wrapped by decoding errors caused by malformed input, as
// opposed to input that merely ends too early, which wraps
// io.ErrUnexpectedEOF.
var ErrCorrupt = errors.New("corrupt encoding")

// ErrUnknownCoder is wrapped by FromSpec errors for URNs it does not know.
var ErrUnknownCoder = errors.New("unknown coder")

// errShort reports a truncated encoding of what.
func errShort(what string) error {
	return fmt.Errorf("coder: truncated %s: %w", what, io.ErrUnexpectedEOF)
}

// errCorrupt reports a malformed encoding.
func errCorrupt(format string, args ...any) error {
	return fmt.Errorf("coder: "+format+": %w", append(args, ErrCorrupt)...)
}

// typeName is the Go name of t used in specs and errors: the package path
// and name for named types, the type literal otherwise.
func typeName(t reflect.Type) string {
	if t.Name() != "" && t.PkgPath() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}
