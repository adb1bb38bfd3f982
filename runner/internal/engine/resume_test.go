package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// A checkpointed residual waits for its resume time (the job waits with
// it instead of reporting itself stuck), and holds its stage's output
// watermark at the watermark its DoFn reported: the watermark moves as the
// read does, before the read ends.
func TestCheckpointResumesLaterAndHoldsTheWatermark(t *testing.T) {
	pl, s, setup := sourceChain(t)
	f := newFake(map[string]behaviour{"Source": counter(s, 4)})
	const delay = 40 * time.Millisecond
	f.resume = func(e []byte) (time.Duration, window.Time) {
		i := int64(e[len(e)-1])
		return delay, window.Time(1000 * i)
	}
	var mu sync.Mutex
	var marks []window.Time
	start := time.Now()
	_, err := runJob(context.Background(), t, pl, testOptions(t, 2), f, func(j *job) {
		setup(j)
		watch := checkWatermarks(t)
		j.observe = func(j *job) {
			watch(j)
			mu.Lock()
			if ow := j.stages[0].ow; len(marks) == 0 || marks[len(marks)-1] != ow {
				marks = append(marks, ow)
			}
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d < 3*delay {
		t.Errorf("three delayed residuals ran within %v, want at least %v", d, 3*delay)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []window.Time{1000, 2000, 3000, window.MaxTime}
	if len(marks) != len(want) {
		t.Fatalf("Source's output watermarks %v, want %v", marks, want)
	}
	for i := range want {
		if marks[i] != want[i] {
			t.Fatalf("Source's output watermarks %v, want %v", marks, want)
		}
	}
}

// Closing Options.Drain drops checkpointed work: an endless read ends,
// and Run returns normally.
func TestDrainTruncatesCheckpointedWork(t *testing.T) {
	pl, _, setup := sourceChain(t)
	f := newFake(map[string]behaviour{"Source": func(_ context.Context, e []byte, emit, residual func([]byte)) error {
		emit(e)
		residual(e)
		return nil
	}})
	f.resume = func([]byte) (time.Duration, window.Time) { return 5 * time.Millisecond, window.MinTime }
	drain := make(chan struct{})
	opts := testOptions(t, 2)
	opts.Drain = drain
	time.AfterFunc(100*time.Millisecond, func() { close(drain) })
	var truncated int
	_, err := runJob(context.Background(), t, pl, opts, f, func(j *job) {
		setup(j)
		j.observe = func(j *job) { truncated = j.truncated }
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if truncated != 1 {
		t.Errorf("the drain truncated %d residuals, want 1", truncated)
	}
	if n := len(f.bundles()); n < 4 {
		t.Errorf("%d bundles ran before the drain, want several: %v", n, f.bundles())
	}
}

// The residuals of an unbounded read's turns gather into one bundle per
// worker, and never fewer bundles than workers: a random schedule of
// workers taking queued bundles and committing running ones (each
// element checkpointing at once, or now and then after a delay) keeps
// every partition in exactly one bundle, a delayed residual in a bundle of
// its own, at least Parallelism bundles of the read, none with more than
// its share of the partitions, and once every worker is busy, exactly
// Parallelism where the share is within maxJoinedTurns (the Reshuffle
// before a read cuts its partitions into twice as many).
func TestResidualsJoinWaitingBundlesOnePerWorker(t *testing.T) {
	for _, tc := range []struct{ workers, parts int }{{2, 8}, {2, 3}, {3, 16}, {4, 5}, {1, 6}, {2, 24}, {2, 40}} {
		rng := rand.New(rand.NewPCG(uint64(tc.workers), uint64(tc.parts)))
		for round := range 50 {
			s := &stage{j: &job{opts: Options{Parallelism: tc.workers}}, running: map[*bundleWork]struct{}{}}
			var elems [][]byte
			for p := range tc.parts {
				elems = append(elems, binary.BigEndian.AppendUint64(nil, uint64(p)))
			}
			// The first cut: 2×Parallelism bundles, as takePending makes.
			ways := 2 * tc.workers
			for i := range ways {
				if part := elems[i*len(elems)/ways : (i+1)*len(elems)/ways]; len(part) > 0 {
					s.queue = append(s.queue, &bundleWork{elems: part, minTs: window.MinTime})
				}
			}
			delayed := 0
			for step := range 400 {
				busy := step >= 300 // from here on, a worker that commits takes the next bundle at once
				if len(s.running) < tc.workers && len(s.queue) > 0 && (busy || rng.IntN(2) == 0) {
					b := s.queue[0]
					s.queue = s.queue[1:]
					b.notBefore = time.Time{} // its resume time has come
					s.running[b] = struct{}{}
					continue
				}
				if len(s.running) == 0 {
					continue
				}
				var b *bundleWork
				for r := range s.running {
					if b == nil || rng.IntN(2) == 0 {
						b = r
					}
				}
				var res []operator.Checkpoint
				for _, e := range b.elems {
					c := operator.Checkpoint{Residual: e, Watermark: window.MinTime}
					if !busy && rng.IntN(10) == 0 {
						c.ResumeAfter = time.Millisecond
						delayed++
					}
					res = append(res, c)
				}
				s.queueResiduals(b, res)
				delete(s.running, b)
				if err := checkReadBundles(s, tc.parts, tc.workers); err != nil {
					t.Fatalf("%d workers, %d partitions, round %d, step %d: %v", tc.workers, tc.parts, round, step, err)
				}
			}
			if delayed == 0 {
				t.Fatalf("%d workers, %d partitions, round %d: no residual was delayed", tc.workers, tc.parts, round)
			}
			if (tc.parts+tc.workers-1)/tc.workers > maxJoinedTurns {
				continue // bundles of more turns than joins make: no fixed count
			}
			if n := len(s.queue) + len(s.running); n != min(tc.workers, tc.parts) {
				t.Errorf("%d workers, %d partitions, round %d: %d bundles of the read with every worker busy, want %d", tc.workers, tc.parts, round, n, min(tc.workers, tc.parts))
			}
		}
	}
}

// checkReadBundles checks the read's queued and running bundles: every
// partition in exactly one, at least min(workers, parts) bundles, none
// holding more than its share of the partitions, and each delayed
// residual alone in its bundle.
func checkReadBundles(s *stage, parts, workers int) error {
	seen := map[uint64]int{}
	all := append([]*bundleWork(nil), s.queue...)
	for b := range s.running {
		all = append(all, b)
	}
	for _, b := range all {
		if !b.notBefore.IsZero() && len(b.elems) != 1 {
			return fmt.Errorf("a delayed bundle holds %d residuals, want 1", len(b.elems))
		}
		for _, e := range b.elems {
			seen[binary.BigEndian.Uint64(e)]++
		}
	}
	for p := range parts {
		if seen[uint64(p)] != 1 {
			return fmt.Errorf("partition %d is in %d bundles, want 1", p, seen[uint64(p)])
		}
	}
	most := max(min((parts+workers-1)/workers, maxJoinedTurns), (parts+2*workers-1)/(2*workers))
	if slices.ContainsFunc(all, func(b *bundleWork) bool { return len(b.elems) > most }) {
		return fmt.Errorf("a bundle holds more than %d of the %d partitions", most, parts)
	}
	if len(all) < min(workers, parts) {
		return fmt.Errorf("%d bundles of the read, want at least %d", len(all), min(workers, parts))
	}
	return nil
}
