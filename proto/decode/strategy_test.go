package decode_test

import (
	"math"
	"strings"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

func TestTriggerRefusesMalformedTrees(t *testing.T) {
	deep := &pipepb.Trigger{Trigger: &pipepb.Trigger_Never_{Never: &pipepb.Trigger_Never{}}}
	for range 100_000 {
		deep = &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{Subtrigger: deep}}}
	}
	tests := []struct {
		name string
		t    *pipepb.Trigger
		want string
	}{
		{name: "a repeat without subtrigger", t: &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{}}}, want: "missing subtrigger"},
		{name: "an or-finally without its finally", t: &pipepb.Trigger{Trigger: &pipepb.Trigger_OrFinally_{OrFinally: &pipepb.Trigger_OrFinally{
			Main: &pipepb.Trigger{Trigger: &pipepb.Trigger_Always_{Always: &pipepb.Trigger_Always{}}}}}}, want: "missing subtrigger"},
		{name: "an element count of 0", t: &pipepb.Trigger{Trigger: &pipepb.Trigger_ElementCount_{ElementCount: &pipepb.Trigger_ElementCount{}}}, want: "count from 1"},
		{name: "an empty after-all", t: &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterAll_{AfterAll: &pipepb.Trigger_AfterAll{}}}, want: "at least one subtrigger"},
		{name: "a timestamp transform of no kind", t: &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterProcessingTime_{AfterProcessingTime: &pipepb.Trigger_AfterProcessingTime{
			TimestampTransforms: []*pipepb.TimestampTransform{{}}}}}, want: "unknown timestamp transform"},
		{name: "100,000 nested repeats", t: deep, want: "deeper than 64 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := decode.Trigger(tt.t)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "decode: ") {
				t.Errorf("Trigger() = %v, want an error starting with \"decode: \" containing %q", err, tt.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Trigger() took %v, want it bounded", d)
			}
		})
	}
}

func TestWindowingStrategyDefaultsAndLimits(t *testing.T) {
	global := &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}
	tests := []struct {
		name string
		ws   *pipepb.WindowingStrategy
		want window.Strategy
		err  string
	}{
		{name: "unspecified fields take Beam Java's defaults", ws: &pipepb.WindowingStrategy{WindowFn: global},
			want: window.GlobalStrategy()},
		{name: "Java's end-of-time lateness saturates", ws: &pipepb.WindowingStrategy{WindowFn: global, AllowedLateness: 9223372036854775},
			want: window.Strategy{Fn: window.GlobalFn(), AllowedLateness: math.MaxInt64}},
		{name: "every enum is read", ws: &pipepb.WindowingStrategy{WindowFn: global,
			AccumulationMode: pipepb.AccumulationMode_ACCUMULATING, OutputTime: pipepb.OutputTime_LATEST_IN_PANE,
			ClosingBehavior: pipepb.ClosingBehavior_EMIT_ALWAYS, OnTimeBehavior: pipepb.OnTimeBehavior_FIRE_IF_NONEMPTY,
			MergeStatus: pipepb.MergeStatus_ALREADY_MERGED},
			want: window.Strategy{Fn: window.GlobalFn(), Accumulation: window.Accumulating, TimestampCombiner: window.OutputAtLatest,
				Closing: window.ClosingFireAlways, OnTime: window.OnTimeFireIfNonEmpty, AlreadyMerged: true}},
		{name: "retracting is refused", ws: &pipepb.WindowingStrategy{WindowFn: global, AccumulationMode: pipepb.AccumulationMode_RETRACTING},
			err: "retracting"},
		{name: "negative lateness is refused", ws: &pipepb.WindowingStrategy{WindowFn: global, AllowedLateness: -1},
			err: "negative allowed lateness"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode.WindowingStrategy(tt.ws)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("WindowingStrategy() = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("WindowingStrategy() (-want +got):\n%s", d)
			}
		})
	}
}
