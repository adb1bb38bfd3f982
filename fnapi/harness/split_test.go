package harness

import (
	"math"
	"testing"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
)

// fakeTracker is a restriction read done/(done+remaining) of the way,
// which splits as asked unless refuse is set.
type fakeTracker struct {
	done, remaining float64
	refuse          bool
	asked           float64
}

func (f *fakeTracker) Progress() (float64, float64) { return f.done, f.remaining }

func (f *fakeTracker) TrySplit(frac float64) ([]byte, []byte, bool) {
	f.asked = frac
	if f.refuse {
		return nil, nil, false
	}
	return []byte("primary"), []byte("residual"), true
}

func TestSplitPoint(t *testing.T) {
	tests := []struct {
		name      string
		cur       int64
		tracker   *fakeTracker
		desired   *fnpb.ProcessBundleSplitRequest_DesiredSplit
		wantFirst int64
		wantRoots bool
		wantAsked float64
	}{
		{"Half of ten elements from the first keeps five.", 0, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5, EstimatedInputElements: 10}, 5, false, 0},
		{"The split point is rounded up past the element in progress.", 7, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.1, EstimatedInputElements: 10}, 8, false, 0},
		{"A split at the end of the input is no split.", 9, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5, EstimatedInputElements: 10}, -1, false, 0},
		{"Without an estimate the input is the element in progress: no split.", 3, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5}, -1, false, 0},
		{"A fraction of 1 keeps everything.", 0, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 1, EstimatedInputElements: 10}, -1, false, 0},
		{"A negative fraction is refused.", 0, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: -0.5, EstimatedInputElements: 10}, -1, false, 0},
		{"A split point inside the restriction in progress splits it.", 0, &fakeTracker{done: 25, remaining: 75},
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5, EstimatedInputElements: 1}, 1, true, 0.5},
		{"The restriction's share is relative to its remainder.", 2, &fakeTracker{done: 50, remaining: 50},
			// pos 2.5 of 4: target 2.5 + 0.25*1.5 = 2.875, 0.75 of the
			// current element's remaining half.
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.25, EstimatedInputElements: 4}, 3, true, 0.75},
		{"A split point past the restriction in progress splits the channel.", 0, &fakeTracker{done: 10, remaining: 90},
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5, EstimatedInputElements: 10}, 6, false, 0},
		{"A restriction that refuses falls back to the channel after it.", 0, &fakeTracker{done: 10, remaining: 90, refuse: true},
			// pos 0.1 of 2: target 0.1 + 0.25*1.9 = 0.575, 0.475/0.9 of
			// the current element's remainder.
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.25, EstimatedInputElements: 2}, 1, false, 0.475 / 0.9},
		{"Allowed split points move the split to the next allowed one.", 0, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5, EstimatedInputElements: 10, AllowedSplitPoints: []int64{8, 2, 7}}, 7, false, 0},
		{"No allowed split point after the target is no split.", 0, nil,
			&fnpb.ProcessBundleSplitRequest_DesiredSplit{FractionOfRemainder: 0.5, EstimatedInputElements: 10, AllowedSplitPoints: []int64{1, 2}}, -1, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr *fakeTracker
			var first int64
			var p, r []byte
			if tt.tracker != nil {
				tr = tt.tracker
				first, p, r = splitPoint(tt.cur, tr, tt.desired)
			} else {
				first, p, r = splitPoint(tt.cur, nil, tt.desired)
			}
			if first != tt.wantFirst || (r != nil) != tt.wantRoots || (p != nil) != tt.wantRoots {
				t.Errorf("splitPoint(%d, %v) = %d, roots %v, want %d, roots %v", tt.cur, tt.desired, first, r != nil, tt.wantFirst, tt.wantRoots)
			}
			if tr != nil && math.Abs(tr.asked-tt.wantAsked) > 1e-9 {
				t.Errorf("TrySplit(%v), want TrySplit(%v)", tr.asked, tt.wantAsked)
			}
		})
	}
}
