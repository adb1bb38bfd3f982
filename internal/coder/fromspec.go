package coder

import (
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/window"
)

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
func FromSpec(s Spec) (Any, error) {
	c, err := fromSpec(s)
	if err != nil {
		return nil, err
	}
	return Erase(c), nil
}

func fromSpec(s Spec) (Coder[any], error) {
	if err := wantComponents(s); err != nil {
		return nil, err
	}
	switch s.URN {
	case URNBytes:
		return box(Bytes()), nil
	case URNStringUTF8:
		return box(String()), nil
	case URNVarint:
		return box(Varint[int64]()), nil
	case URNBool:
		return box(Bool()), nil
	case URNDouble:
		return box(Double()), nil
	case URNGlobalWindow:
		return box(GlobalWindow()), nil
	case URNIntervalWindow:
		return box(IntervalWindow()), nil
	case URNCustom:
		return box(opaque(s)), nil
	case URNRow:
		r, err := NewRowFromSchema(s.Payload)
		if err != nil {
			return nil, err
		}
		return box(r), nil
	}
	if s.URN == URNLengthPrefix {
		c, err := fromSpec(s.Components[0])
		if errors.Is(err, ErrUnknownCoder) {
			// The runner knows only that the value is length-prefixed.
			return box(LengthPrefix(opaque(s.Components[0]))), nil
		}
		if err != nil {
			return nil, err
		}
		return LengthPrefix(c), nil
	}
	// All remaining coders have a value or key coder first.
	c0, err := fromSpec(s.Components[0])
	if err != nil {
		return nil, err
	}
	switch s.URN {
	case URNIterable:
		return box(NewIterable(c0)), nil
	case URNNullable:
		return &dynNullable{c: c0, skipElem: skipOf(c0)}, nil
	case URNShardedKey:
		return box(NewShardedKey(c0)), nil
	case URNKV:
		c1, err := fromSpec(s.Components[1])
		if err != nil {
			return nil, err
		}
		return box(NewKV(c0, c1)), nil
	}
	wc, err := windowCoder(s.Components[1])
	if err != nil {
		return nil, err
	}
	switch s.URN {
	case URNWindowedValue:
		return box(NewWindowedValue(c0, wc)), nil
	case URNParamWindowedValue:
		c, err := paramWindowedValueFromPayload(c0, wc, s.Payload)
		if err != nil {
			return nil, err
		}
		return box(c), nil
	case URNTimer:
		return box(NewTimer(c0, wc)), nil
	}
	panic("coder: internal error: unhandled URN " + s.URN)
}

// arity is the number of components of each known coder.
var arity = map[string]int{
	URNBytes: 0, URNStringUTF8: 0, URNVarint: 0, URNBool: 0, URNDouble: 0,
	URNGlobalWindow: 0, URNIntervalWindow: 0, URNCustom: 0, URNRow: 0,
	URNKV: 2, URNIterable: 1, URNLengthPrefix: 1, URNNullable: 1, URNShardedKey: 1,
	URNWindowedValue: 2, URNParamWindowedValue: 2, URNTimer: 2,
}

func wantComponents(s Spec) error {
	n, ok := arity[s.URN]
	if !ok {
		return fmt.Errorf("coder: %q: %w", s.URN, ErrUnknownCoder)
	}
	if len(s.Components) != n {
		return fmt.Errorf("coder: %s has %d components, want %d", s.URN, len(s.Components), n)
	}
	return nil
}

// windowCoder returns the typed coder of a window spec.
func windowCoder(s Spec) (Coder[window.Window], error) {
	switch s.URN {
	case URNGlobalWindow:
		return GlobalWindow(), nil
	case URNIntervalWindow:
		return IntervalWindow(), nil
	}
	return nil, fmt.Errorf("coder: window coder %q: %w", s.URN, ErrUnknownCoder)
}

// opaque codes values as their raw bytes under another coder's spec: a
// custom coder's values (length-prefixed when nested), or the outer
// encoding of an unknown coder inside a length prefix.
func opaque(s Spec) Coder[[]byte] { return opaqueCoder{bytesCoder{}, s} }

type opaqueCoder struct {
	bytesCoder
	spec Spec
}

func (c opaqueCoder) Spec() Spec          { return c.spec }
func (c opaqueCoder) Deterministic() bool { return false }

// dynNullable is the nullable coder of the dynamic path: nil is null.
type dynNullable struct {
	c        Coder[any]
	skipElem func([]byte) (int, error)
}

var _ skipper = (*dynNullable)(nil)

func (d *dynNullable) Encode(dst []byte, v any) []byte {
	if v == nil {
		return append(dst, 0)
	}
	return d.c.Encode(append(dst, 1), v)
}

func (d *dynNullable) Decode(src []byte) (any, int, error) {
	present, err := readBool(src)
	if err != nil {
		return nil, 0, err
	}
	if !present {
		return nil, 1, nil
	}
	v, n, err := d.c.Decode(src[1:])
	if err != nil {
		return nil, 0, err
	}
	return v, 1 + n, nil
}

func (d *dynNullable) EncodeOuter(dst []byte, v any) []byte {
	if v == nil {
		return append(dst, 0)
	}
	return EncodeOuter(d.c, append(dst, 1), v)
}

func (d *dynNullable) DecodeOuter(src []byte) (any, error) {
	present, err := readBool(src)
	if err != nil {
		return nil, err
	}
	if !present {
		if len(src) != 1 {
			return nil, errCorrupt("%d trailing bytes after null", len(src)-1)
		}
		return nil, nil
	}
	return DecodeOuter(d.c, src[1:])
}

func (d *dynNullable) skip(src []byte) (int, error) {
	present, err := readBool(src)
	if err != nil {
		return 0, err
	}
	if !present {
		return 1, nil
	}
	n, err := d.skipElem(src[1:])
	return 1 + n, err
}

func (d *dynNullable) Spec() Spec {
	return Spec{URN: URNNullable, Components: []Spec{d.c.Spec()}}
}

func (d *dynNullable) Deterministic() bool { return d.c.Deterministic() }
