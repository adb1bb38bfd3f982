package local

import (
	"errors"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

func TestPlanMemory(t *testing.T) {
	const MiB = 1 << 20
	pm := processMemory{baseline: 42 * MiB, outside: 34 * MiB}
	for _, tc := range []struct {
		name        string
		budget      int64
		parallelism int
		state       int64 // the on-disk state store's memory; 0: none
		wantMinimum int64 // 0: accepted
		wantShuffle int64
		wantLimit   int64
	}{
		{name: "a budget below the baseline is refused", budget: 32 * MiB, parallelism: 2, wantMinimum: 58 * MiB},
		{name: "a budget one byte below the minimum is refused", budget: 58*MiB - 1, parallelism: 2, wantMinimum: 58 * MiB},
		{name: "more bundle slots raise the minimum", budget: 64 * MiB, parallelism: 8, wantMinimum: 82 * MiB},
		{name: "the minimum leaves the shuffle its minimum", budget: 58 * MiB, parallelism: 2,
			wantShuffle: 4 * MiB, wantLimit: 58*MiB + 58*MiB/4 - 34*MiB - 8*MiB - 58*MiB/16},
		{name: "the shuffle gets half of what the baseline and the slots leave", budget: 64 * MiB, parallelism: 2,
			wantShuffle: 7 * MiB, wantLimit: 80*MiB - 34*MiB - 8*MiB - 4*MiB},
		{name: "a large budget", budget: 4 << 30, parallelism: 4,
			wantShuffle: (4<<30 - 42*MiB - 16*MiB) / 2, wantLimit: 5<<30 - 34*MiB - 8*MiB - (4<<30)/16},
		{name: "an on-disk state store raises the minimum by its memory", budget: 73 * MiB, parallelism: 2, state: 16 * MiB, wantMinimum: 74 * MiB},
		{name: "an on-disk state store comes off the shuffle and the soft limit", budget: 512 * MiB, parallelism: 2, state: 100 * MiB,
			wantShuffle: (512*MiB - 42*MiB - 8*MiB - 100*MiB) / 2, wantLimit: 640*MiB - 34*MiB - 8*MiB - 32*MiB - 100*MiB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := planMemory(tc.budget, tc.parallelism, tc.state, pm)
			if tc.wantMinimum != 0 {
				var be *BudgetError
				if !errors.As(err, &be) {
					t.Fatalf("planMemory(%d, %d) = %+v, %v; want a *BudgetError", tc.budget, tc.parallelism, got, err)
				}
				if be.Minimum != tc.wantMinimum || be.Budget != tc.budget || be.Parallelism != tc.parallelism || be.Baseline != pm.baseline || be.State != tc.state {
					t.Errorf("BudgetError = %+v, want Minimum %d for budget %d, parallelism %d, baseline %d", *be, tc.wantMinimum, tc.budget, tc.parallelism, pm.baseline)
				}
				for _, want := range []string{"below the minimum " + mib(tc.wantMinimum), "Parallelism " + strconv.Itoa(tc.parallelism), "baseline 42 MiB"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("planMemory(%d, %d): %v", tc.budget, tc.parallelism, err)
			}
			if got.shuffle != tc.wantShuffle || got.limit != tc.wantLimit || got.state != tc.state {
				t.Errorf("planMemory(%d, %d, %d) = shuffle %d, limit %d, state %d; want shuffle %d, limit %d, state %d",
					tc.budget, tc.parallelism, tc.state, got.shuffle, got.limit, got.state, tc.wantShuffle, tc.wantLimit, tc.state)
			}
		})
	}
}

func TestStateMemory(t *testing.T) {
	const MiB = 1 << 20
	pm := processMemory{baseline: 40 * MiB}
	for _, tc := range []struct {
		name   string
		budget int64
		asked  int64
		want   int64
	}{
		{name: "the default is a quarter of what the baseline and slots leave", budget: 512 * MiB, want: (512*MiB - 40*MiB - 8*MiB) / 4},
		{name: "the default never goes below the store's minimum", budget: 64 * MiB, want: 16 * MiB},
		{name: "an asked size is kept", budget: 512 * MiB, asked: 200 * MiB, want: 200 * MiB},
		{name: "an asked size below the minimum is raised to it", budget: 512 * MiB, asked: MiB, want: 16 * MiB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stateMemory(tc.budget, tc.asked, 2, pm); got != tc.want {
				t.Errorf("stateMemory(%d, %d, 2) = %d, want %d", tc.budget, tc.asked, got, tc.want)
			}
		})
	}
}

func TestReadProcessMemory(t *testing.T) {
	if _, ok := residentBytes(); !ok {
		t.Skip("no /proc/self/statm here")
	}
	pm := readProcessMemory()
	rss, _ := residentBytes()
	if pm.outside <= 0 || pm.baseline < pm.outside || pm.baseline > rss+8<<20 {
		t.Errorf("readProcessMemory() = %+v with a resident set of %d; want 0 < outside <= baseline <= resident set", pm, rss)
	}
}

func TestResidentBytes(t *testing.T) {
	rss, ok := residentBytes()
	if !ok {
		t.Skip("no /proc/self/statm here")
	}
	if rss < 1<<20 || rss > 1<<40 {
		t.Errorf("residentBytes() = %d, want a plausible resident set", rss)
	}
}

// TestLimitRequests checks how concurrent jobs' soft limits combine: the
// process gets the largest request, raised ones included, and no limit
// once the last is withdrawn.
func TestLimitRequests(t *testing.T) {
	if debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Skip("the process has a soft limit of its own")
	}
	const MiB = 1 << 20
	check := func(step string, want int64) {
		t.Helper()
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("%s: limit %d MiB, want %d MiB", step, got/MiB, want/MiB)
		}
	}
	a, restoreA := applyMemoryLimit(100*MiB, 0)
	check("one job", 100*MiB)
	b, restoreB := applyMemoryLimit(200*MiB, 0)
	check("two jobs", 200*MiB)
	a.stateChanged(150 * MiB)
	check("the first raised past the second", 250*MiB)
	b.stateChanged(10 * MiB)
	check("the second raised less", 250*MiB)
	a.stateChanged(-150 * MiB)
	check("the first lowered again", 210*MiB)
	restoreB()
	check("the second withdrawn", 100*MiB)
	restoreA()
	check("none left", math.MaxInt64)
	c, restoreC := applyMemoryLimit(100*MiB, 40*MiB)
	c.stateChanged(30 * MiB)
	check("state within the allowance", 100*MiB)
	c.stateChanged(20 * MiB)
	check("state 10 MiB past the allowance", 110*MiB)
	restoreC()
	check("none left again", math.MaxInt64)
	var none *limitRequest
	none.stateChanged(MiB) // a job that applied no limit ignores its state
	check("a nil request raised", math.MaxInt64)
}
