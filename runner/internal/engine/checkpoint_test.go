package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
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

// A snapshot file is verified as a stream before anything is restored
// from it: the intact file passes, and every truncation and a flipped
// byte in the body or in the keyed state are found, as damage
// (snapbuf.ErrCorrupt), so that the job falls back to an older snapshot.
func TestSnapshotFileDamageIsDetected(t *testing.T) {
	st, err := state.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := st.Begin()
	for i := range 1000 {
		c := state.Cell{Transform: "t", State: "v", Key: fmt.Appendf(nil, "k%d", i), Window: window.Global()}
		if err := b.SetValue(c, bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "ckpt-1.bin")
	size, err := writeSnapshotFile(dirStore{dir}, "ckpt-1.bin", []byte("the body"), []*state.Store{st})
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(name)
	if err != nil || int64(len(good)) != size {
		t.Fatalf("file of %d bytes (%v), writeSnapshotFile said %d", len(good), err, size)
	}
	if err := verifySnapshotFile(dirStore{dir}, "ckpt-1.bin"); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	damaged := map[string][]byte{"empty": nil}
	for _, cut := range []int{10, len(ckptMagic) + 5, len(good) / 2, len(good) - 1} {
		damaged[fmt.Sprintf("cut at %d", cut)] = good[:cut]
	}
	for _, at := range []int{0, len(ckptMagic) + 3, len(good) / 2, len(good) - 2} {
		d := bytes.Clone(good)
		d[at] ^= 0x10
		damaged[fmt.Sprintf("flip at %d", at)] = d
	}
	for what, data := range damaged {
		bad := filepath.Join(dir, "bad.bin")
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := verifySnapshotFile(dirStore{dir}, "bad.bin"); !errors.Is(err, snapbuf.ErrCorrupt) {
			t.Errorf("%s: verifySnapshotFile = %v, want ErrCorrupt", what, err)
		}
	}
}
