package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// fanOut is a source behaviour that emits n elements of size bytes for
// its one input; with failOnce set, its first attempt fails after
// emitting them all.
func fanOut(s **stage, n, size int, failOnce *atomic.Bool) behaviour {
	return func(_ context.Context, e []byte, emit, _ func([]byte)) error {
		v, _, err := (*s).src.wv.Decode(e)
		if err != nil {
			return err
		}
		pad := strings.Repeat("x", size)
		for i := range n {
			v.Elem = nested(fmt.Sprintf("%06d%s", i, pad))
			emit((*s).src.wv.Encode(nil, v))
		}
		if failOnce != nil && failOnce.CompareAndSwap(true, false) {
			return errors.New("failing once, after the output")
		}
		return nil
	}
}

func TestBundleOutputPastItsShareSpillsToSegmentsReadBackExactly(t *testing.T) {
	const n, size = 60000, 100 // about 7 MiB from one bundle (nested: lengths below 128)
	for _, tt := range []struct {
		name     string
		failOnce bool
	}{
		{name: "a bundle's output of several times its share reaches its reader whole"},
		{name: "a failed attempt's segments are removed and the retry's delivered", failOnce: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pl, src, setup := sourceChain(t)
			var fail atomic.Bool
			fail.Store(tt.failOnce)
			f := newFake(map[string]behaviour{"Source": fanOut(src, n, size, &fail)})
			opts := testOptions(t, 2)
			opts.MemoryBudget = 2 << 20 // a share of 1 MiB per bundle
			var dir string
			_, err := runJob(context.Background(), t, pl, opts, f, func(j *job) {
				setup(j)
				dir = j.dir
				j.observe = func(j *job) {
					if j.buffered > j.bufferBudget()+j.spillShare() {
						t.Errorf("%d bytes of pending elements in memory, want at most %d", j.buffered, j.bufferBudget()+j.spillShare())
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range f.sunk("Sink") {
				got = append(got, string(v.Elem[1:7]))
			}
			slices.Sort(got)
			if distinct := len(slices.Compact(slices.Clone(got))); len(got) != n || distinct != n {
				t.Fatalf("the sink saw %d elements (%d distinct), want each of %d once", len(got), distinct, n)
			}
			sinkBundles := 0
			for _, b := range f.bundles() {
				if strings.HasPrefix(b, "Sink:") {
					sinkBundles++
				}
			}
			// Each segment (about 1 MiB) is a bundle of its own.
			if sinkBundles < 5 {
				t.Errorf("the sink ran %d bundles, want one per spilled segment (at least 5): was the output spilled?", sinkBundles)
			}
			left, err := filepath.Glob(filepath.Join(dir, "output-*"))
			if err != nil {
				t.Fatal(err)
			}
			if len(left) > 0 {
				t.Errorf("segment files left after the job: %v", left)
			}
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("job dir: %v", err)
			}
		})
	}
}
