package rangetracker_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// The stress tests race a reader against splitters over thousands of seeded
// random schedules. Run them with -race; they skip under -short.

func TestStressConcurrentSplits(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test skipped under -short")
	}
	for _, h := range harnesses {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			h.run(t, 1500)
		})
	}
}

// blockFile is a source of records in blocks, like a block-compressed file:
// only the first record of a block is a split point. Records are numbered
// in file order; record i starts at offset pos[i].
type blockFile struct {
	pos        []int64
	splitPoint []bool
}

func newBlockFile(r *rand.Rand, n int) blockFile {
	var f blockFile
	off := int64(100)
	for i := range n {
		f.pos = append(f.pos, off)
		f.splitPoint = append(f.splitPoint, i == 0 || r.IntN(3) == 0)
		off += 1 + r.Int64N(5)
	}
	return f
}

func (f blockFile) end() int64 { return f.pos[len(f.pos)-1] + 1 }

// read reads the records of rt's range as a reader of this format must: from
// the first split point at or after the start, claiming split points until
// a claim fails and reporting the records inside a block with
// SetCurrentPosition. It returns the record numbers read. If pause is not
// nil it is called before each record, and onClaim after each claim.
func (f blockFile) read(rt rangetracker.RangeTracker[int64], pause func(), onClaim func(int64)) ([]int, error) {
	i, _ := slices.BinarySearch(f.pos, rt.StartPosition())
	for i < len(f.pos) && !f.splitPoint[i] {
		i++
	}
	var got []int
	for ; i < len(f.pos); i++ {
		if pause != nil {
			pause()
		}
		if f.splitPoint[i] {
			ok, err := rt.TryClaim(f.pos[i])
			if err != nil {
				return got, err
			}
			if !ok {
				return got, nil
			}
			if onClaim != nil {
				onClaim(f.pos[i])
			}
		} else if err := rt.SetCurrentPosition(f.pos[i]); err != nil {
			return got, err
		}
		got = append(got, i)
	}
	ok, err := rt.TryClaim(f.end() + 1)
	if ok || err != nil {
		return got, fmt.Errorf("TryClaim(%d) past the end = %v, %v; want false, nil", f.end()+1, ok, err)
	}
	return got, nil
}

// splitPointsAfter counts the split points in (after, stop).
func (f blockFile) splitPointsAfter(after, stop int64) int64 {
	var n int64
	for i, p := range f.pos {
		if f.splitPoint[i] && p > after && p < stop {
			n++
		}
	}
	return n
}

// pauser returns a function that yields the processor at random, so that
// splitters get to run while the reader is inside its range.
func pauser(seed uint64) func() {
	r := rand.New(rand.NewPCG(seed, 9))
	return func() {
		if r.IntN(2) == 0 {
			runtime.Gosched()
		}
	}
}

// checkExactlyOnce checks that the records read, in order, are every record
// once.
func checkExactlyOnce(f blockFile, got []int) error {
	want := make([]int, len(f.pos))
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("read records %v, want each of 0..%d exactly once, in order", got, len(f.pos)-1)
	}
	return nil
}

// TestStressOffsetBlocks races a reader of a block-structured file, which
// claims only block starts, against splitters calling TrySplit at random
// offsets, TryCheckpoint, FractionConsumed and SplitPoints (with a callback
// that counts the blocks left). The primary and the residuals, each read
// from its split offset, must hold every record exactly once.
func TestStressOffsetBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test skipped under -short")
	}
	runTrials(t, 2000, offsetBlocksTrial)
}

// runTrials runs trials with seeds 0..n-1 and fails unless enough of them
// split the range while the reader was inside it: a stress test whose
// splits all came too early or too late would prove nothing.
func runTrials(t *testing.T, n int, trial func(seed uint64) (raced bool, err error)) {
	t.Helper()
	raced := 0
	for i := range n {
		r, err := trial(uint64(i))
		if err != nil {
			t.Fatalf("trial with seed %d: %v", i, err)
		}
		if r {
			raced++
		}
	}
	if raced < n/10 {
		t.Errorf("%d of %d trials split the range while the reader was inside it, want at least %d", raced, n, n/10)
	}
	t.Logf("%d of %d trials split the range while the reader was inside it", raced, n)
}

