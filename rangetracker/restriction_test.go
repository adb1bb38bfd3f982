package rangetracker

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRestrictionTrackerTrySplit(t *testing.T) {
	type split struct {
		Primary, Residual Restriction[int64]
		OK                bool
	}
	tests := []struct {
		name     string
		rt       func() RangeTracker[int64]
		weight   float64
		claims   []int64
		finish   bool
		fraction float64
		want     split
		// wantClaim is the result of claiming wantClaimAt after the split.
		wantClaimAt int64
		wantClaim   bool
	}{
		{
			name: "Beam's example keeps 0.7 of the remainder of [100, 200) read to 130",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{110, 130},
			fraction: 0.7,
			want: split{
				Primary:  Restriction[int64]{Start: 100, Stop: 179, Weight: 79},
				Residual: Restriction[int64]{Start: 179, Stop: 200, Weight: 21},
				OK:       true,
			},
			wantClaimAt: 178, wantClaim: true,
		},
		{
			name:   "half of the remainder of an unread ordered range splits at its middle",
			rt:     func() RangeTracker[int64] { return NewOrdered(0, 1000, offsetOrdering) },
			weight: 10, fraction: 0.5,
			want: split{
				Primary:  Restriction[int64]{Start: 0, Stop: 500, Weight: 5},
				Residual: Restriction[int64]{Start: 500, Stop: 1000, Weight: 5},
				OK:       true,
			},
			wantClaimAt: 500, wantClaim: false,
		},
		{
			name: "a fraction of 0 checkpoints right after the last record",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{130},
			fraction: 0,
			want: split{
				Primary:  Restriction[int64]{Start: 100, Stop: 131, Weight: 31},
				Residual: Restriction[int64]{Start: 131, Stop: 200, Weight: 69},
				OK:       true,
			},
			wantClaimAt: 131, wantClaim: false,
		},
		{
			name: "a fraction of 1 keeps everything",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{130},
			fraction: 1, wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "a negative fraction is no split",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{130},
			fraction: -0.5, wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "a NaN fraction is no split",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{130},
			fraction: math.NaN(), wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "an unstarted offset range cannot split",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100,
			fraction: 0.5, wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "an unstarted offset range cannot checkpoint",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100,
			fraction: 0, wantClaimAt: 100, wantClaim: true,
		},
		{
			name: "an infinite range cannot split",
			rt:   func() RangeTracker[int64] { return NewOffset(100, OffsetInfinity) }, weight: 100, claims: []int64{130},
			fraction: 0.5, wantClaimAt: 1 << 40, wantClaim: true,
		},
		{
			name: "an unsplittable tracker cannot split",
			rt:   func() RangeTracker[int64] { return NewUnsplittable[int64](NewOffset(100, 200)) }, weight: 100,
			claims: []int64{130}, fraction: 0.5, wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "an unsplittable tracker cannot checkpoint",
			rt:   func() RangeTracker[int64] { return NewUnsplittable[int64](NewOffset(100, 200)) }, weight: 100,
			claims: []int64{130}, fraction: 0, wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "a read ended by a failed claim cannot split",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{130, 250},
			fraction: 0.5, wantClaimAt: 251, wantClaim: false,
		},
		{
			name: "a finished read cannot split",
			rt:   func() RangeTracker[int64] { return NewOffset(100, 200) }, weight: 100, claims: []int64{130},
			finish: true, fraction: 0.5, wantClaimAt: 199, wantClaim: true,
		},
		{
			name: "a split landing on the last record is refused",
			rt:   func() RangeTracker[int64] { return NewOffset(0, 1000) }, weight: 1, claims: []int64{999},
			fraction: 0.5, wantClaimAt: 1000, wantClaim: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewRestrictionTracker(tt.rt(), tt.weight)
			for _, p := range tt.claims {
				if _, err := b.TryClaim(p); err != nil {
					t.Fatalf("TryClaim(%d) = %v", p, err)
				}
			}
			if tt.finish {
				b.Finish()
			}
			var got split
			got.Primary, got.Residual, got.OK = b.TrySplit(tt.fraction)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TrySplit(%v) mismatch (-want +got):\n%s", tt.fraction, diff)
			}
			wantRest := Restriction[int64]{Start: tt.rt().StartPosition(), Stop: tt.rt().StopPosition(), Weight: tt.weight}
			if got.OK {
				wantRest = got.Primary
			}
			if diff := cmp.Diff(wantRest, b.Restriction()); diff != "" {
				t.Errorf("Restriction() after TrySplit(%v) mismatch (-want +got):\n%s", tt.fraction, diff)
			}
			if ok, err := b.TryClaim(tt.wantClaimAt); ok != tt.wantClaim || err != nil {
				t.Errorf("TryClaim(%d) after TrySplit(%v) = %v, %v; want %v, nil", tt.wantClaimAt, tt.fraction, ok, err, tt.wantClaim)
			}
		})
	}
}

