//go:build unix

package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/portable"
)

// The PROCESS test starts this test binary again as workers, which run
// only that test: its body builds the same pipeline and reaches Run, which
// serves. The broker's addresses and the marker file travel in
// environment variables, which the workers inherit.
const (
	brokersVar = "BEAMGO_KAFKA_TEST_BROKERS"
	markerVar  = "BEAMGO_KAFKA_TEST_MARKER"
)

// victimFn passes record values on. The first worker process to read
// "victim" writes its pid to Marker and waits to be killed; the retry, on
// another worker, finds the marker and goes on.
type victimFn struct {
	Marker string
}

func (f victimFn) ProcessElement(ctx context.Context, m Message, emit func(string)) error {
	if string(m.Value) == "victim" && f.claim() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return errors.New("victim: the test did not kill this worker")
		}
	}
	emit(string(m.Value))
	return nil
}

// claim writes this process's pid to the marker file unless it exists;
// the hard link makes the file appear whole, and only once.
func (f victimFn) claim() bool {
	tmp := fmt.Sprintf("%s.%d", f.Marker, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return false
	}
	defer os.Remove(tmp)
	return os.Link(tmp, f.Marker) == nil
}

// killWhenMarked waits for the marker file and kills the process it names.
func killWhenMarked(ctx context.Context, marker string) (int, error) {
	for {
		if b, err := os.ReadFile(marker); err == nil {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				return 0, fmt.Errorf("marker %q: %v", b, err)
			}
			if pid == os.Getpid() {
				return 0, fmt.Errorf("the victim ran in the test process, not in a worker")
			}
			return pid, syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no worker wrote the marker: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A worker process killed while it reads has its partitions' turns
// retried on another worker from their committed marks: the sink holds
// every record exactly once.
func TestAKilledWorkersPartitionsResumeElsewhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ro := ReadOptions{PollWait: 50 * time.Millisecond, Unbounded: unbounded.Options{MaxRecords: 5, PollInterval: 20 * time.Millisecond}}
	var output fnapitest.SyncBuffer
	newRunner := func(drain chan struct{}) runner.Runner {
		return portable.New(&portable.Options{
			Workers: 2, EnvironmentType: portable.EnvProcess, Job: portable.Job{Drain: drain},
			Process: &portable.ProcessOptions{
				Args:   []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.timeout=2m"},
				Output: &output,
			},
		})
	}
	if worker.Active() {
		addrs := strings.Split(os.Getenv(brokersVar), ",")
		p := pipeline(addrs, ro, victimFn{Marker: os.Getenv(markerVar)})
		// In a worker, Run serves and exits the process.
		if _, err := newRunner(nil).Run(ctx, p); err != nil {
			t.Fatal(err)
		}
		return
	}
	marker := filepath.Join(t.TempDir(), "victim.pid")
	c := newCluster(t, 3, "in", "out")
	addrs := c.ListenAddrs()
	t.Setenv(brokersVar, strings.Join(addrs, ","))
	t.Setenv(markerVar, marker)
	var want []string
	for p := range int32(3) {
		vs := prefixed(fmt.Sprintf("p%d-", p), 30)
		if p == 1 {
			vs[17] = "victim"
		}
		produceTo(t, addrs, "in", p, time.Unix(1000, 0), vs...)
		want = append(want, vs...)
	}
	killed := make(chan error, 1)
	go func() {
		_, err := killWhenMarked(ctx, marker)
		killed <- err
	}()
	p := pipeline(addrs, ro, victimFn{Marker: marker})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker output:\n%s", output.String())
		}
	})
	got := runUntil(t, newRunner, p, addrs, len(want), nil)
	if err := <-killed; err != nil {
		t.Fatalf("killing the victim's worker: %v\nworker output:\n%s", err, output.String())
	}
	if diff := cmp.Diff(sorted(want), got); diff != "" {
		t.Errorf("out after a worker was killed (-want +got):\n%s\nworker output:\n%s", diff, output.String())
	}
	if !strings.Contains(output.String(), "signal: killed") {
		t.Errorf("no worker was killed:\n%s", output.String())
	}
}
