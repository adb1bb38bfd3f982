package testutil_test

import (
	"cmp"
	"testing"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil"
)

func TestBoundedSourceOfCorrectSources(t *testing.T) {
	t.Run("lines, each a split point", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(*testing.T) source.Bounded[string, int64] {
			return &lineSource{Lines: lines(20)}
		}, nil)
	})
	t.Run("lines in blocks of three, only block starts split points", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(*testing.T) source.Bounded[string, int64] {
			return &lineSource{Lines: lines(20), Block: 3}
		}, nil)
	})
	t.Run("unsplittable lines", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(*testing.T) source.Bounded[string, int64] {
			return &lineSource{Lines: lines(12), Unsplittable: true}
		}, &testutil.Options[string]{Unsplittable: true})
	})
	t.Run("keys, positioned by key", func(t *testing.T) {
		testutil.TestBoundedSource(t, func(*testing.T) source.Bounded[entry, []byte] {
			return &keySource{Entries: entries(20)}
		}, nil)
	})
	t.Run("more lines than the exhaustive limit, sampled", func(t *testing.T) {
		if testing.Short() {
			t.Skip("takes seconds with -race")
		}
		testutil.TestBoundedSource(t, func(*testing.T) source.Bounded[string, int64] {
			return &lineSource{Lines: lines(150)}
		}, &testutil.Options[string]{Seed: 7})
	})
}

func TestRangeTrackerRunsTheTrackerSuite(t *testing.T) {
	var ps []int64
	for p := int64(0); p < 12; p++ {
		ps = append(ps, p*5)
	}
	testutil.TestRangeTracker(t, testutil.TrackerHarness[int64]{
		NewTracker: func(start, stop int64) rangetracker.RangeTracker[int64] { return rangetracker.NewOffset(start, stop) },
		Positions:  ps,
		Compare:    cmp.Compare[int64],
	}, testutil.TrackerCapabilities{Splittable: true, FractionTolerance: 1.0 / 45})
}
