package testutil_test

import (
	"context"
	"fmt"
	"iter"
	"log"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil"
)

// sliceSource is about the smallest correct source: the records of a
// slice, each at its index, each a split point.
type sliceSource[T any] struct {
	Records []T
}

func (s *sliceSource[T]) EstimateSize(context.Context) (int64, error) {
	return int64(len(s.Records)), nil
}

// Split returns bundles of size records each.
func (s *sliceSource[T]) Split(ctx context.Context, size int64) ([]source.Bundle[T, int64], error) {
	size = max(size, 1)
	var bs []source.Bundle[T, int64]
	for start := int64(0); start < int64(len(s.Records)); start += size {
		stop := min(start+size, int64(len(s.Records)))
		bs = append(bs, source.Bundle[T, int64]{Weight: float64(stop - start), Source: s, Start: start, Stop: stop})
	}
	return bs, nil
}

func (s *sliceSource[T]) DefaultRange() (int64, int64) { return 0, int64(len(s.Records)) }

func (s *sliceSource[T]) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	return rangetracker.NewOffset(start, stop)
}

// Read claims each record before returning it, and stops at the first
// claim that fails: the stop may have moved since the read began.
func (s *sliceSource[T]) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for i := rt.StartPosition(); i < int64(len(s.Records)); i++ {
			ok, err := rt.TryClaim(i)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			if !ok || !yield(s.Records[i], nil) {
				return
			}
		}
	}
}

// In a test, one call runs every check:
//
//	func TestSliceSource(t *testing.T) {
//		testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[string, int64] {
//			return &sliceSource[string]{Records: []string{"a", "b", "c", "d", "e", "f", "g", "h"}}
//		}, nil)
//	}
//
// The checkers it runs can also be called one by one.
func Example() {
	ctx := context.Background()
	var src source.Bounded[string, int64] = &sliceSource[string]{Records: []string{"a", "b", "c", "d", "e", "f", "g", "h"}}

	recs, err := testutil.ReadFromSource(ctx, src, 2, 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("records in [2, 5):", recs)

	bundles, err := src.Split(ctx, 3)
	if err != nil {
		log.Fatal(err)
	}
	if err := testutil.CheckSourcesEqualReference(ctx, src, bundles, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("bundles of 3 read every record once:", len(bundles), "bundles")

	res, err := testutil.CheckSplitAtFractionSucceedsAndConsistent(ctx, src, 2, 0.5, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("split at 0.5 after 2 records: %+v\n", res)

	stats, err := testutil.CheckSplitAtFractionExhaustive(ctx, src, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("exhaustive: %d records, %d split attempts, %d succeeded, %d left records to the residual\n",
		stats.Records, stats.Splits, stats.Successful, stats.NonTrivial)
	// Output:
	// records in [2, 5): [c d e]
	// bundles of 3 read every record once: 3 bundles
	// split at 0.5 after 2 records: {Split:true Primary:4 Residual:4}
	// exhaustive: 8 records, 350 split attempts, 224 succeeded, 224 left records to the residual
}
