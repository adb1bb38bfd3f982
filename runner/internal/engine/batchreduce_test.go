package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestBoundedTriggeredGroupByKeyShuffles: over bounded input a triggered
// GroupByKey groups with the spilling shuffle. A processing-time trigger
// fires one ON_TIME pane per window there (the input watermark jumps to
// the end when the input ends; processing-time timers fire at the end);
// a count trigger goes through a reducer key after key, and fires its
// early panes as the key's elements arrive. Both under a shuffle memory
// small enough that it spills.
func TestBoundedTriggeredGroupByKeyShuffles(t *testing.T) {
	const keys, perKey = 3000, 7
	// Slices of a few keys each: the reducer restarts every few keys.
	defer func(n int) { batchSlice = n }(batchSlice)
	batchSlice = 100
	for _, tc := range []struct {
		windowing string
		batch     bool
		// panes are each key's values per pane, in index order; the last
		// is ON_TIME unless early is set, the others EARLY.
		panes []int
		early bool
		// closed is how many elements a finished trigger dropped.
		closed int64
	}{
		{windowing: "afterPT", panes: []int{perKey}},
		{windowing: "everyTwo", batch: true, panes: []int{2, 2, 2, 1}},
		{windowing: "firstTwo", batch: true, panes: []int{2}, early: true, closed: keys * (perKey - 2)},
	} {
		t.Run(tc.windowing, func(t *testing.T) {
			b := newPipeline(t)
			src := b.pardo("Source", false, b.impulse("Impulse"))
			b.keyed(src, tc.windowing)
			b.pardoIn("go2", "Sink", true, b.gbk("GroupByKey", src))
			pl := b.plan()
			var j0 *job
			f := newFake(map[string]behaviour{
				"Source": func(_ context.Context, _ []byte, emit, _ func([]byte)) error {
					for i := range keys * perKey {
						kv := append(nested(fmt.Sprint("k", i%keys)), nested(fmt.Sprint(i))...)
						emit(j0.stages[0].src.wv.Encode(nil, window.Value[[]byte]{Elem: kv, Timestamp: window.Time(i), Windows: window.GlobalWindows(), Pane: window.NoFiringPane()}))
					}
					return nil
				},
			})
			opts := testOptions(t, 2)
			opts.ShuffleMemory = 8 << 10
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := runJob(ctx, t, pl, opts, f, func(j *job) { j0 = j })
			if err != nil {
				t.Fatal(err)
			}
			var closed int64
			for k, n := range res.Metrics.Counters {
				if k.Name == "droppedDueToClosedWindow" {
					closed += n
				}
			}
			if closed != tc.closed {
				t.Errorf("droppedDueToClosedWindow %d, want %d", closed, tc.closed)
			}
			var g *stage
			for _, s := range j0.stages {
				if s.grouping != nil {
					g = s
				}
			}
			if g == nil || (g.batch != nil) != tc.batch {
				t.Fatalf("the GroupByKey's stage %v: want it on the shuffle, reducing after it: %v", g, tc.batch)
			}
			if g.grouping.Spills() == 0 {
				t.Errorf("the shuffle did not spill")
			}
			got := f.sunk("Sink")
			checkGroupedPanes(t, got, keys*perKey-int(tc.closed))
			byKey := map[string][]window.Value[[]byte]{}
			for _, p := range got {
				n := int(p.Elem[0])
				byKey[string(p.Elem[1:1+n])] = append(byKey[string(p.Elem[1:1+n])], p)
			}
			if len(byKey) != keys {
				t.Fatalf("panes for %d keys, want %d", len(byKey), keys)
			}
			for k, ps := range byKey {
				slices.SortFunc(ps, func(a, b window.Value[[]byte]) int { return int(a.Pane.Index - b.Pane.Index) })
				var counts []int
				for i, p := range ps {
					n := int(p.Elem[0])
					counts = append(counts, int(binary.BigEndian.Uint32(p.Elem[1+n:])))
					want := window.TimingEarly
					if i == len(ps)-1 && !tc.early {
						want = window.TimingOnTime
					}
					if p.Pane.Timing != want {
						t.Errorf("key %s: pane %d is %v, want %v", k, i, p.Pane.Timing, want)
					}
				}
				if !slices.Equal(counts, tc.panes) {
					t.Errorf("key %s: panes of %v values, want %v", k, counts, tc.panes)
				}
			}
		})
	}
}
