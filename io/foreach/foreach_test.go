package foreach_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// store is an idempotent target in memory: it commits an epoch's rows and
// the epoch in one step, and skips an epoch it has committed. It also checks the property
// the sinks promise: every attempt of an epoch carries the same elements.
type store struct {
	// mu guards the fields below.
	mu sync.Mutex
	// done holds the committed epochs.
	done map[foreach.Epoch]bool
	// rows are the committed rows.
	rows []int
	// seen is the sorted content of each epoch's first attempt.
	seen map[foreach.Epoch][]int
	// attempts counts the attempts of each epoch.
	attempts map[foreach.Epoch]int
	// commits counts the commits of each epoch: it must never pass 1.
	commits map[foreach.Epoch]int
	// unstable records epochs whose content changed between attempts.
	unstable []string
}

func newStore() *store {
	return &store{
		done:     map[foreach.Epoch]bool{},
		seen:     map[foreach.Epoch][]int{},
		attempts: map[foreach.Epoch]int{},
		commits:  map[foreach.Epoch]int{},
	}
}

// attempt records an attempt of e with rows and returns its number (1 for
// the first).
func (s *store) attempt(e foreach.Epoch, rows []int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	sorted := slices.Sorted(slices.Values(rows))
	if prev, ok := s.seen[e]; !ok {
		s.seen[e] = sorted
	} else if !slices.Equal(prev, sorted) {
		s.unstable = append(s.unstable, fmt.Sprintf("%v: first %v, now %v", e, prev, sorted))
	}
	s.attempts[e]++
	return s.attempts[e]
}

// committed reports whether e's pane is already committed.
func (s *store) committed(e foreach.Epoch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[e]
}

// commit writes rows and e's pane atomically, unless e is committed.
func (s *store) commit(e foreach.Epoch, rows []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done[e] {
		return
	}
	s.done[e] = true
	s.rows = append(s.rows, rows...)
	s.commits[e]++
}

// check compares the store with want and the promises of the sinks.
func (s *store) check(t *testing.T, want []int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.unstable {
		t.Errorf("epoch replayed with different elements: %s", u)
	}
	for e, n := range s.commits {
		if n > 1 {
			t.Errorf("epoch %v committed %d times", e, n)
		}
	}
	got := slices.Sorted(slices.Values(s.rows))
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("store holds %d rows, want %d; first differences: %v", len(got), len(want), firstDiff(want, got))
	}
}

func firstDiff(want, got []int) string {
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("row %d = %d, want %d", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

// failure is where an injected failure strikes an attempt.
type failure int

const (
	noFailure failure = iota
	failBeforeCommit
	failAfterCommit
)

// injector fails the first attempt of about half the epochs, before or
// after the commit, chosen by a seeded generator so a failing run can be
// repeated.
type injector struct {
	// mu guards rng.
	mu  sync.Mutex
	rng *rand.Rand
}

func newInjector(seed uint64) *injector { return &injector{rng: rand.New(rand.NewPCG(seed, 1))} }

func (in *injector) pick(attempt int) failure {
	if attempt > 1 {
		return noFailure
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return failure(in.rng.IntN(3))
}

var errInjected = errors.New("injected failure")

func run(t *testing.T, p *sdk.Pipeline) int {
	t.Helper()
	return runOn(t, local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: testMaxAttempts}}), p)
}

func runOn(t *testing.T, r runner.Runner, p *sdk.Pipeline) int {
	t.Helper()
	res, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res.Retries
}

// runners are the runners the sinks are tested on. The portable runner
// uses LOOPBACK workers, which share this process's memory, where the
// tests' stores live.
//
// A bundle may carry several shards' epochs, and each attempt of it can
// fail at the first epoch not yet past its injected failure, so a bundle of
// k epochs may need k+1 attempts: the budget covers all eight shards in one
// bundle (with 4 attempts the tests failed now and then when the shuffle's
// hashing put four shards' epochs in one bundle).
var runners = map[string]func() runner.Runner{
	"local": func() runner.Runner {
		return local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: testMaxAttempts}})
	},
	"portable": func() runner.Runner {
		return portable.New(&portable.Options{Workers: 2, Job: portable.Job{MaxAttempts: testMaxAttempts}, EnvironmentType: portable.EnvLoopback})
	},
}

