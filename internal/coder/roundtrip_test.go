package coder

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Round-trip properties: for random values v of every coder,
// Decode(Encode(v)) == v using all the bytes, Skip measures the same
// length, the outer context round-trips, and the dynamic coder FromSpec
// builds from the spec reads the bytes and writes them back identically.

const propertyRuns = 300

// roundTripOpts compare decoded values: nil and empty slices and maps are
// equal, windows compare by value, floats bit for bit.
var roundTripOpts = append([]cmp.Option{cmpopts.EquateEmpty()}, valueOpts...)

// property checks the round-trip properties of c on propertyRuns values
// from gen, with a fixed seed so failures reproduce.
func property[T any](t *testing.T, c Coder[T], gen func(r *rand.Rand) T, opts ...cmp.Option) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	for range propertyRuns {
		if !checkRoundTrip(t, c, gen(r), opts...) {
			return
		}
	}
}

func checkRoundTrip[T any](t *testing.T, c Coder[T], v T, opts ...cmp.Option) bool {
	t.Helper()
	opts = append(opts, roundTripOpts...)
	prefix := []byte("prefix")
	enc := c.Encode(slices.Clone(prefix), v)
	if !bytes.HasPrefix(enc, prefix) {
		t.Errorf("Encode(%v) overwrote the destination's contents", v)
		return false
	}
	enc = enc[len(prefix):]
	// A trailing byte checks that Decode stops at the value's end.
	got, n, err := c.Decode(append(slices.Clone(enc), 0xff))
	if err != nil || n != len(enc) {
		t.Errorf("Decode(Encode(%v) = %x) = _, %d, %v, want %d bytes", v, enc, n, err, len(enc))
		return false
	}
	if diff := cmp.Diff(v, got, opts...); diff != "" {
		t.Errorf("Decode(Encode(v)) != v (-want +got):\n%s", diff)
		return false
	}
	if n, err := Skip(c, append(slices.Clone(enc), 0xff)); err != nil || n != len(enc) {
		t.Errorf("Skip(Encode(%v)) = %d, %v, want %d", v, n, err, len(enc))
		return false
	}
	outer := EncodeOuter(c, nil, v)
	gotOuter, err := DecodeOuter(c, outer)
	if err != nil {
		t.Errorf("DecodeOuter(EncodeOuter(%v) = %x) = %v", v, outer, err)
		return false
	}
	if diff := cmp.Diff(v, gotOuter, opts...); diff != "" {
		t.Errorf("DecodeOuter(EncodeOuter(v)) != v (-want +got):\n%s", diff)
		return false
	}
	if _, err := DecodeOuter(c, append(slices.Clone(outer), 0)); err == nil && !trailingOK(c.Spec()) {
		t.Errorf("DecodeOuter(%x + trailing byte) succeeded", outer)
		return false
	}
	// Encoding is a pure function of the value.
	if again := c.Encode(nil, v); !bytes.Equal(again, enc) {
		t.Errorf("Encode(%v) = %x, then %x", v, enc, again)
		return false
	}
	return checkDynamic(t, c.Spec(), enc, outer)
}

// trailingOK reports whether a coder's outer form ends in a value that
// takes any bytes (bytes, string, custom), so extra bytes are not an error.
func trailingOK(s Spec) bool {
	switch s.URN {
	case URNBytes, URNStringUTF8, URNCustom:
		return true
	case URNKV, URNWindowedValue, URNNullable, URNShardedKey, URNParamWindowedValue:
		if len(s.Components) > 0 {
			last := s.Components[len(s.Components)-1]
			if s.URN == URNWindowedValue || s.URN == URNParamWindowedValue {
				last = s.Components[0]
			}
			return trailingOK(last)
		}
	}
	return false
}

