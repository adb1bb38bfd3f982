package local

import (
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// How a job divides its MemoryBudget. The budget covers the whole process
// while the job runs: the resident memory it already holds when Run starts
// (its baseline: program text, C libraries, the heap the program keeps),
// a fixed amount per bundle slot, and the shuffles. What is left after the
// baseline and the slots goes half to each GroupByKey's shuffle; the other
// half is headroom for elements in flight, the groups being read and the
// garbage collector. The Go runtime's soft limit is set so that resident
// memory stays within budget + budget/4: the quarter on top is for program
// text paged in after Run starts and for the heap's overshoot of its soft
// limit while the collector runs.
const (
	// perSlotMemory is the memory one bundle slot (Options.Parallelism)
	// needs outside the shuffle: its read buffers (up to 1 MiB for
	// textio), the chunks of encoded elements it passes on, its
	// goroutines' stacks and its operators.
	perSlotMemory = 4 << 20
	// minShuffleMemory is the least memory a shuffle gets: below it, runs
	// would be so small and many that the merge passes dominate.
	minShuffleMemory = 4 << 20
	// laterText is the program text and data a job pages in after Run
	// starts (the code of its transforms, the shuffle's, the runtime's):
	// 6 MiB measured for a GroupByKey job.
	laterText = 8 << 20
	// overshootShare is the share of the budget (1/overshootShare) kept
	// for the heap's overshoot of its soft limit while the collector runs.
	overshootShare = 16
	// minStateMemory is the least memory of the on-disk state store
	// (Options.StateDir): pebble's smallest block cache (8 MiB) and two
	// memtables of 4 MiB, which the state package never goes below.
	minStateMemory = 16 << 20
)

// BudgetError reports a MemoryBudget too small for the process and the
// parallelism: Run refuses it before running anything. Classify it with
// errors.As.
type BudgetError struct {
	// Budget is the MemoryBudget asked for.
	Budget int64
	// Minimum is the smallest budget Run would accept: Baseline +
	// PerSlot × Parallelism + 2 × MinShuffle + State.
	Minimum int64
	// Parallelism is Options.Parallelism.
	Parallelism int
	// Baseline is the process's resident memory that Run cannot free when
	// it starts (text, data, live heap).
	Baseline int64
	// PerSlot is the memory each bundle slot needs outside the shuffle.
	PerSlot int64
	// MinShuffle is the least memory a shuffle gets; as much again is
	// headroom.
	MinShuffle int64
	// State is the memory of the on-disk state store (Options.StateDir),
	// zero when state is kept in memory.
	State int64
}

func (e *BudgetError) Error() string {
	state := ""
	if e.State > 0 {
		state = " + on-disk state store " + mib(e.State)
	}
	return fmt.Sprintf("local: MemoryBudget %s is below the minimum %s for Parallelism %d "+
		"(process baseline %s + %s per bundle slot × %d + shuffle %s and as much headroom%s); raise MemoryBudget or lower Parallelism",
		mib(e.Budget), mib(e.Minimum), e.Parallelism, mib(e.Baseline), mib(e.PerSlot), e.Parallelism, mib(e.MinShuffle), state)
}

// mib formats bytes in MiB, rounded up.
func mib(b int64) string { return fmt.Sprintf("%d MiB", (b+1<<20-1)>>20) }

// processMemory is what the process holds when Run starts.
type processMemory struct {
	// baseline is the resident memory the job cannot count on getting
	// back: memory outside the runtime, and the runtime's memory less the
	// free heap it may return to the system.
	baseline int64
	// outside is the resident memory outside the Go runtime (program
	// text and data, C libraries), which its soft limit does not cover.
	outside int64
}

// memoryPlan is how one job divides its MemoryBudget.
type memoryPlan struct {
	// shuffle is the memory of each GroupByKey's shuffle.
	shuffle int64
	// limit is the soft memory limit of the Go runtime.
	limit int64
	// state is the memory of the on-disk state store, zero without one.
	state int64
	// windowState is how much windowing state of streaming GroupByKeys
	// (engine.Options.StateBytes) the headroom under limit covers: a
	// quarter of what the baseline and the bundle slots leave. The limit
	// is raised by the state beyond it (the values past a quarter of the
	// budget spill, the windows, keys and timers cannot), so that the
	// collector is not left to run without pause once the live heap
	// reaches the limit.
	windowState int64
}

// minimumBudget returns the smallest MemoryBudget for parallelism bundle
// slots and an on-disk state store of state bytes (0: none) in a process
// whose baseline is baseline.
func minimumBudget(baseline int64, parallelism int, state int64) int64 {
	return baseline + perSlotMemory*int64(parallelism) + 2*minShuffleMemory + state
}

// stateMemory returns the memory of the on-disk state store of a job
// with budget: asked (Options.StateMemory), or by default a quarter of
// what the baseline and the bundle slots leave; never below
// minStateMemory, what the store holds at least.
func stateMemory(budget, asked int64, parallelism int, pm processMemory) int64 {
	if asked <= 0 {
		asked = (budget - pm.baseline - perSlotMemory*int64(parallelism)) / 4
	}
	return max(asked, minStateMemory)
}

// planMemory divides budget for a job of parallelism bundle slots and an
// on-disk state store of state bytes (0: state in memory) in a process
// holding pm, or returns a *BudgetError if budget is below the minimum.
// The state store's memory comes off the top: the shuffles get half of
// what is left, and the Go runtime's soft limit shrinks by it, because
// pebble allocates its cache and memtables outside the Go heap (with cgo,
// the default build; without, they are on the heap and the limit is
// merely conservative).
func planMemory(budget int64, parallelism int, state int64, pm processMemory) (memoryPlan, error) {
	if minimum := minimumBudget(pm.baseline, parallelism, state); budget < minimum {
		return memoryPlan{}, &BudgetError{Budget: budget, Minimum: minimum, Parallelism: parallelism,
			Baseline: pm.baseline, PerSlot: perSlotMemory, MinShuffle: minShuffleMemory, State: state}
	}
	free := budget - pm.baseline - perSlotMemory*int64(parallelism) - state
	return memoryPlan{
		shuffle: free / 2,
		limit:   budget + budget/4 - pm.outside - laterText - budget/overshootShare - state,
		state:   state,

		windowState: free / 4,
	}, nil
}

// readProcessMemory measures the process's memory. Where the resident set
// cannot be read it assumes 32 MiB outside the runtime.
func readProcessMemory() processMemory {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	var held, free int64
	if s[0].Value.Kind() == metrics.KindUint64 && s[1].Value.Kind() == metrics.KindUint64 && s[2].Value.Kind() == metrics.KindUint64 {
		held = int64(s[0].Value.Uint64() - s[1].Value.Uint64())
		free = int64(s[2].Value.Uint64())
	}
	outside := int64(32 << 20)
	if rss, ok := residentBytes(); ok {
		outside = max(rss-held, 0)
	}
	return processMemory{baseline: outside + held - free, outside: outside}
}

// residentBytes returns the process's resident set size, from
// /proc/self/statm (Linux).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
