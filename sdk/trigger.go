package sdk

import (
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Trigger says when the panes of a window are emitted: pass one to
// WindowInto with Triggering. Build it with the functions below and the
// methods of window.Trigger:
//
//	sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(100)).WithLateFirings(sdk.AfterCount(1))
//	sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(time.Minute))
//	sdk.Repeatedly(sdk.AfterCount(2)).OrFinally(sdk.AfterWatermark())
//
// A trigger is evaluated per key and window after each batch of input (the
// elements of one bundle), so a pane may hold more elements than a count
// asks for. A trigger that finishes closes its window: the window's later
// elements are dropped.
type Trigger = window.Trigger

// DefaultTrigger returns Beam's default trigger: one pane when the
// watermark passes the end of the window, then one for every late batch
// of data within the allowed lateness.
func DefaultTrigger() Trigger { return Trigger{} }

// AfterWatermark returns a trigger that fires once, when the watermark
// passes the end of the window (the on-time pane). Add early panes with
// WithEarlyFirings and late ones with WithLateFirings.
func AfterWatermark() Trigger { return Trigger{Kind: window.TriggerAfterWatermark} }

// AfterCount returns a trigger that fires once the pane holds at least n
// elements.
func AfterCount(n int64) Trigger { return Trigger{Kind: window.TriggerAfterCount, Count: n} }

// AfterProcessingTime returns a trigger that fires once processing time
// passes the arrival of the pane's first element; PlusDelayOf and
// AlignedTo shift that time.
func AfterProcessingTime() Trigger { return Trigger{Kind: window.TriggerAfterProcessingTime} }

// AfterSynchronizedProcessingTime returns the trigger that fires once every
// upstream worker's processing time has passed the arrival of the pane's
// first element. Runners use it as the continuation of
// AfterProcessingTime after a GroupByKey; users rarely need it.
func AfterSynchronizedProcessingTime() Trigger {
	return Trigger{Kind: window.TriggerAfterSynchronizedProcessingTime}
}

// AfterAll returns a trigger that fires once every one of ts has fired.
func AfterAll(ts ...Trigger) Trigger { return Trigger{Kind: window.TriggerAfterAll, Subs: ts} }

// AfterAny returns a trigger that fires once any of ts fires (Beam Java's
// AfterFirst).
func AfterAny(ts ...Trigger) Trigger { return Trigger{Kind: window.TriggerAfterAny, Subs: ts} }

// AfterEach returns a trigger that runs ts one after another: it fires
// like ts[0] until ts[0] finishes, then like ts[1], and finishes after the
// last.
func AfterEach(ts ...Trigger) Trigger { return Trigger{Kind: window.TriggerAfterEach, Subs: ts} }

// Repeatedly returns a trigger that fires whenever t fires, restarting t
// each time it finishes; it never finishes.
func Repeatedly(t Trigger) Trigger {
	return Trigger{Kind: window.TriggerRepeatedly, Subs: []Trigger{t}}
}

// Never returns a trigger that never fires: each window emits one pane,
// when it expires (at the end of the window plus the allowed lateness).
func Never() Trigger { return Trigger{Kind: window.TriggerNever} }

// Always returns a trigger that fires for every batch of elements and
// never finishes.
func Always() Trigger { return Trigger{Kind: window.TriggerAlways} }