// checkDynamic checks that FromSpec's coder for spec decodes the nested and
// outer encodings and re-encodes them to the same bytes.
func checkDynamic(t *testing.T, spec Spec, nested, outer []byte) bool {
	t.Helper()
	d, err := cachedFromSpec(spec)
	if err != nil {
		t.Errorf("FromSpec(%v) = %v", spec, err)
		return false
	}
	v, n, err := d.DecodeAny(nested)
	if err != nil || n != len(nested) {
		t.Errorf("FromSpec(%v).DecodeAny(%x) = %v, %d, %v", spec, nested, v, n, err)
		return false
	}
	if again, err := d.EncodeAny(nil, v); err != nil || !bytes.Equal(again, nested) {
		t.Errorf("FromSpec(%v): EncodeAny(DecodeAny(%x)) = %x, %v", spec, nested, again, err)
		return false
	}
	v, err = d.DecodeOuterAny(outer)
	if err != nil {
		t.Errorf("FromSpec(%v).DecodeOuterAny(%x) = %v", spec, outer, err)
		return false
	}
	if again, err := d.EncodeOuterAny(nil, v); err != nil || !bytes.Equal(again, outer) {
		t.Errorf("FromSpec(%v): EncodeOuterAny(DecodeOuterAny(%x)) = %x, %v", spec, outer, again, err)
		return false
	}
	return true
}

// fromSpecCache saves the fuzzers from rebuilding dynamic coders.
var fromSpecCache sync.Map // string(spec and payloads) -> Any

func cachedFromSpec(s Spec) (Any, error) {
	key := fmt.Sprintf("%v %x", s, specPayloads(s))
	if c, ok := fromSpecCache.Load(key); ok {
		return c.(Any), nil
	}
	c, err := FromSpec(s)
	if err == nil {
		fromSpecCache.Store(key, c)
	}
	return c, err
}

func specPayloads(s Spec) []byte {
	b := slices.Clone(s.Payload)
	for _, c := range s.Components {
		b = append(b, specPayloads(c)...)
	}
	return b
}

// Generators.

func genBytes(r *rand.Rand) []byte {
	n := r.IntN(8)
	if r.IntN(10) == 0 {
		n = 100 + r.IntN(300) // exercise multi-byte length prefixes
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func genString(r *rand.Rand) string { return string(genBytes(r)) }

func genInt64(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return int64(r.IntN(256)) - 128
	case 1:
		return []int64{0, -1, 1, math.MinInt64, math.MaxInt64, 127, 128}[r.IntN(7)]
	}
	return int64(r.Uint64())
}

func genFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}[r.IntN(6)]
	case 1:
		return math.NaN()
	}
	return math.Float64frombits(r.Uint64())
}

func genTime(r *rand.Rand) window.Time {
	return window.Time(r.Int64N(int64(window.MaxTime)-int64(window.MinTime)) + int64(window.MinTime))
}

func genInterval(r *rand.Rand) window.Window {
	start := window.Time(r.Int64N(1 << 40))
	return window.Interval(start, start+window.Time(r.Int64N(1<<30)))
}

// genPane returns panes Beam can represent: early panes have no
// non-speculative index (-1), unknown-timing panes no indices.
func genPane(r *rand.Rand) window.Pane {
	p := window.Pane{IsFirst: r.IntN(2) == 0, IsLast: r.IntN(2) == 0, Timing: window.Timing(r.IntN(4))}
	switch p.Timing {
	case window.TimingEarly:
		p.Index, p.NonSpeculativeIndex = r.Int64N(100), -1
	case window.TimingUnknown:
	default:
		p.Index = r.Int64N(100)
		p.NonSpeculativeIndex = p.Index
		if r.IntN(2) == 0 {
			p.NonSpeculativeIndex = r.Int64N(p.Index + 1)
		}
	}
	return p
}

func genSlice[T any](r *rand.Rand, gen func(*rand.Rand) T) []T {
	s := make([]T, r.IntN(6))
	for i := range s {
		s[i] = gen(r)
	}
	return s
}

func TestRoundTripScalars(t *testing.T) {
	t.Run("bytes", func(t *testing.T) { property(t, Bytes(), genBytes) })
	t.Run("string", func(t *testing.T) { property(t, String(), genString) })
	t.Run("bool", func(t *testing.T) { property(t, Bool(), func(r *rand.Rand) bool { return r.IntN(2) == 0 }) })
	t.Run("double", func(t *testing.T) { property(t, Double(), genFloat) })
	t.Run("varint int64", func(t *testing.T) { property(t, Varint[int64](), genInt64) })
	t.Run("varint int", func(t *testing.T) {
		property(t, Varint[int](), func(r *rand.Rand) int { return int(genInt64(r)) })
	})
	t.Run("varint int8", func(t *testing.T) {
		property(t, Varint[int8](), func(r *rand.Rand) int8 { return int8(genInt64(r)) })
	})
	t.Run("varint uint16", func(t *testing.T) {
		property(t, Varint[uint16](), func(r *rand.Rand) uint16 { return uint16(genInt64(r)) })
	})
	t.Run("varint int32", func(t *testing.T) {
		property(t, Varint[int32](), func(r *rand.Rand) int32 { return int32(genInt64(r)) })
	})
	t.Run("varint uint64", func(t *testing.T) { property(t, Varint[uint64](), func(r *rand.Rand) uint64 { return r.Uint64() }) })
	t.Run("global window", func(t *testing.T) {
		property(t, GlobalWindow(), func(*rand.Rand) window.Window { return window.Global() })
	})
	t.Run("interval window", func(t *testing.T) { property(t, IntervalWindow(), genInterval) })
}

