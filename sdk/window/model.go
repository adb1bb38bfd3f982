package window

import (
	"time"

	iwindow "github.com/beamgo-dev/beamgo/internal/window"
)

// The declarations below re-export the event-time model of the internal
// window package, which runner-side code imports without the user SDK. The
// types are aliases, so their methods and documentation are those of the
// definitions; the functions are one-line wrappers the compiler inlines.

// Time is an event-time timestamp in milliseconds since the Unix epoch.
type Time = iwindow.Time

const (
	// MinTime is the smallest timestamp Beam can represent (BoundedWindow.TIMESTAMP_MIN_VALUE).
	MinTime = iwindow.MinTime
	// MaxTime is the largest timestamp Beam can represent (BoundedWindow.TIMESTAMP_MAX_VALUE).
	MaxTime = iwindow.MaxTime
	// EndOfGlobalWindow is the maximum timestamp of the global window: MaxTime less one day.
	EndOfGlobalWindow = iwindow.EndOfGlobalWindow
)

// FromTime converts a time.Time to a Time, truncating to milliseconds.
func FromTime(t time.Time) Time { return iwindow.FromTime(t) }

// Window is a Beam window: either the global window or an interval window
// [Start, End). The zero Window is not valid; use Global or Interval.
//
// Window is a comparable value type, safe to copy and to use as a map key.
type Window = iwindow.Window

// Global returns the global window.
func Global() Window { return iwindow.Global() }

// Interval returns the interval window [start, end).
func Interval(start, end Time) Window { return iwindow.Interval(start, end) }

// GlobalWindows returns a one-element list holding the global window. The
// slice is shared: callers must not modify it.
func GlobalWindows() []Window { return iwindow.GlobalWindows() }

// Timing says when a pane fired relative to the watermark.
type Timing = iwindow.Timing

// The pane timings, in Beam's encoding order.
const (
	TimingEarly   = iwindow.TimingEarly
	TimingOnTime  = iwindow.TimingOnTime
	TimingLate    = iwindow.TimingLate
	TimingUnknown = iwindow.TimingUnknown
)

// Pane describes which firing of a window's trigger produced an element.
// The zero Pane is not Beam's default; use NoFiringPane.
type Pane = iwindow.Pane

// NoFiringPane returns the pane of elements that no trigger produced: first,
// last, timing unknown, index 0. It is Beam's PaneInfo.NO_FIRING.
func NoFiringPane() Pane { return iwindow.NoFiringPane() }

// OnTimePane returns the single on-time pane that batch execution of a
// GroupByKey produces under the default trigger.
func OnTimePane() Pane { return iwindow.OnTimePane() }

// Value is a windowed value: an element with its event timestamp, the
// windows it belongs to, and its pane.
type Value[T any] = iwindow.Value[T]

// InGlobalWindow returns v in the global window at MinTime with no firing pane,
// as Impulse and Create produce elements.
func InGlobalWindow[T any](v T) Value[T] { return iwindow.InGlobalWindow(v) }

// Kind names a window function.
type Kind = iwindow.Kind

// The window functions of Beam's model.
const (
	KindGlobal   = iwindow.KindGlobal
	KindFixed    = iwindow.KindFixed
	KindSliding  = iwindow.KindSliding
	KindSessions = iwindow.KindSessions
)

// Fn is a window function: it assigns timestamps to windows and, for
// sessions, merges windows. Fn is a small value type, safe to copy and to use
// concurrently.
type Fn = iwindow.Fn

// GlobalFn returns the window function that puts every element in the global window.
func GlobalFn() Fn { return iwindow.GlobalFn() }

// FixedFn returns a window function of non-overlapping windows of the given size,
// aligned to the Unix epoch.
func FixedFn(size time.Duration) Fn { return iwindow.FixedFn(size) }

// SlidingFn returns a window function of windows of the given size that start
// every period.
func SlidingFn(size, period time.Duration) Fn { return iwindow.SlidingFn(size, period) }

// SessionsFn returns a merging window function: elements closer than gap in
// time fall into one session window per key.
func SessionsFn(gap time.Duration) Fn { return iwindow.SessionsFn(gap) }

// MergeWindows merges overlapping windows, as sessions do: it returns the
// merged windows sorted by start and, for each input window (by index), the
// index of the merged window that absorbed it.
func MergeWindows(ws []Window) (merged []Window, into []int) { return iwindow.MergeWindows(ws) }
