package operator

import (
	"fmt"
	"reflect"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// TypeOps are the element-type-specific operations the executor needs to
// wire operators: fan-out to several consumers, and encoding and decoding of
// windowed values at stage boundaries. The sdk creates them with OpsFor,
// where the element type is known statically.
type TypeOps interface {
	// GoType is the element type.
	GoType() reflect.Type
	// Coder is the element coder.
	Coder() coder.Any
	// FanOut returns a Receiver[T] that delivers to every receiver in rs
	// (each a Receiver[T]); with none, it discards.
	FanOut(rs []any) (any, error)
	// NewEncoder returns a Receiver[T] that encodes each element as a
	// windowed value (with interval or global window encoding) and hands
	// the bytes to write. The bytes are only valid during the call.
	NewEncoder(intervalWindows bool, write func([]byte) error) any
	// NewValueEncoder is NewEncoder for a receiver that can use the
	// element's header without decoding it: each element goes to
	// writeValue with its encoding and its timestamp, windows and pane,
	// whose Elem is the element's own encoding at the end of the bytes
	// (both valid only during the call). An element whose windows the
	// global window encoding would not give back as they are (any but the
	// one global window) goes to write alone.
	NewValueEncoder(intervalWindows bool, write func([]byte) error, writeValue func([]byte, window.Value[[]byte]) error) any
	// NewDecoder returns a Decoder that decodes windowed values and
	// delivers them to next, a Receiver[T].
	NewDecoder(intervalWindows bool, next any) (Decoder, error)
}

// Decoder decodes one encoded element from the front of src, delivers it
// downstream and returns the number of bytes used.
type Decoder interface {
	Decode(src []byte) (int, error)
}

// OpsFor returns the TypeOps of elements of type T encoded with c.
func OpsFor[T any](c coder.Coder[T]) TypeOps { return typeOps[T]{c: c} }

type typeOps[T any] struct{ c coder.Coder[T] }

func (o typeOps[T]) GoType() reflect.Type { return reflect.TypeFor[T]() }
func (o typeOps[T]) Coder() coder.Any     { return coder.Erase(o.c) }

func (o typeOps[T]) FanOut(rs []any) (any, error) {
	typed := make([]Receiver[T], len(rs))
	for i, r := range rs {
		tr, ok := r.(Receiver[T])
		if !ok {
			return nil, fmt.Errorf("operator: receiver %d is %T, want Receiver[%v]", i, r, o.GoType())
		}
		typed[i] = tr
	}
	switch len(typed) {
	case 0:
		return discard[T]{}, nil
	case 1:
		return typed[0], nil
	}
	return fanOut[T](typed), nil
}

func (o typeOps[T]) wvCoder(interval bool) coder.Coder[window.Value[T]] {
	if interval {
		return coder.NewWindowedValue(o.c, coder.IntervalWindow())
	}
	return coder.NewWindowedValue(o.c, coder.GlobalWindow())
}

func (o typeOps[T]) NewEncoder(interval bool, write func([]byte) error) any {
	return &encoder[T]{c: o.wvCoder(interval), write: write}
}

func (o typeOps[T]) NewValueEncoder(interval bool, write func([]byte) error, writeValue func([]byte, window.Value[[]byte]) error) any {
	return &valueEncoder[T]{c: o.wvCoder(interval).(coder.SplitEncoder[T]), interval: interval, write: write, writeValue: writeValue}
}

func (o typeOps[T]) NewDecoder(interval bool, next any) (Decoder, error) {
	r, ok := next.(Receiver[T])
	if !ok {
		return nil, fmt.Errorf("operator: decoder target is %T, want Receiver[%v]", next, o.GoType())
	}
	c := o.wvCoder(interval)
	re, _ := c.(coder.WindowsReuser[T])
	return &decoder[T]{c: c, re: re, next: r}, nil
}

type discard[T any] struct{}

func (discard[T]) Receive(window.Value[T]) error { return nil }

type fanOut[T any] []Receiver[T]

func (f fanOut[T]) Receive(v window.Value[T]) error {
	for _, r := range f {
		if err := r.Receive(v); err != nil {
			return err
		}
	}
	return nil
}

type encoder[T any] struct {
	c     coder.Coder[window.Value[T]]
	buf   []byte
	write func([]byte) error
}

func (e *encoder[T]) Receive(v window.Value[T]) error {
	e.buf = e.c.Encode(e.buf[:0], v)
	return e.write(e.buf)
}

// valueEncoder is an encoder that hands the element's header on beside
// its bytes (see TypeOps.NewValueEncoder).
type valueEncoder[T any] struct {
	c          coder.SplitEncoder[T]
	interval   bool
	buf        []byte
	write      func([]byte) error
	writeValue func([]byte, window.Value[[]byte]) error
}

func (e *valueEncoder[T]) Receive(v window.Value[T]) error {
	b, at := e.c.EncodeSplit(e.buf[:0], v)
	e.buf = b
	if !e.decodesAsIs(v.Windows) {
		return e.write(b)
	}
	return e.writeValue(b, window.Value[[]byte]{Timestamp: v.Timestamp, Windows: v.Windows, Pane: coder.WirePane(v.Pane), Elem: b[at:]})
}

// decodesAsIs reports whether ws's encoding decodes to ws: with the global
// window coder only the one global window does; the interval window coder
// turns a global window into an interval window with its bounds.
func (e *valueEncoder[T]) decodesAsIs(ws []window.Window) bool {
	if !e.interval {
		return len(ws) == 1 && ws[0].IsGlobal()
	}
	for _, w := range ws {
		if w.IsGlobal() {
			return false
		}
	}
	return true
}

// decoder decodes elements for next. With re (c, if it decodes into
// windows it is given) each element's windows are decoded into the
// previous one's: a Receiver may not retain them.
type decoder[T any] struct {
	c    coder.Coder[window.Value[T]]
	re   coder.WindowsReuser[T]
	wins []window.Window
	next Receiver[T]
}

func (d *decoder[T]) Decode(src []byte) (int, error) {
	if d.re != nil {
		v, n, err := d.re.DecodeReusing(src, d.wins)
		if err != nil {
			return 0, err
		}
		d.wins = v.Windows
		return n, d.next.Receive(v)
	}
	v, n, err := d.c.Decode(src)
	if err != nil {
		return 0, err
	}
	return n, d.next.Receive(v)
}
