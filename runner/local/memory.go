package local

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// minMemoryLimit is the smallest default soft memory limit: below it the
// collector would run all the time for small budgets.
const minMemoryLimit = 64 << 20

// defaultMemoryLimit returns the soft limit of the Go runtime's memory
// that keeps the process's resident memory within budget + budget/4: that,
// less the memory outside the runtime, less an eighth of the budget because
// the heap overshoots a soft limit while the collector runs and the memory
// outside the runtime grows a little after Run starts.
func defaultMemoryLimit(budget int64) int64 {
	return max(budget+budget/4-budget/8-outsideRuntime(), minMemoryLimit)
}

// outsideRuntime estimates the resident memory of the process that the Go
// runtime's memory limit does not cover (program text and data, C
// libraries): the resident set less the memory the runtime holds. Where
// the resident set cannot be read it assumes 32 MiB.
func outsideRuntime() int64 {
	const fallback = 32 << 20
	rss, ok := residentBytes()
	if !ok {
		return fallback
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return fallback
	}
	held := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	return max(rss-held, 0)
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
