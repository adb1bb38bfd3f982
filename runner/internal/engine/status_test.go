package engine

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// gatedChain is Impulse -> Source -> Sink with a fusion break before Sink,
// whose Source emits its input three times and then returns what gate
// returns.
func gatedChain(t *testing.T, gate func() error) *fakeExec {
	return newFake(map[string]behaviour{"Source": func(_ context.Context, e []byte, emit, _ func([]byte)) error {
		for range 3 {
			emit(e)
		}
		return gate()
	}})
}

func TestMonitorWatchesARunningAndAFinishedJob(t *testing.T) {
	b := newPipeline(t)
	b.pardoIn("go2", "Sink", true, b.pardo("Source", false, b.impulse("Impulse")))
	pl := b.plan()
	started, release := make(chan struct{}), make(chan struct{})
	f := gatedChain(t, func() error { close(started); <-release; return nil })
	m := NewMonitor()
	if _, ok := m.Status(); ok {
		t.Error("Status() before Run: ok, want not ok")
	}
	opts := testOptions(t, 2)
	opts.Monitor = m
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), pl, opts, f)
		done <- err
	}()
	<-started
	st, ok := m.Status()
	if !ok || st.Ended || len(st.Stages) != 2 {
		t.Fatalf("Status() while running = %+v, %v; want 2 stages, not ended", st, ok)
	}
	src, sink := st.Stages[0], st.Stages[1]
	if src.Running != 1 || src.OW != window.MinTime || sink.IW != window.MinTime {
		t.Errorf("source stage while its bundle runs = %+v, sink %+v; want 1 running, watermarks at the start", src, sink)
	}
	if len(src.Transforms) == 0 || src.Transforms[len(src.Transforms)-1] != "Source" || sink.Transforms[0] != "Sink" {
		t.Errorf("stage transforms = %q and %q, want Source last in the first and Sink in the second", src.Transforms, sink.Transforms)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, _ = m.Status()
	if !st.Ended || st.Err != nil || st.Bundles != st.Stages[0].Bundles+st.Stages[1].Bundles || st.Stages[0].Bundles != 1 {
		t.Errorf("Status() after Run = ended %v, err %v, %d bundles (stages %d, %d); want ended, no error, 1 source bundle",
			st.Ended, st.Err, st.Bundles, st.Stages[0].Bundles, st.Stages[1].Bundles)
	}
	for _, s := range st.Stages {
		if s.IW != window.MaxTime || s.OW != window.MaxTime || s.Running+s.Pending+s.Queued != 0 {
			t.Errorf("stage %s after Run = %+v, want watermarks at the end and no work", s.ID, s)
		}
	}
	want := EdgeStatus{From: st.Stages[0].ID, To: st.Stages[1].ID, Elements: 3}
	if len(st.Edges) != 1 || st.Edges[0].From != want.From || st.Edges[0].To != want.To || st.Edges[0].Elements != 3 || st.Edges[0].Bytes == 0 {
		t.Errorf("edges = %+v, want one from %s to %s with 3 elements", st.Edges, want.From, want.To)
	}
	if got := st.Stages[1].Elements; got != 3 {
		t.Errorf("sink stage read %d elements, want 3", got)
	}
}

func TestMonitorReportsRetriesAndTheFailure(t *testing.T) {
	b := newPipeline(t)
	b.pardoIn("go2", "Sink", true, b.pardo("Source", false, b.impulse("Impulse")))
	pl := b.plan()
	boom := errors.New("boom")
	f := gatedChain(t, func() error { return boom })
	m := NewMonitor()
	opts := testOptions(t, 1)
	opts.Monitor = m
	_, err := Run(context.Background(), pl, opts, f)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want boom", err)
	}
	st, ok := m.Status()
	if !ok || !st.Ended || !errors.Is(st.Err, boom) {
		t.Fatalf("Status() = ended %v, err %v (ok %v); want ended with boom", st.Ended, st.Err, ok)
	}
	src := st.Stages[0]
	if src.Retries != 1 || src.Failed != 1 || st.Retries != 1 {
		t.Errorf("source stage = %d retries, %d failed (job %d retries); want 1, 1, 1", src.Retries, src.Failed, st.Retries)
	}
	if st.Edges[0].Elements != 0 {
		t.Errorf("edge counts %d elements of failed attempts, want 0", st.Edges[0].Elements)
	}
}

func TestMonitorStatusIsSafeWhileTheJobRuns(t *testing.T) {
	b := newPipeline(t)
	b.pardoIn("go2", "Sink", true, b.pardo("Source", false, b.impulse("Impulse")))
	pl := b.plan()
	n := 0
	f := newFake(map[string]behaviour{"Source": func(_ context.Context, e []byte, emit, residual func([]byte)) error {
		emit(e)
		if n++; n < 200 {
			residual(e)
		}
		return nil
	}})
	m := NewMonitor()
	opts := testOptions(t, 2)
	opts.Monitor = m
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if st, ok := m.Status(); ok {
				st.Stages[0].Transforms[0] = "changed" // a copy: the job must not see it
			}
		}
	}()
	_, err := Run(context.Background(), pl, opts, f)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := m.Status()
	if st.Edges[0].Elements != 200 || st.Stages[1].Elements != 200 {
		t.Errorf("after 200 source elements: edge %d, sink read %d; want 200 and 200", st.Edges[0].Elements, st.Stages[1].Elements)
	}
}

// fixedTracker is a splittable read that never splits and reports fixed
// progress.
type fixedTracker struct{ done, remaining float64 }

func (fixedTracker) TrySplit(float64) ([]byte, []byte, bool) { return nil, nil, false }
func (t fixedTracker) Progress() (float64, float64)          { return t.done, t.remaining }

func TestProgressDescribesStagesAndRunningReads(t *testing.T) {
	b := newPipeline(t)
	b.pardoIn("go2", "Sink", true, b.pardo("Source", false, b.impulse("Impulse")))
	pl := b.plan()
	started, release := make(chan struct{}), make(chan struct{})
	f := gatedChain(t, func() error { close(started); <-release; return nil })
	var j *job
	done := make(chan error, 1)
	go func() {
		_, err := runJob(context.Background(), t, pl, testOptions(t, 2), f, func(jj *job) { j = jj })
		done <- err
	}()
	<-started
	j.mu.Lock()
	var running *bundleWork
	for bw := range j.stages[0].running {
		running = bw
	}
	j.mu.Unlock()
	unregister := j.register(running, 0, fixedTracker{done: 30, remaining: 70})
	p := j.progress(j.clock.start)
	unregister()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.Stages != 2 || p.StagesDone != 0 || len(p.StageProgress) != 2 {
		t.Fatalf("progress = %+v, want 2 stages, none done", p)
	}
	src := p.StageProgress[0]
	if src.Running != 1 || src.ReadDone != 30 || src.ReadRemaining != 70 || src.Done || !src.OutputWatermark.IsZero() {
		t.Errorf("source stage progress = %+v, want 1 running with its read 30 done and 70 left, watermark unset", src)
	}
}
