package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
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

// TestBatchReduceSlidingWindows: over bounded input in sliding windows
// with a count trigger, an element reaches the shuffle once, its windows
// in its stamped value, and the reducer must count it in every one of
// them: each (key, window) gets panes of at most two values that add up
// to the elements in that window, indexed 0, 1, ... with the last one
// final. The shuffle spills: the elements' records (about 600 KiB) are
// more than a shuffle writer holds at least (256 KiB) before spilling.
func TestBatchReduceSlidingWindows(t *testing.T) {
	const keys, perKey, size, period = 1000, 9, 30, 10
	defer func(n int) { batchSlice = n }(batchSlice)
	batchSlice = 1000
	b := newPipeline(t)
	comps := b.p.Components
	comps.Coders["iwindow"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderIntervalWindow}}
	payload, err := proto.Marshal(&pipepb.SlidingWindowsPayload{Size: durationpb.New(size * time.Millisecond), Period: durationpb.New(period * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	comps.WindowingStrategies["slidingEveryTwo"] = &pipepb.WindowingStrategy{
		WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnSliding, Payload: payload}, WindowCoderId: "iwindow",
		OnTimeBehavior: pipepb.OnTimeBehavior_FIRE_ALWAYS,
		Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{
			Subtrigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_ElementCount_{ElementCount: &pipepb.Trigger_ElementCount{ElementCount: 2}}}}}}}
	src := b.pardo("Source", false, b.impulse("Impulse"))
	b.keyed(src, "slidingEveryTwo")
	grouped := b.gbk("GroupByKey", src)
	comps.Pcollections[grouped].WindowingStrategyId = "slidingEveryTwo"
	b.pardoIn("go2", "Sink", true, grouped)
	pl := b.plan()

	// windowsOf are the sliding windows that hold ts.
	windowsOf := func(ts window.Time) []window.Window {
		var ws []window.Window
		for s := ts - ts%period; s > ts-size; s -= period {
			ws = append(ws, window.Interval(s, s+size))
		}
		return ws
	}
	type keyWin struct {
		key string
		win window.Window
	}
	want := map[keyWin]int{}
	var j0 *job
	f := newFake(map[string]behaviour{
		"Source": func(_ context.Context, _ []byte, emit, _ func([]byte)) error {
			var wv coder.Coder[window.Value[[]byte]]
			for _, st := range j0.stages {
				for _, o := range st.sinks {
					if o.pc == src {
						wv = o.wire.wv
					}
				}
			}
			for i := range keys * perKey {
				key := fmt.Sprint("k", i%keys)
				ts := window.Time(i / keys * 7)
				ws := windowsOf(ts)
				for _, w := range ws {
					want[keyWin{key, w}]++
				}
				kv := append(nested(key), nested(fmt.Sprint(i))...)
				emit(wv.Encode(nil, window.Value[[]byte]{Elem: kv, Timestamp: ts, Windows: ws, Pane: window.NoFiringPane()}))
			}
			return nil
		},
	})
	opts := testOptions(t, 2)
	opts.ShuffleMemory = 8 << 10
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := runJob(ctx, t, pl, opts, f, func(j *job) { j0 = j }); err != nil {
		t.Fatal(err)
	}
	var g *stage
	for _, s := range j0.stages {
		if s.grouping != nil {
			g = s
		}
	}
	if g == nil || g.batch == nil {
		t.Fatalf("the GroupByKey's stage %v: want it on the shuffle, reducing after it", g)
	}
	if g.grouping.Spills() == 0 {
		t.Errorf("the shuffle did not spill")
	}
	got := map[keyWin][]window.Value[[]byte]{}
	for _, p := range f.sunk("Sink") {
		if len(p.Windows) != 1 {
			t.Fatalf("a pane in %d windows", len(p.Windows))
		}
		n := int(p.Elem[0])
		kw := keyWin{string(p.Elem[1 : 1+n]), p.Windows[0]}
		got[kw] = append(got[kw], p)
	}
	if len(got) != len(want) {
		t.Errorf("panes for %d (key, window)s, want %d", len(got), len(want))
	}
	for kw, n := range want {
		ps := got[kw]
		slices.SortFunc(ps, func(a, b window.Value[[]byte]) int { return int(a.Pane.Index - b.Pane.Index) })
		values := 0
		for i, p := range ps {
			kl := int(p.Elem[0])
			c := int(binary.BigEndian.Uint32(p.Elem[1+kl:]))
			values += c
			if c > 2 || p.Pane.Index != int64(i) || p.Pane.IsLast != (i == len(ps)-1) {
				t.Errorf("%v: pane %d of %d has %d values and is %+v", kw, i, len(ps), c, p.Pane)
			}
		}
		if values != n {
			t.Errorf("%v: panes of %d values, want %d", kw, values, n)
		}
	}
}

// TestStampRoundTrip: a stamped shuffle value gives back the timestamp,
// the windows (global, or any interval windows, also at the ends of time)
// and the value it was made of.
func TestStampRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	times := []window.Time{window.MinTime, window.MaxTime, 0, -1, 1, window.EndOfGlobalWindow}
	pick := func() window.Time {
		if rng.IntN(3) == 0 {
			return times[rng.IntN(len(times))]
		}
		return window.Time(rng.Int64N(1<<40) - 1<<39)
	}
	for range 2000 {
		ts := pick()
		var wins []window.Window
		if rng.IntN(5) == 0 {
			wins = []window.Window{window.Global()}
		} else {
			for range 1 + rng.IntN(6) {
				s := pick()
				wins = append(wins, window.Interval(s, s+window.Time(rng.Int64N(1<<30))))
			}
		}
		val := make([]byte, rng.IntN(20))
		for i := range val {
			val[i] = byte(rng.Uint32())
		}
		prefix := []window.Window{window.Interval(1, 2)}
		b := stampValue([]byte("x"), ts, wins, val)
		gotTs, gotWins, gotVal, err := unstamp(b[1:], prefix)
		if err != nil {
			t.Fatalf("unstamp(stampValue(%v, %v, %x)): %v", ts, wins, val, err)
		}
		if gotTs != ts || !slices.Equal(gotWins[1:], wins) || gotWins[0] != prefix[0] || !bytes.Equal(gotVal, val) {
			t.Fatalf("unstamp(stampValue(%v, %v, %x)) = %v, %v, %x", ts, wins, val, gotTs, gotWins, gotVal)
		}
	}
}

// FuzzUnstamp: unstamp takes any bytes without panicking; what it accepts
// stamps back to the same bytes, up to the varints' encodings.
func FuzzUnstamp(f *testing.F) {
	f.Add(stampValue(nil, 12, []window.Window{window.Interval(0, 30), window.Interval(10, 40)}, []byte("v")))
	f.Add(stampValue(nil, -5, []window.Window{window.Global()}, nil))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, wins, val, err := unstamp(b, nil)
		if err != nil {
			return
		}
		again := stampValue(nil, ts, wins, val)
		ts2, wins2, val2, err := unstamp(again, nil)
		if err != nil || ts2 != ts || !slices.Equal(wins2, wins) || !bytes.Equal(val2, val) {
			t.Fatalf("unstamp(%x) = %v %v %x, which stamps to %x: %v %v %x, %v", b, ts, wins, val, again, ts2, wins2, val2, err)
		}
	})
}
