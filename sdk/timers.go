package sdk

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Timers are declared like state, as exported fields of a stateful DoFn: a
// field of type EventTimeTimer or ProcessingTimeTimer is one timer per key
// and window, a field of type EventTimeTimerFamily or
// ProcessingTimeTimerFamily a family of timers told apart by tags chosen at
// run time. A timer set again replaces the pending one (the last set or
// clear wins, also within a bundle). When a timer fires, the DoFn's OnTimer
// runs with the timer's key, window and state:
//
//	OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(Out)) error
//
// An event-time timer fires once the input watermark passes its time; a
// processing-time timer once the job's processing-time clock reaches it
// (a TestStream's synthetic clock in tests), unless its window has expired
// by then. Per key, timers fire in the order of their times, including
// timers set by earlier callbacks. A timer holds the output watermark at
// its output timestamp until it fires, so that what OnTimer emits (at that
// timestamp) is not late downstream.
//
// A DoFn with the method
//
//	OnWindowExpiration(ctx context.Context, emit func(Out)) error
//
// is called once per key and window that holds state when the window
// expires (after every event-time timer of the window fired), with that
// state still readable; then the state is dropped.

// FiredTimer is the timer an OnTimer call fires.
type FiredTimer struct {
	// Family is the id of the timer's field; Tag its tag in a family ("" for
	// a plain timer).
	Family, Tag string
	// ProcessingTime is set for processing-time timers.
	ProcessingTime bool
	// FireTime is when the timer was set to fire; OutputTime the timestamp
	// of the elements OnTimer emits.
	FireTime, OutputTime time.Time
}

// TimerOption configures one Set of a timer.
type TimerOption func(*timerSet)

type timerSet struct {
	output    time.Time
	hasOutput bool
}

// WithOutputTimestamp sets the timestamp of the elements emitted when the
// timer fires, and so the output watermark hold: it must not be before the
// timestamp of the element (or timer) being processed, nor, for an
// event-time timer, after its fire time.
func WithOutputTimestamp(t time.Time) TimerOption {
	return func(s *timerSet) { s.output, s.hasOutput = t, true }
}

// timerCell is what every timer type holds: its family id and domain.
type timerCell struct {
	id         string
	processing bool
}

// timerDecl is implemented by the timer types' pointers: declareTimer binds
// the field to id and describes it.
type timerDecl interface {
	declareTimer(id string) graph.TimerSpec
}

func (c *timerCell) declare(id string, processing bool) graph.TimerSpec {
	c.id, c.processing = id, processing
	d := graph.EventTime
	if processing {
		d = graph.ProcessingTime
	}
	return graph.TimerSpec{ID: id, Domain: d}
}

// keyed returns the element context of a stateful call.
func (c timerCell) keyed(ctx context.Context) (*operator.ElemContext, error) {
	ec := operator.FromContext(ctx)
	if c.id == "" {
		return nil, fmt.Errorf("sdk: timer used before ParDo bound it: declare it as an exported field of a pointer DoFn: %w", operator.ErrNoState)
	}
	if ec == nil || ec.Keyed == nil {
		return nil, fmt.Errorf("sdk: timer %q: %w", c.id, operator.ErrNoState)
	}
	return ec, nil
}

// set sets the timer tag to fire at fire (event time, or processing time
// for processing-time timers), checking the output timestamp.
func (c timerCell) set(ctx context.Context, tag string, fire window.Time, opts []TimerOption) error {
	ec, err := c.keyed(ctx)
	if err != nil {
		return err
	}
	var o timerSet
	for _, opt := range opts {
		opt(&o)
	}
	// The default output timestamp: the fire time for event time; for
	// processing time the timestamp of what is being processed (the
	// element's, or the firing timer's output timestamp), never the
	// processing time itself.
	hold := ec.Timestamp
	if !c.processing {
		hold = fire
	}
	if o.hasOutput {
		hold = window.FromTime(o.output)
		if hold < ec.Timestamp {
			return fmt.Errorf("sdk: timer %q: output timestamp %v is before the current input's timestamp %v", c.id, hold, ec.Timestamp)
		}
		if !c.processing && hold > fire {
			return fmt.Errorf("sdk: timer %q: output timestamp %v is after its fire time %v", c.id, hold, fire)
		}
	}
	if gc := ec.Keyed.GCTime(ec.Window); !c.processing && fire > gc {
		return fmt.Errorf("sdk: timer %q: fire time %v is after the window %v expires (%v)", c.id, fire, ec.Window, gc)
	} else if hold > gc {
		return fmt.Errorf("sdk: timer %q: output timestamp %v is after the window %v expires (%v)", c.id, hold, ec.Window, gc)
	}
	return ec.Keyed.WriteTimer(ec, c.id, tag, false, fire, hold)
}

