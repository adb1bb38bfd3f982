package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/examples/wordcount/words"
	"github.com/beamgo-dev/beamgo/io/sink"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// journal records what the writers of a run did. It is safe for
// concurrent use.
type journal struct {
	// mu guards the fields below.
	mu sync.Mutex
	// failed holds the bad keys whose bundle already failed once.
	failed map[string]bool
	// afterCommitFailures counts failures injected after a commit.
	afterCommitFailures int
	// committed counts rows per key in committed transactions.
	committed map[string]int
	// rolledBackRows counts rows written by transactions rolled back.
	rolledBackRows, rollbacks int
}

func newJournal() *journal {
	return &journal{failed: map[string]bool{}, committed: map[string]int{}}
}

// failFirst reports whether key is bad and fails for the first time.
func (j *journal) failFirst(bad map[string]bool, key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !bad[key] || j.failed[key] {
		return false
	}
	j.failed[key] = true
	return true
}

// recordingSink wraps SQLiteSink: it records each writer's outcome in the
// journal and fails the first write of each key in FailWrite after writing
// it, so that the failed transaction holds rows.
type recordingSink struct {
	SQLiteSink
	FailWrite map[string]bool
	// FailAlways fails every write of this key, after writing it.
	FailAlways string
	j          *journal
}

func (k recordingSink) Open(ctx context.Context, b sink.Bundle) (sink.Writer[sdk.KV[string, int64]], error) {
	w, err := k.SQLiteSink.Open(ctx, b)
	if err != nil {
		return nil, err
	}
	return &recordingWriter{w: w, sink: k}, nil
}

type recordingWriter struct {
	w    sink.Writer[sdk.KV[string, int64]]
	sink recordingSink
	keys []string
}

func (r *recordingWriter) Write(ctx context.Context, kv sdk.KV[string, int64]) error {
	if err := r.w.Write(ctx, kv); err != nil {
		return err
	}
	r.keys = append(r.keys, kv.Key)
	if kv.Key == r.sink.FailAlways {
		return fmt.Errorf("injected permanent write failure after %d rows", len(r.keys))
	}
	if r.sink.j.failFirst(r.sink.FailWrite, kv.Key) {
		return fmt.Errorf("injected write failure after %d rows", len(r.keys))
	}
	return nil
}

func (r *recordingWriter) Close(ctx context.Context, cause error) error {
	err := r.w.Close(ctx, cause)
	j := r.sink.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if cause == nil && err == nil {
		for _, k := range r.keys {
			j.committed[k]++
		}
	} else {
		j.rollbacks++
		j.rolledBackRows += len(r.keys)
	}
	return err
}

// failUpstream fails, in FinishBundle, the first attempt of each bundle
// that holds a key in Bad: it runs before the sink in the same stage, so
// the sink has written the bundle's rows and must roll them back.
type failUpstream struct {
	Bad  map[string]bool
	j    *journal
	seen []string
}

func (f *failUpstream) StartBundle(context.Context) error {
	f.seen = nil
	return nil
}

func (f *failUpstream) ProcessElement(_ context.Context, kv sdk.KV[string, int64], emit func(sdk.KV[string, int64])) error {
	f.seen = append(f.seen, kv.Key)
	emit(kv)
	return nil
}

func (f *failUpstream) FinishBundle(context.Context) error {
	for _, k := range f.seen {
		if f.j.failFirst(f.Bad, k) {
			return fmt.Errorf("injected failure before the commit (key %s)", k)
		}
	}
	return nil
}

// failAfterCommit fails the first N bundles that the sink committed: its
// input is the sink's per-bundle row count, emitted after Close(nil), so
// the retry commits the same rows a second time.
type failAfterCommit struct {
	N int
	j *journal
}

func (f *failAfterCommit) ProcessElement(_ context.Context, n int64) error {
	f.j.mu.Lock()
	defer f.j.mu.Unlock()
	if f.j.afterCommitFailures < f.N {
		f.j.afterCommitFailures++
		return fmt.Errorf("injected failure after committing %d rows", n)
	}
	return nil
}

