package coder

import (
	"fmt"
	"reflect"
)

// Any is the type-erased view of a Coder[T], so that a pipeline graph and
// runners can hold coders of any element type. Values pass through it as
// interface values of GoType. Erase and FromSpec are its only
// implementations; it is safe for concurrent use.
type Any interface {
	// Spec describes the coder.
	Spec() Spec
	// Deterministic reports whether equal values always encode equally.
	Deterministic() bool
	// GoType is the type of the values the coder encodes and decodes.
	GoType() reflect.Type
	// EncodeAny appends the nested encoding of v, which must be of GoType.
	EncodeAny(dst []byte, v any) ([]byte, error)
	// DecodeAny decodes a nested value from the front of src.
	DecodeAny(src []byte) (v any, n int, err error)
	// EncodeOuterAny appends the outer-context encoding of v.
	EncodeOuterAny(dst []byte, v any) ([]byte, error)
	// DecodeOuterAny decodes an outer-context value that fills src.
	DecodeOuterAny(src []byte) (any, error)
	// Skip returns the length of the nested value at the front of src,
	// validating it as DecodeAny would, without decoding it where it can.
	Skip(src []byte) (int, error)
}

// Erase returns the type-erased view of c.
func Erase[T any](c Coder[T]) Any {
	t := reflect.TypeFor[T]()
	if b, ok := any(c).(*boxed); ok {
		t = b.goType
	}
	var nilOK bool
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		nilOK = true
	}
	eo, do := outerOf(c)
	return &erased[T]{c: c, goType: t, nilOK: nilOK, encOuter: eo, decOuter: do, skip: skipOf(c)}
}

// As returns the typed coder behind a, if it codes values of T.
func As[T any](a Any) (Coder[T], bool) {
	e, ok := a.(*erased[T])
	if !ok {
		return nil, false
	}
	return e.c, true
}

type erased[T any] struct {
	c        Coder[T]
	goType   reflect.Type
	nilOK    bool // T's zero value is nil, so a nil v means it
	encOuter func([]byte, T) []byte
	decOuter func([]byte) (T, error)
	skip     func([]byte) (int, error)
}

func (e *erased[T]) Spec() Spec           { return e.c.Spec() }
func (e *erased[T]) Deterministic() bool  { return e.c.Deterministic() }
func (e *erased[T]) GoType() reflect.Type { return e.goType }
func (e *erased[T]) String() string       { return e.c.Spec().String() }

func (e *erased[T]) EncodeAny(dst []byte, v any) (out []byte, err error) {
	x, err := e.value(v)
	if err != nil {
		return dst, err
	}
	defer recoverMismatch(&err)
	return e.c.Encode(dst, x), nil
}

func (e *erased[T]) EncodeOuterAny(dst []byte, v any) (out []byte, err error) {
	x, err := e.value(v)
	if err != nil {
		return dst, err
	}
	defer recoverMismatch(&err)
	return e.encOuter(dst, x), nil
}

// value converts v to T, or reports the mismatch.
func (e *erased[T]) value(v any) (T, error) {
	x, ok := v.(T)
	if !ok && !(v == nil && e.nilOK) {
		var zero T
		return zero, fmt.Errorf("coder: %v cannot encode a %T", e.c.Spec(), v)
	}
	return x, nil
}

// recoverMismatch turns the panic of a dynamic encoder given a value of the
// wrong type into an error.
func recoverMismatch(err *error) {
	if r := recover(); r != nil {
		m, ok := r.(*mismatch)
		if !ok {
			panic(r)
		}
		*err = m
	}
}

func (e *erased[T]) DecodeAny(src []byte) (any, int, error) {
	v, n, err := e.c.Decode(src)
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

func (e *erased[T]) DecodeOuterAny(src []byte) (any, error) {
	v, err := e.decOuter(src)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (e *erased[T]) Skip(src []byte) (int, error) { return e.skip(src) }

// boxed adapts a Coder[T] to a Coder[any] for the dynamic coders FromSpec
// builds: values are T in an interface, and a value of another type makes
// Encode panic with a mismatch, which Any's methods report as an error.
type boxed struct {
	goType   reflect.Type
	enc      func([]byte, any) []byte
	dec      func([]byte) (any, int, error)
	encOuter func([]byte, any) []byte
	decOuter func([]byte) (any, error)
	skipFn   func([]byte) (int, error)
	spec     func() Spec
	det      bool
}

var (
	_ OuterCoder[any] = (*boxed)(nil)
	_ skipper         = (*boxed)(nil)
)

// box returns c as a Coder[any].
func box[T any](c Coder[T]) Coder[any] {
	if b, ok := any(c).(*boxed); ok {
		return b
	}
	t := reflect.TypeFor[T]()
	want := t.String()
	unbox := func(v any) T {
		x, ok := v.(T)
		if !ok {
			panic(&mismatch{want: want, got: v})
		}
		return x
	}
	eo, do := outerOf(c)
	return &boxed{
		goType: t,
		enc:    func(dst []byte, v any) []byte { return c.Encode(dst, unbox(v)) },
		dec: func(src []byte) (any, int, error) {
			v, n, err := c.Decode(src)
			if err != nil {
				return nil, 0, err
			}
			return v, n, nil
		},
		encOuter: func(dst []byte, v any) []byte { return eo(dst, unbox(v)) },
		decOuter: func(src []byte) (any, error) {
			v, err := do(src)
			if err != nil {
				return nil, err
			}
			return v, nil
		},
		skipFn: skipOf(c),
		spec:   func() Spec { return c.Spec() },
		det:    c.Deterministic(),
	}
}

func (b *boxed) Encode(dst []byte, v any) []byte      { return b.enc(dst, v) }
func (b *boxed) Decode(src []byte) (any, int, error)  { return b.dec(src) }
func (b *boxed) EncodeOuter(dst []byte, v any) []byte { return b.encOuter(dst, v) }
func (b *boxed) DecodeOuter(src []byte) (any, error)  { return b.decOuter(src) }
func (b *boxed) skip(src []byte) (int, error)         { return b.skipFn(src) }
func (b *boxed) Spec() Spec                           { return b.spec() }
func (b *boxed) Deterministic() bool                  { return b.det }
