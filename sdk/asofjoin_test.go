package sdk_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/sdk"
)

// stamped renders each row with its timestamp in seconds.
type stamped struct{}

func (stamped) ProcessElement(ctx context.Context, kv sdk.KV[string, sdk.Joined[string, string]], emit func(string)) error {
	r := kv.Value.Right
	if !kv.Value.HasRight {
		r = "NULL"
	}
	emit(fmt.Sprintf("%s %s-%s @%g", kv.Key, kv.Value.Left, r, float64(sdk.EventTime(ctx).UnixMilli())/1000))
	return nil
}

// runAsOf runs the script (sides "E", events, and "V", versions) through an as-of join on the local runner and
// returns its rows, rendered with their timestamps and sorted.
func runAsOf(t *testing.T, as sdk.AsOf, script []joinEvent) []string {
	t.Helper()
	p := sdk.NewPipeline()
	s := p.Root()
	events, versions := scriptStream(s, script, [2]string{"E", "V"})
	rows := sdk.AsOfJoin(s, events, versions, as)
	out := newLines()
	sdk.ForEach(s, out, sdk.ParDo(s, sdk.DoFn[sdk.KV[string, sdk.Joined[string, string]], string](stamped{}), rows))
	runLocal(t, p)
	return out.sorted()
}

