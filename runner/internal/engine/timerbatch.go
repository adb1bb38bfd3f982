package engine

import (
	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// An executor that runs bundles on an SDK harness over the Fn API cannot
// fire timers one at a time as keyed.fire does: it sends a bundle's timers
// on the data plane with its elements, and the runner cannot tell when a
// callback ran, so it cannot pick the next timer after seeing what the
// callback set. A batch therefore fires at most one timer per key, the
// key's earliest eligible one, and leaves the rest to later bundles, which
// see what the callback set, reset or cleared once the bundle commits; so
// the ordering rules of the reference (§3.4) hold across bundles. Keys
// that have input elements in the bundle fire nothing in it: the SDK may
// process the elements first, and a timer they reset must not fire with
// its old time. A key's expired windows get their OnWindowExpiration
// timers only once the key has no eligible timer left (user timers at the
// window's end fire first and see the state), and their state is dropped
// after the SDK processed the bundle.

// TimerBatch is the part of a keyed bundle's timer work that an executor
// hands to an SDK all at once (see Bundle.TimerBatch).
type TimerBatch struct {
	// Timers are the timers to fire, in firing order per key.
	Timers []TimerInput
	// Done drops the state of the windows whose expiry timers are in
	// Timers; call it once the SDK processed the bundle and the timers it
	// set were applied, before the bundle returns.
	Done func() error
}

// batch pops the timers of an attempt of kw that an SDK fires in one
// bundle; the popped timers are deleted, as PopTimer does, only if the
// attempt commits.
func (k *keyed) batch(kw *keyedWork) (TimerBatch, error) {
	kw.mu.Lock()
	defer kw.mu.Unlock()
	var out TimerBatch
	var buf []byte
	add := func(transform, family string, t coder.Timer[[]byte]) {
		start := len(buf)
		buf = k.timers.Encode(buf, t)
		out.Timers = append(out.Timers, TimerInput{TransformID: transform, Family: family, Encoded: buf[start:len(buf):len(buf)]})
	}
	fired := map[string]bool{}
	for _, key := range kw.keys {
		if kw.elemKeys[key] {
			continue
		}
		t, ok, err := kw.sb.PopTimer([]byte(key), kw.now)
		if err != nil {
			return TimerBatch{}, err
		}
		if !ok {
			continue
		}
		fired[key] = true
		add(string(t.Transform), string(t.Family), coder.Timer[[]byte]{UserKey: t.Key, DynamicTimerTag: t.Tag, Windows: []window.Window{t.Window},
			FireTimestamp: t.Fire, HoldTimestamp: t.Hold, Pane: window.NoFiringPane()})
	}
	var expire []state.Scope
	for _, sc := range kw.expired {
		if fired[string(sc.Key)] || kw.elemKeys[string(sc.Key)] {
			continue
		}
		expire = append(expire, sc)
		if k.spec.ExpiryFamily != "" {
			add(k.spec.Transform, k.spec.ExpiryFamily, coder.Timer[[]byte]{UserKey: sc.Key, Windows: []window.Window{sc.Window},
				FireTimestamp: k.store.GCTime(sc.Window), HoldTimestamp: sc.Window.MaxTimestamp(), Pane: window.NoFiringPane()})
		}
	}
	// A timer Encode appended after another may have moved buf: the
	// earlier slices still point at the old array, which holds their bytes.
	out.Done = func() error {
		kw.mu.Lock()
		defer kw.mu.Unlock()
		for _, sc := range expire {
			if err := kw.sb.Drop(sc.Key, sc.Window); err != nil {
				return err
			}
		}
		return nil
	}
	return out, nil
}
