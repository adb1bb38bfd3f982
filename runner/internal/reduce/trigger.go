package reduce

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Trigger is a trigger tree: one struct type per Beam trigger. The set is
// sealed: only the types of this package satisfy it. Triggers are values
// (Default{}, not &Default{}); a nil Trigger means Default.
type Trigger interface{ isTrigger() }

// Default is Beam's default trigger: an ON_TIME pane when the input watermark
// passes the end of the window, then one pane per late batch. It never
// finishes (it behaves as Repeat{AfterWatermark{}}).
type Default struct{}

// AfterWatermark fires when the input watermark passes the end of the window.
// Without Early and Late it finishes there. Early fires (and repeats) before
// the end of the window, Late (and repeats) after it; with Late set the
// trigger never finishes.
type AfterWatermark struct{ Early, Late Trigger }

// AfterCount fires once N elements have arrived in the pane, then finishes.
type AfterCount struct{ N int64 }

// AfterProcessingTime fires once the processing-time clock reaches the target
// computed from the arrival of the pane's first element by Transforms (in
// order), then finishes.
type AfterProcessingTime struct{ Transforms []TimeTransform }

// AfterSynchronizedProcessingTime fires once processing time has passed the
// arrival of the pane's first element, then finishes. It is the continuation
// of AfterProcessingTime; this runner has one processing-time clock, so it is
// AfterProcessingTime with a delay of 1 ms: "passed" is strict, as in Java
// (processing-time targets otherwise fire at now >= target), or it would
// fire at once on every element, and on a TestStream's clock, which moves
// only when the script moves it, never wait for the clock at all.
type AfterSynchronizedProcessingTime struct{}

// Always fires after every batch and never finishes.
type Always struct{}

// Never never fires; the window emits only its final pane at garbage
// collection.
type Never struct{}

// Repeat fires whenever T fires and restarts T when it finishes; it never
// finishes.
type Repeat struct{ T Trigger }

// AfterAny (Beam's AfterFirst) fires when any of Ts fires, then finishes.
type AfterAny struct{ Ts []Trigger }

// AfterAll fires when every one of Ts has fired, then finishes.
type AfterAll struct{ Ts []Trigger }

// AfterEach runs Ts one after the other: it fires when the current one fires
// and moves to the next when the current one finishes; it finishes after the
// last.
type AfterEach struct{ Ts []Trigger }

// OrFinally fires when Main fires, and finishes when Main finishes or Until
// fires (a firing of Until is a pane of its own, Main's state is dropped).
type OrFinally struct{ Main, Until Trigger }

func (Default) isTrigger()                         {}
func (AfterWatermark) isTrigger()                  {}
func (AfterCount) isTrigger()                      {}
func (AfterProcessingTime) isTrigger()             {}
func (AfterSynchronizedProcessingTime) isTrigger() {}
func (Always) isTrigger()                          {}
func (Never) isTrigger()                           {}
func (Repeat) isTrigger()                          {}
func (AfterAny) isTrigger()                        {}
func (AfterAll) isTrigger()                        {}
func (AfterEach) isTrigger()                       {}
func (OrFinally) isTrigger()                       {}

// TimeTransform maps the arrival time of a pane's first element to the
// processing time at which AfterProcessingTime fires. The set is sealed:
// Delay and AlignTo.
type TimeTransform interface {
	apply(t window.Time) window.Time
}

// Delay adds D milliseconds.
type Delay struct{ D window.Time }

// AlignTo rounds up to the next Offset + k*Period (milliseconds); a time that
// is already aligned stays (Java's semantics, not Prism's).
type AlignTo struct{ Period, Offset window.Time }

func (d Delay) apply(t window.Time) window.Time { return satAdd(t, d.D) }

func (a AlignTo) apply(t window.Time) window.Time {
	r := (t - a.Offset) % a.Period
	if r < 0 {
		r += a.Period
	}
	if r == 0 {
		return t
	}
	return satAdd(t, a.Period-r)
}

// satAdd adds d to t, saturating at MaxTime, so that lateness and delays near
// the end of time cannot wrap around.
func satAdd(t, d window.Time) window.Time {
	if d > 0 && t > window.MaxTime-d {
		return window.MaxTime
	}
	return t + d
}

// kind is the compiled form of a trigger type.
type kind uint8

const (
	kDefault kind = iota
	kEndOfWindow
	kWatermarkEarlyLate // subs: early (Never if absent), late (-1 if absent)
	kCount
	kProcessingTime
	kAlways
	kNever
	kRepeat
	kAny
	kAll
	kEach
	kOrFinally // subs: main, until
)

