package reduce

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/keymap"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

// BenchmarkAddDefault feeds 1M elements of 10k keys, in bundles of 1000 with
// timestamps rising over 20s, through Fixed(10s) windows and the default
// trigger; the input watermark follows the bundles, so windows fire and are
// collected as they would in a stream.
func BenchmarkAddDefault(b *testing.B) {
	const elements, keys, bundle = 1_000_000, 10_000, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	fn := window.FixedFn(10 * time.Second)
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "key-%05d", i)
	}
	value := []byte("12345678")
	es := make([]Element, elements)
	for i := range es {
		ts := window.Time(int64(i) * 20_000 / elements)
		es[i] = Element{Key: keyBytes[rng.IntN(keys)], Value: value, Timestamp: ts, Windows: fn.Assign(nil, ts)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	panes := 0
	for range b.N {
		r, err := New(Strategy{WindowFn: fn, OnTimeAlways: true})
		if err != nil {
			b.Fatal(err)
		}
		t := Times{Input: window.MinTime, Output: window.MinTime}
		for start := 0; start < elements; start += bundle {
			panes += len(r.Add(es[start:start+bundle], t))
			t.Input = es[start].Timestamp - 1000 // the watermark lags a second
			t.Output = min(t.Input, r.Hold())
			panes += len(r.Advance(t))
		}
		panes += drain(b, r)
	}
	b.StopTimer()
	if want := 2 * keys * b.N; panes != want {
		b.Fatalf("%d panes, want %d", panes, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*elements), "ns/element")
}

// BenchmarkMapBaseline is the floor BenchmarkAddDefault compares with on the
// same machine: the same keys appended to a map of slices, no windows, no
// triggers, no holds.
func BenchmarkMapBaseline(b *testing.B) {
	const elements, keys = 1_000_000, 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "key-%05d", i)
	}
	order := make([]int, elements)
	for i := range order {
		order[i] = rng.IntN(keys)
	}
	value := []byte("12345678")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m := make(map[string][]byte)
		for _, k := range order {
			m[string(keyBytes[k])] = append(m[string(keyBytes[k])], value...)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*elements), "ns/element")
}

// BenchmarkFrozenSnapshot encodes a frozen reducer the way a checkpoint
// does, in the slab-order format Snapshot writes and in the key-grouped
// format before it (snapshotV1), on state like the streaming benchmark's:
// 10k keys in sliding windows of 10 s every 2 s, elements over 10 s of
// event time in random key order, nothing fired yet (about 60k live
// windows). With 300k elements a window holds 30 values, and an element's
// five values are adjacent in the arena, which the key-grouped walk reads
// in a row; with 30k, 3 values, and the walk over the window slab
// dominates.
func BenchmarkFrozenSnapshot(b *testing.B) {
	for _, elements := range []int{300_000, 30_000} {
		r := slidingReducer(b, elements, 10_000)
		var f Frozen
		r.Freeze(&f)
		for _, c := range []struct {
			name string
			snap func(*Frozen, *snapbuf.Writer)
		}{{"slab", (*Frozen).Snapshot}, {"bykey", (*Frozen).snapshotV1}} {
			b.Run(fmt.Sprintf("%s/%dvalues", c.name, elements*5/r.Pending()), func(b *testing.B) {
				var w snapbuf.Writer
				for range b.N {
					w.Buf = w.Buf[:0]
					c.snap(&f, &w)
				}
				b.SetBytes(int64(len(w.Buf)))
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*r.Pending()), "ns/window")
			})
		}
	}
}

// slidingReducer returns a reducer holding elements of keys keys in
// sliding windows of 10 s every 2 s over 10 s of event time.
func slidingReducer(b *testing.B, elements, keys int) *Reducer {
	rng := rand.New(rand.NewPCG(1, 2))
	fn := window.SlidingFn(10*time.Second, 2*time.Second)
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "%08d", i)
	}
	r, err := New(Strategy{WindowFn: fn, OnTimeAlways: true})
	if err != nil {
		b.Fatal(err)
	}
	t := Times{Input: window.MinTime, Output: window.MinTime}
	es := make([]Element, 0, 1000)
	for i := range elements {
		ts := window.Time(int64(i) * 10_000 / int64(elements))
		es = append(es, Element{Key: keyBytes[rng.IntN(keys)], Value: []byte{byte(i)}, Timestamp: ts, Windows: fn.Assign(nil, ts)})
		if len(es) == cap(es) {
			r.Add(es, t)
			es = es[:0]
		}
	}
	return r
}

