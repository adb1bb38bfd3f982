package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
)

// runningTotal keeps a running total per key in value state, and emits the
// final total from an event-time timer at the end of the window.
type runningTotal struct {
	Total sdk.ValueState[int]
	Flush sdk.EventTimeTimer
}

func (f *runningTotal) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(string)) error {
	n, _, err := f.Total.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Total.Write(ctx, n+kv.Value); err != nil {
		return err
	}
	return f.Flush.Set(ctx, sdk.WindowOf(ctx).MaxTimestamp().ToTime())
}

func (f *runningTotal) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(string)) error {
	key, err := sdk.CurrentKey[string](ctx)
	if err != nil {
		return err
	}
	n, _, err := f.Total.Read(ctx)
	if err != nil {
		return err
	}
	emit(fmt.Sprintf("%s: %d", key, n))
	return nil
}

// User state and timers are fields of a DoFn over KV input: state per key
// and window, timers that call OnTimer.
func Example_stateAndTimers() {
	p := sdk.NewPipeline()
	s := p.Root()
	sales := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("apple", 1), sdk.Pair("pear", 3), sdk.Pair("apple", 5)})
	totals := sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], string](&runningTotal{}), sales)
	out := newPrinted()
	sdk.ForEach(s, out, totals)
	out.print(p)
	// Output:
	// apple: 6
	// pear: 3
}

// dedupe emits each value once per key, remembering what it saw in set
// state, and reports how many distinct values each key had when the
// window expires.
type dedupe struct {
	Seen sdk.SetState[string]
}

func (f *dedupe) ProcessElement(ctx context.Context, kv sdk.KV[int, string], emit func(string)) error {
	fresh, err := f.Seen.AddIfAbsent(ctx, kv.Value)
	if fresh {
		emit(fmt.Sprintf("%d: %s", kv.Key, kv.Value))
	}
	return err
}

func (f *dedupe) OnWindowExpiration(ctx context.Context, emit func(string)) error {
	key, err := sdk.CurrentKey[int](ctx)
	if err != nil {
		return err
	}
	seen, err := f.Seen.Read(ctx)
	emit(fmt.Sprintf("%d: %d distinct", key, len(seen)))
	return err
}

// OnWindowExpiration sees each key and window's state once more when the
// window expires, before the state is dropped.
func Example_onWindowExpiration() {
	p := sdk.NewPipeline()
	s := p.Root()
	events := sdk.Create(s, []sdk.KV[int, string]{sdk.Pair(1, "a"), sdk.Pair(1, "b"), sdk.Pair(1, "a"), sdk.Pair(2, "c")})
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Minute), events)
	out := newPrinted()
	sdk.ForEach(s, out, sdk.ParDo(s, sdk.DoFn[sdk.KV[int, string], string](&dedupe{}), windowed))
	out.print(p)
	// Output:
	// 1: 2 distinct
	// 1: a
	// 1: b
	// 2: 1 distinct
	// 2: c
}
