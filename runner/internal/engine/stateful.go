package engine

import (
	"fmt"
	"iter"
	"sync"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// A keyed stage runs a ParDo with user state or timers (plan.InputKeyed).
// Its input arrives as pending elements, as a data stage's does, but a
// bundle owns the keys of its elements: a key is in at most one running
// bundle, and elements of a key that is running wait (blocked) until its
// bundle commits. The stage's state and timers live in a state.Store
// across bundles; each attempt of a bundle works on an overlay of it
// (state.Bundle) that commits together with the bundle's outputs, or is
// discarded with a failed attempt, so a retried bundle sees the state as
// it was before.
//
// A bundle first processes its elements, then fires, per owned key, the
// key's eligible timers one at a time (state.Bundle.PopTimer, so timers
// that callbacks set, reset or clear are honoured in order), then calls
// the ParDo's OnWindowExpiration timer family once per expired (key,
// window) holding state and drops that state. Keys whose timers are due
// or whose windows expired get bundles of their own, without elements.
// Event-time timers are eligible once the input watermark passes them,
// processing-time timers once the job's clock reaches them, unless their
// window expired; the timers' output timestamps hold the output
// watermark, and so does the state of windows that still await
// OnWindowExpiration.

// maxTimerKeys bounds the keys of one timer or expiry bundle.
const maxTimerKeys = 1024

// maxKeyedElems and maxKeyedBytes bound the input of one keyed bundle. A
// bundle's state writes wait in its overlay (in memory, ordered) until it
// commits, so a bundle of a million elements would hold millions of
// entries: every lookup in it slower, and state on disk not bounded by the
// store's budget while it runs. A few thousand elements keep the overlay
// small and still amortise a bundle's fixed costs.
const (
	maxKeyedElems = 2048
	maxKeyedBytes = 4 << 20
)

// keyed is the state of a keyed stage. The fields after store are guarded
// by j.mu.
type keyed struct {
	s     *stage
	spec  *plan.Stateful
	store *state.Store
	// timers codes the ParDo's timers (all its families share one coder:
	// the key's and the window's).
	timers coder.Coder[coder.Timer[[]byte]]

	running map[string]bool
	blocked []blockedElem
	// owned is take's set of the keys a bundle takes, kept for the next
	// take (take runs under the job's lock): a map sized for a bundle's
	// elements, made anew for every bundle, was a tenth of the stateful
	// benchmark's allocations.
	owned map[string]bool
	// dropped counts elements dropped for arriving after their windows
	// expired.
	dropped int64
	// wake is armed for the next wall-clock processing-time timer.
	wake   *time.Timer
	wakeAt window.Time
}

// blockedElem is an element whose key was running when it was taken.
type blockedElem struct {
	key  string
	elem []byte
}

// keyedWork is the part of a keyed stage's bundle that owns keys.
type keyedWork struct {
	keys []string
	// elemKeys are the keys of the bundle's input elements.
	elemKeys map[string]bool
	expired  []state.Scope
	now      state.Times
	// wallStart is the wall clock when the bundle was taken: processing-
	// time timers that SDKs set on the wall clock are moved onto a
	// synthetic job clock relative to it.
	wallStart window.Time
	// mu guards sb, the running attempt's state overlay.
	mu sync.Mutex
	sb *state.Bundle
}

// newKeyed sets up keyed stage s.
func newKeyed(s *stage) (*keyed, error) {
	spec := s.st.Input.Stateful
	if spec == nil {
		return nil, fmt.Errorf("keyed input %s has no stateful ParDo", s.st.Input.Target)
	}
	if s.src.keySkip == nil {
		return nil, fmt.Errorf("keyed input %s: elements are not KVs", s.st.Input.Target)
	}
	var lateness time.Duration
	if w := s.st.Input.Windowing; w != nil {
		lateness = w.AllowedLateness
	}
	store, err := state.Open(storeOptions(s.j, lateness))
	if err != nil {
		return nil, err
	}
	k := &keyed{s: s, spec: spec, store: store, running: map[string]bool{}}
	if k.timers, err = timerCoder(s, spec); err != nil {
		store.Close()
		return nil, err
	}
	return k, nil
}

// storeOptions returns the state store options of one of j's keyed
// stages: in memory, or with Options.StateDir on pebble, whose memory
// (Options.StateMemory, default a quarter of the budget) the job's keyed
// stages share equally, so that the job's total stays what was asked.
func storeOptions(j *job, lateness time.Duration) *state.Options {
	o := &state.Options{AllowedLateness: lateness}
	if j.opts.StateDir == "" {
		return o
	}
	memory := j.opts.StateMemory
	if memory <= 0 {
		memory = j.opts.MemoryBudget / 4
	}
	keyed := 0
	for _, st := range j.pl.Stages {
		if st.Input.Kind == plan.InputKeyed {
			keyed++
		}
	}
	o.Backend, o.Dir, o.MemoryBudget = state.Pebble, j.opts.StateDir, memory/int64(max(keyed, 1))
	return o
}

// closeKeyed releases the state stores of stages, for a job that ends or
// could not be set up.
func closeKeyed(stages []*stage) error {
	var first error
	for _, s := range stages {
		if s.ks == nil {
			continue
		}
		if err := s.ks.close(); err != nil && first == nil {
			first = fmt.Errorf("engine: %s: %w", s.label(), err)
		}
	}
	return first
}

// timerCoder returns the coder of the ParDo's timers, from the descriptor
// (which the SDK encodes them with), or one over the input's key and
// window coders if the ParDo has no timers.
func timerCoder(s *stage, spec *plan.Stateful) (coder.Coder[coder.Timer[[]byte]], error) {
	pt := s.desc.GetTransforms()[spec.Transform]
	var pd pipepb.ParDoPayload
	if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
		return nil, fmt.Errorf("stateful ParDo %s: payload: %w", spec.Transform, err)
	}
	keySpec := s.src.elem.Components[0]
	winCoder := coder.GlobalWindow()
	if s.src.interval {
		winCoder = coder.IntervalWindow()
	}
	for _, fam := range pd.GetTimerFamilySpecs() {
		ts, err := decode.CoderSpec(s.desc.GetCoders(), fam.GetTimerFamilyCoderId())
		if err != nil {
			return nil, err
		}
		if len(ts.Components) != 2 {
			return nil, fmt.Errorf("stateful ParDo %s: timer coder %s has %d components, want 2", spec.Transform, ts.URN, len(ts.Components))
		}
		keySpec = ts.Components[0]
		switch ts.Components[1].URN {
		case urns.CoderGlobalWindow:
			winCoder = coder.GlobalWindow()
		case urns.CoderIntervalWindow:
			winCoder = coder.IntervalWindow()
		default:
			return nil, fmt.Errorf("stateful ParDo %s: timer window coder %s is not supported", spec.Transform, ts.Components[1].URN)
		}
		break
	}
	raw, err := newRawCoder(keySpec)
	if err != nil {
		return nil, err
	}
	return coder.NewTimer[[]byte](raw, winCoder), nil
}

