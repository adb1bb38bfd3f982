package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Options configure a harness.
type Options struct {
	// ID is the worker id the runner gave this worker; it is sent as the
	// worker_id header of every call.
	ID string
	// ControlEndpoint is the runner's control service (host:port).
	ControlEndpoint string
	// LoggingEndpoint, if set, receives the harness's log records.
	LoggingEndpoint string
	// ProvisionEndpoint, if set, is asked for the runner's capabilities.
	ProvisionEndpoint string
	// Pipeline is the pipeline whose transforms the runner's descriptors
	// name: the harness finds user code in it by unique name.
	Pipeline *sdk.Pipeline
	// Logger receives the harness's log records in this process (default:
	// slog.Default()); they also go to LoggingEndpoint.
	Logger *slog.Logger
}

// Run serves the runner at opts.ControlEndpoint until the runner closes the
// control stream or ctx ends, which is how a worker is stopped; both return
// nil. Bundles still running then are canceled, and every operator is torn
// down before Run returns. It returns an error if the control stream cannot
// be opened or breaks.
func Run(ctx context.Context, opts *Options) error {
	if opts == nil || opts.Pipeline == nil {
		return errors.New("harness: Options.Pipeline is required")
	}
	if opts.ControlEndpoint == "" {
		return errors.New("harness: Options.ControlEndpoint is required")
	}
	if err := opts.Pipeline.Err(); err != nil {
		return fmt.Errorf("harness: the pipeline has construction errors: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	h := &harness{
		id: opts.ID, g: sdkaccess.Graph(opts.Pipeline), logger: logger, ids: newShortIDs(),
		conns: map[string]*grpc.ClientConn{}, descs: map[string]*descEntry{}, active: map[string]*bundle{},
		data: map[string]*dataStream{}, states: map[string]*stateStream{}, insts: newInstructionTable(),
	}
	// Data and state streams serve many bundles: they outlive a bundle's
	// context, and end when the worker stops.
	h.streams, h.stopStreams = context.WithCancel(context.WithoutCancel(ctx))
	defer h.close()
	cc, err := h.conn(opts.ControlEndpoint)
	if err != nil {
		return err
	}
	h.control = fnpb.NewBeamFnControlClient(cc)
	if opts.LoggingEndpoint != "" {
		h.startLogging(ctx, opts.LoggingEndpoint)
	}
	if opts.ProvisionEndpoint != "" {
		h.provision(ctx, opts.ProvisionEndpoint)
	}
	return h.serve(ctx)
}

// harness is one worker's state.
type harness struct {
	id      string
	g       *graph.Graph
	logger  *slog.Logger
	logs    *logStream
	control fnpb.BeamFnControlClient
	ids     *shortIDs
	// shortIDsOnly is set when the runner reads monitoring data by short id
	// only, so that full monitoring infos need not be sent.
	shortIDsOnly bool
	// insts tells the data streams which instructions run or ended.
	insts *instructionTable

	// bundles counts running bundles.
	bundles sync.WaitGroup
	// streams is the context of data and state streams; stopStreams ends
	// them, failing the sends and reads of bundles still running.
	streams     context.Context
	stopStreams context.CancelFunc

	// mu guards the fields below.
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	descs  map[string]*descEntry
	active map[string]*bundle
	data   map[string]*dataStream
	states map[string]*stateStream
	// finals are the finalizers of committed-to-be bundles, by
	// instruction, until the runner asks to run them.
	finals map[string]pendingFinal
}

// conn returns the connection to endpoint, dialing it once.
func (h *harness) conn(endpoint string) (*grpc.ClientConn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cc, ok := h.conns[endpoint]; ok {
		return cc, nil
	}
	cc, err := dial(endpoint, h.id)
	if err != nil {
		return nil, err
	}
	h.conns[endpoint] = cc
	return cc, nil
}

func (h *harness) startLogging(ctx context.Context, endpoint string) {
	cc, err := h.conn(endpoint)
	if err == nil {
		// The stream outlives ctx's cancellation long enough to flush.
		h.logs, err = openLogStream(context.WithoutCancel(ctx), fnpb.NewBeamFnLoggingClient(cc))
	}
	if err != nil {
		h.logger.Warn("harness: logging to the runner is off", "endpoint", endpoint, "error", err)
		return
	}
	h.logger = slog.New(teeHandler{h.logger.Handler(), &logHandler{out: h.logs, level: slog.LevelInfo}})
}

// provision asks the runner for its capabilities.
func (h *harness) provision(ctx context.Context, endpoint string) {
	cc, err := h.conn(endpoint)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := fnpb.NewProvisionServiceClient(cc).GetProvisionInfo(ctx, &fnpb.GetProvisionInfoRequest{})
	if err != nil {
		h.logger.Debug("harness: no provision info; sending full monitoring infos", "error", err)
		return
	}
	for _, c := range resp.GetInfo().GetRunnerCapabilities() {
		if c == urns.ProtocolMonitoringInfoShortIDs {
			h.shortIDsOnly = true
		}
	}
}

// serve runs the control stream.
func (h *harness) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := h.control.Control(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("harness: open control stream: %w", err)
	}
	responses := make(chan *fnpb.InstructionResponse, 64)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for resp := range responses {
			if err := stream.Send(resp); err != nil {
				h.logger.Warn("harness: control send failed", "instruction", resp.GetInstructionId(), "error", err)
			}
		}
	}()
	respond := func(resp *fnpb.InstructionResponse) {
		select {
		case responses <- resp:
		case <-ctx.Done():
		}
	}
	var recvErr error
	for {
		req, err := stream.Recv()
		if err != nil {
			recvErr = err
			break
		}
		if req.GetProcessBundle() != nil {
			// Accepted before the next request is read, so that the data
			// streams keep its data from now on.
			h.insts.accept(req.GetInstructionId())
			h.bundles.Add(1)
			go func() {
				defer h.bundles.Done()
				respond(h.processBundle(ctx, req))
			}()
			continue
		}
		respond(h.handle(ctx, req))
	}
	// Stop: cancel the running bundles, and the streams they may be blocked
	// on, and wait for them (they tear down their operators on failure);
	// then stop the sender.
	cancel()
	h.stopStreams()
	h.bundles.Wait()
	close(responses)
	<-sent
	switch {
	case errors.Is(recvErr, io.EOF), ctx.Err() != nil, status.Code(recvErr) == codes.Canceled:
		return nil
	}
	return fmt.Errorf("harness: control stream: %w", recvErr)
}

