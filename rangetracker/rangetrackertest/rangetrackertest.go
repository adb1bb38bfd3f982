// Package rangetrackertest checks that a rangetracker.RangeTracker keeps the
// contract: claims, splits, fractions and split points, alone and with a
// reader racing splitters. Every tracker in package rangetracker runs it, and
// so can any other implementation.
//
// It comes in two shapes, as the standard library's fstest and iotest do:
// checker functions returning an error (CheckClaims, CheckSplits, ...), which
// any test, table or fuzz target can call, and RunConformanceTests, which
// runs them all as subtests:
//
//	func TestConformance(t *testing.T) {
//		rangetrackertest.RunConformanceTests(t, rangetrackertest.Harness[int64]{
//			NewTracker: func(start, stop int64) rangetracker.RangeTracker[int64] { return rangetracker.NewOffset(start, stop) },
//			Positions:  []int64{9, 10, 11, 12, 13, 14, 15, 16},
//			Compare:    cmp.Compare[int64],
//		}, rangetrackertest.Capabilities{Splittable: true, FractionTolerance: 1.0 / 5})
//	}
//
// The records of the checked range are the harness's positions, each a split
// point; a read of [a, b) returns the records at positions p with a <= p < b.
// A tracker that cannot do something (split at all, split before the first
// claim) declares it in Capabilities, and the suite checks that it refuses.
package rangetrackertest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// Harness describes a tracker implementation to the checkers. The checkers
// call NewTracker and Compare from several goroutines at once.
type Harness[P any] struct {
	// NewTracker returns a new tracker over [start, stop). The checkers call
	// it many times; each tracker is used by one check.
	NewTracker func(start, stop P) rangetracker.RangeTracker[P]

	// Positions are at least 6 strictly increasing positions. The checked
	// range is [Positions[1], Positions[n-2]), and its records are
	// Positions[1:n-2]; Positions[0] lies before the range and
	// Positions[n-1] after it.
	Positions []P

	// Compare orders positions: negative if a < b, zero if equal, positive
	// if a > b.
	Compare func(a, b P) int
}

// Capabilities declares what a tracker can do; the checkers hold it to both
// halves: what it can do must work, and what it cannot must be refused. It is
// a plain value.
type Capabilities struct {
	// Splittable means the tracker accepts every valid split: after the
	// last record and strictly inside (start, stop). Otherwise every split
	// must be refused and SplitPoints must report (0, 1).
	Splittable bool

	// SplitBeforeFirstClaim means a splittable tracker also splits a range
	// nothing has been claimed from (Beam's ordered trackers); otherwise it
	// must refuse (Beam's OffsetRangeTracker).
	SplitBeforeFirstClaim bool

	// FractionTolerance bounds how far FractionConsumed, after claiming
	// PositionAtFraction(f), may be from f, and how far a split's reported
	// fraction may be from the fraction of its position. Offsets round up,
	// so for them it is 1/(stop-start). Zero means 1e-9.
	FractionTolerance float64
}

func (c Capabilities) tolerance() float64 {
	if c.FractionTolerance > 0 {
		return c.FractionTolerance
	}
	return 1e-9
}

