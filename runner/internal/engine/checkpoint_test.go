package engine

import (
	"sync"
	"testing"
	"time"
)

// isDue reports whether a snapshot is due.
func (j *job) isDue() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ckpt.due
}

// waitDue waits up to d for a snapshot to become due and reports whether
// one did.
func waitDue(j *job, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if j.isDue() {
			return true
		}
	}
	return j.isDue()
}

// A snapshot that takes longer than the interval does not make the next
// one due at once: the interval counts from the end of the last snapshot,
// so the job gets that long to make progress between two.
func TestSlowSnapshotLeavesTheJobTheInterval(t *testing.T) {
	const interval = 100 * time.Millisecond
	j := &job{ckpt: &checkpointer{opts: Checkpointing{Interval: interval}}}
	j.cond = sync.NewCond(&j.mu)
	stop := j.startCheckpoints()
	defer stop()
	if !waitDue(j, 10*interval) {
		t.Fatalf("no snapshot due within %v", 10*interval)
	}
	// A snapshot that takes three intervals, the job's lock held, as
	// checkpointNow holds it.
	j.mu.Lock()
	time.Sleep(3 * interval)
	j.ckpt.due = false
	j.ckpt.last = time.Now()
	j.mu.Unlock()
	if waitDue(j, interval/2) {
		t.Fatalf("the next snapshot was due within %v of the last one's end, want %v", interval/2, interval)
	}
	if !waitDue(j, 10*interval) {
		t.Fatalf("no snapshot due within %v of the last one", 10*interval)
	}
}
