package translate

import (
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/sdk/window"
)

// WindowingStrategy translates a windowing strategy into its model proto,
// without the window coder id (which names a coder of the pipeline's
// components). proto/decode's WindowingStrategy reads it back.
func WindowingStrategy(s window.Strategy) (*pipepb.WindowingStrategy, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	fn, err := windowFnSpec(s.Fn)
	if err != nil {
		return nil, err
	}
	merge := pipepb.MergeStatus_NON_MERGING
	switch {
	case s.Fn.IsMerging() && s.AlreadyMerged:
		merge = pipepb.MergeStatus_ALREADY_MERGED
	case s.Fn.IsMerging():
		merge = pipepb.MergeStatus_NEEDS_MERGE
	}
	return &pipepb.WindowingStrategy{
		WindowFn:           fn,
		MergeStatus:        merge,
		Trigger:            Trigger(s.Trigger),
		AccumulationMode:   accumulationModes[s.Accumulation],
		OutputTime:         outputTimes[s.TimestampCombiner],
		ClosingBehavior:    closingBehaviors[s.Closing],
		OnTimeBehavior:     onTimeBehaviors[s.OnTime],
		AllowedLateness:    s.AllowedLateness.Milliseconds(),
		AssignsToOneWindow: s.Fn.Kind != window.KindSliding,
	}, nil
}

// The model enums of the strategy's fields, indexed by window's values.
var (
	accumulationModes = [...]pipepb.AccumulationMode_Enum{
		window.Discarding:   pipepb.AccumulationMode_DISCARDING,
		window.Accumulating: pipepb.AccumulationMode_ACCUMULATING,
	}
	outputTimes = [...]pipepb.OutputTime_Enum{
		window.OutputAtEndOfWindow: pipepb.OutputTime_END_OF_WINDOW,
		window.OutputAtEarliest:    pipepb.OutputTime_EARLIEST_IN_PANE,
		window.OutputAtLatest:      pipepb.OutputTime_LATEST_IN_PANE,
	}
	closingBehaviors = [...]pipepb.ClosingBehavior_Enum{
		window.ClosingFireIfNonEmpty: pipepb.ClosingBehavior_EMIT_IF_NONEMPTY,
		window.ClosingFireAlways:     pipepb.ClosingBehavior_EMIT_ALWAYS,
	}
	onTimeBehaviors = [...]pipepb.OnTimeBehavior_Enum{
		window.OnTimeFireAlways:     pipepb.OnTimeBehavior_FIRE_ALWAYS,
		window.OnTimeFireIfNonEmpty: pipepb.OnTimeBehavior_FIRE_IF_NONEMPTY,
	}
)

// Trigger translates a trigger tree into its model proto. t must be valid
// (window.Trigger.Validate); fields that do not apply to its kind are
// ignored.
func Trigger(t window.Trigger) *pipepb.Trigger {
	switch t.Kind {
	case window.TriggerAfterWatermark:
		eow := &pipepb.Trigger_AfterEndOfWindow{}
		if t.Early != nil {
			eow.EarlyFirings = Trigger(*t.Early)
		}
		if t.Late != nil {
			eow.LateFirings = Trigger(*t.Late)
		}
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterEndOfWindow_{AfterEndOfWindow: eow}}
	case window.TriggerAfterCount:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_ElementCount_{ElementCount: &pipepb.Trigger_ElementCount{ElementCount: int32(t.Count)}}}
	case window.TriggerAfterProcessingTime:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterProcessingTime_{AfterProcessingTime: &pipepb.Trigger_AfterProcessingTime{TimestampTransforms: timeTransforms(t.Transforms)}}}
	case window.TriggerAfterSynchronizedProcessingTime:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterSynchronizedProcessingTime_{AfterSynchronizedProcessingTime: &pipepb.Trigger_AfterSynchronizedProcessingTime{}}}
	case window.TriggerAfterAll:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterAll_{AfterAll: &pipepb.Trigger_AfterAll{Subtriggers: triggers(t.Subs)}}}
	case window.TriggerAfterAny:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterAny_{AfterAny: &pipepb.Trigger_AfterAny{Subtriggers: triggers(t.Subs)}}}
	case window.TriggerAfterEach:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterEach_{AfterEach: &pipepb.Trigger_AfterEach{Subtriggers: triggers(t.Subs)}}}
	case window.TriggerRepeatedly:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{Subtrigger: Trigger(t.Subs[0])}}}
	case window.TriggerOrFinally:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_OrFinally_{OrFinally: &pipepb.Trigger_OrFinally{Main: Trigger(t.Subs[0]), Finally: Trigger(t.Subs[1])}}}
	case window.TriggerNever:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_Never_{Never: &pipepb.Trigger_Never{}}}
	case window.TriggerAlways:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_Always_{Always: &pipepb.Trigger_Always{}}}
	}
	return &pipepb.Trigger{Trigger: &pipepb.Trigger_Default_{Default: &pipepb.Trigger_Default{}}}
}

func triggers(ts []window.Trigger) []*pipepb.Trigger {
	out := make([]*pipepb.Trigger, len(ts))
	for i, t := range ts {
		out[i] = Trigger(t)
	}
	return out
}

func timeTransforms(tts []window.TimeTransform) []*pipepb.TimestampTransform {
	out := make([]*pipepb.TimestampTransform, len(tts))
	for i, tt := range tts {
		if tt.IsAlign() {
			out[i] = &pipepb.TimestampTransform{TimestampTransform: &pipepb.TimestampTransform_AlignTo_{
				AlignTo: &pipepb.TimestampTransform_AlignTo{Period: tt.Period.Milliseconds(), Offset: tt.Offset.Milliseconds()}}}
		} else {
			out[i] = &pipepb.TimestampTransform{TimestampTransform: &pipepb.TimestampTransform_Delay_{
				Delay: &pipepb.TimestampTransform_Delay{DelayMillis: tt.Delay.Milliseconds()}}}
		}
	}
	return out
}