// BenchmarkAddSlidingCount is the reducer's part of the bids benchmark
// under its count trigger (bench/stream -early count): 1M elements of 10k
// keys at 10k elements a second of event time, each in its five sliding
// windows of 10s every 2s, AfterWatermark with an early pane every 5
// elements, DISCARDING; the input watermark trails the bundles by half a
// second, so windows fire and are collected as the stream advances. The
// values are buffered, or merged as int64s (an IntMerger's, as a lifted
// count's on the local runner).
func BenchmarkAddSlidingCount(b *testing.B) {
	b.Run("buffered", func(b *testing.B) { benchSlidingCount(b, nil) })
	b.Run("int64", func(b *testing.B) { benchSlidingCount(b, varintSum{}) })
}

func benchSlidingCount(b *testing.B, m Merger) {
	const elements, keys, bundle = 1_000_000, 10_000, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	fn := window.SlidingFn(10*time.Second, 2*time.Second)
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "%d", i)
	}
	value := []byte{1}
	es := make([]Element, elements)
	for i := range es {
		ts := window.Time(int64(i)/10 - rng.Int64N(500))
		es[i] = Element{Key: keyBytes[rng.IntN(keys)], Value: value, Timestamp: ts, Windows: fn.Assign(nil, ts)}
	}
	s := Strategy{WindowFn: fn, Trigger: AfterWatermark{Early: Repeat{T: AfterCount{N: 5}}}, OnTimeAlways: true}
	benchStream(b, s, m, es, bundle)
}

// benchStream runs es through a new reducer of s (merging with m, if not
// nil) b.N times, in bundles, the input watermark half a second behind
// each bundle's place in the stream (ten elements a millisecond), then to
// the end of time, and reports the time per element-window (five windows
// an element) and the panes.
func benchStream(b *testing.B, s Strategy, m Merger, es []Element, bundle int) {
	b.ReportAllocs()
	b.ResetTimer()
	var out []Pane
	panes := 0
	for range b.N {
		r, err := New(s)
		if err != nil {
			b.Fatal(err)
		}
		if m != nil {
			r.SetMerger(m)
		}
		t := Times{Input: window.MinTime, Output: window.MinTime}
		for start := 0; start < len(es); start += bundle {
			out = r.AppendAdd(out[:0], es[start:start+bundle], t)
			panes += len(out)
			t.Input = window.Time(int64(start)/10 - 500)
			t.Output = min(t.Input, r.Hold())
			out = r.AppendAdvance(out[:0], t)
			panes += len(out)
		}
		panes += drain(b, r)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(es)*5), "ns/element-window")
	b.ReportMetric(float64(panes)/float64(b.N), "panes/op")
}

// varintSum is an IntMerger of sums in uvarints.
type varintSum struct{}

func (v varintSum) Merge(dst []byte, values [][]byte) ([]byte, error) {
	return mergeSum(v, dst, values)
}

func (varintSum) DecodeInt(v []byte) (int64, error) {
	x, n := binary.Uvarint(v)
	if n != len(v) {
		return 0, fmt.Errorf("%d of %d bytes a uvarint", n, len(v))
	}
	return int64(x), nil
}

func (varintSum) AppendInt(dst []byte, a int64) []byte { return binary.AppendUvarint(dst, uint64(a)) }

func (varintSum) MergeInts(a, b int64) (int64, error) { return a + b, nil }

// drain advances r to the end of time and returns how many panes fired;
// every window must be gone then.
func drain(b *testing.B, r *Reducer) int {
	t := Times{Input: window.MaxTime, Output: min(window.MaxTime, r.Hold())}
	n := len(r.Advance(t))
	if r.Pending() != 0 {
		b.Fatalf("Pending() = %d at the end", r.Pending())
	}
	return n
}

// slidingEarlyElements are the input of BenchmarkAddSlidingEarly and its
// floor: 1M elements of 10k varint keys (as a lifted count's int64 keys
// are encoded) at 10k elements a second of event time, out of order by
// up to half a second, each in its five sliding windows of 10 s every 2 s,
// with a count of one.
func slidingEarlyElements() []Element {
	const elements, keys = 1_000_000, 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	fn := window.SlidingFn(10*time.Second, 2*time.Second)
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = binary.AppendUvarint(nil, uint64(rng.Int64N(1<<40)))
	}
	value := []byte{1}
	es := make([]Element, elements)
	for i := range es {
		ts := window.Time(int64(i)/10 - rng.Int64N(500))
		es[i] = Element{Key: keyBytes[rng.IntN(keys)], Value: value, Timestamp: ts, Windows: fn.Assign(nil, ts)}
	}
	return es
}

// BenchmarkAddSlidingEarly is the unbounded bids job's GroupByKey on the
// local runner: slidingEarlyElements in bundles of 1000, AfterWatermark
// with an early pane a second of processing time after a window's first
// element (the clock stands still, so only on-time panes fire), the
// values merged as int64s; the input watermark trails the bundles by half
// a second.
func BenchmarkAddSlidingEarly(b *testing.B) {
	const bundle = 1000
	es := slidingEarlyElements()
	s := Strategy{WindowFn: window.SlidingFn(10*time.Second, 2*time.Second),
		Trigger: AfterWatermark{Early: Repeat{T: AfterProcessingTime{Transforms: []TimeTransform{Delay{D: 1000}}}}}}
	benchStream(b, s, varintSum{}, es, bundle)
}