// RunConformanceTests runs every checker against h as a subtest, with a
// modest number of concurrent trials (more with -test.short unset).
func RunConformanceTests[P any](t *testing.T, h Harness[P], caps Capabilities) {
	t.Helper()
	if err := h.validate(); err != nil {
		t.Fatal(err)
	}
	trials := 200
	if testing.Short() {
		trials = 20
	}
	checks := []struct {
		name  string
		check func() error
	}{
		{"claims", func() error { return CheckClaims(h) }},
		{"non-split-point records", func() error { return CheckNonSplitPoints(h) }},
		{"splits", func() error { return CheckSplits(h, caps) }},
		{"split points", func() error { return CheckSplitPoints(h, caps) }},
		{"fraction consumed", func() error { return CheckFractionConsumed(h) }},
		{"position at fraction", func() error { return CheckPositionAtFraction(h, caps) }},
		{"concurrent claims and splits", func() error {
			return CheckConcurrentSplits(h, caps, ConcurrentOptions{Trials: trials, Seed: 1})
		}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func (h Harness[P]) validate() error {
	if h.NewTracker == nil || h.Compare == nil {
		return errors.New("rangetrackertest: Harness needs NewTracker and Compare")
	}
	if len(h.Positions) < 6 {
		return fmt.Errorf("rangetrackertest: Harness has %d positions, want at least 6", len(h.Positions))
	}
	for i := 1; i < len(h.Positions); i++ {
		if h.Compare(h.Positions[i-1], h.Positions[i]) >= 0 {
			return fmt.Errorf("rangetrackertest: Harness positions %s and %s are not strictly increasing", fmtPos(h.Positions[i-1]), fmtPos(h.Positions[i]))
		}
	}
	return nil
}

func (h Harness[P]) start() P     { return h.Positions[1] }
func (h Harness[P]) stop() P      { return h.Positions[len(h.Positions)-2] }
func (h Harness[P]) before() P    { return h.Positions[0] }
func (h Harness[P]) after() P     { return h.Positions[len(h.Positions)-1] }
func (h Harness[P]) records() []P { return h.Positions[1 : len(h.Positions)-2] }
func (h Harness[P]) eq(a, b P) bool {
	return h.Compare(a, b) == 0
}
func (h Harness[P]) fresh() rangetracker.RangeTracker[P] { return h.NewTracker(h.start(), h.stop()) }

// recordsIn returns the records in [from, to).
func (h Harness[P]) recordsIn(from, to P) []P {
	var rs []P
	for _, r := range h.records() {
		if h.Compare(r, from) >= 0 && h.Compare(r, to) < 0 {
			rs = append(rs, r)
		}
	}
	return rs
}

// readRest claims records after the last one claimed from rt, in order,
// until a claim fails, and returns those claimed. It reports a failure to
// fail at or after the stop as an error.
func (h Harness[P]) readRest(rt rangetracker.RangeTracker[P], from int) ([]P, error) {
	var got []P
	for _, r := range h.records()[from:] {
		ok, err := rt.TryClaim(r)
		if err != nil {
			return got, fmt.Errorf("TryClaim(%s) = %w", fmtPos(r), err)
		}
		if !ok {
			return got, nil
		}
		got = append(got, r)
	}
	ok, err := rt.TryClaim(h.after())
	if ok || err != nil {
		return got, fmt.Errorf("TryClaim(%s) past the range = %v, %v; want false, nil", fmtPos(h.after()), ok, err)
	}
	return got, nil
}

// readRange reads [from, to) with a new tracker, as the reader of a residual
// would: claims from the first record at or after from until one fails.
func (h Harness[P]) readRange(from, to P) ([]P, error) {
	rt := h.NewTracker(from, to)
	i := 0
	for i < len(h.records()) && h.Compare(h.records()[i], from) < 0 {
		i++
	}
	return h.readRest(rt, i)
}

// fractionOf measures the fraction of p in [start, stop) by claiming it on a
// new tracker: the only fraction the RangeTracker interface exposes.
func (h Harness[P]) fractionOf(p, stop P) (float64, error) {
	rt := h.NewTracker(h.start(), stop)
	ok, err := rt.TryClaim(p)
	if !ok || err != nil {
		return 0, fmt.Errorf("TryClaim(%s) on [%s, %s) = %v, %v; want true, nil", fmtPos(p), fmtPos(h.start()), fmtPos(stop), ok, err)
	}
	return rt.FractionConsumed(), nil
}

// failures collects a checker's failures, up to a limit.
type failures struct {
	check string
	errs  []error
}

const maxFailures = 10

func (f *failures) add(format string, args ...any) {
	if len(f.errs) < maxFailures {
		f.errs = append(f.errs, fmt.Errorf(format, args...))
	}
}

func (f *failures) full() bool { return len(f.errs) >= maxFailures }

func (f *failures) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return fmt.Errorf("rangetrackertest: %s: %w", f.check, errors.Join(f.errs...))
}

func fmtPos(p any) string {
	switch v := p.(type) {
	case []byte:
		return fmt.Sprintf("%q", v)
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(p)
}
