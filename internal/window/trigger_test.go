package window_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Shorthands for the triggers of the tests.
var (
	count = func(n int64) window.Trigger { return window.Trigger{Kind: window.TriggerAfterCount, Count: n} }
	eow   = window.Trigger{Kind: window.TriggerAfterWatermark}
	pt    = window.Trigger{Kind: window.TriggerAfterProcessingTime}
	spt   = window.Trigger{Kind: window.TriggerAfterSynchronizedProcessingTime}
	never = window.Trigger{Kind: window.TriggerNever}
)

func of(k window.TriggerKind, subs ...window.Trigger) window.Trigger {
	return window.Trigger{Kind: k, Subs: subs}
}

func TestTriggerValidate(t *testing.T) {
	deep := count(1)
	for range window.MaxTriggerDepth + 1 {
		deep = of(window.TriggerRepeatedly, deep)
	}
	tests := []struct {
		name string
		t    window.Trigger
		want string // substring of the error; "" for valid
	}{
		{name: "the zero trigger is the valid default", t: window.Trigger{}},
		{name: "a nested valid trigger is valid", t: eow.WithEarlyFirings(of(window.TriggerAfterAny, count(2), pt.PlusDelayOf(time.Second))).WithLateFirings(count(1))},
		{name: "a count of 0 is refused", t: count(0), want: "count from 1"},
		{name: "a count past int32 is refused", t: count(1 << 31), want: "count from 1"},
		{name: "early firings on AfterCount are refused", t: count(1).WithEarlyFirings(count(1)), want: "apply to AfterWatermark only, not AfterCount"},
		{name: "a delay on AfterWatermark is refused", t: eow.PlusDelayOf(time.Second), want: "apply to AfterProcessingTime only"},
		{name: "a negative delay is refused", t: pt.PlusDelayOf(-time.Second), want: "non-negative delay"},
		{name: "a negative period is refused", t: pt.AlignedTo(-time.Second, 0), want: "positive period"},
		{name: "Repeatedly without a subtrigger is refused", t: of(window.TriggerRepeatedly), want: "Repeatedly takes 1 subtriggers, got 0"},
		{name: "OrFinally with one subtrigger is refused", t: of(window.TriggerOrFinally, count(1)), want: "OrFinally takes 2"},
		{name: "AfterAll without subtriggers is refused", t: of(window.TriggerAfterAll), want: "at least one subtrigger"},
		{name: "Never with a subtrigger is refused", t: of(window.TriggerNever, count(1)), want: "Never takes 0"},
		{name: "an invalid subtrigger is found", t: of(window.TriggerAfterEach, count(1), count(-1)), want: "got -1"},
		{name: "an unknown kind is refused", t: window.Trigger{Kind: 99}, want: "unknown trigger kind 99"},
		{name: "nesting too deep is refused", t: deep, want: "deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.t.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTriggerMayFinishAndContinuation(t *testing.T) {
	tests := []struct {
		t         window.Trigger
		mayFinish bool
		cont      window.Trigger
	}{
		{t: window.Trigger{}, cont: window.Trigger{}},
		{t: eow, mayFinish: true, cont: eow},
		{t: eow.WithEarlyFirings(count(5)), mayFinish: true, cont: eow.WithEarlyFirings(count(1))},
		{t: eow.WithEarlyFirings(pt).WithLateFirings(count(3)), cont: eow.WithEarlyFirings(spt).WithLateFirings(count(1))},
		{t: count(5), mayFinish: true, cont: count(1)},
		{t: pt.PlusDelayOf(time.Minute), mayFinish: true, cont: spt},
		{t: spt, mayFinish: true, cont: spt},
		{t: of(window.TriggerAfterAll, count(2), pt), mayFinish: true, cont: of(window.TriggerAfterAll, count(1), spt)},
		{t: of(window.TriggerAfterAny, count(2), pt), mayFinish: true, cont: of(window.TriggerAfterAny, count(1), spt)},
		{t: of(window.TriggerAfterEach, count(2), count(3)), mayFinish: true,
			cont: of(window.TriggerRepeatedly, of(window.TriggerAfterAny, count(1), count(1)))},
		{t: of(window.TriggerAfterEach, count(2), of(window.TriggerRepeatedly, count(3))),
			cont: of(window.TriggerRepeatedly, of(window.TriggerAfterAny, count(1), of(window.TriggerRepeatedly, count(1))))},
		{t: of(window.TriggerRepeatedly, count(2)), cont: of(window.TriggerRepeatedly, count(1))},
		{t: of(window.TriggerRepeatedly, count(2)).OrFinally(count(3)), mayFinish: true,
			cont: of(window.TriggerRepeatedly, of(window.TriggerOrFinally, of(window.TriggerRepeatedly, count(1)), count(1)))},
		{t: never, mayFinish: true, cont: never},
		{t: window.Trigger{Kind: window.TriggerAlways}, cont: window.Trigger{Kind: window.TriggerAlways}},
	}
	for _, tt := range tests {
		t.Run(tt.t.String(), func(t *testing.T) {
			if got := tt.t.MayFinish(); got != tt.mayFinish {
				t.Errorf("MayFinish() = %v, want %v", got, tt.mayFinish)
			}
			if d := cmp.Diff(tt.cont, tt.t.Continuation()); d != "" {
				t.Errorf("Continuation() (-want +got):\n%s", d)
			}
		})
	}
}

func TestTriggerString(t *testing.T) {
	tests := []struct {
		t    window.Trigger
		want string
	}{
		{t: window.Trigger{}, want: "Default"},
		{t: eow.WithEarlyFirings(count(2)).WithLateFirings(never), want: "AfterWatermark.early(AfterCount(2)).late(Never)"},
		{t: pt.PlusDelayOf(time.Second).AlignedTo(time.Minute, 5*time.Second), want: "AfterProcessingTime(+1s, align(1m0s+5s))"},
		{t: of(window.TriggerRepeatedly, count(2)).OrFinally(eow), want: "OrFinally(Repeatedly(AfterCount(2)), AfterWatermark)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestBuildersDoNotShareTransforms(t *testing.T) {
	base := pt.PlusDelayOf(time.Second)
	a, b := base.PlusDelayOf(2*time.Second), base.AlignedTo(time.Minute, 0)
	if a.String() != "AfterProcessingTime(+1s, +2s)" || b.String() != "AfterProcessingTime(+1s, align(1m0s+0s))" {
		t.Errorf("triggers built from one base interfere: %v and %v", a, b)
	}
}

func TestStrategyCheckTriggerSafe(t *testing.T) {
	tests := []struct {
		name string
		s    window.Strategy
		safe bool
	}{
		{name: "default", s: window.Strategy{AllowedLateness: time.Hour}, safe: true},
		{name: "AfterWatermark without lateness", s: window.Strategy{Trigger: eow}, safe: true},
		{name: "AfterWatermark with lateness", s: window.Strategy{Trigger: eow, AllowedLateness: time.Second}},
		{name: "AfterWatermark with early firings and lateness", s: window.Strategy{Trigger: eow.WithEarlyFirings(count(1)), AllowedLateness: time.Second}},
		{name: "AfterWatermark with late firings and lateness", s: window.Strategy{Trigger: eow.WithLateFirings(count(1)), AllowedLateness: time.Second}, safe: true},
		{name: "AfterCount", s: window.Strategy{Trigger: count(1)}},
		{name: "Never", s: window.Strategy{Trigger: never, AllowedLateness: time.Second}, safe: true},
		{name: "OrFinally", s: window.Strategy{Trigger: of(window.TriggerRepeatedly, count(2)).OrFinally(count(3))}},
	}
	for _, tt := range tests {
		if err := tt.s.CheckTriggerSafe(); (err == nil) != tt.safe {
			t.Errorf("%s: CheckTriggerSafe() = %v, want safe = %v", tt.name, err, tt.safe)
		}
	}
}
