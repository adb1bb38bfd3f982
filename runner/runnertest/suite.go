package runnertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"beamgo/runner"
	"beamgo/sdk"
)

// Capabilities declares what a runner does not support, so that the suite
// skips those tests with the reason instead of failing them.
type Capabilities struct {
	// NoRetries: the runner fails a job on the first bundle failure.
	NoRetries bool
}

// RunConformanceTests runs every conformance pipeline on runners made by
// newRunner.
func RunConformanceTests(t *testing.T, newRunner func(t *testing.T) runner.Runner, caps Capabilities) {
	tests := []struct {
		name string
		run  func(t *testing.T, r runner.Runner)
		skip string
	}{
		{"ParDo lifecycle runs in order on every instance", testLifecycle, ""},
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

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// lifecycleFn logs its lifecycle calls per instance.
type lifecycleFn struct {
	Log *lifecycleLog
	id  int64
}

type lifecycleLog struct {
	mu     sync.Mutex
	next   atomic.Int64
	events map[int64][]string
}

func (l *lifecycleLog) add(id int64, ev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events[id] = append(l.events[id], ev)
}

func (f *lifecycleFn) Setup(context.Context) error {
	f.id = f.Log.next.Add(1)
	f.Log.add(f.id, "Setup")
	return nil
}
func (f *lifecycleFn) StartBundle(context.Context) error { f.Log.add(f.id, "StartBundle"); return nil }
func (f *lifecycleFn) ProcessElement(_ context.Context, v int, emit func(int)) error {
	f.Log.add(f.id, "Process")
	emit(v)
	return nil
}
func (f *lifecycleFn) FinishBundle(context.Context) error {
	f.Log.add(f.id, "FinishBundle")
	return nil
}
func (f *lifecycleFn) Teardown(context.Context) error { f.Log.add(f.id, "Teardown"); return nil }

func testLifecycle(t *testing.T, r runner.Runner) {
	log := &lifecycleLog{events: map[int64][]string{}}
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Reshuffle(s, sdk.Create(s, ints(100)))
	out := Collect(s, sdk.ParDo(s, sdk.DoFn[int, int](&lifecycleFn{Log: log}), in))
	mustRun(t, r, p)
	diff(t, "output", ints(100), sortedInts(out.Elements()))
	processed := 0
	for id, evs := range log.events {
		// Setup (StartBundle Process* FinishBundle)* Teardown
		if len(evs) < 2 || evs[0] != "Setup" || evs[len(evs)-1] != "Teardown" {
			t.Errorf("instance %d: lifecycle %v, want Setup first and Teardown last", id, evs)
			continue
		}
		inBundle := false
		for _, ev := range evs[1 : len(evs)-1] {
			switch {
			case ev == "StartBundle" && !inBundle:
				inBundle = true
			case ev == "Process" && inBundle:
				processed++
			case ev == "FinishBundle" && inBundle:
				inBundle = false
			default:
				t.Errorf("instance %d: %s out of order in %v", id, ev, evs)
			}
		}
		if inBundle {
			t.Errorf("instance %d: bundle not finished: %v", id, evs)
		}
	}
	if processed != 100 {
		t.Errorf("processed %d elements in bundles, want 100", processed)
	}
}

func sortedInts(v []int) []int { slices.Sort(v); return v }

func testMapChain(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	x := sdk.Create(s, ints(1000))
	x = sdk.Map(s, func(i int) int { return i + 1 }, x)
	x = sdk.Filter(s, func(i int) bool { return i%2 == 0 }, x)
	y := sdk.FlatMap(s, func(i int, emit func(string)) { emit(fmt.Sprint(i)); emit(fmt.Sprint(-i)) }, x)
	out := Collect(s, y)
	mustRun(t, r, p)
	var want []string
	for i := 2; i <= 1000; i += 2 {
		want = append(want, fmt.Sprint(i), fmt.Sprint(-i))
	}
	sort.Strings(want)
	got := out.Elements()
	sort.Strings(got)
	diff(t, "output", want, got)
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
	even, odd := sdk.ParDo2(s, sdk.DoFn2[int, int, string](evenOdd{}), sdk.Create(s, ints(10)))
	e, o := Collect(s, even), Collect(s, odd)
	mustRun(t, r, p)
	diff(t, "even", []int{0, 2, 4, 6, 8}, sortedInts(e.Elements()))
	diff(t, "odd", []string{"1", "3", "5", "7", "9"}, o.Sorted())
}

func renderGroup[K comparable, V any](g sdk.Group[K, V]) string {
	var vs []string
	for v := range g.Values {
		vs = append(vs, fmt.Sprint(v))
	}
	sort.Strings(vs)
	return fmt.Sprintf("%v=%v", g.Key, vs)
}

func testGroupByKey(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	kvs := sdk.Map(s, func(i int) sdk.KV[string, int] { return sdk.Pair(fmt.Sprint(i%3), i) }, sdk.Create(s, ints(9)))
	out := Collect(s, sdk.GroupByKey(s, kvs))
	mustRun(t, r, p)
	diff(t, "groups", []string{"0=[0 3 6]", "1=[1 4 7]", "2=[2 5 8]"}, out.SortedStrings(renderGroup[string, int]))
}

func testCoGroupByKey(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	emails := sdk.NewTag(sdk.Create(s, []sdk.KV[string, string]{{Key: "amy", Value: "amy@a"}, {Key: "carl", Value: "carl@c"}, {Key: "amy", Value: "amy@b"}}))
	phones := sdk.NewTag(sdk.Create(s, []sdk.KV[string, int]{{Key: "amy", Value: 111}, {Key: "bob", Value: 222}}))
	joined := sdk.CoGroupByKey(s, []sdk.Tagged[string]{emails, phones})
	out := Collect(s, sdk.Map(s, func(g sdk.CoGroup[string]) string {
		es := slices.Sorted(sdk.ValuesOf(g, emails))
		ps := slices.Sorted(sdk.ValuesOf(g, phones))
		return fmt.Sprintf("%s %v %v", g.Key, es, ps)
	}, joined))
	mustRun(t, r, p)
	diff(t, "joined", []string{"amy [amy@a amy@b] [111]", "bob [] [222]", "carl [carl@c] []"}, out.Sorted())
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
	out := Collect(s, sdk.CombinePerKey(s, sdk.CombineFn[int, meanAcc, string](meanFn{}), kvs))
	mustRun(t, r, p)
	diff(t, "combined", []string{"{0 2450/50}", "{1 2500/50}"}, out.SortedStrings(func(kv sdk.KV[int, string]) string { return fmt.Sprint(kv) }))
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
	out := Collect(s, sdk.CombinePerKey(s, sdk.CombineFn[int, funcAcc, int](sumFuncFn{}), kvs))
	mustRun(t, r, p)
	diff(t, "combined", []string{"{0 18}", "{1 12}", "{2 15}"}, out.SortedStrings(func(kv sdk.KV[string, int]) string { return fmt.Sprint(kv) }))
}

func testGlobalCombines(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []int{5, 3, 9, 1})
	empty := sdk.Create(s, []int{})
	sum, cnt, mn, mx := Collect(s, sdk.Sum(s, in)), Collect(s, sdk.Count(s, in)), Collect(s, sdk.Min(s, in)), Collect(s, sdk.Max(s, in))
	mean, top := Collect(s, sdk.Mean(s, in)), Collect(s, sdk.Top(s, 2, func(a, b int) bool { return a < b }, in))
	emptyCount, emptySum := Collect(s, sdk.Count(s, empty)), Collect(s, sdk.Sum(s, empty))
	mustRun(t, r, p)
	diff(t, "Sum", []int{18}, sum.Elements())
	diff(t, "Count", []int64{4}, cnt.Elements())
	diff(t, "Min", []int{1}, mn.Elements())
	diff(t, "Max", []int{9}, mx.Elements())
	diff(t, "Mean", []float64{4.5}, mean.Elements())
	diff(t, "Top", [][]int{{9, 5}}, top.Elements())
	diff(t, "Count of empty", []int64{0}, emptyCount.Elements())
	diff(t, "Sum of empty", []int{0}, emptySum.Elements())
}

func testFlatten(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	a := sdk.Create(s, []int{1, 2})
	b := sdk.Map(s, func(i int) int { return i * 10 }, sdk.Reshuffle(s, sdk.Create(s, []int{3})))
	out := Collect(s, sdk.Flatten(s, a, b, a))
	mustRun(t, r, p)
	diff(t, "flattened", []int{1, 1, 2, 2, 30}, sortedInts(out.Elements()))
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
	out := Collect(s, sdk.ParDo(s, sdk.DoFn[int, string](fn), nums,
		sdk.WithSideInput(fn.Total), sdk.WithSideInput(fn.All), sdk.WithSideInput(fn.Names), sdk.WithSideInput(fn.Multi)))
	mustRun(t, r, p)
	diff(t, "with side inputs", []string{
		"1 total=6 n=3 name=one multi=[a b]",
		"2 total=6 n=3 name=two multi=[]",
		"3 total=6 n=3 name= multi=[c]",
	}, out.Sorted())
}

// at returns the time sec seconds after the epoch.
func at(sec int) time.Time { return time.Unix(int64(sec), 0) }

type stamped struct {
	Key string
	Sec int
}

func windowedCounts(t *testing.T, r runner.Runner, fn func(sdk.Scope, sdk.PCollection[stamped]) sdk.PCollection[stamped], data []stamped) []string {
	t.Helper()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.WithTimestamps(s, func(v stamped) time.Time { return at(v.Sec) }, sdk.Create(s, data))
	keyed := sdk.Map(s, func(v stamped) sdk.KV[string, int] { return sdk.Pair(v.Key, v.Sec) }, fn(s, in))
	out := Collect(s, sdk.ParDo(s, sdk.DoFn[sdk.Group[string, int], string](windowFormat{}), sdk.GroupByKey(s, keyed)))
	mustRun(t, r, p)
	return out.Sorted()
}

type windowFormat struct{}

func (windowFormat) ProcessElement(ctx context.Context, g sdk.Group[string, int], emit func(string)) error {
	w := sdk.WindowOf(ctx)
	vs := slices.Sorted(g.Values)
	emit(fmt.Sprintf("%s [%d,%d) %v ts=%d", g.Key, w.Start/1000, w.End/1000, vs, sdk.EventTime(ctx).UnixMilli()/1000))
	return nil
}

func testFixedWindows(t *testing.T, r runner.Runner) {
	got := windowedCounts(t, r, func(s sdk.Scope, pc sdk.PCollection[stamped]) sdk.PCollection[stamped] {
		return sdk.WindowInto(s, sdk.FixedWindows(10*time.Second), pc)
	}, []stamped{{"a", 1}, {"a", 9}, {"a", 10}, {"b", 25}})
	// GroupByKey outputs carry the end of their window as timestamp (ts = end - 1ms, shown in seconds).
	diff(t, "fixed windows", []string{"a [0,10) [1 9] ts=9", "a [10,20) [10] ts=19", "b [20,30) [25] ts=29"}, got)
}

func testSlidingWindows(t *testing.T, r runner.Runner) {
	got := windowedCounts(t, r, func(s sdk.Scope, pc sdk.PCollection[stamped]) sdk.PCollection[stamped] {
		return sdk.WindowInto(s, sdk.SlidingWindows(10*time.Second, 5*time.Second), pc)
	}, []stamped{{"a", 7}, {"a", 12}})
	diff(t, "sliding windows", []string{"a [0,10) [7] ts=9", "a [10,20) [12] ts=19", "a [5,15) [7 12] ts=14"}, got)
}

func testSessionWindows(t *testing.T, r runner.Runner) {
	got := windowedCounts(t, r, func(s sdk.Scope, pc sdk.PCollection[stamped]) sdk.PCollection[stamped] {
		return sdk.WindowInto(s, sdk.Sessions(5*time.Second), pc)
	}, []stamped{{"a", 1}, {"a", 4}, {"a", 20}, {"b", 3}, {"a", 8}})
	diff(t, "session windows", []string{"a [1,13) [1 4 8] ts=12", "a [20,25) [20] ts=24", "b [3,8) [3] ts=7"}, got)
}

func testReshufflePartition(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	parts := sdk.Partition(s, 3, func(i, n int) int { return i % n }, sdk.Reshuffle(s, sdk.Create(s, ints(30))))
	var cs []Collector[int]
	for _, part := range parts {
		cs = append(cs, Collect(s, part))
	}
	mustRun(t, r, p)
	for i, c := range cs {
		var want []int
		for v := i; v < 30; v += 3 {
			want = append(want, v)
		}
		diff(t, fmt.Sprintf("partition %d", i), want, sortedInts(c.Elements()))
	}
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
	sdk.ParDo(s, sdk.DoFn[int, int](metricFn{}), sdk.Reshuffle(s, sdk.Create(s, ints(50))))
	res := mustRun(t, r, p)
	if got := res.Counter("conformance", "elements"); got != 50 {
		t.Errorf("counter = %d, want 50", got)
	}
	diff(t, "distribution", runner.DistributionValue{Count: 50, Sum: 1225, Min: 0, Max: 49}, res.Distribution("conformance", "values"))
	if g, ok := res.Gauge("conformance", "last"); !ok || g.Value != 7 {
		t.Errorf("gauge = %v, %v, want 7", g, ok)
	}
}

// flakyFn fails the first time it sees element 13, across all instances.
type flakyFn struct {
	Failed *atomic.Bool
}

func (f *flakyFn) ProcessElement(_ context.Context, v int, emit func(int)) error {
	if v == 13 && f.Failed.CompareAndSwap(false, true) {
		return errors.New("transient failure")
	}
	emit(v)
	return nil
}

func testRetry(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Reshuffle(s, sdk.Create(s, ints(40)))
	flaky := sdk.ParDo(s, sdk.DoFn[int, int](&flakyFn{Failed: &atomic.Bool{}}), in)
	// Only committed output crosses the Reshuffle: the collector, a side
	// effect, sits after it so that it sees no output of the failed attempt.
	out := Collect(s, sdk.Reshuffle(s, flaky))
	counts := Collect(s, sdk.Count(s, flaky))
	res := mustRun(t, r, p)
	diff(t, "output after retry", ints(40), sortedInts(out.Elements()))
	diff(t, "count after retry", []int64{40}, counts.Elements())
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

type teardownFn struct {
	TornDown *atomic.Int64
	Panic    bool
}

func (f *teardownFn) ProcessElement(_ context.Context, v string, emit func(string)) error {
	if f.Panic && v == "poison" {
		panic("swallowed " + v)
	}
	emit(v)
	return nil
}

func (f *teardownFn) Teardown(context.Context) error { f.TornDown.Add(1); return nil }

func testUserError(t *testing.T, r runner.Runner) {
	torn := &atomic.Int64{}
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.ParDo(s, sdk.DoFn[string, string](&teardownFn{TornDown: torn}), sdk.Create(s, []string{"ok", "poison"}))
	sdk.ParDo(s, sdk.DoFn[string, string](failFn{}), in, sdk.Name("Digest"))
	_, err := r.Run(context.Background(), p)
	if err == nil {
		t.Fatal("Run succeeded, want the DoFn's error")
	}
	for _, want := range []string{"Digest", "poison", "cannot digest"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if torn.Load() == 0 {
		t.Error("Teardown did not run after the failure")
	}
}

func testPanic(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[string, string](&teardownFn{TornDown: &atomic.Int64{}, Panic: true}), sdk.Create(s, []string{"poison"}), sdk.Name("Panicky"))
	_, err := r.Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "Panicky") {
		t.Fatalf("Run error = %v, want a panic error naming Panicky", err)
	}
}

type blockFn struct{ Started chan struct{} }

func (f *blockFn) ProcessElement(ctx context.Context, v int, emit func(int)) error {
	select {
	case f.Started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func testCancel(t *testing.T, r runner.Runner) {
	started := make(chan struct{}, 1)
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[int, int](&blockFn{Started: started}), sdk.Create(s, []int{1}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
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
	grouped := Collect(s, sdk.GroupByKey(s, kvs))
	summed := Collect(s, sdk.SumPerKey(s, kvs))
	flat := Collect(s, sdk.Flatten(s, empty, sdk.Reshuffle(s, empty)))
	mustRun(t, r, p)
	if n := len(grouped.Elements()) + len(summed.Elements()) + len(flat.Elements()); n != 0 {
		t.Errorf("got %d elements from an empty input, want 0", n)
	}
}
