//go:build unix

package worker_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/sdk"
)

// poolArgs are the arguments of this test binary started as a pool: it
// runs only TestPoolHelper.
var poolArgs = []string{"-test.run=^TestPoolHelper$", "-test.timeout=2m"}

// TestPoolHelper is not a test: it is what this test binary does when the
// tests below start it as a worker pool.
func TestPoolHelper(t *testing.T) {
	if !worker.PoolActive() {
		t.Skip("runs only as a worker pool started by the other tests")
	}
	fmt.Fprintf(os.Stderr, "pid %d\n", os.Getpid())
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []string{"a"})
	worker.ServePoolAndExit(context.Background(), p)
}

// waitGone fails t unless w disconnects within d.
func waitGone(t *testing.T, w *service.Worker, d time.Duration, out *fnapitest.SyncBuffer) {
	t.Helper()
	select {
	case <-w.Done():
	case <-time.After(d):
		t.Errorf("worker %s still connected after %v\npool output:\n%s", w.ID(), d, out.String())
	}
}

func TestAPoolProcessStartsWorkersUntilSIGTERMAndThenExitsCleanly(t *testing.T) {
	if worker.PoolActive() {
		t.Fatal("the pool runs only TestPoolHelper")
	}
	ctx, srv := startService(t)
	var out fnapitest.SyncBuffer
	// A bare port listens on loopback.
	p, addr, err := worker.StartPool(ctx, ":0", &worker.ProcessOptions{Args: poolArgs, Output: &out, StopTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("StartPool: %v\noutput:\n%s", err, out.String())
	}
	t.Cleanup(func() { p.Terminate() })
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("pool address = %q, want a loopback address", addr)
	}
	if want := "pool: " + worker.PoolListening + addr + "\n"; !strings.Contains(out.String(), want) {
		t.Errorf("pool output lacks %q:\n%s", want, out.String())
	}
	if want := fmt.Sprintf("pool: pid %d\n", p.Pid()); !strings.Contains(out.String(), want) {
		t.Errorf("pool output lacks %q: the pool is not the process StartPool started\n%s", want, out.String())
	}

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	pool := fnpb.NewBeamFnExternalWorkerPoolClient(cc)
	workers := map[string]*service.Worker{}
	for _, id := range []string{"a", "b"} {
		resp, err := pool.StartWorker(ctx, &fnpb.StartWorkerRequest{WorkerId: id, ControlEndpoint: srv.Endpoint(), LoggingEndpoint: srv.Endpoint()})
		if err != nil || resp.GetError() != "" {
			t.Fatalf("StartWorker(%s) = %v, %v\noutput:\n%s", id, resp, err, out.String())
		}
		if workers[id], err = srv.Worker(ctx, id); err != nil {
			t.Fatalf("worker %s did not connect: %v\noutput:\n%s", id, err, out.String())
		}
	}
	if resp, err := pool.StopWorker(ctx, &fnpb.StopWorkerRequest{WorkerId: "a"}); err != nil || resp.GetError() != "" {
		t.Fatalf("StopWorker(a) = %v, %v", resp, err)
	}
	waitGone(t, workers["a"], 10*time.Second, &out)
	if err := workers["b"].Err(); err != nil {
		t.Errorf("worker b disconnected when a was stopped: %v", err)
	}

	// SIGTERM stops the running worker b, then the pool, which exits 0.
	if err := p.Terminate(); err != nil {
		t.Errorf("Terminate = %v, want exit status 0\noutput:\n%s", err, out.String())
	}
	waitGone(t, workers["b"], time.Second, &out)
	if !gone(p.Pid()) {
		t.Errorf("pool process %d still exists after Terminate", p.Pid())
	}
}

func TestAPoolWithABadAddressExitsWithAnErrorNamingIt(t *testing.T) {
	if worker.PoolActive() {
		t.Fatal("the pool runs only TestPoolHelper")
	}
	tests := []struct {
		name, addr, want string
	}{
		{"an empty address is refused", "", worker.PoolVar + " is empty"},
		{"an address without a port is refused", "no-port", worker.PoolVar + `="no-port" is not host:port`},
		{"an address the pool cannot listen on is reported", "127.0.0.1:99999", "listen on 127.0.0.1:99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out fnapitest.SyncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p, _, err := worker.StartPool(ctx, tt.addr, &worker.ProcessOptions{Args: poolArgs, Output: &out})
			if err == nil {
				p.Terminate()
				t.Fatalf("StartPool(%q) succeeded, want the pool to exit", tt.addr)
			}
			if !strings.Contains(err.Error(), "exited before it listened") {
				t.Errorf("StartPool(%q) = %v, want an error saying the pool exited", tt.addr, err)
			}
			if !strings.Contains(out.String(), tt.want) || !strings.Contains(out.String(), "exited: exit status 1") {
				t.Errorf("StartPool(%q): pool output lacks %q or exit status 1:\n%s", tt.addr, tt.want, out.String())
			}
		})
	}
}

func TestServePoolOutsidePoolModeFails(t *testing.T) {
	if worker.PoolActive() {
		t.Skip("this process is a pool")
	}
	err := worker.ServePool(context.Background(), sdk.NewPipeline())
	if err == nil || !strings.Contains(err.Error(), worker.PoolVar) {
		t.Errorf("ServePool outside pool mode = %v, want an error naming %s", err, worker.PoolVar)
	}
}