func TestRoundTripComposites(t *testing.T) {
	t.Run("kv", func(t *testing.T) {
		property(t, NewKV(String(), Varint[int64]()), func(r *rand.Rand) KV[string, int64] {
			return KV[string, int64]{genString(r), genInt64(r)}
		})
	})
	t.Run("kv of bytes and bytes", func(t *testing.T) {
		property(t, NewKV(Bytes(), Bytes()), func(r *rand.Rand) KV[[]byte, []byte] {
			return KV[[]byte, []byte]{genBytes(r), genBytes(r)}
		})
	})
	t.Run("iterable", func(t *testing.T) {
		property(t, NewIterable(String()), func(r *rand.Rand) []string { return genSlice(r, genString) })
	})
	t.Run("iterable of iterables", func(t *testing.T) {
		property(t, NewIterable(NewIterable(Double())), func(r *rand.Rand) [][]float64 {
			return genSlice(r, func(r *rand.Rand) []float64 { return genSlice(r, genFloat) })
		})
	})
	t.Run("length prefix", func(t *testing.T) {
		property(t, LengthPrefix(NewKV(Varint[int](), String())), func(r *rand.Rand) KV[int, string] {
			return KV[int, string]{int(genInt64(r)), genString(r)}
		})
	})
	t.Run("nullable", func(t *testing.T) {
		property(t, NewNullable(String()), func(r *rand.Rand) *string {
			if r.IntN(3) == 0 {
				return nil
			}
			s := genString(r)
			return &s
		})
	})
	t.Run("sharded key", func(t *testing.T) {
		property(t, NewShardedKey(String()), func(r *rand.Rand) ShardedKey[string] {
			return ShardedKey[string]{ShardID: genBytes(r), Key: genString(r)}
		})
	})
}

func TestRoundTripWindowed(t *testing.T) {
	t.Run("windowed value in the global window", func(t *testing.T) {
		property(t, NewWindowedValue(Bytes(), GlobalWindow()), func(r *rand.Rand) window.Value[[]byte] {
			v := window.InGlobalWindow(genBytes(r))
			v.Timestamp, v.Pane = genTime(r), genPane(r)
			return v
		})
	})
	t.Run("windowed value in interval windows", func(t *testing.T) {
		property(t, NewWindowedValue(Varint[int64](), IntervalWindow()), func(r *rand.Rand) window.Value[int64] {
			return window.Value[int64]{Elem: genInt64(r), Timestamp: genTime(r), Windows: genSlice(r, genInterval), Pane: genPane(r)}
		})
	})
	t.Run("param windowed value", func(t *testing.T) {
		ws := []window.Window{window.Interval(10, 20)}
		pane := window.Pane{IsLast: true, Timing: window.TimingOnTime, Index: 30, NonSpeculativeIndex: 40}
		property(t, NewParamWindowedValue(String(), IntervalWindow(), 1000, ws, pane), func(r *rand.Rand) window.Value[string] {
			return window.Value[string]{Elem: genString(r), Timestamp: 1000, Windows: ws, Pane: pane}
		})
	})
	t.Run("timer", func(t *testing.T) {
		property(t, NewTimer(String(), IntervalWindow()), func(r *rand.Rand) Timer[string] {
			tm := Timer[string]{UserKey: genString(r), DynamicTimerTag: genString(r), Windows: genSlice(r, genInterval), ClearBit: r.IntN(3) == 0}
			if !tm.ClearBit {
				tm.FireTimestamp, tm.HoldTimestamp, tm.Pane = genTime(r), genTime(r), genPane(r)
			}
			return tm
		})
	})
}

