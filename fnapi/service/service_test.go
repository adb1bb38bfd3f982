package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// upperFn upper-cases words and fails on "boom".
type upperFn struct{}

func (upperFn) ProcessElement(_ context.Context, s string, emit func(string)) error {
	if s == "boom" {
		return errors.New("cannot upper-case boom")
	}
	emit(strings.ToUpper(s))
	return nil
}

// sideSumFn appends as many bars as its side input sums to.
type sideSumFn struct {
	Nums *sdk.IterView[int]
}

func (f *sideSumFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	sum := 0
	for n := range f.Nums.Get(ctx) {
		sum += n
	}
	emit(fmt.Sprintf("%s=%d", s, sum))
	return nil
}

// gateFn blocks on "wait" until the test ends.
type gateFn struct {
	Started chan struct{}
}

func (f *gateFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	if s == "wait" {
		close(f.Started)
		<-ctx.Done()
		return ctx.Err()
	}
	emit(s)
	return nil
}

// stage is a registered descriptor and its data ports.
type stage struct {
	desc    *fnpb.ProcessBundleDescriptor
	in, out string
	// transform is the id of the stage's (single) ParDo.
	transform string
}

// stageFor registers a descriptor running the ParDo named name from
// collection in to collection out, with data and state at srv.
func stageFor(t *testing.T, srv *service.Server, p *sdk.Pipeline, id, name string, in, out *graph.Collection) stage {
	t.Helper()
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := pb.GetComponents()
	desc := &fnpb.ProcessBundleDescriptor{Id: id, Transforms: map[string]*pipepb.PTransform{},
		Pcollections: c.GetPcollections(), Coders: c.GetCoders(), WindowingStrategies: c.GetWindowingStrategies(),
		StateApiServiceDescriptor: srv.Endpoint()}
	desc.Coders["gw"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}}
	st := stage{desc: desc, in: "src", out: "snk"}
	for tid, tr := range c.GetTransforms() {
		if tr.GetUniqueName() == name {
			desc.Transforms[tid] = tr
			st.transform = tid
		}
	}
	if st.transform == "" {
		t.Fatalf("no transform %q", name)
	}
	port := func(pc string) []byte {
		wv := "wv_" + pc
		desc.Coders[wv] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{c.GetPcollections()[pc].GetCoderId(), "gw"}}
		b, err := proto.Marshal(&fnpb.RemoteGrpcPort{CoderId: wv, ApiServiceDescriptor: srv.Endpoint()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	desc.Transforms["src"] = &pipepb.PTransform{UniqueName: "src", Spec: &pipepb.FunctionSpec{Urn: urns.TransformSource, Payload: port(in.ID)}, Outputs: map[string]string{"o": in.ID}}
	desc.Transforms["snk"] = &pipepb.PTransform{UniqueName: "snk", Spec: &pipepb.FunctionSpec{Urn: urns.TransformSink, Payload: port(out.ID)}, Inputs: map[string]string{"i": out.ID}}
	srv.RegisterDescriptor(desc)
	return st
}

func startServer(t *testing.T, opts *service.Options) *service.Server {
	t.Helper()
	srv, err := service.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// startHarness runs our harness as worker id against srv; the returned
// function stops it (as a crash would: its streams drop) and returns Run's
// error.
func startHarness(t *testing.T, srv *service.Server, id string, p *sdk.Pipeline) (stop func() error) {
	t.Helper()
	return fnapitest.StartHarness(t, &harness.Options{ID: id, ControlEndpoint: srv.Addr(), LoggingEndpoint: srv.Addr(), Pipeline: p})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func processBundle(inst, desc string) *fnpb.InstructionRequest {
	return &fnpb.InstructionRequest{InstructionId: inst, Request: &fnpb.InstructionRequest_ProcessBundle{
		ProcessBundle: &fnpb.ProcessBundleRequest{ProcessBundleDescriptorId: desc},
	}}
}

// runBundle runs one bundle of st on w with the given input and returns
// the response and the decoded output.
func runBundle(t *testing.T, ctx context.Context, w *service.Worker, st stage, inst string, reader service.StateReader, in ...string) (*fnpb.InstructionResponse, []string) {
	t.Helper()
	b, err := w.NewBundle(inst, []string{st.out}, reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	sendErr := make(chan error, 1)
	go func() {
		if err := b.Send(ctx, st.in, fnapitest.EncodeStrings(in...)); err != nil {
			sendErr <- err
			return
		}
		sendErr <- b.Close(ctx, st.in)
	}()
	resp, err := w.Instruct(ctx, processBundle(inst, st.desc.GetId()))
	if err != nil {
		t.Fatalf("Instruct(%s): %v", inst, err)
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("sending input of %s: %v", inst, err)
	}
	if resp.GetError() != "" {
		return resp, nil
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("Wait(%s): %v", inst, err)
	}
	return resp, fnapitest.DecodeStrings(t, b.Output(st.out))
}

func TestBundleWithPagedSideInputRunsOnTheHarness(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, &service.Options{StatePageSize: 3})
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	fn := &sideSumFn{Nums: sdk.AsIter(sdk.Create(s, []int{}))}
	out := sdk.ParDo(s, fn, in, sdk.WithSideInput(fn.Nums), sdk.Name("Sum"))
	st := stageFor(t, srv, p, "sum", "Sum", sdkaccess.Collection(in), sdkaccess.Collection(out))
	ints, _ := coder.Of[int]()
	var contents []byte
	for _, n := range []int{1, 2, 3, 4, 200, 300} {
		contents = ints.Encode(contents, n)
	}
	var mu sync.Mutex
	var reads []string
	reader := service.StateReaderFunc(func(key *fnpb.StateKey) ([]byte, error) {
		it := key.GetIterableSideInput()
		if it == nil {
			return nil, fmt.Errorf("unexpected state key %v", key)
		}
		mu.Lock()
		reads = append(reads, it.GetTransformId())
		mu.Unlock()
		return contents, nil
	})
	startHarness(t, srv, "w1", p)
	w, err := srv.Worker(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	resp, got := runBundle(t, ctx, w, st, "b1", reader, "a", "b")
	if resp.GetError() != "" {
		t.Fatalf("bundle failed: %s", resp.GetError())
	}
	if want := []string{"a=510", "b=510"}; !slices.Equal(got, want) {
		t.Errorf("output = %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	// 8 bytes in pages of 3 are read from the reader once.
	if want := []string{st.transform}; !slices.Equal(reads, want) {
		t.Errorf("ReadState calls for transforms %q, want %q", reads, want)
	}
}

func TestWorkersAreRoutedByWorkerIDAndRunBundlesInParallel(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, nil)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	out := sdk.ParDo(s, upperFn{}, in, sdk.Name("Upper"))
	st := stageFor(t, srv, p, "upper", "Upper", sdkaccess.Collection(in), sdkaccess.Collection(out))
	ids := []string{"w1", "w2", "w3"}
	for _, id := range ids {
		startHarness(t, srv, id, p)
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		w, err := srv.Worker(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if w.ID() != id {
			t.Errorf("Worker(%q).ID() = %q", id, w.ID())
		}
		for j := range 4 {
			wg.Go(func() {
				word := fmt.Sprintf("word%d-%d", i, j)
				resp, got := runBundle(t, ctx, w, st, fmt.Sprintf("%s-b%d", id, j), nil, word, word)
				if resp.GetError() != "" {
					t.Errorf("bundle failed: %s", resp.GetError())
					return
				}
				if want := []string{strings.ToUpper(word), strings.ToUpper(word)}; !slices.Equal(got, want) {
					t.Errorf("output of %s = %q, want %q", id, got, want)
				}
			})
		}
	}
	wg.Wait()
}

func TestFailedBundleReportsErrorAndLogsReachTheRunner(t *testing.T) {
	ctx := testContext(t)
	logged := make(chan *fnpb.LogEntry, 100)
	srv := startServer(t, &service.Options{OnLog: func(worker string, e *fnpb.LogEntry) {
		if worker == "w1" && e.GetInstructionId() == "bad" {
			select {
			case logged <- e:
			default:
			}
		}
	}})
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	out := sdk.ParDo(s, upperFn{}, in, sdk.Name("Upper"))
	st := stageFor(t, srv, p, "upper", "Upper", sdkaccess.Collection(in), sdkaccess.Collection(out))
	startHarness(t, srv, "w1", p)
	w, err := srv.Worker(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := runBundle(t, ctx, w, st, "bad", nil, "ok", "boom")
	if !strings.Contains(resp.GetError(), "cannot upper-case boom") {
		t.Errorf("bundle error = %q, want it to mention the DoFn's error", resp.GetError())
	}
	select {
	case e := <-logged:
		if e.GetSeverity() < fnpb.LogEntry_Severity_WARN {
			t.Errorf("log entry of the failed bundle has severity %v, want at least WARN", e.GetSeverity())
		}
	case <-ctx.Done():
		t.Fatal("no log entry for the failed bundle reached OnLog")
	}
	// The worker keeps serving.
	if resp, got := runBundle(t, ctx, w, st, "good", nil, "fine"); resp.GetError() != "" || !slices.Equal(got, []string{"FINE"}) {
		t.Errorf("bundle after a failure: error %q, output %q, want [FINE]", resp.GetError(), got)
	}
}

func TestWorkerThatDiesMidBundleFailsItsCalls(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, nil)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	fn := &gateFn{Started: make(chan struct{})}
	out := sdk.ParDo(s, fn, in, sdk.Name("Gate"))
	st := stageFor(t, srv, p, "gate", "Gate", sdkaccess.Collection(in), sdkaccess.Collection(out))
	stop := startHarness(t, srv, "w1", p)
	w, err := srv.Worker(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.NewBundle("b1", []string{st.out}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if err := b.Send(ctx, st.in, fnapitest.EncodeStrings("x", "wait")); err != nil {
		t.Fatal(err)
	}
	go func() {
		<-fn.Started
		stop()
	}()
	// A stopping harness may still answer with the bundle's failure (its
	// context was canceled) before its stream closes; either way the call
	// must end, and never as a success.
	resp, err := w.Instruct(ctx, processBundle("b1", "gate"))
	switch {
	case errors.Is(err, service.ErrWorkerGone):
		if err := b.Wait(ctx); !errors.Is(err, service.ErrWorkerGone) {
			t.Errorf("Wait on a dead worker's bundle = %v, want ErrWorkerGone", err)
		}
	case err == nil && resp.GetError() != "":
		// The bundle failed before the worker went away.
	default:
		t.Fatalf("Instruct on a dying worker = %v, %v; want an error wrapping ErrWorkerGone or a failed bundle", resp, err)
	}
	select {
	case <-w.Done():
	case <-ctx.Done():
		t.Fatal("the stopped worker never went away")
	}
	if _, err := w.Instruct(ctx, processBundle("b2", "gate")); !errors.Is(err, service.ErrWorkerGone) {
		t.Errorf("Instruct on a dead worker = %v, want ErrWorkerGone", err)
	}
	select {
	case <-w.Done():
	default:
		t.Error("Done is open after the worker died")
	}
}

func TestStoppingAWorkerEndsItsHarness(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, nil)
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, upperFn{}, sdk.Create(s, []string{}), sdk.Name("Upper"))
	done := make(chan error, 1)
	go func() {
		done <- harness.Run(ctx, &harness.Options{ID: "w1", ControlEndpoint: srv.Addr(), Pipeline: p})
	}()
	w, err := srv.Worker(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("harness.Run after Stop = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("the harness did not stop after Worker.Stop")
	}
}

func TestMalformedRequestsGetClearErrors(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, nil)
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	control := fnpb.NewBeamFnControlClient(cc)

	t.Run("a control stream without worker_id is refused", func(t *testing.T) {
		stream, err := control.Control(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument {
			t.Errorf("Recv = %v, want InvalidArgument", err)
		}
	})
	withID := metadata.AppendToOutgoingContext(ctx, "worker_id", "raw")

	t.Run("an unknown descriptor is not found", func(t *testing.T) {
		_, err := control.GetProcessBundleDescriptor(withID, &fnpb.GetProcessBundleDescriptorRequest{ProcessBundleDescriptorId: "nope"})
		if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "nope") {
			t.Errorf("GetProcessBundleDescriptor(nope) = %v, want NotFound naming it", err)
		}
	})

	t.Run("a state request of an unknown instruction is an error", func(t *testing.T) {
		stream, err := fnpb.NewBeamFnStateClient(cc).State(withID)
		if err != nil {
			t.Fatal(err)
		}
		reqs := []*fnpb.StateRequest{
			{Id: "1", InstructionId: "ghost", StateKey: &fnpb.StateKey{Type: &fnpb.StateKey_IterableSideInput_{IterableSideInput: &fnpb.StateKey_IterableSideInput{}}},
				Request: &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}}},
		}
		for _, req := range reqs {
			if err := stream.Send(req); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetId() != req.GetId() || !strings.Contains(resp.GetError(), "ghost") {
				t.Errorf("response to %v = %v, want an error naming the instruction", req, resp)
			}
		}
	})

	t.Run("a duplicate worker id is refused while the first is connected", func(t *testing.T) {
		first, err := control.Control(withID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Worker(ctx, "raw"); err != nil {
			t.Fatal(err)
		}
		second, err := control.Control(withID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := second.Recv(); status.Code(err) != codes.AlreadyExists {
			t.Errorf("second control stream: Recv = %v, want AlreadyExists", err)
		}
		first.CloseSend()
	})
}

func TestBundleStateServesSideInputsAndBagUserState(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, &service.Options{StatePageSize: 2})
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	withID := metadata.AppendToOutgoingContext(ctx, "worker_id", "raw")
	if _, err := fnpb.NewBeamFnControlClient(cc).Control(withID); err != nil {
		t.Fatal(err)
	}
	w, err := srv.Worker(ctx, "raw")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.NewBundle("i1", nil, service.StateReaderFunc(func(key *fnpb.StateKey) ([]byte, error) {
		if mm := key.GetMultimapSideInput(); mm != nil {
			return append([]byte("v:"), mm.GetKey()...), nil
		}
		return nil, errors.New("no such side input")
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	stream, err := fnpb.NewBeamFnStateClient(cc).State(withID)
	if err != nil {
		t.Fatal(err)
	}
	multimap := &fnpb.StateKey{Type: &fnpb.StateKey_MultimapSideInput_{MultimapSideInput: &fnpb.StateKey_MultimapSideInput{TransformId: "t", SideInputId: "s", Key: []byte("ab")}}}
	get := func(token string) *fnpb.StateRequest {
		return &fnpb.StateRequest{Id: "g", InstructionId: "i1", StateKey: multimap, Request: &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{ContinuationToken: []byte(token)}}}
	}
	bagKey := &fnpb.StateKey{Type: &fnpb.StateKey_BagUserState_{BagUserState: &fnpb.StateKey_BagUserState{TransformId: "t", UserStateId: "seen", Key: []byte("k")}}}
	bag := func(r any) *fnpb.StateRequest {
		req := &fnpb.StateRequest{Id: "b", InstructionId: "i1", StateKey: bagKey}
		switch r := r.(type) {
		case *fnpb.StateRequest_Get:
			req.Request = r
		case *fnpb.StateRequest_Append:
			req.Request = r
		case *fnpb.StateRequest_Clear:
			req.Request = r
		}
		return req
	}
	tests := []struct {
		name    string
		req     *fnpb.StateRequest
		data    string
		token   string
		errWant string
	}{
		{name: "the first page of a multimap key", req: get(""), data: "v:", token: "2"},
		{name: "the last page", req: get("2"), data: "ab"},
		{name: "a token past the end", req: get("9"), errWant: "bad continuation token"},
		{name: "a token that is not ours", req: get("x"), errWant: "bad continuation token"},
		{name: "a reader error", req: &fnpb.StateRequest{Id: "e", InstructionId: "i1",
			StateKey: &fnpb.StateKey{Type: &fnpb.StateKey_IterableSideInput_{IterableSideInput: &fnpb.StateKey_IterableSideInput{}}},
			Request:  &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}}}, errWant: "no such side input"},
		{name: "empty bag user state", req: bag(&fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}})},
		{name: "an append to bag user state", req: bag(&fnpb.StateRequest_Append{Append: &fnpb.StateAppendRequest{Data: []byte("xyz")}})},
		{name: "another append", req: bag(&fnpb.StateRequest_Append{Append: &fnpb.StateAppendRequest{Data: []byte("w")}})},
		{name: "the bag's first page", req: bag(&fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}}), data: "xy", token: "2"},
		{name: "the bag's last page", req: bag(&fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{ContinuationToken: []byte("2")}}), data: "zw"},
		{name: "another key's bag is empty", req: &fnpb.StateRequest{Id: "u", InstructionId: "i1",
			StateKey: &fnpb.StateKey{Type: &fnpb.StateKey_BagUserState_{BagUserState: &fnpb.StateKey_BagUserState{TransformId: "t", UserStateId: "seen", Key: []byte("other")}}},
			Request:  &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}}}},
		{name: "a clear", req: bag(&fnpb.StateRequest_Clear{Clear: &fnpb.StateClearRequest{}})},
		{name: "the bag after the clear", req: bag(&fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}})},
		{name: "map user state is not supported", req: &fnpb.StateRequest{Id: "m", InstructionId: "i1",
			StateKey: &fnpb.StateKey{Type: &fnpb.StateKey_MultimapUserState_{MultimapUserState: &fnpb.StateKey_MultimapUserState{}}},
			Request:  &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{}}}, errWant: "not supported"},
		{name: "an append to a side input", req: &fnpb.StateRequest{Id: "a", InstructionId: "i1", StateKey: multimap,
			Request: &fnpb.StateRequest_Append{Append: &fnpb.StateAppendRequest{}}}, errWant: "only read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := stream.Send(tc.req); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if tc.errWant != "" {
				if !strings.Contains(resp.GetError(), tc.errWant) {
					t.Errorf("error = %q, want it to contain %q", resp.GetError(), tc.errWant)
				}
				return
			}
			if resp.GetError() != "" {
				t.Fatalf("error = %q", resp.GetError())
			}
			if got := resp.GetGet(); string(got.GetData()) != tc.data || string(got.GetContinuationToken()) != tc.token {
				t.Errorf("get = (%q, token %q), want (%q, token %q)", got.GetData(), got.GetContinuationToken(), tc.data, tc.token)
			}
		})
	}
}