// testMaxAttempts is one more than the most epochs a test's bundle holds.
const testMaxAttempts = 9

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestBatchRetriedEpochsAreWrittenOnce(t *testing.T) {
	for name, newRunner := range runners {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprint(name, " seed ", seed), func(t *testing.T) {
				st, inj := newStore(), newInjector(seed)
				want := ints(2000)
				p := sdk.NewPipeline()
				s := p.Root()
				in := sdk.Create(s, want)
				foreach.Batch(s, func(ctx context.Context, batch []int, e foreach.Epoch) error {
					f := inj.pick(st.attempt(e, batch))
					if f == failBeforeCommit {
						return errInjected
					}
					st.commit(e, batch)
					if f == failAfterCommit {
						return errInjected
					}
					return nil
				}, in, &foreach.Options[int]{Shards: 8})
				if retries := runOn(t, newRunner(), p); retries == 0 {
					t.Errorf("no bundle was retried: the injected failures did not happen")
				}
				st.check(t, want)
				if len(st.seen) != 8 {
					t.Errorf("%d epochs, want one per shard (8)", len(st.seen))
				}
			})
		}
	}
}

// memWriter is a Writer over a store: it buffers an epoch in Process and
// commits it in Close(nil), failing where the injector says.
type memWriter struct {
	st  *store
	inj *injector
	// closes records the errors Close was given, to check the contract.
	closes *[]error
	// mu guards closes.
	mu *sync.Mutex

	epoch foreach.Epoch
	buf   []int
	fail  failure
	// failAt is the index of the element whose Process fails, or -1.
	failAt int
}

func (w *memWriter) Open(_ context.Context, e foreach.Epoch) (bool, error) {
	w.epoch, w.buf = e, w.buf[:0]
	return !w.st.committed(e), nil
}

func (w *memWriter) Process(_ context.Context, v int) error {
	w.buf = append(w.buf, v)
	return nil
}

func (w *memWriter) Close(_ context.Context, err error) error {
	w.mu.Lock()
	*w.closes = append(*w.closes, err)
	w.mu.Unlock()
	if err != nil || len(w.buf) == 0 {
		return nil
	}
	f := w.inj.pick(w.st.attempt(w.epoch, w.buf))
	if f == failBeforeCommit {
		return errInjected
	}
	w.st.commit(w.epoch, w.buf)
	if f == failAfterCommit {
		return errInjected
	}
	return nil
}

func TestWriterRetriedEpochsAreWrittenOnce(t *testing.T) {
	st, inj := newStore(), newInjector(7)
	var closes []error
	var mu sync.Mutex
	want := ints(1000)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, want)
	foreach.Write(s, func() foreach.Writer[int] {
		return &memWriter{st: st, inj: inj, closes: &closes, mu: &mu}
	}, in, &foreach.Options[int]{Shards: 6, ShardOf: func(v int) uint64 { return uint64(v) }})
	if retries := run(t, p); retries == 0 {
		t.Errorf("no bundle was retried: the injected failures did not happen")
	}
	st.check(t, want)
	for e := range st.seen {
		if len(st.seen[e]) > 0 && st.seen[e][0]%6 != e.Shard {
			t.Errorf("epoch %v holds %d: ShardOf not applied", e, st.seen[e][0])
		}
	}
}

// seqWriter is a memWriter that takes each epoch as one sequence, which
// it ranges over twice in Close (as a sink that retries a bulk write row
// by row does); Process must never be called.
type seqWriter struct {
	memWriter
	values iter.Seq[int]
}

func (w *seqWriter) Open(ctx context.Context, e foreach.Epoch) (bool, error) {
	w.values = nil
	return w.memWriter.Open(ctx, e)
}

func (w *seqWriter) Process(context.Context, int) error {
	return errors.New("Process called on a SeqWriter")
}

func (w *seqWriter) WriteSeq(_ context.Context, values iter.Seq[int]) error {
	w.values = values
	return nil
}

func (w *seqWriter) Close(ctx context.Context, err error) error {
	if err == nil && w.values != nil {
		first := slices.Collect(w.values)
		w.buf = slices.Collect(w.values)
		if !slices.Equal(first, w.buf) {
			return fmt.Errorf("the epoch's sequence gave %v, then %v", first, w.buf)
		}
	}
	return w.memWriter.Close(ctx, err)
}

func TestSeqWriterRetriedEpochsAreWrittenOnce(t *testing.T) {
	for name, newRunner := range runners {
		t.Run(name, func(t *testing.T) {
			st, inj := newStore(), newInjector(5)
			var closes []error
			var mu sync.Mutex
			want := ints(3000)
			p := sdk.NewPipeline()
			s := p.Root()
			foreach.Write(s, func() foreach.Writer[int] {
				return &seqWriter{memWriter: memWriter{st: st, inj: inj, closes: &closes, mu: &mu}}
			}, sdk.Create(s, want), &foreach.Options[int]{Shards: 3})
			if retries := runOn(t, newRunner(), p); retries == 0 {
				t.Errorf("no bundle was retried: the injected failures did not happen")
			}
			st.check(t, want)
			if len(st.seen) != 3 {
				t.Errorf("%d epochs, want one per shard (3)", len(st.seen))
			}
		})
	}
}

