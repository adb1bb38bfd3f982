package sdk_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/sdk"
)

// joinEvent is one step of an interval join script: an element of a side
// ("L" or "R") at a time in seconds, or, with side "WM", a watermark
// advance of both sides to that time.
type joinEvent struct {
	side string
	key  string
	at   int64
	val  string
}

// joins are the interval joins by kind.
var joins = map[string]func(sdk.Scope, sdk.PCollection[sdk.KV[string, string]], sdk.PCollection[sdk.KV[string, string]], sdk.JoinInterval, ...sdk.Option) sdk.PCollection[sdk.KV[string, sdk.Joined[string, string]]]{
	"inner": sdk.IntervalJoin[string, string, string],
	"left":  sdk.LeftOuterIntervalJoin[string, string, string],
	"right": sdk.RightOuterIntervalJoin[string, string, string],
	"full":  sdk.FullOuterIntervalJoin[string, string, string],
}

// runIntervalJoin runs the script through an interval join of kind
// (inner, left, right or full) on the local runner and returns its rows,
// rendered and sorted.
func runIntervalJoin(t *testing.T, within sdk.JoinInterval, kind string, script []joinEvent) []string {
	t.Helper()
	p := sdk.NewPipeline()
	s := p.Root()
	left, right := scriptStream(s, script, [2]string{"L", "R"})
	rows := joins[kind](s, left, right, within)
	out := newLines()
	sdk.ForEach(s, out, sdk.Map(s, renderJoined, rows))
	runLocal(t, p)
	return out.sorted()
}

// scriptStream plays script through a TestStream: the elements of
// sides[0] and sides[1] on two tags, whose watermarks advance together at
// the "WM" steps and then to infinity. It returns the two tags'
// collections.
func scriptStream(s sdk.Scope, script []joinEvent, sides [2]string) (first, second sdk.PCollection[sdk.KV[string, string]]) {
	ts := sdk.NewTestStream[sdk.KV[string, string]](s)
	a, b := ts.Tag(sides[0]), ts.Tag(sides[1])
	for _, e := range script {
		at := time.Unix(e.at, 0)
		switch e.side {
		case sides[0]:
			a.AddElementsAt(at, sdk.Pair(e.key, e.val))
		case sides[1]:
			b.AddElementsAt(at, sdk.Pair(e.key, e.val))
		case "WM":
			a.AdvanceWatermarkTo(at)
			b.AdvanceWatermarkTo(at)
		}
	}
	a.AdvanceWatermarkToInfinity()
	b.AdvanceWatermarkToInfinity()
	return a.Output(), b.Output()
}

func renderJoined(kv sdk.KV[string, sdk.Joined[string, string]]) string {
	l, r := kv.Value.Left, kv.Value.Right
	if !kv.Value.HasLeft {
		l = "NULL"
	}
	if !kv.Value.HasRight {
		r = "NULL"
	}
	return fmt.Sprintf("%s %s-%s", kv.Key, l, r)
}

