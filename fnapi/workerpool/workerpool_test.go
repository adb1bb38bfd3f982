package workerpool_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/beamgo-dev/beamgo/fnapi/workerpool"
	"github.com/beamgo-dev/beamgo/sdk"
)

// controlServer records the workers connected to its control service.
type controlServer struct {
	fnpb.UnimplementedBeamFnControlServer
	addr string
	srv  *grpc.Server

	// mu guards the fields below.
	mu        sync.Mutex
	connected map[string]bool
	changed   chan struct{}
}

func newControlServer(t *testing.T) *controlServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	c := &controlServer{addr: lis.Addr().String(), srv: srv, connected: map[string]bool{}, changed: make(chan struct{})}
	fnpb.RegisterBeamFnControlServer(srv, c)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return c
}

func (c *controlServer) set(id string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected[id] = on
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *controlServer) Control(stream fnpb.BeamFnControl_ControlServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	id := strings.Join(md.Get("worker_id"), ",")
	c.set(id, true)
	defer c.set(id, false)
	<-stream.Context().Done()
	return nil
}

// waitConnected waits until worker id's connection state is on.
func (c *controlServer) waitConnected(t *testing.T, id string, on bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got, ch := c.connected[id], c.changed
		c.mu.Unlock()
		if got == on {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("worker %q connected = %v after 10s, want %v", id, got, on)
		}
	}
}

