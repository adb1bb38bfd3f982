package coder

import (
	"bytes"
	"iter"
	"math/rand/v2"
	"runtime/metrics"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// fuzzCoders are the coders the decode fuzzer exercises: every standard
// coder, typed and dynamic, and the inferred ones.
func fuzzCoders(t testing.TB) []Any {
	must := func(a Any, err error) Any {
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	custRow := mustOfTB[customer](t)
	dynRow := must(FromSpec(custRow.Spec()))
	paramSpec := NewParamWindowedValue(Varint[int](), IntervalWindow(), 1000,
		[]window.Window{window.Interval(10, 20)}, window.OnTimePane()).Spec()
	return []Any{
		Erase(Bytes()),
		Erase(String()),
		Erase(Varint[int64]()),
		Erase(Varint[int16]()),
		Erase(Bool()),
		Erase(Double()),
		Erase(NewKV(String(), Varint[int64]())),
		Erase(NewIterable(Bytes())),
		Erase(NewIterable(GlobalWindow())),
		Erase(NewIterSeq(Varint[int]())),
		Erase(LengthPrefix(NewKV(Bool(), String()))),
		Erase(LengthPrefix(Bytes())),
		Erase(NewNullable(Double())),
		Erase(GlobalWindow()),
		Erase(IntervalWindow()),
		Erase(NewWindowedValue(Bytes(), GlobalWindow())),
		Erase(NewWindowedValue(NewKV(String(), Varint[int]()), IntervalWindow())),
		must(FromSpec(paramSpec)),
		Erase(NewTimer(String(), IntervalWindow())),
		Erase(NewShardedKey(Bytes())),
		Erase(custRow),
		dynRow,
		mustErase[map[string][]int](t),
		mustErase[[3]string](t),
		mustErase[*address](t),
		mustErase[version](t),
		must(FromSpec(NewWindowedValue(NewIterable(NewKV(Bytes(), NewNullable(String()))), IntervalWindow()).Spec())),
		must(FromSpec(NewTimer(Varint[int](), GlobalWindow()).Spec())),
		must(FromSpec(Spec{URN: URNLengthPrefix, Components: []Spec{{URN: "unknown"}}})),
		// Defined types, coded by the cast coder's kinds.
		mustErase[castedBool](t),
		mustErase[castedInt8](t),
		mustErase[castedUint32](t),
		mustErase[castedF32](t),
		mustErase[castedString](t),
		mustErase[castedBytes](t),
		mustErase[castedStrings](t),
		mustErase[castedElems](t),
		mustErase[castedF64s](t),
	}
}

func mustOfTB[T any](t testing.TB) Coder[T] {
	c, err := Of[T]()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzCoderDecode decodes arbitrary bytes with each coder: decoding must
// return an error or a value, never panic nor allocate much more than the
// input. Whatever decodes must be measured alike by Skip, and re-encode to
// bytes that decode to an equal encoding.
func FuzzCoderDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 9))
	coders := fuzzCoders(f)
	// Seeds: valid encodings of a few values per coder (from the typed
	// generators, via the dynamic coders' view of their bytes).
	seeds := [][]byte{
		Bytes().Encode(nil, []byte("abc")),
		NewKV(String(), Varint[int64]()).Encode(nil, KV[string, int64]{"k", -1}),
		NewWindowedValue(Bytes(), GlobalWindow()).Encode(nil, window.InGlobalWindow([]byte("x"))),
		NewTimer(String(), IntervalWindow()).Encode(nil, Timer[string]{UserKey: "k", Windows: []window.Window{window.Interval(1, 5)}, Pane: window.NoFiringPane()}),
		mustOfTB[customer](f).Encode(nil, genCustomer(r)),
		cat(int32Bytes(-1), []byte{2, 1, 'a', 1, 'b', 0}),
		cat(appendTime(nil, 3), int32Bytes(1), []byte{0x26, 30, 40, 1}),
	}
	for i := range coders {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		c := coders[int(which)%len(coders)]
		before := heapAllocated()
		v, n, err := c.DecodeAny(data)
		// Zero-width global windows may legitimately need 24 bytes each.
		if got, limit := heapAllocated()-before, uint64(4<<20+200*len(data)); got > limit {
			t.Fatalf("%v: DecodeAny(%d bytes) allocated %d bytes", c.Spec(), len(data), got)
		}
		m, skipErr := c.Skip(data)
		if (err == nil) != (skipErr == nil) || (err == nil && m != n) {
			t.Fatalf("%v: DecodeAny(%x) = %d, %v but Skip = %d, %v", c.Spec(), data, n, err, m, skipErr)
		}
		if err == nil {
			if n < 0 || n > len(data) {
				t.Fatalf("%v: DecodeAny(%x) used %d bytes", c.Spec(), data, n)
			}
			drainSeq(v)
			enc, err := c.EncodeAny(nil, v)
			if err != nil {
				t.Fatalf("%v: EncodeAny(DecodeAny(%x)) = %v", c.Spec(), data, err)
			}
			v2, n2, err := c.DecodeAny(enc)
			if err != nil || n2 != len(enc) {
				t.Fatalf("%v: DecodeAny(%x) = %d, %v after re-encoding %x", c.Spec(), enc, n2, err, data)
			}
			if enc2, _ := c.EncodeAny(nil, v2); !bytes.Equal(enc, enc2) {
				t.Fatalf("%v: re-encoding is unstable: %x then %x", c.Spec(), enc, enc2)
			}
		}
		if v, err := c.DecodeOuterAny(data); err == nil {
			drainSeq(v)
			if _, err := c.EncodeOuterAny(nil, v); err != nil {
				t.Fatalf("%v: EncodeOuterAny(DecodeOuterAny(%x)) = %v", c.Spec(), data, err)
			}
		}
	})
}

