package bids

import "testing"

// TestWatermarkIsExact checks the watermark promise on a prefix of the
// default stream: no bid after bid i lies before Watermark(i), and the
// watermark is tight to within JitterMs.
func TestWatermarkIsExact(t *testing.T) {
	c := Default
	const n = 200_000
	minAfter := int64(1) << 62
	for i := int64(n) - 1; i >= 0; i-- {
		if w := c.Watermark(i); minAfter < w {
			t.Fatalf("bid after %d has time %d, before watermark %d", i, minAfter, w)
		}
		minAfter = min(minAfter, c.At(i).Time)
	}
}

func TestWindowStartsContainTheTime(t *testing.T) {
	for _, ts := range []int64{Epoch, Epoch + 1, Epoch + 1999, Epoch + 2000, -1, -2001, 0} {
		starts := WindowStarts(ts)
		for k, s := range starts {
			if ts < s || ts >= s+WindowMs || floorMod(s, PeriodMs) != 0 {
				t.Errorf("time %d: window %d starts at %d", ts, k, s)
			}
			if k > 0 && s != starts[k-1]+PeriodMs {
				t.Errorf("time %d: starts %v not consecutive", ts, starts)
			}
		}
		if next := starts[len(starts)-1] + PeriodMs; next <= ts {
			t.Errorf("time %d: window at %d is missed", ts, next)
		}
	}
}

func TestDigestIsOrderIndependent(t *testing.T) {
	var a, b Digest
	a.Add(1, 2, 3)
	a.Add(4, 5, 6)
	b.Add(4, 5, 6)
	b.Add(1, 2, 3)
	if a != b {
		t.Fatalf("%+v != %+v", a, b)
	}
	var c Digest
	c.Add(1, 2, 4)
	c.Add(4, 5, 5)
	if c.Sum == a.Sum {
		t.Fatal("different counts, same digest")
	}
}

func TestDigestOfPanesIsDigestOfTotals(t *testing.T) {
	var totals, panes Digest
	totals.Add(1, 2, 7)
	totals.Add(3, 4, 1)
	panes.AddPane(1, 2, 5, false)
	panes.AddPane(3, 4, 1, true)
	panes.AddPane(1, 2, 2, true)
	if panes != totals {
		t.Errorf("panes %+v, totals %+v: want equal", panes, totals)
	}
	panes.AddPane(1, 2, 1, false) // a pane after the final one
	if panes == totals {
		t.Error("one more pane left the digest unchanged")
	}
}
