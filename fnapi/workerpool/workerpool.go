// Package workerpool serves Beam's BeamFnExternalWorkerPool service: a
// runner calls StartWorker with its control and logging endpoints, and the
// pool runs an SDK harness (fnapi/harness) for that worker on a goroutine,
// finding user code in the pipeline the process built, until StopWorker.
// Runners reach a pool through the environment beam:env:external:v1 whose
// ExternalPayload names the pool's address. Served inside the submitting
// process, it is the LOOPBACK environment; served by a program of this SDK
// started in worker-pool mode (fnapi/worker), it is an EXTERNAL one, which
// outlives the jobs it serves.
//
// # Concurrency
//
// A Pool is safe for concurrent use; each worker runs on its own goroutine
// and serves as many concurrent bundles as the runner sends it.
package workerpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/grpc"

	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Options configure a Pool; the zero value means defaults.
type Options struct {
	// Addr is the address to listen on (default "127.0.0.1:0": loopback, a
	// free port). A bare ":port" listens on loopback too; a pool that
	// other machines may reach names its host, such as "0.0.0.0:port".
	Addr string
	// Logger receives the pool's and the workers' log records (default:
	// slog.Default()).
	Logger *slog.Logger
	// StopTimeout bounds how long StopWorker and Close wait for a worker to
	// finish its bundles and tear down (default 30s).
	StopTimeout time.Duration
}

// Pool is a running BeamFnExternalWorkerPool server.
type Pool struct {
	fnpb.UnimplementedBeamFnExternalWorkerPoolServer

	p      *sdk.Pipeline
	opts   Options
	lis    net.Listener
	srv    *grpc.Server
	served chan struct{}

	// mu guards the fields below.
	mu sync.Mutex
	// workers holds the running workers by id: several runners may give
	// theirs one id (see StartWorker).
	workers map[string][]*worker
	closed  bool
}

// worker is one harness goroutine.
type worker struct {
	control string
	cancel  context.CancelFunc
	done    chan struct{}
}

// New starts a pool whose workers run the user code of p, and serves it
// until Close.
func New(p *sdk.Pipeline, opts *Options) (*Pool, error) {
	if p == nil {
		return nil, errors.New("workerpool: nil pipeline")
	}
	pl := &Pool{p: p, workers: map[string][]*worker{}, served: make(chan struct{})}
	if opts != nil {
		pl.opts = *opts
	}
	if pl.opts.Addr == "" {
		pl.opts.Addr = "127.0.0.1:0"
	}
	if pl.opts.Logger == nil {
		pl.opts.Logger = slog.Default()
	}
	if pl.opts.StopTimeout <= 0 {
		pl.opts.StopTimeout = 30 * time.Second
	}
	lis, err := net.Listen("tcp", listenAddr(pl.opts.Addr))
	if err != nil {
		return nil, fmt.Errorf("workerpool: listen on %s: %w", pl.opts.Addr, err)
	}
	pl.lis = lis
	pl.srv = grpc.NewServer()
	fnpb.RegisterBeamFnExternalWorkerPoolServer(pl.srv, pl)
	go func() {
		defer close(pl.served)
		pl.srv.Serve(lis)
	}()
	return pl, nil
}

