// Command countingsource shows how to write a bounded source, after the
// counting source of Beam's guide to I/O connectors: a source that knows its
// size, splits into ranges, and reads a range through a RangeTracker,
// claiming each record — so that runners read it in parallel and split
// running reads. Users never see the source itself: ReadFromCountingSource
// wraps it as a transform, which leaves room to change it later.
//
//	go run ./examples/countingsource --count=1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"iter"
	"log"
	"sync/atomic"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// recordsRead counts the records the source reads.
var recordsRead = sdk.NewCounter("countingsource", "recordsRead")

// countingSource yields 0, 1, ..., Count-1. Its configuration is in
// exported fields: that is how Read sends its parts to workers.
type countingSource struct {
	Count int64
}

// EstimateSize reports 8 bytes per number.
func (c countingSource) EstimateSize(context.Context) (int64, error) { return 8 * c.Count, nil }

// Split cuts [0, Count) into ranges of about desiredBundleSize bytes.
func (c countingSource) Split(_ context.Context, desiredBundleSize int64) ([]source.Bundle[int64, int64], error) {
	step := max(1, desiredBundleSize/8)
	var bundles []source.Bundle[int64, int64]
	for start := int64(0); start < c.Count; start += step {
		stop := min(start+step, c.Count)
		bundles = append(bundles, source.Bundle[int64, int64]{Weight: float64(stop - start), Source: c, Start: start, Stop: stop})
	}
	return bundles, nil
}

// DefaultRange is the whole source.
func (c countingSource) DefaultRange() (int64, int64) { return 0, c.Count }

// NewRangeTracker tracks a range of numbers, each its own position.
func (c countingSource) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	return rangetracker.NewOffset(start, stop)
}

// Read claims each number before yielding it, and stops when a claim fails:
// the runner may have split the rest of the range off to another worker.
func (c countingSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for i := rt.StartPosition(); i < c.Count; i++ {
			ok, err := rt.TryClaim(i)
			if err != nil {
				yield(0, err)
				return
			}
			if !ok {
				return
			}
			recordsRead.Inc(ctx, 1)
			if !yield(i, nil) {
				return
			}
		}
	}
}

// ReadFromCountingSource returns the numbers 0 to count-1.
func ReadFromCountingSource(s sdk.Scope, count int64) sdk.PCollection[int64] {
	return source.Read[int64, int64](s, countingSource{Count: count}, source.Name("ReadFromCountingSource"))
}

// sumFn adds up the numbers it sees, across workers.
type sumFn struct{ sum *atomic.Int64 }

func (f sumFn) ProcessElement(_ context.Context, v int64) error {
	f.sum.Add(v)
	return nil
}

// Run reads count numbers with the custom source and with
// source.GenerateSequence, and returns both sums and the records the
// custom source read.
func Run(ctx context.Context, count int64, opts *local.Options) (custom, builtin, read int64, err error) {
	p := sdk.NewPipeline()
	s := p.Root()
	var a, b atomic.Int64
	sdk.ForEach(s, sumFn{&a}, ReadFromCountingSource(s, count), sdk.Name("SumCustom"))
	sdk.ForEach(s, sumFn{&b}, source.GenerateSequence(s, 0, count), sdk.Name("SumBuiltin"))
	res, err := local.New(opts).Run(ctx, p)
	if err != nil {
		return 0, 0, 0, err
	}
	return a.Load(), b.Load(), res.Counter("countingsource", "recordsRead"), nil
}

func main() {
	count := flag.Int64("count", 100, "how many numbers to read")
	flag.Parse()
	custom, builtin, read, err := Run(context.Background(), *count, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sum of 0..%d: %d with ReadFromCountingSource (%d records read), %d with GenerateSequence\n", *count-1, custom, read, builtin)
}