// Types for inferred coders.
type (
	userID   int32
	words    []string
	celsius  float32
	point    struct{ X, Y int16 }
	address  struct{ Street, City string }
	customer struct {
		ID       userID
		Name     string `beam:"name"`
		Email    *string
		Tags     []string
		Scores   map[string]float64
		Home     address
		Work     *address
		Points   []point
		Previous []*address
		Flags    [3]bool
		Hash     [4]byte
		Tiny     int8
		Small    uint16
		Ratio    float32
		Big      uint64
		Note     *celsius
		Secret   string `beam:"-"`
		_        int
	}
)

// version is a user type with its own encoding.
type version struct{ major, minor int }

func (v version) MarshalBeam(dst []byte) []byte {
	return fmt.Appendf(dst, "%d.%d", v.major, v.minor)
}

func (v *version) UnmarshalBeam(src []byte) error {
	_, err := fmt.Sscanf(string(src), "%d.%d", &v.major, &v.minor)
	return err
}

func (version) BeamDeterministic() bool { return true }

func genCustomer(r *rand.Rand) customer {
	c := customer{
		ID:     userID(r.Int32()),
		Name:   genString(r),
		Tags:   genSlice(r, genString),
		Home:   address{genString(r), genString(r)},
		Points: genSlice(r, func(r *rand.Rand) point { return point{int16(r.Int32()), int16(r.Int32())} }),
		Flags:  [3]bool{r.IntN(2) == 0, true, false},
		Hash:   [4]byte{byte(r.Uint32()), 2, 3, 4},
		Tiny:   int8(r.Int32()),
		Small:  uint16(r.Uint32()),
		Ratio:  float32(genFloat(r)),
		Big:    r.Uint64(),
	}
	if r.IntN(2) == 0 {
		e := genString(r)
		c.Email = &e
		c.Work = &address{genString(r), "x"}
		n := celsius(r.Float32())
		c.Note = &n
	}
	c.Previous = genSlice(r, func(r *rand.Rand) *address {
		if r.IntN(2) == 0 {
			return nil
		}
		return &address{genString(r), genString(r)}
	})
	if r.IntN(3) > 0 {
		c.Scores = map[string]float64{}
		for range r.IntN(4) {
			c.Scores[genString(r)] = genFloat(r)
		}
	}
	return c
}

func mustOf[T any](t *testing.T) Coder[T] {
	t.Helper()
	c, err := Of[T]()
	if err != nil {
		t.Fatalf("Of[%T]() = %v", *new(T), err)
	}
	return c
}

func TestRoundTripInferred(t *testing.T) {
	t.Run("defined integer", func(t *testing.T) {
		property(t, mustOf[userID](t), func(r *rand.Rand) userID { return userID(r.Int32()) })
	})
	t.Run("defined slice", func(t *testing.T) {
		property(t, mustOf[words](t), func(r *rand.Rand) words { return genSlice(r, genString) })
	})
	t.Run("defined float32", func(t *testing.T) {
		property(t, mustOf[celsius](t), func(r *rand.Rand) celsius { return celsius(r.Float32()) })
	})
	t.Run("kv of defined types", func(t *testing.T) {
		property(t, mustOf[KV[userID, words]](t), func(r *rand.Rand) KV[userID, words] {
			return KV[userID, words]{userID(r.Int32()), genSlice(r, genString)}
		})
	})
	t.Run("struct row", func(t *testing.T) {
		property(t, mustOf[customer](t), genCustomer, cmpopts.IgnoreFields(customer{}, "Secret"))
	})
	t.Run("pointer to struct", func(t *testing.T) {
		property(t, mustOf[*address](t), func(r *rand.Rand) *address {
			if r.IntN(3) == 0 {
				return nil
			}
			return &address{genString(r), genString(r)}
		})
	})
	t.Run("slice of kvs", func(t *testing.T) {
		property(t, mustOf[[]KV[string, []byte]](t), func(r *rand.Rand) []KV[string, []byte] {
			return genSlice(r, func(r *rand.Rand) KV[string, []byte] { return KV[string, []byte]{genString(r), genBytes(r)} })
		})
	})
	t.Run("map", func(t *testing.T) {
		property(t, mustOf[map[int64]string](t), func(r *rand.Rand) map[int64]string {
			m := map[int64]string{}
			for range r.IntN(5) {
				m[genInt64(r)] = genString(r)
			}
			return m
		})
	})
	t.Run("array", func(t *testing.T) {
		property(t, mustOf[[2]string](t), func(r *rand.Rand) [2]string { return [2]string{genString(r), genString(r)} })
	})
	t.Run("custom", func(t *testing.T) {
		property(t, mustOf[version](t), func(r *rand.Rand) version { return version{r.IntN(100), r.IntN(1000)} },
			cmp.AllowUnexported(version{}))
	})
	t.Run("pointer to custom", func(t *testing.T) {
		property(t, mustOf[*version](t), func(r *rand.Rand) *version {
			if r.IntN(2) == 0 {
				return nil
			}
			return &version{r.IntN(100), 7}
		}, cmp.AllowUnexported(version{}))
	})
	t.Run("struct with a custom field", func(t *testing.T) {
		type release struct {
			Name string
			V    version
			Prev []version
		}
		property(t, mustOf[release](t), func(r *rand.Rand) release {
			return release{genString(r), version{1, r.IntN(9)}, []version{{0, 1}}}
		}, cmp.AllowUnexported(version{}))
	})
}

