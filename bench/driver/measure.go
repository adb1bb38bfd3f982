package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/summary"
)

// measurement is one run of a benchmark program.
type measurement struct {
	Wall    time.Duration
	CPU     time.Duration // user + system
	RSSKiB  int64         // from the child's rusage
	Summary summary.Summary
}

// measure runs a program and measures its wall time, CPU time and peak
// RSS; it parses the JSON summary the program prints.
func measure(bin string, args ...string) (measurement, error) {
	cmd := exec.Command(bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, tail(errOut.String(), 2000))
	}
	s, err := summary.Parse(out.Bytes())
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %w", bin, err)
	}
	ps := cmd.ProcessState
	return measurement{Wall: wall, CPU: ps.UserTime() + ps.SystemTime(), RSSKiB: maxRSSKiB(ps), Summary: s}, nil
}

// series is the repeated runs of one program on one input.
type series struct {
	Name, Input string
	SizeBytes   int64
	Runs        []measurement
	Err         error
}

// best returns the run with the shortest wall time.
func (s *series) best() measurement {
	return slices.MinFunc(s.Runs, func(a, b measurement) int { return int(a.Wall - b.Wall) })
}

// medianWall returns the median wall time.
func (s *series) medianWall() time.Duration {
	w := make([]time.Duration, len(s.Runs))
	for i, r := range s.Runs {
		w[i] = r.Wall
	}
	slices.Sort(w)
	return w[len(w)/2]
}

// peakRSS returns the largest peak RSS of the runs in KiB.
func (s *series) peakRSS() int64 {
	var m int64
	for _, r := range s.Runs {
		m = max(m, r.peakRSS())
	}
	return m
}

// maxLiveHeap returns the largest live heap the runs reported, in KiB.
func (s *series) maxLiveHeap() int64 {
	var m int64
	for _, r := range s.Runs {
		m = max(m, r.Summary.MaxLiveHeapKiB)
	}
	return m
}

// peakRSS is the child's peak RSS from its rusage or, where the system has
// none, the program's own VmHWM.
func (m measurement) peakRSS() int64 {
	if m.RSSKiB > 0 {
		return m.RSSKiB
	}
	return m.Summary.PeakRSSKiB
}

func (m measurement) String() string {
	s := fmt.Sprintf("%7.2fs wall %7.2fs CPU, peak RSS %4.0f MiB (rusage) %4.0f MiB (VmHWM)",
		m.Wall.Seconds(), m.CPU.Seconds(), float64(m.RSSKiB)/1024, float64(m.Summary.PeakRSSKiB)/1024)
	if h := m.Summary.MaxLiveHeapKiB; h > 0 {
		s += fmt.Sprintf(", live heap %4.0f MiB", float64(h)/1024)
	}
	return s
}

func (s *series) ok() bool { return s.Err == nil && len(s.Runs) > 0 }

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
