package testutil

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// ExhaustiveStats reports what CheckSplitAtFractionExhaustive did, so that
// a test can assert more than the absence of errors (that a source splits
// after its first record, say). It is a plain value.
type ExhaustiveStats struct {
	// Records is the number of records the source read.
	Records int
	// Exhaustive is true when every number of records read before the
	// split was checked with the full bisection, and false when the source
	// had more than Options.MaxExhaustiveRecords records and was sampled.
	Exhaustive bool
	// ReadBefore lists the numbers of records read before splitting that
	// were checked, ascending, and Fractions the fractions that split
	// after each.
	ReadBefore []int
	Fractions  []SplitFractionStatistics
	// Splits counts the split attempts of the sequential part, Successful
	// those that split, and NonTrivial those that left records to the
	// residual.
	Splits, Successful, NonTrivial int
	// ConcurrentTrials counts the trials in which a split raced the
	// reader, and ConcurrentSplits those the split won with records left
	// for the residual. ConcurrentCapped is set when a trial cap (Options)
	// stopped the trials before every number of records read had seen a
	// split both win and lose.
	ConcurrentTrials, ConcurrentSplits int
	ConcurrentCapped                   bool
}

// CheckSplitAtFractionExhaustive checks dynamic splitting of src's default
// range everywhere: after reading each number of records from 0 to n-1, at
// every fraction where the outcome changes, found by the bisection of
// CheckSplitAtFractionBinary over [0, 1]; each split must be consistent
// (see CheckSplitAtFraction). Sources of more than
// Options.MaxExhaustiveRecords records are sampled instead, reproducibly
// with Options.Seed.
//
// It fails as vacuous when the source reads fewer than 2 records, or when
// no split succeeded, or none left records to the residual: a source that
// cannot split is checked with CheckSplitAtFractionFails instead.
//
// Then, unless Options.SkipConcurrent, it races splits against the reader:
// after each number of records read, one goroutine reads the rest while
// another calls PositionAtFraction and TrySplit at the smallest fraction
// that split there with records left over, repeated until the split both
// won and lost a race (at most Options.ConcurrentTrialsPerRead times, and
// Options.ConcurrentTrials in all); each outcome must be consistent. Run it
// with the race detector to catch trackers and sources that are not safe
// for concurrent use.
func CheckSplitAtFractionExhaustive[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) (ExhaustiveStats, error) {
	t, err := newTarget(ctx, src, opts)
	if err != nil {
		return ExhaustiveStats{}, err
	}
	return t.exhaustive()
}

func (t *target[T, P]) exhaustive() (ExhaustiveStats, error) {
	n := len(t.expected)
	stats := ExhaustiveStats{Records: n}
	if n < 2 {
		return stats, fmt.Errorf("testutil: the source reads %s from %s; splitting needs at least 2, or the check is vacuous", recordcmp.Plural(n, "record"), t.rangeString())
	}
	stats.Exhaustive = n <= t.opts.maxExhaustive()
	rng := rand.New(rand.NewPCG(t.opts.Seed, 0x7e57))
	stats.ReadBefore = t.readBefore(stats.Exhaustive, 0, rng)
	minNonTrivial := make([]float64, len(stats.ReadBefore))
	for k, i := range stats.ReadBefore {
		var fs SplitFractionStatistics
		s := &search[T, P]{t: t, readBefore: i, stats: &fs}
		if stats.Exhaustive {
			err := s.bisect(0, 1, exhaustiveWidth)
			if err != nil {
				return stats, err
			}
		} else if err := s.sample(rng); err != nil {
			return stats, err
		}
		stats.Fractions = append(stats.Fractions, fs)
		stats.Splits += s.attempts
		stats.Successful += len(fs.SuccessfulFractions)
		stats.NonTrivial += len(fs.NonTrivialFractions)
		minNonTrivial[k] = -1
		if len(fs.NonTrivialFractions) > 0 {
			minNonTrivial[k] = slices.Min(fs.NonTrivialFractions)
		}
	}
	switch {
	case stats.Successful == 0:
		return stats, fmt.Errorf("testutil: split-at-fraction check of %s completed vacuously: none of %s succeeded; a source that cannot split is checked with CheckSplitAtFractionFails (Options.Unsplittable)",
			t.rangeString(), recordcmp.Plural(stats.Splits, "split attempt"))
	case stats.NonTrivial == 0:
		return stats, fmt.Errorf("testutil: split-at-fraction check of %s completed vacuously: %s succeeded, but none left a record to the residual",
			t.rangeString(), recordcmp.Plural(stats.Successful, "split"))
	}
	if t.opts.SkipConcurrent {
		return stats, nil
	}
	return stats, t.concurrent(&stats, minNonTrivial)
}

