package rangetrackertest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// ConcurrentOptions tunes CheckConcurrentSplits. It is a plain value.
type ConcurrentOptions struct {
	// Trials is the number of random schedules to run; zero means 100.
	Trials int
	// Splitters is the number of goroutines racing the reader; zero means 3.
	Splitters int
	// Seed seeds the trials: trial i uses Seed+i, and a failure names its
	// seed, so Trials: 1 with that Seed replays the same random choices.
	// (The goroutine schedule itself is up to the runtime.)
	Seed uint64
	// Stats, if not nil, receives counts of what the trials exercised.
	Stats *ConcurrentStats
}

// ConcurrentStats counts what CheckConcurrentSplits exercised. It is a plain
// value, written once when the check returns.
type ConcurrentStats struct {
	Trials int // trials run
	Splits int // successful splits
	// RacedSplits counts trials in which a split cut the range while the
	// reader was inside it: after its first claim, with records left for
	// the residual.
	RacedSplits int
}

// CheckConcurrentSplits races one reader, claiming every record in order
// until a claim fails, against splitter goroutines calling TrySplit (at
// harness positions and at PositionAtFraction of random fractions),
// FractionConsumed and SplitPoints, over many random schedules. Run it with
// the race detector. After each trial it checks that:
//   - the reader claimed exactly the records before the final stop, so no
//     split landed on a consumed position and none was lost;
//   - the successful splits have distinct positions, the lowest being the
//     final stop, and each residual, read from its split position up to the
//     next split (or the original stop), holds the records there: together
//     with the primary, every record exactly once;
//   - each split reported the fraction of its position in the range as it
//     was just before (the range up to the next larger split);
//   - every observer saw FractionConsumed within [0, 1] and never
//     decreasing, and split points consumed never decreasing;
//   - an unsplittable tracker never split and always reported (0, 1).
func CheckConcurrentSplits[P any](h Harness[P], caps Capabilities, opts ConcurrentOptions) error {
	if err := h.validate(); err != nil {
		return err
	}
	trials, splitters := opts.Trials, opts.Splitters
	if trials <= 0 {
		trials = 100
	}
	if splitters <= 0 {
		splitters = 3
	}
	f := &failures{check: "concurrent claims and splits"}
	var stats ConcurrentStats
	for i := range trials {
		seed := opts.Seed + uint64(i)
		if err := concurrentTrial(h, caps, splitters, seed, &stats); err != nil {
			f.add("trial with seed %d: %w", seed, err)
			if f.full() {
				break
			}
		}
	}
	if opts.Stats != nil {
		*opts.Stats = stats
	}
	// Like Beam's exhaustive split test, refuse to pass vacuously: a
	// splittable tracker must have been split under a running reader.
	if caps.Splittable && stats.Trials >= 20 && stats.RacedSplits == 0 && len(f.errs) == 0 {
		f.add("no split in %d trials cut the range while the reader was inside it: the check was vacuous", stats.Trials)
	}
	return f.err()
}

type splitResult[P any] struct {
	pos  P
	frac float64
}

