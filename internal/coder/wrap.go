package coder

import (
	"encoding/binary"
	"reflect"
)

// LengthPrefix returns the beam:coder:length_prefix:v1 coder over c: a
// varint length, then v encoded by c in the outer context. The encoding is
// the same in both contexts. Runners use it to carry values of coders they
// do not know as opaque bytes.
func LengthPrefix[T any](c Coder[T]) Coder[T] {
	eo, do := outerOf(c)
	return &lengthPrefixCoder[T]{c: c, encOuter: eo, decOuter: do, validate: outerValidator(c, do)}
}

// outerValidator returns a check that src holds exactly one outer-context
// value of c, as cheap as c allows: the raw coders accept any bytes, and
// context-invariant coders are skipped rather than decoded.
func outerValidator[T any](c Coder[T], decOuter func([]byte) (T, error)) func([]byte) error {
	switch any(c).(type) {
	case bytesCoder, stringCoder, opaqueCoder:
		return func([]byte) error { return nil }
	}
	if _, ok := c.(OuterCoder[T]); ok {
		return func(src []byte) error {
			_, err := decOuter(src)
			return err
		}
	}
	skip := skipOf(c)
	return func(src []byte) error {
		n, err := skip(src)
		if err == nil && n != len(src) {
			err = errCorrupt("%d trailing bytes after %s value", len(src)-n, c.Spec().URN)
		}
		return err
	}
}

type lengthPrefixCoder[T any] struct {
	c        Coder[T]
	encOuter func([]byte, T) []byte
	decOuter func([]byte) (T, error)
	validate func([]byte) error
}

var _ skipper = (*lengthPrefixCoder[int])(nil)

func (c *lengthPrefixCoder[T]) Encode(dst []byte, v T) []byte {
	start := len(dst)
	return fixLengthPrefix(c.encOuter(append(dst, 0), v), start)
}

func (c *lengthPrefixCoder[T]) Decode(src []byte) (T, int, error) {
	l, n, err := readLength(src, "length-prefixed value")
	if err != nil {
		var zero T
		return zero, 0, err
	}
	v, err := c.decOuter(src[n : n+l])
	if err != nil {
		var zero T
		return zero, 0, err
	}
	return v, n + l, nil
}

func (c *lengthPrefixCoder[T]) skip(src []byte) (int, error) {
	l, n, err := readLength(src, "length-prefixed value")
	if err != nil {
		return 0, err
	}
	if err := c.validate(src[n : n+l]); err != nil {
		return 0, err
	}
	return n + l, nil
}

func (c *lengthPrefixCoder[T]) Spec() Spec {
	return Spec{URN: URNLengthPrefix, Components: []Spec{c.c.Spec()}}
}

func (c *lengthPrefixCoder[T]) Deterministic() bool { return c.c.Deterministic() }

