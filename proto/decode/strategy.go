package decode

import (
	"errors"
	"fmt"
	"math"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/sdk/window"
)

// WindowingStrategy decodes a windowing strategy: its window function,
// trigger, accumulation mode, allowed lateness, timestamp combiner,
// closing and on-time behaviours and merge status. Unspecified enums take
// Beam Java's defaults (window.Strategy's zero values). The retracting
// accumulation mode, which no runner implements, is an error.
func WindowingStrategy(ws *pipepb.WindowingStrategy) (window.Strategy, error) {
	fn, err := WindowFn(ws.GetWindowFn())
	if err != nil {
		return window.Strategy{}, err
	}
	s := window.Strategy{Fn: fn, AllowedLateness: millis(ws.GetAllowedLateness())}
	if ws.GetTrigger() != nil {
		if s.Trigger, err = Trigger(ws.GetTrigger()); err != nil {
			return window.Strategy{}, err
		}
	}
	switch ws.GetAccumulationMode() {
	case pipepb.AccumulationMode_ACCUMULATING:
		s.Accumulation = window.Accumulating
	case pipepb.AccumulationMode_RETRACTING:
		return window.Strategy{}, errors.New("decode: the retracting accumulation mode is not supported")
	}
	switch ws.GetOutputTime() {
	case pipepb.OutputTime_EARLIEST_IN_PANE:
		s.TimestampCombiner = window.OutputAtEarliest
	case pipepb.OutputTime_LATEST_IN_PANE:
		s.TimestampCombiner = window.OutputAtLatest
	}
	if ws.GetClosingBehavior() == pipepb.ClosingBehavior_EMIT_ALWAYS {
		s.Closing = window.ClosingFireAlways
	}
	if ws.GetOnTimeBehavior() == pipepb.OnTimeBehavior_FIRE_IF_NONEMPTY {
		s.OnTime = window.OnTimeFireIfNonEmpty
	}
	s.AlreadyMerged = ws.GetMergeStatus() == pipepb.MergeStatus_ALREADY_MERGED
	if s.AllowedLateness < 0 {
		return window.Strategy{}, fmt.Errorf("decode: negative allowed lateness %dms", ws.GetAllowedLateness())
	}
	return s, nil
}

// Trigger decodes a trigger tree. A trigger without a kind is the default
// trigger. Trees nested deeper than window.MaxTriggerDepth, missing
// subtriggers and parameters out of range are errors.
func Trigger(t *pipepb.Trigger) (window.Trigger, error) {
	out, err := trigger(t, 0)
	if err != nil {
		return window.Trigger{}, err
	}
	if err := out.Validate(); err != nil {
		return window.Trigger{}, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

func trigger(t *pipepb.Trigger, depth int) (window.Trigger, error) {
	if depth > window.MaxTriggerDepth {
		return window.Trigger{}, fmt.Errorf("decode: trigger nests deeper than %d levels", window.MaxTriggerDepth)
	}
	if t == nil {
		return window.Trigger{}, errors.New("decode: missing subtrigger")
	}
	sub := func(ts ...*pipepb.Trigger) ([]window.Trigger, error) {
		out := make([]window.Trigger, len(ts))
		for i, s := range ts {
			var err error
			if out[i], err = trigger(s, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var err error
	var w window.Trigger
	switch t := t.GetTrigger().(type) {
	case nil, *pipepb.Trigger_Default_:
		w.Kind = window.TriggerDefault
	case *pipepb.Trigger_AfterEndOfWindow_:
		w.Kind = window.TriggerAfterWatermark
		w.Early, w.Late, err = firings(t.AfterEndOfWindow, sub)
	case *pipepb.Trigger_ElementCount_:
		w.Kind, w.Count = window.TriggerAfterCount, int64(t.ElementCount.GetElementCount())
	case *pipepb.Trigger_AfterProcessingTime_:
		w.Kind = window.TriggerAfterProcessingTime
		w.Transforms, err = timeTransforms(t.AfterProcessingTime.GetTimestampTransforms())
	case *pipepb.Trigger_AfterSynchronizedProcessingTime_:
		w.Kind = window.TriggerAfterSynchronizedProcessingTime
	case *pipepb.Trigger_AfterAll_:
		w.Kind = window.TriggerAfterAll
		w.Subs, err = sub(t.AfterAll.GetSubtriggers()...)
	case *pipepb.Trigger_AfterAny_:
		w.Kind = window.TriggerAfterAny
		w.Subs, err = sub(t.AfterAny.GetSubtriggers()...)
	case *pipepb.Trigger_AfterEach_:
		w.Kind = window.TriggerAfterEach
		w.Subs, err = sub(t.AfterEach.GetSubtriggers()...)
	case *pipepb.Trigger_Repeat_:
		w.Kind = window.TriggerRepeatedly
		w.Subs, err = sub(t.Repeat.GetSubtrigger())
	case *pipepb.Trigger_OrFinally_:
		w.Kind = window.TriggerOrFinally
		w.Subs, err = sub(t.OrFinally.GetMain(), t.OrFinally.GetFinally())
	case *pipepb.Trigger_Never_:
		w.Kind = window.TriggerNever
	case *pipepb.Trigger_Always_:
		w.Kind = window.TriggerAlways
	default:
		return window.Trigger{}, fmt.Errorf("decode: unknown trigger %T", t)
	}
	return w, err
}

// firings decodes the optional early and late firings of an AfterWatermark
// trigger.
func firings(t *pipepb.Trigger_AfterEndOfWindow, sub func(...*pipepb.Trigger) ([]window.Trigger, error)) (early, late *window.Trigger, err error) {
	for _, f := range []struct {
		pb  *pipepb.Trigger
		dst **window.Trigger
	}{{t.GetEarlyFirings(), &early}, {t.GetLateFirings(), &late}} {
		if f.pb == nil {
			continue
		}
		ts, err := sub(f.pb)
		if err != nil {
			return nil, nil, err
		}
		*f.dst = &ts[0]
	}
	return early, late, nil
}

func timeTransforms(pbs []*pipepb.TimestampTransform) ([]window.TimeTransform, error) {
	var out []window.TimeTransform
	for _, tt := range pbs {
		switch tt := tt.GetTimestampTransform().(type) {
		case *pipepb.TimestampTransform_Delay_:
			out = append(out, window.TimeTransform{Delay: millis(tt.Delay.GetDelayMillis())})
		case *pipepb.TimestampTransform_AlignTo_:
			out = append(out, window.TimeTransform{Period: millis(tt.AlignTo.GetPeriod()), Offset: millis(tt.AlignTo.GetOffset())})
		default:
			return nil, fmt.Errorf("decode: unknown timestamp transform %T", tt)
		}
	}
	return out, nil
}

// millis converts milliseconds to a duration, saturating at the largest
// durations: Beam Java allows lateness up to the end of time (292,000
// years), past time.Duration's 292.
func millis(ms int64) time.Duration {
	const limit = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case ms > limit:
		return math.MaxInt64
	case ms < -limit:
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}
