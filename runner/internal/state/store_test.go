package state

import (
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

func TestGCTime(t *testing.T) {
	tests := []struct {
		name     string
		lateness time.Duration
		w        window.Window
		want     window.Time
	}{
		{"an interval window expires after its maximum timestamp", 0, window.Interval(0, 10_000), 9_999},
		{"allowed lateness extends it", 5 * time.Second, window.Interval(0, 10_000), 14_999},
		{"the global window ends at EndOfGlobalWindow", 0, window.Global(), window.EndOfGlobalWindow},
		{"lateness past MaxTime is capped", 48 * time.Hour, window.Global(), window.MaxTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(&Options{AllowedLateness: tc.lateness})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.GCTime(tc.w); got != tc.want {
				t.Errorf("GCTime(%v) = %v, want %v", tc.w, got, tc.want)
			}
		})
	}
	if _, err := Open(&Options{AllowedLateness: -time.Second}); err == nil {
		t.Error("Open with negative lateness succeeded")
	}
}

// TestWriteSetRanges checks range deletion and the merged range set
// of a write set's partition against brute force.
func TestWriteSetRanges(t *testing.T) {
	w := &partWrites{}
	var a keyArena
	in := func(k string, spans [][2]string) bool {
		for _, s := range spans {
			if k >= s[0] && k < s[1] {
				return true
			}
		}
		return false
	}
	var spans [][2]string
	for _, s := range [][2]string{{"b", "d"}, {"f", "h"}, {"d", "e"}, {"a", "b"}, {"x", "z"}, {"c", "g"}, {"k", "k"}} {
		w.deleteRange(&a, []byte(s[0]), []byte(s[1]))
		spans = append(spans, s)
		for c := byte('a'); c <= 'z'; c++ {
			for _, k := range []string{string(c), string(c) + "\x00", string(c) + "m"} {
				if got, want := w.deleted(k), in(k, spans); got != want {
					t.Fatalf("after %v: deleted(%q) = %v, want %v", spans, k, got, want)
				}
			}
		}
	}
	if len(w.dels) != 2 {
		t.Errorf("%d merged ranges, want 2 ([a,h) and [x,z))", len(w.dels))
	}
}

func TestWriteSetRangeAcrossKeysPanics(t *testing.T) {
	w := newWriteSet()
	lo := cellPrefix(nil, Cell{Transform: "t", State: "s", Key: []byte("a")})
	hi := cellPrefix(nil, Cell{Transform: "t", State: "s", Key: []byte("b")})
	defer func() {
		if recover() == nil {
			t.Error("a range delete across user keys did not panic")
		}
	}()
	w.deleteRange(lo, hi)
}
