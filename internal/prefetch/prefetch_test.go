package prefetch

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestLineChangesNothing checks that a prefetch neither faults nor changes
// memory: of nil, and of live values. (Of an address outside any
// allocation it would not fault either, but Go's pointer checks, on under
// -race, reject making one.)
func TestLineChangesNothing(t *testing.T) {
	Line(nil)
	xs := []int64{1, 2, 3}
	Line(unsafe.Pointer(&xs[0]))
	Line(unsafe.Pointer(&xs[2]))
	if xs[0] != 1 || xs[1] != 2 || xs[2] != 3 {
		t.Fatalf("after prefetches: %v, want [1 2 3]", xs)
	}
}

// BenchmarkRandomReads reads a table larger than the caches at random
// places, each place depending on the value read before (its lowest bit
// picks one of two neighbouring words), so that the reads come one after
// another as a pipeline's dependent steps do: plain, and with the place
// aheadBy reads later prefetched first (its line is known: the bit only
// picks a word within it). On amd64 and arm64 the second takes a fraction
// of the first's time per read.
func BenchmarkRandomReads(b *testing.B) {
	const size, aheadBy = 1 << 23, 8 // 64 MiB of int64s
	table := make([]int64, size)
	for i := range table {
		table[i] = int64(i)
	}
	// idx holds even places, so that the place's bit flip stays in the
	// 16 bytes of its pair, in the line prefetched.
	r := rand.New(rand.NewPCG(1, 2))
	idx := make([]int32, 1<<16)
	for i := range idx {
		idx[i] = int32(r.IntN(size)) &^ 1
	}
	var sink int64
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			var last int64
			for _, i := range idx {
				last = table[int(i)^int(last&1)]
				sink += last
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(idx)), "ns/read")
	})
	b.Run("prefetched", func(b *testing.B) {
		for b.Loop() {
			var last int64
			for j, i := range idx {
				if j+aheadBy < len(idx) {
					Line(unsafe.Pointer(&table[idx[j+aheadBy]]))
				}
				last = table[int(i)^int(last&1)]
				sink += last
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(idx)), "ns/read")
	})
	if sink == 42 {
		b.Log(sink)
	}
}
