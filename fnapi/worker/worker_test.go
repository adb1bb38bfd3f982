//go:build unix

package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/sdk"
)

// helperVar tells a re-run test binary which helper behaviour
// TestWorkerHelper plays.
const helperVar = "BEAMGO_WORKER_TEST_HELPER"

// TestWorkerHelper is not a test: it is what this test binary does when the
// tests below start it as a worker.
func TestWorkerHelper(t *testing.T) {
	if !worker.Active() {
		t.Skip("runs only as a worker process started by the other tests")
	}
	args, _ := json.Marshal(os.Args[1:])
	fmt.Printf("args %s\n", args)
	fmt.Fprintf(os.Stderr, "id %s\n", worker.Current().ID)
	switch os.Getenv(helperVar) {
	case "serve":
		p := sdk.NewPipeline()
		sdk.Create(p.Root(), []string{"a"})
		worker.ServeAndExit(context.Background(), p)
	case "hang":
		fmt.Println("hanging")
		time.Sleep(time.Hour)
	}
	os.Exit(3)
}

// startService starts a runner-side Fn API service, stopped when the test
// ends, and returns it with a context that gives the test a minute.
func startService(t *testing.T) (context.Context, *service.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	srv, err := service.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return ctx, srv
}

// startHelper starts this test binary as worker id, playing helper.
func startHelper(t *testing.T, id, provision, helper string, out *fnapitest.SyncBuffer, stop time.Duration) *worker.Process {
	t.Helper()
	args := []string{"-test.run=^TestWorkerHelper$", "-test.timeout=2m", "--", "user arg"}
	env, err := worker.Env(args)
	if err != nil {
		t.Fatal(err)
	}
	env[helperVar] = helper
	p, err := worker.StartProcess(id, provision, &worker.ProcessOptions{Env: env, Output: out, StopTimeout: stop})
	if err != nil {
		t.Fatalf("StartProcess: %v", err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// gone reports whether no process has pid.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestAWorkerProcessServesTheRunnerThatStartedItAndExitsWhenStopped(t *testing.T) {
	ctx, srv := startService(t)
	var out fnapitest.SyncBuffer
	p := startHelper(t, "w-'7'", srv.Addr(), "serve", &out, 10*time.Second)
	w, err := srv.Worker(ctx, "w-'7'")
	if err != nil {
		t.Fatalf("the worker did not connect: %v\noutput:\n%s", err, out.String())
	}
	if w.ID() != "w-'7'" {
		t.Errorf("worker id = %q, want %q", w.ID(), "w-'7'")
	}
	start := time.Now()
	srv.Stop()
	if err := p.Stop(); err != nil {
		t.Errorf("Stop = %v, want a clean exit\noutput:\n%s", err, out.String())
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the worker took %v to exit after the runner stopped; want it to exit on its own", d)
	}
	if !gone(p.Pid()) {
		t.Errorf("process %d still exists after Stop", p.Pid())
	}
	// The user's main saw its own arguments, not the runner's flags.
	wantArgs, _ := json.Marshal([]string{"-test.run=^TestWorkerHelper$", "-test.timeout=2m", "--", "user arg"})
	for _, want := range []string{"w-'7': args " + string(wantArgs) + "\n", "w-'7': id w-'7'\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("worker output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestStopEndsAWorkerThatDoesNotExitOnItsOwn(t *testing.T) {
	var out fnapitest.SyncBuffer
	p := startHelper(t, "hanger", "127.0.0.1:1", "hang", &out, 200*time.Millisecond)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "hanger: hanging\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the helper did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := p.Stop()
	if err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Stop of a hanging worker = %v, want it ended by SIGTERM", err)
	}
	if !gone(p.Pid()) {
		t.Errorf("process %d still exists after Stop", p.Pid())
	}
	want := fmt.Sprintf("hanger: process %d exited: signal: terminated\n", p.Pid())
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks the exit line %q:\n%s", want, out.String())
	}
	if err2 := p.Stop(); err2 != err {
		t.Errorf("second Stop = %v, want the same %v", err2, err)
	}
}

func TestServeOutsideWorkerModeFails(t *testing.T) {
	if worker.Active() {
		t.Skip("this process is a worker")
	}
	err := worker.Serve(context.Background(), sdk.NewPipeline())
	if err == nil || !strings.Contains(err.Error(), worker.ArgsVar) {
		t.Errorf("Serve outside worker mode = %v, want an error naming %s", err, worker.ArgsVar)
	}
}

func TestEnvCarriesTheArgumentsAndDirectory(t *testing.T) {
	env, err := worker.Env([]string{"--a=1", "b c"})
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	if err := json.Unmarshal([]byte(env[worker.ArgsVar]), &args); err != nil {
		t.Fatalf("%s = %q: %v", worker.ArgsVar, env[worker.ArgsVar], err)
	}
	if diff := cmp.Diff([]string{"--a=1", "b c"}, args); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
	wd, _ := os.Getwd()
	if env[worker.DirVar] != wd {
		t.Errorf("%s = %q, want %q", worker.DirVar, env[worker.DirVar], wd)
	}
	empty, err := worker.Env([]string{})
	if err != nil || empty[worker.ArgsVar] != "[]" {
		t.Errorf("Env([]) = %v, %v; want an empty array", empty, err)
	}
}
