package main

import (
	"context"
	"testing"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/testutil"
)

func TestRun(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 200000} {
		custom, builtin, read, err := Run(context.Background(), n, &local.Options{Job: local.Job{Parallelism: 2}})
		if err != nil {
			t.Fatal(err)
		}
		want := n * (n - 1) / 2
		if custom != want || builtin != want || read != n {
			t.Errorf("Run(%d) = %d, %d, %d records; want sums %d and %d records", n, custom, builtin, read, want, n)
		}
	}
}

// TestSourceConformance checks the source with the verification suite.
func TestSourceConformance(t *testing.T) {
	testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[int64, int64] {
		return countingSource{Count: 25}
	}, nil)
}