func keySet(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func TestSQLiteSinkIsExactlyOnceUnderRetries(t *testing.T) {
	const n = 400
	var in []sdk.KV[string, int64]
	want := map[string]int64{}
	for i := range n {
		k := fmt.Sprintf("k%04d", i)
		in = append(in, sdk.KV[string, int64]{Key: k, Value: int64(i * 7)})
		want[k] = int64(i * 7)
	}
	tests := []struct {
		name          string
		failWrite     map[string]bool
		failUpstream  map[string]bool
		failAfter     int
		wantRollbacks bool
		wantRecommit  bool
	}{
		{name: "a bundle without failures commits once"},
		{name: "a write failure after some rows rolls the bundle back", failWrite: keySet("k0100", "k0300"), wantRollbacks: true},
		{name: "a failure of another step before the commit rolls the bundle back", failUpstream: keySet("k0050", "k0350"), wantRollbacks: true},
		{name: "a bundle failing after its commit is committed again without duplicates", failAfter: 2, wantRecommit: true},
		{name: "all kinds of failures together", failWrite: keySet("k0010"), failUpstream: keySet("k0200"), failAfter: 1, wantRollbacks: true, wantRecommit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "test.db")
			j := newJournal()
			p := sdk.NewPipeline()
			s := p.Root()
			kvs := sdk.Reshuffle(s, sdk.Create(s, in))
			kvs = sdk.ParDo(s, &failUpstream{Bad: tt.failUpstream, j: j}, kvs)
			written := sink.ForEach(s, sink.Sink[sdk.KV[string, int64]](recordingSink{SQLiteSink: SQLiteSink{Path: path, Table: "kv"}, FailWrite: tt.failWrite, j: j}), kvs)
			sdk.ForEach(s, &failAfterCommit{N: tt.failAfter, j: j}, written)

			res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 4}}).Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadTable(context.Background(), path, "kv")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}

			j.mu.Lock()
			defer j.mu.Unlock()
			if res.Bundles < 2 {
				t.Errorf("the job ran %d bundle(s); the test needs several", res.Bundles)
			}
			if tt.wantRollbacks && (j.rollbacks == 0 || j.rolledBackRows == 0) {
				t.Errorf("%d rollbacks of %d rows; want a rolled-back transaction that held rows", j.rollbacks, j.rolledBackRows)
			}
			if !tt.wantRollbacks && j.rollbacks != 0 {
				t.Errorf("%d rollbacks, want 0", j.rollbacks)
			}
			recommitted := 0
			for _, c := range j.committed {
				if c > 1 {
					recommitted++
				}
			}
			if tt.wantRecommit != (recommitted > 0) {
				t.Errorf("%d keys committed more than once, want some: %v", recommitted, tt.wantRecommit)
			}
			if wantRetries := len(tt.failWrite) + len(tt.failUpstream) + tt.failAfter; res.Retries != wantRetries {
				t.Errorf("Retries = %d, want %d (one per injected failure)", res.Retries, wantRetries)
			}
		})
	}
}

func TestAFailedBundleLeavesNoRows(t *testing.T) {
	var in []sdk.KV[string, int64]
	for i := range 300 {
		in = append(in, sdk.KV[string, int64]{Key: fmt.Sprintf("k%04d", i), Value: int64(i)})
	}
	path := filepath.Join(t.TempDir(), "test.db")
	j := newJournal()
	p := sdk.NewPipeline()
	s := p.Root()
	sink.ForEach(s, sink.Sink[sdk.KV[string, int64]](recordingSink{SQLiteSink: SQLiteSink{Path: path, Table: "kv"}, FailAlways: "k0150", j: j}),
		sdk.Reshuffle(s, sdk.Create(s, in)))
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 2}}).Run(context.Background(), p); err == nil {
		t.Fatal("the job succeeded, want the injected permanent failure")
	}
	got, err := ReadTable(context.Background(), path, "kv")
	if err != nil && !strings.Contains(err.Error(), "no such table") {
		t.Fatal(err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rolledBackRows == 0 {
		t.Fatal("no rolled-back transaction held rows; the test checks nothing")
	}
	if _, ok := got["k0150"]; ok {
		t.Errorf("table has k0150, whose bundle failed on every attempt")
	}
	for k := range got {
		if j.committed[k] == 0 {
			t.Errorf("table has %s, which no committed transaction wrote", k)
		}
	}
}

func TestWordCountIntoSQLite(t *testing.T) {
	lines := strings.Split(sample, "\n")
	want := map[string]int64{}
	for _, l := range lines {
		words.Words(l, func(w string) { want[w]++ })
	}
	path := filepath.Join(t.TempDir(), "counts.db")
	p := sdk.NewPipeline()
	s := p.Root()
	WriteToSQLite(s, path, "counts", CountWords(s, sdk.Create(s, lines)))
	ctx := context.Background()
	if _, err := local.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTable(ctx, path, "counts")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}

	// A second run over the same database overwrites, not adds.
	if _, err := local.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err = ReadTable(ctx, path, "counts"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts after a second run (-want +got):\n%s", diff)
	}
}

func TestOpenRejectsATableNameThatIsNotAnIdentifier(t *testing.T) {
	k := SQLiteSink{Path: filepath.Join(t.TempDir(), "x.db"), Table: "kv; DROP TABLE kv"}
	w, err := k.Open(context.Background(), sink.Bundle{ID: "b"})
	if err == nil {
		w.Close(context.Background(), errors.New("unexpected"))
		t.Fatalf("Open(table %q) succeeded, want an error", k.Table)
	}
	if !strings.Contains(err.Error(), "not an identifier") {
		t.Errorf("Open(table %q) = %v, want an error about the name", k.Table, err)
	}
}
