package coder

// KV is a key-value pair, the element type of keyed PCollections. The sdk
// package aliases it as sdk.KV.
type KV[K, V any] struct {
	Key   K
	Value V
}

// inferCoder lets Of build KV coders without reflection.
func (KV[K, V]) inferCoder() (any, codec, error) {
	kc, err := Of[K]()
	if err != nil {
		return nil, codec{}, within(err, "key")
	}
	vc, err := Of[V]()
	if err != nil {
		return nil, codec{}, within(err, "value")
	}
	c := NewKV(kc, vc)
	return c, codecOf(c), nil
}

// NewKV returns the beam:coder:kv:v1 coder: the key then the value, both
// nested in the nested context; in the outer context the value is encoded
// in the outer context. It is deterministic if both components are.
func NewKV[K, V any](kc Coder[K], vc Coder[V]) Coder[KV[K, V]] {
	eo, do := outerOf(vc)
	return &kvCoder[K, V]{kc: kc, vc: vc, vEncOuter: eo, vDecOuter: do, kSkip: skipOf(kc), vSkip: skipOf(vc)}
}

type kvCoder[K, V any] struct {
	kc        Coder[K]
	vc        Coder[V]
	vEncOuter func([]byte, V) []byte
	vDecOuter func([]byte) (V, error)
	kSkip     func([]byte) (int, error)
	vSkip     func([]byte) (int, error)
}

var (
	_ OuterCoder[KV[int, int]] = (*kvCoder[int, int])(nil)
	_ skipper                  = (*kvCoder[int, int])(nil)
)

func (c *kvCoder[K, V]) Encode(dst []byte, v KV[K, V]) []byte {
	return c.vc.Encode(c.kc.Encode(dst, v.Key), v.Value)
}

func (c *kvCoder[K, V]) Decode(src []byte) (KV[K, V], int, error) {
	k, n, err := c.kc.Decode(src)
	if err != nil {
		return KV[K, V]{}, 0, err
	}
	v, m, err := c.vc.Decode(src[n:])
	if err != nil {
		return KV[K, V]{}, 0, err
	}
	return KV[K, V]{Key: k, Value: v}, n + m, nil
}

func (c *kvCoder[K, V]) EncodeOuter(dst []byte, v KV[K, V]) []byte {
	return c.vEncOuter(c.kc.Encode(dst, v.Key), v.Value)
}

func (c *kvCoder[K, V]) DecodeOuter(src []byte) (KV[K, V], error) {
	k, n, err := c.kc.Decode(src)
	if err != nil {
		return KV[K, V]{}, err
	}
	v, err := c.vDecOuter(src[n:])
	if err != nil {
		return KV[K, V]{}, err
	}
	return KV[K, V]{Key: k, Value: v}, nil
}

func (c *kvCoder[K, V]) skip(src []byte) (int, error) {
	n, err := c.kSkip(src)
	if err != nil {
		return 0, err
	}
	m, err := c.vSkip(src[n:])
	if err != nil {
		return 0, err
	}
	return n + m, nil
}

func (c *kvCoder[K, V]) Spec() Spec {
	return Spec{URN: URNKV, Components: []Spec{c.kc.Spec(), c.vc.Spec()}}
}

func (c *kvCoder[K, V]) Deterministic() bool { return c.kc.Deterministic() && c.vc.Deterministic() }

// KeyCoder returns the key coder of a kv coder built by NewKV, for runners
// and the sdk that need the key's encoding alone.
func KeyCoder[K, V any](c Coder[KV[K, V]]) (Coder[K], bool) {
	kc, ok := c.(*kvCoder[K, V])
	if !ok {
		return nil, false
	}
	return kc.kc, true
}

// ValueCoder returns the value coder of a kv coder built by NewKV.
func ValueCoder[K, V any](c Coder[KV[K, V]]) (Coder[V], bool) {
	kc, ok := c.(*kvCoder[K, V])
	if !ok {
		return nil, false
	}
	return kc.vc, true
}

// keyPart returns a function that appends the nested encoding of a KV's
// key (a func([]byte, KV[K, V]) []byte, as any) and the erased key coder.
func (c *kvCoder[K, V]) keyPart() (any, Any) {
	kc := c.kc
	return func(dst []byte, v KV[K, V]) []byte { return kc.Encode(dst, v.Key) }, Erase(kc)
}

// KeyPartOf returns, when c is a kv coder built by NewKV (so T is a KV),
// a function that appends the nested encoding of an element's key, and the
// key coder: what a stateful ParDo addresses its state with, without
// knowing its input's key type statically.
func KeyPartOf[T any](c Coder[T]) (enc func(dst []byte, v T) []byte, key Any, ok bool) {
	kp, ok := c.(interface{ keyPart() (any, Any) })
	if !ok {
		return nil, nil, false
	}
	f, a := kp.keyPart()
	enc, ok = f.(func([]byte, T) []byte)
	return enc, a, ok
}
