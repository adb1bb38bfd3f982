package coder

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// Defined types over every kind cast serves.
type (
	castedBool    bool
	castedInt     int
	castedInt8    int8
	castedInt16   int16
	castedInt32   int32
	castedInt64   int64
	castedUint    uint
	castedUint8   uint8
	castedUint16  uint16
	castedUint32  uint32
	castedUint64  uint64
	castedUintptr uintptr
	castedF32     float32
	castedF64     float64
	castedString  string
	castedBytes   []byte
	castedStrings []string
	castedInts    []int
	castedInt64s  []int64
	castedF64s    []float64
	castedElem    int
	castedElems   []castedElem // a slice of a defined element: []int's coder
)

// TestCastMatchesUnderlying checks each defined type's coder against the
// standard coder of its underlying type, which it must equal byte for
// byte: the same encodings (nested and outer), the same values and
// lengths decoded from encodings and from arbitrary bytes (an integer
// truncated to its width), the same errors for truncated and trailing
// input, the same skip lengths, spec and determinism.
func TestCastMatchesUnderlying(t *testing.T) {
	ints := func(r *rand.Rand) int64 { return genInt64(r) }
	t.Run("bool", func(t *testing.T) {
		castSame[castedBool](t, Bool(), func(r *rand.Rand) bool { return r.IntN(2) == 0 })
	})
	t.Run("int", func(t *testing.T) { castSame[castedInt](t, Varint[int](), genIntOf[int](ints)) })
	t.Run("int8", func(t *testing.T) { castSame[castedInt8](t, Varint[int8](), genIntOf[int8](ints)) })
	t.Run("int16", func(t *testing.T) { castSame[castedInt16](t, Varint[int16](), genIntOf[int16](ints)) })
	t.Run("int32", func(t *testing.T) { castSame[castedInt32](t, Varint[int32](), genIntOf[int32](ints)) })
	t.Run("int64", func(t *testing.T) { castSame[castedInt64](t, Varint[int64](), genIntOf[int64](ints)) })
	t.Run("uint", func(t *testing.T) { castSame[castedUint](t, Varint[uint](), genIntOf[uint](ints)) })
	t.Run("uint8", func(t *testing.T) { castSame[castedUint8](t, Varint[uint8](), genIntOf[uint8](ints)) })
	t.Run("uint16", func(t *testing.T) { castSame[castedUint16](t, Varint[uint16](), genIntOf[uint16](ints)) })
	t.Run("uint32", func(t *testing.T) { castSame[castedUint32](t, Varint[uint32](), genIntOf[uint32](ints)) })
	t.Run("uint64", func(t *testing.T) { castSame[castedUint64](t, Varint[uint64](), genIntOf[uint64](ints)) })
	t.Run("uintptr", func(t *testing.T) { castSame[castedUintptr](t, Varint[uintptr](), genIntOf[uintptr](ints)) })
	t.Run("float32", func(t *testing.T) {
		castSame[castedF32](t, Coder[float32](doubleCoder[float32]{}), func(r *rand.Rand) float32 { return float32(genFloat(r)) })
	})
	t.Run("float64", func(t *testing.T) { castSame[castedF64](t, Double(), genFloat) })
	t.Run("string", func(t *testing.T) { castSame[castedString](t, String(), genString) })
	t.Run("bytes", func(t *testing.T) { castSame[castedBytes](t, Bytes(), genBytes) })
	t.Run("strings", func(t *testing.T) {
		castSame[castedStrings](t, NewIterable(String()), func(r *rand.Rand) []string { return genSlice(r, genString) })
	})
	t.Run("ints", func(t *testing.T) {
		castSame[castedInts](t, NewIterable(Varint[int]()), func(r *rand.Rand) []int { return genSlice(r, genIntOf[int](ints)) })
	})
	t.Run("int64s", func(t *testing.T) {
		castSame[castedInt64s](t, NewIterable(Varint[int64]()), func(r *rand.Rand) []int64 { return genSlice(r, genInt64) })
	})
	t.Run("float64s", func(t *testing.T) {
		castSame[castedF64s](t, NewIterable(Double()), func(r *rand.Rand) []float64 { return genSlice(r, genFloat) })
	})
	t.Run("slice of a defined element", func(t *testing.T) {
		castSame[castedElems](t, NewIterable(Varint[int]()), func(r *rand.Rand) []int { return genSlice(r, genIntOf[int](ints)) })
	})
}

