package window

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// TriggerKind names one of Beam's triggers.
type TriggerKind uint8

// The triggers of Beam's model. The zero TriggerKind is the default
// trigger.
const (
	// TriggerDefault fires once when the watermark passes the end of the
	// window, then once for every late batch of data; it never finishes.
	TriggerDefault TriggerKind = iota
	// TriggerAfterWatermark fires when the watermark passes the end of the
	// window, with optional early firings before it and late firings after.
	TriggerAfterWatermark
	// TriggerAfterCount fires once the pane holds Count elements.
	TriggerAfterCount
	// TriggerAfterProcessingTime fires once processing time passes the
	// arrival of the pane's first element, shifted by Transforms.
	TriggerAfterProcessingTime
	// TriggerAfterSynchronizedProcessingTime fires once synchronized
	// processing time passes the arrival of the pane's first element; it is
	// what AfterProcessingTime becomes after a GroupByKey.
	TriggerAfterSynchronizedProcessingTime
	// TriggerAfterAll fires once every subtrigger has fired.
	TriggerAfterAll
	// TriggerAfterAny fires once any subtrigger fires.
	TriggerAfterAny
	// TriggerAfterEach runs its subtriggers one after another.
	TriggerAfterEach
	// TriggerRepeatedly fires its one subtrigger forever, restarting it each
	// time it finishes.
	TriggerRepeatedly
	// TriggerOrFinally fires like its main trigger (Subs[0]) until its
	// until trigger (Subs[1]) fires, and then finishes.
	TriggerOrFinally
	// TriggerNever never fires: the window's only pane is the final one at
	// garbage collection.
	TriggerNever
	// TriggerAlways fires for every batch of elements and never finishes.
	TriggerAlways
)

var triggerNames = [...]string{
	TriggerDefault:                         "Default",
	TriggerAfterWatermark:                  "AfterWatermark",
	TriggerAfterCount:                      "AfterCount",
	TriggerAfterProcessingTime:             "AfterProcessingTime",
	TriggerAfterSynchronizedProcessingTime: "AfterSynchronizedProcessingTime",
	TriggerAfterAll:                        "AfterAll",
	TriggerAfterAny:                        "AfterAny",
	TriggerAfterEach:                       "AfterEach",
	TriggerRepeatedly:                      "Repeatedly",
	TriggerOrFinally:                       "OrFinally",
	TriggerNever:                           "Never",
	TriggerAlways:                          "Always",
}

// String returns the trigger's name, e.g. "AfterCount".
func (k TriggerKind) String() string {
	if int(k) < len(triggerNames) {
		return triggerNames[k]
	}
	return fmt.Sprintf("TriggerKind(%d)", k)
}

// TimeTransform shifts the processing time at which an AfterProcessingTime
// trigger fires: by Delay, or, when Period is positive, up to the next
// time that is Offset plus a multiple of Period (a time already aligned
// stays, as in Beam Java).
type TimeTransform struct {
	// Delay is added to the time; it is ignored when Period is set.
	Delay time.Duration
	// Period and Offset align the time to offset + k*period.
	Period, Offset time.Duration
}

// IsAlign reports whether tt aligns the time rather than delaying it.
func (tt TimeTransform) IsAlign() bool { return tt.Period != 0 }

// String renders tt as "+1s" or "align(1m0s+5s)".
func (tt TimeTransform) String() string {
	if tt.IsAlign() {
		return fmt.Sprintf("align(%v+%v)", tt.Period, tt.Offset)
	}
	return "+" + tt.Delay.String()
}

// Trigger says when the panes of a window are emitted. It is a tree of
// plain values: Kind names the trigger and the other fields are its
// parameters, set only for the kinds that take them. The zero Trigger is
// Beam's default trigger.
//
// Package sdk has constructors for every kind (sdk.AfterWatermark,
// sdk.AfterCount, ...); Validate reports a tree that is not well formed.
// A Trigger is a value: copying it shares its subtriggers, which its
// methods never modify, so it is safe for concurrent use.
type Trigger struct {
	Kind TriggerKind
	// Count is the element count of TriggerAfterCount.
	Count int64
	// Early and Late are the early and late firings of
	// TriggerAfterWatermark, or nil for none.
	Early, Late *Trigger
	// Transforms are the time transforms of TriggerAfterProcessingTime,
	// applied in order.
	Transforms []TimeTransform
	// Subs are the subtriggers: those of TriggerAfterAll, TriggerAfterAny
	// and TriggerAfterEach; the one of TriggerRepeatedly; the main trigger
	// and the until trigger of TriggerOrFinally.
	Subs []Trigger
}

