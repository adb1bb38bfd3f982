package testutil

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// CheckSourcesEqualReference checks that the bundles together read the
// records of the reference source's default range, in any order: none
// lost, none read twice. It is the check of a source's Split:
//
//	bundles, err := src.Split(ctx, 1<<20)
//	...
//	err = testutil.CheckSourcesEqualReference(ctx, src, bundles, nil)
//
// To use a range other than the default as the reference, pass
// BundleSource of it. The error lists the records missing and those read
// more often than the reference reads them, with the bundles that read
// them.
func CheckSourcesEqualReference[T, P any](ctx context.Context, ref source.Bounded[T, P], parts []source.Bundle[T, P], opts *Options[T]) error {
	t, err := newTarget(ctx, ref, opts)
	if err != nil {
		return fmt.Errorf("testutil: reading the reference: %w", err)
	}
	var got []T
	var owners []int // bundle index of each record of got
	for i, b := range parts {
		if b.Source == nil {
			return fmt.Errorf("testutil: bundle %d of %d has a nil Source", i, len(parts))
		}
		recs, _, err := readRange(ctx, b.Source, b.Start, b.Stop)
		if err != nil {
			return fmt.Errorf("testutil: reading bundle %d of %d: %w", i, len(parts), err)
		}
		got = append(got, recs...)
		for range recs {
			owners = append(owners, i)
		}
	}
	if t.cmp.EqualSlices(t.expected, got) {
		return nil
	}
	missing, extra := t.cmp.MultisetDiff(t.expected, got)
	if len(missing) == 0 && len(extra) == 0 {
		return nil // the same records in another order
	}
	var b strings.Builder
	fmt.Fprintf(&b, "testutil: %s read %s, the reference %s reads %s", recordcmp.Plural(len(parts), "bundle"), recordcmp.Plural(len(got), "record"),
		t.rangeString(), recordcmp.Plural(len(t.expected), "record"))
	if len(missing) > 0 {
		fmt.Fprintf(&b, "\n  missing %s: %s", recordcmp.Plural(len(missing), "record"), t.describe(missing, nil))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, "\n  unexpected or duplicated %s:", recordcmp.Plural(len(extra), "record"))
		for k, r := range extra {
			if k == 4 {
				fmt.Fprintf(&b, "\n    ... and %d more", len(extra)-k)
				break
			}
			var in []string
			for j := t.cmp.IndexOf(got, r, 0); j >= 0; j = t.cmp.IndexOf(got, r, j+1) {
				pb := parts[owners[j]]
				in = append(in, fmt.Sprintf("bundle %d %s", owners[j], rangeString(pb.Start, pb.Stop)))
			}
			fmt.Fprintf(&b, "\n    %s read by %s", recordcmp.Record(r), strings.Join(in, ", "))
		}
	}
	return fmt.Errorf("%s", b.String())
}

// CheckReentrantReads checks that a source can be read again while a read
// is in progress: after a first reader of the default range has read i
// records, a second reader reads the whole range, then the first one
// finishes; both must read every record. It checks every i from 1 to n-1
// (a sample for sources over Options.MaxExhaustiveRecords), and fails for
// sources of fewer than 2 records.
func CheckReentrantReads[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) error {
	t, err := newTarget(ctx, src, opts)
	if err != nil {
		return err
	}
	n := len(t.expected)
	if n < 2 {
		return fmt.Errorf("testutil: the source reads %s from %s; reentrant reads need at least 2", recordcmp.Plural(n, "record"), t.rangeString())
	}
	rng := rand.New(rand.NewPCG(t.opts.Seed, 0x4ee))
	for _, i := range t.readBefore(n <= t.opts.maxExhaustive(), 1, rng) {
		if err := t.reentrant(i); err != nil {
			return err
		}
	}
	return nil
}

func (t *target[T, P]) reentrant(i int) error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	first, err := openReader(t.ctx, t.src, t.start, t.stop)
	if err != nil {
		return err
	}
	defer first.close()
	if err := first.take(i); err != nil {
		return err
	}
	second, _, err := readRange(t.ctx, t.src, t.start, t.stop)
	if err != nil {
		return fmt.Errorf("testutil: a second read of %s while a first one was at record #%d: %w", t.rangeString(), i, err)
	}
	if !t.cmp.EqualSlices(t.expected, second) {
		return fmt.Errorf("testutil: a second read of %s while a first one was at record #%d returned %s, want %d\n(-want +got):\n%s",
			t.rangeString(), i, recordcmp.Plural(len(second), "record"), len(t.expected), t.cmp.Diff(t.expected, second))
	}
	if err := first.drain(); err != nil {
		return fmt.Errorf("testutil: finishing a read of %s after a second read: %w", t.rangeString(), err)
	}
	if !t.cmp.EqualSlices(t.expected, first.records) {
		return fmt.Errorf("testutil: a read of %s interrupted at record #%d by a second read returned %s, want %d\n(-want +got):\n%s",
			t.rangeString(), i, recordcmp.Plural(len(first.records), "record"), len(t.expected), t.cmp.Diff(t.expected, first.records))
	}
	return nil
}

// BundleSource returns a source whose default range is b's range: the
// checkers, which check a source's default range, then check b. Its Split
// returns b whole, and EstimateSize b's weight; everything else is b's
// source's.
func BundleSource[T, P any](b source.Bundle[T, P]) source.Bounded[T, P] {
	return &bundleSource[T, P]{b: b}
}

type bundleSource[T, P any] struct {
	b source.Bundle[T, P]
}

func (s *bundleSource[T, P]) EstimateSize(ctx context.Context) (int64, error) {
	return int64(s.b.Weight), nil
}

func (s *bundleSource[T, P]) Split(ctx context.Context, desiredBundleSize int64) ([]source.Bundle[T, P], error) {
	b := s.b
	b.Source = s
	return []source.Bundle[T, P]{b}, nil
}

func (s *bundleSource[T, P]) DefaultRange() (start, stop P) { return s.b.Start, s.b.Stop }

func (s *bundleSource[T, P]) NewRangeTracker(start, stop P) rangetracker.RangeTracker[P] {
	return s.b.Source.NewRangeTracker(start, stop)
}

func (s *bundleSource[T, P]) Read(ctx context.Context, rt rangetracker.RangeTracker[P]) iter.Seq2[T, error] {
	return s.b.Source.Read(ctx, rt)
}