func TestRoundTripDynamicRow(t *testing.T) {
	sc := mustOf[customer](t)
	dyn, err := NewRowFromSchema(sc.Spec().Payload)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range propertyRuns {
		enc := sc.Encode(nil, genCustomer(r))
		row, n, err := dyn.Decode(enc)
		if err != nil || n != len(enc) {
			t.Fatalf("Decode(%x) = %v, %d, %v", enc, row, n, err)
		}
		if again := dyn.Encode(nil, row); !bytes.Equal(again, enc) {
			t.Fatalf("Encode(Decode(%x)) = %x", enc, again)
		}
		if !checkRoundTrip(t, dyn, row) {
			return
		}
	}
}

func TestIterableDecodesUnknownLength(t *testing.T) {
	c := NewIterable(Varint[int]())
	seqc := NewIterSeq(Varint[int]())
	r := rand.New(rand.NewPCG(5, 6))
	for range propertyRuns {
		want := genSlice(r, func(r *rand.Rand) int { return int(genInt64(r)) })
		// Split want into random blocks.
		enc := appendInt32(nil, -1)
		for rest := want; len(rest) > 0; {
			k := 1 + r.IntN(len(rest))
			enc = appendVarint(enc, int64(k))
			for _, x := range rest[:k] {
				enc = c.(*iterableCoder[int]).c.Encode(enc, x)
			}
			rest = rest[k:]
		}
		enc = appendVarint(enc, 0)
		got, n, err := c.Decode(enc)
		if err != nil || n != len(enc) {
			t.Fatalf("Decode(%x) = %v, %d, %v", enc, got, n, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Decode(%x) (-want +got):\n%s", enc, diff)
		}
		seq, n, err := seqc.Decode(enc)
		if err != nil || n != len(enc) {
			t.Fatalf("iter.Seq Decode(%x) = %d, %v", enc, n, err)
		}
		if diff := cmp.Diff(want, slices.Collect(seq), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("iter.Seq Decode(%x) (-want +got):\n%s", enc, diff)
		}
		if m, err := Skip(c, enc); err != nil || m != len(enc) {
			t.Fatalf("Skip(%x) = %d, %v", enc, m, err)
		}
	}
}

func TestIterSeq(t *testing.T) {
	c := NewIterSeq(String())
	list := NewIterable(String())
	r := rand.New(rand.NewPCG(7, 8))
	for range propertyRuns {
		want := genSlice(r, genString)
		enc := c.Encode(nil, slices.Values(want))
		if listEnc := list.Encode(nil, want); !bytes.Equal(enc, listEnc) {
			t.Fatalf("iter.Seq encoding %x differs from the slice encoding %x", enc, listEnc)
		}
		seq, n, err := c.Decode(append(enc, 1, 2, 3))
		if err != nil || n != len(enc) {
			t.Fatalf("Decode(%x) = %d, %v", enc, n, err)
		}
		// A sequence can be ranged over more than once, and stopped early.
		for range 2 {
			if diff := cmp.Diff(want, slices.Collect(seq), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("Decode(%x) (-want +got):\n%s", enc, diff)
			}
		}
		for range seq {
			break
		}
	}
	if got := c.Encode(nil, nil); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Errorf("Encode(nil) = %x, want 00000000", got)
	}
}

func TestLengthPrefixOfLongValues(t *testing.T) {
	c := LengthPrefix(String())
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 1 << 20} {
		s := string(bytes.Repeat([]byte{'x'}, n))
		enc := c.Encode([]byte("head"), s)
		want := append(appendVarint([]byte("head"), int64(n)), s...)
		if !bytes.Equal(enc, want) {
			t.Errorf("Encode(%d bytes) has the wrong prefix", n)
		}
	}
}

