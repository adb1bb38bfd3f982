package sdk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// stampedString renders each element with its timestamp in seconds.
type stampedString struct{}

func (stampedString) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	emit(fmt.Sprintf("%s @%g", s, float64(sdk.EventTime(ctx).UnixMilli())/1000))
	return nil
}

func TestDeduplicate(t *testing.T) {
	sec := func(s int64) time.Time { return time.Unix(s, 0) }
	tests := []struct {
		name   string
		d      sdk.Dedup
		script func(ts *sdk.TestStream[string])
		want   []string
	}{{
		name: "event time: a duplicate within the bound of the watermark is dropped, one after it passes",
		d:    sdk.Dedup{Within: 10 * time.Second, EventTime: true},
		script: func(ts *sdk.TestStream[string]) {
			ts.AddElementsAt(sec(1), "a")
			ts.AddElementsAt(sec(2), "a")
			ts.AddElementsAt(sec(3), "b")
			ts.AdvanceWatermarkTo(sec(5))
			ts.AddElementsAt(sec(9), "a")  // within 10 s of a@1
			ts.AdvanceWatermarkTo(sec(12)) // past a@1+10 s: a is forgotten, b is not
			ts.AddElementsAt(sec(12), "a", "b")
			ts.AdvanceWatermarkTo(sec(30))
			ts.AddElementsAt(sec(30), "b")
		},
		want: []string{"a @1", "a @12", "b @3", "b @30"},
	}, {
		name: "processing time: a duplicate is dropped until the clock has moved on by the bound",
		d:    sdk.Dedup{Within: time.Minute},
		script: func(ts *sdk.TestStream[string]) {
			ts.AddElementsAt(sec(1), "a")
			ts.AdvanceProcessingTime(30 * time.Second)
			ts.AddElementsAt(sec(50), "a", "b")
			ts.AdvanceProcessingTime(31 * time.Second) // a's minute is up, b's is not
			ts.AddElementsAt(sec(60), "a", "b")
		},
		want: []string{"a @1", "a @60", "b @50"},
	}, {
		name: "processing time: ten minutes by default",
		script: func(ts *sdk.TestStream[string]) {
			ts.AddElementsAt(sec(1), "a")
			ts.AdvanceProcessingTime(9 * time.Minute)
			ts.AddElementsAt(sec(2), "a")
			ts.AdvanceProcessingTime(2 * time.Minute)
			ts.AddElementsAt(sec(3), "a")
		},
		want: []string{"a @1", "a @3"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			ts := sdk.NewTestStream[string](s)
			tc.script(ts)
			ts.AdvanceWatermarkToInfinity()
			out := newLines()
			firsts := sdk.Deduplicate(s, ts.Output(), tc.d)
			sdk.ForEach(s, out, sdk.ParDo(s, sdk.DoFn[string, string](stampedString{}), firsts))
			runLocal(t, p)
			if diff := cmp.Diff(tc.want, out.sorted()); diff != "" {
				t.Errorf("first occurrences (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeduplicateOfBoundedInput: over bounded input a first occurrence is
// remembered to the end of the job, and the job does not wait out the
// processing-time bound (ten minutes) at its end.
func TestDeduplicateOfBoundedInput(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	out := newLines()
	sdk.ForEach(s, out, sdk.Deduplicate(s, sdk.Create(s, []string{"a", "b", "a", "c", "b", "a"}), sdk.Dedup{}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 3}}).Run(ctx, p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, out.sorted()); diff != "" {
		t.Errorf("first occurrences (-want +got):\n%s", diff)
	}
}

func TestDeduplicatePerKeyKeepsTheFirstValueOfAKey(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, int]](s)
	ts.AddElementsAt(time.Unix(1, 0), sdk.Pair("k", 1))
	ts.AdvanceWatermarkTo(time.Unix(2, 0))
	ts.AddElementsAt(time.Unix(3, 0), sdk.Pair("k", 2), sdk.Pair("j", 2))
	ts.AdvanceWatermarkToInfinity()
	firsts := sdk.DeduplicatePerKey(s, ts.Output(), sdk.Dedup{Within: time.Minute, EventTime: true})
	out := newLines()
	sdk.ForEach(s, out, sdk.Map(s, func(kv sdk.KV[string, int]) string { return fmt.Sprintf("%s=%d", kv.Key, kv.Value) }, firsts))
	runLocal(t, p)
	if diff := cmp.Diff([]string{"j=2", "k=1"}, out.sorted()); diff != "" {
		t.Errorf("first values (-want +got):\n%s", diff)
	}
}

func TestDeduplicateConstructionErrors(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Deduplicate(s, sdk.Create(s, []float64{1, 1}), sdk.Dedup{})
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "Deduplicate") || !strings.Contains(err.Error(), "deterministic") {
		t.Errorf("Deduplicate of float64s: got %v, want a construction error naming Deduplicate and asking for a deterministic coder", err)
	}
	p = sdk.NewPipeline()
	s = p.Root()
	sdk.DeduplicatePerKey(s, sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)}), sdk.Dedup{Within: -time.Second})
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "DeduplicatePerKey") {
		t.Errorf("a negative bound: got %v, want a construction error naming DeduplicatePerKey", err)
	}
}

// TestDeduplicateHoldsNoWatermark: the timers that forget elements hold
// the output watermark at nothing earlier than the window's expiry. If
// one held it at its element's timestamp until it fired, the fixed window
// after the deduplication would stay open past the watermark and count a
// late element that it must drop.
func TestDeduplicateHoldsNoWatermark(t *testing.T) {
	for _, d := range []sdk.Dedup{{}, {Within: time.Hour, EventTime: true}} {
		p := sdk.NewPipeline()
		s := p.Root()
		ts := sdk.NewTestStream[string](s)
		ts.AddElementsAt(time.Unix(1, 0), "a")
		ts.AdvanceWatermarkTo(time.Unix(20, 0))
		ts.AddElementsAt(time.Unix(5, 0), "late") // after [0s, 10s) closed downstream
		ts.AdvanceWatermarkToInfinity()
		firsts := sdk.WindowInto(s, sdk.FixedWindows(10*time.Second), sdk.Deduplicate(s, ts.Output(), d))
		out := newLines()
		sdk.ForEach(s, out, sdk.Map(s, func(n int64) string { return fmt.Sprint(n) }, sdk.Count(s, firsts)))
		runLocal(t, p)
		if diff := cmp.Diff([]string{"1"}, out.sorted()); diff != "" {
			t.Errorf("%+v: counts of [0s, 10s) (-want +got):\n%s", d, diff)
		}
	}
}
