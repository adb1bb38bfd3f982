package reduce

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/sdk/window"
)

// TimestampCombiner chooses the output timestamp of a pane from the
// timestamps of its elements (Beam's TimestampCombiner / OutputTime).
type TimestampCombiner uint8

// The timestamp combiners. EndOfWindow is the zero value and Beam's default.
const (
	EndOfWindow TimestampCombiner = iota // the window's maximum timestamp
	Earliest                             // the earliest element (that could still hold the watermark)
	Latest                               // the latest element
)

// String names c as Beam's proto does.
func (c TimestampCombiner) String() string {
	switch c {
	case EndOfWindow:
		return "END_OF_WINDOW"
	case Earliest:
		return "EARLIEST_IN_PANE"
	case Latest:
		return "LATEST_IN_PANE"
	}
	return fmt.Sprintf("TimestampCombiner(%d)", uint8(c))
}

// Strategy is a windowing strategy as the engine needs it.
type Strategy struct {
	// WindowFn merges windows iff WindowFn.IsMerging() (sessions). The
	// elements arrive with their windows assigned; only merging matters here.
	WindowFn window.Fn
	// Trigger is the trigger tree; nil means Default.
	Trigger Trigger
	// Accumulating keeps a pane's elements for the next pane; false is
	// DISCARDING.
	Accumulating bool
	// AllowedLateness is how long (ms) past the end of a window late data is
	// still accepted.
	AllowedLateness window.Time
	// Combiner computes pane timestamps: EndOfWindow (default), Earliest, Latest.
	Combiner TimestampCombiner
	// ClosingAlways is ClosingBehavior EMIT_ALWAYS: a final pane at garbage
	// collection even when empty. False is EMIT_IF_NONEMPTY.
	ClosingAlways bool
	// OnTimeAlways is OnTimeBehavior FIRE_ALWAYS: an ON_TIME pane even when
	// empty. Beam's default is true; the zero value here is FIRE_IF_NONEMPTY.
	OnTimeAlways bool
}

// StrategyError reports a strategy the reducer cannot run, or one that is
// unsafe (CheckSafe).
type StrategyError struct {
	Msg string
}

// Error implements error.
func (e *StrategyError) Error() string { return "reduce: invalid strategy: " + e.Msg }

// validate reports a strategy New cannot run.
func (s Strategy) validate() error {
	if s.WindowFn.Kind != "" {
		if err := s.WindowFn.Validate(); err != nil {
			return &StrategyError{Msg: err.Error()}
		}
	}
	if s.AllowedLateness < 0 {
		return &StrategyError{Msg: fmt.Sprintf("negative allowed lateness %d", s.AllowedLateness)}
	}
	if s.Combiner > Latest {
		return &StrategyError{Msg: fmt.Sprintf("unknown timestamp combiner %d", s.Combiner)}
	}
	return nil
}

// CheckSafe reports a trigger that may finish before the window is garbage
// collected and so silently drop data arriving in the lateness period (Java
// GroupByKey's "Unsafe trigger may lose data"). New accepts such strategies,
// since other SDKs' pipelines may allow them explicitly; construction-time
// code calls CheckSafe to reject them by default.
func CheckSafe(s Strategy) error {
	t := s.Trigger
	if !mayFinish(t) {
		return nil
	}
	switch t := t.(type) {
	case Never:
		return nil
	case AfterWatermark:
		if s.AllowedLateness == 0 || t.Late != nil {
			return nil
		}
	}
	return &StrategyError{Msg: fmt.Sprintf("unsafe trigger %T may finish and lose data within allowed lateness %dms; wrap it in Repeat", t, s.AllowedLateness)}
}
