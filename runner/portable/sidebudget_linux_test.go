package portable_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/procstat"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// The child of TestSideInputLargerThanBudgetPeakRSS runs the job as the
// runner (its PROCESS workers are its own children, outside its resident
// set); the workers inherit sideChildVar and run the same test body, which
// reaches Run and serves.
const (
	sideChildVar  = "BEAMGO_PORTABLE_TEST_SIDE_CHILD"
	sideMiBVar    = "BEAMGO_PORTABLE_TEST_SIDE_MIB" // the side input's size instead of sideDataBytes
	sideBudget    = 128 << 20
	sideDataBytes = 3 * sideBudget // the side input, several budgets
	sideSeeds     = 16             // producer bundles of the side input
	sideValue     = 1000           // bytes of one side input element
	sideReaders   = 4              // main input elements, each reads it all
)

// TestSideInputLargerThanBudgetPeakRSS runs, on the portable runner with
// PROCESS workers, a pipeline whose side input is three times the memory
// budget, read whole by every element of the main input, and checks that
// the runner's process peaks (VmHWM) within the budget + 25%, as the job
// server's --memory_budget promises, and that every reader saw every
// element of the side input.
func TestSideInputLargerThanBudgetPeakRSS(t *testing.T) {
	if os.Getenv(sideChildVar) != "" {
		sideInputChild(t)
		return
	}
	if testing.Short() {
		t.Skip("moves a side input of hundreds of MiB through worker processes")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory is outside the budget")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSideInputLargerThanBudgetPeakRSS$", "-test.count=1", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), sideChildVar+"=1", "TMPDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var hwm, size int64
	ok := false
	for line := range strings.Lines(stdout.String()) {
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "side-child: VmHWM %d kB, side input %d MiB", &hwm, &size); err == nil {
			ok = true
		}
	}
	if !ok {
		t.Fatalf("the child reported no peak resident set:\n%s", stdout.String())
	}
	limit := int64(sideBudget + sideBudget/4)
	t.Logf("a %d MiB side input at a %d MiB budget: the runner's peak resident set %.1f MiB (limit %d MiB), %v",
		size, sideBudget>>20, float64(hwm)/1024, limit>>20, time.Since(start).Round(time.Millisecond))
	if size<<20 < 2*sideBudget {
		t.Errorf("the side input (%d MiB) is not larger than twice the budget, so the test checks nothing", size)
	}
	if hwm<<10 > limit {
		t.Errorf("peak resident set %.1f MiB exceeds the budget %d MiB + 25%% (%d MiB)", float64(hwm)/1024, sideBudget>>20, limit>>20)
	}
}

// sideRecord is element i of seed's share of the side input.
func sideRecord(seed, i int) string {
	prefix := fmt.Sprintf("%04d:%08d:", seed, i)
	return prefix + strings.Repeat(string(rune('a'+(seed+i)%26)), sideValue-len(prefix))
}

// sideDigest is an order-independent digest of a set of records.
type sideDigest struct {
	Count int64
	Sum   uint64
}

func (d *sideDigest) add(s string) {
	h := fnv.New64a()
	h.Write([]byte(s))
	d.Count++
	d.Sum += h.Sum64()
}

func sideInputChild(t *testing.T) {
	perSeed := sideDataBytes / sideValue / sideSeeds
	if v, err := strconv.Atoi(os.Getenv(sideMiBVar)); err == nil && v > 0 {
		perSeed = v << 20 / sideValue / sideSeeds
	}
	p := sdk.NewPipeline()
	s := p.Root()
	seeds := sdk.Reshuffle(s, sdk.Create(s, count(sideSeeds)))
	records := sdk.FlatMap(s, func(seed int, emit func(string)) {
		for i := range perSeed {
			emit(sideRecord(seed, i))
		}
	}, seeds, sdk.Name("SideRecords"))
	view := sdk.AsIter(records)
	readers := sdk.Reshuffle(s, sdk.Create(s, count(sideReaders)))
	sdk.ParDo(s, &digestFn{All: view, PerSeed: perSeed}, readers, sdk.WithSideInput(view), sdk.Name("ReadSide"))

	debug.SetMemoryLimit(sideBudget + sideBudget/8) // as the job server's --memory_budget does
	var output fnapitest.SyncBuffer
	r := portable.New(&portable.Options{
		Job:     portable.Job{Parallelism: 2, MemoryBudget: sideBudget},
		Workers: 2, EnvironmentType: portable.EnvProcess,
		Process: &portable.ProcessOptions{Args: workerArgs(t), Output: &output},
	})
	// In a worker, Run serves and exits the process.
	res, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v\nworker output:\n%s", err, output.String())
	}
	hwm := peakRSSKiB(t)
	if got := res.Counter("side", "exact"); got != sideReaders {
		t.Errorf("%d of %d readers saw exactly the side input's records (%d saw other contents)", got, sideReaders, res.Counter("side", "wrong"))
	}
	if got, want := res.Counter("side", "elements"), int64(sideReaders*sideSeeds*perSeed); got != want {
		t.Errorf("the readers saw %d side input elements in all, want %d", got, want)
	}
	fmt.Printf("side-child: VmHWM %d kB, side input %d MiB\n", hwm, sideSeeds*perSeed*sideValue>>20)

}

// digestFn digests the whole side input for each element and counts it
// as exact if it has the records sideRecord makes, each once (the workers
// are other processes: the counters are what comes back).
type digestFn struct {
	All     *sdk.IterView[string]
	PerSeed int
}

func (f *digestFn) ProcessElement(ctx context.Context, _ int, _ func(int)) error {
	var got, want sideDigest
	for s := range f.All.Get(ctx) {
		got.add(s)
	}
	for seed := range sideSeeds {
		for i := range f.PerSeed {
			want.add(sideRecord(seed, i))
		}
	}
	sdk.NewCounter("side", "elements").Inc(ctx, got.Count)
	if got == want {
		sdk.NewCounter("side", "exact").Inc(ctx, 1)
	} else {
		sdk.NewCounter("side", "wrong").Inc(ctx, 1)
	}
	return nil
}

// peakRSSKiB returns this process's peak resident set (VmHWM), in KiB.
func peakRSSKiB(t *testing.T) int64 {
	t.Helper()
	n, err := procstat.PeakRSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// count returns 0, 1, ..., n-1.
func count(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
