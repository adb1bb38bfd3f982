package harness

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// A recoder converts the nested encoding of one value at the front of src
// from one coder's encoding to another's, appends it to dst and returns dst
// and the number of bytes of src it used.
type recoder func(dst, src []byte) ([]byte, int, error)

// newRecoder returns the recoder from encodings of from to encodings of to,
// or nil if the two encode every value identically. The coders must
// describe the same values; in practice they differ by length prefixes a
// runner added around coders it does not know.
func newRecoder(from, to coder.Spec) (recoder, error) {
	if from.Equal(to) {
		return nil, nil
	}
	if from.URN == coder.URNLengthPrefix && len(from.Components) == 1 && from.Components[0].Equal(to) {
		return unwrapPrefix(to)
	}
	if to.URN == coder.URNLengthPrefix && len(to.Components) == 1 && to.Components[0].Equal(from) {
		return wrapPrefix(from)
	}
	if from.URN == to.URN && string(from.Payload) == string(to.Payload) && len(from.Components) == len(to.Components) {
		switch from.URN {
		case coder.URNKV:
			return recodeKV(from, to)
		case coder.URNIterable:
			elem, err := componentRecoder(from.Components[0], to.Components[0])
			if err != nil {
				return nil, err
			}
			return recodeIterable(elem), nil
		case coder.URNNullable:
			elem, err := componentRecoder(from.Components[0], to.Components[0])
			if err != nil {
				return nil, err
			}
			return recodeNullable(elem), nil
		}
	}
	return recodeDynamic(from, to)
}

// componentRecoder is newRecoder for a component of a composite coder: an
// identical encoding becomes a copy, since the composite's other parts
// still need recoding.
func componentRecoder(from, to coder.Spec) (recoder, error) {
	r, err := newRecoder(from, to)
	if err != nil || r != nil {
		return r, err
	}
	return copier(from)
}

// copier returns a recoder that copies one value of spec unchanged.
func copier(spec coder.Spec) (recoder, error) {
	c, err := coder.FromSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("harness: coder %v: %w", spec, err)
	}
	return func(dst, src []byte) ([]byte, int, error) {
		n, err := c.Skip(src)
		if err != nil {
			return dst, 0, err
		}
		return append(dst, src[:n]...), n, nil
	}, nil
}

// Coders differ in how they encode in Beam's outer context, which is what
// a length prefix holds.
var (
	// selfPrefixed coders already are a varint length and the outer
	// encoding when nested, so a length prefix around them changes nothing.
	selfPrefixed = map[string]bool{coder.URNBytes: true, coder.URNStringUTF8: true, coder.URNCustom: true}
	// outerDiffers coders encode their last component in the outer context.
	outerDiffers = map[string]bool{coder.URNKV: true, coder.URNWindowedValue: true, coder.URNParamWindowedValue: true,
		coder.URNNullable: true, coder.URNShardedKey: true}
)

// unwrapPrefix recodes length_prefix(spec) to spec.
func unwrapPrefix(spec coder.Spec) (recoder, error) {
	if selfPrefixed[spec.URN] {
		return nil, nil
	}
	c, err := coder.FromSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("harness: coder %v: %w", spec, err)
	}
	if outerDiffers[spec.URN] {
		return func(dst, src []byte) ([]byte, int, error) {
			body, n, err := prefixed(src)
			if err != nil {
				return dst, 0, err
			}
			v, err := c.DecodeOuterAny(body)
			if err != nil {
				return dst, 0, err
			}
			dst, err = c.EncodeAny(dst, v)
			return dst, n, err
		}, nil
	}
	// The body is the value's outer encoding, which for these coders is
	// also its nested one; check that it holds exactly one value.
	return func(dst, src []byte) ([]byte, int, error) {
		body, n, err := prefixed(src)
		if err != nil {
			return dst, 0, err
		}
		m, err := c.Skip(body)
		if err != nil {
			return dst, 0, err
		}
		if m != len(body) {
			return dst, 0, fmt.Errorf("harness: %d bytes after the %s value in a length prefix", len(body)-m, spec.URN)
		}
		return append(dst, body...), n, nil
	}, nil
}

