package source

import (
	"context"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// collector is a Receiver that keeps decoded restrictions.
type collector struct{ got []restriction }

func (c *collector) Receive(v window.Value[restriction]) error {
	c.got = append(c.got, v.Elem)
	return nil
}

// registry runs a splitter goroutine for each registered tracker.
type registry struct {
	split func(t operator.SplitTracker, stop <-chan struct{})
}

func (r registry) Register(t operator.SplitTracker) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.split(t, stop)
	}()
	return func() {
		close(stop)
		<-done
	}
}

// slowSource is a counting source whose reader pauses now and then, so that
// a concurrent splitter gets to run.
type slowSource struct{ CountingSource }

func (s slowSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for v, err := range s.CountingSource.Read(ctx, rt) {
			if v%64 == 0 {
				time.Sleep(time.Microsecond)
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

func newTestConfig(t *testing.T, src Bounded[int64, int64]) *readConfig[int64, int64] {
	t.Helper()
	codec, err := newSourceCodec[int64, int64](src)
	if err != nil {
		t.Fatal(err)
	}
	p := sdk.NewPipeline()
	in := sdk.Create(p.Root(), []restriction{{}})
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	return &readConfig[int64, int64]{codec: codec, in: in}
}

// decodeRestriction decodes a windowed restriction as the runner sees one:
// encoded with the read ParDo's input coder (the one coder.Of infers).
func decodeRestriction(t *testing.T, _ *readConfig[int64, int64], b []byte) restriction {
	t.Helper()
	rc, err := coder.Of[restriction]()
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	dec, err := operator.OpsFor(rc).NewDecoder(false, operator.Receiver[restriction](c))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := dec.Decode(b); err != nil || n != len(b) {
		t.Fatalf("decode restriction: %d of %d bytes, %v", n, len(b), err)
	}
	return c.got[0]
}

func positions(t *testing.T, cfg *readConfig[int64, int64], r restriction) (int64, int64) {
	t.Helper()
	start, err := cfg.codec.decodePos(r.Start)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := cfg.codec.decodePos(r.Stop)
	if err != nil {
		t.Fatal(err)
	}
	return start, stop
}

// TestTrySplitWhileReading races a splitter against the reader of every
// restriction, feeds residuals back as new restrictions, and checks that
// every record is read exactly once, and that each reader read exactly the
// range of the last primary its splitter returned.
func TestTrySplitWhileReading(t *testing.T) {
	const n = 20000
	rounds := 20
	if testing.Short() {
		rounds = 3
	}
	splits := 0
	for round := range rounds {
		cfg := newTestConfig(t, slowSource{CountingSource{From: 0, To: n}})
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		var (
			mu        sync.Mutex
			queue     = []restriction{{Root: true, Start: cfg.codec.encodePos(0), Stop: cfg.codec.encodePos(n), Weight: n}}
			seen      = make([]int, n)
			fractions = make(chan float64, 1<<16)
		)
		for range cap(fractions) {
			fractions <- rng.Float64() * rng.Float64()
		}
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			start, _ := positions(t, cfg, r)
			var lastPrimary *restriction
			reg := registry{split: func(tr operator.SplitTracker, stop <-chan struct{}) {
				for {
					select {
					case <-stop:
						return
					default:
					}
					f := 0.5
					select {
					case f = <-fractions:
					default:
					}
					p, res, ok := tr.TrySplit(f)
					if ok {
						pr := decodeRestriction(t, cfg, p)
						mu.Lock()
						queue = append(queue, decodeRestriction(t, cfg, res))
						lastPrimary = &pr
						splits++
						mu.Unlock()
					}
					runtime.Gosched()
				}
			}}
			ctx := &operator.ElemContext{Context: context.Background(), Env: &operator.Env{Splits: reg}}
			var got []int64
			fn := &readFn[int64, int64]{SourceType: "CountingSource", cfg: cfg}
			if err := fn.ProcessElement(ctx, r, func(v int64) { got = append(got, v) }); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			for _, v := range got {
				seen[v]++
			}
			if lastPrimary != nil {
				ps, pe := positions(t, cfg, *lastPrimary)
				if ps != start || len(got) != int(pe-ps) || len(got) > 0 && (got[0] != ps || got[len(got)-1] != pe-1) {
					t.Fatalf("round %d: reader of [%d, ...) read %d records, but its last primary is [%d, %d)", round, start, len(got), ps, pe)
				}
			}
			mu.Unlock()
		}
		for v, c := range seen {
			if c != 1 {
				t.Fatalf("round %d: record %d read %d times, want once (%d splits)", round, v, c, splits)
			}
		}
	}
	t.Logf("%d splits in %d rounds", splits, rounds)
	if splits < rounds {
		t.Errorf("only %d splits succeeded in %d rounds; the test checks too little", splits, rounds)
	}
}

// TestTrySplitProgressAndRefusals checks the SplitTracker of a restriction
// before, during and after its read.
func TestTrySplitProgressAndRefusals(t *testing.T) {
	src := CountingSource{From: 0, To: 100}
	cfg := newTestConfig(t, src)
	r := restriction{Root: true, Start: cfg.codec.encodePos(0), Stop: cfg.codec.encodePos(100), Weight: 800}
	trackers := make(chan operator.SplitTracker, 1)
	var tracker operator.SplitTracker
	var primary, residual restriction
	reg := registry{split: func(tr operator.SplitTracker, stop <-chan struct{}) {
		trackers <- tr
		<-stop
	}}
	ctx := &operator.ElemContext{Context: context.Background(), Env: &operator.Env{Splits: reg}}
	var got []int64
	fn := &readFn[int64, int64]{SourceType: "CountingSource", cfg: cfg}
	err := fn.ProcessElement(ctx, r, func(v int64) {
		got = append(got, v)
		if tracker == nil {
			tracker = <-trackers
		}
		if v != 9 {
			return
		}
		done, remaining := tracker.Progress()
		if done != 72 || remaining != 728 {
			t.Errorf("Progress() after 10 records = %v, %v; want 72, 728", done, remaining)
		}
		p, res, ok := tracker.TrySplit(0.5)
		if !ok {
			t.Fatalf("TrySplit(0.5) after 10 records refused")
		}
		primary, residual = decodeRestriction(t, cfg, p), decodeRestriction(t, cfg, res)
	})
	if err != nil {
		t.Fatal(err)
	}
	ps, pe := positions(t, cfg, primary)
	rs, re := positions(t, cfg, residual)
	// Consumed 9/100: split at ceil(9 + 0.5*91) = 55.
	if ps != 0 || pe != 55 || rs != 55 || re != 100 {
		t.Errorf("TrySplit(0.5) = [%d, %d) + [%d, %d), want [0, 55) + [55, 100)", ps, pe, rs, re)
	}
	if primary.Weight+residual.Weight != 800 || !residual.Root {
		t.Errorf("weights %v + %v, root %v; want a total of 800 and the root source", primary.Weight, residual.Weight, residual.Root)
	}
	if len(got) != 55 {
		t.Errorf("read %d records after the split, want 55", len(got))
	}
	if _, _, ok := tracker.TrySplit(0.5); ok {
		t.Errorf("TrySplit after the read ended succeeded, want a refusal")
	}
}
