package workerproc_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/workerproc"
)

// helperVar makes the test binary act as a worker (or pool) instead of
// running tests: it prints its arguments and exits as the value says.
const helperVar = "WORKERPROC_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperVar) {
	case "worker":
		fmt.Println("args:", strings.Join(os.Args[1:], " "))
		fmt.Fprint(os.Stderr, "unterminated")
		os.Exit(3)
	case "pool":
		fmt.Fprintln(os.Stderr, workerproc.PoolListening+os.Getenv(workerproc.PoolVar))
		time.Sleep(time.Minute) // until Terminate
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// process's stdout and stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStartPassesFlagsPrefixesOutputAndReportsExit(t *testing.T) {
	var out syncBuffer
	p, err := workerproc.Start("w1", "127.0.0.1:9", &workerproc.Options{
		Args: []string{"extra"}, Env: map[string]string{helperVar: "worker"}, Output: &out,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		p.Terminate()
		t.Fatal("the worker did not exit")
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Err() = %v, want exit status 3", err)
	}
	got := out.String()
	for _, want := range []string{
		"w1: args: --id=w1 --provision_endpoint=127.0.0.1:9 extra\n",
		"w1: unterminated\n",
		fmt.Sprintf("w1: process %d exited: exit status 3\n", p.Pid()),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestStartPoolWaitsForTheAddressAndTerminateStopsIt(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, addr, err := workerproc.StartPool(ctx, "127.0.0.1:4242", &workerproc.Options{
		Env: map[string]string{helperVar: "pool"}, Output: &out, StopTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("StartPool: %v\n%s", err, out.String())
	}
	if addr != "127.0.0.1:4242" {
		t.Errorf("StartPool() address = %q, want 127.0.0.1:4242", addr)
	}
	start := time.Now()
	p.Terminate()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Terminate took %v, want the SIGTERM to end the pool at once", d)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Done is open after Terminate returned")
	}
}
