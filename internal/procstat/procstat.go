// Package procstat reads the running process's memory figures from
// /proc/self/status, for the tests that check the runners stay within
// their memory budget.
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNotReported is returned where the system has no /proc/self/status
// or it lacks the asked-for field.
var ErrNotReported = errors.New("procstat: not reported by the system")

// PeakRSSKiB returns the process's peak resident set (VmHWM), in KiB.
func PeakRSSKiB() (int64, error) { return field("VmHWM") }

// field returns the value of the "name: N kB" line of /proc/self/status.
func field(name string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotReported, err)
	}
	return parse(string(b), name)
}

// parse finds name's line in a status text and returns its number.
func parse(status, name string) (int64, error) {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("procstat: %s line %q: %w", name, strings.TrimSpace(line), err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: no %s line", ErrNotReported, name)
}
