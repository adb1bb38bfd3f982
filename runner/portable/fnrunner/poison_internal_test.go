package fnrunner

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGateRunsAloneBundlesAlone enters a gate from many goroutines, some
// alone, and checks that no bundle ever runs beside one that runs alone,
// and that every entry gets in.
func TestGateRunsAloneBundlesAlone(t *testing.T) {
	var g gate
	var running, alone, entered atomic.Int64
	var wg sync.WaitGroup
	const goroutines, rounds = 8, 300
	for i := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for range rounds {
				solo := rng.IntN(4) == 0
				leave, err := g.enter(context.Background(), solo)
				if err != nil {
					t.Error(err)
					return
				}
				entered.Add(1)
				if solo {
					if alone.Add(1) != 1 || running.Load() != 0 {
						t.Errorf("a bundle runs alone beside %d alone and %d others", alone.Load()-1, running.Load())
					}
				} else if running.Add(1); alone.Load() != 0 {
					t.Errorf("a bundle runs beside one that runs alone")
				}
				if rng.IntN(8) == 0 {
					time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
				}
				if solo {
					alone.Add(-1)
				} else {
					running.Add(-1)
				}
				leave()
			}
		})
	}
	wg.Wait()
	if n := entered.Load(); n != goroutines*rounds {
		t.Errorf("%d entries, want %d", n, goroutines*rounds)
	}
}

// TestGateWaits checks the order of a gate's waits: a bundle that runs
// alone waits for the running one; bundles that come after it wait for
// it; a wait that is given up lets those behind it in.
func TestGateWaits(t *testing.T) {
	var g gate
	ctx := context.Background()
	leaveFirst, _ := g.enter(ctx, false)

	soloCtx, giveUp := context.WithCancel(ctx)
	soloErr := make(chan error, 1)
	go func() {
		leave, err := g.enter(soloCtx, true)
		if err == nil {
			leave()
		}
		soloErr <- err
	}()
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.waiting == 1 })

	next := make(chan struct{})
	go func() {
		leave, err := g.enter(ctx, false)
		if err != nil {
			t.Error(err)
		}
		close(next)
		leave()
	}()
	select {
	case <-next:
		t.Fatal("a bundle started while one waited to run alone")
	case err := <-soloErr:
		t.Fatalf("the bundle that runs alone started beside a running one (err %v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	giveUp()
	if err := <-soloErr; !errors.Is(err, context.Canceled) {
		t.Errorf("given-up wait returned %v, want context.Canceled", err)
	}
	<-next // let in once the wait to run alone is given up
	leaveFirst()

	// Now with nothing running, an alone bundle starts at once and holds
	// off the next.
	leaveSolo, err := g.enter(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		leave, _ := g.enter(ctx, false)
		close(started)
		leave()
	}()
	select {
	case <-started:
		t.Fatal("a bundle started beside one that runs alone")
	case <-time.After(20 * time.Millisecond):
	}
	leaveSolo()
	<-started
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}