// close releases the store and removes its files.
func (k *keyed) close() error {
	if k.wake != nil {
		k.wake.Stop()
	}
	return k.store.Close()
}

// keyOf returns the key of an encoded windowed value of the stage's input,
// the value decoded, and whether all its windows expired under iw.
func (k *keyed) keyOf(elem []byte, iw window.Time) (string, window.Value[[]byte], bool, error) {
	v, _, err := k.s.src.wv.Decode(elem)
	if err != nil {
		return "", v, false, fmt.Errorf("engine: keyed input %s: %w", k.s.st.Input.Target, err)
	}
	n, err := k.s.src.keySkip(v.Elem)
	if err != nil {
		return "", v, false, fmt.Errorf("engine: keyed input %s key: %w", k.s.st.Input.Target, err)
	}
	expired := true
	for _, w := range v.Windows {
		if k.store.GCTime(w) >= iw {
			expired = false
		}
	}
	return string(v.Elem[:n]), v, expired, nil
}

// runnable reports whether take may return a bundle; j.mu is held.
func (k *keyed) runnable() bool {
	s := k.s
	if !s.sidesReady() && !s.gate.perElement() {
		return false
	}
	if len(s.pending) > 0 {
		return true
	}
	for _, b := range k.blocked {
		if !k.running[b.key] {
			return true
		}
	}
	return k.timersDue(k.times())
}

// times returns the stage's clocks for timers; j.mu is held.
func (k *keyed) times() state.Times {
	return state.Times{Input: k.s.iw, Clock: k.clockNow()}
}

