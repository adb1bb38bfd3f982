package main

import (
	"context"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
)

// The job prints early panes while windows fill and one final ON_TIME
// pane per key and window; each key's panes only grow (accumulating), and
// the final counts add up to about the ticks generated before the drain.
func TestRunPrintsUpdatesAndFinalCounts(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	src := unbounded.Rate{PerSecond: 200, NumPartitions: 2, Start: time.Now().Truncate(time.Second)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Run(ctx, src, 3, 1500*time.Millisecond, func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	re := regexp.MustCompile(`^(\S+) key=(\d) count=(\d+) \((EARLY|ON_TIME|LATE)\)$`)
	final := map[string]int{}
	last := map[string]int{}
	var total, early int
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q does not look like a count", l)
		}
		id := m[1] + "/" + m[2]
		n, _ := strconv.Atoi(m[3])
		if n < last[id] {
			t.Errorf("%s: count went from %d to %d; accumulating panes only grow", id, last[id], n)
		}
		last[id] = n
		switch m[4] {
		case "EARLY":
			early++
		case "ON_TIME":
			if _, dup := final[id]; dup {
				t.Errorf("%s: two ON_TIME panes", id)
			}
			final[id] = n
			total += n
		default:
			t.Errorf("unexpected pane: %q", l)
		}
	}
	if early == 0 {
		t.Errorf("no early panes in %d lines", len(lines))
	}
	if len(final) != len(last) {
		t.Errorf("%d windows and keys have a final pane, of %d printed", len(final), len(last))
	}
	// The source started up to a second before the job and ran 1.5 s at
	// 200 ticks per second.
	if total < 250 || total > 550 {
		t.Errorf("final counts add up to %d, want 300 to 500", total)
	}
}