// WithEarlyFirings returns AfterWatermark trigger t that also fires before
// the end of the window whenever early fires (early is restarted after each
// firing). Validate reports it on other kinds of trigger.
func (t Trigger) WithEarlyFirings(early Trigger) Trigger {
	t.Early = &early
	return t
}

// WithLateFirings returns AfterWatermark trigger t that also fires after
// the end of the window whenever late fires (late is restarted after each
// firing), until the allowed lateness has passed. Validate reports it on
// other kinds of trigger.
func (t Trigger) WithLateFirings(late Trigger) Trigger {
	t.Late = &late
	return t
}

// PlusDelayOf returns AfterProcessingTime trigger t that fires d later.
// Validate reports it on other kinds of trigger.
func (t Trigger) PlusDelayOf(d time.Duration) Trigger {
	t.Transforms = append(t.Transforms[:len(t.Transforms):len(t.Transforms)], TimeTransform{Delay: d})
	return t
}

// AlignedTo returns AfterProcessingTime trigger t that fires at the next
// time offset + k*period (k an integer). Validate reports it on other
// kinds of trigger.
func (t Trigger) AlignedTo(period, offset time.Duration) Trigger {
	t.Transforms = append(t.Transforms[:len(t.Transforms):len(t.Transforms)], TimeTransform{Period: period, Offset: offset})
	return t
}

// OrFinally returns a trigger that fires like t until until fires, and
// then finishes.
func (t Trigger) OrFinally(until Trigger) Trigger {
	return Trigger{Kind: TriggerOrFinally, Subs: []Trigger{t, until}}
}

// MaxTriggerDepth is how deeply subtriggers may nest. Real triggers are a
// few levels deep; the bound keeps the recursive walks over a trigger from
// a pipeline proto finite.
const MaxTriggerDepth = 64

// Validate reports a trigger tree that is not well formed: a parameter on
// a kind that does not take it, a count below 1, a negative delay, a
// period that is not positive, the wrong number of subtriggers, or
// nesting deeper than MaxTriggerDepth.
func (t Trigger) Validate() error {
	if err := t.validate(0); err != nil {
		return fmt.Errorf("window: trigger %v: %w", t, err)
	}
	return nil
}

