package main

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner/local"
)

func attribute(t *testing.T, lines []string) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	err := Run(context.Background(), local.New(nil), lines, func(_ context.Context, a Attributed) error {
		mu.Lock()
		got = append(got, a.String())
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	slices.Sort(got)
	return got
}

func TestDemo(t *testing.T) {
	// See demo: c4 is late and finds i3 but not i1; c3 is too late for i2,
	// which is reported unclicked.
	want := []string{"ad1 i1 c1", "ad1 i1 c2", "ad1 i3 c1", "ad1 i3 c4", "ad2 i2 -"}
	if diff := cmp.Diff(want, attribute(t, demo)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestBadScript(t *testing.T) {
	if err := Run(context.Background(), local.New(nil), []string{"impression ad1 i1"}, nil); err == nil {
		t.Error("Run of a line without a minute: nil error")
	}
}