func TestProvisionInfoPointsWorkersAtTheServer(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, nil)
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := fnpb.NewProvisionServiceClient(cc).GetProvisionInfo(metadata.AppendToOutgoingContext(ctx, "worker_id", "w1"), &fnpb.GetProvisionInfoRequest{})
	if err != nil {
		t.Fatalf("GetProvisionInfo: %v", err)
	}
	info := resp.GetInfo()
	if got := info.GetControlEndpoint().GetUrl(); got != srv.Addr() {
		t.Errorf("control endpoint = %q, want %q", got, srv.Addr())
	}
	if got := info.GetLoggingEndpoint().GetUrl(); got != srv.Addr() {
		t.Errorf("logging endpoint = %q, want %q", got, srv.Addr())
	}
	// The runners read full monitoring infos: claiming short ids would make
	// harnesses send only payloads.
	if caps := info.GetRunnerCapabilities(); len(caps) != 0 {
		t.Errorf("runner capabilities = %v, want none", caps)
	}
}

func TestStreamOutputHandsChunksOverAsTheyArriveAndItsErrorFailsTheBundle(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, nil)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	out := sdk.ParDo(s, upperFn{}, in, sdk.Name("Upper"))
	st := stageFor(t, srv, p, "upper", "Upper", sdkaccess.Collection(in), sdkaccess.Collection(out))
	startHarness(t, srv, "w1", p)
	w, err := srv.Worker(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		fail    bool
		want    []string
		wantErr bool
	}{
		{name: "the chunks, concatenated, are the output; Output keeps nothing", want: []string{"A", "B", "C"}},
		{name: "a receive error fails the bundle", fail: true, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inst := fmt.Sprintf("b-%v", tt.fail)
			b, err := w.NewBundle(inst, []string{st.out}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Release()
			var streamed []byte
			b.StreamOutput(func(transform string, data []byte) error {
				if transform != st.out {
					return fmt.Errorf("output of %q, want %q", transform, st.out)
				}
				if tt.fail {
					return errors.New("receiver refuses")
				}
				streamed = append(streamed, data...)
				return nil
			})
			go func() {
				if err := b.Send(ctx, st.in, fnapitest.EncodeStrings("a", "b", "c")); err == nil {
					b.Close(ctx, st.in)
				}
			}()
			if _, err := w.Instruct(ctx, processBundle(inst, st.desc.GetId())); err != nil {
				t.Fatalf("Instruct: %v", err)
			}
			err = b.Wait(ctx)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("Wait = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got := fnapitest.DecodeStrings(t, streamed); !slices.Equal(got, tt.want) {
				t.Errorf("streamed output = %q, want %q", got, tt.want)
			}
			if n := len(b.Output(st.out)); n != 0 {
				t.Errorf("Output kept %d bytes, want none when streamed", n)
			}
		})
	}
}

