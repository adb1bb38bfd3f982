package rangetrackertest_test

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/rangetracker/rangetrackertest"
)

// naive is an offset tracker written from the contract, independently of
// package rangetracker, with bugs that can be switched on to show that the
// checkers catch them.
type naive struct {
	bug bug

	// mu guards the fields below.
	mu          sync.Mutex
	start, stop int64
	started     bool
	last        int64 // last record
	attempted   bool
	lastAttempt int64
	claims      int64
	callback    func(int64) int64
}

type bug int

const (
	noBug                 bug = iota
	splitAtLastRecord         // accepts a split at the last record, which is then read twice
	refuseNextPosition        // refuses a valid split right after the last record
	repeatClaims              // accepts a second claim of the same split point
	claimBeforeStart          // accepts a claim before the start
	forgetFailedClaims        // lets a claim repeat a failed one
	firstRecordAnywhere       // accepts a non-split-point record first
	unclampedFraction         // lets FractionConsumed pass 1
	originalRangeFraction     // reports split fractions of the original range
	shiftedSplit              // reports a split at p but keeps p in the primary
	halfwayPosition           // PositionAtFraction ignores the fraction
	splitPointsCountAll       // counts every claim as consumed
	splitRace                 // checks and applies a split in two critical sections
)

var bugNames = map[bug]string{
	splitAtLastRecord: "split at the last record", refuseNextPosition: "refused valid split",
	repeatClaims: "repeated claims", claimBeforeStart: "claim before start", forgetFailedClaims: "forgotten failed claims",
	firstRecordAnywhere: "first record not a split point", unclampedFraction: "unclamped fraction",
	originalRangeFraction: "split fraction of the original range", shiftedSplit: "shifted split",
	halfwayPosition: "constant position at fraction", splitPointsCountAll: "split points off by one",
	splitRace: "split check-then-act race",
}

var _ rangetracker.RangeTracker[int64] = (*naive)(nil)

func (n *naive) StartPosition() int64 { return n.start }

func (n *naive) StopPosition() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stop
}

func (n *naive) TryClaim(p int64) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p < n.start && n.bug != claimBeforeStart {
		return false, fmt.Errorf("claim %d before start %d", p, n.start)
	}
	if n.attempted && p <= n.lastAttempt && !(p == n.lastAttempt && n.bug == repeatClaims) {
		if n.bug != forgetFailedClaims || (p < n.lastAttempt || p < n.stop) {
			return false, fmt.Errorf("claim %d after claim %d", p, n.lastAttempt)
		}
	}
	if n.started && p < n.last {
		return false, fmt.Errorf("claim %d after record %d", p, n.last)
	}
	n.attempted, n.lastAttempt = true, p
	if p >= n.stop {
		return false, nil
	}
	n.started, n.last = true, p
	n.claims++
	return true, nil
}

func (n *naive) SetCurrentPosition(p int64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started && n.bug != firstRecordAnywhere {
		return fmt.Errorf("record %d before any claim", p)
	}
	if n.started && p < n.last {
		return fmt.Errorf("record %d after record %d", p, n.last)
	}
	n.started, n.last = true, p
	return nil
}

func (n *naive) PositionAtFraction(f float64) (int64, error) {
	if !(f >= 0 && f <= 1) {
		return 0, fmt.Errorf("fraction %v", f)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bug == halfwayPosition {
		f = 0.5
	}
	return n.start + int64(math.Ceil(f*float64(n.stop-n.start))), nil
}

func (n *naive) TrySplit(p int64) (int64, float64, bool) {
	n.mu.Lock()
	lowest := n.last + 1
	if n.bug == splitAtLastRecord {
		lowest = n.last
	}
	ok := n.started && p >= lowest && p > n.start && p < n.stop
	if n.bug == refuseNextPosition && p == n.last+1 {
		ok = false
	}
	if n.bug == splitRace {
		n.mu.Unlock()
		runtime.Gosched()
		n.mu.Lock()
	}
	defer n.mu.Unlock()
	if !ok {
		return 0, 0, false
	}
	frac := float64(p-n.start) / float64(n.stop-n.start)
	if n.bug == originalRangeFraction {
		frac = float64(p-n.start) / 1e6
	}
	n.stop = p
	if n.bug == shiftedSplit {
		n.stop = p + 1
	}
	return p, frac, true
}

func (n *naive) FractionConsumed() float64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started || n.start == n.stop {
		return 0
	}
	f := float64(n.last-n.start) / float64(n.stop-n.start)
	if f > 1 && n.bug != unclampedFraction {
		f = 1
	}
	return f
}

func (n *naive) SplitPoints() (int64, int64) {
	n.mu.Lock()
	consumed, cb, stop := max(n.claims-1, 0), n.callback, n.stop
	if n.bug == splitPointsCountAll {
		consumed = n.claims
	}
	n.mu.Unlock()
	if cb == nil || cb(stop) < 0 {
		return consumed, rangetracker.SplitPointsUnknown
	}
	return consumed, cb(stop) + 1
}

func (n *naive) SetSplitPointsUnclaimedCallback(f func(int64) int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.callback = f
}

func naiveHarness(b bug) rangetrackertest.Harness[int64] {
	var ps []int64
	for p := int64(9); p <= 40; p++ {
		ps = append(ps, p)
	}
	return rangetrackertest.Harness[int64]{
		NewTracker: func(start, stop int64) rangetracker.RangeTracker[int64] {
			return &naive{bug: b, start: start, stop: stop}
		},
		Positions: ps,
		Compare:   cmp.Compare[int64],
	}
}

