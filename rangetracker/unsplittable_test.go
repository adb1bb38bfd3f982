package rangetracker

import "testing"

// TestUnsplittable transcribes Beam's UnsplittableRangeTracker tests: claims
// delegate, every split is refused, and split points are always (0, 1).
func TestUnsplittable(t *testing.T) {
	tests := []struct {
		name  string
		steps []step[int64]
	}{
		{
			name:  "claims delegate to the wrapped tracker",
			steps: []step[int64]{off.claim(110, true), off.claim(140, true), off.claim(183, true), off.claim(210, false)},
		},
		{
			name: "splits inside and outside the range are refused",
			steps: []step[int64]{
				off.claim(110, true), off.refuse(109, RefusedUnsplittable), off.refuse(210, RefusedUnsplittable),
				off.refuse(111, RefusedUnsplittable), off.refuse(130, RefusedUnsplittable),
				off.refuse(199, RefusedUnsplittable), off.noCheckpoint(RefusedUnsplittable), off.stop(200),
			},
		},
		{
			name: "split points are always one remaining",
			steps: []step[int64]{
				off.splitPoints(0, 1), off.claim(110, true), off.claim(120, true), off.splitPoints(0, 1),
			},
		},
		{
			name: "positions, fractions and misuse errors delegate",
			steps: []step[int64]{
				off.position(0.5, 150), off.setErr(110), off.claim(110, true), off.fraction(0.1), off.claimErr(105),
				off.set(120), off.fraction(0.2),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := NewUnsplittable[int64](NewOffset(100, 200))
			rt.SetSplitPointsUnclaimedCallback(func(int64) int64 { return 7 })
			runSteps(t, rt, tt.steps, eqInt64)
		})
	}
}

func TestUnsplittableInfiniteRange(t *testing.T) {
	// The shape file sources use for compressed files.
	rt := NewUnsplittable[int64](NewOffset(0, OffsetInfinity))
	runSteps(t, rt, []step[int64]{
		off.claim(0, true), off.claim(1<<40, true), off.refuse(1<<41, RefusedUnsplittable), off.positionErr(0.5),
		off.fraction(0), off.stop(OffsetInfinity),
	}, eqInt64)
}

func TestTrySplitReasonOfPlainTracker(t *testing.T) {
	// A tracker that is only a RangeTracker: the reason is unknown.
	rt := struct{ RangeTracker[int64] }{NewOffset(0, 10)}
	if _, _, why := TrySplitReason[int64](rt, 5); why != RefusedUnknown {
		t.Errorf("TrySplitReason(5) before a claim = %q, want %q", why, RefusedUnknown)
	}
	rt.TryClaim(1)
	if pos, f, why := TrySplitReason[int64](rt, 5); pos != 5 || f != 0.5 || why != Accepted {
		t.Errorf("TrySplitReason(5) = %d, %v, %q; want 5, 0.5, %q", pos, f, why, Accepted)
	}
	if _, _, why := TrySplitReason[int64](NewOffset(0, 10), 5); why != RefusedUnstarted {
		t.Errorf("TrySplitReason(5) of an unstarted Offset = %q, want %q", why, RefusedUnstarted)
	}
}

func TestRefusalString(t *testing.T) {
	for r := Accepted; r <= RefusedUnknown; r++ {
		if s := r.String(); s == "" || s[0] == 'R' {
			t.Errorf("Refusal(%d).String() = %q, want a description", r, s)
		}
	}
	if got, want := Refusal(200).String(), "Refusal(200)"; got != want {
		t.Errorf("Refusal(200).String() = %q, want %q", got, want)
	}
}
