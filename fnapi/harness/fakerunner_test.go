package harness_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
)

// fakeRunner is the runner side of the Fn API, enough to drive a harness:
// it sends instructions and data, records outputs, serves iterable side
// inputs in pages and collects logs.
type fakeRunner struct {
	fnpb.UnimplementedBeamFnControlServer
	fnpb.UnimplementedBeamFnDataServer
	fnpb.UnimplementedBeamFnStateServer
	fnpb.UnimplementedBeamFnLoggingServer
	fnpb.UnimplementedProvisionServiceServer

	t    *testing.T
	addr string
	// toHarness carries instructions and elements to the harness.
	instructions chan *fnpb.InstructionRequest
	elements     chan *fnpb.Elements
	// pageSize is the most side input bytes per state response.
	pageSize int

	// mu guards the fields below.
	mu          sync.Mutex
	descs       map[string]*fnpb.ProcessBundleDescriptor
	sides       map[string][]byte // "transform/local" -> contents
	workerIDs   map[string]string // service -> worker_id header
	responses   map[string]chan *fnpb.InstructionResponse
	outputs     map[string][]byte // "instruction/transform" -> data
	last        map[string]bool
	stateCalls  int
	logs        []*fnpb.LogEntry
	descFetches int
	capability  []string
	changed     chan struct{}
}

func newFakeRunner(t *testing.T) *fakeRunner {
	t.Helper()
	f := &fakeRunner{
		t: t, instructions: make(chan *fnpb.InstructionRequest, 16), elements: make(chan *fnpb.Elements, 16), pageSize: 1 << 20,
		descs: map[string]*fnpb.ProcessBundleDescriptor{}, sides: map[string][]byte{}, workerIDs: map[string]string{},
		responses: map[string]chan *fnpb.InstructionResponse{}, outputs: map[string][]byte{}, last: map[string]bool{},
		changed: make(chan struct{}),
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(harness.MaxMessageSize))
	fnpb.RegisterBeamFnControlServer(srv, f)
	fnpb.RegisterBeamFnDataServer(srv, f)
	fnpb.RegisterBeamFnStateServer(srv, f)
	fnpb.RegisterBeamFnLoggingServer(srv, f)
	fnpb.RegisterProvisionServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f
}

// notify wakes waiters after a change; f.mu must be held.
func (f *fakeRunner) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// waitFor waits until cond (called with f.mu held) holds.
func (f *fakeRunner) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		f.mu.Lock()
		ok, ch := cond(), f.changed
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			f.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (f *fakeRunner) sawWorker(ctx context.Context, service string) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if ids := md.Get("worker_id"); len(ids) > 0 {
		f.workerIDs[service] = ids[0]
	} else {
		f.workerIDs[service] = "<none>"
	}
}

