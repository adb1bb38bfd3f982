package sdk

import (
	"context"
	"fmt"

	icoder "github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// stateful declares the user state and timers of fn on t, a ParDo reading
// in, and returns what its operators need, or nil for a DoFn without
// state, timers or OnWindowExpiration. It records a construction error and
// returns ok false when fn cannot be stateful.
func stateful[In, Out any](s Scope, t *graph.Transform, fn any, in *graph.Collection) (spec *operator.StatefulSpec[In], ok bool) {
	user := statefulOf(fn)
	states, timers, err := declareStateful(user)
	_, expires := user.(WindowExpirer[Out])
	_, handles := user.(TimerHandler[Out])
	if err != nil {
		s.fail(t.Name, "%v", err)
		return nil, false
	}
	if len(states) == 0 && len(timers) == 0 && !expires {
		return nil, true
	}
	if len(timers) > 0 && !handles {
		s.fail(t.Name, "DoFn %T declares timers but has no method OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(%T)) error", user, *new(Out))
		return nil, false
	}
	c, _ := coder.As[In](in.Coder)
	keyOf, kc, isKV := icoder.KeyPartOf(c)
	if !isKV {
		s.fail(t.Name, "a DoFn with state or timers needs KV input, not %s", in.Coder)
		return nil, false
	}
	if !kc.Deterministic() {
		s.fail(t.Name, "a DoFn with state or timers needs a deterministic key coder, not %s", kc.Spec())
		return nil, false
	}
	w := in.Windowing
	if w.Fn.IsMerging() {
		s.fail(t.Name, "user state and timers over merging windows (%v) are not supported", w.Fn.Kind)
		return nil, false
	}
	wc := coder.IntervalWindow()
	if w.Fn.Kind == window.KindGlobal {
		wc = coder.GlobalWindow()
	}
	t.Stateful = &graph.Stateful{KeyCoder: kc, WindowCoder: coder.Erase(wc), State: states, Timers: timers, OnWindowExpiration: expires}
	spec = &operator.StatefulSpec[In]{KeyOf: keyOf, KeyCoder: kc, WindowCoder: wc, GCTime: gcTime(w.AllowedLateness.Milliseconds()),
		Families: map[string]operator.TimerDomain{}}
	for _, tm := range timers {
		d := operator.EventTimeDomain
		if tm.Domain == graph.ProcessingTime {
			d = operator.ProcessingTimeDomain
		}
		spec.Families[tm.ID] = d
	}
	if expires {
		spec.ExpiryFamily = ExpiryTimerFamily
	}
	return spec, true
}

// gcTime returns the garbage-collection time of windows with the given
// allowed lateness: the window's maximum timestamp plus the lateness,
// capped at the end of the global window.
func gcTime(lateness int64) func(w window.Window) window.Time {
	return func(w window.Window) window.Time {
		if w.IsGlobal() || w.MaxTimestamp() >= window.EndOfGlobalWindow-window.Time(lateness) {
			return window.EndOfGlobalWindow
		}
		return w.MaxTimestamp() + window.Time(lateness)
	}
}

// wireTimers sets the timer and expiry callbacks of a stateful DoFn
// instance with a single output.
func wireTimers[In, Out any](c *operator.ParDoCore[In], inst any, emit func(Out)) {
	inst = statefulOf(inst)
	if h, ok := inst.(TimerHandler[Out]); ok {
		c.OnTimer = func(ctx context.Context, t operator.FiredTimer) error { return h.OnTimer(ctx, firedTimer(t), emit) }
	}
	if x, ok := inst.(WindowExpirer[Out]); ok {
		c.OnExpire = func(ctx context.Context) error { return x.OnWindowExpiration(ctx, emit) }
	}
}

// errTimersArity is why ParDo2 and ParDo3 refuse timers for now.
var errTimersArity = fmt.Errorf("timers and OnWindowExpiration need a single-output ParDo")

// statefulNoTimers is stateful for ParDos with several outputs, which may
// have user state but no timers yet.
func statefulNoTimers[In any](s Scope, t *graph.Transform, fn any, in *graph.Collection) (*operator.StatefulSpec[In], bool) {
	spec, ok := stateful[In, struct{}](s, t, fn, in)
	if ok && spec != nil && (len(t.Stateful.Timers) > 0 || t.Stateful.OnWindowExpiration) {
		s.fail(t.Name, "%v", errTimersArity)
		return nil, false
	}
	return spec, ok
}
