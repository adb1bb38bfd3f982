package testutil

import (
	"github.com/google/go-cmp/cmp"
)

// Options tunes the checkers and TestBoundedSource. A nil *Options means
// the defaults. It is a plain value; the checkers only read it.
type Options[T any] struct {
	// Cmp are the options for comparing records with cmp.Equal and showing
	// differences with cmp.Diff: cmp.Comparer, cmp.AllowUnexported,
	// cmpopts.EquateApprox and the like. Without them, records whose type
	// is made of numbers, strings and bools (also in arrays and structs of
	// exported fields) are compared with ==, the rest with cmp.Equal.
	Cmp []cmp.Option

	// Less, if set, orders records for the order-insensitive comparisons
	// (CheckSourcesEqualReference): two records are equal when neither is
	// less. Set it for large sources of records that == cannot compare;
	// without it such a comparison matches records pairwise, in quadratic
	// time. Order-sensitive comparisons never use it.
	Less func(a, b T) bool

	// MaxExhaustiveRecords is the largest number of records for which the
	// split checks are exhaustive, as in Beam: every number of records read
	// before splitting, and a bisection of [0, 1] down to fractions 0.001
	// apart. Larger sources get the sampled check (SampleReadBefore,
	// SampleFractions). Zero means 32; negative means no limit, whose cost
	// grows with the cube of the number of records.
	MaxExhaustiveRecords int

	// SampleReadBefore is, for a source larger than MaxExhaustiveRecords,
	// how many numbers of records to read before splitting: always 0, 1,
	// half, and the last three, the rest drawn at random. Zero means 16.
	SampleReadBefore int

	// SampleFractions is, for a source larger than MaxExhaustiveRecords,
	// how many random fractions to split at after each sampled number of
	// records, in addition to a bisection of [0, 1] down to fractions 1/32
	// apart and a binary search of the smallest and the largest fraction
	// that splits. Zero means 8.
	SampleFractions int

	// Seed seeds the sampling, so a failure can be replayed. The same seed
	// checks the same reads and fractions.
	Seed uint64

	// SkipConcurrent skips the concurrent part of
	// CheckSplitAtFractionExhaustive, in which one goroutine reads while
	// another splits.
	SkipConcurrent bool

	// ConcurrentTrialsPerRead caps the concurrent trials after each number
	// of records read (repeated until a trial split and one did not); zero
	// means 100, as in Beam.
	ConcurrentTrialsPerRead int

	// ConcurrentTrials caps all concurrent trials of one check; zero means
	// 1000, as in Beam.
	ConcurrentTrials int

	// Unsplittable declares, for TestBoundedSource, that the source's
	// trackers refuse every dynamic split (a compressed file, say): the
	// suite then checks that every split fails instead of looking for
	// splits that succeed.
	Unsplittable bool

	// BundleSizes are the desired bundle sizes TestBoundedSource passes to
	// Split. Empty means sizes derived from EstimateSize: the whole size,
	// a half, a third, a seventh, a 256th (at least 1: single bytes for a
	// small source) and a size larger than the source; for an unknown
	// size, 1, 1 KiB, 1 MiB and 1 TiB.
	BundleSizes []int64
}

func (o *Options[T]) orDefault() *Options[T] {
	if o == nil {
		return &Options[T]{}
	}
	return o
}

func (o *Options[T]) maxExhaustive() int {
	switch {
	case o.MaxExhaustiveRecords < 0:
		return int(^uint(0) >> 1)
	case o.MaxExhaustiveRecords == 0:
		return 32
	}
	return o.MaxExhaustiveRecords
}

func (o *Options[T]) sampleReadBefore() int { return positiveOr(o.SampleReadBefore, 16) }
func (o *Options[T]) sampleFractions() int  { return positiveOr(o.SampleFractions, 8) }
func (o *Options[T]) trialsPerRead() int    { return positiveOr(o.ConcurrentTrialsPerRead, 100) }
func (o *Options[T]) trialsTotal() int      { return positiveOr(o.ConcurrentTrials, 1000) }

func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