// fixLengthPrefix completes a length prefix: dst[start] is a one-byte
// placeholder and the value follows it. Values of 128 bytes or more need a
// longer varint, so the value moves right to make room.
func fixLengthPrefix(dst []byte, start int) []byte {
	l := len(dst) - start - 1
	if l < 0x80 {
		dst[start] = byte(l)
		return dst
	}
	var buf [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(buf[:], uint64(l))
	dst = append(dst, buf[:k-1]...)
	copy(dst[start+k:], dst[start+1:start+1+l])
	copy(dst[start:], buf[:k])
	return dst
}

// NewNullable returns the beam:coder:nullable:v1 coder: a byte 0 for nil,
// or 1 followed by the value encoded by c in the same context. Decoded
// non-nil values are freshly allocated.
func NewNullable[T any](c Coder[T]) Coder[*T] {
	eo, do := outerOf(c)
	return &nullableCoder[T]{c: c, encOuter: eo, decOuter: do, skipElem: skipOf(c)}
}

type nullableCoder[T any] struct {
	c        Coder[T]
	encOuter func([]byte, T) []byte
	decOuter func([]byte) (T, error)
	skipElem func([]byte) (int, error)
}

var (
	_ OuterCoder[*int] = (*nullableCoder[int])(nil)
	_ skipper          = (*nullableCoder[int])(nil)
)

func (c *nullableCoder[T]) Encode(dst []byte, v *T) []byte {
	if v == nil {
		return append(dst, 0)
	}
	return c.c.Encode(append(dst, 1), *v)
}

func (c *nullableCoder[T]) Decode(src []byte) (*T, int, error) {
	present, err := readBool(src)
	if err != nil {
		return nil, 0, err
	}
	if !present {
		return nil, 1, nil
	}
	v, n, err := c.c.Decode(src[1:])
	if err != nil {
		return nil, 0, err
	}
	return &v, 1 + n, nil
}

func (c *nullableCoder[T]) EncodeOuter(dst []byte, v *T) []byte {
	if v == nil {
		return append(dst, 0)
	}
	return c.encOuter(append(dst, 1), *v)
}

func (c *nullableCoder[T]) DecodeOuter(src []byte) (*T, error) {
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
	v, err := c.decOuter(src[1:])
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (c *nullableCoder[T]) skip(src []byte) (int, error) {
	present, err := readBool(src)
	if err != nil {
		return 0, err
	}
	if !present {
		return 1, nil
	}
	n, err := c.skipElem(src[1:])
	return 1 + n, err
}

func (c *nullableCoder[T]) Spec() Spec {
	return Spec{URN: URNNullable, Components: []Spec{c.c.Spec()}}
}

func (c *nullableCoder[T]) Deterministic() bool { return c.c.Deterministic() }

// ShardedKey is a key with an opaque shard id, the key type of
// beam:coder:sharded_key:v1 (used by GroupIntoBatches with sharding).
type ShardedKey[K any] struct {
	ShardID []byte
	Key     K
}

// inferCoder lets Of build ShardedKey coders without reflection.
func (ShardedKey[K]) inferCoder() (any, codec, error) {
	kc, err := Of[K]()
	if err != nil {
		return nil, codec{}, within(err, "key")
	}
	c := NewShardedKey(kc)
	return c, codecOf(c), nil
}

// NewShardedKey returns the beam:coder:sharded_key:v1 coder: the shard id
// as nested bytes, then the key encoded by kc in the same context.
func NewShardedKey[K any](kc Coder[K]) Coder[ShardedKey[K]] {
	eo, do := outerOf(kc)
	return &shardedKeyCoder[K]{kc: kc, encOuter: eo, decOuter: do, skipKey: skipOf(kc)}
}

type shardedKeyCoder[K any] struct {
	kc       Coder[K]
	encOuter func([]byte, K) []byte
	decOuter func([]byte) (K, error)
	skipKey  func([]byte) (int, error)
}

var (
	_ OuterCoder[ShardedKey[int]] = (*shardedKeyCoder[int])(nil)
	_ skipper                     = (*shardedKeyCoder[int])(nil)
)

func (c *shardedKeyCoder[K]) Encode(dst []byte, v ShardedKey[K]) []byte {
	return c.kc.Encode(bytesCoder{}.Encode(dst, v.ShardID), v.Key)
}

func (c *shardedKeyCoder[K]) Decode(src []byte) (ShardedKey[K], int, error) {
	id, n, err := bytesCoder{}.Decode(src)
	if err != nil {
		return ShardedKey[K]{}, 0, err
	}
	k, m, err := c.kc.Decode(src[n:])
	if err != nil {
		return ShardedKey[K]{}, 0, err
	}
	return ShardedKey[K]{ShardID: id, Key: k}, n + m, nil
}

func (c *shardedKeyCoder[K]) EncodeOuter(dst []byte, v ShardedKey[K]) []byte {
	return c.encOuter(bytesCoder{}.Encode(dst, v.ShardID), v.Key)
}

func (c *shardedKeyCoder[K]) DecodeOuter(src []byte) (ShardedKey[K], error) {
	id, n, err := bytesCoder{}.Decode(src)
	if err != nil {
		return ShardedKey[K]{}, err
	}
	k, err := c.decOuter(src[n:])
	if err != nil {
		return ShardedKey[K]{}, err
	}
	return ShardedKey[K]{ShardID: id, Key: k}, nil
}

func (c *shardedKeyCoder[K]) skip(src []byte) (int, error) {
	n, err := bytesCoder{}.skip(src)
	if err != nil {
		return 0, err
	}
	m, err := c.skipKey(src[n:])
	return n + m, err
}

func (c *shardedKeyCoder[K]) Spec() Spec {
	return Spec{URN: URNShardedKey, Components: []Spec{c.kc.Spec()}}
}

func (c *shardedKeyCoder[K]) Deterministic() bool { return c.kc.Deterministic() }

// Marshaler is implemented by Go types that encode themselves; Of uses it
// for any type whose pointer implements both Marshaler and Unmarshaler.
// Such a coder has URN URNCustom and the Go type name as payload. Its
// nested encoding is a varint length followed by the marshaled bytes, so
// MarshalBeam need not be self-delimiting.
type Marshaler interface {
	// MarshalBeam appends the encoding of the receiver to dst.
	MarshalBeam(dst []byte) []byte
}

// Unmarshaler is the decoding half of Marshaler.
type Unmarshaler interface {
	// UnmarshalBeam sets the receiver from src, which holds exactly what
	// MarshalBeam appended. It must not retain src.
	UnmarshalBeam(src []byte) error
}

// Determiner may be implemented by Marshaler types whose encoding is
// deterministic (equal values always marshal to equal bytes), so that they
// can be grouping keys. Custom coders are non-deterministic otherwise.
type Determiner interface {
	BeamDeterministic() bool
}

var (
	marshalerType   = reflect.TypeFor[Marshaler]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	determinerType  = reflect.TypeFor[Determiner]()
)

// isCustom reports whether *t implements Marshaler and Unmarshaler.
func isCustom(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(marshalerType) && pt.Implements(unmarshalerType)
}

// customDeterministic asks a custom type whether it is deterministic.
func customDeterministic(t reflect.Type) bool {
	if !reflect.PointerTo(t).Implements(determinerType) {
		return false
	}
	return reflect.New(t).Interface().(Determiner).BeamDeterministic()
}
