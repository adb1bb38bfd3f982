package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// Codec is implemented by a source whose sub-sources (the Source of the
// bundles its Split returns) cannot travel as JSON of their exported fields,
// or are of another type than the source itself. Read calls it on the source
// given to Read: EncodeSource on the sub-sources that Split returns, and
// DecodeSource on a worker, on the bytes EncodeSource returned.
//
// DecodeSource(EncodeSource(sub)) must read the same records as sub.
type Codec[T, P any] interface {
	EncodeSource(sub Bounded[T, P]) ([]byte, error)
	DecodeSource(data []byte) (Bounded[T, P], error)
}

// sourceCodec encodes the sub-sources of a root source: through the root's
// Codec, or as JSON into the root's concrete type.
type sourceCodec[T, P any] struct {
	root     Bounded[T, P]
	rootType reflect.Type
	// rootJSON is the JSON of root when it has no Codec.
	rootJSON []byte
	codec    Codec[T, P]
	pos      coder.Coder[P]
}

func newSourceCodec[T, P any](root Bounded[T, P]) (*sourceCodec[T, P], error) {
	pc, err := coder.Of[P]()
	if err != nil {
		return nil, fmt.Errorf("no coder for position type %T: %w", *new(P), err)
	}
	c := &sourceCodec[T, P]{root: root, rootType: reflect.TypeOf(root), pos: pc}
	if cd, ok := root.(Codec[T, P]); ok {
		c.codec = cd
		return c, nil
	}
	b, err := c.jsonRoundTrip(root)
	if err != nil {
		return nil, err
	}
	c.rootJSON = b
	return c, nil
}

// describe returns a stable description of the root source, for the
// transform's payload.
func (c *sourceCodec[T, P]) describe() string {
	if c.codec != nil {
		b, err := c.codec.EncodeSource(c.root)
		if err != nil {
			return fmt.Sprintf("unencodable: %v", err)
		}
		return fmt.Sprintf("%x", b)
	}
	return string(c.rootJSON)
}

// jsonRoundTrip returns the JSON of src, checking that it decodes into the
// root's type and encodes to the same JSON again.
func (c *sourceCodec[T, P]) jsonRoundTrip(src Bounded[T, P]) ([]byte, error) {
	if t := reflect.TypeOf(src); t != c.rootType {
		return nil, fmt.Errorf("sub-source of type %v differs from the source's type %v: implement source.Codec to encode it", t, c.rootType)
	}
	b, err := json.Marshal(src)
	if err != nil {
		return nil, fmt.Errorf("source of type %v does not encode as JSON (implement source.Codec): %w", c.rootType, err)
	}
	back, err := c.fromJSON(b)
	if err != nil {
		return nil, err
	}
	again, err := json.Marshal(back)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("source of type %v does not survive a JSON round trip (%s became %s): keep its configuration in exported fields, or implement source.Codec", c.rootType, b, again)
	}
	return b, nil
}

func (c *sourceCodec[T, P]) fromJSON(b []byte) (Bounded[T, P], error) {
	t := c.rootType
	ptr := t.Kind() == reflect.Pointer
	if ptr {
		t = t.Elem()
	}
	v := reflect.New(t)
	if err := json.Unmarshal(b, v.Interface()); err != nil {
		return nil, fmt.Errorf("decode source of type %v: %w", c.rootType, err)
	}
	if !ptr {
		v = v.Elem()
	}
	src, ok := v.Interface().(Bounded[T, P])
	if !ok {
		return nil, fmt.Errorf("decoded %v is not a source", v.Type())
	}
	return src, nil
}

// encode returns the encoding of a sub-source; root reports that sub is
// the root source itself, which needs no bytes.
func (c *sourceCodec[T, P]) encode(sub Bounded[T, P]) (data []byte, root bool, err error) {
	if sub == nil {
		return nil, false, fmt.Errorf("Split returned a bundle without a source")
	}
	if c.codec != nil {
		b, err := c.codec.EncodeSource(sub)
		if err != nil {
			return nil, false, fmt.Errorf("encode sub-source %T: %w", sub, err)
		}
		return b, false, nil
	}
	if samePointer(sub, c.root) {
		return nil, true, nil
	}
	b, err := c.jsonRoundTrip(sub)
	if err != nil {
		return nil, false, err
	}
	if bytes.Equal(b, c.rootJSON) {
		return nil, true, nil
	}
	return b, false, nil
}

func (c *sourceCodec[T, P]) decode(data []byte, root bool) (Bounded[T, P], error) {
	switch {
	case root:
		return c.root, nil
	case c.codec != nil:
		return c.codec.DecodeSource(data)
	}
	return c.fromJSON(data)
}

func samePointer(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Kind() == reflect.Pointer && vb.Kind() == reflect.Pointer && va.Pointer() == vb.Pointer() && va.Type() == vb.Type()
}

func (c *sourceCodec[T, P]) encodePos(p P) []byte { return c.pos.Encode(nil, p) }

func (c *sourceCodec[T, P]) decodePos(b []byte) (P, error) {
	p, n, err := c.pos.Decode(b)
	if err == nil && n != len(b) {
		err = fmt.Errorf("%d trailing bytes", len(b)-n)
	}
	if err != nil {
		return p, fmt.Errorf("decode position: %w", err)
	}
	return p, nil
}