func genIntOf[U Integer](g func(*rand.Rand) int64) func(*rand.Rand) U {
	return func(r *rand.Rand) U { return U(g(r)) }
}

// castSame checks Of[T]'s coder, which must be a castCoder, against u, the
// standard coder of T's underlying type U.
func castSame[T, U any](t *testing.T, u Coder[U], gen func(*rand.Rand) U) {
	t.Helper()
	if unsafe.Sizeof(*new(T)) != unsafe.Sizeof(*new(U)) {
		t.Fatalf("%T and %T differ in size", *new(T), *new(U))
	}
	c, err := Of[T]()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*castCoder[T]); !ok {
		t.Fatalf("Of[%T]() = %T, want a cast coder", *new(T), c)
	}
	if !c.Spec().Equal(u.Spec()) || c.Deterministic() != u.Deterministic() {
		t.Fatalf("spec %v, deterministic %v; the underlying coder's %v, %v", c.Spec(), c.Deterministic(), u.Spec(), u.Deterministic())
	}
	asT := func(v U) T { return *(*T)(unsafe.Pointer(&v)) }
	// reenc re-encodes decoded values, so that values compare by their
	// encodings (NaNs included).
	reencT := func(v T) []byte { return c.Encode(nil, v) }
	reencU := func(v U) []byte { return u.Encode(nil, v) }
	same := func(what string, src []byte) {
		t.Helper()
		vc, nc, errc := c.Decode(src)
		vu, nu, erru := u.Decode(src)
		if (errc != nil) != (erru != nil) || nc != nu {
			t.Fatalf("%s %x: Decode = %d, %v; the underlying coder's %d, %v", what, src, nc, errc, nu, erru)
		}
		if errc == nil && !bytes.Equal(reencT(vc), reencU(vu)) {
			t.Fatalf("%s %x: Decode gives a value encoded %x; the underlying coder's %x", what, src, reencT(vc), reencU(vu))
		}
		sc, errc := Skip(c, src)
		su, erru := Skip(u, src)
		if (errc != nil) != (erru != nil) || sc != su {
			t.Fatalf("%s %x: Skip = %d, %v; the underlying coder's %d, %v", what, src, sc, errc, su, erru)
		}
		oc, errc := DecodeOuter(c, src)
		ou, erru := DecodeOuter(u, src)
		if (errc != nil) != (erru != nil) {
			t.Fatalf("%s %x: DecodeOuter error %v; the underlying coder's %v", what, src, errc, erru)
		}
		if errc == nil && !bytes.Equal(reencT(oc), reencU(ou)) {
			t.Fatalf("%s %x: DecodeOuter gives a value encoded %x; the underlying coder's %x", what, src, reencT(oc), reencU(ou))
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range propertyRuns {
		v := gen(r)
		enc := c.Encode(nil, asT(v))
		if want := u.Encode(nil, v); !bytes.Equal(enc, want) {
			t.Fatalf("Encode(%v) = %x, the underlying coder's %x", v, enc, want)
		}
		if got, want := EncodeOuter(c, nil, asT(v)), EncodeOuter(u, nil, v); !bytes.Equal(got, want) {
			t.Fatalf("EncodeOuter(%v) = %x, the underlying coder's %x", v, got, want)
		}
		same("encoding", enc)
		same("encoding with a trailing byte", append(enc, 0x05))
		for i := range enc {
			same("truncated encoding", enc[:i])
		}
		// Arbitrary bytes, and another type's encoding: a wide integer
		// decoded into a narrow one is truncated the same way.
		same("random bytes", genBytes(r))
		same("varint", appendVarint(nil, genInt64(r)))
	}
}

// TestCastDoesNotAllocate checks that the cast coders of scalars and
// strings read and write their values in place.
func TestCastDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ci, _ := Of[castedInt32]()
	cs, _ := Of[castedString]()
	cf, _ := Of[castedF32]()
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		buf = ci.Encode(buf[:0], -7)
		buf = cs.Encode(buf, "word")
		buf = EncodeOuter(cf, buf, 1.5)
	}); n != 0 {
		t.Errorf("Encode allocates %v times, want 0", n)
	}
	enc := ci.Encode(nil, -7)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := ci.Decode(enc); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeOuter(ci, enc); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Decode allocates %v times, want 0", n)
	}
}
