package fnrunner

import (
	"testing"
	"time"
)

func TestRemoteSplitterOffersBundlesOnlyOnceTheyOutliveMinSplitAge(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	s := newRemoteSplitter(nil, "inst", "src")
	s.started, s.now = start, func() time.Time { return now }
	for _, tt := range []struct {
		name          string
		at            time.Duration
		refused       time.Duration // since start; negative: never
		wantRemaining float64
	}{
		{name: "a bundle just sent is not offered", at: 0, refused: -1, wantRemaining: 0},
		{name: "a bundle younger than minSplitAge is not offered", at: minSplitAge - time.Millisecond, refused: -1, wantRemaining: 0},
		{name: "a bundle of minSplitAge is offered", at: minSplitAge, refused: -1, wantRemaining: 1},
		{name: "a bundle whose split was just refused is not offered", at: 2 * minSplitAge, refused: 2*minSplitAge - time.Millisecond, wantRemaining: 0},
		{name: "a bundle is offered again after the refusal's backoff", at: 2*minSplitAge + splitBackoff, refused: 2 * minSplitAge, wantRemaining: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now = start.Add(tt.at)
			s.refused = time.Time{}
			if tt.refused >= 0 {
				s.refused = start.Add(tt.refused)
			}
			if _, rem := s.Progress(); rem != tt.wantRemaining {
				t.Errorf("Progress() at %v remaining = %v, want %v", tt.at, rem, tt.wantRemaining)
			}
		})
	}
}
