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

type countAccs struct{ n, windows int }

func (c *countAccs) Receive(v window.Value[KV[int64, int64]]) error {
	c.n++
	c.windows += len(v.Windows)
	return nil
}

// BenchmarkPrecombineSliding measures the windowed precombine on a stream
// like the bids benchmark's bounded job: 10k int64 keys at random, time
// running forward at 10 elements a millisecond with up to 500 ms of
// jitter, sliding windows of 10 s every 2 s, a bundle of 1.25M elements.
func BenchmarkPrecombineSliding(b *testing.B) {
	const (
		keys, elems    = 10_000, 1_250_000
		size, period   = 10_000, 2_000
		jitter, perMs  = 500, 10
		elemsPerBundle = elems
		winsPerElement = size / period
	)
	type elem struct {
		k  int64
		ws []window.Window
	}
	r := rand.New(rand.NewPCG(5, 6))
	in := make([]elem, elems)
	all := make([]window.Window, 0, elems*winsPerElement)
	for i := range in {
		ts := int64(i)/perMs - r.Int64N(jitter)
		last := ts - ((ts%period)+period)%period
		start := len(all)
		for s := last - size + period; s <= last; s += period {
			all = append(all, window.Interval(window.Time(s), window.Time(s+size)))
		}
		in[i] = elem{k: r.Int64N(keys), ws: all[start:len(all):len(all)]}
	}
	ctx := context.Background()
	out := &countAccs{}
	pre := &precombine[int64, int64, int64, int64]{env: testEnv("Sum"), fn: sumFn{}, next: out, builtin: true, endOfWindow: true, tallyKind: TallySum}
	if err := pre.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	sink := pre.elemSink()
	var m elemMeta
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := pre.StartBundle(ctx); err != nil {
			b.Fatal(err)
		}
		for _, e := range in {
			m.Windows = e.ws
			if err := sink(KV[int64, int64]{Key: e.k, Value: 1}, &m); err != nil {
				b.Fatal(err)
			}
		}
		if err := pre.FinishBundle(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(elemsPerBundle), "ns/elem")
	b.ReportMetric(float64(out.n)/float64(b.N), "accs/bundle")
	b.ReportMetric(float64(out.windows)/float64(b.N), "wins/bundle")
}
