package window

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// AccumulationMode says what the panes after the first of a window hold.
type AccumulationMode uint8

// The accumulation modes. The zero value is Beam's default.
const (
	// Discarding panes hold only the elements since the previous pane.
	Discarding AccumulationMode = iota
	// Accumulating panes hold every element of the window so far; each
	// pane replaces the previous one.
	Accumulating
)

// String returns "discarding" or "accumulating".
func (m AccumulationMode) String() string {
	if m == Accumulating {
		return "accumulating"
	}
	return "discarding"
}

// TimestampCombiner says which timestamp a pane's output gets.
type TimestampCombiner uint8

// The timestamp combiners. The zero value is Beam's default.
const (
	// OutputAtEndOfWindow stamps a pane with its window's maximum timestamp.
	OutputAtEndOfWindow TimestampCombiner = iota
	// OutputAtEarliest stamps a pane with its earliest on-time element's
	// timestamp.
	OutputAtEarliest
	// OutputAtLatest stamps a pane with its latest element's timestamp.
	OutputAtLatest
)

// String returns "end_of_window", "earliest" or "latest".
func (c TimestampCombiner) String() string {
	switch c {
	case OutputAtEarliest:
		return "earliest"
	case OutputAtLatest:
		return "latest"
	}
	return "end_of_window"
}

// ClosingBehavior says whether a window's final pane, at garbage
// collection, is emitted when it is empty.
type ClosingBehavior uint8

// The closing behaviours. The zero value is Beam's default.
const (
	// ClosingFireIfNonEmpty emits the final pane only if it holds elements.
	ClosingFireIfNonEmpty ClosingBehavior = iota
	// ClosingFireAlways always emits a final pane, empty or not, for
	// every window that held data.
	ClosingFireAlways
)

// String returns "fire_if_nonempty" or "fire_always".
func (b ClosingBehavior) String() string {
	if b == ClosingFireAlways {
		return "fire_always"
	}
	return "fire_if_nonempty"
}

// OnTimeBehavior says whether the on-time pane of a window, fired when the
// watermark passes its end, is emitted when it is empty.
type OnTimeBehavior uint8

// The on-time behaviours. The zero value is Beam Java's default (Beam Go's
// SDK fires only non-empty panes).
const (
	// OnTimeFireAlways always emits the on-time pane.
	OnTimeFireAlways OnTimeBehavior = iota
	// OnTimeFireIfNonEmpty emits the on-time pane only if it holds
	// elements.
	OnTimeFireIfNonEmpty
)

// String returns "fire_always" or "fire_if_nonempty".
func (b OnTimeBehavior) String() string {
	if b == OnTimeFireIfNonEmpty {
		return "fire_if_nonempty"
	}
	return "fire_always"
}

// Strategy is a windowing strategy: how a collection's elements are
// windowed and when, and with which timestamps, their groups are emitted.
// Apart from Fn, its zero value holds Beam Java's defaults: the default
// trigger, discarding panes, no allowed lateness, panes at the end of the
// window, a final pane only if non-empty and an on-time pane always.
//
// Strategy is a value type, safe for concurrent use.
type Strategy struct {
	Fn      Fn
	Trigger Trigger
	// Accumulation says whether later panes repeat earlier elements.
	Accumulation AccumulationMode
	// AllowedLateness is how long after the end of a window its late data
	// is still processed; later data is dropped.
	AllowedLateness time.Duration
	// TimestampCombiner chooses the timestamp of a pane.
	TimestampCombiner TimestampCombiner
	// Closing and OnTime say whether empty final and on-time panes fire.
	Closing ClosingBehavior
	OnTime  OnTimeBehavior
	// AlreadyMerged is set on the output of a GroupByKey of merging
	// windows (sessions): its windows are merged and must not merge again.
	AlreadyMerged bool
}

// GlobalStrategy returns the strategy of collections that were never
// windowed: the global window with Beam's defaults.
func GlobalStrategy() Strategy { return Strategy{Fn: GlobalFn()} }

// Validate reports a strategy whose window function or trigger is not
// well formed, or whose allowed lateness is negative.
func (s Strategy) Validate() error {
	if err := s.Fn.Validate(); err != nil {
		return err
	}
	if err := s.Trigger.Validate(); err != nil {
		return err
	}
	if s.AllowedLateness < 0 {
		return fmt.Errorf("window: allowed lateness must not be negative, got %v", s.AllowedLateness)
	}
	return nil
}

// ErrUnsafeTrigger is the cause of CheckTriggerSafe's errors.
var ErrUnsafeTrigger = errors.New("unsafe trigger may lose data")

// CheckTriggerSafe reports a trigger that may finish, and so drop the rest
// of its window's data, before the window expires (Beam Java's
// GroupByKey.applicableTo). A trigger is safe if it cannot finish, is
// Never, is AfterWatermark with late firings, or is AfterWatermark (with
// or without early firings) when the allowed lateness is 0.
func (s Strategy) CheckTriggerSafe() error {
	t := s.Trigger
	switch {
	case !t.MayFinish(), t.Kind == TriggerNever:
		return nil
	case t.Kind == TriggerAfterWatermark && (s.AllowedLateness == 0 || t.Late != nil):
		return nil
	}
	hint := "wrap it in Repeatedly"
	if t.Kind == TriggerAfterWatermark {
		hint = "add late firings"
	}
	return fmt.Errorf("%w: trigger %v finishes before the allowed lateness of %v has passed and drops the window's later data (%s, or allow unsafe triggers)",
		ErrUnsafeTrigger, t, s.AllowedLateness, hint)
}

// String describes s, listing the fields that differ from the defaults,
// e.g. "fixed(1m0s) trigger=AfterCount(2) accumulating". Equal strategies
// render equally.
func (s Strategy) String() string {
	var b strings.Builder
	b.WriteString(s.Fn.String())
	if s.Fn.Offset != 0 {
		fmt.Fprintf(&b, " offset=%v", s.Fn.Offset)
	}
	if t := s.Trigger.String(); t != TriggerDefault.String() {
		b.WriteString(" trigger=" + t)
	}
	if s.Accumulation != Discarding {
		b.WriteString(" " + s.Accumulation.String())
	}
	if s.AllowedLateness != 0 {
		fmt.Fprintf(&b, " lateness=%v", s.AllowedLateness)
	}
	if s.TimestampCombiner != OutputAtEndOfWindow {
		b.WriteString(" timestamp=" + s.TimestampCombiner.String())
	}
	if s.Closing != ClosingFireIfNonEmpty {
		b.WriteString(" closing=" + s.Closing.String())
	}
	if s.OnTime != OnTimeFireAlways {
		b.WriteString(" ontime=" + s.OnTime.String())
	}
	if s.AlreadyMerged {
		b.WriteString(" merged")
	}
	return b.String()
}
