package source

import (
	"context"
	"fmt"
	"iter"

	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/sdk"
)

// CountingSource is the bounded source of the integers in [From, To), each
// at its own offset: the counting source of Beam's guide to writing
// sources. Its positions are the integers themselves, and every integer is
// a split point. It is a plain value, safe for concurrent use.
type CountingSource struct {
	From, To int64
}

var _ Bounded[int64, int64] = CountingSource{}

// bytesPerRecord is the size CountingSource reports per integer, so that
// Read's bundle sizes (in bytes) become record counts.
const bytesPerRecord = 8

// EstimateSize returns 8 bytes per integer.
func (c CountingSource) EstimateSize(context.Context) (int64, error) {
	return bytesPerRecord * max(0, c.To-c.From), nil
}

// Split cuts [From, To) into ranges of desiredBundleSize/8 integers (at
// least one).
func (c CountingSource) Split(_ context.Context, desiredBundleSize int64) ([]Bundle[int64, int64], error) {
	n := max(1, desiredBundleSize/bytesPerRecord)
	var out []Bundle[int64, int64]
	for start := c.From; start < c.To; {
		stop := c.To
		if c.To-start > n {
			stop = start + n
		}
		out = append(out, Bundle[int64, int64]{Weight: float64(stop - start), Source: c, Start: start, Stop: stop})
		start = stop
	}
	return out, nil
}

// DefaultRange returns [From, To).
func (c CountingSource) DefaultRange() (start, stop int64) { return c.From, c.To }

// NewRangeTracker returns an offset tracker of [start, stop).
func (c CountingSource) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	return rangetracker.NewOffset(start, stop)
}

// Read yields the integers of rt's range, claiming each.
func (c CountingSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for i := rt.StartPosition(); ; i++ {
			if i >= c.To {
				// Past the source's end: nothing more to claim, even if
				// the range reaches further.
				return
			}
			ok, err := rt.TryClaim(i)
			if err != nil {
				yield(0, fmt.Errorf("source: counting [%d, %d): %w", c.From, c.To, err))
				return
			}
			if !ok || !yield(i, nil) {
				return
			}
			if i&1023 == 0 && ctx.Err() != nil {
				yield(0, ctx.Err())
				return
			}
		}
	}
}

// GenerateSequence returns the integers in [from, to), read in parallel
// from a CountingSource: Beam's GenerateSequence for bounded ranges.
func GenerateSequence(s sdk.Scope, from, to int64) sdk.PCollection[int64] {
	return Read[int64, int64](s, CountingSource{From: from, To: to}, Name(fmt.Sprintf("GenerateSequence(%d, %d)", from, to)))
}
