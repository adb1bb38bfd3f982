// Command streamhand is the hand-written streaming benchmark: the practical
// limit our runner's streaming job is measured against. It counts the bids
// of package bids' stream per auction in sliding windows of 10 s every 2 s,
// with a watermark that trails the stream by its jitter bound, and early
// panes once a second of wall time: each of -workers goroutines generates
// the stream and keeps the auctions of its own partition in one Go map per
// live window, emits a window's final counts once the watermark passes its
// end and forgets it. It prints a bids.Summary line.
package main

import (
	"flag"
	"log"
	"os"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/bids"
)

func main() {
	events := flag.Int64("events", bids.Default.Events, "bids in the stream")
	workers := flag.Int("workers", 2, "goroutines, each counting a partition of the auctions")
	early := flag.Duration("early", time.Second, "wall time between early panes")
	flag.Parse()
	log.SetFlags(0)
	c := bids.Default
	c.Events = *events
	start := time.Now()
	results := make([]result, *workers)
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = count(c, int64(w), int64(*workers), *early)
		}()
	}
	wg.Wait()
	s := bids.Summary{Program: "streamhand", Events: c.Events}
	var d bids.Digest
	for _, r := range results {
		d.Merge(r.digest)
		s.Panes += r.panes
	}
	s.Windows, s.Bids, s.Digest = d.Windows, d.Bids, d.Sum
	s.Seconds = time.Since(start).Seconds()
	if err := s.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// result is one worker's share.
type result struct {
	digest bids.Digest
	panes  int64
}

// cell is the count of one auction in one window: total so far, and what
// earlier panes already emitted.
type cell struct{ total, emitted int64 }

// count counts the auctions a with a % workers == part.
func count(c bids.Config, part, workers int64, early time.Duration) result {
	var r result
	live := map[int64]map[int64]*cell{} // window start -> auction -> cell
	var oldest int64 = 1 << 62          // earliest live window start
	nextEarly := time.Now().Add(early)
	for i := range c.Events {
		b := c.At(i)
		if b.Auction%workers == part {
			for _, s := range bids.WindowStarts(b.Time) {
				w := live[s]
				if w == nil {
					w = map[int64]*cell{}
					live[s] = w
					oldest = min(oldest, s)
				}
				if x := w[b.Auction]; x != nil {
					x.total++
				} else {
					w[b.Auction] = &cell{total: 1}
				}
			}
		}
		wm := c.Watermark(i)
		for oldest+bids.WindowMs <= wm { // the watermark passed the window's end
			for a, x := range live[oldest] {
				r.digest.Add(a, oldest, x.total)
				r.panes++
			}
			delete(live, oldest)
			oldest += bids.PeriodMs
			if len(live) == 0 {
				oldest = 1 << 62
			}
		}
		if i&4095 == 0 && time.Now().After(nextEarly) {
			r.panes += emitEarly(live)
			nextEarly = time.Now().Add(early)
		}
	}
	for s, w := range live { // the end of the stream: the watermark goes to infinity
		for a, x := range w {
			r.digest.Add(a, s, x.total)
			r.panes++
		}
	}
	return r
}

// emitEarly emits an early pane for every cell that changed since its last
// pane (DISCARDING: the pane holds the change), and counts them.
func emitEarly(live map[int64]map[int64]*cell) int64 {
	var n int64
	for _, w := range live {
		for _, x := range w {
			if x.total > x.emitted {
				x.emitted = x.total
				n++
			}
		}
	}
	return n
}
