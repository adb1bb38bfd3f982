package engine

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

func TestKeyHashIsStable(t *testing.T) {
	// Restored jobs find a key's state in the part of its hash: the hash
	// is FNV-1a and must stay so.
	for _, tc := range []struct {
		key  string
		want uint32
	}{{"", 0x811c9dc5}, {"a", 0xe40c292c}, {"foobar", 0xbf9cf968}} {
		if got := keyHash([]byte(tc.key)); got != tc.want {
			t.Errorf("keyHash(%q) = %#x, want %#x", tc.key, got, tc.want)
		}
	}
}

// partsTest is a GroupByKey under fixed windows with early panes every
// two elements, fed the same elements however many parts it has.
func newPartsTest(t *testing.T, parts int) *reducing {
	t.Helper()
	red := &reducing{strategy: reduce.Strategy{
		WindowFn:     window.FixedFn(10 * time.Second),
		Trigger:      reduce.AfterWatermark{Early: reduce.AfterCount{N: 2}},
		OnTimeAlways: true,
	}, dir: t.TempDir()}
	if err := red.setParts(parts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(red.close)
	return red
}

// noSpill keeps every buffered value in memory.
const noSpill = math.MaxInt64

// partsInput returns two batches of 300 elements over 40 keys and three
// windows: one as a bundle's output, one as restored from a checkpoint.
func partsInput() []*reduceBatch {
	fn := window.FixedFn(10 * time.Second)
	out := newReduceOutput()
	var restored []reduce.Element
	for i := range 600 {
		ts := window.Time(i%30) * 1000
		key := []byte(fmt.Sprintf("key-%d", i%40))
		val := []byte(fmt.Sprintf("v%d", i))
		if i < 300 {
			out.add(window.Value[[]byte]{Elem: append(key, val...), Timestamp: ts, Windows: fn.Assign(nil, ts)}, len(key))
			continue
		}
		restored = append(restored, reduce.Element{Key: key, Value: val, Timestamp: ts, Windows: fn.Assign(nil, ts)})
	}
	return []*reduceBatch{{n: out.n, out: out}, {n: len(restored), elems: restored}}
}

// describe returns the panes as sorted lines.
func describe(panes []reduce.Pane) []string {
	var out []string
	for _, p := range panes {
		out = append(out, fmt.Sprintf("%s %d %q ts=%d timing=%d index=%d last=%v", p.Key, p.Window.Start, p.Values, p.Timestamp, p.Info.Timing, p.Info.Index, p.Info.IsLast))
	}
	slices.Sort(out)
	return out
}

func TestPartsFireWhatOneReducerFires(t *testing.T) {
	t0 := reduce.Times{Input: 0, Output: 0}
	t1 := reduce.Times{Input: window.MaxTime, Output: window.MaxTime}
	one := newPartsTest(t, 1)
	want := describe(one.run(partsInput(), t0, nil, noSpill))
	wantEnd := describe(one.run(nil, t1, nil, noSpill))
	for _, n := range []int{2, 3, 7} {
		t.Run(fmt.Sprintf("%d parts", n), func(t *testing.T) {
			// The parts spill every value after the first run.
			red := newPartsTest(t, n)
			if diff := cmp.Diff(want, describe(red.run(partsInput(), t0, nil, 0))); diff != "" {
				t.Errorf("panes of the input (-want +got):\n%s", diff)
			}
			for i, p := range red.parts {
				if p.r.SpilledBytes() == 0 {
					t.Errorf("part %d spilled nothing", i)
				}
			}
			if diff := cmp.Diff(wantEnd, describe(red.run(nil, t1, nil, noSpill))); diff != "" {
				t.Errorf("panes at the end (-want +got):\n%s", diff)
			}
		})
	}
	if len(want) == 0 || len(wantEnd) == 0 {
		t.Fatalf("the test fired %d early and %d final panes; want some of each", len(want), len(wantEnd))
	}
}

func TestPartsRestoreWithTheirCount(t *testing.T) {
	// A snapshot of 3 parts restored into a job of 2 keeps 3 parts, so
	// that each key finds its state.
	t0 := reduce.Times{Input: 0, Output: 0}
	t1 := reduce.Times{Input: window.MaxTime, Output: window.MaxTime}
	red := newPartsTest(t, 3)
	red.run(partsInput(), t0, nil, 0) // the snapshot reads values back from the spill files
	b := &snapBody{}
	red.encode(b)
	// The body's reducers are frozen: encoded after the parts ran on,
	// they still hold the state of the snapshot's moment.
	want := describe(red.run(nil, t1, nil, noSpill))
	body := b.encode(nil)

	restored := newPartsTest(t, 2)
	if err := restored.decode(snapbuf.NewReader(body, "test"), false); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(restored.parts) != 3 {
		t.Fatalf("restored %d parts, want 3", len(restored.parts))
	}
	if diff := cmp.Diff(want, describe(restored.run(nil, t1, nil, noSpill))); diff != "" {
		t.Errorf("final panes after the restore (-want +got):\n%s", diff)
	}
}

func TestPartsHandOnChunksOfThePanesTheyWouldReturn(t *testing.T) {
	// Enough elements for several chunks of panes per part, both from
	// Add (early panes) and from Advance (the final ones).
	input := func() []*reduceBatch {
		fn := window.FixedFn(10 * time.Second)
		out := newReduceOutput()
		for i := range 12 * paneChunk {
			ts := window.Time(i%30) * 1000
			key := []byte(fmt.Sprintf("key-%d", i%(2*paneChunk)))
			out.add(window.Value[[]byte]{Elem: append(key, fmt.Sprintf("v%d", i)...), Timestamp: ts, Windows: fn.Assign(nil, ts)}, len(key))
		}
		return []*reduceBatch{{n: out.n, out: out}}
	}
	t0 := reduce.Times{Input: 0, Output: 0}
	t1 := reduce.Times{Input: window.MaxTime, Output: window.MaxTime}
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d parts", n), func(t *testing.T) {
			whole := newPartsTest(t, n)
			chunked := newPartsTest(t, n)
			for _, tm := range []reduce.Times{t0, t1} {
				var batches []*reduceBatch
				if tm == t0 {
					batches = input()
				}
				want := describe(whole.run(batches, tm, nil, noSpill))
				if tm == t0 {
					batches = input()
				}
				var mu sync.Mutex
				var got []reduce.Pane
				chunks := 0
				rest := chunked.run(batches, tm, func(part int, panes []reduce.Pane) {
					mu.Lock()
					defer mu.Unlock()
					if len(panes) < paneChunk {
						t.Errorf("part %d handed on %d panes, fewer than a chunk", part, len(panes))
					}
					chunks++
					got = append(got, panes...)
				}, noSpill)
				if len(rest) >= n*paneChunk {
					t.Errorf("%d panes left to return, a chunk or more per part", len(rest))
				}
				if chunks == 0 {
					t.Errorf("no chunk handed on out of %d panes", len(want))
				}
				if diff := cmp.Diff(want, describe(append(got, rest...))); diff != "" {
					t.Errorf("panes (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestReducerTakesTheEarliestBatchesUpToALimit(t *testing.T) {
	red := &reducing{}
	for i := range 5 {
		red.batches = append(red.batches, &reduceBatch{n: i, bytes: 10})
	}
	for _, tc := range []struct {
		limit int64
		want  []int // the batches' n
	}{{25, []int{0, 1}}, {5, []int{2}}, {30, []int{3, 4}}} {
		var got []int
		for _, b := range red.take(tc.limit) {
			got = append(got, b.n)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("take(%d) = batches %v, want %v", tc.limit, got, tc.want)
		}
	}
	if len(red.batches) != 0 {
		t.Errorf("%d batches left, want none", len(red.batches))
	}
	if got := red.take(100); len(got) != 0 {
		t.Errorf("take of no batches = %d batches", len(got))
	}
}