func (f *fakeRunner) Control(stream fnpb.BeamFnControl_ControlServer) error {
	f.sawWorker(stream.Context(), "control")
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			f.mu.Lock()
			ch := f.responses[resp.GetInstructionId()]
			f.mu.Unlock()
			if ch != nil {
				ch <- resp
			}
		}
	}()
	for {
		select {
		case req := <-f.instructions:
			if err := stream.Send(req); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
}

// instruct sends an instruction and returns a channel of its response.
func (f *fakeRunner) instruct(req *fnpb.InstructionRequest) <-chan *fnpb.InstructionResponse {
	ch := make(chan *fnpb.InstructionResponse, 1)
	f.mu.Lock()
	f.responses[req.GetInstructionId()] = ch
	f.mu.Unlock()
	f.instructions <- req
	return ch
}

// await returns the response on ch.
func (f *fakeRunner) await(ch <-chan *fnpb.InstructionResponse) *fnpb.InstructionResponse {
	f.t.Helper()
	select {
	case resp := <-ch:
		return resp
	case <-time.After(20 * time.Second):
		f.t.Fatal("timed out waiting for an instruction response")
		return nil
	}
}

func (f *fakeRunner) GetProcessBundleDescriptor(ctx context.Context, req *fnpb.GetProcessBundleDescriptorRequest) (*fnpb.ProcessBundleDescriptor, error) {
	f.sawWorker(ctx, "descriptor")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.descFetches++
	d, ok := f.descs[req.GetProcessBundleDescriptorId()]
	if !ok {
		return nil, fmt.Errorf("no descriptor %q", req.GetProcessBundleDescriptorId())
	}
	return d, nil
}

func (f *fakeRunner) Data(stream fnpb.BeamFnData_DataServer) error {
	f.sawWorker(stream.Context(), "data")
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				return
			}
			f.mu.Lock()
			for _, d := range msg.GetData() {
				k := d.GetInstructionId() + "/" + d.GetTransformId()
				if f.last[k] {
					f.t.Errorf("data for %s after is_last", k)
				}
				f.outputs[k] = append(f.outputs[k], d.GetData()...)
				if d.GetIsLast() {
					f.last[k] = true
				}
			}
			f.notify()
			f.mu.Unlock()
		}
	}()
	for {
		select {
		case e := <-f.elements:
			if err := stream.Send(e); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
}

// send sends elements to transform of instruction, in one message per
// chunk, the last one marked last.
func (f *fakeRunner) send(instruction, transform string, chunks ...[]byte) {
	for i, c := range chunks {
		f.elements <- &fnpb.Elements{Data: []*fnpb.Elements_Data{{InstructionId: instruction, TransformId: transform, Data: c, IsLast: i == len(chunks)-1}}}
	}
}

// output waits for the last output of transform of instruction.
func (f *fakeRunner) output(instruction, transform string) []byte {
	f.t.Helper()
	k := instruction + "/" + transform
	f.waitFor("output "+k, func() bool { return f.last[k] })
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outputs[k]
}

// outputWithin is output with a deadline: it reports false if the last
// output of transform of instruction did not arrive within d.
func (f *fakeRunner) outputWithin(instruction, transform string, d time.Duration) ([]byte, bool) {
	k := instruction + "/" + transform
	deadline := time.After(d)
	for {
		f.mu.Lock()
		done, out, ch := f.last[k], f.outputs[k], f.changed
		f.mu.Unlock()
		if done {
			return out, true
		}
		select {
		case <-ch:
		case <-deadline:
			return nil, false
		}
	}
}

func (f *fakeRunner) State(stream fnpb.BeamFnState_StateServer) error {
	f.sawWorker(stream.Context(), "state")
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp := &fnpb.StateResponse{Id: req.GetId()}
		key := req.GetStateKey().GetIterableSideInput()
		f.mu.Lock()
		f.stateCalls++
		data, ok := f.sides[key.GetTransformId()+"/"+key.GetSideInputId()]
		f.mu.Unlock()
		switch {
		case key == nil || req.GetGet() == nil:
			resp.Error = "only iterable side input gets are served"
		case !ok:
			resp.Error = "no such side input"
		default:
			start := 0
			if tok := req.GetGet().GetContinuationToken(); len(tok) > 0 {
				start, _ = strconv.Atoi(string(tok))
			}
			end := min(start+f.pageSize, len(data))
			get := &fnpb.StateGetResponse{Data: data[start:end]}
			if end < len(data) {
				get.ContinuationToken = []byte(strconv.Itoa(end))
			}
			resp.Response = &fnpb.StateResponse_Get{Get: get}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func (f *fakeRunner) Logging(stream fnpb.BeamFnLogging_LoggingServer) error {
	f.sawWorker(stream.Context(), "logging")
	for {
		list, err := stream.Recv()
		if err != nil {
			return nil
		}
		f.mu.Lock()
		f.logs = append(f.logs, list.GetLogEntries()...)
		f.notify()
		f.mu.Unlock()
	}
}

func (f *fakeRunner) GetProvisionInfo(ctx context.Context, _ *fnpb.GetProvisionInfoRequest) (*fnpb.GetProvisionInfoResponse, error) {
	f.sawWorker(ctx, "provision")
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fnpb.GetProvisionInfoResponse{Info: &fnpb.ProvisionInfo{RunnerCapabilities: f.capability}}, nil
}

// startHarness runs a harness for p against f until the test ends; the
// returned function stops it and returns Run's error.
func startHarness(t *testing.T, f *fakeRunner, p *sdk.Pipeline) (stop func() error) {
	t.Helper()
	return fnapitest.StartHarness(t, &harness.Options{ID: "worker-7", ControlEndpoint: f.addr, LoggingEndpoint: f.addr, ProvisionEndpoint: f.addr, Pipeline: p})
}

// stage describes a descriptor that runs the ParDos of a pipeline between
// a data source and sink, as a runner would send it.
type stage struct {
	desc *fnpb.ProcessBundleDescriptor
	// in and out are the source and sink transform ids.
	in, out string
}

// stageFor builds a descriptor running the ParDo transforms named names
// (unique names) from collection in to collection out. wrap may replace the
// element coder id of a port (to model a runner's length prefixes).
func stageFor(t *testing.T, f *fakeRunner, p *sdk.Pipeline, id string, names []string, in, out *graph.Collection, wrap func(desc *fnpb.ProcessBundleDescriptor, coderID string) string) stage {
	t.Helper()
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := pb.GetComponents()
	desc := &fnpb.ProcessBundleDescriptor{Id: id, Transforms: map[string]*pipepb.PTransform{},
		Pcollections: c.GetPcollections(), Coders: c.GetCoders(), WindowingStrategies: c.GetWindowingStrategies(),
		StateApiServiceDescriptor: &pipepb.ApiServiceDescriptor{Url: f.addr}}
	desc.Coders["gw"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}}
	for tid, tr := range c.GetTransforms() {
		for _, n := range names {
			if tr.GetUniqueName() == n {
				desc.Transforms[tid] = tr
			}
		}
	}
	if len(desc.Transforms) != len(names) {
		t.Fatalf("found %d of the transforms %v", len(desc.Transforms), names)
	}
	port := func(pc string) []byte {
		elem := c.GetPcollections()[pc].GetCoderId()
		if wrap != nil {
			elem = wrap(desc, elem)
		}
		wv := "wv_" + pc
		desc.Coders[wv] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{elem, "gw"}}
		b, err := proto.Marshal(&fnpb.RemoteGrpcPort{CoderId: wv, ApiServiceDescriptor: &pipepb.ApiServiceDescriptor{Url: f.addr}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	desc.Transforms["src"] = &pipepb.PTransform{UniqueName: "src", Spec: &pipepb.FunctionSpec{Urn: urns.TransformSource, Payload: port(in.ID)}, Outputs: map[string]string{"o": in.ID}}
	desc.Transforms["snk"] = &pipepb.PTransform{UniqueName: "snk", Spec: &pipepb.FunctionSpec{Urn: urns.TransformSink, Payload: port(out.ID)}, Inputs: map[string]string{"i": out.ID}}
	f.mu.Lock()
	f.descs[id] = desc
	f.mu.Unlock()
	return stage{desc: desc, in: "src", out: "snk"}
}

// processBundle returns an instruction to run a bundle of descriptor id.
func processBundle(inst, desc string) *fnpb.InstructionRequest {
	return &fnpb.InstructionRequest{InstructionId: inst, Request: &fnpb.InstructionRequest_ProcessBundle{
		ProcessBundle: &fnpb.ProcessBundleRequest{ProcessBundleDescriptorId: desc},
	}}
}
