package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// counter is a source behaviour: it emits its input and, until it has
// emitted n elements, checkpoints with a residual, as a self-checkpointing
// splittable read does; each residual runs as a new bundle of its stage.
func counter(s **stage, n int) behaviour {
	return func(_ context.Context, e []byte, emit, residual func([]byte)) error {
		v, _, err := (*s).src.wv.Decode(e)
		if err != nil {
			return err
		}
		i := int(v.Elem[len(v.Elem)-1])
		emit(e)
		if i+1 < n {
			v.Elem = nested(string(rune('a' + i + 1)))
			v.Elem[len(v.Elem)-1] = byte(i + 1)
			residual((*s).src.wv.Encode(nil, v))
		}
		return nil
	}
}

// sourceChain is Impulse -> Source -> Sink with a fusion break before
// Sink, and the runJob setup that lets counter find Source's stage.
func sourceChain(t *testing.T) (*plan.Plan, **stage, func(j *job)) {
	b := newPipeline(t)
	src := b.pardo("Source", false, b.impulse("Impulse"))
	b.pardoIn("go2", "Sink", true, src)
	pl := b.plan()
	var s *stage
	return pl, &s, func(j *job) { s = j.stages[0] }
}

// checkWatermarks returns an observe hook that fails t when a watermark
// goes backwards or an output watermark passes its input watermark.
func checkWatermarks(t *testing.T) func(j *job) {
	type marks struct{ iw, ow window.Time }
	prev := map[*stage]marks{}
	return func(j *job) {
		for _, s := range j.stages {
			p, ok := prev[s]
			if ok && (s.iw < p.iw || s.ow < p.ow) {
				t.Errorf("stage %s: watermarks went back from IW %v OW %v to IW %v OW %v", s.st.ID, p.iw, p.ow, s.iw, s.ow)
			}
			if s.ow > s.iw {
				t.Errorf("stage %s: OW %v is past IW %v", s.st.ID, s.ow, s.iw)
			}
			prev[s] = marks{s.iw, s.ow}
		}
	}
}

func TestStagesStreamThroughAChain(t *testing.T) {
	pl, src, setup := sourceChain(t)
	f := newFake(map[string]behaviour{"Source": counter(src, 4)})
	_, err := runJob(context.Background(), t, pl, testOptions(t, 1), f, func(j *job) { setup(j); j.observe = checkWatermarks(t) })
	if err != nil {
		t.Fatal(err)
	}
	// One worker takes downstream work first: each element reaches the
	// sink before the source's next bundle runs.
	want := []string{"Source:1", "Sink:1", "Source:1", "Sink:1", "Source:1", "Sink:1", "Source:1", "Sink:1"}
	if got := f.bundles(); !slices.Equal(got, want) {
		t.Errorf("bundles ran in order %v, want %v", got, want)
	}
}

