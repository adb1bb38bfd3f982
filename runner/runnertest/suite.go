package runnertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

// Capabilities declares what a runner does not support, so that the suite
// skips those tests with the reason instead of failing them.
type Capabilities struct {
	// NoRetries: the runner fails a job on the first bundle failure.
	NoRetries bool
	// LateTeardown: Run may return before the job's workers have run
	// Teardown (a job server that stops its PROCESS workers after the job
	// has ended, as Prism does), so the suite checks only that Setup ran.
	LateTeardown bool
	// NoTimers: the runner serves user state but refuses timers and
	// OnWindowExpiration (RunStatefulConformanceTests skips their cases).
	NoTimers bool
}

// RunConformanceTests runs every conformance pipeline on runners made by
// newRunner.
func RunConformanceTests(t *testing.T, newRunner func(t *testing.T) runner.Runner, caps Capabilities) {
	tests := []struct {
		name string
		run  func(t *testing.T, r runner.Runner)
		skip string
	}{
		{"ParDo lifecycle runs in order on every instance", func(t *testing.T, r runner.Runner) { testLifecycle(t, r, caps) }, ""},
		{"ForEach runs the lifecycle and outputs nothing", func(t *testing.T, r runner.Runner) { testForEach(t, r, caps) }, ""},
		{"Collect brings committed elements back to the submitter", testCollect, ""},
		{"Map chains fuse and keep every element", testMapChain, ""},
		{"ParDo2 routes elements to tagged outputs", testMultipleOutputs, ""},
		{"GroupByKey groups all values of a key", testGroupByKey, ""},
		{"CoGroupByKey joins two inputs", testCoGroupByKey, ""},
		{"Combine per key, lifted", testCombineLifted, ""},
		{"Combine per key, not liftable", testCombineUnlifted, ""},
		{"Global combines and their empty-input defaults", testGlobalCombines, ""},
		{"Flatten merges inputs, the same input twice included", testFlatten, ""},
		{"Side inputs of every kind", testSideInputs, ""},
		{"Fixed windows group per window", testFixedWindows, ""},
		{"Sliding windows put elements in several windows", testSlidingWindows, ""},
		{"Session windows merge per key", testSessionWindows, ""},
		{"Reshuffle and Partition keep every element", testReshufflePartition, ""},
		{"Metrics are aggregated over bundles", testMetrics, ""},
		{"A failing bundle is retried and the output is exact", testRetry, skipIf(caps.NoRetries, "runner does not retry bundles")},
		{"A DoFn error fails the job naming transform and element", testUserError, ""},
		{"A DoFn panic becomes an error", testPanic, ""},
		{"A canceled context stops the job", testCancel, ""},
		{"An empty collection flows through every transform", testEmpty, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip != "" {
				t.Skip(tt.skip)
			}
			prepareShared(t)
			tt.run(t, newRunner(t))
		})
	}
}

