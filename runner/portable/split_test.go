package portable_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// spin busy-waits d, standing in for per-record work.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
	}
}

// readSlowly reads [0, n) in restrictions of about bundleSize records and
// processes each record below slowBelow for perRecord (10µs the others).
func readSlowly(n, bundleSize, slowBelow int64, perRecord time.Duration, fail *atomic.Int64) (*sdk.Pipeline, runnertest.Collector[int64]) {
	p := sdk.NewPipeline()
	s := p.Root()
	nums := source.Read[int64, int64](s, source.CountingSource{From: 0, To: n}, source.DesiredBundleSize(8*bundleSize))
	slow := sdk.ParDo(s, sdk.DoFn[int64, int64](&slowFn{PerRecord: perRecord, SlowBelow: slowBelow, FailAt: fail}), nums)
	return p, runnertest.Collect(s, sdk.Reshuffle(s, slow))
}

// slowFn passes records on after spinning; it fails once on the record
// FailAt holds (if it is not negative).
type slowFn struct {
	PerRecord time.Duration
	SlowBelow int64
	FailAt    *atomic.Int64
}

func (f *slowFn) ProcessElement(_ context.Context, v int64, emit func(int64)) error {
	if v < f.SlowBelow {
		spin(f.PerRecord)
	} else {
		spin(10 * time.Microsecond)
	}
	if f.FailAt != nil && f.FailAt.CompareAndSwap(v, -1) {
		return errFailOnce
	}
	emit(v)
	return nil
}

var errFailOnce = errorString("failing once, after the split")

type errorString string

func (e errorString) Error() string { return string(e) }

func sortedRecords(c runnertest.Collector[int64]) []int64 {
	out := c.Elements()
	slices.Sort(out)
	return out
}

func seq(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestDynamicSplitting(t *testing.T) {
	tests := []struct {
		name       string
		n, size    int64
		slowBelow  int64
		perRecord  time.Duration
		failAt     int64
		wantRetry  bool
		parallel   int
		workerRuns int
	}{
		{name: "One restriction read by one worker is split into the idle slots (restriction splits).", n: 3000, size: 3000, slowBelow: 3000, perRecord: 100 * time.Microsecond, failAt: -1, parallel: 4},
		{name: "A slow bundle of many restrictions gives its tail to idle slots (channel splits).", n: 3000, size: 40, slowBelow: 400, perRecord: 300 * time.Microsecond, failAt: -1, parallel: 4},
		{name: "A bundle that fails after a split is retried with its primary only.", n: 3000, size: 3000, slowBelow: 3000, perRecord: 100 * time.Microsecond, failAt: 1000, wantRetry: true, parallel: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A split needs a slot left idle while the slow bundle runs,
			// which a machine busy with other tests may not leave: a run
			// without one is tried again, up to three times. Every run's
			// records must be right; a runner that never splits fails.
			for attempt := 1; ; attempt++ {
				var fail atomic.Int64
				fail.Store(tt.failAt)
				p, got := readSlowly(tt.n, tt.size, tt.slowBelow, tt.perRecord, &fail)
				res, err := portable.New(&portable.Options{Workers: 2, Job: portable.Job{Parallelism: tt.parallel}}).Run(context.Background(), p)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if d := cmp.Diff(seq(tt.n), sortedRecords(got)); d != "" {
					t.Errorf("records read (-want +got):\n%s", d)
				}
				t.Logf("attempt %d: %d bundles, %d splits, %d retries", attempt, res.Bundles, res.Splits, res.Retries)
				if res.Splits > 0 && (!tt.wantRetry || res.Retries > 0) {
					return
				}
				if attempt == 3 {
					if res.Splits == 0 {
						t.Errorf("Splits = 0 in %d runs, want dynamic splits of the running reads (%d bundles)", attempt, res.Bundles)
					}
					if tt.wantRetry && res.Retries == 0 {
						t.Errorf("Retries = 0 in %d runs, want the failed bundle retried", attempt)
					}
					return
				}
			}
		})
	}
}

func TestProgressReportsElementsFromTheWorkersMonitoringInfos(t *testing.T) {
	p, got := readSlowly(2000, 100, 2000, time.Millisecond, nil)
	var mu sync.Mutex
	var reports []portable.Progress
	res, err := portable.New(&portable.Options{Workers: 2, Job: portable.Job{Parallelism: 2, Progress: func(pr portable.Progress) {
		mu.Lock()
		reports = append(reports, pr)
		mu.Unlock()
	}}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := len(got.Elements()); n != 2000 {
		t.Fatalf("%d records, want 2000", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) == 0 {
		t.Fatal("no progress report in a job of over a second")
	}
	last := reports[len(reports)-1]
	if last.Stages != res.Stages || last.Elements == 0 {
		t.Errorf("last progress report %+v, want %d stages and elements read", last, res.Stages)
	}
}