func TestStuckPipelineIsReported(t *testing.T) {
	pl, src, setup := sourceChain(t)
	f := newFake(map[string]behaviour{"Source": counter(src, 2)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A hold that is never released: the sink stage's output watermark
	// stays at 5 ms after all data is processed.
	_, err := runJob(ctx, t, pl, testOptions(t, 2), f, func(j *job) {
		setup(j)
		j.stages[1].hold = 5
	})
	var stuck *StuckError
	if !errors.As(err, &stuck) {
		t.Fatalf("Run = %v, want a *StuckError", err)
	}
	if len(stuck.Stages) != 2 {
		t.Fatalf("dump has %d stages, want 2: %v", len(stuck.Stages), err)
	}
	got := stuck.Stages[1]
	if got.Hold != 5 || got.OW != 5 || got.IW != window.MaxTime || got.Pending != 0 {
		t.Errorf("dump of the held stage = %+v, want hold 5, OW 5, IW at the end, nothing pending", got)
	}
	if !strings.Contains(err.Error(), "hold 1970-01-01T00:00:00.005Z") {
		t.Errorf("error %q does not show the hold", err)
	}
	if n := len(f.sunk("Sink")); n != 2 {
		t.Errorf("sink saw %d elements before the job stopped, want 2", n)
	}
}

func TestCancelStopsAnEndlessSource(t *testing.T) {
	b := newPipeline(t)
	src := b.pardo("Source", false, b.impulse("Impulse"))
	b.pardoIn("go2", "Sink", true, src)
	pl := b.plan()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	f := newFake(map[string]behaviour{"Source": func(_ context.Context, e []byte, emit, residual func([]byte)) error {
		emit(e)
		residual(e)
		if n++; n == 50 {
			cancel()
		}
		return nil
	}})
	start := time.Now()
	_, err := runJob(ctx, t, pl, testOptions(t, 2), f, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v to stop after cancellation", d)
	}
}

// streamRecorder records a stage's output watermark each time the job's
// TestStream applied an event.
func streamRecorder(name string, marks *[]window.Time) func(j *job) {
	last := -1
	return func(j *job) {
		if j.stream == nil || j.stream.next == last {
			return
		}
		last = j.stream.next
		for _, s := range j.stages {
			if len(s.st.Transforms) > 0 && j.pl.Components.GetTransforms()[s.st.Transforms[0]].GetUniqueName() == name {
				*marks = append(*marks, s.ow)
			}
		}
	}
}

func TestTestStreamHoldsEachOutputsWatermark(t *testing.T) {
	b := newPipeline(t)
	outs := b.testStream("Events", []string{"a", "b"},
		addElements("a", 1000),
		advanceWatermark("a", 100000),
		advanceWatermark("b", 5000),
		addElements("b", 2000, 3000),
		advanceProcessingTime(10),
		advanceWatermark("b", 10000),
	)
	b.pardoIn("go2", "Sink", true, b.flatten("Flatten", outs["a"], outs["b"]))
	pl := b.plan()
	f := newFake(nil)
	var marks []window.Time
	var clock window.Time
	_, err := runJob(context.Background(), t, pl, testOptions(t, 2), f, func(j *job) {
		check, record := checkWatermarks(t), streamRecorder("Sink", &marks)
		j.observe = func(j *job) {
			check(j)
			record(j)
			if j.stream.next == 5 {
				clock = j.clock.now()
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The flattened watermark is the minimum of both outputs', read after
	// each event, the implicit last one (to the end of time) included.
	want := []window.Time{window.MinTime, window.MinTime, 5000, 5000, 5000, 10000, window.MaxTime}
	if !slices.Equal(marks, want) {
		t.Errorf("sink stage OW after each event = %v, want %v", marks, want)
	}
	if clock != 10 {
		t.Errorf("processing time after the advance = %v, want 10 ms after the start", clock)
	}
	var got []string
	for _, v := range f.sunk("Sink") {
		got = append(got, fmt.Sprintf("%s@%d %v", v.Elem[1:], v.Timestamp, v.Pane == window.NoFiringPane()))
	}
	slices.Sort(got)
	if want := []string{"a1000@1000 true", "b2000@2000 true", "b3000@3000 true"}; !slices.Equal(got, want) {
		t.Errorf("sink saw %v, want %v", got, want)
	}
}

// TestRandomTestStreamScripts runs random TestStream scripts through a
// Flatten and checks that watermarks never go back, every element arrives
// once, and every job quiesces and ends.
func TestRandomTestStreamScripts(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			tags := []string{"a", "b", "c"}[:1+r.IntN(3)]
			marks := map[string]int64{}
			var events []*pipepb.TestStreamPayload_Event
			elements := 0
			for range 2 + r.IntN(10) {
				tag := tags[r.IntN(len(tags))]
				switch r.IntN(3) {
				case 0:
					var ts []int64
					for range 1 + r.IntN(3) {
						ts = append(ts, r.Int64N(100000))
					}
					elements += len(ts)
					events = append(events, addElements(tag, ts...))
				case 1:
					marks[tag] += r.Int64N(20000)
					events = append(events, advanceWatermark(tag, marks[tag]))
				default:
					events = append(events, advanceProcessingTime(1+r.Int64N(1000)))
				}
			}
			b := newPipeline(t)
			outs := b.testStream("Events", tags, events...)
			var ins []string
			for _, tag := range tags {
				ins = append(ins, outs[tag])
			}
			b.pardoIn("go2", "Sink", true, b.flatten("Flatten", ins...))
			f := newFake(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := runJob(ctx, t, b.plan(), testOptions(t, 1+r.IntN(3)), f, func(j *job) { j.observe = checkWatermarks(t) }); err != nil {
				t.Fatal(err)
			}
			if n := len(f.sunk("Sink")); n != elements {
				t.Errorf("sink saw %d elements, want %d", n, elements)
			}
		})
	}
}

// kvElements adds one KV<bytes, bytes> element per timestamp, keyed k.
func kvElements(tag, k string, ts ...int64) *pipepb.TestStreamPayload_Event {
	ev := &pipepb.TestStreamPayload_Event_AddElements{Tag: tag}
	for _, t := range ts {
		// Outer KV<bytes, bytes>: the key nested, the value as is.
		enc := append(nested(k), fmt.Sprint(t)...)
		ev.Elements = append(ev.Elements, &pipepb.TestStreamPayload_TimestampedElement{EncodedElement: enc, Timestamp: t})
	}
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{ElementEvent: ev}}
}

// TestRandomScriptsThroughAGrouping runs random TestStream scripts into a
// GroupByKey on the streaming reducer (a count trigger in the global
// window) and checks that watermarks never go back, every job ends, every
// element is in a pane, and each key's panes are numbered from 0 with one
// first and one last pane, the last numbered highest.
func TestRandomScriptsThroughAGrouping(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 2))
			var events []*pipepb.TestStreamPayload_Event
			var mark int64
			elements := 0
			for range 2 + r.IntN(12) {
				switch r.IntN(3) {
				case 0:
					var ts []int64
					for range 1 + r.IntN(3) {
						ts = append(ts, r.Int64N(100000))
					}
					elements += len(ts)
					events = append(events, kvElements("", fmt.Sprint("k", r.IntN(3)), ts...))
				case 1:
					mark += r.Int64N(20000)
					events = append(events, advanceWatermark("", mark))
				default:
					events = append(events, advanceProcessingTime(1+r.Int64N(1000)))
				}
			}
			b := newPipeline(t)
			out := b.testStream("Events", []string{"o"}, events...)["o"]
			b.keyed(out, "everyTwo")
			b.pardoIn("go2", "Sink", true, b.gbk("GroupByKey", out))
			pl := b.plan()
			f := newFake(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := runJob(ctx, t, pl, testOptions(t, 1+r.IntN(3)), f, func(j *job) { j.observe = checkWatermarks(t) }); err != nil {
				t.Fatal(err)
			}
			checkGroupedPanes(t, f.sunk("Sink"), elements)
		})
	}
}