func offsetBlocksTrial(seed uint64) (raced bool, err error) {
	rng := rand.New(rand.NewPCG(seed, 42))
	f := newBlockFile(rng, 5+rng.IntN(40))
	rt := rangetracker.NewOffset(f.pos[0], f.end())
	readerSeed := rng.Uint64()
	var lastClaimed atomic.Int64
	lastClaimed.Store(f.pos[0] - 1)
	rt.SetSplitPointsUnclaimedCallback(func(stop int64) int64 { return f.splitPointsAfter(lastClaimed.Load(), stop) })

	var (
		wg        sync.WaitGroup
		begin     = make(chan struct{})
		primary   []int
		readErr   error
		splitters = 1 + rng.IntN(3)
		splits    = make([][]int64, splitters)
		problems  = make([]error, splitters)
	)
	wg.Go(func() {
		<-begin
		primary, readErr = f.read(rt, pauser(readerSeed), func(p int64) { lastClaimed.Store(p) })
	})
	for i := range splitters {
		r := rand.New(rand.NewPCG(rng.Uint64(), 7))
		wg.Go(func() {
			<-begin
			prev := 0.0
			for range 1 + r.IntN(8) {
				switch r.IntN(5) {
				case 0, 1:
					if p, _, ok := rt.TrySplit(f.pos[0] + r.Int64N(f.end()-f.pos[0]+2)); ok {
						splits[i] = append(splits[i], p)
					}
				case 2:
					if p, _, why := rt.TryCheckpoint(); why == rangetracker.Accepted {
						splits[i] = append(splits[i], p)
					}
				case 3:
					if fc := rt.FractionConsumed(); fc < prev || fc > 1 {
						problems[i] = fmt.Errorf("FractionConsumed() = %v after %v", fc, prev)
					} else {
						prev = fc
					}
				case 4:
					if _, rem := rt.SplitPoints(); rem < 1 {
						problems[i] = fmt.Errorf("SplitPoints() remaining = %d, want >= 1", rem)
					}
				}
				runtime.Gosched()
			}
		})
	}
	close(begin)
	wg.Wait()
	if readErr != nil {
		return false, fmt.Errorf("primary reader: %w", readErr)
	}
	for _, err := range problems {
		if err != nil {
			return false, err
		}
	}
	all := slices.Sorted(slices.Values(slices.Concat(splits...)))
	got := primary
	for i, s := range all {
		stop := f.end()
		if i+1 < len(all) {
			stop = all[i+1]
		}
		res, err := f.read(rangetracker.NewOffset(s, stop), nil, nil)
		if err != nil {
			return false, fmt.Errorf("residual [%d, %d): %w", s, stop, err)
		}
		got = append(got, res...)
	}
	if err := checkExactlyOnce(f, got); err != nil {
		return false, fmt.Errorf("splits at %v: %w", all, err)
	}
	return len(primary) > 0 && len(primary) < len(f.pos) && len(all) > 0, nil
}

// TestStressRestrictionTracker races a reader claiming through a
// RestrictionTracker against a runner splitting it at random fractions of the
// remainder (checkpoints included) and asking for progress. The read must end
// (IsDone), the residuals must read the rest exactly once, and the weights of
// the primary and the residuals must add up to the original weight.
func TestStressRestrictionTracker(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test skipped under -short")
	}
	runTrials(t, 2000, restrictionTrial)
}

func restrictionTrial(seed uint64) (raced bool, err error) {
	rng := rand.New(rand.NewPCG(seed, 43))
	f := newBlockFile(rng, 5+rng.IntN(40))
	const weight = 1000.0
	b := rangetracker.NewRestrictionTracker[int64](rangetracker.NewOffset(f.pos[0], f.end()), weight)
	readerSeed := rng.Uint64()

	var (
		wg        sync.WaitGroup
		begin     = make(chan struct{})
		primary   []int
		readErr   error
		residuals []rangetracker.Restriction[int64]
		problem   error
	)
	wg.Go(func() {
		<-begin
		primary, readErr = f.read(b.RangeTracker(), pauser(readerSeed), nil)
	})
	r := rand.New(rand.NewPCG(rng.Uint64(), 8))
	wg.Go(func() {
		<-begin
		prevDone := 0.0
		for range 1 + r.IntN(6) {
			fraction := r.Float64()
			if r.IntN(3) == 0 {
				fraction = 0
			}
			if p, res, ok := b.TrySplit(fraction); ok {
				if p.Stop != res.Start {
					problem = fmt.Errorf("TrySplit(%v) = %v, %v: the primary does not end where the residual starts", fraction, p, res)
				}
				residuals = append(residuals, res)
			}
			// Work done is measured in the original weight's units, so
			// neither a claim nor a split may lower it.
			done, remaining := b.GetProgress()
			if done < prevDone-1e-9 || remaining < 0 || done > weight || math.IsNaN(done+remaining) {
				problem = fmt.Errorf("GetProgress() = %v, %v after %v done", done, remaining, prevDone)
			}
			prevDone = done
			runtime.Gosched()
		}
	})
	close(begin)
	wg.Wait()
	if readErr != nil {
		return false, fmt.Errorf("primary reader: %w", readErr)
	}
	if problem != nil {
		return false, problem
	}
	if err := b.IsDone(); err != nil {
		return false, err
	}
	got := primary
	total := b.Restriction().Weight
	slices.SortFunc(residuals, func(a, b rangetracker.Restriction[int64]) int { return int(a.Start - b.Start) })
	for _, res := range residuals {
		recs, err := f.read(rangetracker.NewOffset(res.Start, res.Stop), nil, nil)
		if err != nil {
			return false, fmt.Errorf("residual %v: %w", res, err)
		}
		got = append(got, recs...)
		total += res.Weight
	}
	if math.Abs(total-weight) > 1e-9 {
		return false, fmt.Errorf("weights of the primary and residuals %v add up to %v, want %v", residuals, total, weight)
	}
	return len(primary) > 0 && len(primary) < len(f.pos) && len(residuals) > 0, checkExactlyOnce(f, got)
}