func TestPaneEncodings(t *testing.T) {
	tests := []struct {
		name string
		pane window.Pane
		want []byte
	}{
		{"no firing is one byte", window.NoFiringPane(), []byte{0x0f}},
		{"first on-time pane is one byte", window.OnTimePane(), []byte{0x07}},
		{"late pane with equal indices has one index", window.Pane{Timing: window.TimingLate, Index: 3, NonSpeculativeIndex: 3}, []byte{0x18, 3}},
		{"early pane has one index", window.Pane{Timing: window.TimingEarly, Index: 2, NonSpeculativeIndex: -1}, []byte{0x10, 2}},
		{"on-time pane after early ones has two indices", window.Pane{IsLast: true, Timing: window.TimingOnTime, Index: 30, NonSpeculativeIndex: 40}, []byte{0x26, 30, 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendPane(nil, tt.pane)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("appendPane(%+v) = %x, want %x", tt.pane, got, tt.want)
			}
			p, n, err := readPane(got)
			if err != nil || n != len(got) || p != tt.pane {
				t.Errorf("readPane(%x) = %+v, %d, %v, want %+v", got, p, n, err, tt.pane)
			}
		})
	}
}

// TestWirePaneIsWhatTheEncodingDecodesTo checks WirePane against the
// round trip through appendPane and readPane on every combination of flags,
// timings and small, equal, negative and large indexes.
func TestWirePaneIsWhatTheEncodingDecodesTo(t *testing.T) {
	indexes := []int64{-2, -1, 0, 1, 2, 300, 1 << 40}
	for _, first := range []bool{false, true} {
		for _, last := range []bool{false, true} {
			for timing := window.Timing(0); timing < 8; timing++ {
				for _, i := range indexes {
					for _, ns := range indexes {
						p := window.Pane{IsFirst: first, IsLast: last, Timing: timing, Index: i, NonSpeculativeIndex: ns}
						want, _, err := readPane(appendPane(nil, p))
						if err != nil {
							t.Fatalf("%+v: %v", p, err)
						}
						if got := WirePane(p); got != want {
							t.Fatalf("WirePane(%+v) = %+v, the encoding decodes to %+v", p, got, want)
						}
					}
				}
			}
		}
	}
}

func TestTimestampOrder(t *testing.T) {
	// Encoded timestamps sort like the times they encode.
	times := []window.Time{window.MinTime, -255, -1, 0, 1, 256, window.EndOfGlobalWindow, window.MaxTime}
	for i := 1; i < len(times); i++ {
		a, b := appendTime(nil, times[i-1]), appendTime(nil, times[i])
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("encoding of %d (%x) does not sort before %d (%x)", times[i-1], a, times[i], b)
		}
	}
	if got := appendTime(nil, 0); !bytes.Equal(got, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("appendTime(0) = %x, want 8000000000000000", got)
	}
}

func TestDecodedValuesDoNotAliasInput(t *testing.T) {
	c := NewKV(Bytes(), String())
	src := c.Encode(nil, KV[[]byte, string]{[]byte("key"), "value"})
	got, _, err := c.Decode(src)
	if err != nil {
		t.Fatal(err)
	}
	for i := range src {
		src[i] = 'X'
	}
	if string(got.Key) != "key" || got.Value != "value" {
		t.Errorf("decoded %q, %q changed with the input", got.Key, got.Value)
	}
}

func TestVarintEncodings(t *testing.T) {
	tests := []struct {
		v    int64
		want string
	}{
		{0, "00"}, {1, "01"}, {127, "7f"}, {128, "8001"}, {200, "c801"}, {-1, "ffffffffffffffffff01"},
	}
	for _, tt := range tests {
		got := fmt.Sprintf("%x", Varint[int64]().Encode(nil, tt.v))
		if got != tt.want {
			t.Errorf("Encode(%d) = %s, want %s", tt.v, got, tt.want)
		}
	}
	// Java writes negative 32-bit ints in five bytes; they decode too.
	if v, n, err := Varint[int32]().Decode([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}); v != -1 || n != 5 || err != nil {
		t.Errorf("Decode(ffffffff0f) = %d, %d, %v, want -1", v, n, err)
	}
}
