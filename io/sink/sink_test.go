package sink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/sink"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// store is an external system with staged writes per bundle.
type store struct {
	// mu guards the fields below.
	mu        sync.Mutex
	committed []string
	staged    map[string][]string
	closes    map[string][]string // bundle ID -> outcomes of Close
	opens     int
	// failWrite fails the first write of this element.
	failWrite  string
	failCommit bool
}

func newStore() *store { return &store{staged: map[string][]string{}, closes: map[string][]string{}} }

type storeSink struct{ s *store }

func (k storeSink) Open(_ context.Context, b sink.Bundle) (sink.Writer[string], error) {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	if b.ID == "" || !strings.Contains(b.Transform, "ForEach") {
		return nil, fmt.Errorf("bad bundle %+v", b)
	}
	if _, dup := k.s.staged[b.ID]; dup {
		return nil, fmt.Errorf("bundle ID %s reused", b.ID)
	}
	k.s.staged[b.ID] = nil
	k.s.opens++
	return &storeWriter{s: k.s, id: b.ID}, nil
}

type storeWriter struct {
	s  *store
	id string
}

func (w *storeWriter) Write(_ context.Context, v string) error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if v == w.s.failWrite {
		w.s.failWrite = ""
		return errors.New("write refused")
	}
	w.s.staged[w.id] = append(w.s.staged[w.id], v)
	return nil
}

func (w *storeWriter) Close(_ context.Context, err error) error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	outcome := "commit"
	if err != nil {
		outcome = "rollback: " + err.Error()
	}
	w.s.closes[w.id] = append(w.s.closes[w.id], outcome)
	if err == nil && w.s.failCommit {
		w.s.failCommit = false
		return errors.New("commit refused")
	}
	if err == nil {
		w.s.committed = append(w.s.committed, w.s.staged[w.id]...)
	}
	delete(w.s.staged, w.id)
	return nil
}

// failOnce fails the first bundle in which it sees Bad, when the bundle
// finishes: upstream of ForEach in the same stage, that is after ForEach
// opened its writer and before it commits.
type failOnce struct {
	Bad    string
	mu     *sync.Mutex
	failed *bool
	seen   bool
}

func (f *failOnce) StartBundle(context.Context) error {
	f.seen = false
	return nil
}

func (f *failOnce) ProcessElement(_ context.Context, v string, emit func(string)) error {
	f.seen = f.seen || v == f.Bad
	emit(v)
	return nil
}

func (f *failOnce) FinishBundle(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen && !*f.failed {
		*f.failed = true
		return errors.New("upstream failure")
	}
	return nil
}

func elems(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("e%03d", i)
	}
	return out
}

func TestForEach(t *testing.T) {
	tests := []struct {
		name         string
		failWrite    string
		failUpstream string
		failCommit   bool
		wantRollback string
	}{
		{name: "all bundles commit"},
		{name: "a write error rolls the bundle back with that error", failWrite: "e042", wantRollback: "rollback: write refused"},
		{name: "a failure elsewhere rolls back with ErrBundleFailed", failUpstream: "e077", wantRollback: "rollback: " + sink.ErrBundleFailed.Error()},
		{name: "a failed commit is retried", failCommit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore()
			st.failWrite, st.failCommit = tt.failWrite, tt.failCommit
			p := sdk.NewPipeline()
			s := p.Root()
			in := sdk.Reshuffle(s, sdk.Create(s, elems(200)))
			in = sdk.ParDo(s, sdk.DoFn[string, string](&failOnce{Bad: tt.failUpstream, mu: &sync.Mutex{}, failed: new(bool)}), in)
			counts := runnertest.Collect(s, sink.ForEach(s, sink.Sink[string](storeSink{st}), in))
			if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 3}}).Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := slices.Clone(st.committed)
			slices.Sort(got)
			if diff := cmp.Diff(elems(200), got); diff != "" {
				t.Errorf("committed elements (-want +got):\n%s", diff)
			}
			var total int64
			for _, n := range counts.Elements() {
				total += n
			}
			if total != 200 {
				t.Errorf("ForEach counted %d elements, want 200", total)
			}
			var rollbacks []string
			for id, outcomes := range st.closes {
				if len(outcomes) != 1 {
					t.Errorf("writer %s closed %d times (%q), want once", id, len(outcomes), outcomes)
				}
				if outcomes[0] != "commit" {
					rollbacks = append(rollbacks, outcomes[0])
				}
			}
			if len(st.closes) != st.opens {
				t.Errorf("%d writers opened, %d closed", st.opens, len(st.closes))
			}
			if tt.wantRollback == "" && len(rollbacks) > 0 {
				t.Errorf("rollbacks %q, want none", rollbacks)
			}
			if tt.wantRollback != "" && !slices.Equal(rollbacks, []string{tt.wantRollback}) {
				t.Errorf("rollbacks %q, want [%q]", rollbacks, tt.wantRollback)
			}
		})
	}
}

func TestForEachNilSink(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	sink.ForEach[string](s, nil, sdk.Create(s, []string{"a"}))
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("pipeline error %v, want one about the nil sink", err)
	}
}