// clockNow returns the stage's processing time; j.mu is held. It is the
// job's clock, except once a bounded input has ended on the wall clock:
// then processing time jumps to the end of time, as in Beam's batch
// model ("processing time jumps from the beginning of time to the end of
// time once the input has been fully consumed") and Flink's BATCH mode,
// so the processing-time timers still pending fire at once, in time
// order and with their state, instead of the job waiting for them on the
// wall clock. A TestStream's clock moves only by its script, and an
// unbounded input keeps the wall clock to its end (a drained stream's
// pending timers wait as before).
func (k *keyed) clockNow() window.Time {
	s := k.s
	if !s.j.clock.synthetic && !s.st.Input.Unbounded && s.iw >= window.MaxTime {
		return window.MaxTime
	}
	return s.j.clock.now()
}

// timersDue reports whether a timer may fire or a window expire; j.mu is
// held.
func (k *keyed) timersDue(now state.Times) bool {
	if t, ok, err := k.store.NextTime(state.EventTime); err == nil && ok && t < now.Input {
		return true
	}
	if t, ok, err := k.store.NextTime(state.ProcessingTime); err == nil && ok && t <= now.Clock {
		return true
	}
	due := false
	pt := k.ptPending()
	k.store.Expired(now.Input, func(sc state.Scope) bool {
		due = !expiryWaits(sc, pt)
		return false
	})
	return due
}

// ptPending reports whether a processing-time timer is pending that may
// still fire: on the wall clock any; on a TestStream's synthetic clock one
// the clock has reached, or any while an event of the script may still
// advance the clock. Once the script has no advance left, the clock
// stands still for good, and a timer beyond it would hold the global
// window's expiry forever; j.mu is held.
func (k *keyed) ptPending() bool {
	t, ok, err := k.store.NextTime(state.ProcessingTime)
	if !ok || err != nil {
		return false
	}
	j := k.s.j
	if !j.clock.synthetic || t <= k.clockNow() {
		return true
	}
	return j.stream != nil && j.stream.advancesLeft()
}

// expiryWaits reports whether the expiry of sc waits for pending
// processing-time timers (pt). The global window expires only when the
// input ends, and the processing-time timers pending then still fire
// first, with the state (Beam Go's processing-time timer tests count on
// it); so it waits until none is pending that may still fire (ptPending:
// on a TestStream's clock that no event advances any more, none may;
// over a bounded input on the wall clock all are due at once, clockNow).
// Other windows expire at once, and their processing-time timers never
// fire (reference §3.5). Expired reports scopes in GC-time order, global
// windows last, so a scan may stop at the first that waits.
func expiryWaits(sc state.Scope, pt bool) bool {
	return pt && sc.Window.MaxTimestamp() >= window.Global().MaxTimestamp()
}

// take returns the stage's next bundle, owning its keys, or nil; j.mu is
// held.
//
// While a windowed side input is not complete, the pending elements are
// screened (sideGate.screen): those whose side windows are not ready wait
// in the gate, holding the stage's input watermark, so that their windows
// neither expire nor see event-time timers pass them; timers and expiries
// fire as they fall due.
func (k *keyed) take() (*bundleWork, error) {
	s := k.s
	screen := false
	if !s.sidesReady() {
		if !s.gate.perElement() {
			return nil, nil
		}
		screen = true
	}
	now := k.times()
	// The maps of the bundle's keys are sized for the elements it is
	// likely to take, so that they do not grow (and copy) a few times
	// in every bundle.
	hint := len(k.blocked)
	if len(s.pending) > 0 {
		hint += min(k.chunk(), len(s.pending[0].elems))
	}
	b := &bundleWork{minTs: window.MaxTime, keyed: &keyedWork{now: now, wallStart: window.FromTime(time.Now()), elemKeys: make(map[string]bool, hint)}}
	owned := k.owned
	if owned == nil {
		owned = make(map[string]bool, hint)
		k.owned = owned
	}
	clear(owned)
	add := func(key string, elem []byte) {
		b.elems = append(b.elems, elem)
		b.bytes += int64(len(elem))
		b.minTs = min(b.minTs, timestampOf(elem))
		owned[key] = true
		b.keyed.elemKeys[key] = true
	}
	// Blocked elements whose key is free again go first, in order.
	kept := k.blocked[:0]
	for _, e := range k.blocked {
		if k.running[e.key] {
			kept = append(kept, e)
			continue
		}
		add(e.key, e.elem)
	}
	clear(k.blocked[len(kept):])
	k.blocked = kept
	// A chunk whose elements all wait for side inputs or are dropped
	// leaves nothing to run: the next is taken, so that take returns nil
	// only once no pending element can run (the job may quiesce then).
	for passed := false; !passed; {
		if err := k.loadSegments(); err != nil {
			return nil, err
		}
		if len(s.pending) == 0 {
			break
		}
		p := s.takePending(k.chunk())
		for _, e := range p.elems {
			key, v, expired, err := k.keyOf(e, now.Input)
			switch {
			case err != nil:
				return nil, err
			case screen && s.gate.pushBack(e, v.Windows, v.Timestamp):
				// Waits for its side inputs.
			case expired:
				// Droppable: its windows' state is gone (reference §3.5).
				k.dropped++
				s.j.buffered -= int64(len(e))
			case k.running[key]:
				k.blocked = append(k.blocked, blockedElem{key: key, elem: e})
				passed = true
			default:
				add(key, e)
				passed = true
			}
		}
	}
	if err := k.dueKeys(now, owned); err != nil {
		return nil, err
	}
	if err := k.expiredScopes(now, owned, b.keyed); err != nil {
		return nil, err
	}
	if len(owned) == 0 {
		return nil, nil
	}
	b.keyed.keys = make([]string, 0, len(owned))
	for key := range owned {
		b.keyed.keys = append(b.keyed.keys, key)
		k.running[key] = true
	}
	return b, nil
}