// wrapPrefix recodes spec to length_prefix(spec).
func wrapPrefix(spec coder.Spec) (recoder, error) {
	if selfPrefixed[spec.URN] {
		return nil, nil
	}
	c, err := coder.FromSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("harness: coder %v: %w", spec, err)
	}
	if outerDiffers[spec.URN] {
		var outer []byte
		return func(dst, src []byte) ([]byte, int, error) {
			v, n, err := c.DecodeAny(src)
			if err != nil {
				return dst, 0, err
			}
			if outer, err = c.EncodeOuterAny(outer[:0], v); err != nil {
				return dst, 0, err
			}
			dst = binary.AppendUvarint(dst, uint64(len(outer)))
			return append(dst, outer...), n, nil
		}, nil
	}
	return func(dst, src []byte) ([]byte, int, error) {
		n, err := c.Skip(src)
		if err != nil {
			return dst, 0, err
		}
		dst = binary.AppendUvarint(dst, uint64(n))
		return append(dst, src[:n]...), n, nil
	}, nil
}

// prefixed splits a varint length prefix from the body it announces.
func prefixed(src []byte) (body []byte, n int, err error) {
	l, k := binary.Uvarint(src)
	switch {
	case k == 0:
		return nil, 0, fmt.Errorf("harness: length prefix: %w", io.ErrUnexpectedEOF)
	case k < 0:
		return nil, 0, errors.New("harness: length prefix overflows")
	case l > uint64(len(src)-k):
		return nil, 0, fmt.Errorf("harness: length prefix %d exceeds the %d bytes left: %w", l, len(src)-k, io.ErrUnexpectedEOF)
	}
	return src[k : k+int(l)], k + int(l), nil
}

func recodeKV(from, to coder.Spec) (recoder, error) {
	k, err := componentRecoder(from.Components[0], to.Components[0])
	if err != nil {
		return nil, err
	}
	v, err := componentRecoder(from.Components[1], to.Components[1])
	if err != nil {
		return nil, err
	}
	return func(dst, src []byte) ([]byte, int, error) {
		dst, nk, err := k(dst, src)
		if err != nil {
			return dst, 0, err
		}
		dst, nv, err := v(dst, src[nk:])
		return dst, nk + nv, err
	}, nil
}

// recodeIterable recodes beam:coder:iterable:v1: a big-endian int32 count
// and the elements, or -1 and blocks of a varint count and elements ended by
// a zero count.
func recodeIterable(elem recoder) recoder {
	elems := func(dst, src []byte, count uint64) ([]byte, int, error) {
		off := 0
		for range count {
			var n int
			var err error
			if dst, n, err = elem(dst, src[off:]); err != nil {
				return dst, 0, err
			}
			off += n
		}
		return dst, off, nil
	}
	return func(dst, src []byte) ([]byte, int, error) {
		if len(src) < 4 {
			return dst, 0, fmt.Errorf("harness: iterable count: %w", io.ErrUnexpectedEOF)
		}
		count := int32(binary.BigEndian.Uint32(src))
		dst = append(dst, src[:4]...)
		off := 4
		if count >= 0 {
			dst, n, err := elems(dst, src[off:], uint64(count))
			return dst, off + n, err
		}
		for {
			c, k := binary.Uvarint(src[off:])
			if k <= 0 {
				return dst, 0, fmt.Errorf("harness: iterable block count: %w", io.ErrUnexpectedEOF)
			}
			dst = append(dst, src[off:off+k]...)
			off += k
			if c == 0 {
				return dst, off, nil
			}
			var n int
			var err error
			if dst, n, err = elems(dst, src[off:], c); err != nil {
				return dst, 0, err
			}
			off += n
		}
	}
}

// recodeNullable recodes beam:coder:nullable:v1: a byte 0 for null, or 1
// and the value.
func recodeNullable(elem recoder) recoder {
	return func(dst, src []byte) ([]byte, int, error) {
		if len(src) == 0 {
			return dst, 0, fmt.Errorf("harness: nullable marker: %w", io.ErrUnexpectedEOF)
		}
		dst = append(dst, src[0])
		switch src[0] {
		case 0:
			return dst, 1, nil
		case 1:
			dst, n, err := elem(dst, src[1:])
			return dst, 1 + n, err
		}
		return dst, 0, fmt.Errorf("harness: nullable marker %d, want 0 or 1", src[0])
	}
}