func TestRestrictionTrackerSuccessiveSplitsDivideTheWeight(t *testing.T) {
	b := NewRestrictionTracker[int64](NewOffset(0, 100), 1000)
	b.TryClaim(0)
	p1, r1, ok1 := b.TrySplit(0.5) // at 50
	p2, r2, ok2 := b.TrySplit(0.5) // at 25
	if !ok1 || !ok2 {
		t.Fatalf("TrySplit(0.5) twice = %v, %v; want two splits", ok1, ok2)
	}
	want := []Restriction[int64]{
		{Start: 0, Stop: 50, Weight: 500}, {Start: 50, Stop: 100, Weight: 500},
		{Start: 0, Stop: 25, Weight: 250}, {Start: 25, Stop: 50, Weight: 250},
	}
	if diff := cmp.Diff(want, []Restriction[int64]{p1, r1, p2, r2}); diff != "" {
		t.Errorf("two TrySplit(0.5) mismatch (-want +got):\n%s", diff)
	}
	if got := r1.Weight + r2.Weight + b.Restriction().Weight; got != 1000 {
		t.Errorf("weights of the residuals and the primary sum to %v, want 1000", got)
	}
}

func TestRestrictionTrackerProgress(t *testing.T) {
	type progress struct{ Done, Remaining float64 }
	tests := []struct {
		name   string
		weight float64
		calls  func(b *RestrictionTracker[int64])
		want   progress
	}{
		{name: "nothing read", weight: 200, calls: func(*RestrictionTracker[int64]) {}, want: progress{0, 200}},
		{
			name: "a fifth read", weight: 200,
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(100); b.TryClaim(120) },
			want:  progress{40, 160},
		},
		{
			name: "an unknown weight reports fractions", weight: 0,
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(125) },
			want:  progress{0.25, 0.75},
		},
		{
			name: "a failed claim finishes the work", weight: 200,
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(150); b.TryClaim(200) },
			want:  progress{200, 0},
		},
		{
			name: "finish finishes the work", weight: 200,
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(150); b.Finish() },
			want:  progress{200, 0},
		},
		{
			name: "a split leaves the primary's weight", weight: 200,
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(150); b.TrySplit(0) },
			want:  progress{100, 2}, // [100, 151) weighs 102, and the record at 150 is being read
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewRestrictionTracker[int64](NewOffset(100, 200), tt.weight)
			tt.calls(b)
			var got progress
			got.Done, got.Remaining = b.GetProgress()
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("GetProgress() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestrictionTrackerIsDone(t *testing.T) {
	tests := []struct {
		name    string
		rt      RangeTracker[int64]
		calls   func(b *RestrictionTracker[int64])
		wantErr []string // substrings; nil means no error
	}{
		{
			name:    "a read that never claimed is not done",
			rt:      NewOffset(100, 200),
			calls:   func(*RestrictionTracker[int64]) {},
			wantErr: []string{"[100, 200)", "without claiming"},
		},
		{
			name:    "a read that stopped early names its last claim and the stop",
			rt:      NewOffset(100, 200),
			calls:   func(b *RestrictionTracker[int64]) { b.TryClaim(110); b.TryClaim(150) },
			wantErr: []string{"after claiming 150", "before the stop 200"},
		},
		{
			name: "a read that stopped early after a split names the new stop",
			rt:   NewOffset(100, 200),
			calls: func(b *RestrictionTracker[int64]) {
				b.TryClaim(110)
				b.TrySplit(0.5)
			},
			wantErr: []string{"after claiming 110", "before the stop 155"},
		},
		{
			name:    "an infinite read names infinity",
			rt:      NewOffset(100, OffsetInfinity),
			calls:   func(b *RestrictionTracker[int64]) { b.TryClaim(110) },
			wantErr: []string{"before the stop infinity"},
		},
		{
			name:  "a failed claim ends the read",
			rt:    NewOffset(100, 200),
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(110); b.TryClaim(200) },
		},
		{
			name:  "an empty range ends at its first claim",
			rt:    NewOffset(100, 100),
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(100) },
		},
		{
			name:  "finish ends a read whose input ran out",
			rt:    NewOffset(100, 200),
			calls: func(b *RestrictionTracker[int64]) { b.TryClaim(110); b.Finish() },
		},
		{
			name: "a checkpoint then a failed claim ends the read",
			rt:   NewOffset(100, 200),
			calls: func(b *RestrictionTracker[int64]) {
				b.TryClaim(110)
				b.TrySplit(0)
				b.TryClaim(111)
			},
		},
		{
			name: "a misused claim does not end the read",
			rt:   NewOffset(100, 200),
			calls: func(b *RestrictionTracker[int64]) {
				b.TryClaim(110)
				b.TryClaim(105)
			},
			wantErr: []string{"after claiming 110"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewRestrictionTracker(tt.rt, 1)
			tt.calls(b)
			err := b.IsDone()
			if (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("IsDone() = %v, want error %v", err, tt.wantErr != nil)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("IsDone() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRestrictionTrackerReaderView(t *testing.T) {
	b := NewRestrictionTracker[int64](NewOffset(0, 10), 1)
	rt := b.RangeTracker()
	if got := rt.StartPosition(); got != 0 {
		t.Errorf("StartPosition() = %d, want 0", got)
	}
	if ok, err := rt.TryClaim(2); !ok || err != nil {
		t.Fatalf("TryClaim(2) = %v, %v; want true, nil", ok, err)
	}
	if err := rt.SetCurrentPosition(3); err != nil {
		t.Fatalf("SetCurrentPosition(3) = %v", err)
	}
	if pos, _, ok := rt.TrySplit(5); ok {
		t.Errorf("TrySplit(5) through the reader's view = %d, ok; want refused", pos)
	}
	if got, want := rt.FractionConsumed(), 0.3; got != want {
		t.Errorf("FractionConsumed() = %v, want %v", got, want)
	}
	if p, err := rt.PositionAtFraction(0.5); p != 5 || err != nil {
		t.Errorf("PositionAtFraction(0.5) = %d, %v; want 5, nil", p, err)
	}
	rt.SetSplitPointsUnclaimedCallback(func(int64) int64 { return 4 })
	if c, r := rt.SplitPoints(); c != 0 || r != 5 {
		t.Errorf("SplitPoints() = (%d, %d), want (0, 5)", c, r)
	}
	if _, _, ok := b.TrySplit(0); !ok {
		t.Fatal("TrySplit(0) refused")
	}
	if got := rt.StopPosition(); got != 4 {
		t.Errorf("StopPosition() after a checkpoint = %d, want 4", got)
	}
	if err := b.IsDone(); err == nil {
		t.Error("IsDone() before the read ended = nil, want an error")
	}
	if ok, err := rt.TryClaim(4); ok || err != nil {
		t.Fatalf("TryClaim(4) = %v, %v; want false, nil", ok, err)
	}
	if err := b.IsDone(); err != nil {
		t.Errorf("IsDone() after a failed claim through the view = %v", err)
	}
}

// TestRestrictionTrackerClaimsAfterASplit follows the claims an Offset
// takes without the RestrictionTracker's lock (claimNext) across splits: a
// claim past a split's new stop fails and ends the read, a split at or
// before a claimed position is refused, and once a claim has failed no
// split is accepted.
func TestRestrictionTrackerClaimsAfterASplit(t *testing.T) {
	b := NewRestrictionTracker[int64](NewOffset(100, 200), 100)
	if b.fast == nil {
		t.Fatal("an Offset's claims do not take the fast path")
	}
	for _, p := range []int64{100, 110, 120} {
		if ok, err := b.TryClaim(p); !ok || err != nil {
			t.Fatalf("TryClaim(%d) = %v, %v", p, ok, err)
		}
	}
	// Keep half the remainder: [100, 160) and [160, 200).
	prim, res, ok := b.TrySplit(0.5)
	if !ok || prim.Stop != 160 || res.Start != 160 || res.Stop != 200 {
		t.Fatalf("TrySplit(0.5) = %v, %v, %v; want a split at 160", prim, res, ok)
	}
	if ok, err := b.TryClaim(150); !ok || err != nil {
		t.Fatalf("TryClaim(150) = %v, %v, want true", ok, err)
	}
	if _, _, ok := b.TrySplit(0); !ok {
		t.Fatal("a checkpoint after 150 was refused")
	} else if got := b.Restriction().Stop; got != 151 {
		t.Fatalf("stop after the checkpoint = %d, want 151", got)
	}
	if err := b.IsDone(); err == nil || !strings.Contains(err.Error(), "after claiming 150") {
		t.Fatalf("IsDone() = %v, want the read not done after claiming 150", err)
	}
	if ok, err := b.TryClaim(155); ok || err != nil {
		t.Fatalf("TryClaim(155) past the stop 151 = %v, %v, want false", ok, err)
	}
	if err := b.IsDone(); err != nil {
		t.Fatalf("IsDone() after the failed claim = %v", err)
	}
	if p, r, ok := b.TrySplit(0.5); ok {
		t.Fatalf("TrySplit(0.5) after the read ended = %v, %v, want a refusal", p, r)
	}
}
