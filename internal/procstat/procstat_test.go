package procstat

import (
	"errors"
	"runtime"
	"testing"
)

func TestParse(t *testing.T) {
	status := "Name:\tx\nVmPeak:\t  2000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n"
	if n, err := parse(status, "VmHWM"); err != nil || n != 1234 {
		t.Errorf("parse VmHWM = %d, %v; want 1234", n, err)
	}
	if _, err := parse(status, "VmSwap"); !errors.Is(err, ErrNotReported) {
		t.Errorf("a missing field: err = %v, want ErrNotReported", err)
	}
	if _, err := parse("VmHWM:\tlots kB\n", "VmHWM"); err == nil || errors.Is(err, ErrNotReported) {
		t.Errorf("a malformed number: err = %v, want a parse error", err)
	}
}

func TestPeakRSSKiBOnLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	n, err := PeakRSSKiB()
	if err != nil || n <= 0 {
		t.Fatalf("PeakRSSKiB() = %d, %v; want a positive size", n, err)
	}
}