// recodeDynamic decodes with one coder and encodes with the other through
// the dynamic coders of both specs, which represent equal values alike.
func recodeDynamic(from, to coder.Spec) (recoder, error) {
	fc, err := coder.FromSpec(from)
	if err != nil {
		return nil, fmt.Errorf("harness: cannot recode %v to %v: %w", from, to, err)
	}
	tc, err := coder.FromSpec(to)
	if err != nil {
		return nil, fmt.Errorf("harness: cannot recode %v to %v: %w", from, to, err)
	}
	return func(dst, src []byte) ([]byte, int, error) {
		v, n, err := fc.DecodeAny(src)
		if err != nil {
			return dst, 0, err
		}
		dst, err = tc.EncodeAny(dst, v)
		return dst, n, err
	}, nil
}

// rawElements is a coder of the encoded bytes of another coder's values:
// Decode returns the bytes of one value (a subslice of src) and Encode
// appends them. It lets the harness find element boundaries in windowed
// values without decoding the elements.
type rawElements struct {
	spec coder.Spec
	skip func([]byte) (int, error)
}

func newRawElements(spec coder.Spec) (rawElements, error) {
	c, err := coder.FromSpec(spec)
	if err != nil {
		return rawElements{}, fmt.Errorf("harness: coder %v: %w", spec, err)
	}
	return rawElements{spec: spec, skip: c.Skip}, nil
}

func (r rawElements) Encode(dst, v []byte) []byte { return append(dst, v...) }
func (r rawElements) Decode(src []byte) ([]byte, int, error) {
	n, err := r.skip(src)
	if err != nil {
		return nil, 0, err
	}
	return src[:n:n], n, nil
}
func (r rawElements) Spec() coder.Spec    { return r.spec }
func (r rawElements) Deterministic() bool { return false }

// portRecoder recodes the windowed values of a data port between the
// runner's element coder and this SDK's. The window, timestamp and pane
// are copied; only the element, which a windowed value encodes last, is
// recoded.
type portRecoder struct {
	wv  coder.Coder[window.Value[[]byte]]
	rec recoder
}

// newPortRecoder returns the recoder of windowed values whose elements are
// encoded with from into windowed values with elements encoded with to, or
// nil if none is needed. interval tells the window coder.
func newPortRecoder(from, to coder.Spec, interval bool) (*portRecoder, error) {
	rec, err := newRecoder(from, to)
	if err != nil || rec == nil {
		return nil, err
	}
	raw, err := newRawElements(from)
	if err != nil {
		return nil, err
	}
	wc := coder.GlobalWindow()
	if interval {
		wc = coder.IntervalWindow()
	}
	return &portRecoder{wv: coder.NewWindowedValue[[]byte](raw, wc), rec: rec}, nil
}

// recode appends the recoding of the concatenated windowed values in src
// to dst.
func (p *portRecoder) recode(dst, src []byte) ([]byte, error) {
	for len(src) > 0 {
		v, n, err := p.wv.Decode(src)
		if err != nil {
			return dst, fmt.Errorf("harness: recoding element: %w", err)
		}
		header := src[:n-len(v.Elem)]
		dst = append(dst, header...)
		var used int
		if dst, used, err = p.rec(dst, v.Elem); err != nil {
			return dst, fmt.Errorf("harness: recoding element: %w", err)
		}
		if used != len(v.Elem) {
			return dst, fmt.Errorf("harness: recoding element: %d of its %d bytes used", used, len(v.Elem))
		}
		src = src[n:]
	}
	return dst, nil
}

// recodeAll appends the recoding of the concatenated values in src (no
// windows: a side input's contents) to dst.
func recodeAll(rec recoder, dst, src []byte) ([]byte, error) {
	for len(src) > 0 {
		var n int
		var err error
		if dst, n, err = rec(dst, src); err != nil {
			return dst, fmt.Errorf("harness: recoding side input element: %w", err)
		}
		src = src[n:]
	}
	return dst, nil
}