// pagedState is a StateOpener whose ReadState fails, so that a test sees
// the Server page through OpenState; largest is the largest read.
type pagedState struct {
	contents string
	largest  atomic.Int64
}

func (p *pagedState) ReadState(*fnpb.StateKey) ([]byte, error) {
	return nil, errors.New("read whole")
}

func (p *pagedState) OpenState(*fnpb.StateKey) (*io.SectionReader, error) {
	return io.NewSectionReader(p, 0, int64(len(p.contents))), nil
}

func (p *pagedState) ReadAt(b []byte, off int64) (int, error) {
	if int64(len(b)) > p.largest.Load() {
		p.largest.Store(int64(len(b)))
	}
	return strings.NewReader(p.contents).ReadAt(b, off)
}

func TestBundleStateReadsOpenedSideInputsAPageAtATime(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(t, &service.Options{StatePageSize: 3})
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	withID := metadata.AppendToOutgoingContext(ctx, "worker_id", "paged")
	if _, err := fnpb.NewBeamFnControlClient(cc).Control(withID); err != nil {
		t.Fatal(err)
	}
	w, err := srv.Worker(ctx, "paged")
	if err != nil {
		t.Fatal(err)
	}
	state := &pagedState{contents: "abcdefgh"}
	b, err := w.NewBundle("i1", nil, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	stream, err := fnpb.NewBeamFnStateClient(cc).State(withID)
	if err != nil {
		t.Fatal(err)
	}
	key := &fnpb.StateKey{Type: &fnpb.StateKey_IterableSideInput_{IterableSideInput: &fnpb.StateKey_IterableSideInput{TransformId: "t", SideInputId: "s"}}}
	var got []string
	for token, pages := []byte(nil), 0; pages == 0 || len(token) > 0; pages++ {
		if pages > 10 {
			t.Fatalf("more than 10 pages of 8 bytes: %q", got)
		}
		if err := stream.Send(&fnpb.StateRequest{Id: "g", InstructionId: "i1", StateKey: key,
			Request: &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{ContinuationToken: token}}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetError() != "" {
			t.Fatalf("page %d: error %q", pages, resp.GetError())
		}
		got = append(got, string(resp.GetGet().GetData()))
		token = resp.GetGet().GetContinuationToken()
	}
	if want := []string{"abc", "def", "gh"}; !slices.Equal(got, want) {
		t.Errorf("pages %q, want %q", got, want)
	}
	if n := state.largest.Load(); n > 3 {
		t.Errorf("the server read %d bytes at once, more than a page of 3", n)
	}
}
