// Command adjoin is Spark's stream-stream join example in Beam terms: ad
// impressions and ad clicks, two streams keyed by ad id, joined so that a
// click counts for an impression when it comes within an hour after it.
// Impressions that no click followed within the hour are reported too,
// once the watermark shows that none can still come (a left outer
// interval join); state is evicted by event-time timers, so it stays
// bounded however long the streams run.
//
// The input is a script of lines, "impression <ad> <id> <minute>",
// "click <ad> <id> <minute>" and "watermark <minute>", played by a
// TestStream so that late and out-of-order events are deterministic.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Event is an impression or a click of an ad.
type Event struct {
	ID     string
	Minute int64
}

// Attributed is one output row: an impression and the click it got, or
// "-" for an impression no click followed within the hour.
type Attributed struct {
	Ad, Impression, Click string
}

func (a Attributed) String() string { return a.Ad + " " + a.Impression + " " + a.Click }

// Attribute joins clicks to the impressions of the same ad they follow
// within an hour.
func Attribute(s sdk.Scope, impressions, clicks sdk.PCollection[sdk.KV[string, Event]]) sdk.PCollection[Attributed] {
	joined := sdk.LeftOuterIntervalJoin(s, impressions, clicks, sdk.JoinInterval{Lower: 0, Upper: time.Hour})
	return sdk.Map(s, func(kv sdk.KV[string, sdk.Joined[Event, Event]]) Attributed {
		click := "-"
		if kv.Value.HasRight {
			click = kv.Value.Right.ID
		}
		return Attributed{Ad: kv.Key, Impression: kv.Value.Left.ID, Click: click}
	}, joined)
}

// Script plays the lines as a TestStream with two outputs, impressions
// and clicks, whose watermarks advance together.
func Script(s sdk.Scope, lines []string) (impressions, clicks sdk.PCollection[sdk.KV[string, Event]], err error) {
	ts := sdk.NewTestStream[sdk.KV[string, Event]](s)
	imp, clk := ts.Tag("impressions"), ts.Tag("clicks")
	for _, line := range lines {
		f := strings.Fields(line)
		minute, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil || len(f) != 4 && !(len(f) == 2 && f[0] == "watermark") {
			return impressions, clicks, fmt.Errorf("adjoin: bad line %q", line)
		}
		at := time.Unix(minute*60, 0)
		switch f[0] {
		case "impression":
			imp.AddElementsAt(at, sdk.Pair(f[1], Event{ID: f[2], Minute: minute}))
		case "click":
			clk.AddElementsAt(at, sdk.Pair(f[1], Event{ID: f[2], Minute: minute}))
		case "watermark":
			imp.AdvanceWatermarkTo(at)
			clk.AdvanceWatermarkTo(at)
		default:
			return impressions, clicks, fmt.Errorf("adjoin: bad line %q", line)
		}
	}
	imp.AdvanceWatermarkToInfinity()
	clk.AdvanceWatermarkToInfinity()
	return imp.Output(), clk.Output(), nil
}

// Run runs the attribution of the script on r, handing every row to out.
func Run(ctx context.Context, r runner.Runner, lines []string, out func(context.Context, Attributed) error) error {
	p := sdk.NewPipeline()
	s := p.Root()
	impressions, clicks, err := Script(s, lines)
	if err != nil {
		return err
	}
	sdk.ForEachFunc(s, out, Attribute(s, impressions, clicks))
	_, err = r.Run(ctx, p)
	return err
}

// demo is a day's start: a click out of order (c2), one too late for its
// impression's hour (c3), and one that arrives after the watermark passed
// it (c4, late data: it still matches i3, which waits until minute 80,
// but no longer i1, evicted when the watermark passed minute 60).
var demo = []string{
	"impression ad1 i1 0",
	"impression ad2 i2 5",
	"click ad1 c1 30",
	"impression ad1 i3 20",
	"click ad1 c2 10",
	"watermark 50",
	"click ad2 c3 70",
	"watermark 70",
	"click ad1 c4 40",
	"watermark 200",
}

func main() {
	flag.Parse()
	err := Run(context.Background(), local.New(nil), demo, func(_ context.Context, a Attributed) error {
		fmt.Println(a)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