func concurrentTrial[P any](h Harness[P], caps Capabilities, splitters int, seed uint64, stats *ConcurrentStats) error {
	recs := h.records()
	rt := h.fresh()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	var (
		mu       sync.Mutex // guards problems
		problems []error
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Errorf(format, args...))
	}

	var (
		wg      sync.WaitGroup
		begin   = make(chan struct{})
		claimed []P                                   // written by the reader only
		results = make([][]splitResult[P], splitters) // results[i] written by splitter i only
	)
	// Each goroutine draws from its own generator, seeded from the trial's,
	// so the random choices do not depend on the schedule.
	readerSeed, yieldOdds := rng.Uint64(), 1+rng.IntN(4)
	wg.Go(func() {
		<-begin
		r := rand.New(rand.NewPCG(readerSeed, 1))
		prev := 0.0
		for _, p := range recs {
			if r.IntN(yieldOdds) == 0 {
				runtime.Gosched()
			}
			ok, err := rt.TryClaim(p)
			if err != nil {
				report("reader: TryClaim(%s) = %v", fmtPos(p), err)
				return
			}
			if !ok {
				return
			}
			claimed = append(claimed, p)
			if fc := rt.FractionConsumed(); !(fc >= prev && fc <= 1) {
				report("reader: FractionConsumed() after claiming %s = %v, want in [%v, 1]", fmtPos(p), fc, prev)
			} else {
				prev = fc
			}
		}
		if ok, err := rt.TryClaim(h.after()); ok || err != nil {
			report("reader: TryClaim(%s) past the range = %v, %v; want false, nil", fmtPos(h.after()), ok, err)
		}
	})
	for i := range splitters {
		seed, ops := rng.Uint64(), 2+rng.IntN(10)
		wg.Go(func() {
			<-begin
			r := rand.New(rand.NewPCG(seed, 2))
			prevFraction, prevConsumed := 0.0, int64(0)
			split := func(q P) {
				if pos, frac, ok := rt.TrySplit(q); ok {
					results[i] = append(results[i], splitResult[P]{pos, frac})
				}
			}
			for range ops {
				switch r.IntN(5) {
				case 0, 1:
					split(h.Positions[r.IntN(len(h.Positions))])
				case 2:
					if q, err := rt.PositionAtFraction(r.Float64()); err == nil {
						split(q)
					}
				case 3:
					if fc := rt.FractionConsumed(); !(fc >= prevFraction && fc <= 1) {
						report("splitter: FractionConsumed() = %v, want in [%v, 1]", fc, prevFraction)
					} else {
						prevFraction = fc
					}
				case 4:
					c, rem := rt.SplitPoints()
					switch {
					case !caps.Splittable && (c != 0 || rem != 1):
						report("splitter: SplitPoints() = (%d, %d), want (0, 1)", c, rem)
					case c < prevConsumed || rem != rangetracker.SplitPointsUnknown && rem < 1:
						report("splitter: SplitPoints() = (%d, %d) after %d consumed, want consumed not to decrease and remaining unknown or >= 1", c, rem, prevConsumed)
					}
					prevConsumed = c
				}
				if r.IntN(3) == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	close(begin)
	wg.Wait()
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	splits := slices.Concat(results...)
	stats.Trials++
	stats.Splits += len(splits)
	if len(claimed) > 0 && len(claimed) < len(recs) && len(splits) > 0 {
		stats.RacedSplits++
	}
	return checkOutcome(h, caps, rt, claimed, splits)
}

// checkOutcome checks that a trial's primary and residuals read every record
// exactly once.
func checkOutcome[P any](h Harness[P], caps Capabilities, rt rangetracker.RangeTracker[P], claimed []P, splits []splitResult[P]) error {
	recs := h.records()
	if !caps.Splittable && len(splits) > 0 {
		return fmt.Errorf("an unsplittable tracker split at %s", fmtPos(splits[0].pos))
	}
	slices.SortFunc(splits, func(a, b splitResult[P]) int { return h.Compare(a.pos, b.pos) })
	for i := 1; i < len(splits); i++ {
		if h.eq(splits[i-1].pos, splits[i].pos) {
			return fmt.Errorf("two splits succeeded at %s", fmtPos(splits[i].pos))
		}
	}
	stop := h.stop()
	if len(splits) > 0 {
		stop = splits[0].pos
	}
	if got := rt.StopPosition(); !h.eq(got, stop) {
		return fmt.Errorf("StopPosition() = %s after splits at %s, want %s", fmtPos(got), fmtSplits(splits), fmtPos(stop))
	}
	if want := h.recordsIn(h.start(), stop); !slices.EqualFunc(claimed, want, h.eq) {
		return fmt.Errorf("with splits at %s the reader claimed %s, want %s", fmtSplits(splits), fmtPositions(claimed), fmtPositions(want))
	}
	all := slices.Clone(claimed)
	for i, s := range splits {
		to := h.stop()
		if i+1 < len(splits) {
			to = splits[i+1].pos
		}
		res, err := h.readRange(s.pos, to)
		if err != nil {
			return fmt.Errorf("reading the residual [%s, %s): %w", fmtPos(s.pos), fmtPos(to), err)
		}
		all = append(all, res...)
		want, err := h.fractionOf(s.pos, to)
		if err != nil {
			return fmt.Errorf("measuring the fraction of split position %s: %w", fmtPos(s.pos), err)
		}
		if !(s.frac >= 0 && s.frac <= 1) || math.Abs(s.frac-want) > caps.tolerance() {
			return fmt.Errorf("the split at %s of [%s, %s) reported fraction %v, want %v within %v", fmtPos(s.pos), fmtPos(h.start()), fmtPos(to), s.frac, want, caps.tolerance())
		}
	}
	if !slices.EqualFunc(all, recs, h.eq) {
		return fmt.Errorf("with splits at %s the primary and residuals read %s, want each of %s exactly once", fmtSplits(splits), fmtPositions(all), fmtPositions(recs))
	}
	return nil
}

func fmtSplits[P any](splits []splitResult[P]) string {
	ps := make([]P, len(splits))
	for i, s := range splits {
		ps[i] = s.pos
	}
	return fmtPositions(ps)
}
