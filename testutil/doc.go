// Package testutil is what authors of sources test with: checks that a
// source.Bounded reads every record exactly once however a runner splits
// it, before and while it reads — the Go counterpart of Beam Python's
// source_test_utils — and conformance suites for sources and RangeTrackers,
// in the manner of gocloud.dev's drivertest. It is meant for _test.go
// files.
//
// # One call
//
// A connector's test hands TestBoundedSource a function that makes the
// source, over a small input (10 to 30 records checks everything, fast):
//
//	func TestConformance(t *testing.T) {
//		testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[string, int64] {
//			return mysource.New(mysource.Options{Path: writeLines(t, 20)})
//		}, nil)
//	}
//
// It reads the source, splits it into bundles of several sizes, reads it
// reentrantly, and splits readers dynamically after every number of records
// at every fraction where the outcome changes, sequentially and racing the
// reader; each check is a subtest. A source whose trackers never split
// (a compressed file) says so with Options.Unsplittable, and the suite
// checks that every split is refused. Run it with -race.
//
// # Checkers
//
// The checks are also functions that return an error, in the style of
// testing/fstest.TestFS, for use in any test, table or fuzz target. They
// mirror source_test_utils function for function:
//
//	Beam Python                                       here
//	read_from_source                                  ReadFromSource, ReadAll
//	assert_sources_equal_reference_source             CheckSourcesEqualReference
//	assert_reentrant_reads_succeed                    CheckReentrantReads
//	assert_split_at_fraction_behavior                 CheckSplitAtFraction (Outcome)
//	assert_split_at_fraction_succeeds_and_consistent  CheckSplitAtFractionSucceedsAndConsistent
//	assert_split_at_fraction_fails                    CheckSplitAtFractionFails
//	assert_split_at_fraction_binary                   CheckSplitAtFractionBinary (SplitFractionStatistics)
//	assert_split_at_fraction_exhaustive               CheckSplitAtFractionExhaustive (ExhaustiveStats)
//
// The checkers check a source's DefaultRange; BundleSource makes any range
// a source's default range. They may run in parallel tests, on the same
// source too: each read has a tracker of its own. Their type parameters are
// inferred from the source's methods: CheckReentrantReads(ctx, src, nil).
//
// Beyond Beam, every read checks the reader's side of the tracker contract
// (a record returned before any successful TryClaim, after a failed one,
// or without TryClaim or SetCurrentPosition; a tracker error not returned),
// and a failed check says what went wrong in words before its cmp.Diff:
//
//	testutil: after reading 1 record of [0, 70), split at fraction 0.5
//	(position 35): the primary [0, 35) (5 records) and the residual [35, 70)
//	(4 records) lost 1 record: "line 5" (record #5, at position 35, the
//	split position)
//
// Other messages name a split the tracker accepted at a consumed position,
// a reader that went on past a new stop, the bundles that read a record
// twice, and, for a failure seen only while the split raced the reader, a
// tracker whose TryClaim and TrySplit are not atomic.
//
// Records are compared with == when their type is made of numbers, strings
// and bools, and with cmp.Equal and Options.Cmp otherwise. Bundles may read
// their records in any order; the halves of a split must read them in the
// order of the unsplit read.
//
// # Cost
//
// The exhaustive check makes O(n²) split attempts on a source of n records
// (2,300 for 25 records, 22,000 for 100, 525,000 for 1,000), each reading
// the source about twice: cubic time. So it is exhaustive up to
// Options.MaxExhaustiveRecords records (32; 20 records take 0.07 s, 0.5 s
// with -race), and beyond it samples, reproducibly with Options.Seed: 16
// numbers of records read (always the first and last few) and, after
// each, about 50 fractions (a coarse bisection, both edges of the
// fractions that split, random ones). On a 1,000-record in-memory source
// the sampled check takes about 0.35 s, or 5 s with -race; the full one
// (MaxExhaustiveRecords -1) takes over 4 minutes.
//
// # Differences from Beam
//
// A PositionAtFraction error counts as a refused split, as it does for a
// runner. Reentrant reads are checked after each of 1 to n-1 records
// (Beam stops at n-2, and checks nothing for 2 records). The concurrent
// trials pick, at random, which of reader and splitter starts first, so
// both outcomes occur even on a busy or single-processor machine. There is
// no coder check: Go's types make records of one source one type.
//
// # Trackers
//
// TestRangeTracker runs the RangeTracker conformance suite of package
// rangetracker/rangetrackertest; a source with a tracker of its own runs it
// beside TestBoundedSource.
package testutil