// errWriter fails Process at one element and records what Close got.
type errWriter struct {
	got *[]error
	mu  *sync.Mutex
}

func (w errWriter) Open(context.Context, foreach.Epoch) (bool, error) { return true, nil }
func (w errWriter) Process(_ context.Context, v int) error {
	if v == 3 {
		return errInjected
	}
	return nil
}
func (w errWriter) Close(_ context.Context, err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	*w.got = append(*w.got, err)
	return nil
}

func TestWriterProcessErrorReachesCloseAndFailsTheJob(t *testing.T) {
	var got []error
	var mu sync.Mutex
	p := sdk.NewPipeline()
	s := p.Root()
	foreach.Write(s, func() foreach.Writer[int] { return errWriter{&got, &mu} }, sdk.Create(s, ints(5)), nil)
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 1, MaxAttempts: 2}}).Run(context.Background(), p)
	var ee *foreach.EpochError
	if !errors.As(err, &ee) || !errors.Is(err, errInjected) {
		t.Fatalf("Run error = %v, want an *EpochError wrapping the injected failure", err)
	}
	if ee.Epoch.Shard != 0 || ee.Epoch.Pane != 0 {
		t.Errorf("EpochError names %v, want shard 0 pane 0", ee.Epoch)
	}
	if len(got) != 2 {
		t.Fatalf("Close called %d times, want once per attempt (2)", len(got))
	}
	for _, e := range got {
		if !errors.Is(e, errInjected) {
			t.Errorf("Close(%v), want the Process error", e)
		}
	}
}

// A streaming input cut into epochs by a count trigger: each shard's panes
// are numbered 0, 1, 2, ... and every element is written once, though
// attempts fail. Triggers fire per element: a count of 10 cuts one epoch
// per batch.
func TestStreamingEpochsFollowPanes(t *testing.T) {
	trig := sdk.Repeatedly(sdk.AfterCount(10))
	checkEpochsFollowPanes(t, runners["local"](), 11, 10, 1, trig)
}

// A streaming input in the global window cut into epochs by processing
// time, which the shard step sends through the shuffle in batches: the
// epochs follow the panes and every element is written once, though
// attempts fail.
func TestProcessingTimeEpochsOfBatches(t *testing.T) {
	for name, newRunner := range runners {
		t.Run(name, func(t *testing.T) {
			trig := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(500 * time.Millisecond))
			checkEpochsFollowPanes(t, newRunner(), 13, 300, 2, trig)
		})
	}
}

// checkEpochsFollowPanes runs 5 batches of n elements, a second of
// processing time apart, through foreach.Batch with the trigger trig and
// shards shards on r, failing attempts at random (seed), and checks that
// every element is written once and that each shard's epochs are panes
// 0, 1, 2, ..., at least two of them.
func checkEpochsFollowPanes(t *testing.T, r runner.Runner, seed uint64, n, shards int, trig sdk.Trigger) {
	t.Helper()
	st, inj := newStore(), newInjector(seed)
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int](s)
	var want []int
	for batch := range 5 {
		vals := ints(n)
		for i := range vals {
			vals[i] += batch * n
		}
		want = append(want, vals...)
		ts.AddElementsAt(time.UnixMilli(int64(batch)), vals...)
		ts.AdvanceProcessingTime(time.Second)
	}
	ts.AdvanceWatermarkToInfinity()
	foreach.Batch(s, func(ctx context.Context, batch []int, e foreach.Epoch) error {
		f := inj.pick(st.attempt(e, batch))
		if f == failBeforeCommit {
			return errInjected
		}
		st.commit(e, batch)
		if f == failAfterCommit {
			return errInjected
		}
		return nil
	}, ts.Output(), &foreach.Options[int]{Shards: shards, Trigger: &trig})
	runOn(t, r, p)
	st.check(t, want)
	panes := map[int][]int64{}
	for e := range st.seen {
		panes[e.Shard] = append(panes[e.Shard], e.Pane)
	}
	for shard, ps := range panes {
		slices.Sort(ps)
		if len(ps) < 2 {
			t.Errorf("shard %d: panes %v: the trigger cut fewer than 2 epochs", shard, ps)
		}
		for i, pn := range ps {
			if pn != int64(i) {
				t.Errorf("shard %d: panes %v, want 0, 1, 2, ...", shard, ps)
				break
			}
		}
	}
}

