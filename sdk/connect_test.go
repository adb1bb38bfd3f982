package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// lines collects the rendered elements of collections in the test's
// process; it is safe for concurrent use by parallel bundles.
type lines struct {
	mu  *sync.Mutex
	got *[]string
}

func newLines() lines { return lines{mu: &sync.Mutex{}, got: new([]string)} }

func (l lines) ProcessElement(_ context.Context, s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.got = append(*l.got, s)
	return nil
}

// sorted returns the collected lines, sorted.
func (l lines) sorted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(*l.got)
	slices.Sort(out)
	return out
}

// runLocal runs p on the local runner.
func runLocal(t *testing.T, p *sdk.Pipeline) {
	t.Helper()
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 3}}).Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// tally counts, per key, the elements of each of three connected inputs
// in shared state, and reports the counts when the window expires.
type tally struct {
	Counts sdk.MapState[string, int]
}

func (f *tally) ProcessElement(ctx context.Context, kv sdk.KV[string, sdk.Either3[int, string, bool]], emit func(string)) error {
	input := []string{"ints", "strings", "bools"}[kv.Value.Which]
	n, _, err := f.Counts.Get(ctx, input)
	if err != nil {
		return err
	}
	return f.Counts.Put(ctx, input, n+1)
}

func (f *tally) OnWindowExpiration(ctx context.Context, emit func(string)) error {
	key, err := sdk.CurrentKey[string](ctx)
	if err != nil {
		return err
	}
	var parts []string
	for _, input := range []string{"ints", "strings", "bools"} {
		n, _, err := f.Counts.Get(ctx, input)
		if err != nil {
			return err
		}
		parts = append(parts, fmt.Sprintf("%s=%d", input, n))
	}
	emit(key + " " + strings.Join(parts, " "))
	return nil
}

func TestConnect3SharesStateBetweenInputs(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ints := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1), sdk.Pair("a", 2), sdk.Pair("b", 3)})
	strs := sdk.Create(s, []sdk.KV[string, string]{sdk.Pair("a", "x"), sdk.Pair("c", "y")})
	bools := sdk.Create(s, []sdk.KV[string, bool]{sdk.Pair("b", true), sdk.Pair("b", false), sdk.Pair("a", true)})
	out := newLines()
	connected := sdk.Connect3(s, ints, strs, bools)
	sdk.ForEach(s, out, sdk.ParDo(s, sdk.DoFn[sdk.KV[string, sdk.Either3[int, string, bool]], string](&tally{}), connected))
	runLocal(t, p)
	want := []string{"a ints=2 strings=1 bools=1", "b ints=1 strings=0 bools=2", "c ints=0 strings=1 bools=0"}
	if diff := cmp.Diff(want, out.sorted()); diff != "" {
		t.Errorf("tallies (-want +got):\n%s", diff)
	}
}

// reminder is a CoDoFn with a timer and the lifecycle: notes (first
// input) wait in a bag; a deadline (second input) sets a timer that emits
// the notes of the key when the watermark passes it. Prefix is set in
// Setup, so the output shows that Setup ran on the instance in use.
type reminder struct {
	Notes    sdk.BagState[string]
	Deadline sdk.EventTimeTimer
	prefix   string
	started  int
}

func (f *reminder) Setup(context.Context) error { f.prefix = "due"; return nil }

func (f *reminder) StartBundle(context.Context) error { f.started++; return nil }

func (f *reminder) ProcessFirst(ctx context.Context, key string, note string, emit func(string)) error {
	return f.Notes.Add(ctx, note)
}

func (f *reminder) ProcessSecond(ctx context.Context, key string, at int64, emit func(string)) error {
	return f.Deadline.Set(ctx, time.UnixMilli(at))
}

func (f *reminder) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(string)) error {
	key, err := sdk.CurrentKey[string](ctx)
	if err != nil {
		return err
	}
	notes, err := f.Notes.Read(ctx)
	slices.Sort(notes)
	emit(fmt.Sprintf("%s %s@%d %v started=%v", f.prefix, key, t.FireTime.UnixMilli(), notes, f.started > 0))
	return err
}

func TestCoParDoTimersAndLifecycle(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, string]](s)
	notes, deadlines := ts.Tag("notes"), ts.Tag("deadlines")
	notes.AddElementsAt(time.UnixMilli(1), sdk.Pair("k", "b"), sdk.Pair("k", "a"), sdk.Pair("j", "c"))
	deadlines.AddElementsAt(time.UnixMilli(2), sdk.Pair("k", "50"))
	notes.AdvanceWatermarkToInfinity()
	deadlines.AdvanceWatermarkToInfinity()
	at := sdk.Map(s, func(kv sdk.KV[string, string]) sdk.KV[string, int64] {
		n, _ := strconv.ParseInt(kv.Value, 10, 64)
		return sdk.Pair(kv.Key, n)
	}, deadlines.Output())
	out := newLines()
	sdk.ForEach(s, out, sdk.CoParDo(s, sdk.CoDoFn[string, string, int64, string](&reminder{}), notes.Output(), at))
	runLocal(t, p)
	if diff := cmp.Diff([]string{"due k@50 [a b] started=true"}, out.sorted()); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

// noHandler declares a timer but has no OnTimer.
type noHandler struct {
	T sdk.EventTimeTimer
}

func (*noHandler) ProcessFirst(context.Context, string, int, func(string)) error  { return nil }
func (*noHandler) ProcessSecond(context.Context, string, int, func(string)) error { return nil }

func TestCoParDoConstructionErrors(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	a := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)})
	sdk.CoParDo(s, sdk.CoDoFn[string, int, int, string](&noHandler{}), a, a)
	var ce *sdk.ConstructionError
	if err := p.Err(); !errors.As(err, &ce) || !strings.Contains(err.Error(), "no method OnTimer") {
		t.Errorf("a CoDoFn with a timer and no OnTimer: Err() = %v, want a *ConstructionError about OnTimer", err)
	}
	p = sdk.NewPipeline()
	s = p.Root()
	a = sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)})
	sdk.CoParDo(s, sdk.CoDoFn[string, int, int, string](nil), a, a)
	if err := p.Err(); !errors.As(err, &ce) {
		t.Errorf("a nil CoDoFn: Err() = %v, want a *ConstructionError", err)
	}
}