// heapAllocated returns the bytes allocated so far, without stopping the
// world as runtime.ReadMemStats does. Small allocations reach the count
// late (per-processor caches), large ones at once, which is what the
// fuzzer looks for.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// drainSeq ranges over lazily decoded iterables, which must not panic.
func drainSeq(v any) {
	if s, ok := v.(iter.Seq[int]); ok {
		for range s {
		}
	}
}

// FuzzCoderRoundTrip builds values of many coders from fuzzed scalars and
// checks the round-trip properties on each.
func FuzzCoderRoundTrip(f *testing.F) {
	f.Add("abc", []byte{0, 1, 2}, int64(-1), 0.5, true, uint64(7))
	f.Add("", []byte(nil), int64(1<<62), -0.0, false, uint64(1<<63))
	f.Add(string(bytes.Repeat([]byte{'x'}, 300)), bytes.Repeat([]byte{0xff}, 200), int64(-1<<63), 1e308, true, uint64(0))
	var (
		kv        = NewKV(String(), Bytes())
		list      = NewIterable(String())
		prefixed  = LengthPrefix(String())
		nullable  = NewNullable(Varint[int64]())
		windowed  = NewWindowedValue(String(), IntervalWindow())
		timer     = NewTimer(Bytes(), GlobalWindow())
		customers = mustOfTB[customer](f)
		maps      = mustOfTB[map[string][]byte](f)
		seqs      = NewIterSeq(String())
	)
	f.Fuzz(func(t *testing.T, s string, b []byte, i int64, x float64, flag bool, seed uint64) {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		checkRoundTrip(t, String(), s)
		checkRoundTrip(t, Bytes(), b)
		checkRoundTrip(t, Varint[int64](), i)
		checkRoundTrip(t, Varint[uint32](), uint32(i))
		checkRoundTrip(t, Double(), x)
		checkRoundTrip(t, Bool(), flag)
		checkRoundTrip(t, kv, KV[string, []byte]{s, b})
		checkRoundTrip(t, list, []string{s, s[:len(s)/2]})
		checkRoundTrip(t, prefixed, s)
		checkRoundTrip(t, nullable, &i)
		ts := window.Time(i % int64(window.MaxTime))
		checkRoundTrip(t, IntervalWindow(), window.Interval(ts-window.Time(len(b)), ts))
		wv := window.Value[string]{Elem: s, Timestamp: ts, Windows: []window.Window{window.Interval(ts, ts+1)}, Pane: genPane(r)}
		checkRoundTrip(t, windowed, wv)
		if enc, at := windowed.(SplitEncoder[string]).EncodeSplit(nil, wv); !bytes.Equal(enc, windowed.Encode(nil, wv)) {
			t.Errorf("EncodeSplit(%+v) = %x, Encode gives %x", wv, enc, windowed.Encode(nil, wv))
		} else if got, err := decodeAll(windowed, enc); err != nil || got.Pane != WirePane(wv.Pane) {
			t.Errorf("the pane of %+v decodes to %+v (%v), WirePane says %+v", wv, got.Pane, err, WirePane(wv.Pane))
		} else if e, n, err := String().Decode(enc[at:]); err != nil || n != len(enc)-at || e != s {
			t.Errorf("the element of %+v at %d of %x decodes to %q, %d bytes (%v)", wv, at, enc, e, n, err)
		}
		tm := Timer[[]byte]{UserKey: b, DynamicTimerTag: s, Windows: window.GlobalWindows(), ClearBit: flag}
		if !flag {
			tm.FireTimestamp, tm.HoldTimestamp, tm.Pane = ts, ts/2, genPane(r)
		}
		checkRoundTrip(t, timer, tm)
		c := genCustomer(r)
		c.Name, c.Big, c.Ratio = s, uint64(i), float32(x)
		checkRoundTrip(t, customers, c)
		checkRoundTrip(t, maps, map[string][]byte{s: b, "": nil})
		enc := seqs.Encode(nil, slices.Values([]string{s, "x"}))
		if got, n, err := seqs.Decode(enc); err != nil || n != len(enc) || !slices.Equal(slices.Collect(got), []string{s, "x"}) {
			t.Errorf("iter.Seq round trip of %q failed: %d, %v", s, n, err)
		}
	})
}