// listenAddr makes a bare ":port" a loopback address: a pool runs whatever
// its callers ask for, so it is not reachable beyond this machine unless
// asked by name.
func listenAddr(addr string) string {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// Addr returns the address the pool listens on (host:port).
func (pl *Pool) Addr() string { return pl.lis.Addr().String() }

// StartWorker starts a harness for the worker the runner names. It answers
// with an error message (not a gRPC error, as the protocol asks) when the
// request lacks a control endpoint, a worker of that id already serves
// that control endpoint, or the pool is closed. Workers of one id for
// different control endpoints all run: Beam's Java runners number their
// workers per JVM ("1-1", "2-1", ...), so the executors of one Spark job,
// each its own JVM, ask one pool for the same ids.
func (pl *Pool) StartWorker(_ context.Context, req *fnpb.StartWorkerRequest) (*fnpb.StartWorkerResponse, error) {
	id := req.GetWorkerId()
	control := req.GetControlEndpoint().GetUrl()
	if control == "" {
		return &fnpb.StartWorkerResponse{Error: fmt.Sprintf("workerpool: worker %q: no control endpoint", id)}, nil
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return &fnpb.StartWorkerResponse{Error: "workerpool: the pool is closed"}, nil
	}
	for _, w := range pl.workers[id] {
		if w.control == control {
			return &fnpb.StartWorkerResponse{Error: fmt.Sprintf("workerpool: worker %q is already running for %s", id, control)}, nil
		}
	}
	// The worker outlives this request: it runs until StopWorker or Close.
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{control: control, cancel: cancel, done: make(chan struct{})}
	pl.workers[id] = append(pl.workers[id], w)
	logger := pl.opts.Logger.With("worker", id)
	go func() {
		defer close(w.done)
		err := harness.Run(ctx, &harness.Options{
			ID:                id,
			ControlEndpoint:   control,
			LoggingEndpoint:   req.GetLoggingEndpoint().GetUrl(),
			ProvisionEndpoint: req.GetProvisionEndpoint().GetUrl(),
			Pipeline:          pl.p,
			Logger:            logger,
		})
		if err != nil {
			logger.Error("workerpool: worker failed", "error", err)
		}
	}()
	logger.Info("workerpool: worker started", "control", control)
	return &fnpb.StartWorkerResponse{}, nil
}

// StopWorker stops a worker and waits until it has torn down its
// operators (or StopTimeout passes). Stopping an unknown worker succeeds.
// When workers of several runners share the id, it stops the one whose
// runner ended its control stream, which Beam's runners do before they
// ask, waiting up to StopTimeout for one to end; it stops none of the
// others.
func (pl *Pool) StopWorker(ctx context.Context, req *fnpb.StopWorkerRequest) (*fnpb.StopWorkerResponse, error) {
	id := req.GetWorkerId()
	w, err := pl.take(ctx, id)
	if err != nil {
		return &fnpb.StopWorkerResponse{Error: fmt.Sprintf("workerpool: worker %q: %v", id, err)}, nil
	}
	if w == nil {
		return &fnpb.StopWorkerResponse{}, nil
	}
	if err := pl.stop(ctx, w); err != nil {
		return &fnpb.StopWorkerResponse{Error: fmt.Sprintf("workerpool: worker %q: %v", id, err)}, nil
	}
	pl.opts.Logger.Info("workerpool: worker stopped", "worker", id, "control", w.control)
	return &fnpb.StopWorkerResponse{}, nil
}

// take removes and returns the worker of id that StopWorker stops: the
// only one, or the first of several whose harness ended; nil if none has
// the id.
func (pl *Pool) take(ctx context.Context, id string) (*worker, error) {
	t := time.NewTimer(pl.opts.StopTimeout)
	defer t.Stop()
	for {
		pl.mu.Lock()
		ws := pl.workers[id]
		pick := -1
		if len(ws) == 1 {
			pick = 0
		}
		for i, w := range ws {
			if pick < 0 && isDone(w) {
				pick = i
			}
		}
		if pick >= 0 {
			w := ws[pick]
			if ws = slices.Delete(ws, pick, pick+1); len(ws) == 0 {
				delete(pl.workers, id)
			} else {
				pl.workers[id] = ws
			}
			pl.mu.Unlock()
			return w, nil
		}
		pl.mu.Unlock()
		if len(ws) == 0 {
			return nil, nil
		}
		// Several runners' workers have the id and none has ended yet:
		// wait for the asking runner's to see its control stream end.
		select {
		case <-time.After(10 * time.Millisecond):
		case <-t.C:
			return nil, fmt.Errorf("%d workers for different runners have this id and none ended its control stream within %v", len(ws), pl.opts.StopTimeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func isDone(w *worker) bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (pl *Pool) stop(ctx context.Context, w *worker) error {
	w.cancel()
	t := time.NewTimer(pl.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-w.done:
		return nil
	case <-t.C:
		return fmt.Errorf("did not stop within %v", pl.opts.StopTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops every worker, waiting for each to tear down its operators,
// and then the server. It returns the first worker that did not stop in
// time.
func (pl *Pool) Close() error {
	pl.mu.Lock()
	pl.closed = true
	workers := pl.workers
	pl.workers = map[string][]*worker{}
	pl.mu.Unlock()
	var errs []error
	for id, ws := range workers {
		for _, w := range ws {
			if err := pl.stop(context.Background(), w); err != nil {
				errs = append(errs, fmt.Errorf("workerpool: worker %q: %w", id, err))
			}
		}
	}
	// Stop, not GracefulStop: a runner's StopWorker call may still be in
	// flight, and its worker is already stopped.
	pl.srv.Stop()
	<-pl.served
	return errors.Join(errs...)
}

var _ fnpb.BeamFnExternalWorkerPoolServer = (*Pool)(nil)
