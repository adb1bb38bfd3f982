package testutil

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker/rangetrackertest"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// TestBoundedSource runs every check of this package on the sources that
// newSource makes, each check as a subtest with a source of its own:
//
//   - read: the default range reads at least 2 records, the same each time
//     (ReadAll), and the reader keeps the tracker contract;
//   - estimate size: EstimateSize succeeds, with a size >= 0 or -1;
//   - split into bundles: for each of Options.BundleSizes, Split returns
//     bundles of finite, non-negative weights that together read the
//     source's records (CheckSourcesEqualReference);
//   - reentrant reads: CheckReentrantReads;
//   - split at fraction: CheckSplitAtFractionExhaustive, concurrent part
//     included; for a source declared Options.Unsplittable, every split
//     must fail instead;
//   - split at fraction within a bundle: the same for a range from the
//     middle of the source, a bundle of Split.
//
// The checks are exhaustive for sources of up to Options.MaxExhaustiveRecords
// records and sampled beyond; a source of 10 to 30 records checks quickly
// and thoroughly. Run it with the race detector. nil opts means defaults.
func TestBoundedSource[T, P any](t *testing.T, newSource func(t *testing.T) source.Bounded[T, P], opts *Options[T]) {
	t.Helper()
	opts = opts.orDefault()
	run := func(name string, check func(ctx context.Context, t *testing.T, src source.Bounded[T, P])) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			src := newSource(t)
			if src == nil {
				t.Fatal("testutil: newSource returned nil")
			}
			check(t.Context(), t, src)
		})
	}
	run("read", func(ctx context.Context, t *testing.T, src source.Bounded[T, P]) {
		if err := checkRead(ctx, src, opts); err != nil {
			t.Error(err)
		}
	})
	run("estimate size", func(ctx context.Context, t *testing.T, src source.Bounded[T, P]) {
		size, err := src.EstimateSize(ctx)
		if err != nil {
			t.Errorf("EstimateSize() = %d, %v; want no error", size, err)
		} else if size < -1 {
			t.Errorf("EstimateSize() = %d, want a size >= 0, or -1 for unknown", size)
		}
	})
	run("split into bundles", func(ctx context.Context, t *testing.T, src source.Bounded[T, P]) {
		sizes, err := bundleSizes(ctx, src, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range sizes {
			if err := checkSplit(ctx, src, size, opts); err != nil {
				t.Error(err)
			}
		}
	})
	run("reentrant reads", func(ctx context.Context, t *testing.T, src source.Bounded[T, P]) {
		if err := CheckReentrantReads(ctx, src, opts); err != nil {
			t.Error(err)
		}
	})
	run("split at fraction", func(ctx context.Context, t *testing.T, src source.Bounded[T, P]) {
		checkSplitAtFractions(ctx, t, src, opts)
	})
	run("split at fraction within a bundle", func(ctx context.Context, t *testing.T, src source.Bounded[T, P]) {
		b, err := middleBundle(ctx, src, opts)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			t.Skip("no bundle of Split reads 2 records or more; the split checks need 2")
		}
		t.Logf("checking the bundle %s", rangeString(b.Start, b.Stop))
		checkSplitAtFractions(ctx, t, BundleSource(*b), opts)
	})
}

// checkRead reads the default range twice, once with ReadAll and once with
// ReadFromSource, and wants 2 records or more, the same both times.
func checkRead[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) error {
	t, err := newTarget(ctx, src, opts)
	if err != nil {
		return err
	}
	if len(t.expected) < 2 {
		return fmt.Errorf("testutil: the source reads %s; the suite needs at least 2 to check splitting (give it a larger source)", recordcmp.Plural(len(t.expected), "record"))
	}
	again, err := ReadFromSource(ctx, src, t.start, t.stop)
	if err != nil {
		return fmt.Errorf("testutil: reading %s a second time: %w", t.rangeString(), err)
	}
	if !t.cmp.EqualSlices(t.expected, again) {
		return fmt.Errorf("testutil: two reads of %s differ: a source must read the same records every time\n(-first +second):\n%s", t.rangeString(), t.cmp.Diff(t.expected, again))
	}
	return nil
}

// bundleSizes returns the desired bundle sizes to split at.
func bundleSizes[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) ([]int64, error) {
	if len(opts.BundleSizes) > 0 {
		return opts.BundleSizes, nil
	}
	est, err := src.EstimateSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("testutil: EstimateSize: %w", err)
	}
	if est <= 0 {
		return []int64{1, 1 << 10, 1 << 20, 1 << 40}, nil
	}
	// est/maxBundles is the finest: 1 byte for small sources, every
	// boundary there is; a few hundred bundles for large ones.
	sizes := []int64{est, est / 2, est / 3, est / 7, max(1, est/maxBundles), est * 4}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	return slices.DeleteFunc(sizes, func(s int64) bool { return s <= 0 }), nil
}

// maxBundles bounds the number of bundles of the finest split the suite
// asks for (when the source's size is known).
const maxBundles = 256