// loadSegments reads the spilled segments at the head of the pending
// input into memory, so that take can key their elements; j.mu is held.
// A data stage reads a segment when its bundle starts, outside the lock,
// but a keyed bundle must know its keys when it is taken. Only the head
// is loaded (a segment is at most spillShare, a few MiB), so the keyed
// stage's input in memory stays within a segment plus the blocked
// elements however much of it waits on disk: what lets state several
// times the memory budget through a pipeline whose data stages generate
// it faster than the keyed stage consumes it.
func (k *keyed) loadSegments() error {
	s := k.s
	for len(s.pending) > 0 && s.pending[0].seg != nil {
		p := s.pending[0]
		elems, err := p.seg.load()
		if err != nil {
			return fmt.Errorf("engine: %s: %w", s.label(), err)
		}
		p.seg.release()
		p.elems, p.bytes, p.seg = elems, p.seg.bytes, nil
		// In memory now: counted in buffered like a delivered batch, and
		// uncounted by the bundles that take its elements.
		s.j.buffered += p.bytes
		if len(elems) == 0 {
			s.pending[0] = nil
			s.pending = s.pending[1:]
		}
	}
	return nil
}

// chunk returns how many pending elements the next bundle takes: the
// stage's share, at most maxKeyedElems and about maxKeyedBytes (by the
// first pending batch's average element); j.mu is held.
func (k *keyed) chunk() int {
	s := k.s
	n := min(max(s.chunk, 1), maxKeyedElems)
	if p := s.pending[0]; len(p.elems) > 0 && p.bytes > 0 {
		n = min(n, max(int(maxKeyedBytes/(p.bytes/int64(len(p.elems))+1)), 1))
	}
	return n
}

// dueKeys adds the free keys with eligible timers to owned.
func (k *keyed) dueKeys(now state.Times, owned map[string]bool) error {
	keys, err := k.store.DueKeys(now, maxTimerKeys+len(k.running))
	if err != nil {
		return fmt.Errorf("engine: %s: due timers: %w", k.s.label(), err)
	}
	for _, key := range keys {
		if !k.running[string(key)] {
			owned[string(key)] = true
		}
	}
	return nil
}

// expiredScopes adds the free keys with expired windows to owned, and the
// scopes to expire to w.
func (k *keyed) expiredScopes(now state.Times, owned map[string]bool, w *keyedWork) error {
	n := 0
	pt := k.ptPending()
	err := k.store.Expired(now.Input, func(sc state.Scope) bool {
		if expiryWaits(sc, pt) {
			return false
		}
		key := string(sc.Key)
		if !k.running[key] {
			owned[key] = true
			w.expired = append(w.expired, state.Scope{Key: []byte(key), Window: sc.Window})
			n++
		}
		return n < maxTimerKeys
	})
	if err != nil {
		return fmt.Errorf("engine: %s: expired windows: %w", k.s.label(), err)
	}
	return nil
}

// inputMin returns the earliest timestamp of the blocked elements; j.mu
// is held.
func (k *keyed) inputMin() window.Time {
	m := window.MaxTime
	for _, e := range k.blocked {
		m = min(m, timestampOf(e.elem))
	}
	return m
}

