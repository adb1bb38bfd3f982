package sdk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// unboundedKV returns an unbounded keyed collection from a TestStream.
func unboundedKV(s sdk.Scope) sdk.PCollection[sdk.KV[string, int64]] {
	ts := sdk.NewTestStream[sdk.KV[string, int64]](s)
	ts.AddElementsAt(time.UnixMilli(1), sdk.Pair("a", int64(1)))
	return ts.Output()
}

func TestGroupingChecksTriggersAtConstruction(t *testing.T) {
	fixed := window.FixedFn(10 * time.Second)
	tests := []struct {
		name   string
		build  func(s sdk.Scope)
		want   []string // substrings of the error; none for success
		unsafe bool     // the error wraps window.ErrUnsafeTrigger
	}{
		{
			name:  "an unbounded input in the global window with the default trigger is refused",
			build: func(s sdk.Scope) { sdk.GroupByKey(s, unboundedKV(s)) },
			want:  []string{"GroupByKey", "unbounded", "global window", "default trigger", "trigger_test.go:"},
		},
		{
			name:  "so is a combine of it",
			build: func(s sdk.Scope) { sdk.SumPerKey(s, unboundedKV(s)) },
			want:  []string{"SumPerKey", "unbounded", "default trigger"},
		},
		{
			name: "an unbounded input in the global window with a repeated trigger is accepted",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, window.GlobalFn(), unboundedKV(s), sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(2)))))
			},
		},
		{
			name:  "an unbounded input in fixed windows with the default trigger is accepted",
			build: func(s sdk.Scope) { sdk.CountPerKey(s, sdk.WindowInto(s, fixed, unboundedKV(s))) },
		},
		{
			name:  "a bounded input in the global window is accepted",
			build: func(s sdk.Scope) { sdk.GroupByKey(s, sdk.Create(s, []sdk.KV[string, int]{{Key: "a"}})) },
		},
		{
			name: "AfterCount without Repeatedly is unsafe",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, fixed, unboundedKV(s), sdk.Triggering(sdk.AfterCount(2))))
			},
			want: []string{"GroupByKey", "AfterCount(2)", "Repeatedly"}, unsafe: true,
		},
		{
			name: "AfterWatermark with allowed lateness and no late firings is unsafe",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, fixed, unboundedKV(s), sdk.Triggering(sdk.AfterWatermark()), sdk.AllowedLateness(5*time.Second)))
			},
			want: []string{"AfterWatermark", "5s", "late firings"}, unsafe: true,
		},
		{
			name: "AfterWatermark with early firings and no allowed lateness is safe",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, fixed, unboundedKV(s), sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2)))))
			},
		},
		{
			name: "AfterWatermark with late firings and allowed lateness is safe",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, fixed, unboundedKV(s),
					sdk.Triggering(sdk.AfterWatermark().WithLateFirings(sdk.AfterCount(1))), sdk.AllowedLateness(time.Minute)))
			},
		},
		{
			name: "AfterEach of finishing triggers is unsafe, even on bounded input",
			build: func(s sdk.Scope) {
				in := sdk.Create(s, []sdk.KV[string, int]{{Key: "a"}})
				sdk.GroupByKey(s, sdk.WindowInto(s, window.GlobalFn(), in, sdk.Triggering(sdk.AfterEach(sdk.AfterCount(2), sdk.AfterCount(3)))))
			},
			want: []string{"AfterEach"}, unsafe: true,
		},
		{
			name: "an unsafe trigger is accepted with AllowUnsafeTriggers",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, window.GlobalFn(), unboundedKV(s),
					sdk.Triggering(sdk.AfterEach(sdk.AfterCount(2), sdk.AfterCount(3))), sdk.AllowUnsafeTriggers()))
			},
		},
		{
			name: "Never is safe",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.WindowInto(s, fixed, unboundedKV(s), sdk.Triggering(sdk.Never()), sdk.AllowedLateness(time.Minute)))
			},
		},
		{
			name: "a malformed trigger is refused at WindowInto",
			build: func(s sdk.Scope) {
				sdk.WindowInto(s, fixed, unboundedKV(s), sdk.Triggering(sdk.AfterCount(2).WithEarlyFirings(sdk.AfterCount(1))))
			},
			want: []string{"WindowInto(fixed(10s))", "early and late firings apply to AfterWatermark only"},
		},
		{
			name:  "a negative allowed lateness is refused",
			build: func(s sdk.Scope) { sdk.WindowInto(s, fixed, unboundedKV(s), sdk.AllowedLateness(-time.Second)) },
			want:  []string{"allowed lateness must not be negative"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			tt.build(p.Root())
			err := p.Err()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Err() = nil, want an error containing %q", tt.want)
			}
			var ce *sdk.ConstructionError
			if !errors.As(err, &ce) {
				t.Errorf("Err() = %v, not a *ConstructionError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Err() = %v, want it to contain %q", err, w)
				}
			}
			if got := errors.Is(err, window.ErrUnsafeTrigger); got != tt.unsafe {
				t.Errorf("errors.Is(%v, ErrUnsafeTrigger) = %v, want %v", err, got, tt.unsafe)
			}
		})
	}
}

func TestWindowIntoKeepsWhatOptionsDoNotSet(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, int64]{{Key: "a"}})
	first := sdk.WindowInto(s, window.FixedFn(time.Minute), in,
		sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(3))), sdk.Accumulating(), sdk.AllowedLateness(time.Second))
	second := sdk.WindowInto(s, window.SessionsFn(time.Minute), first, sdk.TimestampCombiner(window.OutputAtLatest))
	grouped := sdk.GroupByKey(s, second)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	want := window.Strategy{Fn: window.SessionsFn(time.Minute), Trigger: sdk.Repeatedly(sdk.AfterCount(3)),
		Accumulation: window.Accumulating, AllowedLateness: time.Second, TimestampCombiner: window.OutputAtLatest}
	if got := sdkaccess.Collection(second).Windowing.Strategy; got.String() != want.String() {
		t.Errorf("second WindowInto's strategy = %v, want %v", got, want)
	}
	want.Trigger, want.AlreadyMerged = sdk.Repeatedly(sdk.AfterCount(1)), true
	if got := sdkaccess.Collection(grouped).Windowing.Strategy; got.String() != want.String() {
		t.Errorf("GroupByKey's output strategy = %v, want %v", got, want)
	}
}
