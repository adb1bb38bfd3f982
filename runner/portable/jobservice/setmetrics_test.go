package jobservice_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/monitoring"
	"github.com/beamgo-dev/beamgo/fnapi/workerpool"
	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/universal"
)

// reportingPool is a worker pool whose workers are this SDK's harness, as
// in an EXTERNAL environment, with their control streams passed through a
// proxy that adds a string set and a bounded trie to every bundle's
// monitoring infos: what a Beam Python worker reports, which this SDK
// cannot. It records what it added.
type reportingPool struct {
	fnpb.UnimplementedBeamFnExternalWorkerPoolServer
	t    *testing.T
	real fnpb.BeamFnExternalWorkerPoolClient

	// mu guards the fields below.
	mu      sync.Mutex
	bundles int
	strs    []string
	paths   [][]string
}

// StartWorker starts a control proxy to the runner's endpoint and has the
// real pool start a worker behind it.
func (p *reportingPool) StartWorker(ctx context.Context, req *fnpb.StartWorkerRequest) (*fnpb.StartWorkerResponse, error) {
	cc, err := grpc.NewClient(req.GetControlEndpoint().GetUrl(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	addr := serve(p.t, func(s *grpc.Server) {
		fnpb.RegisterBeamFnControlServer(s, &controlProxy{up: fnpb.NewBeamFnControlClient(cc), pool: p})
	})
	p.t.Cleanup(func() { cc.Close() })
	req = proto.Clone(req).(*fnpb.StartWorkerRequest)
	req.ControlEndpoint = &pipepb.ApiServiceDescriptor{Url: addr}
	return p.real.StartWorker(ctx, req)
}

// StopWorker stops the real pool's worker.
func (p *reportingPool) StopWorker(ctx context.Context, req *fnpb.StopWorkerRequest) (*fnpb.StopWorkerResponse, error) {
	return p.real.StopWorker(ctx, req)
}

// report returns the monitoring infos to add to the next bundle's
// response: a string set and a bounded trie of the Tag transform, each
// with one value of this bundle and one every bundle reports.
func (p *reportingPool) report() []*pipepb.MonitoringInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bundles++
	strs := []string{"every bundle", fmt.Sprintf("bundle %d", p.bundles)}
	paths := [][]string{{"every", "bundle"}, {"bundle", fmt.Sprint(p.bundles)}}
	p.strs = append(p.strs, strs...)
	p.paths = append(p.paths, paths...)
	trie, err := monitoring.BoundedTriePayload(metrics.NewBoundedTrie(100, paths...))
	if err != nil {
		p.t.Error(err)
	}
	labels := map[string]string{urns.LabelTransform: "Collect", urns.LabelNamespace: "worker", urns.LabelName: "seen"}
	return []*pipepb.MonitoringInfo{
		{Urn: urns.MetricUserStringSet, Type: urns.MetricTypeStringSet, Labels: labels, Payload: monitoring.StringSetPayload(metrics.NewStringSet(strs...))},
		{Urn: urns.MetricUserBoundedTrie, Type: urns.MetricTypeBoundedTrie, Labels: labels, Payload: trie},
	}
}

// controlProxy passes a worker's control stream through to the runner,
// adding the pool's report to every process_bundle response.
type controlProxy struct {
	fnpb.UnimplementedBeamFnControlServer
	up   fnpb.BeamFnControlClient
	pool *reportingPool
}

func (c *controlProxy) Control(down fnpb.BeamFnControl_ControlServer) error {
	md, _ := metadata.FromIncomingContext(down.Context())
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(down.Context(), md))
	defer cancel()
	up, err := c.up.Control(ctx)
	if err != nil {
		return err
	}
	go func() {
		for {
			resp, err := down.Recv()
			if err != nil {
				up.CloseSend()
				return
			}
			if pb := resp.GetProcessBundle(); pb != nil && resp.GetError() == "" {
				pb.MonitoringInfos = append(pb.MonitoringInfos, c.pool.report()...)
			}
			if up.Send(resp) != nil {
				return
			}
		}
	}()
	for {
		req, err := up.Recv()
		if errors.Is(err, io.EOF) {
			return nil // the runner stops the worker
		}
		if err != nil {
			return err
		}
		if err := down.Send(req); err != nil {
			return err
		}
	}
}

func (c *controlProxy) GetProcessBundleDescriptor(ctx context.Context, req *fnpb.GetProcessBundleDescriptorRequest) (*fnpb.ProcessBundleDescriptor, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return c.up.GetProcessBundleDescriptor(metadata.NewOutgoingContext(ctx, md), req)
}

// serve serves a gRPC server set up by register on a free loopback port
// until the test ends, and returns its address.
func serve(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// TestWorkerStringSetsAndBoundedTriesReachGetJobMetrics runs a job whose
// workers report a string set and a bounded trie in every bundle's
// monitoring infos, as Beam Python's do: the job's metrics, which the
// submitter reads with GetJobMetrics, hold each united over the bundles,
// beside the user code's own counter.
func TestWorkerStringSetsAndBoundedTriesReachGetJobMetrics(t *testing.T) {
	p, got := wordCount(lines)
	real, err := workerpool.New(p, &workerpool.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	cc, err := grpc.NewClient(real.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	pool := &reportingPool{t: t, real: fnpb.NewBeamFnExternalWorkerPoolClient(cc)}
	poolAddr := serve(t, func(s *grpc.Server) { fnpb.RegisterBeamFnExternalWorkerPoolServer(s, pool) })

	srv := start(t, nil)
	r := universal.New(&universal.Options{Endpoint: srv.Addr(), EnvironmentType: universal.External, ExternalEndpoint: poolAddr, Logger: quiet})
	res, err := r.Run(testCtx(t), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got()) != 7 {
		t.Errorf("word count = %v, want 7 words", got())
	}
	if n := res.Counter("test", "kept"); n != 7 {
		t.Errorf("counter test/kept = %d, want 7", n)
	}
	pool.mu.Lock()
	bundles, strs, paths := pool.bundles, pool.strs, pool.paths
	pool.mu.Unlock()
	if bundles < 2 {
		t.Fatalf("the workers ran %d bundles, want several to unite", bundles)
	}
	k := metrics.Key{Transform: "Collect", Namespace: "worker", Name: "seen"}
	want := metrics.NewStringSet(strs...)
	if diff := cmp.Diff(want, res.Metrics.StringSets[k]); diff != "" {
		t.Errorf("string set %v (-want +got):\n%s\n(all: %v)", k, diff, res.Metrics.StringSets)
	}
	wantTrie := metrics.NewBoundedTrie(100, paths...)
	if diff := cmp.Diff(wantTrie.Leaves(), res.Metrics.BoundedTries[k].Leaves()); diff != "" {
		t.Errorf("bounded trie %v leaves (-want +got):\n%s", k, diff)
	}
	if set := res.StringSet("worker", "seen"); !slices.Contains(set, "every bundle") {
		t.Errorf("Result.StringSet(worker, seen) = %v, lacks the value every bundle reported", set)
	}
	if trie := res.BoundedTrie("worker", "seen"); !trie.Contains([]string{"every", "bundle"}) || trie.Size() != bundles+1 {
		t.Errorf("Result.BoundedTrie(worker, seen) = %v, want every/bundle and one leaf a bundle", trie.Leaves())
	}
}
