package portable_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// fault is shared by the pipelines of all workers of a test: the first
// worker to process "victim" kills itself.
type fault struct {
	killed atomic.Bool
	// mu guards got.
	mu  sync.Mutex
	got []string
}

// killFn keys words; on the first "victim" it kills the worker it runs on
// and waits for the bundle to be canceled.
type killFn struct {
	F    *fault
	Kill func()
}

func (f *killFn) ProcessElement(ctx context.Context, s string, emit func(sdk.KV[string, int])) error {
	if s == "victim" && f.F.killed.CompareAndSwap(false, true) {
		f.Kill()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Second):
			return fmt.Errorf("killing the worker did not cancel its bundle")
		}
	}
	emit(sdk.Pair(s, 1))
	return nil
}

// recordFn records the sum of each group.
type recordFn struct{ F *fault }

func (f *recordFn) ProcessElement(_ context.Context, g sdk.Group[string, int], _ func(int)) error {
	n := 0
	for v := range g.Values {
		n += v
	}
	f.F.mu.Lock()
	f.F.got = append(f.F.got, fmt.Sprintf("%s=%d", g.Key, n))
	f.F.mu.Unlock()
	return nil
}

// countPipeline counts words; kill is what killFn calls.
func countPipeline(f *fault, words []string, kill func()) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	keyed := sdk.ParDo(s, sdk.DoFn[string, sdk.KV[string, int]](&killFn{F: f, Kill: kill}), sdk.Reshuffle(s, sdk.Create(s, words)), sdk.Name("Key"))
	sdk.ParDo(s, sdk.DoFn[sdk.Group[string, int], int](&recordFn{F: f}), sdk.GroupByKey(s, keyed), sdk.Name("Record"))
	return p
}

func TestAWorkerThatDiesMidBundleHasItsBundleRetriedElsewhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var words []string
	for i := range 200 {
		words = append(words, fmt.Sprintf("w%d", i%7))
	}
	words = append(words, "victim")
	f := &fault{}
	// Every worker runs its own copy of the pipeline, whose killFn stops
	// that worker: the same construction gives the same transform names.
	var mu sync.Mutex
	var started []string
	start := func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		wctx, kill := context.WithCancel(context.WithoutCancel(ctx))
		p := countPipeline(f, words, kill)
		done := make(chan struct{})
		go func() {
			defer close(done)
			harness.Run(wctx, &harness.Options{ID: id, ControlEndpoint: control.GetUrl(), Pipeline: p})
		}()
		mu.Lock()
		started = append(started, id)
		mu.Unlock()
		return func() { kill(); <-done }, nil
	}
	pb, err := translate.ToProto(countPipeline(f, words, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := portable.New(&portable.Options{Workers: 3}).RunPipeline(ctx, pb, start)
	if err != nil {
		t.Fatalf("RunPipeline: %v", err)
	}
	if !f.killed.Load() {
		t.Fatal("no worker was killed: the test did not exercise the fault")
	}
	if res.Retries == 0 {
		t.Errorf("Retries = 0, want the killed bundle retried")
	}
	want := []string{"victim=1"}
	for i := range 7 {
		want = append(want, fmt.Sprintf("w%d=%d", i, len(slices.DeleteFunc(slices.Clone(words), func(w string) bool { return w != fmt.Sprintf("w%d", i) }))))
	}
	slices.Sort(want)
	f.mu.Lock()
	got := slices.Sorted(slices.Values(f.got))
	f.mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts after a worker died (-want +got):\n%s", diff)
	}
	// The dead worker was replaced when the engine retried its bundle.
	if len(started) != 4 {
		t.Errorf("started workers %v, want 3 and a replacement", started)
	}
}

func TestAFailingJobNamesTheErrorAndKeepsNoWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Map(s, func(w string) string {
		if w == "bad" {
			panic("bad word")
		}
		return w
	}, sdk.Create(s, []string{"ok", "bad"}), sdk.Name("Check"))
	var live atomic.Int64
	start := func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		stop, err := portable.Loopback(p)(ctx, id, control)
		live.Add(1)
		return func() { stop(); live.Add(-1) }, err
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = portable.New(&portable.Options{Workers: 2, Job: portable.Job{MaxAttempts: 2}}).RunPipeline(ctx, pb, start)
	if err == nil || !strings.Contains(err.Error(), "bad word") || !strings.Contains(err.Error(), "Check") {
		t.Errorf("RunPipeline = %v, want an error naming the transform and the panic", err)
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d workers still running after the job", n)
	}
}

func TestWorkersThatNeverConnectFailTheJob(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	never := func(context.Context, string, *pipepb.ApiServiceDescriptor) (func(), error) { return nil, nil }
	_, err = portable.New(&portable.Options{WorkerTimeout: 200 * time.Millisecond}).RunPipeline(ctx, pb, never)
	if err == nil || !strings.Contains(err.Error(), "worker-0") {
		t.Errorf("RunPipeline with absent workers = %v, want an error naming the worker", err)
	}
}

// lifecycleFn counts Setup and Teardown calls across its copies; it fails
// on "bad" and, on "block", waits for its bundle to be canceled.
type lifecycleFn struct {
	Setups, Teardowns *atomic.Int64
	Blocked           chan struct{}
}

func (f *lifecycleFn) Setup(context.Context) error    { f.Setups.Add(1); return nil }
func (f *lifecycleFn) Teardown(context.Context) error { f.Teardowns.Add(1); return nil }
func (f *lifecycleFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	switch s {
	case "bad":
		return fmt.Errorf("bad element")
	case "block":
		select {
		case f.Blocked <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}
	emit(s)
	return nil
}

func TestEveryWorkerThatRanSetupRunsTeardown(t *testing.T) {
	tests := []struct {
		name    string
		words   []string
		cancel  bool
		wantErr string
	}{
		{"a job that succeeds tears down", []string{"a", "b", "c", "d"}, false, ""},
		{"a job whose bundle fails tears down", []string{"a", "b", "bad", "d"}, false, "bad element"},
		{"a canceled job tears down", []string{"a", "b", "block", "d"}, true, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			fn := &lifecycleFn{Setups: &atomic.Int64{}, Teardowns: &atomic.Int64{}, Blocked: make(chan struct{}, 1)}
			p := sdk.NewPipeline()
			s := p.Root()
			sdk.ParDo(s, sdk.DoFn[string, string](fn), sdk.Reshuffle(s, sdk.Create(s, tt.words)), sdk.Name("Lifecycle"))
			if tt.cancel {
				go func() {
					select {
					case <-fn.Blocked:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			_, err := portable.New(&portable.Options{Workers: 2, Job: portable.Job{MaxAttempts: 2}}).Run(ctx, p)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Run = %v, want error %q", err, tt.wantErr)
			}
			setups, teardowns := fn.Setups.Load(), fn.Teardowns.Load()
			if setups == 0 || teardowns != setups {
				t.Errorf("after Run: %d Setups and %d Teardowns, want as many Teardowns as Setups (> 0)", setups, teardowns)
			}
		})
	}
}
