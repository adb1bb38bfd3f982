package runnertest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
)

// connectCases are the reference's cases 46-48: connected streams and
// stream-stream joins, whose results must not depend on the order in
// which the two inputs' elements arrive.
func connectCases() []streamingCase {
	return []streamingCase{
		{"46 as-of enrichment of connected streams: buffered, versioned, unmatched at TTL", testAsOfEnrichment},
		{"47 an inner interval join matches within the bound and evicts when the watermark passes it", testInnerIntervalJoin},
		{"48 a left outer interval join emits an unmatched left element once, a matched one never", testLeftOuterIntervalJoin},
		{"48b a full outer interval join emits the unmatched elements of both sides once, at their own timestamps", testFullOuterIntervalJoin},
	}
}

// asOfTTL is how long case 46 waits for the item of a sale.
const asOfTTL = 30 * time.Second

// withStamp renders each element with its timestamp in milliseconds.
type withStamp struct{}

func (withStamp) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	emit(fmt.Sprintf("%s @%d", s, sdk.EventTime(ctx).UnixMilli()))
	return nil
}

// testAsOfEnrichment is case 46: a sale that arrives before its item
// still gets its name, exactly once; a rename applies to later sales but
// not to a sale of before it delivered late; a sale whose item never
// comes goes to the side output at its TTL.
func testAsOfEnrichment(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, string]](s)
	items, sales := ts.Tag("items"), ts.Tag("sales")
	both := func(at time.Time) { items.AdvanceWatermarkTo(at); sales.AdvanceWatermarkTo(at) }
	sales.AddElementsAt(sec(1), sdk.Pair("i1", "5"))
	items.AddElementsAt(ms(500), sdk.Pair("i1", "pen"))
	sales.AddElementsAt(sec(3), sdk.Pair("i2", "9"))
	both(sec(2))
	items.AddElementsAt(sec(10), sdk.Pair("i1", "pencil"))
	sales.AddElementsAt(sec(11), sdk.Pair("i1", "7"))
	both(sec(12))
	sales.AddElementsAt(sec(5), sdk.Pair("i1", "3")) // late: re-delivered
	both(sec(20))
	items.AdvanceWatermarkToInfinity()
	sales.AdvanceWatermarkToInfinity()
	amounts := sdk.Map(s, func(kv sdk.KV[string, string]) sdk.KV[string, int64] {
		n, _ := strconv.ParseInt(kv.Value, 10, 64)
		return sdk.Pair(kv.Key, n)
	}, sales.Output())
	joined := sdk.AsOfJoin(s, amounts, items.Output(), sdk.AsOf{Wait: asOfTTL})
	rows := sdk.Map(s, func(kv sdk.KV[string, sdk.Joined[int64, string]]) string {
		if !kv.Value.HasRight {
			return fmt.Sprintf("unmatched %s %d", kv.Key, kv.Value.Left)
		}
		return fmt.Sprintf("enriched %s %s %d", kv.Key, kv.Value.Right, kv.Value.Left)
	}, joined)
	parts := sdk.Partition(s, 2, func(row string, _ int) int {
		if row[0] == 'u' {
			return 1
		}
		return 0
	}, sdk.ParDo(s, sdk.DoFn[string, string](withStamp{}), rows))
	main, side := Collect(s, parts[0]), Collect(s, parts[1])
	if _, err := r.Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := main.Elements()
	slices.Sort(got)
	diff(t, "enriched sales", []string{"enriched i1 pen 3 @5000", "enriched i1 pen 5 @1000", "enriched i1 pencil 7 @11000"}, got)
	diff(t, "side output", []string{"unmatched i2 9 @3000"}, side.Elements())
}

// joinScript is a TestStream of a left and a right input whose watermarks
// advance together.
type joinScript struct {
	left, right *sdk.TestStream[sdk.KV[string, string]]
}

func newJoinScript(s sdk.Scope) joinScript {
	ts := sdk.NewTestStream[sdk.KV[string, string]](s)
	return joinScript{ts.Tag("left"), ts.Tag("right")}
}

func (j joinScript) watermark(at time.Time) {
	j.left.AdvanceWatermarkTo(at)
	j.right.AdvanceWatermarkTo(at)
}

func (j joinScript) end() {
	j.left.AdvanceWatermarkToInfinity()
	j.right.AdvanceWatermarkToInfinity()
}

