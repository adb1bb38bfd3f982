package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/procstat"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

func TestRunRefusesBudgetBelowMinimum(t *testing.T) {
	var ran atomic.Int64
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Map(s, func(x int) int { ran.Add(1); return x }, sdk.Create(s, []int{1, 2, 3}))
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MemoryBudget: 1 << 20}}).Run(context.Background(), p)
	var be *local.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("Run with a 1 MiB budget = %v, want a *local.BudgetError", err)
	}
	if be.Minimum <= be.Budget || be.Budget != 1<<20 || be.Parallelism != 2 || be.Baseline <= 0 {
		t.Errorf("BudgetError = %+v, want the 1 MiB budget, Parallelism 2, a positive baseline and a larger minimum", *be)
	}
	if want := fmt.Sprintf("below the minimum %d MiB", (be.Minimum+1<<20-1)>>20); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("the pipeline processed %d elements; a refused budget must run nothing", n)
	}
	// The minimum it states is accepted.
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MemoryBudget: be.Minimum + 4<<20}}).Run(context.Background(), p); err != nil {
		t.Errorf("Run with the stated minimum %d + 4 MiB: %v", be.Minimum, err)
	}
}

func TestDefaultBudgetIsRaisedToMinimum(t *testing.T) {
	// 64 bundle slots need more than the default 128 MiB.
	p := sdk.NewPipeline()
	s := p.Root()
	out := collect(s, sdk.Map(s, func(x int) int { return 2 * x }, sdk.Create(s, []int{1, 2, 3})))
	run(t, p, &local.Options{Job: local.Job{Parallelism: 64}})
	if got := out.sorted(func(a, b int) int { return a - b }); fmt.Sprint(got) != "[2 4 6]" {
		t.Errorf("got %v, want [2 4 6]", got)
	}
}

// The child process of TestGroupByKeyPeakRSSWithinBudget reads its job
// from these variables.
const (
	gbkChildEnv  = "BEAMGO_LOCAL_TEST_GBK_CHILD"
	gbkSizeEnv   = "BEAMGO_LOCAL_TEST_GBK_MIB"        // shuffle data, default 60
	gbkBudgetEnv = "BEAMGO_LOCAL_TEST_GBK_BUDGET_MIB" // default: the minimum + 4 MiB
)

// TestGroupByKeyPeakRSSWithinBudget runs a GroupByKey of 60 MiB of
// shuffle data (BEAMGO_LOCAL_TEST_GBK_MIB) in a child process, a fresh
// copy of this test binary, at a budget 4 MiB above the minimum the
// runner states for it, the hardest budget to honour (or at
// BEAMGO_LOCAL_TEST_GBK_BUDGET_MIB), and checks the child's peak resident
// set (VmHWM), which counts everything the process ever held, against
// budget × 1.25.
func TestGroupByKeyPeakRSSWithinBudget(t *testing.T) {
	if os.Getenv(gbkChildEnv) != "" {
		groupByKeyChild(t)
		return
	}
	if testing.Short() {
		t.Skip("writes and spills tens of MB")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory is outside the budget")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status here")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupByKeyPeakRSSWithinBudget$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), gbkChildEnv+"=1", "TMPDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var hwm, spills, budget int64
	var ok bool
	for line := range strings.Lines(stdout.String()) {
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "gbk-child: VmHWM %d kB, spills %d, budget %d", &hwm, &spills, &budget); err == nil {
			ok = true
		}
	}
	if !ok {
		t.Fatalf("the child reported no peak resident set:\n%s", stdout.String())
	}
	t.Logf("peak resident set %.1f MiB at a %d MiB budget, %d spills, %v", float64(hwm)/1024, budget>>20, spills, time.Since(start).Round(time.Millisecond))
	if limit := budget + budget/4; hwm<<10 > limit {
		t.Errorf("peak resident set %.1f MiB exceeds the budget %d MiB + 25%% (%d MiB)", float64(hwm)/1024, budget>>20, limit>>20)
	}
	if spills == 0 {
		t.Errorf("no spills: the job's shuffle data did not exceed the budget, so the test checks nothing")
	}
}

func envMiB(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def << 20
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number of MiB", name, v)
	}
	return n << 20
}

// gbkSeeds is how many generator elements the child's job starts from;
// each generates its share of the records.
const gbkSeeds = 64

// gbkRecords generates seed's records: keys skewed towards low numbers
// (a few hot keys with many values, many keys with few), 32-byte values.
func gbkRecords(seed, n int, emit func(k, v string)) {
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	for i := range n {
		u := r.Float64()
		k := strconv.AppendInt([]byte("k"), 1e7+int64(u*u*u*200000), 10)
		v := strconv.AppendInt(strconv.AppendInt(strconv.AppendInt(make([]byte, 0, 32), 1e7+int64(seed), 10), 1e7+int64(i), 10), 1e15+r.Int64N(1e14), 10)
		emit(string(k), string(v))
	}
}

// gbkStats summarize groups: their number, their values, and an
// order-independent digest of keys and values.
type gbkStats struct {
	Groups, Values int64
	Digest         uint64
}

func gbkHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func groupByKeyChild(t *testing.T) {
	size := envMiB(t, gbkSizeEnv, 60)
	// A record is a 9-byte key, a 32-byte value and their two length
	// bytes in the shuffle.
	perSeed := int(size / 42 / gbkSeeds)
	p := sdk.NewPipeline()
	s := p.Root()
	seeds := sdk.Reshuffle(s, sdk.Create(s, ints(gbkSeeds)))
	kvs := sdk.FlatMap(s, func(seed int, emit func(sdk.KV[string, string])) {
		gbkRecords(seed, perSeed, func(k, v string) { emit(sdk.Pair(k, v)) })
	}, seeds)
	stats := sdk.Map(s, func(g sdk.Group[string, string]) gbkStats {
		st := gbkStats{Groups: 1}
		for v := range g.Values {
			st.Values++
			st.Digest += gbkHash(v) * gbkHash(g.Key)
		}
		return st
	}, sdk.GroupByKey(s, kvs))
	total := sdk.CombineGlobally(s, sdk.CombineFn[gbkStats, gbkStats, gbkStats](sumGBKStats{}), stats)
	out := collect(s, total)
	budget := envMiB(t, gbkBudgetEnv, 0)
	if budget == 0 {
		var be *local.BudgetError
		if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MemoryBudget: 1}}).Run(context.Background(), p); !errors.As(err, &be) {
			t.Fatalf("Run with a 1-byte budget = %v, want a *local.BudgetError", err)
		}
		budget = be.Minimum + 4<<20
	}
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MemoryBudget: budget}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	hwm := peakRSSKiB(t)

	var want gbkStats
	keys := map[string]bool{}
	for seed := range gbkSeeds {
		gbkRecords(seed, perSeed, func(k, v string) {
			keys[k] = true
			want.Values++
			want.Digest += gbkHash(v) * gbkHash(k)
		})
	}
	want.Groups = int64(len(keys))
	got := out.sorted(func(a, b gbkStats) int { return 0 })
	if len(got) != 1 || got[0] != want {
		t.Fatalf("group statistics %+v, want [%+v]", got, want)
	}
	fmt.Printf("gbk-child: VmHWM %d kB, spills %d, budget %d\n", hwm, res.Spills, budget)
}

type sumGBKStats struct{}

func (sumGBKStats) CreateAccumulator() gbkStats { return gbkStats{} }
func (sumGBKStats) AddInput(a, v gbkStats) gbkStats {
	return gbkStats{a.Groups + v.Groups, a.Values + v.Values, a.Digest + v.Digest}
}
func (f sumGBKStats) MergeAccumulators(a, b gbkStats) gbkStats { return f.AddInput(a, b) }
func (sumGBKStats) ExtractOutput(a gbkStats) gbkStats          { return a }

// peakRSSKiB returns the process's peak resident set (VmHWM), in KiB.
func peakRSSKiB(t *testing.T) int64 {
	t.Helper()
	n, err := procstat.PeakRSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSoftLimitFollowsWindowingState holds the state of 100,000 keys in a
// streaming GroupByKey (a TestStream's first elements, in a window its
// watermark keeps open) at a 64 MiB budget, more state than the budget's
// headroom covers, and checks that the soft memory limit seen by the
// ParDo before the GroupByKey has risen by the time the stream's next
// element arrives: the state cannot spill, and with the limit where the
// plan put it the collector would run without pause. After Run the
// process's limit is what it was before.
func TestSoftLimitFollowsWindowingState(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("the process sets its own limit; the runner leaves it alone")
	}
	if raceEnabled {
		// The race detector's shadow of this test's heap stays in the
		// process and raises the baseline of the budget tests after it.
		t.Skip("the race detector's shadow memory")
	}
	before := debug.SetMemoryLimit(-1)
	const keys = 100_000
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	start := time.Unix(0, 0)
	first := make([]string, keys)
	for i := range first {
		first[i] = strconv.Itoa(i)
	}
	ts.AddElementsAt(start, first...)
	ts.AddElementsAt(start, "probe")
	ts.AdvanceWatermarkToInfinity()
	var atFirst, atProbe atomic.Int64
	seen := sdk.Map(s, func(x string) sdk.KV[string, int] {
		switch x {
		case "0":
			atFirst.Store(debug.SetMemoryLimit(-1))
		case "probe":
			atProbe.Store(debug.SetMemoryLimit(-1))
		}
		return sdk.KV[string, int]{Key: x, Value: 1}
	}, ts.Output())
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Hour), seen,
		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(1<<30))))
	counts := collect(s, sdk.CountPerKey(s, windowed))
	run(t, p, &local.Options{Job: local.Job{Parallelism: 2}})
	if n := len(counts.sorted(func(a, b sdk.KV[string, int64]) int { return strings.Compare(a.Key, b.Key) })); n != keys+1 {
		t.Fatalf("%d counts, want %d", n, keys+1)
	}
	lo, hi := atFirst.Load(), atProbe.Load()
	t.Logf("soft limit at the first element %d MiB, at the probe %d MiB", lo>>20, hi>>20)
	if lo <= 0 || lo == math.MaxInt64 {
		t.Fatalf("soft limit at the first element = %d, want the plan's limit", lo)
	}
	if hi < lo+8<<20 {
		t.Errorf("soft limit at the probe = %d MiB, want it raised by the held state, at least 8 MiB above %d MiB", hi>>20, lo>>20)
	}
	if after := debug.SetMemoryLimit(-1); after != before {
		t.Errorf("soft limit after Run = %d, want %d as before", after, before)
	}
}
