package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// MaxMessageSize bounds the gRPC messages the servers send and receive.
const MaxMessageSize = 512 << 20

// DefaultStatePageSize is how many bytes of a side input one state
// response carries unless Options.StatePageSize says otherwise.
const DefaultStatePageSize = 1 << 20

// workerIDKey is the metadata key that names the calling worker.
const workerIDKey = "worker_id"

// Options configure a Server; the zero value means defaults.
type Options struct {
	// Address is the host to listen on (default 127.0.0.1); the port is
	// always chosen by the system.
	Address string
	// StatePageSize bounds the data bytes of one state response (default
	// DefaultStatePageSize).
	StatePageSize int
	// OnLog, if set, receives every log entry a worker sends. It is called
	// from the worker's logging stream and must not block for long.
	OnLog func(workerID string, e *fnpb.LogEntry)
}

// Server serves the Fn API to SDK workers. It is safe for concurrent use.
type Server struct {
	opts Options
	lis  net.Listener
	srv  *grpc.Server

	// mu guards the fields below.
	mu      sync.Mutex
	descs   map[string]*fnpb.ProcessBundleDescriptor
	workers map[string]*Worker
	bundles map[string]*Bundle // by instruction id
	changed chan struct{}      // closed and replaced when workers change
	stopped bool
}

// Start listens on a free loopback port and serves the Fn API until Stop.
func Start(opts *Options) (*Server, error) {
	s := &Server{descs: map[string]*fnpb.ProcessBundleDescriptor{}, workers: map[string]*Worker{},
		bundles: map[string]*Bundle{}, changed: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Address == "" {
		s.opts.Address = "127.0.0.1"
	}
	if s.opts.StatePageSize <= 0 {
		s.opts.StatePageSize = DefaultStatePageSize
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(s.opts.Address, "0"))
	if err != nil {
		return nil, fmt.Errorf("service: listen: %w", err)
	}
	s.lis = lis
	s.srv = grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))
	fnpb.RegisterBeamFnControlServer(s.srv, control{s: s})
	fnpb.RegisterBeamFnDataServer(s.srv, data{s: s})
	fnpb.RegisterBeamFnStateServer(s.srv, state{s: s})
	fnpb.RegisterBeamFnLoggingServer(s.srv, logging{s: s})
	fnpb.RegisterProvisionServiceServer(s.srv, provision{s: s})
	go s.srv.Serve(lis)
	return s, nil
}

// Addr returns the host:port the servers listen on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Endpoint returns the servers' address as an ApiServiceDescriptor, the
// form descriptors and provisioning use.
func (s *Server) Endpoint() *pipepb.ApiServiceDescriptor {
	return &pipepb.ApiServiceDescriptor{Url: s.Addr()}
}

// Stop closes every stream and the listener. Workers see their control
// stream end, which is how a harness is told to stop.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	workers := make([]*Worker, 0, len(s.workers))
	for _, w := range s.workers {
		workers = append(workers, w)
	}
	s.mu.Unlock()
	for _, w := range workers {
		w.Stop()
	}
	s.srv.Stop()
}

// RegisterDescriptor makes d available to GetProcessBundleDescriptor by
// its id.
func (s *Server) RegisterDescriptor(d *fnpb.ProcessBundleDescriptor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.descs[d.GetId()] = d
}

// Worker waits until the worker with the given id has opened its control
// stream and returns it, or returns ctx's error.
func (s *Server) Worker(ctx context.Context, id string) (*Worker, error) {
	for {
		s.mu.Lock()
		w, ch := s.workers[id], s.changed
		s.mu.Unlock()
		if w != nil {
			return w, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("service: waiting for worker %q: %w", id, ctx.Err())
		}
	}
}

// notify wakes Worker waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// bundle returns the open bundle of an instruction, or nil.
func (s *Server) bundle(instruction string) *Bundle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bundles[instruction]
}

// workerID returns the worker_id header of a call.
func workerID(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if ids := md.Get(workerIDKey); len(ids) > 0 && ids[0] != "" {
		return ids[0], nil
	}
	return "", status.Error(codes.InvalidArgument, "service: the call has no worker_id header")
}

// control serves BeamFnControl.
type control struct {
	fnpb.UnimplementedBeamFnControlServer
	s *Server
}

func (c control) Control(stream fnpb.BeamFnControl_ControlServer) error {
	id, err := workerID(stream.Context())
	if err != nil {
		return err
	}
	w := newWorker(c.s, id)
	c.s.mu.Lock()
	if c.s.stopped {
		c.s.mu.Unlock()
		return status.Error(codes.Unavailable, "service: the server is stopping")
	}
	if old := c.s.workers[id]; old != nil {
		select {
		case <-old.done:
		default:
			c.s.mu.Unlock()
			return status.Errorf(codes.AlreadyExists, "service: worker %q already has a control stream", id)
		}
	}
	c.s.workers[id] = w
	c.s.notify()
	c.s.mu.Unlock()
	defer w.disconnect(errors.New("control stream ended"))

	recvErr := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			w.respond(resp)
		}
	}()
	for {
		select {
		case req := <-w.requests:
			if err := stream.Send(req); err != nil {
				w.disconnect(fmt.Errorf("control send: %w", err))
				return err
			}
		case err := <-recvErr:
			w.disconnect(fmt.Errorf("control stream: %w", err))
			return nil
		case <-w.stop:
			return nil
		case <-stream.Context().Done():
			return nil
		}
	}
}

func (c control) GetProcessBundleDescriptor(_ context.Context, req *fnpb.GetProcessBundleDescriptorRequest) (*fnpb.ProcessBundleDescriptor, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	d, ok := c.s.descs[req.GetProcessBundleDescriptorId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "service: no process bundle descriptor %q", req.GetProcessBundleDescriptorId())
	}
	return d, nil
}

// logging serves BeamFnLogging.
type logging struct {
	fnpb.UnimplementedBeamFnLoggingServer
	s *Server
}

func (l logging) Logging(stream fnpb.BeamFnLogging_LoggingServer) error {
	id, err := workerID(stream.Context())
	if err != nil {
		return err
	}
	for {
		list, err := stream.Recv()
		if err != nil {
			return nil
		}
		if l.s.opts.OnLog == nil {
			continue
		}
		for _, e := range list.GetLogEntries() {
			l.s.opts.OnLog(id, e)
		}
	}
}