// runJoin runs the join's rows, rendered with their timestamps, and
// compares them sorted.
func runJoin(t *testing.T, r runner.Runner, p *sdk.Pipeline, rows sdk.PCollection[sdk.KV[string, sdk.Joined[string, string]]], want []string) {
	t.Helper()
	s := p.Root()
	rendered := sdk.Map(s, func(kv sdk.KV[string, sdk.Joined[string, string]]) string {
		left, right := kv.Value.Left, kv.Value.Right
		if !kv.Value.HasLeft {
			left = "NULL"
		}
		if !kv.Value.HasRight {
			right = "NULL"
		}
		return fmt.Sprintf("%s %s-%s", kv.Key, left, right)
	}, rows)
	c := Collect(s, sdk.ParDo(s, sdk.DoFn[string, string](withStamp{}), rendered))
	if _, err := r.Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := c.Elements()
	slices.Sort(got)
	diff(t, "rows", want, got)
}

// testInnerIntervalJoin is case 47, within 5s either way: L@10s and R@12s
// match; R@30s matches nothing; L@10s is still there when the watermark
// is at 15s (a late R@14s matches it) and evicted once it passes 15s (a
// late R@14s then finds nothing, as documented).
func testInnerIntervalJoin(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	j := newJoinScript(s)
	j.left.AddElementsAt(sec(10), sdk.Pair("k", "l10"))
	j.right.AddElementsAt(sec(12), sdk.Pair("k", "r12"))
	j.right.AddElementsAt(sec(30), sdk.Pair("k", "r30"))
	j.watermark(sec(15))
	j.right.AddElementsAt(sec(14), sdk.Pair("k", "r14a"))
	j.watermark(ms(15001))
	j.right.AddElementsAt(sec(14), sdk.Pair("k", "r14b"))
	j.end()
	rows := sdk.IntervalJoin(s, j.left.Output(), j.right.Output(), sdk.JoinInterval{Lower: -5 * time.Second, Upper: 5 * time.Second})
	runJoin(t, r, p, rows, []string{"k l10-r12 @12000", "k l10-r14a @14000"})
}

// testLeftOuterIntervalJoin is case 48, with rights up to 5s after the
// left: L(a)@10s, unmatched, comes out once with a NULL right side, at its
// own timestamp; L(b)@10s, matched by R(b)@12s, which is evicted first
// (once the watermark passes 12s), never does (SPARK-26154).
func testLeftOuterIntervalJoin(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	j := newJoinScript(s)
	j.left.AddElementsAt(sec(10), sdk.Pair("a", "l10"), sdk.Pair("b", "l10"))
	j.right.AddElementsAt(sec(12), sdk.Pair("b", "r12"))
	j.right.AddElementsAt(sec(30), sdk.Pair("a", "r30"))
	j.watermark(sec(13))
	j.watermark(sec(16))
	j.right.AddElementsAt(sec(16), sdk.Pair("a", "r16"))
	j.end()
	rows := sdk.LeftOuterIntervalJoin(s, j.left.Output(), j.right.Output(), sdk.JoinInterval{Lower: 0, Upper: 5 * time.Second})
	runJoin(t, r, p, rows, []string{"a l10-NULL @10000", "b l10-r12 @12000"})
}

// testFullOuterIntervalJoin is case 48 for both sides, rights up to 5s
// after the left: L(a)@10s and R(c)@20s match nothing and come out once
// each, at their own timestamps, with the other side NULL; L(b)@10s and
// R(b)@12s match, and neither comes out alone, though R(b) is evicted
// before L(b); R(a)@16s arrives after L(a) was evicted and comes out alone.
func testFullOuterIntervalJoin(t *testing.T, r runner.Runner) {
	p := sdk.NewPipeline()
	s := p.Root()
	j := newJoinScript(s)
	j.left.AddElementsAt(sec(10), sdk.Pair("a", "l10"), sdk.Pair("b", "l10"))
	j.right.AddElementsAt(sec(12), sdk.Pair("b", "r12"))
	j.right.AddElementsAt(sec(20), sdk.Pair("c", "r20"))
	j.watermark(sec(13))
	j.watermark(sec(16))
	j.right.AddElementsAt(sec(16), sdk.Pair("a", "r16"))
	j.end()
	rows := sdk.FullOuterIntervalJoin(s, j.left.Output(), j.right.Output(), sdk.JoinInterval{Lower: 0, Upper: 5 * time.Second})
	runJoin(t, r, p, rows, []string{"a NULL-r16 @16000", "a l10-NULL @10000", "b l10-r12 @12000", "c NULL-r20 @20000"})
}
