// Package window defines Beam's event-time model: timestamps, windows, panes,
// windowed values, the window functions (global, fixed, sliding, sessions)
// that assign elements to windows, and windowing strategies (Strategy):
// triggers, accumulation, allowed lateness, timestamp combiners, closing
// and on-time behaviours. Strategies and triggers are plain values, so the
// SDK, the proto translation and the runner side share them without
// protos.
//
// # Representation
//
// Beam has two standard window types, the global window and the interval
// window [start, end). Both are represented by the one comparable struct
// Window, so windows can be map keys and windowed values carry no interface
// values (and so no allocation) on the hot path.
//
// Timestamps are milliseconds since the Unix epoch, as in Beam's model
// (Time). The bounds are Beam's: MinTime and MaxTime, and the global window
// ends at EndOfGlobalWindow, one day before MaxTime.
//
// # Who imports it
//
// Users import sdk/window, which re-exports these names as aliases. This
// internal package holds the definitions so that runner-side code (the
// planner, the engine, the job server) can use the same types without
// linking the user SDK.
package window

import (
	"fmt"
	"math"
	"time"
)

// Time is an event-time timestamp in milliseconds since the Unix epoch.
type Time int64

const (
	// MinTime is the smallest timestamp Beam can represent (BoundedWindow.TIMESTAMP_MIN_VALUE).
	MinTime Time = math.MinInt64 / 1000
	// MaxTime is the largest timestamp Beam can represent (BoundedWindow.TIMESTAMP_MAX_VALUE).
	MaxTime Time = math.MaxInt64 / 1000
	// EndOfGlobalWindow is the maximum timestamp of the global window: MaxTime less one day.
	EndOfGlobalWindow Time = MaxTime - 24*60*60*1000
)

// FromTime converts a time.Time to a Time, truncating to milliseconds.
func FromTime(t time.Time) Time { return Time(t.UnixMilli()) }

// ToTime converts t to a time.Time in UTC.
func (t Time) ToTime() time.Time { return time.UnixMilli(int64(t)).UTC() }

// String renders t as an RFC 3339 time, or as MinTime / MaxTime at the bounds.
func (t Time) String() string {
	switch {
	case t <= MinTime:
		return "MinTime"
	case t >= MaxTime:
		return "MaxTime"
	case t == EndOfGlobalWindow:
		return "EndOfGlobalWindow"
	}
	return t.ToTime().Format("2006-01-02T15:04:05.000Z07:00")
}

// Window is a Beam window: either the global window or an interval window
// [Start, End). The zero Window is not valid; use Global or Interval.
//
// Window is a comparable value type, safe to copy and to use as a map key.
type Window struct {
	// Start is the inclusive start of the window.
	Start Time
	// End is the exclusive end of the window. For the global window it is
	// EndOfGlobalWindow+1, so that MaxTimestamp is uniform.
	End Time
	// global marks the global window, which is not the same window as an
	// interval window with the same bounds.
	global bool
}

// Global returns the global window.
func Global() Window { return Window{Start: MinTime, End: EndOfGlobalWindow + 1, global: true} }

// Interval returns the interval window [start, end).
func Interval(start, end Time) Window { return Window{Start: start, End: end} }

// IsGlobal reports whether w is the global window.
func (w Window) IsGlobal() bool { return w.global }

// MaxTimestamp is the largest timestamp that falls in w: End-1.
func (w Window) MaxTimestamp() Time { return w.End - 1 }

// Contains reports whether t falls in w.
func (w Window) Contains(t Time) bool { return t >= w.Start && t < w.End }

// Intersects reports whether w and o overlap.
func (w Window) Intersects(o Window) bool { return w.Start < o.End && o.Start < w.End }

// Span returns the smallest interval window that covers both w and o.
func (w Window) Span(o Window) Window {
	return Interval(min(w.Start, o.Start), max(w.End, o.End))
}

// String renders w as "GlobalWindow" or "[start, end)".
func (w Window) String() string {
	if w.global {
		return "GlobalWindow"
	}
	return fmt.Sprintf("[%v, %v)", w.Start, w.End)
}

// globalWindows is the shared, read-only window list of elements in the
// global window. Callers must not modify it.
var globalWindows = []Window{Global()}

// GlobalWindows returns a one-element list holding the global window. The
// slice is shared: callers must not modify it.
func GlobalWindows() []Window { return globalWindows }

// Timing says when a pane fired relative to the watermark.
type Timing byte

// The pane timings, in Beam's encoding order.
const (
	TimingEarly   Timing = 0
	TimingOnTime  Timing = 1
	TimingLate    Timing = 2
	TimingUnknown Timing = 3
)

// String returns Beam's name of the timing: EARLY, ON_TIME, LATE or
// UNKNOWN.
func (t Timing) String() string {
	switch t {
	case TimingEarly:
		return "EARLY"
	case TimingOnTime:
		return "ON_TIME"
	case TimingLate:
		return "LATE"
	}
	return "UNKNOWN"
}

// Pane describes which firing of a window's trigger produced an element.
// The zero Pane is not Beam's default; use NoFiringPane.
type Pane struct {
	IsFirst             bool
	IsLast              bool
	Timing              Timing
	Index               int64
	NonSpeculativeIndex int64
}

// NoFiringPane returns the pane of elements that no trigger produced: first,
// last, timing unknown, index 0. It is Beam's PaneInfo.NO_FIRING.
func NoFiringPane() Pane { return Pane{IsFirst: true, IsLast: true, Timing: TimingUnknown} }

// OnTimePane returns the single on-time pane that batch execution of a
// GroupByKey produces under the default trigger.
func OnTimePane() Pane { return Pane{IsFirst: true, IsLast: true, Timing: TimingOnTime} }

// Value is a windowed value: an element with its event timestamp, the
// windows it belongs to, and its pane.
type Value[T any] struct {
	Elem      T
	Timestamp Time
	Windows   []Window
	Pane      Pane
}

// InGlobalWindow returns v in the global window at MinTime with no firing pane,
// as Impulse and Create produce elements.
func InGlobalWindow[T any](v T) Value[T] {
	return Value[T]{Elem: v, Timestamp: MinTime, Windows: globalWindows, Pane: NoFiringPane()}
}
