package operator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// benchLines returns about size bytes of lines of Zipf-distributed words.
func benchLines(size int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, 1.1, 1, 200000)
	var lines []string
	var b strings.Builder
	for n := 0; n < size; {
		b.Reset()
		for range 12 {
			fmt.Fprintf(&b, "w%x ", z.Uint64())
		}
		lines = append(lines, b.String())
		n += b.Len()
	}
	return lines
}

type countKV struct{ n int }

func (c *countKV) Receive(window.Value[KV[string, int64]]) error { c.n++; return nil }

func splitWords(line string, emit func(string)) {
	for w := range strings.FieldsSeq(line) {
		emit(w)
	}
}

// BenchmarkFusedCount measures the per-element cost of a fused word count
// stage: FlatMap (split words) -> Map (KV with 1) -> precombine (count).
func BenchmarkFusedCount(b *testing.B) {
	lines := benchLines(8 << 20)
	words := 0
	for _, l := range lines {
		words += len(strings.Fields(l))
	}
	ctx := context.Background()
	out := &countKV{}
	pre := newPrecombine[int64]("Count", countFn[int64]{}, out, true)
	keyed := NewFuncOp(&Env{UniqueName: "Key"}, Func[string, KV[string, int64]]{
		One: keyByElement[string], Builtin: true,
	}, Receiver[KV[string, int64]](pre))
	split := NewFuncOp(&Env{UniqueName: "Split"}, Func[string, string]{Call: splitWords}, Receiver[string](keyed))
	ops := []Operator{split, keyed, pre}
	for _, op := range ops {
		if err := op.Setup(ctx); err != nil {
			b.Fatal(err)
		}
	}
	wins := window.GlobalWindows()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, op := range ops {
			if err := op.StartBundle(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for _, l := range lines {
			if err := split.Receive(window.Value[string]{Elem: l, Windows: wins, Timestamp: window.MinTime}); err != nil {
				b.Fatal(err)
			}
		}
		for _, op := range ops {
			if err := op.FinishBundle(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(words), "ns/word")
}

func keyByElement[T any](v T) KV[T, int64] { return KV[T, int64]{Key: v, Value: 1} }

// BenchmarkPlainCount is BenchmarkFusedCount's work by hand: the floor.
func BenchmarkPlainCount(b *testing.B) {
	lines := benchLines(8 << 20)
	words := 0
	for _, l := range lines {
		words += len(strings.Fields(l))
	}
	b.ResetTimer()
	for b.Loop() {
		m := map[string]int32{}
		var accs []int64
		for _, l := range lines {
			splitWords(l, func(w string) {
				i, ok := m[w]
				if !ok {
					i = int32(len(accs))
					accs = append(accs, 0)
					m[strings.Clone(w)] = i
				}
				accs[i]++
			})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(words), "ns/word")
}
