package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// flaky fails the first bundle that finishes after seeing Bad, upstream of
// the sink in the same stage: the sink's staged writes must be dropped.
type flaky struct {
	Bad    string
	mu     *sync.Mutex
	failed *bool
	seen   bool
}

func (f *flaky) StartBundle(context.Context) error { f.seen = false; return nil }

func (f *flaky) ProcessElement(_ context.Context, w string, emit func(string)) error {
	f.seen = f.seen || w == f.Bad
	emit(w)
	return nil
}

func (f *flaky) FinishBundle(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen && !*f.failed {
		*f.failed = true
		return errors.New("injected failure")
	}
	return nil
}

func TestWriteToKVSinkUnderRetries(t *testing.T) {
	var words []string
	want := map[string]string{}
	for i := range 300 {
		w := fmt.Sprintf("w%03d", i)
		words = append(words, w)
		want[w] = fmt.Sprintf("4 W%03d", i)
	}
	store := NewSimpleKV()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.ParDo(s, &flaky{Bad: "w150", mu: &sync.Mutex{}, failed: new(bool)}, sdk.Reshuffle(s, sdk.Create(s, words)))
	kvs := sdk.Map(s, func(w string) sdk.KV[string, string] {
		return sdk.KV[string, string]{Key: w, Value: fmt.Sprintf("%d W%s", len(w), w[1:])}
	}, in)
	WriteToKVSink(s, store, "words", kvs)
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 2}}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Retries == 0 {
		t.Errorf("no bundle was retried; the test checks nothing")
	}
	if diff := cmp.Diff(want, store.Table("words")); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"words"}, store.Tables()); diff != "" {
		t.Errorf("tables left (-want +got):\n%s", diff)
	}
}

func TestBuild(t *testing.T) {
	store := NewSimpleKV()
	p := sdk.NewPipeline()
	Build(p.Root(), store, []string{"a", "bb", "a"})
	if _, err := local.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1 A", "bb": "2 BB"}, store.Table("words")); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
