package main

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
)

// runners are the runners the example is tested on; the portable one runs
// LOOPBACK workers in this process, where the output is collected.
var runners = map[string]func() runner.Runner{
	"local":    func() runner.Runner { return local.New(nil) },
	"portable": func() runner.Runner { return portable.New(&portable.Options{Workers: 2}) },
}

func collect(t *testing.T, r runner.Runner, lines []string) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	err := Run(context.Background(), r, lines, func(_ context.Context, row Total) error {
		mu.Lock()
		got = append(got, row.String())
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got
}

func TestSeedOutput(t *testing.T) {
	want := []string{"(1,apple,1)", "(2,banana,3)", "(3,cherry,5)", "(1,apple,6)", "(5,NONAME,100)", "(6,fig,66)", "(1,apple,16)"}
	for name, r := range runners {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(want, collect(t, r(), seedScript())); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSaleBeforeItsItemGetsNoName(t *testing.T) {
	// A sale of item 9 arrives before the item's name, a later one after.
	for name, r := range runners {
		t.Run(name, func(t *testing.T) {
			got := collect(t, r(), []string{"sale 9 2", "item 9 kiwi", "sale 9 3", "item 9 lime", "sale 9 4"})
			want := []string{"(9,NONAME,2)", "(9,kiwi,5)", "(9,lime,9)"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}
