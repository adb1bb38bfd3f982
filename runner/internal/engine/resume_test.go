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

// A random schedule of workers taking queued bundles and committing
// running ones, each element of a bundle checkpointing at once or, now and
// then, after a delay, keeps the invariants of an unbounded read's
// bundles as residuals join waiting ones (see checkReadBundles).
func TestResidualsJoinWaitingBundlesRandomly(t *testing.T) {
	for _, tc := range []struct{ workers, parts int }{{2, 8}, {2, 3}, {3, 16}, {4, 5}, {1, 6}, {2, 24}, {2, 40}} {
		rng := rand.New(rand.NewPCG(uint64(tc.workers), uint64(tc.parts)))
		for round := range 50 {
			s := readStage(tc.workers, tc.parts)
			var running []*bundleWork
			delayed := 0
			for step := range 300 {
				if len(running) < tc.workers && len(s.queue) > 0 && rng.IntN(2) == 0 {
					running = append(running, startFirst(s))
					continue
				}
				if len(running) == 0 {
					continue
				}
				j := rng.IntN(len(running))
				b := running[j]
				running = slices.Delete(running, j, j+1)
				var res []operator.Checkpoint
				for _, e := range b.elems {
					c := operator.Checkpoint{Residual: e, Watermark: window.MinTime}
					if rng.IntN(10) == 0 {
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
		}
	}
}

// With every worker busy, the turns of an unbounded read's partitions
// gather into one bundle per worker, where the Reshuffle before the read
// cut them into twice as many: workers that each take the next queued
// bundle as soon as they commit one end with Parallelism bundles of the
// partitions divided by the workers. (From other cuts, or after delayed
// residuals, the bundles tend there but need not reach it: a residual set
// joins a waiting bundle only whole.)
func TestResidualsJoinWaitingBundlesOnePerWorker(t *testing.T) {
	for _, tc := range []struct{ workers, parts int }{{2, 8}, {2, 16}, {3, 12}, {1, 6}, {4, 8}} {
		s := readStage(tc.workers, tc.parts)
		var running []*bundleWork
		for range 20 * tc.parts {
			for len(running) < tc.workers && len(s.queue) > 0 {
				running = append(running, startFirst(s))
			}
			b := running[0] // the oldest commits first
			running = running[1:]
			var res []operator.Checkpoint
			for _, e := range b.elems {
				res = append(res, operator.Checkpoint{Residual: e, Watermark: window.MinTime})
			}
			s.queueResiduals(b, res)
			delete(s.running, b)
			if err := checkReadBundles(s, tc.parts, tc.workers); err != nil {
				t.Fatalf("%d workers, %d partitions: %v", tc.workers, tc.parts, err)
			}
		}
		var sizes []int
		for _, b := range append(slices.Clone(s.queue), running...) {
			sizes = append(sizes, len(b.elems))
		}
		want := slices.Repeat([]int{tc.parts / tc.workers}, tc.workers)
		if slices.Sort(sizes); !slices.Equal(sizes, want) {
			t.Errorf("%d workers, %d partitions: bundles of %v partitions, want %v", tc.workers, tc.parts, sizes, want)
		}
	}
}

// readStage returns a stage of workers whose queue holds parts
// partitions, each an element naming its number, cut into twice as many
// bundles as workers (as takePending cuts a Reshuffle's output).
func readStage(workers, parts int) *stage {
	s := &stage{j: &job{opts: Options{Parallelism: workers}}, running: map[*bundleWork]struct{}{}}
	var elems [][]byte
	for p := range parts {
		elems = append(elems, binary.BigEndian.AppendUint64(nil, uint64(p)))
	}
	ways := 2 * workers
	for i := range ways {
		if part := elems[i*len(elems)/ways : (i+1)*len(elems)/ways]; len(part) > 0 {
			s.queue = append(s.queue, &bundleWork{elems: part, minTs: window.MinTime})
		}
	}
	return s
}

// startFirst moves the stage's first queued bundle to its running ones,
// its resume time come, and returns it.
func startFirst(s *stage) *bundleWork {
	b := s.queue[0]
	s.queue = s.queue[1:]
	b.notBefore = time.Time{}
	s.running[b] = struct{}{}
	return b
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