func (c timerCell) clear(ctx context.Context, tag string) error {
	ec, err := c.keyed(ctx)
	if err != nil {
		return err
	}
	return ec.Keyed.WriteTimer(ec, c.id, tag, true, 0, 0)
}

// processingFire returns the processing time d from now. The SDK reads the
// wall clock; a runner with a synthetic clock (a TestStream's) moves
// processing-time timers onto it.
func processingFire(d time.Duration) window.Time { return window.FromTime(time.Now().Add(d)) }

// EventTimeTimer is one event-time timer per key and window. Its zero value
// is ready to declare.
type EventTimeTimer struct{ timerCell }

func (t *EventTimeTimer) declareTimer(id string) graph.TimerSpec { return t.declare(id, false) }

// Set sets the timer to fire once the input watermark passes fire.
func (t *EventTimeTimer) Set(ctx context.Context, fire time.Time, opts ...TimerOption) error {
	return t.set(ctx, "", window.FromTime(fire), opts)
}

// Clear deletes the pending timer, if any.
func (t *EventTimeTimer) Clear(ctx context.Context) error { return t.clear(ctx, "") }

// ProcessingTimeTimer is one processing-time timer per key and window. Its
// zero value is ready to declare.
type ProcessingTimeTimer struct{ timerCell }

func (t *ProcessingTimeTimer) declareTimer(id string) graph.TimerSpec { return t.declare(id, true) }

// SetAfter sets the timer to fire d after the current processing time.
func (t *ProcessingTimeTimer) SetAfter(ctx context.Context, d time.Duration, opts ...TimerOption) error {
	return t.set(ctx, "", processingFire(d), opts)
}

// Clear deletes the pending timer, if any.
func (t *ProcessingTimeTimer) Clear(ctx context.Context) error { return t.clear(ctx, "") }

// EventTimeTimerFamily is a family of event-time timers per key and window,
// one per tag. Its zero value is ready to declare.
type EventTimeTimerFamily struct{ timerCell }

func (t *EventTimeTimerFamily) declareTimer(id string) graph.TimerSpec { return t.declare(id, false) }

// Set sets the timer tag to fire once the input watermark passes fire.
func (t *EventTimeTimerFamily) Set(ctx context.Context, tag string, fire time.Time, opts ...TimerOption) error {
	return t.set(ctx, tag, window.FromTime(fire), opts)
}

// Clear deletes the pending timer tag, if any.
func (t *EventTimeTimerFamily) Clear(ctx context.Context, tag string) error { return t.clear(ctx, tag) }

// ProcessingTimeTimerFamily is a family of processing-time timers per key
// and window, one per tag. Its zero value is ready to declare.
type ProcessingTimeTimerFamily struct{ timerCell }

func (t *ProcessingTimeTimerFamily) declareTimer(id string) graph.TimerSpec {
	return t.declare(id, true)
}

// SetAfter sets the timer tag to fire d after the current processing time.
func (t *ProcessingTimeTimerFamily) SetAfter(ctx context.Context, tag string, d time.Duration, opts ...TimerOption) error {
	return t.set(ctx, tag, processingFire(d), opts)
}

// Clear deletes the pending timer tag, if any.
func (t *ProcessingTimeTimerFamily) Clear(ctx context.Context, tag string) error {
	return t.clear(ctx, tag)
}

// TimerHandler is a stateful DoFn with timers: OnTimer runs when one of
// them fires.
type TimerHandler[Out any] interface {
	OnTimer(ctx context.Context, t FiredTimer, emit func(Out)) error
}

// WindowExpirer is a stateful DoFn that sees each key and window's state
// once more when the window expires.
type WindowExpirer[Out any] interface {
	OnWindowExpiration(ctx context.Context, emit func(Out)) error
}

// ExpiryTimerFamily is the id of the timer family through which runners
// call OnWindowExpiration (ParDoPayload's
// on_window_expiration_timer_family_spec).
const ExpiryTimerFamily = "beamgo-on-window-expiration"

func firedTimer(t operator.FiredTimer) FiredTimer {
	return FiredTimer{Family: t.Family, Tag: t.Tag, ProcessingTime: t.Domain == operator.ProcessingTimeDomain,
		FireTime: t.Fire.ToTime(), OutputTime: t.Hold.ToTime()}
}
