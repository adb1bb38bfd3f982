package main

import (
	"context"
	"log"
	"os"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/beamgo-dev/beamgo/bench/internal/bids"
)

// The streaming job (--job=stream): package bids' stream counted per
// auction in sliding windows of 10 s every 2 s, with early panes one
// second of processing time after a window's first bid, DISCARDING, as
// the main module's bench/stream job runs it.

// genBids emits the first n bids of the default stream, timestamped.
func genBids(_ []byte, emit func(beam.EventTime, int64)) {
	c := bids.Default
	for i := range streamEvents {
		b := c.At(i)
		emit(mtime.FromMilliseconds(b.Time), b.Auction)
	}
}

var streamEvents int64

var (
	// smu guards the fields below.
	smu   sync.Mutex
	sums  = map[[2]int64]int64{} // (auction, window start) -> count over panes
	panes int64
)

// keepPane adds one pane's count.
func keepPane(w beam.Window, auction int64, n int) {
	iw := w.(window.IntervalWindow)
	smu.Lock()
	sums[[2]int64{auction, int64(iw.Start)}] += int64(n)
	panes++
	smu.Unlock()
}

func init() {
	register.Function2x0(genBids)
	register.Emitter2[beam.EventTime, int64]()
	register.Function3x0(keepPane)
}

// earlyTrigger returns the early firing of --early: "pt", a pane one
// second of processing time after a window's first bid, or "count", a
// pane every 5 bids of a window.
func earlyTrigger(early string) trigger.Trigger {
	if early == "count" {
		return trigger.Repeat(trigger.AfterCount(5))
	}
	return trigger.AfterProcessingTime().PlusDelay(time.Second)
}

func runStream(events int64, early string) {
	streamEvents = events
	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	auctions := beam.ParDo(s, genBids, beam.Impulse(s))
	windowed := beam.WindowInto(s, window.NewSlidingWindows(2*time.Second, 10*time.Second), auctions,
		beam.Trigger(trigger.AfterEndOfWindow().EarlyFiring(earlyTrigger(early))),
		beam.PanesDiscard())
	beam.ParDo0(s, keepPane, stats.Count(s, windowed))
	if _, err := prism.Execute(context.Background(), p); err != nil {
		log.Fatalf("beam: %v", err)
	}
	out := bids.Summary{Program: "beam-prism", Events: events, Seconds: time.Since(start).Seconds()}
	smu.Lock()
	var d bids.Digest
	for k, n := range sums {
		d.Add(k[0], k[1], n)
	}
	out.Panes = panes
	smu.Unlock()
	out.Windows, out.Bids, out.Digest = d.Windows, d.Bids, d.Sum
	if err := out.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}
