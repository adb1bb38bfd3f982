// Package keyed generates the events of the stateful benchmark (issue 16)
// and checks its result. Every program of the benchmark (ours on the
// local runner, the Beam Go SDK's on Prism) generates the same events
// from the same Config, runs them through a DoFn that keeps, per key, a
// count in value state and the events' payloads in bag state and sets an
// event-time timer, and reports the same totals of what the timers
// emitted, so that results are compared, not trusted.
package keyed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Config describes a run.
type Config struct {
	// Events is how many events there are, Keys how many keys they are
	// spread over (evenly: every key gets Events/Keys or one more).
	Events, Keys int64
	// Payload is the size in bytes of each event's bag value (at least 8:
	// the value's first 8 bytes are the event's number).
	Payload int
}

// Default is the benchmark's run: 10M events over 1M keys, 8-byte
// payloads.
var Default = Config{Events: 10_000_000, Keys: 1_000_000, Payload: 8}

// Epoch is the event time of the first event, in milliseconds since the
// Unix epoch (2026-01-01T00:00:00Z); event i is Epoch + i/10 (10k events
// per second of event time).
const Epoch int64 = 1767225600000

// FlushAfterMs is how long after a key's latest event its timer fires.
const FlushAfterMs = 60_000

// Event is one event: a key, its number and its time.
type Event struct {
	Key, N int64
	// Time is the event time in milliseconds since the Unix epoch.
	Time int64
}

// At returns event i. Consecutive events go to keys far apart (a
// multiplicative scramble), so bundles spread over the key space.
func (c Config) At(i int64) Event {
	return Event{Key: (i * 7919) % c.Keys, N: i, Time: Epoch + i/10}
}

// PayloadOf returns event n's bag value: n big-endian, padded with a fill
// byte to the configured size.
func (c Config) PayloadOf(n int64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, max(c.Payload, 8)), uint64(n))
	for len(b) < c.Payload {
		b = append(b, byte(n))
	}
	return b
}

// Total is what the flushed keys report: how many keys flushed, the sum
// of their counts (value state), of their bags' lengths and of the event
// numbers in their bags. A program adds each timer's output to it.
type Total struct {
	Keys, Count, BagLen, Sum int64
}

// Add adds one key's flush.
func (t *Total) Add(count, bagLen, sum int64) {
	t.Keys++
	t.Count += count
	t.BagLen += bagLen
	t.Sum += sum
}

// Want is the total every program must report for c when each key is
// flushed once (Check tells when more flushes are right too), with all its
// events counted and in its bag.
func (c Config) Want() Total {
	n := c.Events
	return Total{Keys: min(c.Keys, n), Count: n, BagLen: n, Sum: n * (n - 1) / 2}
}

// MaxFlushes is the most flushes a right program may report for c. A key's
// events are c.Keys events, c.Keys/10 ms of event time, apart; when that is
// more than FlushAfterMs, a key's timer may fire between two of its events
// (as it does at the default 10M events over 1M keys: 100 s apart), and
// whether it does depends on how far the watermark got when the next event
// was processed, which is the runner's choice. Then a key may flush after
// any of its events.
func (c Config) MaxFlushes() int64 {
	if c.Keys > FlushAfterMs*10 {
		return c.Events
	}
	return c.Want().Keys
}

// Check reports whether got is a right total for c: every event counted,
// in a bag and summed exactly once, and between Want().Keys and
// MaxFlushes() flushes.
func (c Config) Check(got Total) bool {
	want := c.Want()
	return got.Count == want.Count && got.BagLen == want.BagLen && got.Sum == want.Sum &&
		got.Keys >= want.Keys && got.Keys <= c.MaxFlushes()
}

// SumBag adds up the event numbers in a bag's payloads.
func SumBag(payloads [][]byte) int64 {
	var s int64
	for _, p := range payloads {
		s += int64(binary.BigEndian.Uint64(p))
	}
	return s
}

// Summary is the result line every program prints, one JSON object.
type Summary struct {
	Program string  `json:"program"`
	Events  int64   `json:"events"`
	Keys    int64   `json:"keys"`
	Payload int     `json:"payload"`
	Total   Total   `json:"total"`
	OK      bool    `json:"ok"`
	Seconds float64 `json:"seconds"`
	// EventsPerSec is Events / Seconds.
	EventsPerSec float64 `json:"events_per_sec"`
	// PeakRSSMiB is the process's peak resident set (VmHWM).
	PeakRSSMiB int64 `json:"peak_rss_mib"`
	// CPUSeconds is the process's user + system CPU time.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// NewSummary fills a summary of a run of c that took seconds and
// reported got, with the process's peak RSS and CPU time.
func NewSummary(program string, c Config, got Total, seconds float64) Summary {
	s := Summary{Program: program, Events: c.Events, Keys: c.Keys, Payload: c.Payload, Total: got,
		OK: c.Check(got), Seconds: seconds, EventsPerSec: float64(c.Events) / seconds}
	s.PeakRSSMiB, _ = PeakRSS()
	s.PeakRSSMiB >>= 20
	s.CPUSeconds = CPUSeconds()
	return s
}

// Print writes s as one JSON line.
func (s Summary) Print(w io.Writer) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// PeakRSS returns the process's peak resident set in bytes, from
// /proc/self/status (Linux).
func PeakRSS() (int64, bool) { return statusKB("VmHWM:") }

// CurrentRSS returns the process's resident set in bytes (Linux).
func CurrentRSS() (int64, bool) { return statusKB("VmRSS:") }

// statusKB reads a kB figure of /proc/self/status, in bytes.
func statusKB(field string) (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
