package reduce

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/sdk/window"
)

// BenchmarkAddDefault feeds 1M elements of 10k keys, in bundles of 1000 with
// timestamps rising over 20s, through Fixed(10s) windows and the default
// trigger; the input watermark follows the bundles, so windows fire and are
// collected as they would in a stream.
func BenchmarkAddDefault(b *testing.B) {
	const elements, keys, bundle = 1_000_000, 10_000, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	fn := window.FixedFn(10 * time.Second)
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "key-%05d", i)
	}
	value := []byte("12345678")
	es := make([]Element, elements)
	for i := range es {
		ts := window.Time(int64(i) * 20_000 / elements)
		es[i] = Element{Key: keyBytes[rng.IntN(keys)], Value: value, Timestamp: ts, Windows: fn.Assign(nil, ts)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	panes := 0
	for range b.N {
		r, err := New(Strategy{WindowFn: fn, OnTimeAlways: true})
		if err != nil {
			b.Fatal(err)
		}
		t := Times{Input: window.MinTime, Output: window.MinTime}
		for start := 0; start < elements; start += bundle {
			panes += len(r.Add(es[start:start+bundle], t))
			t.Input = es[start].Timestamp - 1000 // the watermark lags a second
			t.Output = min(t.Input, r.Hold())
			panes += len(r.Advance(t))
		}
		t.Input = window.MaxTime
		t.Output = min(t.Input, r.Hold())
		panes += len(r.Advance(t))
		if r.Pending() != 0 {
			b.Fatalf("Pending() = %d at the end", r.Pending())
		}
	}
	b.StopTimer()
	if want := 2 * keys * b.N; panes != want {
		b.Fatalf("%d panes, want %d", panes, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*elements), "ns/element")
}

// BenchmarkMapBaseline is the floor BenchmarkAddDefault compares with on the
// same machine: the same keys appended to a map of slices, no windows, no
// triggers, no holds.
func BenchmarkMapBaseline(b *testing.B) {
	const elements, keys = 1_000_000, 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "key-%05d", i)
	}
	order := make([]int, elements)
	for i := range order {
		order[i] = rng.IntN(keys)
	}
	value := []byte("12345678")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m := make(map[string][]byte)
		for _, k := range order {
			m[string(keyBytes[k])] = append(m[string(keyBytes[k])], value...)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*elements), "ns/element")
}
