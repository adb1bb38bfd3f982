package engine

import (
	"context"
	"sync"
	"testing"
	"time"

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