// checkSplit splits src into bundles of about size and checks them.
func checkSplit[T, P any](ctx context.Context, src source.Bounded[T, P], size int64, opts *Options[T]) error {
	bundles, err := src.Split(ctx, size)
	if err != nil {
		return fmt.Errorf("testutil: Split(%d): %w", size, err)
	}
	if len(bundles) == 0 {
		return fmt.Errorf("testutil: Split(%d) returned no bundles", size)
	}
	for i, b := range bundles {
		if !(b.Weight >= 0) || math.IsInf(b.Weight, 0) {
			return fmt.Errorf("testutil: Split(%d): bundle %d %s has weight %v, want a finite weight >= 0", size, i, rangeString(b.Start, b.Stop), b.Weight)
		}
	}
	if err := CheckSourcesEqualReference(ctx, src, bundles, opts); err != nil {
		return fmt.Errorf("Split(%d) into %s: %w", size, recordcmp.Plural(len(bundles), "bundle"), err)
	}
	return nil
}

// middleBundle returns a bundle of src from the middle that reads at least
// 2 records, or nil if there is none.
func middleBundle[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) (*source.Bundle[T, P], error) {
	est, err := src.EstimateSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("testutil: EstimateSize: %w", err)
	}
	size := int64(1 << 20)
	if est > 0 {
		size = max(est/3, 1)
	}
	bundles, err := src.Split(ctx, size)
	if err != nil {
		return nil, fmt.Errorf("testutil: Split(%d): %w", size, err)
	}
	// Try the middle bundle first, then the others outward from it.
	mid := len(bundles) / 2
	for d := 0; d <= len(bundles); d++ {
		for _, i := range []int{mid + d, mid - d - 1} {
			if i < 0 || i >= len(bundles) || bundles[i].Source == nil {
				continue
			}
			b := bundles[i]
			recs, err := ReadFromSource(ctx, b.Source, b.Start, b.Stop)
			if err != nil {
				return nil, fmt.Errorf("testutil: reading bundle %d %s of Split(%d): %w", i, rangeString(b.Start, b.Stop), size, err)
			}
			if len(recs) >= 2 {
				return &b, nil
			}
		}
	}
	return nil, nil
}

// checkSplitAtFractions runs the exhaustive check, or for an unsplittable
// source checks that every split fails.
func checkSplitAtFractions[T, P any](ctx context.Context, t *testing.T, src source.Bounded[T, P], opts *Options[T]) {
	t.Helper()
	if opts.Unsplittable {
		n, err := checkUnsplittable(ctx, src, opts)
		if err != nil {
			t.Error(err)
		}
		t.Logf("%s refused as expected", recordcmp.Plural(n, "split"))
		return
	}
	stats, err := CheckSplitAtFractionExhaustive(ctx, src, opts)
	if err != nil {
		t.Error(err)
		return
	}
	mode := "exhaustive"
	if !stats.Exhaustive {
		mode = "sampled"
	}
	t.Logf("%s check of %s: %d split attempts after %d numbers of records read, %d succeeded, %d with a non-empty residual; %d concurrent trials, %d won by the split (capped: %v)",
		mode, recordcmp.Plural(stats.Records, "record"), stats.Splits, len(stats.ReadBefore), stats.Successful, stats.NonTrivial,
		stats.ConcurrentTrials, stats.ConcurrentSplits, stats.ConcurrentCapped)
}

// unsplittableFractions are where checkUnsplittable tries to split.
var unsplittableFractions = []float64{0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1}

// checkUnsplittable checks that every split of src fails, after reading
// each number of records (a sample for large sources), and returns how
// many splits it tried.
func checkUnsplittable[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) (int, error) {
	t, err := newTarget(ctx, src, opts)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(t.opts.Seed, 0x5a11))
	n := 0
	for _, i := range t.readBefore(len(t.expected) <= t.opts.maxExhaustive(), 0, rng) {
		for _, f := range unsplittableFractions {
			n++
			if _, err := t.splitAt(i, f, MustFail); err != nil {
				return n, fmt.Errorf("%w (the source is declared unsplittable)", err)
			}
		}
	}
	return n, nil
}

// TrackerHarness describes a RangeTracker implementation to TestRangeTracker:
// how to make one, positions to claim, and how to order them. It is
// rangetrackertest.Harness.
type TrackerHarness[P any] = rangetrackertest.Harness[P]

// TrackerCapabilities declares what a RangeTracker can do (split at all,
// split before the first claim) and the fraction tolerance. It is
// rangetrackertest.Capabilities.
type TrackerCapabilities = rangetrackertest.Capabilities

// TestRangeTracker runs the RangeTracker conformance suite of package
// rangetracker/rangetrackertest: claims, non-split-point records, splits
// after every number of claims at every candidate position, split points,
// fractions, and a reader racing splitters. A source with a tracker of its
// own runs it beside TestBoundedSource:
//
//	testutil.TestRangeTracker(t, testutil.TrackerHarness[int64]{
//		NewTracker: func(start, stop int64) rangetracker.RangeTracker[int64] { return newMyTracker(start, stop) },
//		Positions:  []int64{0, 10, 20, 30, 40, 50, 60},
//		Compare:    cmp.Compare[int64],
//	}, testutil.TrackerCapabilities{Splittable: true, FractionTolerance: 1.0 / 40})
func TestRangeTracker[P any](t *testing.T, h TrackerHarness[P], caps TrackerCapabilities) {
	t.Helper()
	rangetrackertest.RunConformanceTests(t, h, caps)
}