// hold returns the output watermark hold of the stage's state: the
// earliest output timestamp of a pending timer, the earliest firing time
// of a pending event-time timer, and, if the ParDo has OnWindowExpiration,
// the maximum timestamp of the earliest window still holding state (its
// callback's outputs carry it); j.mu is held.
//
// The firing time matters only for a timer the input watermark has passed
// (below the input watermark, which bounds the output watermark anyway):
// such a timer is about to fire, and its firing is part of that watermark's
// advance, so the output watermark waits for it as it waits for elements in
// flight, even for a timer without output timestamp. Otherwise the output
// watermark ran ahead of the firing bundle, and the callback's outputs
// (Beam Go's timestamped at the end of time) could reach a consumer whose
// input watermark had passed their window: dropped as late, once in about
// fifteen runs of Beam Go's TestTimers_EventTime_WithNoOutputTimestamp.
func (k *keyed) hold() window.Time {
	h, err := k.store.Hold()
	if err != nil {
		h = window.MinTime
	}
	if t, ok, err := k.store.NextTime(state.EventTime); err != nil {
		h = window.MinTime
	} else if ok {
		h = min(h, t)
	}
	if k.spec.ExpiryFamily != "" {
		k.store.Expired(window.MaxTime, func(sc state.Scope) bool {
			h = min(h, sc.Window.MaxTimestamp())
			return false
		})
	}
	return h
}

// pendingPT reports whether a processing-time timer is pending on the
// wall clock, arming a wake-up for it; j.mu is held.
func (k *keyed) pendingPT() bool {
	j := k.s.j
	if j.clock.synthetic {
		return false
	}
	t, ok, err := k.store.NextTime(state.ProcessingTime)
	if err != nil || !ok {
		return false
	}
	if k.wake == nil || k.wakeAt != t {
		if k.wake != nil {
			k.wake.Stop()
		}
		k.wakeAt = t
		k.wake = time.AfterFunc(max(time.Until(t.ToTime()), 0), j.broadcast)
	}
	return true
}

// begin opens the state overlay of an attempt of b and returns what the
// attempt's Bundle serves user state and timers with.
func (k *keyed) begin(b *bundleWork, bundle *Bundle) {
	kw := b.keyed
	kw.sb = k.store.Begin()
	bundle.State = &stateAccess{mu: &kw.mu, sb: kw.sb}
	bundle.Timers = func(transformID, family string, encoded []byte) error {
		return k.setTimer(kw, transformID, family, encoded)
	}
	bundle.FireTimers = k.fire(kw)
	bundle.TimerBatch = func() (TimerBatch, error) { return k.batch(kw) }
}

// setTimer applies the timers the SDK set or cleared, one or more
// concatenated encodings, to the attempt's overlay.
func (k *keyed) setTimer(kw *keyedWork, transformID, family string, encoded []byte) error {
	kw.mu.Lock()
	defer kw.mu.Unlock()
	if transformID != k.spec.Transform {
		return fmt.Errorf("engine: timer of transform %s, want %s", transformID, k.spec.Transform)
	}
	domain, ok := k.spec.Families[family]
	if !ok {
		return fmt.Errorf("engine: transform %s has no timer family %q", transformID, family)
	}
	for len(encoded) > 0 {
		t, n, err := k.timers.Decode(encoded)
		if err != nil {
			return fmt.Errorf("engine: timer of family %q: %w", family, err)
		}
		encoded = encoded[n:]
		if err := k.setOne(kw, transformID, family, domain, t); err != nil {
			return err
		}
	}
	return nil
}

// setOne applies one decoded timer to the attempt's overlay; kw.mu is
// held.
func (k *keyed) setOne(kw *keyedWork, transformID, family string, domain plan.TimeDomain, t coder.Timer[[]byte]) error {
	for _, w := range t.Windows {
		id := state.TimerID{Transform: state.TransformID(transformID), Family: state.FamilyID(family), Tag: t.DynamicTimerTag, Key: t.UserKey, Window: w}
		if t.ClearBit {
			if _, err := kw.sb.ClearTimer(id); err != nil {
				return err
			}
			continue
		}
		st := state.Timer{TimerID: id, Domain: state.EventTime, Fire: t.FireTimestamp, Hold: t.HoldTimestamp}
		if gc := k.store.GCTime(w); domain == plan.EventTime && gc < window.MaxTime && st.Fire == gc+1 {
			// Beam Python's timer.set(window.end) lands one millisecond
			// past the window's expiry, which its runners accept: fire it
			// at the expiry instead, before the window's state goes.
			st.Fire, st.Hold = gc, min(st.Hold, gc)
		}
		if st.Hold == window.MaxTime {
			// Beam Go's WithNoOutputTimestamp: the timer holds nothing.
			st.NoHold = true
		}
		if domain == plan.ProcessingTime {
			st.Domain = state.ProcessingTime
			if k.s.j.clock.synthetic {
				// SDKs set processing-time timers on the wall clock:
				// move them onto the job's synthetic clock.
				st.Fire = rebase(st.Fire, kw.now.Clock, kw.wallStart)
			}
		}
		if err := kw.sb.SetTimer(st); err != nil {
			return err
		}
	}
	return nil
}

