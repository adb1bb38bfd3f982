package fnrunner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/beamgo-dev/beamgo/fnapi/service"
)

// workerSet is a job's workers: it starts them, replaces those that die
// (at most maxRestarts times per job), and stops them all at the end. It
// is safe for concurrent use.
type workerSet struct {
	srv         *service.Server
	start       WorkerStarter
	ctx         context.Context // handed to start; carries the exit reporter
	job         string
	maxRestarts int
	opts        *Options

	// replaceMu serializes replacements, which wait for a worker to
	// connect.
	replaceMu sync.Mutex

	// mu guards the fields below; changed is closed and replaced when a
	// worker process exits.
	mu       sync.Mutex
	workers  []*service.Worker
	next     int // round robin position
	ids      int // workers started
	restarts int
	stops    []func()
	exits    map[string]error
	changed  chan struct{}
}

// newWorkerSet returns an empty set; ctx is the job's.
func newWorkerSet(ctx context.Context, srv *service.Server, start WorkerStarter, job string, opts *Options) *workerSet {
	ws := &workerSet{srv: srv, start: start, job: job, maxRestarts: opts.MaxWorkerRestarts, opts: opts,
		exits: map[string]error{}, changed: make(chan struct{})}
	if ws.maxRestarts < 0 {
		ws.maxRestarts = 0
	}
	ws.ctx = context.WithValue(ctx, exitKey{}, ws.exited)
	return ws
}

// exited records that a worker process ended.
func (ws *workerSet) exited(e workerExit) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.exits[e.id] = e.err
	close(ws.changed)
	ws.changed = make(chan struct{})
}

// launch starts n workers and waits until they have connected: all start
// before any is waited for, since processes start slowly.
func (ws *workerSet) launch(ctx context.Context, n int) ([]*service.Worker, error) {
	var ids []string
	for range n {
		ws.mu.Lock()
		id := fmt.Sprintf("worker-%d-%s", ws.ids, ws.job)
		ws.ids++
		ws.mu.Unlock()
		stop, err := ws.start(ws.ctx, id, ws.srv.Endpoint())
		ws.mu.Lock()
		ws.stops = append(ws.stops, stop)
		ws.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("start worker %s: %w", id, err)
		}
		ids = append(ids, id)
	}
	ctx, cancel := context.WithTimeout(ctx, ws.opts.WorkerTimeout)
	defer cancel()
	workers := make([]*service.Worker, 0, len(ids))
	for _, id := range ids {
		w, err := ws.connect(ctx, id)
		if err != nil {
			return nil, err
		}
		workers = append(workers, w)
	}
	return workers, nil
}

// connect waits until the worker id has opened its control stream. A
// worker process that exits first fails the wait at once.
func (ws *workerSet) connect(ctx context.Context, id string) (*service.Worker, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		for {
			ws.mu.Lock()
			err, gone := ws.exits[id]
			ch := ws.changed
			ws.mu.Unlock()
			if gone {
				why := "exit status 0"
				if err != nil {
					why = err.Error()
				}
				cancel(fmt.Errorf("worker %s %w (%s); a PROCESS worker must build the same pipeline from its arguments and reach Run",
					id, errExited, why))
				return
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
	}()
	w, err := ws.srv.Worker(ctx, id)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errExited) {
			return nil, cause
		}
		return nil, err
	}
	return w, nil
}

// startAll starts the job's first n workers.
func (ws *workerSet) startAll(ctx context.Context, n int) error {
	workers, err := ws.launch(ctx, n)
	if err != nil {
		return err
	}
	ws.mu.Lock()
	ws.workers = workers
	ws.mu.Unlock()
	return nil
}

// pick returns a worker for a new processor: the replacement of a dead
// worker while the job's restart budget lasts, so that dead workers are
// replaced as soon as the engine needs one; otherwise the next live
// worker, round robin.
func (ws *workerSet) pick(ctx context.Context) (*service.Worker, error) {
	ws.mu.Lock()
	if ws.restarts < ws.maxRestarts {
		for i, w := range ws.workers {
			if w.Err() != nil {
				ws.mu.Unlock()
				nw, err := ws.replace(ctx, i, w)
				if err != nil || nw != nil {
					return nw, err
				}
				// Another bundle replaced it first: look again.
				return ws.pick(ctx)
			}
		}
	}
	var errs []error
	for range len(ws.workers) {
		w := ws.workers[ws.next%len(ws.workers)]
		ws.next++
		err := w.Err()
		if err == nil {
			ws.mu.Unlock()
			return w, nil
		}
		errs = append(errs, err)
	}
	ws.mu.Unlock()
	return nil, fmt.Errorf("no live worker, and the job's %d worker restarts (Options.MaxWorkerRestarts) are used up: %w", ws.maxRestarts, errors.Join(errs...))
}

// replace starts a worker in place of dead, the worker at index i, and
// returns it; nil and no error if another caller replaced dead already or
// the restart budget is used up.
func (ws *workerSet) replace(ctx context.Context, i int, dead *service.Worker) (*service.Worker, error) {
	ws.replaceMu.Lock()
	defer ws.replaceMu.Unlock()
	ws.mu.Lock()
	if ws.workers[i] != dead || ws.restarts >= ws.maxRestarts {
		ws.mu.Unlock()
		return nil, nil
	}
	ws.restarts++
	ws.mu.Unlock()
	workers, err := ws.launch(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("replacing dead worker %s: %w", dead.ID(), err)
	}
	ws.mu.Lock()
	ws.workers[i] = workers[0]
	ws.mu.Unlock()
	return workers[0], nil
}

// replaced returns how many workers were started to replace dead ones.
func (ws *workerSet) replaced() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.restarts
}

// stopAll stops every worker ever started, together: the server has
// ended their control streams, and worker processes exit at once then.
func (ws *workerSet) stopAll() {
	ws.mu.Lock()
	stops := ws.stops
	ws.stops = nil
	ws.mu.Unlock()
	var wg sync.WaitGroup
	for _, stop := range stops {
		if stop != nil {
			wg.Go(stop)
		}
	}
	wg.Wait()
}
