package coder

import (
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// hotCase is a coder on a hot path with a sample value and the most heap
// allocations Decode may make: none, or one for the decoded string or
// slice itself.
type hotCase struct {
	name        string
	c           Any
	encode      func(dst []byte) []byte
	decode      func(src []byte) error
	decodeAlloc float64
}

func hot[T any](name string, c Coder[T], v T, decodeAlloc float64) hotCase {
	return hotCase{
		name:        name,
		c:           Erase(c),
		encode:      func(dst []byte) []byte { return c.Encode(dst, v) },
		decode:      func(src []byte) error { _, _, err := c.Decode(src); return err },
		decodeAlloc: decodeAlloc,
	}
}

func hotCases() []hotCase {
	type ID int64
	idCoder, _ := Of[ID]()
	return []hotCase{
		hot("varint", Varint[int64](), 1<<40, 0),
		hot("varint of a defined type", idCoder, ID(-5), 0),
		hot("string", String(), "a short string", 1),
		hot("bytes", Bytes(), []byte("some bytes"), 1),
		hot("double", Double(), 3.25, 0),
		hot("bool", Bool(), true, 0),
		hot("kv of ints", NewKV(Varint[int](), Double()), KV[int, float64]{7, 1.5}, 0),
		hot("kv of string and int", NewKV(String(), Varint[int64]()), KV[string, int64]{"word", 42}, 1),
		hot("windowed value in the global window", NewWindowedValue(Varint[int64](), GlobalWindow()), window.InGlobalWindow[int64](9), 0),
		hot("windowed kv in the global window", NewWindowedValue(NewKV(String(), Varint[int64]()), GlobalWindow()),
			window.InGlobalWindow(KV[string, int64]{"word", 1}), 1),
		hot("windowed value in an interval window", NewWindowedValue(Varint[int64](), IntervalWindow()),
			window.Value[int64]{Elem: 3, Timestamp: 10, Windows: []window.Window{window.Interval(0, 60000)}, Pane: window.OnTimePane()}, 1),
		hot("param windowed value", NewParamWindowedValue(Varint[int](), GlobalWindow(), window.MinTime, window.GlobalWindows(), window.NoFiringPane()),
			window.InGlobalWindow(1), 0),
		hot("length prefix", LengthPrefix(Varint[int64]()), int64(300), 0),
	}
}

// TestHotPathsDoNotAllocate checks the allocation budget of the hot coders:
// Encode into a buffer with room allocates nothing, Decode allocates at
// most the decoded value.
func TestHotPathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, hc := range hotCases() {
		t.Run(hc.name, func(t *testing.T) {
			buf := make([]byte, 0, 256)
			if n := testing.AllocsPerRun(100, func() { buf = hc.encode(buf[:0]) }); n != 0 {
				t.Errorf("Encode allocates %v times, want 0", n)
			}
			enc := slices.Clone(buf)
			if n := testing.AllocsPerRun(100, func() {
				if err := hc.decode(enc); err != nil {
					t.Fatal(err)
				}
			}); n > hc.decodeAlloc {
				t.Errorf("Decode allocates %v times, want at most %v", n, hc.decodeAlloc)
			}
			if n := testing.AllocsPerRun(100, func() { _, _ = hc.c.Skip(enc) }); n != 0 {
				t.Errorf("Skip allocates %v times, want 0", n)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, hc := range hotCases() {
		b.Run(hc.name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				buf = hc.encode(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, hc := range hotCases() {
		b.Run(hc.name, func(b *testing.B) {
			enc := hc.encode(nil)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := hc.decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRow(b *testing.B) {
	c := mustOfTB[address](b)
	v := address{"1 Main St", "Springfield"}
	enc := c.Encode(nil, v)
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			buf = c.Encode(buf[:0], v)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIterable(b *testing.B) {
	values := make([]int64, 1000)
	for i := range values {
		values[i] = int64(i * i)
	}
	c, seq := NewIterable(Varint[int64]()), NewIterSeq(Varint[int64]())
	enc := c.Encode(nil, values)
	b.Run("slice decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lazy decode and range", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			s, _, err := seq.Decode(enc)
			if err != nil {
				b.Fatal(err)
			}
			for range s {
			}
		}
	})
}