// rebase moves a processing-time timer that an SDK set for fire on the
// wall clock, in a bundle taken at wall-clock instant wall and job-clock
// instant now, onto the synthetic job clock: as far after now as it was
// after wall, but not past the end of time, so that once a TestStream
// moved the clock there, the timers set still fire.
func rebase(fire, now, wall window.Time) window.Time {
	return window.Time(min(int64(now)+int64(fire-wall), int64(window.MaxTime)))
}

// fire returns the timers an attempt fires after its elements: each owned
// key's eligible timers, earliest first, popped one at a time so that
// what the callbacks set is seen; then the expiry timer of each expired
// scope, whose state is dropped once its callback ran.
func (k *keyed) fire(kw *keyedWork) iter.Seq2[TimerInput, error] {
	return func(yield func(TimerInput, error) bool) {
		var buf []byte
		for _, key := range kw.keys {
			for {
				kw.mu.Lock()
				t, ok, err := kw.sb.PopTimer([]byte(key), kw.now)
				kw.mu.Unlock()
				if err != nil {
					yield(TimerInput{}, err)
					return
				}
				if !ok {
					break
				}
				buf = k.timers.Encode(buf[:0], coder.Timer[[]byte]{UserKey: t.Key, DynamicTimerTag: t.Tag, Windows: []window.Window{t.Window},
					FireTimestamp: t.Fire, HoldTimestamp: t.Hold, Pane: window.NoFiringPane()})
				if !yield(TimerInput{TransformID: string(t.Transform), Family: string(t.Family), Encoded: buf}, nil) {
					return
				}
			}
		}
		for _, sc := range kw.expired {
			if k.spec.ExpiryFamily != "" {
				buf = k.timers.Encode(buf[:0], coder.Timer[[]byte]{UserKey: sc.Key, Windows: []window.Window{sc.Window},
					FireTimestamp: k.store.GCTime(sc.Window), HoldTimestamp: sc.Window.MaxTimestamp(), Pane: window.NoFiringPane()})
				if !yield(TimerInput{TransformID: k.spec.Transform, Family: k.spec.ExpiryFamily, Encoded: buf}, nil) {
					return
				}
			}
			kw.mu.Lock()
			err := kw.sb.Drop(sc.Key, sc.Window)
			kw.mu.Unlock()
			if err != nil {
				yield(TimerInput{}, err)
				return
			}
		}
	}
}

// abort discards a failed attempt's state overlay. It takes kw.mu, since
// an aborted attempt's worker may still be sending state requests, which
// the overlay serves under it (they then fail with state.ErrDone).
func (k *keyed) abort(b *bundleWork) {
	kw := b.keyed
	if kw == nil {
		return
	}
	kw.mu.Lock()
	defer kw.mu.Unlock()
	if kw.sb != nil {
		kw.sb.Discard()
		kw.sb = nil
	}
}

// commit makes a successful attempt's state and timer changes durable;
// it runs under j.mu just before the attempt's outputs are delivered,
// while the bundle still owns its keys.
func (k *keyed) commit(b *bundleWork) error {
	kw := b.keyed
	if kw == nil || kw.sb == nil {
		return nil
	}
	err := kw.sb.Commit()
	kw.sb = nil
	if err != nil {
		return fmt.Errorf("engine: %s: commit state: %w", k.s.label(), err)
	}
	return nil
}

// release frees the keys of a committed bundle; j.mu is held.
func (k *keyed) release(b *bundleWork) {
	if b.keyed == nil {
		return
	}
	for _, key := range b.keyed.keys {
		delete(k.running, key)
	}
}

// takeKeyed takes a keyed stage's next bundle, failing the job if the
// input cannot be read; j.mu is held.
func (s *stage) takeKeyed() *bundleWork {
	b, err := s.ks.take()
	if err != nil {
		s.j.fail(err)
		s.j.cond.Broadcast()
		return nil
	}
	if b != nil {
		s.running[b] = struct{}{}
	}
	return b
}
