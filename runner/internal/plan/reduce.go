package plan

import (
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// ReduceStrategy returns the streaming reducer's form of a decoded
// windowing strategy: the planner is the one edge where windowing
// strategies become engine types.
func ReduceStrategy(w window.Strategy) reduce.Strategy {
	s := reduce.Strategy{
		WindowFn:        w.Fn,
		Trigger:         reduceTrigger(w.Trigger),
		Accumulating:    w.Accumulation == window.Accumulating,
		AllowedLateness: window.Time(w.AllowedLateness.Milliseconds()),
		ClosingAlways:   w.Closing == window.ClosingFireAlways,
		OnTimeAlways:    w.OnTime == window.OnTimeFireAlways,
	}
	switch w.TimestampCombiner {
	case window.OutputAtEarliest:
		s.Combiner = reduce.Earliest
	case window.OutputAtLatest:
		s.Combiner = reduce.Latest
	}
	return s
}

// reduceTrigger converts a trigger tree; the decoder validated its shape.
func reduceTrigger(t window.Trigger) reduce.Trigger {
	subs := func() []reduce.Trigger {
		out := make([]reduce.Trigger, len(t.Subs))
		for i, s := range t.Subs {
			out[i] = reduceTrigger(s)
		}
		return out
	}
	switch t.Kind {
	case window.TriggerAfterWatermark:
		r := reduce.AfterWatermark{}
		if t.Early != nil {
			r.Early = reduceTrigger(*t.Early)
		}
		if t.Late != nil {
			r.Late = reduceTrigger(*t.Late)
		}
		return r
	case window.TriggerAfterCount:
		return reduce.AfterCount{N: t.Count}
	case window.TriggerAfterProcessingTime:
		r := reduce.AfterProcessingTime{}
		for _, tt := range t.Transforms {
			if tt.IsAlign() {
				r.Transforms = append(r.Transforms, reduce.AlignTo{Period: window.Time(tt.Period.Milliseconds()), Offset: window.Time(tt.Offset.Milliseconds())})
			} else {
				r.Transforms = append(r.Transforms, reduce.Delay{D: window.Time(tt.Delay.Milliseconds())})
			}
		}
		return r
	case window.TriggerAfterSynchronizedProcessingTime:
		return reduce.AfterSynchronizedProcessingTime{}
	case window.TriggerAfterAll:
		return reduce.AfterAll{Ts: subs()}
	case window.TriggerAfterAny:
		return reduce.AfterAny{Ts: subs()}
	case window.TriggerAfterEach:
		return reduce.AfterEach{Ts: subs()}
	case window.TriggerRepeatedly:
		return reduce.Repeat{T: reduceTrigger(t.Subs[0])}
	case window.TriggerOrFinally:
		return reduce.OrFinally{Main: reduceTrigger(t.Subs[0]), Until: reduceTrigger(t.Subs[1])}
	case window.TriggerNever:
		return reduce.Never{}
	case window.TriggerAlways:
		return reduce.Always{}
	}
	return reduce.Default{}
}