func skipIf(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

func mustRun(t *testing.T, r runner.Runner, p *sdk.Pipeline) *runner.Result {
	t.Helper()
	res, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func diff[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// diffStrings compares two lists of rendered results, in any order: nil
// if they hold the same strings, else an error that lists the missing and
// the unexpected ones (each list sorted, quoted) and then all that came.
// Its text is stable, unlike cmp.Diff's, so that a runner's known
// deviation can name the part of it that the deviation produces.
func diffStrings(what string, want, got []string) error {
	missing, unexpected := slices.Clone(want), []string(nil)
	for _, g := range got {
		if i := slices.Index(missing, g); i >= 0 {
			missing = slices.Delete(missing, i, i+1)
		} else {
			unexpected = append(unexpected, g)
		}
	}
	if len(missing) == 0 && len(unexpected) == 0 {
		return nil
	}
	slices.Sort(missing)
	slices.Sort(unexpected)
	return fmt.Errorf("%s: missing %q; unexpected %q; all that came: %q", what, missing, unexpected, slices.Sorted(slices.Values(got)))
}

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// SharedDirVar names a directory in which the suite's tests and the
// workers of their jobs share files (see sharedDir). A test binary whose
// workers do not inherit the environment of the test itself (they are
// started by a job server that was started earlier, such as Prism) sets
// it before starting the job server.
const SharedDirVar = "BEAMGO_RUNNERTEST_DIR"

// inWorker reports whether this process is a worker of the test's job: a
// PROCESS worker or a worker pool (fnapi/worker), where the test runs only
// up to Run, which serves.
func inWorker() bool { return worker.Active() || worker.PoolActive() }

// prepareShared makes the directory that t and the workers of its job
// share, before the runner (which may start workers) is made: t's name
// under SharedDirVar, emptied, when that is set; otherwise a temporary
// directory that t puts in SharedDirVar, which workers started with the
// test's environment (the portable runner's PROCESS workers, a pool
// started by the test) inherit.
func prepareShared(t *testing.T) {
	t.Helper()
	if inWorker() {
		return
	}
	base, ok := os.LookupEnv(SharedDirVar)
	if !ok {
		t.Setenv(SharedDirVar, t.TempDir())
		return
	}
	dir := filepath.Join(base, t.Name())
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
}

// sharedDir returns the directory prepareShared made for t, in the test's
// process and in its workers alike, for the few facts that cannot travel
// as a pipeline's output or metrics (Teardown ran, the bundle started).
func sharedDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv(SharedDirVar)
	if base == "" {
		t.Fatalf("runnertest: %s is not set", SharedDirVar)
	}
	if dir := filepath.Join(base, t.Name()); isDir(dir) {
		return dir
	}
	return base
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// mark creates a file in dir named by what and a unique suffix.
func mark(dir, what string) error {
	f, err := os.CreateTemp(dir, what+"-*")
	if err != nil {
		return fmt.Errorf("runnertest: mark %s: %w", what, err)
	}
	return f.Close()
}

// marks counts the files mark made in dir for what.
func marks(dir, what string) int {
	m, _ := filepath.Glob(filepath.Join(dir, what+"-*")) // the pattern is valid
	return len(m)
}

// lifecycleFn checks, on each instance, that its lifecycle calls come in
// order: Setup (StartBundle Process* FinishBundle)* Teardown. A call out
// of order fails the bundle; the instances count what they process, and
// mark Setup and Teardown in Dir.
type lifecycleFn struct {
	Dir   string
	state string // the last call on this instance
}

var (
	lifecycleProcessed = sdk.NewCounter("conformance", "lifecycle.processed")
	lifecycleBundles   = sdk.NewCounter("conformance", "lifecycle.bundles")
)

func (f *lifecycleFn) step(call string, after ...string) error {
	if !slices.Contains(after, f.state) {
		return fmt.Errorf("lifecycle: %s after %q, want it after one of %q", call, f.state, after)
	}
	f.state = call
	return nil
}

func (f *lifecycleFn) Setup(context.Context) error {
	if err := f.step("Setup", ""); err != nil {
		return err
	}
	return mark(f.Dir, "setup")
}
func (f *lifecycleFn) StartBundle(context.Context) error {
	return f.step("StartBundle", "Setup", "FinishBundle")
}
func (f *lifecycleFn) process(ctx context.Context) error {
	if err := f.step("Process", "StartBundle", "Process"); err != nil {
		return err
	}
	lifecycleProcessed.Inc(ctx, 1)
	return nil
}
func (f *lifecycleFn) ProcessElement(ctx context.Context, v int, emit func(int)) error {
	emit(v)
	return f.process(ctx)
}
func (f *lifecycleFn) FinishBundle(ctx context.Context) error {
	lifecycleBundles.Inc(ctx, 1)
	return f.step("FinishBundle", "StartBundle", "Process")
}
func (f *lifecycleFn) Teardown(context.Context) error {
	if err := f.step("Teardown", "Setup", "FinishBundle"); err != nil {
		return err
	}
	return mark(f.Dir, "teardown")
}

// lifecycleSink is lifecycleFn as a ForEach.
type lifecycleSink struct{ lifecycleFn }

func (f *lifecycleSink) ProcessElement(ctx context.Context, _ int) error { return f.process(ctx) }

// checkLifecycle checks the counts of a lifecycle test's run.
func checkLifecycle(t *testing.T, res *runner.Result, dir string, n int, caps Capabilities) {
	t.Helper()
	if got := res.Counter("conformance", "lifecycle.processed"); got != int64(n) {
		t.Errorf("processed %d elements in bundles, want %d", got, n)
	}
	if res.Counter("conformance", "lifecycle.bundles") == 0 {
		t.Error("no bundle finished")
	}
	setups, teardowns := marks(dir, "setup"), marks(dir, "teardown")
	if caps.LateTeardown && setups > 0 {
		return
	}
	if setups == 0 || teardowns != setups {
		t.Errorf("%d instances ran Setup and %d Teardown, want the same number, at least 1", setups, teardowns)
	}
}

func testLifecycle(t *testing.T, r runner.Runner, caps Capabilities) {
	dir := sharedDir(t)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Reshuffle(s, sdk.Create(s, ints(100)))
	out := sdk.ParDo(s, &lifecycleFn{Dir: dir}, in)
	passert.EqualsList(s, out, ints(100))
	checkLifecycle(t, mustRun(t, r, p), dir, 100, caps)
}

func testForEach(t *testing.T, r runner.Runner, caps Capabilities) {
	dir := sharedDir(t)
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ForEach(s, &lifecycleSink{lifecycleFn{Dir: dir}}, sdk.Reshuffle(s, sdk.Create(s, ints(50))))
	checkLifecycle(t, mustRun(t, r, p), dir, 50, caps)
}

func testCollect(t *testing.T, r runner.Runner) {
	dir := sharedDir(t)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Map(s, func(i int) int { return i * 2 }, sdk.Reshuffle(s, sdk.Create(s, ints(100))))
	got := sdk.Collect(s, in, dir)
	empty := sdk.Collect(s, sdk.Create(s, []string{}), dir)
	mustRun(t, r, p)
	var want []int
	for i := range 100 {
		want = append(want, i*2)
	}
	diff(t, "collected", want, slices.Sorted(slices.Values(got.Values())))
	diff(t, "collected from an empty collection", []string{}, empty.Values())
	left, _ := filepath.Glob(filepath.Join(dir, ".beamgo-collect-*"))
	diff(t, "files left behind", []string(nil), left)
}

func testMapChain(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	x := sdk.Create(s, ints(1000))
	x = sdk.Map(s, func(i int) int { return i + 1 }, x)
	x = sdk.Filter(s, func(i int) bool { return i%2 == 0 }, x)
	y := sdk.FlatMap(s, func(i int, emit func(string)) { emit(fmt.Sprint(i)); emit(fmt.Sprint(-i)) }, x)
	var want []string
	for i := 2; i <= 1000; i += 2 {
		want = append(want, fmt.Sprint(i), fmt.Sprint(-i))
	}
	passert.EqualsList(s, y, want)
	mustRun(t, r, p)
}

type evenOdd struct{}

func (evenOdd) ProcessElement(_ context.Context, v int, even func(int), odd func(string)) error {
	if v%2 == 0 {
		even(v)
	} else {
		odd(fmt.Sprint(v))
	}
	return nil
}

func testMultipleOutputs(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	even, odd := sdk.ParDo2(s, evenOdd{}, sdk.Create(s, ints(10)))
	passert.Equals(s, even, 0, 2, 4, 6, 8)
	passert.Equals(s, odd, "1", "3", "5", "7", "9")
	mustRun(t, r, p)
}

func renderGroup[K comparable, V any](g sdk.Group[K, V]) string {
	var vs []string
	for v := range g.Values {
		vs = append(vs, fmt.Sprint(v))
	}
	slices.Sort(vs)
	return fmt.Sprintf("%v=%v", g.Key, vs)
}

func testGroupByKey(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	kvs := sdk.Map(s, func(i int) sdk.KV[string, int] { return sdk.Pair(fmt.Sprint(i%3), i) }, sdk.Create(s, ints(9)))
	passert.Equals(s, sdk.Map(s, renderGroup[string, int], sdk.GroupByKey(s, kvs)), "0=[0 3 6]", "1=[1 4 7]", "2=[2 5 8]")
	mustRun(t, r, p)
}

func testCoGroupByKey(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	emails := sdk.NewTag(sdk.Create(s, []sdk.KV[string, string]{{Key: "amy", Value: "amy@a"}, {Key: "carl", Value: "carl@c"}, {Key: "amy", Value: "amy@b"}}))
	phones := sdk.NewTag(sdk.Create(s, []sdk.KV[string, int]{{Key: "amy", Value: 111}, {Key: "bob", Value: 222}}))
	joined := sdk.CoGroupByKey(s, []sdk.Tagged[string]{emails, phones})
	out := sdk.Map(s, func(g sdk.CoGroup[string]) string {
		es := slices.Sorted(sdk.ValuesOf(g, emails))
		ps := slices.Sorted(sdk.ValuesOf(g, phones))
		return fmt.Sprintf("%s %v %v", g.Key, es, ps)
	}, joined)
	passert.Equals(s, out, "amy [amy@a amy@b] [111]", "bob [] [222]", "carl [carl@c] []")
	mustRun(t, r, p)
}

// meanAcc is a liftable accumulator.
type meanAcc struct {
	Sum, N int
}

type meanFn struct{}

func (meanFn) CreateAccumulator() meanAcc             { return meanAcc{} }
func (meanFn) AddInput(a meanAcc, v int) meanAcc      { return meanAcc{a.Sum + v, a.N + 1} }
func (meanFn) MergeAccumulators(a, b meanAcc) meanAcc { return meanAcc{a.Sum + b.Sum, a.N + b.N} }
func (meanFn) ExtractOutput(a meanAcc) string         { return fmt.Sprintf("%d/%d", a.Sum, a.N) }

func testCombineLifted(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	kvs := sdk.Map(s, func(i int) sdk.KV[int, int] { return sdk.Pair(i%2, i) }, sdk.Reshuffle(s, sdk.Create(s, ints(100))))
	passert.Equals(s, sdk.CombinePerKey(s, sdk.CombineFn[int, meanAcc, string](meanFn{}), kvs), sdk.Pair(0, "2450/50"), sdk.Pair(1, "2500/50"))
	mustRun(t, r, p)
}

// funcAcc has no coder, so the combine cannot be lifted.
type funcAcc func() int

type sumFuncFn struct{}

func (sumFuncFn) CreateAccumulator() funcAcc { return func() int { return 0 } }
func (sumFuncFn) AddInput(a funcAcc, v int) funcAcc {
	return func() int { return a() + v }
}
func (sumFuncFn) MergeAccumulators(a, b funcAcc) funcAcc { return func() int { return a() + b() } }
func (sumFuncFn) ExtractOutput(a funcAcc) int            { return a() }

func testCombineUnlifted(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	kvs := sdk.Map(s, func(i int) sdk.KV[string, int] { return sdk.Pair(fmt.Sprint(i%3), i) }, sdk.Create(s, ints(10)))
	passert.Equals(s, sdk.CombinePerKey(s, sdk.CombineFn[int, funcAcc, int](sumFuncFn{}), kvs), sdk.Pair("0", 18), sdk.Pair("1", 12), sdk.Pair("2", 15))
	mustRun(t, r, p)
}

func testGlobalCombines(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []int{5, 3, 9, 1})
	empty := sdk.Create(s, []int{})
	passert.Equals(s, sdk.Sum(s, in), 18)
	passert.Equals(s, sdk.Count(s, in), 4)
	passert.Equals(s, sdk.Min(s, in), 1)
	passert.Equals(s, sdk.Max(s, in), 9)
	passert.Equals(s, sdk.Mean(s, in), 4.5)
	passert.Equals(s, sdk.Top(s, 2, func(a, b int) bool { return a < b }, in), []int{9, 5})
	passert.Equals(s, sdk.Count(s, empty), 0)
	passert.Equals(s, sdk.Sum(s, empty), 0)
	mustRun(t, r, p)
}

func testFlatten(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	a := sdk.Create(s, []int{1, 2})
	b := sdk.Map(s, func(i int) int { return i * 10 }, sdk.Reshuffle(s, sdk.Create(s, []int{3})))
	passert.Equals(s, sdk.Flatten(s, a, b, a), 1, 1, 2, 2, 30)
	mustRun(t, r, p)
}

type sideFn struct {
	Total *sdk.SingletonView[int]
	All   *sdk.IterView[int]
	Names *sdk.MapView[int, string]
	Multi *sdk.MultiMapView[int, string]
}

func (f *sideFn) ProcessElement(ctx context.Context, k int, emit func(string)) error {
	n := 0
	for range f.All.Get(ctx) {
		n++
	}
	multi := slices.Sorted(slices.Values(f.Multi.Get(ctx)[k]))
	emit(fmt.Sprintf("%d total=%d n=%d name=%s multi=%v", k, f.Total.Get(ctx), n, f.Names.Get(ctx)[k], multi))
	return nil
}

func testSideInputs(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	nums := sdk.Create(s, []int{1, 2, 3})
	fn := &sideFn{
		Total: sdk.AsSingleton(sdk.Sum(s, nums)),
		All:   sdk.AsIter(nums),
		Names: sdk.AsMap(sdk.Create(s, []sdk.KV[int, string]{{Key: 1, Value: "one"}, {Key: 2, Value: "two"}})),
		Multi: sdk.AsMultiMap(sdk.Create(s, []sdk.KV[int, string]{{Key: 1, Value: "b"}, {Key: 1, Value: "a"}, {Key: 3, Value: "c"}})),
	}
	out := sdk.ParDo(s, fn, nums,
		sdk.WithSideInput(fn.Total), sdk.WithSideInput(fn.All), sdk.WithSideInput(fn.Names), sdk.WithSideInput(fn.Multi))
	passert.Equals(s, out,
		"1 total=6 n=3 name=one multi=[a b]",
		"2 total=6 n=3 name=two multi=[]",
		"3 total=6 n=3 name= multi=[c]",
	)
	mustRun(t, r, p)
}

// at returns the time sec seconds after the epoch.
func at(sec int) time.Time { return time.Unix(int64(sec), 0) }

type stamped struct {
	Key string
	Sec int
}

// windowedCounts runs data through fn and a GroupByKey and checks that
// the groups, rendered by windowFormat, are want. The assertion reads the
// groups in the global window, as passert does.
func windowedCounts(t *testing.T, r runner.Runner, fn func(sdk.Scope, sdk.PCollection[stamped]) sdk.PCollection[stamped], data []stamped, want ...string) {
	t.Helper()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.WithTimestamps(s, func(v stamped) time.Time { return at(v.Sec) }, sdk.Create(s, data))
	keyed := sdk.Map(s, func(v stamped) sdk.KV[string, int] { return sdk.Pair(v.Key, v.Sec) }, fn(s, in))
	passert.EqualsList(s, sdk.ParDo(s, windowFormat{}, sdk.GroupByKey(s, keyed)), want)
	mustRun(t, r, p)
}

type windowFormat struct{}

func (windowFormat) ProcessElement(ctx context.Context, g sdk.Group[string, int], emit func(string)) error {
	w := sdk.WindowOf(ctx)
	vs := slices.Sorted(g.Values)
	emit(fmt.Sprintf("%s [%d,%d) %v ts=%d", g.Key, w.Start/1000, w.End/1000, vs, sdk.EventTime(ctx).UnixMilli()/1000))
	return nil
}

func testFixedWindows(t *testing.T, r runner.Runner) {
	// GroupByKey outputs carry the end of their window as timestamp (ts = end - 1ms, shown in seconds).
	windowedCounts(t, r, func(s sdk.Scope, pc sdk.PCollection[stamped]) sdk.PCollection[stamped] {
		return sdk.WindowInto(s, sdk.FixedWindows(10*time.Second), pc)
	}, []stamped{{"a", 1}, {"a", 9}, {"a", 10}, {"b", 25}},
		"a [0,10) [1 9] ts=9", "a [10,20) [10] ts=19", "b [20,30) [25] ts=29")
}

func testSlidingWindows(t *testing.T, r runner.Runner) {
	windowedCounts(t, r, func(s sdk.Scope, pc sdk.PCollection[stamped]) sdk.PCollection[stamped] {
		return sdk.WindowInto(s, sdk.SlidingWindows(10*time.Second, 5*time.Second), pc)
	}, []stamped{{"a", 7}, {"a", 12}},
		"a [0,10) [7] ts=9", "a [10,20) [12] ts=19", "a [5,15) [7 12] ts=14")
}

func testSessionWindows(t *testing.T, r runner.Runner) {
	windowedCounts(t, r, func(s sdk.Scope, pc sdk.PCollection[stamped]) sdk.PCollection[stamped] {
		return sdk.WindowInto(s, sdk.Sessions(5*time.Second), pc)
	}, []stamped{{"a", 1}, {"a", 4}, {"a", 20}, {"b", 3}, {"a", 8}},
		"a [1,13) [1 4 8] ts=12", "a [20,25) [20] ts=24", "b [3,8) [3] ts=7")
}

func testReshufflePartition(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	parts := sdk.Partition(s, 3, func(i, n int) int { return i % n }, sdk.Reshuffle(s, sdk.Create(s, ints(30))))
	for i, part := range parts {
		var want []int
		for v := i; v < 30; v += 3 {
			want = append(want, v)
		}
		passert.EqualsList(s.Scope(fmt.Sprintf("partition%d", i)), part, want)
	}
	mustRun(t, r, p)
}

var (
	elemCount = sdk.NewCounter("conformance", "elements")
	elemDist  = sdk.NewDistribution("conformance", "values")
	lastGauge = sdk.NewGauge("conformance", "last")
)

type metricFn struct{}

func (metricFn) ProcessElement(ctx context.Context, v int, emit func(int)) error {
	elemCount.Inc(ctx, 1)
	elemDist.Update(ctx, int64(v))
	lastGauge.Set(ctx, 7)
	emit(v)
	return nil
}

func testMetrics(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, metricFn{}, sdk.Reshuffle(s, sdk.Create(s, ints(50))))
	res := mustRun(t, r, p)
	if got := res.Counter("conformance", "elements"); got != 50 {
		t.Errorf("counter = %d, want 50", got)
	}
	diff(t, "distribution", runner.DistributionValue{Count: 50, Sum: 1225, Min: 0, Max: 49}, res.Distribution("conformance", "values"))
	if g, ok := res.Gauge("conformance", "last"); !ok || g.Value != 7 {
		t.Errorf("gauge = %v, %v, want 7", g, ok)
	}
}

// flakyFn fails the first time it sees element 13, across all instances
// and processes: the one that creates the marker file in Dir fails.
type flakyFn struct {
	Dir string
}

func (f *flakyFn) ProcessElement(_ context.Context, v int, emit func(int)) error {
	if v == 13 {
		m, err := os.OpenFile(filepath.Join(f.Dir, "failed-13"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			m.Close()
			return errors.New("transient failure")
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	emit(v)
	return nil
}

func testRetry(t *testing.T, r runner.Runner) {
	dir := sharedDir(t)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Reshuffle(s, sdk.Create(s, ints(40)))
	flaky := sdk.ParDo(s, &flakyFn{Dir: dir}, in)
	// Only committed output crosses the Reshuffle: the assertion, which
	// reads its input whole, sees no output of the failed attempt.
	passert.EqualsList(s, sdk.Reshuffle(s, flaky), ints(40))
	passert.Equals(s, sdk.Count(s, flaky), 40)
	collected := sdk.Collect(s, flaky, dir)
	res := mustRun(t, r, p)
	diff(t, "collected after retry", ints(40), slices.Sorted(slices.Values(collected.Values())))
	if res.Retries < 1 {
		t.Errorf("Retries = %d, want at least 1", res.Retries)
	}
}

type failFn struct{}

func (failFn) ProcessElement(_ context.Context, v string, emit func(string)) error {
	if v == "poison" {
		return errors.New("cannot digest")
	}
	emit(v)
	return nil
}

// teardownFn marks its Teardown in Dir; with Panic it panics on "poison".
type teardownFn struct {
	Dir   string
	Panic bool
}

func (f *teardownFn) ProcessElement(_ context.Context, v string, emit func(string)) error {
	if f.Panic && v == "poison" {
		panic("swallowed " + v)
	}
	emit(v)
	return nil
}

func (f *teardownFn) Teardown(context.Context) error { return mark(f.Dir, "teardown") }

func testUserError(t *testing.T, r runner.Runner) {
	dir := sharedDir(t)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.ParDo(s, &teardownFn{Dir: dir}, sdk.Create(s, []string{"ok", "poison"}))
	sdk.ParDo(s, failFn{}, in, sdk.Name("Digest"))
	_, err := r.Run(context.Background(), p)
	if err == nil {
		t.Fatal("Run succeeded, want the DoFn's error")
	}
	for _, want := range []string{"Digest", "poison", "cannot digest"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if marks(dir, "teardown") == 0 {
		t.Error("Teardown did not run after the failure")
	}
}

func testPanic(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, &teardownFn{Dir: sharedDir(t), Panic: true}, sdk.Create(s, []string{"poison"}), sdk.Name("Panicky"))
	_, err := r.Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "Panicky") {
		t.Fatalf("Run error = %v, want a panic error naming Panicky", err)
	}
}

// blockFn marks in Dir that it started, then blocks until its context
// ends.
type blockFn struct{ Dir string }

func (f *blockFn) ProcessElement(ctx context.Context, v int, emit func(int)) error {
	if err := mark(f.Dir, "started"); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func testCancel(t *testing.T, r runner.Runner) {
	dir := sharedDir(t)
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, &blockFn{Dir: dir}, sdk.Create(s, []int{1}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !inWorker() {
		go func() {
			for marks(dir, "started") == 0 && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
		}()
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, p)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run succeeded after cancel, want an error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop within 30s of cancel")
	}
}

func testEmpty(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	empty := sdk.Create(s, []string{})
	kvs := sdk.MapKV(s, func(w string) (string, int) { return w, 1 }, empty)
	passert.Empty(s, sdk.Map(s, renderGroup[string, int], sdk.GroupByKey(s, kvs)))
	passert.Empty(s, sdk.SumPerKey(s, kvs))
	passert.Empty(s, sdk.Flatten(s, empty, sdk.Reshuffle(s, empty)))
	mustRun(t, r, p)
}
