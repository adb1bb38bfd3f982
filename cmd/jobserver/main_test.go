package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
)

func TestStart(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("a-token-of-enough-length\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	envToken := func(k string) string {
		if k == jobservice.TokenEnvVar {
			return "a-token-from-the-environment"
		}
		return ""
	}
	tests := []struct {
		name    string
		args    []string
		getenv  func(string) string
		wantErr string // "" for a server that starts
		summary string // in a started server's summary
	}{
		{"Loopback without a token starts, with PROCESS refused.", nil, noEnv, "", "authentication off"},
		{"All interfaces without a token refuse to start.", []string{"--address=0.0.0.0"}, noEnv, "--auth_token_file", ""},
		{"A token file turns authentication on.", []string{"--auth_token_file=" + tokenFile}, noEnv, "", "authentication on"},
		{"The token variable turns authentication on.", nil, envToken, "", "authentication on"},
		{"An allow-list enables PROCESS.", []string{"--allow_process=" + filepath.Dir(tokenFile)}, noEnv, "", "PROCESS workers allowed"},
		{"--refuse_process and --allow_process contradict.", []string{"--refuse_process", "--allow_process=/usr/bin"}, noEnv, "contradict", ""},
		{"A missing token file is an error.", []string{"--auth_token_file=" + tokenFile + ".missing"}, noEnv, "--auth_token_file", ""},
		{"A state directory starts.", []string{"--state_dir=" + filepath.Dir(tokenFile), "--state_memory=64"}, noEnv, "", "authentication off"},
		{"A state directory that is a file is an error.", []string{"--state_dir=" + tokenFile}, noEnv, "--state_dir", ""},
		{"State memory without a state directory is an error.", []string{"--state_memory=64"}, noEnv, "--state_dir", ""},
		{"A checkpoint root and a jobs directory start, and the summary says so.", []string{"--checkpoint_root=" + filepath.Dir(tokenFile), "--jobs_dir=" + filepath.Join(filepath.Dir(tokenFile), "jobs")}, noEnv, "", "checkpointed jobs recorded in"},
		{"A checkpoint root that is a file is an error.", []string{"--checkpoint_root=" + tokenFile}, noEnv, "CheckpointRoot", ""},
		{"A blob-store checkpoint root starts, and the summary names it.", []string{"--checkpoint_root=mem://jobserver-test/roots"}, noEnv, "", "under mem://jobserver-test/roots"},
		{"A relative jobs directory is an error.", []string{"--jobs_dir=jobs"}, noEnv, "JobsDir", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--port=0", "--ui_port=0", "--staging_dir=" + t.TempDir()}, tt.args...)
			srv, err := start(args, tt.getenv, io.Discard)
			if tt.wantErr != "" {
				if srv != nil {
					srv.Stop()
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("start(%q) = %v, want an error mentioning %q", args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("start(%q): %v", args, err)
			}
			defer srv.Stop()
			if s := srv.Summary(); !strings.Contains(s, tt.summary) {
				t.Errorf("Summary = %q, want it to mention %q", s, tt.summary)
			}
		})
	}
	var ie *jobservice.InsecureAddressError
	if _, err := start([]string{"--address=0.0.0.0", "--port=0", "--ui_port=0"}, noEnv, io.Discard); !errors.As(err, &ie) {
		t.Errorf("start on 0.0.0.0 without a token = %v, want an *InsecureAddressError", err)
	}
}

func TestWebUI(t *testing.T) {
	noEnv := func(string) string { return "" }
	srv, err := start([]string{"--port=0", "--ui_port=0", "--staging_dir=" + t.TempDir()}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if !strings.Contains(srv.Summary(), "web UI http://127.0.0.1:") {
		t.Errorf("Summary = %q, want the web UI's URL", srv.Summary())
	}
	resp, err := http.Get(srv.ui.URL() + "api/jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/jobs = %d, want 200", resp.StatusCode)
	}

	off, err := start([]string{"--port=0", "--ui=false", "--staging_dir=" + t.TempDir()}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Stop()
	if off.ui != nil || !strings.Contains(off.Summary(), "web UI off") {
		t.Errorf("with --ui=false: Summary = %q, want the web UI off", off.Summary())
	}
}

func TestRunnerOptions(t *testing.T) {
	dir := t.TempDir()
	if o, err := runnerOptions("", 0, 0); o != nil || err != nil {
		t.Errorf("runnerOptions(\"\", 0, 0) = %+v, %v; want nil, nil (the defaults: state in memory)", o, err)
	}
	o, err := runnerOptions(dir, 64, 0)
	if err != nil {
		t.Fatalf("runnerOptions(%q, 64): %v", dir, err)
	}
	if o.StateDir != dir || o.StateMemory != 64<<20 {
		t.Errorf("runnerOptions(%q, 64) = StateDir %q, StateMemory %d; want %q, %d", dir, o.StateDir, o.StateMemory, dir, 64<<20)
	}
	if _, err := runnerOptions(dir, -1, 0); err == nil {
		t.Error("runnerOptions with a negative --state_memory succeeded")
	}
	if o, err := runnerOptions("", 0, 300); err != nil || o.MemoryBudget != 300<<20 || o.StateDir != "" {
		t.Errorf("runnerOptions(\"\", 0, 300) = %+v, %v; want MemoryBudget %d, state in memory", o, err, 300<<20)
	}
	if _, err := runnerOptions("", 0, -1); err == nil {
		t.Error("runnerOptions with a negative --memory_budget succeeded")
	}
}

// TestSoftLimitFollowsJobsState checks the job server's soft memory limit
// against the windowing state its jobs report: the budget and an eighth
// until their state passes a quarter of the budget, then raised by the
// rest, summed over the jobs; back to the base when they end; and the
// process's own limit touched only once main applied it.
func TestSoftLimitFollowsJobsState(t *testing.T) {
	const MiB = 1 << 20
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	l := newSoftLimit(256 * MiB)
	l.stateChanged(100 * MiB) // before apply: the process is left alone
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("limit %d before apply, want the process's %d", got, before)
	}
	l.apply()
	check := func(step string, want int64) {
		t.Helper()
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("%s: limit %d MiB, want %d MiB", step, got/MiB, want/MiB)
		}
	}
	check("one job's 100 MiB, past the 64 MiB allowance", 288*MiB+36*MiB)
	l.stateChanged(50 * MiB) // a second job
	check("two jobs' 150 MiB", 288*MiB+86*MiB)
	l.stateChanged(-100 * MiB)
	check("the first job ended", 288*MiB)
	l.stateChanged(-50 * MiB)
	check("both ended", 288*MiB)
}