// node is one trigger of a compiled tree; node 0 is the root.
type node struct {
	kind       kind
	n          int64
	transforms []TimeTransform
	subs       []int32
}

// compile flattens t into nodes (pre-order, root at 0) and validates it.
func compile(t Trigger) ([]node, error) {
	var nodes []node
	var add func(t Trigger, path string) (int32, error)
	add = func(t Trigger, path string) (int32, error) {
		i := int32(len(nodes))
		nodes = append(nodes, node{})
		nd, subs, err := shape(t, path)
		if err != nil {
			return 0, err
		}
		for j, s := range subs {
			if s == nil && nd.kind == kWatermarkEarlyLate {
				nd.subs = append(nd.subs, -1)
				continue
			}
			k, err := add(s, fmt.Sprintf("%s/%d", path, j))
			if err != nil {
				return 0, err
			}
			nd.subs = append(nd.subs, k)
		}
		nodes[i] = nd
		return i, nil
	}
	if t == nil {
		t = Default{}
	}
	if _, err := add(t, "trigger"); err != nil {
		return nil, err
	}
	return nodes, nil
}

// shape returns the node for t without its subs, and the sub-triggers to
// compile (nil late trigger of AfterWatermark stays nil).
func shape(t Trigger, path string) (node, []Trigger, error) {
	bad := func(format string, args ...any) (node, []Trigger, error) {
		return node{}, nil, &StrategyError{Msg: path + ": " + fmt.Sprintf(format, args...)}
	}
	switch t := t.(type) {
	case Default:
		return node{kind: kDefault}, nil, nil
	case AfterWatermark:
		if t.Early == nil && t.Late == nil {
			return node{kind: kEndOfWindow}, nil, nil
		}
		early := t.Early
		if early == nil {
			early = Never{}
		}
		return node{kind: kWatermarkEarlyLate}, []Trigger{early, t.Late}, nil
	case AfterCount:
		if t.N < 1 {
			return bad("AfterCount needs N >= 1, got %d", t.N)
		}
		return node{kind: kCount, n: t.N}, nil, nil
	case AfterProcessingTime:
		for _, tr := range t.Transforms {
			switch tr := tr.(type) {
			case Delay:
				if tr.D < 0 {
					return bad("negative processing-time delay %d", tr.D)
				}
			case AlignTo:
				if tr.Period <= 0 {
					return bad("AlignTo needs a period >= 1ms, got %d", tr.Period)
				}
			default:
				return bad("unknown time transform %T", tr)
			}
		}
		return node{kind: kProcessingTime, transforms: t.Transforms}, nil, nil
	case AfterSynchronizedProcessingTime:
		return node{kind: kProcessingTime, transforms: []TimeTransform{Delay{D: 1}}}, nil, nil
	case Always:
		return node{kind: kAlways}, nil, nil
	case Never:
		return node{kind: kNever}, nil, nil
	case Repeat:
		if t.T == nil {
			return bad("Repeat of nothing")
		}
		return node{kind: kRepeat}, []Trigger{t.T}, nil
	case AfterAny, AfterAll, AfterEach:
		k, ts := composite(t)
		if len(ts) == 0 {
			return bad("%T of no triggers", t)
		}
		for j, s := range ts {
			if s == nil {
				return bad("%T sub-trigger %d is nil", t, j)
			}
		}
		return node{kind: k}, ts, nil
	case OrFinally:
		if t.Main == nil || t.Until == nil {
			return bad("OrFinally needs Main and Until")
		}
		return node{kind: kOrFinally}, []Trigger{t.Main, t.Until}, nil
	}
	return bad("unknown trigger %T (triggers are values of this package's types)", t)
}

func composite(t Trigger) (kind, []Trigger) {
	switch t := t.(type) {
	case AfterAny:
		return kAny, t.Ts
	case AfterAll:
		return kAll, t.Ts
	}
	return kEach, t.(AfterEach).Ts
}

// mayFinish reports whether the trigger can finish before garbage
// collection, closing the window (Java Trigger.mayFinish).
func mayFinish(t Trigger) bool {
	switch t := t.(type) {
	case nil, Default, Always, Repeat:
		return false
	case AfterWatermark:
		return t.Late == nil
	case AfterEach:
		for _, s := range t.Ts {
			if !mayFinish(s) {
				return false
			}
		}
		return true
	case OrFinally:
		return true
	}
	return true
}
