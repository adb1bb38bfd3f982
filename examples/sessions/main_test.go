package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner/local"
)

func sessions(t *testing.T, lines []string) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	err := Run(context.Background(), local.New(nil), lines, Gap, func(_ context.Context, s Session) error {
		mu.Lock()
		got = append(got, s.String())
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	slices.Sort(got)
	return got
}

func TestDemo(t *testing.T) {
	want := []string{"ann [0,35] 3", "ann [100,100] 1", "bob [30,30] 1", "bob [5,40] 3"}
	if diff := cmp.Diff(want, sessions(t, demo)); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
}

// TestRandomOnTimeClicks checks random scripts of on-time clicks, in any
// order, against sessions computed directly (those of Beam's Sessions
// windows).
func TestRandomOnTimeClicks(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var lines []string
		clicks := map[string][]int64{}
		wm := int64(0)
		for range 30 {
			if rng.IntN(4) == 0 {
				wm += int64(rng.IntN(40))
				lines = append(lines, fmt.Sprintf("watermark %d", wm))
				continue
			}
			user, at := []string{"ann", "bob", "cid"}[rng.IntN(3)], wm+int64(rng.IntN(90))
			clicks[user] = append(clicks[user], at)
			lines = append(lines, fmt.Sprintf("%s %d", user, at))
		}
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			if diff := cmp.Diff(directSessions(clicks), sessions(t, lines)); diff != "" {
				t.Errorf("sessions of %v (-want +got):\n%s", lines, diff)
			}
		})
	}
}

// directSessions splits each user's clicks (minutes) by the gap.
func directSessions(clicks map[string][]int64) []string {
	var out []string
	gap := int64(Gap / time.Minute)
	for user, at := range clicks {
		slices.Sort(at)
		first, last, n := at[0], at[0], 0
		for _, a := range at {
			if a-last >= gap {
				out = append(out, fmt.Sprintf("%s [%d,%d] %d", user, first, last, n))
				first, n = a, 0
			}
			last = a
			n++
		}
		out = append(out, fmt.Sprintf("%s [%d,%d] %d", user, first, last, n))
	}
	slices.Sort(out)
	return out
}

func TestBadScript(t *testing.T) {
	if err := Run(context.Background(), local.New(nil), []string{"ann"}, Gap, nil); err == nil {
		t.Error("Run of a line without a minute: nil error")
	}
}
