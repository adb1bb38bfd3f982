package summary

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TreeSampler samples the summed resident set of this process and its
// children (see SampleTreeRSS).
type TreeSampler struct {
	stop chan struct{}
	done chan struct{}

	// mu guards peak and maxChildren.
	mu          sync.Mutex
	peak        int64
	maxChildren int
}

// SampleTreeRSS samples, every interval until Stop, the resident set of
// this process plus those of its child processes (found in /proc by their
// parent pid) and keeps the largest sum. Sampling misses peaks shorter
// than the interval. Where /proc is missing it measures nothing.
func SampleTreeRSS(interval time.Duration) *TreeSampler {
	t := &TreeSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			t.sample()
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return t
}

// Stop ends sampling and returns the peak summed RSS in KiB and the most
// child processes seen at once.
func (t *TreeSampler) Stop() (peakKiB int64, children int) {
	close(t.stop)
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peak, t.maxChildren
}

func (t *TreeSampler) sample() {
	self := os.Getpid()
	total := rssKiB(strconv.Itoa(self))
	children := 0
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces) in parentheses:
		// state, then the parent pid.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(self) {
			continue
		}
		children++
		total += rssKiB(filepath.Base(filepath.Dir(st)))
	}
	t.mu.Lock()
	t.peak = max(t.peak, total)
	t.maxChildren = max(t.maxChildren, children)
	t.mu.Unlock()
}

// rssKiB returns the VmRSS of process pid in KiB, 0 if unknown.
func rssKiB(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}
