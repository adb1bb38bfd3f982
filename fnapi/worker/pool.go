package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/beamgo-dev/beamgo/fnapi/workerpool"
	"github.com/beamgo-dev/beamgo/fnapi/workerproc"
	"github.com/beamgo-dev/beamgo/sdk"
)

// PoolVar, set to host:port, puts a process in worker-pool mode: where the
// program would run its pipeline, it serves a worker pool for it at that
// address instead (ServePool). A bare ":port" listens on loopback.
const PoolVar = workerproc.PoolVar

// PoolListening starts the line a worker pool prints to stderr once it
// listens, followed by its address: "worker pool listening on
// 127.0.0.1:50000". Scripts and StartPool wait for it.
const PoolListening = workerproc.PoolListening

// Worker-pool mode as Init found it; written only by Init.
var (
	poolActive bool
	poolAddr   string
)

// initPool records and unsets PoolVar, so that programs the pool's user
// code starts are not pools.
func initPool() {
	addr, ok := os.LookupEnv(PoolVar)
	if !ok {
		return
	}
	os.Unsetenv(PoolVar)
	poolActive, poolAddr = true, addr
}

// PoolActive reports whether Init found this process to be a worker pool:
// started with PoolVar in its environment, and not as a PROCESS worker (Active), which
// takes precedence.
func PoolActive() bool { return poolActive && !active }

// checkPoolAddr checks the value of PoolVar.
func checkPoolAddr(addr string) error {
	if addr == "" {
		return fmt.Errorf("worker: %s is empty; want the pool's host:port, such as 127.0.0.1:50000", PoolVar)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("worker: %s=%q is not host:port: %w", PoolVar, addr, err)
	}
	return nil
}

// ServePool serves a worker pool (fnapi/workerpool) for p, the pipeline
// this process built, at the address in PoolVar: runners whose
// environment is beam:env:external:v1 with that endpoint (EXTERNAL) call
// its StartWorker, and each worker is an SDK harness on a goroutine of this
// process that finds user code in p. Once it listens, it prints
// PoolListening and the address to stderr. It serves any number of jobs,
// one after the other or at once, until ctx ends or SIGTERM or SIGINT
// arrives; it then closes the pool, stopping its workers (their bundles
// fail, and their runners retry them elsewhere or fail the job), and
// returns nil, or the error of a worker that did not stop in time.
func ServePool(ctx context.Context, p *sdk.Pipeline) error {
	if !PoolActive() {
		return errors.New("worker: not in worker-pool mode (" + PoolVar + " is not set)")
	}
	if err := checkPoolAddr(poolAddr); err != nil {
		return err
	}
	if p == nil {
		return errors.New("worker: nil pipeline")
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("worker: the pipeline has construction errors: %w", err)
	}
	// The handler is in place before the address is printed, so a script
	// that waits for the address may stop the pool at once.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	pool, err := workerpool.New(p, &workerpool.Options{Addr: poolAddr})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s%s\n", PoolListening, pool.Addr())
	<-ctx.Done()
	return pool.Close()
}

// ServePoolAndExit serves p with ServePool and exits the process: status 0
// when the pool was stopped, or 1 after printing the error to stderr. It
// never returns; runners call it from Run in a worker-pool process.
func ServePoolAndExit(ctx context.Context, p *sdk.Pipeline) {
	if err := ServePool(ctx, p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
