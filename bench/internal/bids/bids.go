// Package bids generates the bid stream of the streaming benchmark, a
// Nexmark-style stream of auction bids with event timestamps, and checks
// its result: per auction, the number of bids in sliding windows of 10 s
// every 2 s. Every program of the benchmark (ours, the Beam Go SDK's on
// Prism, the hand-written one) generates the same events from the same
// Config and reports the same digest, so results are compared, not trusted.
package bids

import (
	"encoding/json"
	"io"
)

// Config describes a stream.
type Config struct {
	// Events is how many bids the stream has.
	Events int64
	// Auctions is how many auctions the bids are spread over (uniformly).
	Auctions int64
	// Rate is how many bids one second of event time holds.
	Rate int64
	// JitterMs bounds how far a bid's timestamp lies before its place in
	// the stream: the stream is out of order by up to JitterMs, so a
	// watermark JitterMs behind the latest place is exact.
	JitterMs int64
}

// Default is the benchmark's stream: 10M bids over 10k auctions, 10k bids
// per second of event time (1000 s), out of order by up to half a second.
var Default = Config{Events: 10_000_000, Auctions: 10_000, Rate: 10_000, JitterMs: 500}

// Epoch is the event time of the first bid, in milliseconds since the Unix
// epoch (2026-01-01T00:00:00Z).
const Epoch int64 = 1767225600000

// Window sizes of the benchmark's sliding windows, in milliseconds.
const (
	WindowMs = 10_000
	PeriodMs = 2_000
)

// Bid is one event of the stream.
type Bid struct {
	Auction, Bidder, Price int64
	// Time is the event time in milliseconds since the Unix epoch.
	Time int64
}

// At returns bid i of the stream.
func (c Config) At(i int64) Bid {
	h := mix(uint64(i))
	return Bid{
		Auction: int64(h % uint64(c.Auctions)),
		Bidder:  int64(h>>20) % 100_000,
		Price:   100 + int64(h>>40)%10_000,
		Time:    c.Place(i) - int64(h>>8)%max(c.JitterMs, 1),
	}
}

// Place is the event time that bid i stands for in the stream: its
// timestamp lies in (Place(i) - JitterMs, Place(i)], and Place never
// decreases along the stream.
func (c Config) Place(i int64) int64 { return Epoch + i*1000/c.Rate }

// Watermark is the event time below which no bid after bid i lies.
func (c Config) Watermark(i int64) int64 { return c.Place(i+1) - c.JitterMs }

// WindowStarts returns the starts of the sliding windows [start,
// start+WindowMs) that contain t, earliest first.
func WindowStarts(t int64) [WindowMs / PeriodMs]int64 {
	var out [WindowMs / PeriodMs]int64
	last := t - floorMod(t, PeriodMs)
	for k := range out {
		out[k] = last - int64(len(out)-1-k)*PeriodMs
	}
	return out
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// mix is splitmix64's finalizer: a bijection with good avalanche.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Digest accumulates counts per auction and window into an
// order-independent digest that is linear in the counts: Sum is the sum,
// modulo 2^64, of an odd weight of each (auction, window start) times its
// count. So the same totals give the same Digest however they were
// computed, in whatever order they were added, and whether a window's
// count came in one final pane or in several panes that add up to it; a
// wrong total in one window always changes Sum (an odd weight is
// invertible modulo 2^64). A program that sees a window's panes adds each
// (AddPane) and needs no table of running totals.
type Digest struct {
	// Windows is how many windows were closed (counts added as a
	// window's final pane); Bids is the sum of all counts (each bid counts
	// once per window it lies in).
	Windows, Bids int64
	// Sum is the sum of weight(auction, window start) * count.
	Sum uint64
}

// Add adds the final count of auction in the window starting at start.
func (d *Digest) Add(auction, start, count int64) { d.AddPane(auction, start, count, true) }

// AddPane adds one pane's count of auction in the window starting at
// start; last marks the window's final pane.
func (d *Digest) AddPane(auction, start, count int64, last bool) {
	if last {
		d.Windows++
	}
	d.Bids += count
	d.Sum += weight(auction, start) * uint64(count)
}

// weight is the odd weight of an auction's window in a Digest.
func weight(auction, start int64) uint64 {
	return mix(uint64(auction)^mix(uint64(start))) | 1
}

// Merge adds the counts of o to d.
func (d *Digest) Merge(o Digest) {
	d.Windows += o.Windows
	d.Bids += o.Bids
	d.Sum += o.Sum
}

// Summary is the JSON line every program of the streaming benchmark prints.
type Summary struct {
	Program string `json:"program"`
	Events  int64  `json:"events"`
	// Panes counts every pane emitted, early and final.
	Panes   int64   `json:"panes"`
	Windows int64   `json:"windows"`
	Bids    int64   `json:"bids"`
	Digest  uint64  `json:"digest"`
	Seconds float64 `json:"seconds"`
}

// Print writes s as one JSON line.
func (s Summary) Print(w io.Writer) error {
	return json.NewEncoder(w).Encode(s)
}