var naiveCaps = rangetrackertest.Capabilities{Splittable: true, FractionTolerance: 1.0 / 29}

// TestConformanceOfIndependentTracker runs the suite on the naive tracker
// without bugs: the suite and package rangetracker agree with a third,
// independent reading of the contract.
func TestConformanceOfIndependentTracker(t *testing.T) {
	rangetrackertest.RunConformanceTests(t, naiveHarness(noBug), naiveCaps)
}

// TestCheckersCatchBugs shows that each checker fails on the bugs it is
// meant to catch.
func TestCheckersCatchBugs(t *testing.T) {
	concurrent := func(h rangetrackertest.Harness[int64], caps rangetrackertest.Capabilities) error {
		return rangetrackertest.CheckConcurrentSplits(h, caps, rangetrackertest.ConcurrentOptions{Trials: 300, Seed: 7})
	}
	withCaps := func(check func(rangetrackertest.Harness[int64]) error) func(rangetrackertest.Harness[int64], rangetrackertest.Capabilities) error {
		return func(h rangetrackertest.Harness[int64], _ rangetrackertest.Capabilities) error { return check(h) }
	}
	checks := map[string]func(rangetrackertest.Harness[int64], rangetrackertest.Capabilities) error{
		"CheckClaims":             withCaps(rangetrackertest.CheckClaims[int64]),
		"CheckNonSplitPoints":     withCaps(rangetrackertest.CheckNonSplitPoints[int64]),
		"CheckSplits":             rangetrackertest.CheckSplits[int64],
		"CheckSplitPoints":        rangetrackertest.CheckSplitPoints[int64],
		"CheckFractionConsumed":   withCaps(rangetrackertest.CheckFractionConsumed[int64]),
		"CheckPositionAtFraction": rangetrackertest.CheckPositionAtFraction[int64],
		"CheckConcurrentSplits":   concurrent,
	}
	tests := []struct {
		bug    bug
		caps   rangetrackertest.Capabilities
		caught []string
	}{
		{bug: splitAtLastRecord, caught: []string{"CheckSplits", "CheckConcurrentSplits"}},
		{bug: refuseNextPosition, caught: []string{"CheckSplits"}},
		{bug: repeatClaims, caught: []string{"CheckClaims"}},
		{bug: claimBeforeStart, caught: []string{"CheckClaims"}},
		{bug: forgetFailedClaims, caught: []string{"CheckClaims"}},
		{bug: firstRecordAnywhere, caught: []string{"CheckNonSplitPoints"}},
		{bug: unclampedFraction, caught: []string{"CheckNonSplitPoints", "CheckFractionConsumed"}},
		{bug: originalRangeFraction, caught: []string{"CheckSplits", "CheckConcurrentSplits"}},
		{bug: shiftedSplit, caught: []string{"CheckSplits", "CheckConcurrentSplits"}},
		{bug: halfwayPosition, caught: []string{"CheckPositionAtFraction"}},
		{bug: splitPointsCountAll, caught: []string{"CheckSplitPoints"}},
		{bug: splitRace, caught: []string{"CheckConcurrentSplits"}},
		{
			bug: noBug, caps: rangetrackertest.Capabilities{Splittable: true, SplitBeforeFirstClaim: true, FractionTolerance: 1.0 / 29},
			caught: []string{"CheckSplits"},
		},
		{
			bug: noBug, caps: rangetrackertest.Capabilities{Splittable: false, FractionTolerance: 1.0 / 29},
			caught: []string{"CheckSplits", "CheckSplitPoints", "CheckConcurrentSplits"},
		},
	}
	for _, tt := range tests {
		name := bugNames[tt.bug]
		caps := naiveCaps
		if tt.caps != (rangetrackertest.Capabilities{}) {
			caps = tt.caps
			name = fmt.Sprintf("capabilities %+v overstated", caps)
		}
		for _, checkName := range tt.caught {
			t.Run(name+" caught by "+checkName, func(t *testing.T) {
				t.Parallel()
				err := checks[checkName](naiveHarness(tt.bug), caps)
				if err == nil {
					t.Fatalf("%s = nil, want an error", checkName)
				}
				if !strings.HasPrefix(err.Error(), "rangetrackertest: ") {
					t.Errorf("%s = %q, want the package prefix", checkName, err)
				}
			})
		}
	}
}

func TestHarnessValidation(t *testing.T) {
	good := naiveHarness(noBug)
	tests := []struct {
		name string
		h    rangetrackertest.Harness[int64]
		want string
	}{
		{name: "too few positions", h: rangetrackertest.Harness[int64]{NewTracker: good.NewTracker, Compare: good.Compare, Positions: []int64{1, 2, 3}}, want: "at least 6"},
		{name: "positions out of order", h: rangetrackertest.Harness[int64]{NewTracker: good.NewTracker, Compare: good.Compare, Positions: []int64{1, 2, 3, 3, 4, 5}}, want: "strictly increasing"},
		{name: "no tracker", h: rangetrackertest.Harness[int64]{Compare: good.Compare, Positions: good.Positions}, want: "needs NewTracker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rangetrackertest.CheckClaims(tt.h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckClaims() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestFailureNamesTheSeed(t *testing.T) {
	err := rangetrackertest.CheckConcurrentSplits(naiveHarness(shiftedSplit), naiveCaps, rangetrackertest.ConcurrentOptions{Trials: 50, Seed: 1000})
	if err == nil || !strings.Contains(err.Error(), "trial with seed 10") {
		t.Errorf("CheckConcurrentSplits() = %v, want an error naming the failing trial's seed", err)
	}
}
