package rangetracker_test

import (
	"bytes"
	"cmp"
	"testing"

	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/rangetracker/rangetrackertest"
)

func newOffset(start, stop int64) rangetracker.RangeTracker[int64] {
	return rangetracker.NewOffset(start, stop)
}

func newKey(start, stop []byte) rangetracker.RangeTracker[[]byte] {
	return rangetracker.NewLexicographicKey(start, stop)
}

func span(from, to int64) []int64 {
	var ps []int64
	for p := from; p <= to; p++ {
		ps = append(ps, p)
	}
	return ps
}

func keys(ss ...string) [][]byte {
	ks := make([][]byte, len(ss))
	for i, s := range ss {
		ks[i] = []byte(s)
	}
	return ks
}

// linear orders float64 positions with linear fractions, like Beam's
// DoubleRangeTracker test tracker.
var linear = rangetracker.Ordering[float64]{
	Compare:  cmp.Compare[float64],
	Fraction: func(pos, start, stop float64) float64 { return (pos - start) / (stop - start) },
	Position: func(f, start, stop float64) (float64, error) { return start + (stop-start)*f, nil },
}

// harnesses are the trackers of this package as the conformance suite sees
// them, with their capabilities; the stress test reuses them.
var harnesses = []struct {
	name string
	run  func(t *testing.T, trials int)
}{
	{"offset dense", int64Harness(rangetrackertest.Harness[int64]{
		NewTracker: newOffset, Positions: span(99, 130), Compare: cmp.Compare[int64],
	}, rangetrackertest.Capabilities{Splittable: true, FractionTolerance: 1.0 / 29})},
	{"offset sparse", int64Harness(rangetrackertest.Harness[int64]{
		NewTracker: newOffset, Positions: []int64{0, 5, 17, 18, 40, 41, 77, 100, 101, 180, 250, 251},
		Compare: cmp.Compare[int64],
	}, rangetrackertest.Capabilities{Splittable: true, FractionTolerance: 1.0 / 245})},
	{"offset beyond 2^53", int64Harness(rangetrackertest.Harness[int64]{
		NewTracker: newOffset, Positions: []int64{1 << 60, 1<<60 + 1, 1 << 61, 1 << 62, 1<<62 + 7, 3 << 61, 1<<63 - 2, 1<<63 - 1},
		Compare: cmp.Compare[int64],
	}, rangetrackertest.Capabilities{Splittable: true})},
	{"unsplittable offset", int64Harness(rangetrackertest.Harness[int64]{
		NewTracker: func(start, stop int64) rangetracker.RangeTracker[int64] {
			return rangetracker.NewUnsplittable(newOffset(start, stop))
		},
		Positions: span(0, 20), Compare: cmp.Compare[int64],
	}, rangetrackertest.Capabilities{Splittable: false, FractionTolerance: 1.0 / 18})},
	{"ordered float", func(t *testing.T, trials int) {
		var ps []float64
		for i := range 40 {
			ps = append(ps, float64(i)/4)
		}
		run(t, rangetrackertest.Harness[float64]{
			NewTracker: func(start, stop float64) rangetracker.RangeTracker[float64] {
				return rangetracker.NewOrdered(start, stop, linear)
			},
			Positions: ps, Compare: cmp.Compare[float64],
		}, rangetrackertest.Capabilities{Splittable: true, SplitBeforeFirstClaim: true}, trials)
	}},
	{"lexicographic key", func(t *testing.T, trials int) {
		run(t, rangetrackertest.Harness[[]byte]{
			NewTracker: newKey,
			Positions: keys("a", "b", "b\x00", "b\x00\x01", "b1", "ba", "bb\xff", "c", "c\xff\xff", "d", "da", "dab",
				"e", "e\x00", "ef", "f", "g"),
			Compare: bytes.Compare,
		}, rangetrackertest.Capabilities{Splittable: true, SplitBeforeFirstClaim: true}, trials)
	}},
	{"lexicographic key with a long common prefix", func(t *testing.T, trials int) {
		const p = "common/prefix/of/every/key/in/this/range/"
		run(t, rangetrackertest.Harness[[]byte]{
			NewTracker: newKey,
			Positions:  keys(p+"0", p+"a", p+"a0", p+"b", p+"c", p+"c\x00", p+"d", p+"e"),
			Compare:    bytes.Compare,
		}, rangetrackertest.Capabilities{Splittable: true, SplitBeforeFirstClaim: true}, trials)
	}},
	{"unsplittable key", func(t *testing.T, trials int) {
		run(t, rangetrackertest.Harness[[]byte]{
			NewTracker: func(start, stop []byte) rangetracker.RangeTracker[[]byte] {
				return rangetracker.NewUnsplittable(newKey(start, stop))
			},
			Positions: keys("a", "b", "c", "d", "e", "f", "g"),
			Compare:   bytes.Compare,
		}, rangetrackertest.Capabilities{Splittable: false}, trials)
	}},
}

func int64Harness(h rangetrackertest.Harness[int64], caps rangetrackertest.Capabilities) func(*testing.T, int) {
	return func(t *testing.T, trials int) { run(t, h, caps, trials) }
}

// run runs the conformance suite, or with trials > 0 only the concurrent
// check with that many trials.
func run[P any](t *testing.T, h rangetrackertest.Harness[P], caps rangetrackertest.Capabilities, trials int) {
	t.Helper()
	if trials == 0 {
		rangetrackertest.RunConformanceTests(t, h, caps)
		return
	}
	opts := rangetrackertest.ConcurrentOptions{Trials: trials, Splitters: 3, Seed: 20240601}
	if err := rangetrackertest.CheckConcurrentSplits(h, caps, opts); err != nil {
		t.Error(err)
	}
}

func TestConformance(t *testing.T) {
	for _, h := range harnesses {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			h.run(t, 0)
		})
	}
}