// An accumulating input (a running count in update mode) reaches the sink
// once per upstream pane: the sink's own grouping discards, or each epoch
// would repeat every earlier count.
func TestAccumulatingInputIsNotRepeated(t *testing.T) {
	st := newStore()
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	for range 3 {
		ts.AddElements("a", "a")
		ts.AdvanceProcessingTime(time.Second)
	}
	ts.AdvanceWatermarkToInfinity()
	counted := sdk.CountElements(s, sdk.WindowInto(s, sdk.GlobalWindows(), ts.Output(),
		sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1))), sdk.Accumulating()))
	counts := sdk.Map(s, func(kv sdk.KV[string, int64]) int { return int(kv.Value) }, counted)
	foreach.Batch(s, func(_ context.Context, batch []int, e foreach.Epoch) error {
		st.attempt(e, batch)
		st.commit(e, batch)
		return nil
	}, counts, nil)
	run(t, p)
	// The count fires after each element, and once more when the
	// watermark closes the window; repeated, the epochs would hold 28 rows.
	st.check(t, []int{1, 2, 3, 4, 5, 6, 6})
}

// failOnce passes elements through, failing its bundle the first time it
// sees at, after the bundle's earlier elements went on.
type failOnce struct {
	at int
	// mu guards failed, shared by the instances.
	mu     *sync.Mutex
	failed *bool
}

func (f failOnce) ProcessElement(_ context.Context, v int, emit func(int)) error {
	if v == f.at {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !*f.failed {
			*f.failed = true
			return errInjected
		}
	}
	emit(v)
	return nil
}

// In the global window the shard step gathers elements into batches per
// shard; a bundle of it that fails midway, with batches pending, is
// retried: every element is written once.
func TestGlobalWindowBatchesAfterAFailedBundle(t *testing.T) {
	for name, newRunner := range runners {
		t.Run(name, func(t *testing.T) {
			st := newStore()
			want := ints(5000)
			var mu sync.Mutex
			var failed bool
			p := sdk.NewPipeline()
			s := p.Root()
			in := sdk.ParDo(s, sdk.DoFn[int, int](failOnce{at: 4321, mu: &mu, failed: &failed}), sdk.Create(s, want))
			foreach.Batch(s, func(_ context.Context, batch []int, e foreach.Epoch) error {
				st.attempt(e, batch)
				st.commit(e, batch)
				return nil
			}, in, &foreach.Options[int]{Shards: 3})
			if retries := runOn(t, newRunner(), p); retries == 0 {
				t.Errorf("no bundle was retried: the injected failure did not happen")
			}
			st.check(t, want)
			if len(st.seen) != 3 {
				t.Errorf("%d epochs, want one per shard (3)", len(st.seen))
			}
		})
	}
}

// point has unexported fields: it is encoded by its own methods.
type point struct{ x, y int }

func (p point) MarshalBeam(dst []byte) []byte {
	return binary.AppendVarint(binary.AppendVarint(dst, int64(p.x)), int64(p.y))
}

func (p *point) UnmarshalBeam(src []byte) error {
	x, n := binary.Varint(src)
	y, m := binary.Varint(src[max(n, 0):])
	if n <= 0 || m <= 0 {
		return errors.New("bad point")
	}
	p.x, p.y = int(x), int(y)
	return nil
}

// The global window's batches carry elements of a type that encodes
// itself, by its own encoding.
func TestBatchesOfSelfEncodingElements(t *testing.T) {
	var want []point
	for i := range 1000 {
		want = append(want, point{i, -i})
	}
	var mu sync.Mutex
	var got []point
	p := sdk.NewPipeline()
	s := p.Root()
	foreach.Batch(s, func(_ context.Context, batch []point, _ foreach.Epoch) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, batch...)
		return nil
	}, sdk.Create(s, want), &foreach.Options[point]{Shards: 2})
	run(t, p)
	slices.SortFunc(got, func(a, b point) int { return a.x - b.x })
	if !slices.Equal(got, want) {
		t.Errorf("got %d points, want %d; first %v", len(got), len(want), got[:min(3, len(got))])
	}
}

// Byte-slice elements reach the sink whole, each once, through the
// batches they are sliced from.
func TestBatchesOfByteSlices(t *testing.T) {
	var want []string
	var in [][]byte
	for i := range 2000 {
		v := strings.Repeat(strconv.Itoa(i), i%7)
		want = append(want, v)
		in = append(in, []byte(v))
	}
	var mu sync.Mutex
	var got []string
	p := sdk.NewPipeline()
	s := p.Root()
	foreach.Batch(s, func(_ context.Context, batch [][]byte, _ foreach.Epoch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range batch {
			got = append(got, string(b))
		}
		return nil
	}, sdk.Create(s, in), &foreach.Options[[]byte]{Shards: 3})
	run(t, p)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d values, want %d", len(got), len(want))
	}
}