func TestAsOfJoin(t *testing.T) {
	tests := []struct {
		name   string
		as     sdk.AsOf
		script []joinEvent
		want   []string
	}{{
		name: "each event gets the latest version at or before it, at its own time",
		script: []joinEvent{
			{"V", "k", 1, "v1"}, {"V", "k", 10, "v2"}, {"V", "j", 3, "w1"},
			{"E", "k", 0, "e0"}, {"E", "k", 1, "e1"}, {"E", "k", 9, "e9"}, {"E", "k", 10, "e10"}, {"E", "k", 40, "e40"},
			{"E", "j", 5, "f5"}, {"E", "x", 5, "g5"},
		},
		want: []string{"j f5-w1 @5", "k e0-NULL @0", "k e1-v1 @1", "k e10-v2 @10", "k e40-v2 @40", "k e9-v1 @9", "x g5-NULL @5"},
	}, {
		name: "an event that arrives before an earlier version still gets it",
		script: []joinEvent{
			{"E", "k", 5, "e5"}, {"V", "k", 2, "v2"}, {"WM", "", 6, ""}, {"V", "k", 4, "v4"}, // late: e5 is out
		},
		want: []string{"k e5-v2 @5"},
	}, {
		name: "a late event is matched as of its own time",
		script: []joinEvent{
			{"V", "k", 0, "pen"}, {"V", "k", 10, "pencil"}, {"E", "k", 11, "s11"}, {"WM", "", 12, ""},
			{"E", "k", 5, "s5"},
		},
		want: []string{"k s11-pencil @11", "k s5-pen @5"},
	}, {
		name: "an event waits for its key's first version, stamped at that version",
		as:   sdk.AsOf{Wait: 10 * time.Second},
		script: []joinEvent{
			{"E", "k", 3, "e3"}, {"E", "k", 4, "e4"}, {"WM", "", 6, ""}, {"V", "k", 8, "v8"}, {"V", "k", 9, "v9"},
			{"E", "j", 3, "f3"}, {"V", "j", 13, "w13"}, {"V", "j", 14, "w14"}, // 13 ends f3's wait: still in time
		},
		want: []string{"j f3-w13 @13", "k e3-v8 @8", "k e4-v8 @8"},
	}, {
		name: "an event whose key has no version within the wait comes out unmatched at its time",
		as:   sdk.AsOf{Wait: 10 * time.Second},
		script: []joinEvent{
			{"E", "k", 3, "e3"}, {"V", "k", 14, "v14"}, {"E", "j", 3, "f3"}, {"E", "j", 6, "f6"}, {"V", "j", 16, "w16"},
		},
		want: []string{"j f3-NULL @3", "j f6-w16 @16", "k e3-NULL @3"},
	}, {
		name: "a version just past the wait does not match, though it comes while the event waits",
		as:   sdk.AsOf{Wait: 10 * time.Second},
		script: []joinEvent{
			{"E", "k", 3, "e3"}, {"WM", "", 5, ""}, {"V", "k", 14, "v14"}, {"V", "k", 13, "v13"}, {"E", "j", 3, "f3"},
		},
		want: []string{"j f3-NULL @3", "k e3-v13 @13"},
	}, {
		name: "a version just past the wait does not match when it is the only one",
		as:   sdk.AsOf{Wait: 10 * time.Second},
		script: []joinEvent{
			{"E", "k", 3, "e3"}, {"WM", "", 5, ""}, {"V", "k", 14, "v14"},
		},
		want: []string{"k e3-NULL @3"},
	}, {
		name: "a version already there when the event's time passes ends the wait",
		as:   sdk.AsOf{Wait: 10 * time.Second},
		script: []joinEvent{
			{"V", "k", 7, "v7"}, {"V", "k", 8, "v8"}, {"WM", "", 9, ""}, {"E", "k", 3, "e3"},
		},
		want: []string{"k e3-v7 @7"},
	}, {
		name: "without a wait an event older than every version is unmatched",
		script: []joinEvent{
			{"V", "k", 7, "v7"}, {"E", "k", 3, "e3"},
		},
		want: []string{"k e3-NULL @3"},
	}, {
		name: "superseded versions are dropped past the retention: a later late event gets a newer one",
		as:   sdk.AsOf{Retain: 5 * time.Second},
		script: []joinEvent{
			{"V", "k", 0, "v0"}, {"V", "k", 10, "v10"}, {"WM", "", 12, ""}, {"E", "k", 5, "late5"}, {"WM", "", 20, ""}, {"E", "k", 6, "late6"},
		},
		want: []string{"k late5-v0 @5", "k late6-v10 @6"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, runAsOf(t, tc.as, tc.script)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAsOfJoinRandomOnTime compares as-of joins of random scripts whose
// elements are all on time with the join computed by its definition
// (directAsOf), rows and timestamps, for random waits and retentions.
func TestAsOfJoinRandomOnTime(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 46))
		as := sdk.AsOf{Wait: time.Duration(rng.IntN(3)*rng.IntN(6)) * time.Second, Retain: time.Duration(rng.IntN(2)*(5+rng.IntN(10))) * time.Second}
		// Distinct version times per key keep "the latest version"
		// defined by time alone.
		script := distinctVersionTimes(randomScript(rng, [2]string{"E", "V"}))
		t.Run(fmt.Sprintf("seed %d wait %v retain %v", seed, as.Wait, as.Retain), func(t *testing.T) {
			if diff := cmp.Diff(directAsOf(script, as), runAsOf(t, as, script)); diff != "" {
				t.Errorf("rows of %v (-want +got):\n%s", script, diff)
			}
		})
	}
}

// distinctVersionTimes drops the versions of a key at a time it already
// has one.
func distinctVersionTimes(script []joinEvent) []joinEvent {
	seen := map[[2]any]bool{}
	return slices.DeleteFunc(script, func(s joinEvent) bool {
		k := [2]any{s.key, s.at}
		if s.side != "V" {
			return false
		}
		dup := seen[k]
		seen[k] = true
		return dup
	})
}

// directAsOf is the as-of join of a script's elements by definition, for
// scripts whose elements are on time (retention then drops nothing an
// event needs).
func directAsOf(script []joinEvent, as sdk.AsOf) []string {
	wait := int64(as.Wait / time.Second)
	var out []string
	for _, e := range script {
		if e.side != "E" {
			continue
		}
		var latest, earliest *joinEvent
		for i := range script {
			v := &script[i]
			if v.side != "V" || v.key != e.key {
				continue
			}
			if v.at <= e.at && (latest == nil || v.at > latest.at) {
				latest = v
			}
			if earliest == nil || v.at < earliest.at {
				earliest = v
			}
		}
		switch {
		case latest != nil:
			out = append(out, fmt.Sprintf("%s %s-%s @%d", e.key, e.val, latest.val, e.at))
		case wait > 0 && earliest != nil && earliest.at <= e.at+wait:
			out = append(out, fmt.Sprintf("%s %s-%s @%d", e.key, e.val, earliest.val, earliest.at))
		default:
			out = append(out, fmt.Sprintf("%s %s-NULL @%d", e.key, e.val, e.at))
		}
	}
	slices.Sort(out)
	return out
}

func TestAsOfJoinConstructionError(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	a := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)})
	sdk.AsOfJoin(s, a, a, sdk.AsOf{Wait: -time.Second})
	if p.Err() == nil {
		t.Error("a negative wait: Err() = nil, want a construction error")
	}
}