func startPool(t *testing.T) (*workerpool.Pool, fnpb.BeamFnExternalWorkerPoolClient) {
	t.Helper()
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	pool, err := workerpool.New(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	if !strings.HasPrefix(pool.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %q, want a loopback address", pool.Addr())
	}
	cc, err := grpc.NewClient(pool.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pool, fnpb.NewBeamFnExternalWorkerPoolClient(cc)
}

func endpoint(addr string) *pipepb.ApiServiceDescriptor {
	return &pipepb.ApiServiceDescriptor{Url: addr}
}

func TestStartWorkerRunsAHarnessUntilStopWorker(t *testing.T) {
	ctl := newControlServer(t)
	_, client := startPool(t)
	ctx := context.Background()
	resp, err := client.StartWorker(ctx, &fnpb.StartWorkerRequest{WorkerId: "w1", ControlEndpoint: endpoint(ctl.addr)})
	if err != nil || resp.GetError() != "" {
		t.Fatalf("StartWorker = %v, %v", resp, err)
	}
	ctl.waitConnected(t, "w1", true)
	stop, err := client.StopWorker(ctx, &fnpb.StopWorkerRequest{WorkerId: "w1"})
	if err != nil || stop.GetError() != "" {
		t.Fatalf("StopWorker = %v, %v", stop, err)
	}
	// StopWorker returns once the harness has stopped, so the control
	// stream is closed (its server side ends just after).
	ctl.waitConnected(t, "w1", false)
	// The id can be reused once stopped.
	resp, err = client.StartWorker(ctx, &fnpb.StartWorkerRequest{WorkerId: "w1", ControlEndpoint: endpoint(ctl.addr)})
	if err != nil || resp.GetError() != "" {
		t.Fatalf("StartWorker after StopWorker = %v, %v", resp, err)
	}
	ctl.waitConnected(t, "w1", true)
}

func TestStartWorkerRefusesBadRequests(t *testing.T) {
	ctl := newControlServer(t)
	pool, client := startPool(t)
	ctx := context.Background()
	if resp, err := client.StartWorker(ctx, &fnpb.StartWorkerRequest{WorkerId: "w1", ControlEndpoint: endpoint(ctl.addr)}); err != nil || resp.GetError() != "" {
		t.Fatalf("StartWorker = %v, %v", resp, err)
	}
	tests := []struct {
		name string
		req  *fnpb.StartWorkerRequest
		want string
	}{
		{"a request without a control endpoint is refused", &fnpb.StartWorkerRequest{WorkerId: "w2"}, "no control endpoint"},
		{"a running worker's id for its control endpoint is refused", &fnpb.StartWorkerRequest{WorkerId: "w1", ControlEndpoint: endpoint(ctl.addr)}, "already running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.StartWorker(ctx, tt.req)
			if err != nil {
				t.Fatalf("StartWorker: %v", err)
			}
			if !strings.Contains(resp.GetError(), tt.want) {
				t.Errorf("StartWorker error = %q, want one containing %q", resp.GetError(), tt.want)
			}
		})
	}
	if stop, err := client.StopWorker(ctx, &fnpb.StopWorkerRequest{WorkerId: "never-started"}); err != nil || stop.GetError() != "" {
		t.Errorf("StopWorker of an unknown worker = %v, %v; want success", stop, err)
	}
	ctl.waitConnected(t, "w1", true)
	if err := pool.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctl.waitConnected(t, "w1", false)
}

func TestCloseStopsEveryWorker(t *testing.T) {
	ctl := newControlServer(t)
	pool, client := startPool(t)
	for _, id := range []string{"a", "b", "c"} {
		if resp, err := client.StartWorker(context.Background(), &fnpb.StartWorkerRequest{WorkerId: id, ControlEndpoint: endpoint(ctl.addr)}); err != nil || resp.GetError() != "" {
			t.Fatalf("StartWorker(%s) = %v, %v", id, resp, err)
		}
		ctl.waitConnected(t, id, true)
	}
	if err := pool.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, id := range []string{"a", "b", "c"} {
		ctl.waitConnected(t, id, false)
	}
	// The server is gone; a call that still reaches the pool is refused.
	resp, err := pool.StartWorker(context.Background(), &fnpb.StartWorkerRequest{WorkerId: "d", ControlEndpoint: endpoint(ctl.addr)})
	if err != nil || !strings.Contains(resp.GetError(), "closed") {
		t.Errorf("StartWorker on a closed pool = %v, %v; want an error saying it is closed", resp, err)
	}
}

func TestNewRejectsANilPipeline(t *testing.T) {
	if _, err := workerpool.New(nil, nil); err == nil {
		t.Error("New(nil) succeeded, want an error")
	}
}

func TestABarePortListensOnLoopback(t *testing.T) {
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	pool, err := workerpool.New(p, &workerpool.Options{Addr: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if !strings.HasPrefix(pool.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() with Options.Addr %q = %q, want a loopback address", ":0", pool.Addr())
	}
}

// Two runners give their workers the same id, as the executors of one
// Spark job do (Beam numbers workers per JVM): both run, and each
// runner's StopWorker, sent after it ended its control stream, stops its
// own worker and not the other's. (A refusal failed a Spark task, whose
// retry repeated the side effects of the keys it had finished.)
func TestWorkersOfOneIdForTwoRunnersBothRun(t *testing.T) {
	a, b := newControlServer(t), newControlServer(t)
	_, client := startPool(t)
	ctx := context.Background()
	for _, ctl := range []*controlServer{a, b} {
		if resp, err := client.StartWorker(ctx, &fnpb.StartWorkerRequest{WorkerId: "1-1", ControlEndpoint: endpoint(ctl.addr)}); err != nil || resp.GetError() != "" {
			t.Fatalf("StartWorker 1-1 for %s = %v, %v", ctl.addr, resp, err)
		}
		ctl.waitConnected(t, "1-1", true)
	}
	// Runner a ends its control stream, then asks to stop its worker.
	a.srv.Stop()
	a.waitConnected(t, "1-1", false)
	if stop, err := client.StopWorker(ctx, &fnpb.StopWorkerRequest{WorkerId: "1-1"}); err != nil || stop.GetError() != "" {
		t.Fatalf("StopWorker 1-1 (a's) = %v, %v", stop, err)
	}
	// b's worker still serves b: give a wrongly stopped one time to drop.
	time.Sleep(200 * time.Millisecond)
	b.mu.Lock()
	still := b.connected["1-1"]
	b.mu.Unlock()
	if !still {
		t.Fatal("StopWorker for runner a's worker stopped runner b's")
	}
	if stop, err := client.StopWorker(ctx, &fnpb.StopWorkerRequest{WorkerId: "1-1"}); err != nil || stop.GetError() != "" {
		t.Fatalf("StopWorker 1-1 (b's) = %v, %v", stop, err)
	}
	b.waitConnected(t, "1-1", false)
}
