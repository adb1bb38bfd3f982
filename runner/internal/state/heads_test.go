package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// headBounds are the queue-like indexes' key ranges.
var headBounds = [numHeads][2][]byte{
	headHold:          {{tagHold}, {tagHold + 1}},
	headDueEvent:      {{tagDue, byte(EventTime)}, {tagDue, byte(EventTime) + 1}},
	headDueProcessing: {{tagDue, byte(ProcessingTime)}, {tagDue, byte(ProcessingTime) + 1}},
	headWindows:       {{tagWindows}, {tagWindows + 1}},
}

// checkFloors fails unless every index's floor is at or below its first
// live entry, read past the cache; it returns the first entries.
func checkFloors(t *testing.T, s *Store, what string) [numHeads][]byte {
	t.Helper()
	var heads [numHeads][]byte
	for h, b := range headBounds {
		must(t, s.kv.scan(b[0], b[1], func(k, _ []byte) bool {
			heads[h] = bytes.Clone(k)
			return false
		}))
		s.heads.mu.Lock()
		floor := s.heads.floor[h]
		s.heads.mu.Unlock()
		if heads[h] != nil && bytes.Compare(floor, heads[h]) > 0 {
			t.Fatalf("%s: index %d's floor %q is past its first entry %q", what, h, floor, heads[h])
		}
	}
	return heads
}

// TestHeadsFollowTheQueue drains a thousand keys' timers and windows a
// few keys at a time, as the engine does at the end of the input, and
// checks that the scans start at the live head (so that a pebble store
// does not step over the drained entries' tombstones again and again),
// and that an entry added behind the head is still found.
func TestHeadsFollowTheQueue(t *testing.T) {
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			s := open(t, Options{})
			const n = 1000
			win := func(i int) window.Window { return window.Interval(window.Time(i*10), window.Time(i*10+10)) }
			b := s.Begin()
			for i := range n {
				tm := eventTimer(fmt.Sprintf("k%04d", i), window.Time(i*10+5))
				tm.Window = win(i)
				must(t, b.SetTimer(tm))
			}
			commit(t, b)
			end := Times{Input: window.MaxTime, Clock: window.MaxTime}
			drained := 0
			for round := 0; ; round++ {
				keys, err := s.DueKeys(end, 7)
				must(t, err)
				var scopes []Scope
				must(t, s.Expired(window.MaxTime, func(sc Scope) bool {
					scopes = append(scopes, sc)
					return len(scopes) < 7
				}))
				if len(keys) == 0 && len(scopes) == 0 {
					break
				}
				heads := checkFloors(t, s, fmt.Sprintf("round %d", round))
				for _, h := range []int{headDueEvent, headWindows} {
					if heads[h] != nil && !bytes.Equal(s.heads.floor[h], heads[h]) {
						t.Fatalf("round %d: index %d's floor %q is not its head %q", round, h, s.heads.floor[h], heads[h])
					}
				}
				b := s.Begin()
				for _, k := range keys {
					_, ok, err := b.PopTimer(k, end)
					must(t, err)
					if !ok {
						t.Fatalf("round %d: key %q listed due has no timer", round, k)
					}
				}
				for _, sc := range scopes {
					must(t, b.Drop(sc.Key, sc.Window))
					drained++
				}
				if round == 50 {
					// Behind the head: the first key again, in an early window.
					tm := eventTimer("k0000", 1)
					tm.Window = win(0)
					must(t, b.SetTimer(tm))
				}
				commit(t, b)
				if round == 50 {
					if next, ok, err := s.NextTime(EventTime); err != nil || !ok || next != 1 {
						t.Fatalf("a timer set behind the head: NextTime = %v, %v, %v, want 1", next, ok, err)
					}
					if h, err := s.Hold(); err != nil || h != 1 {
						t.Fatalf("a timer set behind the head: Hold = %v, %v, want 1", h, err)
					}
				}
			}
			if drained != n+1 {
				t.Fatalf("drained %d scopes, want %d", drained, n+1)
			}
		})
	}
}

// TestHeadsUnderConcurrentCommits runs bundles that set timers at random
// times (many behind the heads) and fire or clear others while queries
// raise the floors, and checks at the end that no floor passed an entry.
func TestHeadsUnderConcurrentCommits(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 4
	}
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			for seed := range rounds {
				s := open(t, Options{})
				var wg sync.WaitGroup
				stop := make(chan struct{})
				for w := range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
						for i := range 300 {
							b := s.Begin()
							key := fmt.Sprintf("w%d-%d", w, rng.IntN(20))
							fire := window.Time(rng.IntN(1000))
							tm := eventTimer(key, fire)
							tm.Window = window.Interval(fire, fire+1)
							if rng.IntN(2) == 0 {
								tm.Domain = ProcessingTime
							}
							tm.Tag = fmt.Sprint(i % 5)
							if err := b.SetTimer(tm); err != nil {
								t.Error(err)
							}
							if _, _, err := b.PopTimer([]byte(key), Times{Input: window.Time(rng.IntN(1000)), Clock: window.Time(rng.IntN(1000))}); err != nil {
								t.Error(err)
							}
							if rng.IntN(8) == 0 {
								if err := b.Drop([]byte(key), tm.Window); err != nil {
									t.Error(err)
								}
							}
							if err := b.Commit(); err != nil {
								t.Error(err)
							}
						}
					}()
				}
				var rwg sync.WaitGroup
				rwg.Add(1)
				go func() {
					defer rwg.Done()
					rng := rand.New(rand.NewPCG(uint64(seed), 99))
					for {
						select {
						case <-stop:
							return
						default:
						}
						now := Times{Input: window.Time(rng.IntN(1100)), Clock: window.Time(rng.IntN(1100))}
						s.NextTime(EventTime)
						s.NextTime(ProcessingTime)
						s.Hold()
						s.DueKeys(now, 3)
						s.Expired(now.Input, func(Scope) bool { return false })
					}
				}()
				wg.Wait()
				close(stop)
				rwg.Wait()
				checkFloors(t, s, fmt.Sprintf("seed %d", seed))
			}
		})
	}
}