// handle answers every instruction but process_bundle.
func (h *harness) handle(ctx context.Context, req *fnpb.InstructionRequest) *fnpb.InstructionResponse {
	resp := &fnpb.InstructionResponse{InstructionId: req.GetInstructionId()}
	switch r := req.GetRequest().(type) {
	case *fnpb.InstructionRequest_Register:
		for _, d := range r.Register.GetProcessBundleDescriptor() {
			h.register(d)
		}
		resp.Response = &fnpb.InstructionResponse_Register{Register: &fnpb.RegisterResponse{}}
	case *fnpb.InstructionRequest_ProcessBundleProgress:
		resp.Response = &fnpb.InstructionResponse_ProcessBundleProgress{ProcessBundleProgress: h.progress(r.ProcessBundleProgress.GetInstructionId())}
	case *fnpb.InstructionRequest_ProcessBundleSplit:
		resp.Response = &fnpb.InstructionResponse_ProcessBundleSplit{ProcessBundleSplit: h.split(r.ProcessBundleSplit)}
	case *fnpb.InstructionRequest_FinalizeBundle:
		if err := h.finalizeBundle(ctx, r.FinalizeBundle.GetInstructionId()); err != nil {
			resp.Error = err.Error()
			break
		}
		resp.Response = &fnpb.InstructionResponse_FinalizeBundle{FinalizeBundle: &fnpb.FinalizeBundleResponse{}}
	case *fnpb.InstructionRequest_MonitoringInfos:
		resp.Response = &fnpb.InstructionResponse_MonitoringInfos{MonitoringInfos: &fnpb.MonitoringInfosMetadataResponse{
			MonitoringInfo: h.ids.lookup(r.MonitoringInfos.GetMonitoringInfoId()),
		}}
	case *fnpb.InstructionRequest_HarnessMonitoringInfos:
		resp.Response = &fnpb.InstructionResponse_HarnessMonitoringInfos{HarnessMonitoringInfos: &fnpb.HarnessMonitoringInfosResponse{
			MonitoringData: map[string][]byte{},
		}}
	default:
		resp.Error = fmt.Sprintf("harness: unsupported instruction %T", req.GetRequest())
	}
	return resp
}