// checkGroupedPanes checks the panes of KV<bytes, Iterable<bytes>>
// elements per key.
func checkGroupedPanes(t *testing.T, panes []window.Value[[]byte], elements int) {
	t.Helper()
	byKey := map[string][]window.Pane{}
	values := 0
	for _, p := range panes {
		n := int(p.Elem[0])
		key := string(p.Elem[1 : 1+n])
		count := int(binary.BigEndian.Uint32(p.Elem[1+n:]))
		values += count
		byKey[key] = append(byKey[key], p.Pane)
	}
	if values != elements {
		t.Errorf("panes hold %d values, want %d", values, elements)
	}
	for k, ps := range byKey {
		slices.SortFunc(ps, func(a, b window.Pane) int { return int(a.Index - b.Index) })
		for i, p := range ps {
			if p.Index != int64(i) || p.IsFirst != (i == 0) || p.IsLast != (i == len(ps)-1) {
				t.Errorf("key %q: pane %d of %d is %+v", k, i, len(ps), p)
			}
		}
	}
}

// TestWallClockTimerWakesTheJob: a source emits one element and then
// blocks until a pane of it reaches the sink, holding the watermark at
// the start of time; only the reducer's processing-time timer (20 ms on
// the wall clock) can fire that pane, and nothing else wakes the idle
// workers but the wake-up armed for it. The source's output is unbounded:
// over bounded input processing-time timers fire only at the end (a batch
// job), and the GroupByKey would group with the shuffle.
func TestWallClockTimerWakesTheJob(t *testing.T) {
	b := newPipeline(t)
	src := b.pardo("Source", false, b.impulse("Impulse"))
	b.p.Components.Pcollections[src].IsBounded = pipepb.IsBounded_UNBOUNDED
	b.keyed(src, "afterPT")
	b.pardoIn("go2", "Sink", true, b.gbk("GroupByKey", src))
	pl := b.plan()
	var s *stage
	paned := make(chan struct{})
	var once sync.Once
	calls := 0
	f := newFake(map[string]behaviour{
		"Source": func(ctx context.Context, e []byte, emit, residual func([]byte)) error {
			if calls++; calls == 1 {
				kv := append(nested("k"), nested("v")...)
				emit(s.src.wv.Encode(nil, window.Value[[]byte]{Elem: kv, Timestamp: 0, Windows: window.GlobalWindows(), Pane: window.NoFiringPane()}))
				residual(e)
				return nil
			}
			select {
			case <-paned:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		"Sink": func(context.Context, []byte, func([]byte), func([]byte)) error {
			once.Do(func() { close(paned) })
			return nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := runJob(ctx, t, pl, testOptions(t, 2), f, func(j *job) { s = j.stages[0] }); err != nil {
		t.Fatal(err)
	}
	// The early pane, then at the end the (empty) on-time pane. The two
	// panes may reach the sink in bundles that run at the same time, so
	// the panes are checked in index order, not arrival order.
	got := f.sunk("Sink")
	slices.SortFunc(got, func(a, b window.Value[[]byte]) int { return cmp.Compare(a.Pane.Index, b.Pane.Index) })
	if len(got) == 0 || got[0].Pane.Timing != window.TimingEarly || got[0].Pane.Index != 0 {
		t.Errorf("sink saw %+v, want an early pane with index 0", got)
	}
}

// TestStateBytesReported holds 20,000 keys' windows in a streaming
// GroupByKey (one element each, under a trigger that fires per two) and
// checks what Options.StateBytes is told: changes whose running sum rises
// by megabytes while the state is held and comes back to exactly zero when
// the job ends, whether the TestStream ends (and its watermark with it) or
// the sink fails every attempt at the one pane that fires early, with the
// other keys' state still held.
func TestStateBytesReported(t *testing.T) {
	for _, failing := range []bool{false, true} {
		t.Run(fmt.Sprint("failing=", failing), func(t *testing.T) {
			const keys = 20_000
			ev := &pipepb.TestStreamPayload_Event_AddElements{}
			for i := range keys {
				ev.Elements = append(ev.Elements, &pipepb.TestStreamPayload_TimestampedElement{
					EncodedElement: append(nested(fmt.Sprint("key-", i)), "v"...), Timestamp: 1})
			}
			var sinkFails map[string]behaviour
			if failing {
				// A second element of key-0 fires its pane early.
				ev.Elements = append(ev.Elements, &pipepb.TestStreamPayload_TimestampedElement{
					EncodedElement: append(nested("key-0"), "w"...), Timestamp: 1})
				sinkFails = map[string]behaviour{"Sink": func(context.Context, []byte, func([]byte), func([]byte)) error {
					return errors.New("the sink fails")
				}}
			}
			b := newPipeline(t)
			out := b.testStream("Events", []string{"o"},
				&pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{ElementEvent: ev}})["o"]
			b.keyed(out, "everyTwo")
			b.pardoIn("go2", "Sink", true, b.gbk("GroupByKey", out))
			var mu sync.Mutex
			var sum, peak int64
			calls := 0
			opts := testOptions(t, 2)
			opts.StateBytes = func(delta int64) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				sum += delta
				peak = max(peak, sum)
			}
			f := newFake(sinkFails)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := runJob(ctx, t, b.plan(), opts, f, nil)
			switch {
			case failing && err == nil:
				t.Fatal("the job succeeded, want the sink's error")
			case !failing && err != nil:
				t.Fatal(err)
			case !failing && len(f.sunk("Sink")) != keys:
				t.Fatalf("%d panes, want %d", len(f.sunk("Sink")), keys)
			}
			mu.Lock()
			defer mu.Unlock()
			t.Logf("%d calls, peak %d KiB", calls, peak>>10)
			if peak < 2<<20 {
				t.Errorf("peak windowing state told %d bytes, want megabytes for %d keys", peak, keys)
			}
			if sum != 0 {
				t.Errorf("the changes told sum to %d at the end, want 0", sum)
			}
		})
	}
}

// TestStreamingGroupByKeySpillsValues buffers 32 MiB of values in a
// streaming GroupByKey whose windows all fire at the end, under a memory
// budget of 8 MiB: the parts spill their values (a quarter of the budget
// between them), so the windowing state told to Options.StateBytes stays
// within a few MiB, and every value comes out of the spill files intact,
// in its key's pane.
func TestStreamingGroupByKeySpillsValues(t *testing.T) {
	const keys, perKey, size = 16, 512, 4 << 10
	value := func(k, i int) []byte {
		v := bytes.Repeat([]byte{byte('a' + (k+i)%26)}, size)
		copy(v, fmt.Sprintf("key-%02d/%04d/", k, i))
		return v
	}
	// 32 events of 1 MiB each.
	var events []*pipepb.TestStreamPayload_Event
	for i := range perKey {
		if i%16 == 0 {
			events = append(events, &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{
				ElementEvent: &pipepb.TestStreamPayload_Event_AddElements{}}})
		}
		ev := events[len(events)-1].GetElementEvent()
		for k := range keys {
			ev.Elements = append(ev.Elements, &pipepb.TestStreamPayload_TimestampedElement{
				EncodedElement: append(nested(fmt.Sprintf("key-%02d", k)), value(k, i)...), Timestamp: 1})
		}
	}
	b := newPipeline(t)
	out := b.testStream("Events", []string{"o"}, events...)["o"]
	b.keyed(out, "global")
	b.pardoIn("go2", "Sink", true, b.gbk("GroupByKey", out))
	var mu sync.Mutex
	var sum, peak int64
	opts := testOptions(t, 2)
	opts.MemoryBudget = 8 << 20
	opts.StateBytes = func(delta int64) {
		mu.Lock()
		defer mu.Unlock()
		sum += delta
		peak = max(peak, sum)
	}
	f := newFake(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := runJob(ctx, t, b.plan(), opts, f, nil); err != nil {
		t.Fatal(err)
	}
	got := f.sunk("Sink")
	if len(got) != keys {
		t.Fatalf("%d panes, want %d", len(got), keys)
	}
	for _, p := range got {
		k := -1
		fmt.Sscanf(string(p.Elem[1:]), "key-%02d", &k)
		if k < 0 || k >= keys {
			t.Fatalf("pane of unknown key %q", p.Elem[:min(len(p.Elem), 12)])
		}
		if want := 1 + 6 + 4 + perKey*(2+size); len(p.Elem) != want {
			t.Fatalf("key %d: pane of %d bytes, want %d", k, len(p.Elem), want)
		}
		// The key, the values' count, then each value's length and bytes,
		// in the order they came.
		rest := p.Elem[1+6+4:]
		for i := range perKey {
			if v := rest[2 : 2+size]; !bytes.Equal(v, value(k, i)) {
				t.Fatalf("key %d: value %d is %.14q..., want %.14q...", k, i, v, value(k, i))
			}
			rest = rest[2+size:]
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("peak windowing state told: %d KiB", peak>>10)
	if total := int64(keys * perKey * size); peak > total/4 {
		t.Errorf("peak windowing state told %d KiB, want it kept near the budget's quarter, far below the %d KiB of values", peak>>10, total>>10)
	}
}
