package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/periodic"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
)

// The rate job (--job=rate): the main module's bench/ratelatency on Prism.
// Beam Go's periodic.Sequence emits a number every 1/--rate seconds at
// its event time for --for, keyed modulo rateKeys, counted per key in
// one-second windows with early panes every --earlycount elements,
// DISCARDING. The latency of a key and window is the wall time its last
// pane reaches the sink minus the window's end (event time is wall time);
// Prism labels that pane EARLY, not ON_TIME, so the timing is not used.

const rateKeys = 100

func keyTick(n int64) (int64, int64) { return n % rateKeys, 1 }

var (
	// rmu guards the fields below.
	rmu      sync.Mutex
	rateSum  int64
	ratePane = map[typex.PaneTiming]int{}
	rateLast = map[[2]int64]time.Time{} // (key, window end) -> last pane's arrival
)

// keepRatePane records one pane's count and when it arrived.
func keepRatePane(pane typex.PaneInfo, w beam.Window, key int64, n int64) {
	now := time.Now()
	end := w.MaxTimestamp().ToTime().Add(time.Millisecond)
	rmu.Lock()
	defer rmu.Unlock()
	rateSum += n
	ratePane[pane.Timing]++
	k := [2]int64{key, end.UnixMilli()}
	if now.After(rateLast[k]) {
		rateLast[k] = now
	}
}

func init() {
	register.Function1x2(keyTick)
	register.Function4x0(keepRatePane)
}

func runRate(rate float64, d time.Duration, earlyCount int32) {
	start := time.Now().Truncate(time.Second)
	interval := time.Duration(float64(time.Second) / rate)
	p, s := beam.NewPipelineWithRoot()
	seq := periodic.Sequence(s, beam.Create(s, periodic.NewSequenceDefinition(start, start.Add(d), interval)))
	keyed := beam.ParDo(s, keyTick, seq)
	windowed := beam.WindowInto(s, window.NewFixedWindows(time.Second), keyed,
		beam.Trigger(trigger.AfterEndOfWindow().EarlyFiring(trigger.Repeat(trigger.AfterCount(earlyCount)))),
		beam.PanesDiscard())
	beam.ParDo0(s, keepRatePane, stats.SumPerKey(s, windowed))
	t0 := time.Now()
	if _, err := prism.Execute(context.Background(), p); err != nil {
		log.Fatalf("beam: %v", err)
	}
	wall := time.Since(t0)
	rmu.Lock()
	defer rmu.Unlock()
	fmt.Printf("ticks counted %d, panes early %d on time %d late %d, wall %.2f s\n",
		rateSum, ratePane[typex.PaneEarly], ratePane[typex.PaneOnTime], ratePane[typex.PaneLate], wall.Seconds())
	var lat []time.Duration
	for k, at := range rateLast {
		lat = append(lat, at.Sub(time.UnixMilli(k[1])))
	}
	if len(lat) == 0 {
		log.Fatal("beam: no pane")
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	fmt.Printf("latency of each key and window's last pane (sink arrival - window end): median %v p99 %v max %v over %d windows\n",
		q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))
}