// BenchmarkSlidingEarlyFloor is the floor BenchmarkAddSlidingEarly
// compares with on the same machine, and as the same number of panes
// shows, on the same input: what a layout made for this case alone does.
// Each window's keys are a dense table of 32-byte records (the sum, the
// pane index, the early timer's target) indexed by key number, and a
// window fires by walking its records in order once the watermark passes
// its end; no holds, no timer queues, no trigger state machine, no
// lateness, no memory accounting or snapshots. It is how far a compact
// per-window record for lifted combines over non-merging windows could
// go.
func BenchmarkSlidingEarlyFloor(b *testing.B) {
	const bundle = 1000
	es := slidingEarlyElements()
	b.ReportAllocs()
	b.ResetTimer()
	var out []Pane
	panes := 0
	for range b.N {
		f := &slidingFloor{keyIDs: keymap.New[int32](0), wins: map[window.Time]*floorWin{}}
		for start := 0; start < len(es); start += bundle {
			f.add(es[start:start+bundle], 0)
			out = f.advance(window.Time(int64(start)/10-500), out[:0])
			panes += len(out)
		}
		panes += len(f.advance(window.MaxTime, out[:0]))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(es)*5), "ns/element-window")
	b.ReportMetric(float64(panes)/float64(b.N), "panes/op")
}

// slidingFloor is BenchmarkSlidingEarlyFloor's grouping.
type slidingFloor struct {
	keyIDs keymap.Map[int32]
	kb     [][]byte
	wins   map[window.Time]*floorWin // by start
	byEnd  []*floorWin
	timers []int64 // the early panes' targets, in the order armed
	buf    []byte
	vals   [][]byte
}

// floorWin is one window's keys: slot[k] is 1 + the index of key number
// k's record in recs, 0 if none.
type floorWin struct {
	w    window.Window
	slot []int32
	recs []floorRec
}

type floorRec struct {
	key      int32
	armed    bool
	nonEmpty bool
	pane     int32
	sum      int64
	target   int64
}

func (f *slidingFloor) add(batch []Element, now int64) {
	for i := range batch {
		e := &batch[i]
		k, ok := f.keyIDs.GetBytes(e.Key)
		if !ok {
			k = int32(len(f.kb))
			kb := []byte(string(e.Key))
			f.kb = append(f.kb, kb)
			f.keyIDs.Set(string(kb), k)
		}
		v, _ := binary.Uvarint(e.Value)
		for _, w := range e.Windows {
			fw := f.wins[w.Start]
			if fw == nil {
				fw = &floorWin{w: w}
				f.wins[w.Start] = fw
				f.byEnd = append(f.byEnd, fw)
			}
			for int(k) >= len(fw.slot) {
				fw.slot = append(fw.slot, make([]int32, 1024)...)
			}
			s := fw.slot[k]
			if s == 0 {
				fw.recs = append(fw.recs, floorRec{key: k})
				s = int32(len(fw.recs))
				fw.slot[k] = s
			}
			r := &fw.recs[s-1]
			r.sum += int64(v)
			r.nonEmpty = true
			if !r.armed {
				r.armed, r.target = true, now+1000
				f.timers = append(f.timers, r.target)
			}
		}
	}
	f.timers = f.timers[:0] // the clock stands still: none fires
}

func (f *slidingFloor) advance(wm window.Time, out []Pane) []Pane {
	sort.Slice(f.byEnd, func(i, j int) bool { return f.byEnd[i].w.End < f.byEnd[j].w.End })
	n := 0
	for _, fw := range f.byEnd {
		if fw.w.MaxTimestamp() >= wm {
			break
		}
		for i := range fw.recs {
			r := &fw.recs[i]
			if !r.nonEmpty {
				continue
			}
			at := len(f.buf)
			f.buf = binary.AppendUvarint(f.buf, uint64(r.sum))
			if len(f.vals) == 0 {
				f.vals = make([][]byte, 4096) // carved into panes, as the reducer's are
			}
			vals := f.vals[:1:1]
			f.vals = f.vals[1:]
			vals[0] = f.buf[at:]
			out = append(out, Pane{Key: f.kb[r.key], Window: fw.w, Values: vals, Timestamp: fw.w.MaxTimestamp(),
				Info: window.Pane{IsFirst: r.pane == 0, IsLast: true, Index: int64(r.pane), Timing: window.TimingOnTime}})
		}
		delete(f.wins, fw.w.Start)
		n++
	}
	f.byEnd = f.byEnd[n:]
	if len(f.buf) > 1<<20 {
		f.buf = nil
	}
	return out
}
