package fnrunner

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// scriptedWorker is an SDK worker's control stream that answers progress
// requests with a fixed read index of transform "src" and split requests
// with no split (or, with keepAt set, a channel split at keepAt: before
// that element, so keeping everything if it is the end), counting the
// split requests.
type scriptedWorker struct {
	readIndex int64
	keepAt    int64

	mu     sync.Mutex
	splits int
}

func (sw *scriptedWorker) splitRequests() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.splits
}

// connect dials srv as worker id and answers its instructions until ctx
// ends.
func (sw *scriptedWorker) connect(t *testing.T, ctx context.Context, srv *service.Server, id string) {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	stream, err := fnpb.NewBeamFnControlClient(conn).Control(metadata.AppendToOutgoingContext(ctx, "worker_id", id))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			resp := &fnpb.InstructionResponse{InstructionId: req.GetInstructionId()}
			switch req.GetRequest().(type) {
			case *fnpb.InstructionRequest_ProcessBundleProgress:
				resp.Response = &fnpb.InstructionResponse_ProcessBundleProgress{ProcessBundleProgress: &fnpb.ProcessBundleProgressResponse{
					MonitoringInfos: []*pipepb.MonitoringInfo{{
						Urn: urns.MetricDataChannelReadIndex, Type: urns.MetricTypeSumInt64,
						Labels:  map[string]string{urns.LabelTransform: "src"},
						Payload: binary.AppendUvarint(nil, uint64(sw.readIndex)),
					}},
				}}
			case *fnpb.InstructionRequest_ProcessBundleSplit:
				sw.mu.Lock()
				sw.splits++
				sw.mu.Unlock()
				split := &fnpb.ProcessBundleSplitResponse{}
				if sw.keepAt > 0 {
					split.ChannelSplits = []*fnpb.ProcessBundleSplitResponse_ChannelSplit{{TransformId: "src", LastPrimaryElement: sw.keepAt - 1, FirstResidualElement: sw.keepAt}}
				}
				resp.Response = &fnpb.InstructionResponse_ProcessBundleSplit{ProcessBundleSplit: split}
			}
			if stream.Send(resp) != nil {
				return
			}
		}
	}()
}

func TestRemoteSplitterDoesNotAskAWorkerThatReadTheWholeBundle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := service.Start(&service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	for _, tt := range []struct {
		name        string
		readIndex   int64 // what the worker reports
		keepAt      int64 // its channel split, if not 0
		elements    int64
		wantAsked   int
		wantRefused bool // whether the bundle is not offered for splitBackoff
		wantOffers  bool // whether the bundle is offered for splitting after that
	}{
		// Beam Go's harness counts an element as read once it is done.
		{name: "the single element is done", readIndex: 1, elements: 1, wantAsked: 0, wantOffers: false},
		{name: "all of several elements are done", readIndex: 5, elements: 5, wantAsked: 0, wantOffers: false},
		// Ours, Java's and Python's report the element in progress.
		{name: "the single element is in progress", readIndex: 0, elements: 1, wantAsked: 1, wantRefused: true, wantOffers: true},
		{name: "the last of several elements is in progress", readIndex: 4, elements: 5, wantAsked: 1, wantRefused: true, wantOffers: true},
		// Beam Go's answer for an element it cannot split: a channel
		// split at the end, which keeps everything.
		{name: "a split that keeps everything is a refusal", readIndex: 0, keepAt: 1, elements: 1, wantAsked: 1, wantRefused: true, wantOffers: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "worker-" + tt.name
			sw := &scriptedWorker{readIndex: tt.readIndex, keepAt: tt.keepAt}
			sw.connect(t, ctx, srv, id)
			w, err := srv.Worker(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			s := newRemoteSplitter(&remote{w: w}, "inst", "src", newProgressWatch(w, "inst", "src"))
			s.started = time.Now().Add(-time.Hour)
			if _, ok := s.TrySplitBundle(0.5, tt.elements); ok {
				t.Fatal("TrySplitBundle split a bundle whose worker answers with no split")
			}
			if got := sw.splitRequests(); got != tt.wantAsked {
				t.Errorf("the worker got %d split requests, want %d", got, tt.wantAsked)
			}
			if refused := !s.refused.IsZero(); refused != tt.wantRefused {
				t.Errorf("after the attempt refused = %v, want %v", refused, tt.wantRefused)
			}
			s.refused = time.Time{} // the backoff's length is another test's
			if _, rem := s.Progress(); (rem > 0) != tt.wantOffers {
				t.Errorf("after the attempt Progress() remaining = %v, want offered %v", rem, tt.wantOffers)
			}
		})
	}
}
