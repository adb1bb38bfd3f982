package translate_test

import (
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// everyTrigger holds one trigger of every kind, and every parameter.
var everyTrigger = []struct {
	name string
	t    sdk.Trigger
	want string // the trigger proto, in protocmp's text form
}{
	{name: "default", t: sdk.DefaultTrigger(), want: `default:{}`},
	{name: "after watermark", t: sdk.AfterWatermark(), want: `after_end_of_window:{}`},
	{name: "after watermark with early and late firings",
		t:    sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2)).WithLateFirings(sdk.AfterCount(1)),
		want: `after_end_of_window:{early_firings:{element_count:{element_count:2}} late_firings:{element_count:{element_count:1}}}`},
	{name: "after watermark with late firings only", t: sdk.AfterWatermark().WithLateFirings(sdk.Never()),
		want: `after_end_of_window:{late_firings:{never:{}}}`},
	{name: "after count", t: sdk.AfterCount(7), want: `element_count:{element_count:7}`},
	{name: "after processing time", t: sdk.AfterProcessingTime(), want: `after_processing_time:{}`},
	{name: "after processing time with delay and alignment",
		t:    sdk.AfterProcessingTime().PlusDelayOf(1500*time.Millisecond).AlignedTo(time.Minute, 5*time.Second),
		want: `after_processing_time:{timestamp_transforms:{delay:{delay_millis:1500}} timestamp_transforms:{align_to:{period:60000 offset:5000}}}`},
	{name: "after synchronized processing time", t: sdk.AfterSynchronizedProcessingTime(), want: `after_synchronized_processing_time:{}`},
	{name: "after all", t: sdk.AfterAll(sdk.AfterCount(2), sdk.AfterProcessingTime().PlusDelayOf(time.Second)),
		want: `after_all:{subtriggers:{element_count:{element_count:2}} subtriggers:{after_processing_time:{timestamp_transforms:{delay:{delay_millis:1000}}}}}`},
	{name: "after any", t: sdk.AfterAny(sdk.AfterCount(3), sdk.AfterWatermark()),
		want: `after_any:{subtriggers:{element_count:{element_count:3}} subtriggers:{after_end_of_window:{}}}`},
	{name: "after each", t: sdk.AfterEach(sdk.AfterCount(2), sdk.AfterCount(3)),
		want: `after_each:{subtriggers:{element_count:{element_count:2}} subtriggers:{element_count:{element_count:3}}}`},
	{name: "repeatedly", t: sdk.Repeatedly(sdk.AfterCount(2)), want: `repeat:{subtrigger:{element_count:{element_count:2}}}`},
	{name: "or finally", t: sdk.Repeatedly(sdk.AfterCount(2)).OrFinally(sdk.AfterCount(3)),
		want: `or_finally:{main:{repeat:{subtrigger:{element_count:{element_count:2}}}} finally:{element_count:{element_count:3}}}`},
	{name: "never", t: sdk.Never(), want: `never:{}`},
	{name: "always", t: sdk.Always(), want: `always:{}`},
}

func TestEveryTriggerTranslatesAndDecodes(t *testing.T) {
	for _, tt := range everyTrigger {
		t.Run(tt.name, func(t *testing.T) {
			pb := translate.Trigger(tt.t)
			var want pipepb.Trigger
			if err := protoText(tt.want, &want); err != nil {
				t.Fatalf("bad want: %v", err)
			}
			if d := cmp.Diff(&want, pb, protocmp.Transform()); d != "" {
				t.Errorf("Trigger(%v) (-want +got):\n%s", tt.t, d)
			}
			back, err := decode.Trigger(pb)
			if err != nil {
				t.Fatalf("decode.Trigger: %v", err)
			}
			if d := cmp.Diff(tt.t, back); d != "" {
				t.Errorf("decode.Trigger(Trigger(%v)) (-want +got):\n%s", tt.t, d)
			}
		})
	}
}

// triggered builds Create -> WithTimestamps -> WindowInto(opts) -> GroupByKey.
func triggered(fn window.Fn, opts ...sdk.Option) (*sdk.Pipeline, sdk.PCollection[sdk.KV[string, int64]], sdk.PCollection[sdk.Group[string, int64]]) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, int64]{{Key: "a", Value: 1}})
	stamped := sdk.WithTimestamps(s, func(sdk.KV[string, int64]) time.Time { return time.Unix(1, 0) }, in)
	w := sdk.WindowInto(s, fn, stamped, append(opts, sdk.AllowUnsafeTriggers())...)
	return p, w, sdk.GroupByKey(s, w)
}

func TestEveryStrategyFieldRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		fn   window.Fn
		opts []sdk.Option
		want window.Strategy
	}{
		{name: "defaults are Beam Java's", fn: window.FixedFn(time.Minute),
			want: window.Strategy{Fn: window.FixedFn(time.Minute)}},
		{name: "accumulating with lateness and early firings", fn: window.SlidingFn(time.Minute, 10*time.Second),
			opts: []sdk.Option{sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2))), sdk.Accumulating(), sdk.AllowedLateness(5 * time.Second)},
			want: window.Strategy{Fn: window.SlidingFn(time.Minute, 10*time.Second), Trigger: sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(2)),
				Accumulation: window.Accumulating, AllowedLateness: 5 * time.Second}},
		{name: "earliest timestamps, empty final and no empty on-time panes", fn: window.SessionsFn(time.Minute),
			opts: []sdk.Option{sdk.TimestampCombiner(window.OutputAtEarliest), sdk.ClosingBehavior(window.ClosingFireAlways), sdk.OnTimeBehavior(window.OnTimeFireIfNonEmpty)},
			want: window.Strategy{Fn: window.SessionsFn(time.Minute), TimestampCombiner: window.OutputAtEarliest, Closing: window.ClosingFireAlways, OnTime: window.OnTimeFireIfNonEmpty}},
		{name: "latest timestamps, discarding after accumulating", fn: window.GlobalFn(),
			opts: []sdk.Option{sdk.Triggering(sdk.Repeatedly(sdk.AfterProcessingTime().AlignedTo(time.Minute, 0))), sdk.Accumulating(), sdk.Discarding(), sdk.TimestampCombiner(window.OutputAtLatest)},
			want: window.Strategy{Fn: window.GlobalFn(), Trigger: sdk.Repeatedly(sdk.AfterProcessingTime().AlignedTo(time.Minute, 0)), TimestampCombiner: window.OutputAtLatest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, w, _ := triggered(tt.fn, tt.opts...)
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			pb, err := translate.ToProto(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Pipeline(pb, nil); err != nil {
				t.Fatalf("validate.Pipeline: %v", err)
			}
			c := pb.GetComponents()
			ws := c.GetWindowingStrategies()[c.GetPcollections()[sdkaccess.Collection(w).ID].GetWindowingStrategyId()]
			got, err := decode.WindowingStrategy(ws)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("decoded strategy (-want +got):\n%s", d)
			}
			roundTrip(t, pb)
		})
	}
}

func TestDefaultStrategyProtoHasJavaDefaults(t *testing.T) {
	ws, err := translate.WindowingStrategy(window.GlobalStrategy())
	if err != nil {
		t.Fatal(err)
	}
	want := &pipepb.WindowingStrategy{
		WindowFn:           &pipepb.FunctionSpec{Urn: "beam:window_fn:global_windows:v1"},
		MergeStatus:        pipepb.MergeStatus_NON_MERGING,
		Trigger:            &pipepb.Trigger{Trigger: &pipepb.Trigger_Default_{Default: &pipepb.Trigger_Default{}}},
		AccumulationMode:   pipepb.AccumulationMode_DISCARDING,
		OutputTime:         pipepb.OutputTime_END_OF_WINDOW,
		ClosingBehavior:    pipepb.ClosingBehavior_EMIT_IF_NONEMPTY,
		OnTimeBehavior:     pipepb.OnTimeBehavior_FIRE_ALWAYS,
		AssignsToOneWindow: true,
	}
	if d := cmp.Diff(want, ws, protocmp.Transform()); d != "" {
		t.Errorf("WindowingStrategy(GlobalStrategy()) (-want +got):\n%s", d)
	}
}

func TestGroupedOutputCarriesContinuationAndMergedWindows(t *testing.T) {
	p, _, grouped := triggered(window.SessionsFn(time.Minute),
		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterProcessingTime().PlusDelayOf(time.Second)).WithLateFirings(sdk.AfterCount(3))))
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := pb.GetComponents()
	ws := c.GetWindowingStrategies()[c.GetPcollections()[sdkaccess.Collection(grouped).ID].GetWindowingStrategyId()]
	if got := ws.GetMergeStatus(); got != pipepb.MergeStatus_ALREADY_MERGED {
		t.Errorf("grouped sessions have merge status %v, want ALREADY_MERGED", got)
	}
	var want pipepb.Trigger
	if err := protoText(`after_end_of_window:{early_firings:{after_synchronized_processing_time:{}} late_firings:{element_count:{element_count:1}}}`, &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&want, ws.GetTrigger(), protocmp.Transform()); d != "" {
		t.Errorf("grouped trigger (-want +got):\n%s", d)
	}
	roundTrip(t, pb)
}

// roundTrip checks that FromProto and GraphToProto give pb back.
func roundTrip(t *testing.T, pb *pipepb.Pipeline) {
	t.Helper()
	g, err := translate.FromProto(pb)
	if err != nil {
		t.Fatalf("FromProto: %v", err)
	}
	again, err := translate.GraphToProto(g, nil)
	if err != nil {
		t.Fatalf("GraphToProto: %v", err)
	}
	if d := cmp.Diff(pb, again, protocmp.Transform()); d != "" {
		t.Errorf("round trip changed the pipeline (-want +got):\n%s", d)
	}
}
