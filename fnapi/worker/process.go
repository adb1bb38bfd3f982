package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"
)

// ProcessOptions configure StartProcess; the zero value means defaults.
type ProcessOptions struct {
	// Command is the executable (default: this program, os.Executable()).
	Command string
	// Env is added to this process's environment for the worker.
	Env map[string]string
	// Output receives the worker's stdout and stderr a line at a time,
	// each line prefixed with Prefix, and a line when the worker exits with
	// an error (default os.Stderr). Each line is one Write; Output must be
	// safe for concurrent use if it is shared.
	Output io.Writer
	// Prefix starts each line of output (default: the worker id and ": ").
	Prefix string
	// StopTimeout is how long Stop waits for the worker to exit on its
	// own, and again after SIGTERM, before it kills the worker (default
	// 5s).
	StopTimeout time.Duration
}

// Process is a started worker process. It is safe for concurrent use.
type Process struct {
	cmd     *exec.Cmd
	timeout time.Duration
	done    chan struct{}
	// err is how the process exited; written before done is closed.
	err error
}

// StartProcess starts a worker the way a runner starts a PROCESS
// environment: opts.Command with the arguments --id=<id> and
// --provision_endpoint=<provision>, in an environment that adds opts.Env to
// this process's. The process is reaped as soon as it exits; Stop ends it.
func StartProcess(id, provision string, opts *ProcessOptions) (*Process, error) {
	var o ProcessOptions
	if opts != nil {
		o = *opts
	}
	if o.Command == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("worker: find this program: %w", err)
		}
		o.Command = self
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.Prefix == "" {
		o.Prefix = id + ": "
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	cmd := exec.Command(o.Command, "--id="+id, "--provision_endpoint="+provision)
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(o.Env))
	for k := range o.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+o.Env[k])
	}
	stdout := &lineWriter{out: o.Output, prefix: o.Prefix}
	stderr := &lineWriter{out: o.Output, prefix: o.Prefix}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Output copying ends when the worker's pipes close; a grandchild that
	// keeps them open must not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("worker: start %s: %w", o.Command, err)
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