// readBefore returns the numbers of records to read before splitting: all
// of [from, n) when exhaustive, otherwise a sample.
func (t *target[T, P]) readBefore(exhaustive bool, from int, rng *rand.Rand) []int {
	n := len(t.expected)
	if exhaustive {
		var all []int
		for i := from; i < n; i++ {
			all = append(all, i)
		}
		return all
	}
	set := map[int]bool{}
	for _, i := range []int{0, 1, n / 2, n - 3, n - 2, n - 1} {
		if i >= from && i < n {
			set[i] = true
		}
	}
	for want := min(t.opts.sampleReadBefore(), n-from); len(set) < want; {
		set[from+rng.IntN(n-from)] = true
	}
	var out []int
	for i := range set {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// search checks splits after reading readBefore records.
type search[T, P any] struct {
	t          *target[T, P]
	readBefore int
	stats      *SplitFractionStatistics
	attempts   int
	// seen holds the outcome at every fraction tried, for sample.
	seen map[float64]SplitResult
}

func (s *search[T, P]) eval(f float64) (SplitResult, error) {
	if r, ok := s.seen[f]; ok {
		return r, nil
	}
	s.attempts++
	r, err := s.t.splitAt(s.readBefore, f, MustBeConsistentIfSucceeds)
	if err != nil {
		return r, err
	}
	s.stats.add(f, r)
	if s.seen == nil {
		s.seen = map[float64]SplitResult{}
	}
	s.seen[f] = r
	return r, nil
}

// bisect checks the ends of [left, right] and bisects it down to width.
func (s *search[T, P]) bisect(left, right, width float64) error {
	l, err := s.eval(left)
	if err != nil {
		return err
	}
	r, err := s.eval(right)
	if err != nil {
		return err
	}
	return s.bisectBetween(left, l, right, r, width)
}

// bisectBetween is Beam's bisection: check the middle, and go on in each
// half whose ends gave primaries of different sizes, and in the upper half
// while it ends at 1 (a split at 1 is refused, and would hide splits just
// below it).
func (s *search[T, P]) bisectBetween(left float64, l SplitResult, right float64, r SplitResult, width float64) error {
	if right-left < width {
		return nil
	}
	mid := (left + right) / 2
	m, err := s.eval(mid)
	if err != nil {
		return err
	}
	if l.Primary != m.Primary {
		if err := s.bisectBetween(left, l, mid, m, width); err != nil {
			return err
		}
	}
	if right == 1 || m.Primary != r.Primary {
		return s.bisectBetween(mid, m, right, r, width)
	}
	return nil
}

// sampleWidth is where the bisection of a sampled search stops.
const sampleWidth = 1.0 / 32

// boundaryWidth is how finely a sampled search locates the smallest and
// largest fractions that split.
const boundaryWidth = 1e-4

// sample checks a bounded number of fractions: a coarse bisection, the
// edges of the fractions that split found by binary search, and random
// fractions.
func (s *search[T, P]) sample(rng *rand.Rand) error {
	if err := s.bisect(0, 1, sampleWidth); err != nil {
		return err
	}
	for range s.t.opts.sampleFractions() {
		if _, err := s.eval(rng.Float64()); err != nil {
			return err
		}
	}
	// Locate the smallest fraction that splits non-trivially, and the
	// largest that splits at all, between the fractions tried so far.
	fs := make([]float64, 0, len(s.seen))
	for f := range s.seen {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	if k := slices.IndexFunc(fs, func(f float64) bool { return s.seen[f].nonTrivial() }); k > 0 {
		if err := s.edge(fs[k-1], fs[k], SplitResult.nonTrivial); err != nil {
			return err
		}
	}
	split := func(r SplitResult) bool { return r.Split }
	for k := len(fs) - 1; k > 0; k-- {
		if split(s.seen[fs[k-1]]) && !split(s.seen[fs[k]]) {
			return s.edge(fs[k], fs[k-1], split)
		}
	}
	return nil
}

// edge narrows, by binary search, the boundary between a fraction where
// good is false (no) and one where it is true (yes), which may lie on
// either side.
func (s *search[T, P]) edge(no, yes float64, good func(SplitResult) bool) error {
	for max(no-yes, yes-no) > boundaryWidth {
		mid := (no + yes) / 2
		r, err := s.eval(mid)
		if err != nil {
			return err
		}
		if good(r) {
			yes = mid
		} else {
			no = mid
		}
	}
	return nil
}

// concurrent races splits against readers after each number of records
// read, at the smallest fraction that split there with records left over.
func (t *target[T, P]) concurrent(stats *ExhaustiveStats, minNonTrivial []float64) error {
	perRead, total := t.opts.trialsPerRead(), t.opts.trialsTotal()
	rng := rand.New(rand.NewPCG(t.opts.Seed, 0xc0c0))
	for k, i := range stats.ReadBefore {
		f := minNonTrivial[k]
		if f < 0 {
			continue
		}
		won, lost := false, false
		for trial := 0; !(won && lost); trial++ {
			if trial == perRead || stats.ConcurrentTrials == total {
				stats.ConcurrentCapped = true
				break
			}
			stats.ConcurrentTrials++
			ok, err := t.race(i, f, rng)
			if err != nil {
				return err
			}
			if ok {
				stats.ConcurrentSplits++
				won = true
			} else {
				lost = true
			}
		}
		if stats.ConcurrentTrials == total {
			stats.ConcurrentCapped = true
			break
		}
	}
	return nil
}

// maxJitter bounds the busy-wait, in loop iterations, by which the later
// side of a race starts after the earlier one has begun: about the time a
// reader takes for a record, so that the split lands before, during and
// after the reader's next claim.
const maxJitter = 1 << 11

// raceHint ends the errors of races: the same split at the same point of
// the read was consistent when the split did not race the reader.
const raceHint = "(without the race, the same split after the same records was consistent: is the tracker safe for concurrent use, with TryClaim and TrySplit each atomic?)"

// race reads readBefore records, then reads the rest while another
// goroutine splits at fraction f, and checks consistency. It reports
// whether the split happened with records left for the residual.
//
// Left to the scheduler, one side would nearly always win: the goroutine
// started last runs late, or on the same processor after the other. So
// each trial picks a side to go first, at random; the other waits until it
// has begun (the reader's first call on the tracker, or the splitter's
// PositionAtFraction), then for a random short while, and goes. The two
// then overlap where the machine has a processor for each.
func (t *target[T, P]) race(readBefore int, f float64, rng *rand.Rand) (bool, error) {
	if err := t.ctx.Err(); err != nil {
		return false, err
	}
	r, err := openReader(t.ctx, t.src, t.start, t.stop)
	if err != nil {
		return false, err
	}
	defer r.close()
	stopBefore := r.rt.StopPosition()
	if err := r.take(readBefore); err != nil {
		return false, err
	}
	var (
		s         splitAttempt[P]
		pos       P
		perr      error
		splitting atomic.Bool
		reading   atomic.Bool
	)
	readerFirst, jitter := rng.IntN(2) == 0, rng.IntN(maxJitter)
	r.rec.onCall = func() { reading.Store(true) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		if readerFirst {
			waitFor(&reading, jitter)
		}
		splitting.Store(true)
		if pos, perr = r.rt.PositionAtFraction(f); perr == nil {
			s.pos, s.frac, s.ok = r.rt.TrySplit(pos)
		}
	}()
	if !readerFirst {
		waitFor(&splitting, jitter)
	}
	derr := r.drain()
	reading.Store(true) // the reader may have ended without a call
	<-done
	desc := fmt.Sprintf("testutil: after reading %s of %s, a split at fraction %v", recordcmp.Plural(readBefore, "record"), t.rangeString(), f)
	if perr == nil {
		desc += fmt.Sprintf(" (position %s)", recordcmp.Pos(pos))
	}
	desc += " racing the reader"
	if s.ok {
		desc += " succeeded"
	} else {
		desc += " was refused"
	}
	if derr != nil {
		return false, fmt.Errorf("%s: reading the rest: %w\n%s", desc, derr, raceHint)
	}
	if s.ok {
		if err := checkSplitState(r.rt, s, stopBefore); err != nil {
			return false, fmt.Errorf("%s: %w\n%s", desc, err, raceHint)
		}
	}
	res, err := t.verify(r, readBefore, s, stopBefore, desc)
	if err != nil {
		return false, fmt.Errorf("%w\n%s", err, raceHint)
	}
	return res.nonTrivial(), nil
}

// waitFor spins until flag is set, yielding the processor now and then
// (on one processor the other side cannot run otherwise), then spins for
// jitter more iterations.
func waitFor(flag *atomic.Bool, jitter int) {
	for spins := 1; !flag.Load(); spins++ {
		if spins%256 == 0 {
			runtime.Gosched()
		}
	}
	for i := 0; i < jitter; i++ {
		if !flag.Load() { // never true; keeps the loop from being removed
			break
		}
	}
}
