// Package workerproc starts and stops SDK worker processes the way a
// runner starts a Beam PROCESS environment (Start), and worker-pool
// processes that serve a BeamFnExternalWorkerPool (StartPool). It knows
// the command-line and environment protocol of those processes, not what
// they run: it links no user SDK and no harness, so that a runner or job
// server that starts workers needs neither. fnapi/worker is the other side,
// the worker process serving its pipeline.
package workerproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PoolVar, set to host:port, puts a process of this SDK in worker-pool
// mode: where the program would run its pipeline, it serves a worker pool
// for it at that address instead (fnapi/worker.ServePool). A bare ":port"
// listens on loopback.
const PoolVar = "BEAMGO_WORKER_POOL"

// PoolListening starts the line a worker pool prints to stderr once it
// listens, followed by its address: "worker pool listening on
// 127.0.0.1:50000". Scripts and StartPool wait for it.
const PoolListening = "worker pool listening on "

// Options configure Start and StartPool; the zero value means defaults.
type Options struct {
	// Command is the executable (default: this program, os.Executable()).
	Command string
	// Args are Command's arguments: after the runner's flags for Start,
	// alone for StartPool.
	Args []string
	// Env is added to this process's environment for the worker.
	Env map[string]string
	// Output receives the worker's stdout and stderr a line at a time,
	// each line prefixed with Prefix, and a line when the worker exits with
	// an error (default os.Stderr). Each line is one Write; Output must be
	// safe for concurrent use if it is shared.
	Output io.Writer
	// Prefix starts each line of output (default: the worker id and ": ",
	// or "pool: " for StartPool).
	Prefix string
	// StopTimeout is how long Stop waits for the worker to exit on its
	// own, and Stop and Terminate wait after SIGTERM, before they kill the
	// worker (default 5s).
	StopTimeout time.Duration
}

// withDefaults fills in the defaults of o; prefix is the default Prefix.
func (o Options) withDefaults(prefix string) (Options, error) {
	if o.Command == "" {
		self, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("workerproc: find this program: %w", err)
		}
		o.Command = self
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.Prefix == "" {
		o.Prefix = prefix
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	return o, nil
}

// Process is a started worker or worker-pool process. It is safe for
// concurrent use.
type Process struct {
	cmd     *exec.Cmd
	timeout time.Duration
	done    chan struct{}
	// err is how the process exited; written before done is closed.
	err error
}

// Start starts a worker the way a runner starts a PROCESS
// environment: opts.Command with the arguments --id=<id> and
// --provision_endpoint=<provision> (then opts.Args), in an environment that
// adds opts.Env to this process's. The process is reaped as soon as it
// exits; Stop ends it.
func Start(id, provision string, opts *Options) (*Process, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o, err := o.withDefaults(id + ": ")
	if err != nil {
		return nil, err
	}
	argv := append([]string{"--id=" + id, "--provision_endpoint=" + provision}, o.Args...)
	return start(argv, o.Env, o, nil)
}

// StartPool starts a worker pool: opts.Command with opts.Args, in an
// environment that adds opts.Env and PoolVar=addr to this process's, so
// that where the program would run its pipeline it serves a worker pool
// for it (fnapi/worker.ServePool). It waits until the pool prints the address it
// listens on, and returns it; the program must build the same pipeline as
// the submitters whose workers it serves, so it gets the same arguments
// (a test binary: ones that select the test that submits). Terminate stops
// the pool. It fails if the process exits before it listens, or ctx ends
// first (the process is then stopped).
func StartPool(ctx context.Context, addr string, opts *Options) (*Process, string, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o, err := o.withDefaults("pool: ")
	if err != nil {
		return nil, "", err
	}
	env := maps.Clone(o.Env)
	if env == nil {
		env = map[string]string{}
	}
	env[PoolVar] = addr
	listening := make(chan string, 1)
	watch := func(line string) {
		if a, ok := strings.CutPrefix(line, PoolListening); ok {
			select {
			case listening <- strings.TrimSpace(a):
			default:
			}
		}
	}
	p, err := start(o.Args, env, o, watch)
	if err != nil {
		return nil, "", err
	}
	select {
	case a := <-listening:
		return p, a, nil
	case <-p.Done():
		why := "exit status 0"
		if err := p.Err(); err != nil {
			why = err.Error()
		}
		return nil, "", fmt.Errorf("workerproc: pool %s exited before it listened on %s (%s)", o.Command, addr, why)
	case <-ctx.Done():
		p.Terminate()
		return nil, "", fmt.Errorf("workerproc: pool %s did not listen on %s: %w", o.Command, addr, context.Cause(ctx))
	}
}

// start starts o.Command with argv and env added to this process's
// environment; watch, if not nil, sees each line of its stderr.
func start(argv []string, env map[string]string, o Options, watch func(string)) (*Process, error) {
	cmd := exec.Command(o.Command, argv...)
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	stdout := &lineWriter{out: o.Output, prefix: o.Prefix}
	stderr := &lineWriter{out: o.Output, prefix: o.Prefix, watch: watch}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Output copying ends when the worker's pipes close; a grandchild that
	// keeps them open must not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("workerproc: start %s: %w", o.Command, err)
	}
	p := &Process{cmd: cmd, timeout: o.StopTimeout, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		stdout.flush()
		stderr.flush()
		if err != nil {
			fmt.Fprintf(o.Output, "%sprocess %d exited: %v\n", o.Prefix, cmd.Process.Pid, err)
		}
		p.err = err
		close(p.done)
	}()
	return p, nil
}

// Pid returns the worker's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the worker has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the worker exited (nil for status 0), once Done is
// closed; nil before.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop ends the worker and returns how it exited: it waits StopTimeout for
// the worker to exit on its own (a worker exits when the runner ends its
// control stream), then sends SIGTERM and waits again, then kills it. The
// signals go to the worker's own pid, never to a process group or name.
func (p *Process) Stop() error {
	if p.wait(p.timeout) {
		return p.err
	}
	return p.Terminate()
}

// Terminate ends the process now and returns how it exited: it sends
// SIGTERM and waits StopTimeout, then kills it. A worker pool, which
// does not exit on its own, is stopped this way; it exits with status 0
// once it has stopped its workers.
func (p *Process) Terminate() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		// Signals other than Kill are not supported everywhere (Windows).
		p.cmd.Process.Kill()
	}
	if !p.wait(p.timeout) {
		p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// wait reports whether the process exited within d.
func (p *Process) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// lineWriter writes complete lines, each prefixed, to out.
type lineWriter struct {
	out    io.Writer
	prefix string
	// watch, if not nil, sees each complete line, without its newline.
	watch func(line string)
	// mu guards buf.
	mu  sync.Mutex
	buf []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i+1])
		// After emit: whoever watches may read the output at once.
		if w.watch != nil {
			w.watch(string(w.buf[:i]))
		}
		w.buf = w.buf[i+1:]
	}
	// A line longer than this is passed on in pieces.
	if len(w.buf) > 64<<10 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
	return len(b), nil
}

// flush writes a last unterminated line.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}

// emit writes one line; w.mu is held. Errors are dropped: losing worker
// output must not fail the worker.
func (w *lineWriter) emit(line []byte) {
	out := make([]byte, 0, len(w.prefix)+len(line))
	out = append(append(out, w.prefix...), line...)
	w.out.Write(out)
}
