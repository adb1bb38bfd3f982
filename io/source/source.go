// Package source is the contract of bounded sources — the Go counterpart of
// Beam's BoundedSource — and the Read transform that turns any source into a
// PCollection with parallel, dynamically splittable reads.
//
// A connector author implements Bounded: estimate a size, split into
// weighted bundles, make a RangeTracker for a position range, and read the
// records of a range, claiming each split-point record through the tracker
// before returning it. Runners may call TrySplit on that tracker from another
// goroutine at any time; the rangetracker package's trackers are safe for it.
// Hide the source behind a transform of your own (ReadFromX(s, ...)), as
// GenerateSequence hides CountingSource: users then never depend on it.
//
// # Read
//
// Read expands into sdk primitives: Impulse, a ParDo that calls Split,
// a Reshuffle of the bundles, and a ParDo that reads each bundle through a
// rangetracker.RestrictionTracker and offers it to the runner for dynamic
// splitting (sdk.RegisterSplittable). Bundles travel between workers encoded:
// sub-sources as the JSON of their exported fields (or with Codec), and
// positions with the coder of their type.
//
// # Testing
//
// Package testutil checks a source the way Beam's source_test_utils does:
// TestBoundedSource splits it at every fraction after every number of
// records read, and checks that no record is lost or read twice.
package source

import (
	"context"
	"iter"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// Bounded is a finite source of records of type T whose positions are of
// type P (int64 byte or record offsets for most sources).
//
// Implementations must be safe for concurrent use by several readers and
// splitters (each with its own tracker), and must not be mutated once a
// pipeline uses them. A source travels to workers by encoding (see Read), so
// its configuration belongs in exported fields.
type Bounded[T, P any] interface {
	// EstimateSize returns the approximate number of bytes the source reads
	// from storage (before decompression), or -1 if unknown.
	EstimateSize(ctx context.Context) (int64, error)
	// Split divides the source into bundles of about desiredBundleSize bytes
	// that together read exactly the records of the source.
	Split(ctx context.Context, desiredBundleSize int64) ([]Bundle[T, P], error)
	// DefaultRange returns the positions that bound the whole source.
	DefaultRange() (start, stop P)
	// NewRangeTracker returns a tracker for [start, stop).
	NewRangeTracker(start, stop P) rangetracker.RangeTracker[P]
	// Read yields the records of rt's range in order. Before yielding a
	// record at a split point it must call rt.TryClaim(position) and stop
	// when the claim fails; records that are not split points are reported
	// with rt.SetCurrentPosition. Read stops early when the consumer stops
	// the iteration. An error ends the sequence. ctx is the reading
	// DoFn's: metrics work with it, and it is valid until Read returns, so
	// it must not be kept by goroutines that outlive Read.
	Read(ctx context.Context, rt rangetracker.RangeTracker[P]) iter.Seq2[T, error]
}

// Bundle is one part of a split source: a source and the position range of
// it to read, with a relative weight (usually its size in bytes).
type Bundle[T, P any] struct {
	Weight float64
	Source Bounded[T, P]
	Start  P
	Stop   P
}