// progress reports a running bundle's metrics; a bundle that already
// finished (or never ran here) reports nothing.
func (h *harness) progress(instruction string) *fnpb.ProcessBundleProgressResponse {
	h.mu.Lock()
	b := h.active[instruction]
	h.mu.Unlock()
	if b == nil {
		return &fnpb.ProcessBundleProgressResponse{}
	}
	m := b.monitoring(h)
	return &fnpb.ProcessBundleProgressResponse{MonitoringData: m.payload, MonitoringInfos: m.infos}
}

// dataStream returns the data stream to endpoint, opening it once; a broken
// stream is replaced.
func (h *harness) dataStream(endpoint string) (*dataStream, error) {
	cc, err := h.conn(endpoint)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, ok := h.data[endpoint]; ok {
		select {
		case <-d.broken:
			d.close()
		default:
			return d, nil
		}
	}
	d, err := openDataStream(h.streams, fnpb.NewBeamFnDataClient(cc), h.insts)
	if err != nil {
		return nil, err
	}
	h.data[endpoint] = d
	return d, nil
}

// endInstruction records that an instruction ended, and drops what every
// data stream holds or will receive for it.
func (h *harness) endInstruction(instruction string) {
	h.insts.end(instruction)
	h.mu.Lock()
	streams := make([]*dataStream, 0, len(h.data))
	for _, d := range h.data {
		streams = append(streams, d)
	}
	h.mu.Unlock()
	for _, d := range streams {
		d.finish(instruction)
	}
}

// state returns the state stream to endpoint, opening it once; a broken
// stream is replaced.
func (h *harness) state(endpoint string) (*stateStream, error) {
	cc, err := h.conn(endpoint)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.states[endpoint]; ok {
		select {
		case <-s.broken:
			s.close()
		default:
			return s, nil
		}
	}
	s, err := openStateStream(h.streams, fnpb.NewBeamFnStateClient(cc))
	if err != nil {
		return nil, err
	}
	h.states[endpoint] = s
	return s, nil
}

// close tears down idle operators and closes every stream and connection.
func (h *harness) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.mu.Lock()
	descs := h.descs
	h.descs = map[string]*descEntry{}
	h.mu.Unlock()
	for _, e := range descs {
		if e.d == nil {
			continue
		}
		for _, p := range e.d.drain() {
			if err := p.Teardown(ctx); err != nil {
				h.logger.Warn("harness: teardown failed", "descriptor", e.d.pb.GetId(), "error", err)
			}
		}
	}
	if h.logs != nil {
		h.logs.close(ctx)
		if n := h.logs.dropped.Load(); n > 0 {
			// Not through h.logger: its runner half is closed.
			slog.Default().Warn("harness: log entries dropped", "worker", h.id, "count", n)
		}
	}
	h.stopStreams()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.data {
		d.close()
	}
	for _, s := range h.states {
		s.close()
	}
	for _, cc := range h.conns {
		cc.Close()
	}
}