func TestIntervalJoin(t *testing.T) {
	within5s := sdk.JoinInterval{Lower: -5 * time.Second, Upper: 5 * time.Second}
	tests := []struct {
		name   string
		within sdk.JoinInterval
		kind   string // inner unless set
		script []joinEvent
		want   []string
	}{
		{
			name:   "elements within the bound match in either order, others do not",
			within: within5s,
			script: []joinEvent{
				{"L", "k", 10, "l10"}, {"R", "k", 12, "r12"}, {"R", "k", 30, "r30"},
				{"R", "j", 20, "r20"}, {"L", "j", 16, "l16"}, {"L", "j", 14, "l14"}, {"L", "k", 21, "l21"},
			},
			want: []string{"j l16-r20", "k l10-r12"},
		},
		{
			name:   "the bounds are inclusive at both ends",
			within: within5s,
			script: []joinEvent{{"L", "k", 10, "l10"}, {"R", "k", 5, "r5"}, {"R", "k", 15, "r15"}, {"R", "k", 16, "r16"}, {"R", "k", 4, "r4"}},
			want:   []string{"k l10-r15", "k l10-r5"},
		},
		{
			name:   "a late element finds its match evicted once the watermark passed the bound",
			within: within5s,
			script: []joinEvent{{"L", "k", 10, "l10"}, {"WM", "", 16, ""}, {"R", "k", 14, "r14"}},
			want:   nil,
		},
		{
			name:   "a late element still matches what is not evicted yet",
			within: within5s,
			script: []joinEvent{{"L", "k", 10, "l10"}, {"WM", "", 15, ""}, {"R", "k", 14, "r14"}},
			want:   []string{"k l10-r14"},
		},
		{
			name:   "left outer: an unmatched left element is emitted once with no right side",
			within: within5s,
			kind:   "left",
			script: []joinEvent{{"L", "k", 10, "l10"}, {"R", "k", 30, "r30"}, {"WM", "", 16, ""}, {"WM", "", 40, ""}},
			want:   []string{"k l10-NULL"},
		},
		{
			name:   "left outer: a left element whose match was evicted first gets no NULL row",
			within: sdk.JoinInterval{Lower: 0, Upper: 5 * time.Second},
			kind:   "left",
			script: []joinEvent{{"L", "k", 10, "l10"}, {"R", "k", 12, "r12"}, {"WM", "", 13, ""}, {"WM", "", 14, ""}, {"WM", "", 20, ""}},
			want:   []string{"k l10-r12"},
		},
		{
			name:   "left outer: out-of-order right elements match left ones that wait",
			within: sdk.JoinInterval{Lower: 0, Upper: time.Hour},
			kind:   "left",
			script: []joinEvent{
				{"L", "ad1", 100, "i1"}, {"L", "ad1", 5000, "i2"}, {"L", "ad2", 200, "i3"},
				{"R", "ad1", 3000, "c1"}, {"R", "ad1", 150, "c2"}, {"WM", "", 3700, ""}, {"R", "ad2", 3801, "late"},
			},
			want: []string{"ad1 i1-c1", "ad1 i1-c2", "ad1 i2-NULL", "ad2 i3-NULL"},
		},
		{
			name:   "right outer: an unmatched right element is emitted once with no left side",
			within: sdk.JoinInterval{Lower: 0, Upper: 5 * time.Second},
			kind:   "right",
			script: []joinEvent{{"R", "k", 3, "r3"}, {"L", "k", 10, "l10"}, {"R", "k", 12, "r12"}, {"WM", "", 20, ""}},
			want:   []string{"k NULL-r3", "k l10-r12"},
		},
		{
			name:   "right outer: a right element waits for left ones until the watermark passes its time minus the lower bound",
			within: sdk.JoinInterval{Lower: -5 * time.Second, Upper: 0},
			kind:   "right",
			script: []joinEvent{{"R", "k", 10, "r10"}, {"WM", "", 14, ""}, {"L", "k", 14, "l14"}, {"WM", "", 16, ""}, {"L", "k", 16, "l16"}},
			want:   []string{"k l14-r10"},
		},
		{
			name:   "full outer: unmatched elements of both sides, each once",
			within: sdk.JoinInterval{Lower: -2 * time.Second, Upper: 2 * time.Second},
			kind:   "full",
			script: []joinEvent{
				{"L", "k", 10, "l10"}, {"R", "k", 11, "r11"}, {"R", "k", 20, "r20"}, {"L", "j", 30, "l30"},
				{"WM", "", 25, ""}, {"R", "j", 40, "r40"}, {"L", "k", 41, "l41"},
			},
			want: []string{"j NULL-r40", "j l30-NULL", "k NULL-r20", "k l10-r11", "k l41-NULL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runIntervalJoin(t, tc.within, orInner(tc.kind), tc.script)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIntervalJoinRandomOnTime compares interval joins of random scripts
// whose elements are all on time (at or after the watermark) with the
// join computed directly: then eviction never loses a match.
func TestIntervalJoinRandomOnTime(t *testing.T) {
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 16))
		within := sdk.JoinInterval{Lower: time.Duration(rng.IntN(7)-4) * time.Second}
		within.Upper = within.Lower + time.Duration(rng.IntN(6))*time.Second
		script := randomScript(rng, [2]string{"L", "R"})
		for _, kind := range []string{"inner", "left", "right", "full"} {
			t.Run(fmt.Sprintf("seed %d %s", seed, kind), func(t *testing.T) {
				want := directJoin(script, within, kind)
				if diff := cmp.Diff(want, runIntervalJoin(t, within, kind, script)); diff != "" {
					t.Errorf("rows of %v within %+v (-want +got):\n%s", script, within, diff)
				}
			})
		}
	}
}

// randomScript returns a script of 40 random steps: watermark advances,
// and elements of the two sides, of three keys, each on time (at or after
// the watermark).
func randomScript(rng *rand.Rand, sides [2]string) []joinEvent {
	var script []joinEvent
	wm := int64(0)
	for i := range 40 {
		if rng.IntN(5) == 0 {
			wm += int64(rng.IntN(4))
			script = append(script, joinEvent{side: "WM", at: wm})
			continue
		}
		side := sides[rng.IntN(2)]
		script = append(script, joinEvent{side, fmt.Sprint("k", rng.IntN(3)), wm + int64(rng.IntN(8)), fmt.Sprintf("%s%d", side, i)})
	}
	return script
}

// directJoin is the interval join of kind of a script's elements by
// definition.
func directJoin(script []joinEvent, within sdk.JoinInterval, kind string) []string {
	var out []string
	matchedRight := map[int]bool{}
	for _, l := range script {
		if l.side != "L" {
			continue
		}
		matched := false
		for i, r := range script {
			d := time.Duration(r.at-l.at) * time.Second
			if r.side == "R" && r.key == l.key && within.Lower <= d && d <= within.Upper {
				matched, matchedRight[i] = true, true
				out = append(out, fmt.Sprintf("%s %s-%s", l.key, l.val, r.val))
			}
		}
		if (kind == "left" || kind == "full") && !matched {
			out = append(out, fmt.Sprintf("%s %s-NULL", l.key, l.val))
		}
	}
	for i, r := range script {
		if r.side == "R" && (kind == "right" || kind == "full") && !matchedRight[i] {
			out = append(out, fmt.Sprintf("%s NULL-%s", r.key, r.val))
		}
	}
	slices.Sort(out)
	return out
}

func TestIntervalJoinConstructionError(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	a := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)})
	sdk.IntervalJoin(s, a, a, sdk.JoinInterval{Lower: time.Second, Upper: 0})
	if p.Err() == nil {
		t.Error("an interval whose lower bound is after its upper bound: Err() = nil, want a construction error")
	}
}

// orInner returns kind, or "inner" when it is empty.
func orInner(kind string) string {
	if kind == "" {
		return "inner"
	}
	return kind
}