func (t Trigger) validate(depth int) error {
	if depth > MaxTriggerDepth {
		return fmt.Errorf("subtriggers nest deeper than %d levels", MaxTriggerDepth)
	}
	if int(t.Kind) >= len(triggerNames) {
		return fmt.Errorf("unknown trigger kind %d", t.Kind)
	}
	if err := t.checkParams(); err != nil {
		return err
	}
	for _, s := range t.children() {
		if err := s.validate(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// checkParams checks t's own fields against its kind.
func (t Trigger) checkParams() error {
	k := t.Kind
	switch {
	case (t.Early != nil || t.Late != nil) && k != TriggerAfterWatermark:
		return fmt.Errorf("early and late firings apply to AfterWatermark only, not %v", k)
	case len(t.Transforms) > 0 && k != TriggerAfterProcessingTime:
		return fmt.Errorf("delays and alignments apply to AfterProcessingTime only, not %v", k)
	case t.Count != 0 && k != TriggerAfterCount:
		return fmt.Errorf("an element count applies to AfterCount only, not %v", k)
	case k == TriggerAfterCount && (t.Count < 1 || t.Count > math.MaxInt32):
		return fmt.Errorf("AfterCount needs a count from 1 to %d, got %d", math.MaxInt32, t.Count)
	}
	for _, tt := range t.Transforms {
		if tt.Period < 0 || (!tt.IsAlign() && tt.Delay < 0) {
			return fmt.Errorf("AfterProcessingTime needs a non-negative delay and a positive period, got %v", tt)
		}
	}
	want := -1 // any number
	switch k {
	case TriggerAfterAll, TriggerAfterAny, TriggerAfterEach:
		if len(t.Subs) == 0 {
			return fmt.Errorf("%v needs at least one subtrigger", k)
		}
	case TriggerRepeatedly:
		want = 1
	case TriggerOrFinally:
		want = 2
	default:
		want = 0
	}
	if want >= 0 && len(t.Subs) != want {
		return fmt.Errorf("%v takes %d subtriggers, got %d", k, want, len(t.Subs))
	}
	return nil
}

// children returns t's subtriggers, early and late firings included.
func (t Trigger) children() []Trigger {
	out := t.Subs
	if t.Early != nil || t.Late != nil {
		out = append(out[:len(out):len(out)], t.firings()...)
	}
	return out
}

func (t Trigger) firings() []Trigger {
	var out []Trigger
	for _, p := range []*Trigger{t.Early, t.Late} {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

// MayFinish reports whether t can finish before the window is garbage
// collected, after which the window's later data is dropped (Beam Java's
// Trigger.mayFinish).
func (t Trigger) MayFinish() bool {
	switch t.Kind {
	case TriggerDefault, TriggerAlways, TriggerRepeatedly:
		return false
	case TriggerAfterWatermark:
		// Late firings repeat until garbage collection.
		return t.Late == nil
	case TriggerAfterEach:
		// It finishes after its last subtrigger, if every one finishes.
		for _, s := range t.Subs {
			if !s.MayFinish() {
				return false
			}
		}
	}
	return true
}

// Continuation returns the trigger that a GroupByKey's output carries when
// its input is triggered by t (Beam Java's getContinuationTrigger): a
// downstream aggregation then fires as soon as upstream panes arrive, not
// again after the same counts or delays.
func (t Trigger) Continuation() Trigger {
	switch t.Kind {
	case TriggerAfterWatermark:
		c := Trigger{Kind: TriggerAfterWatermark}
		if t.Early != nil {
			c = c.WithEarlyFirings(t.Early.Continuation())
		}
		if t.Late != nil {
			c = c.WithLateFirings(t.Late.Continuation())
		}
		return c
	case TriggerAfterCount:
		return Trigger{Kind: TriggerAfterCount, Count: 1}
	case TriggerAfterProcessingTime:
		return Trigger{Kind: TriggerAfterSynchronizedProcessingTime}
	case TriggerAfterAll, TriggerAfterAny, TriggerRepeatedly:
		return Trigger{Kind: t.Kind, Subs: continuations(t.Subs)}
	case TriggerAfterEach:
		return Trigger{Kind: TriggerRepeatedly, Subs: []Trigger{{Kind: TriggerAfterAny, Subs: continuations(t.Subs)}}}
	case TriggerOrFinally:
		return Trigger{Kind: TriggerRepeatedly, Subs: []Trigger{{Kind: TriggerOrFinally, Subs: continuations(t.Subs)}}}
	}
	return Trigger{Kind: t.Kind}
}

func continuations(ts []Trigger) []Trigger {
	out := make([]Trigger, len(ts))
	for i, s := range ts {
		out[i] = s.Continuation()
	}
	return out
}

// String renders t in the style of Beam Java, e.g.
// "AfterWatermark.early(AfterCount(2))" or "Repeatedly(AfterProcessingTime(+1m0s))".
// Equal triggers render equally.
func (t Trigger) String() string {
	var b strings.Builder
	t.render(&b, 0)
	return b.String()
}

func (t Trigger) render(b *strings.Builder, depth int) {
	b.WriteString(t.Kind.String())
	if depth > MaxTriggerDepth {
		b.WriteString("(...)")
		return
	}
	switch {
	case t.Kind == TriggerAfterCount || t.Count != 0:
		fmt.Fprintf(b, "(%d)", t.Count)
	case len(t.Transforms) > 0:
		b.WriteByte('(')
		for i, tt := range t.Transforms {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tt.String())
		}
		b.WriteByte(')')
	}
	if len(t.Subs) > 0 {
		b.WriteByte('(')
		for i, s := range t.Subs {
			if i > 0 {
				b.WriteString(", ")
			}
			s.render(b, depth+1)
		}
		b.WriteByte(')')
	}
	for _, f := range []struct {
		name string
		t    *Trigger
	}{{".early(", t.Early}, {".late(", t.Late}} {
		if f.t != nil {
			b.WriteString(f.name)
			f.t.render(b, depth+1)
			b.WriteByte(')')
		}
	}
}
