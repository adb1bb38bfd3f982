package launch_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

func TestParseRefusesOptionsThatDoNotGoTogether(t *testing.T) {
	tests := []struct {
		name string
		args []string
		flag string // the FlagError's Flag
	}{
		{"an unknown runner is refused", []string{"--runner=direct"}, "runner"},
		{"an unknown environment type is refused", []string{"--runner=portable", "--environment_type=DOCKER"}, "environment_type"},
		{"EXTERNAL without the pool's address is refused", []string{"--runner=portable", "--environment_type=EXTERNAL"}, "environment_config"},
		{"universal without an endpoint is refused", []string{"--runner=universal"}, "endpoint"},
		{"a web UI for universal is refused: the job server has one", []string{"--runner=universal", "--endpoint=localhost:8099", "--ui"}, "ui"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			opts := launch.Flags(fs)
			err := opts.Parse(fs, tt.args)
			var fe *launch.FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.flag {
				t.Fatalf("Parse(%q) = %v, want a FlagError for --%s", tt.args, err, tt.flag)
			}
		})
	}
}

func TestParseSetsTheOptions(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	opts := launch.Flags(fs)
	args := []string{"--runner=universal", "--endpoint=localhost:8099", "--environment_type=process", "--job_name=wc",
		"--parallelism=3", "--num_workers=4", "--memory_budget_mb=512", "--progress=false", "--auth_token_file=tok",
		"--checkpoint_dir=jobs/wc", "--checkpoint_interval=2s", "--checkpoint_fresh"}
	if err := opts.Parse(fs, args); err != nil {
		t.Fatal(err)
	}
	got := *opts
	want := launch.Options{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "process", JobName: "wc",
		Parallelism: 3, NumWorkers: 4, MemoryBudgetMB: 512, AuthTokenFile: "tok"}
	if got.Runner != want.Runner || got.Endpoint != want.Endpoint || got.EnvironmentType != want.EnvironmentType ||
		got.JobName != want.JobName || got.Parallelism != want.Parallelism || got.NumWorkers != want.NumWorkers || got.MemoryBudgetMB != want.MemoryBudgetMB ||
		got.Progress || got.AuthTokenFile != want.AuthTokenFile ||
		got.CheckpointDir != "jobs/wc" || got.CheckpointInterval != 2*time.Second || !got.CheckpointFresh {
		t.Errorf("Parse(%q) = %+v, want %+v", args, got, want)
	}
	if opts.Worker() {
		t.Error("Worker() = true in a process started without worker variables")
	}
}

// TestRunRunsWhereTheFlagsSay runs one pipeline with an assertion on the
// local runner and on the portable runner with LOOPBACK workers; a failed
// assertion fails Run on both.
func TestRunRunsWhereTheFlagsSay(t *testing.T) {
	for _, args := range [][]string{
		{"--runner=local", "--progress=false"},
		{"--runner=portable", "--environment_type=LOOPBACK", "--progress=false"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			for _, want := range []int{6, 7} {
				fs := flag.NewFlagSet("test", flag.ContinueOnError)
				opts := launch.Flags(fs)
				if err := opts.Parse(fs, args); err != nil {
					t.Fatal(err)
				}
				p := sdk.NewPipeline()
				s := p.Root()
				passert.Equals(s, sdk.Sum(s, sdk.Create(s, []int{1, 2, 3})), want)
				res, err := launch.Run(context.Background(), p, opts)
				switch {
				case want == 6 && (err != nil || res == nil):
					t.Errorf("Run = %v, %v, want a result", res, err)
				case want == 7 && (err == nil || !strings.Contains(err.Error(), "passert.Equals")):
					t.Errorf("Run with a false assertion = %v, want the assertion's error", err)
				}
			}
		})
	}
}

func TestRunReadsTheAuthTokenFile(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	opts := launch.Flags(fs)
	missing := filepath.Join(t.TempDir(), "no-token")
	if err := opts.Parse(fs, []string{"--runner=universal", "--endpoint=127.0.0.1:1", "--auth_token_file=" + missing}); err != nil {
		t.Fatal(err)
	}
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	_, err := launch.Run(context.Background(), p, opts)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run with a missing token file = %v, want an error wrapping os.ErrNotExist", err)
	}
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// TestUIShowsTheJobAndLingers runs a pipeline with --ui on both runners of
// this process and reads the finished job from the UI while it lingers.
func TestUIShowsTheJobAndLingers(t *testing.T) {
	for _, runner := range []string{"local", "portable"} {
		t.Run(runner, func(t *testing.T) {
			addr := freeAddr(t)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			opts := launch.Flags(fs)
			args := []string{"--runner=" + runner, "--progress=false", "--ui", "--ui_address=" + addr, "--ui_linger=30s"}
			if err := opts.Parse(fs, args); err != nil {
				t.Fatal(err)
			}
			p := sdk.NewPipeline()
			s := p.Root()
			passert.Equals(s, sdk.Sum(s, sdk.Create(s, []int{1, 2, 3})), 6)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := launch.Run(ctx, p, opts)
				done <- err
			}()
			var jobs []struct{ State, Runner string }
			deadline := time.Now().Add(30 * time.Second)
			for len(jobs) != 1 || jobs[0].State != "DONE" {
				if time.Now().After(deadline) {
					t.Fatalf("the UI at %s shows %+v, want one DONE job", addr, jobs)
				}
				time.Sleep(20 * time.Millisecond)
				resp, err := http.Get("http://" + addr + "/api/jobs")
				if err != nil {
					continue // not up yet
				}
				json.NewDecoder(resp.Body).Decode(&jobs)
				resp.Body.Close()
			}
			if jobs[0].Runner != runner {
				t.Errorf("the UI's job ran on %q, want %q", jobs[0].Runner, runner)
			}
			select {
			case err := <-done:
				t.Fatalf("Run returned (%v) before --ui_linger passed", err)
			default:
			}
			cancel() // ends the linger
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if _, err := http.Get("http://" + addr + "/api/jobs"); err == nil {
				t.Error("the UI still serves after Run returned")
			}
		})
	}
}
