package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary run the job server (main) with the
// arguments it holds instead of the tests, so that a test can kill a real
// job server process.
const childEnv = "BEAMGO_JOBSERVER_CHILD"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lockedBuffer collects a process's output for the test to read while it
// runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// jobServer starts this test binary as a job server with args and
// returns the process and the address it listens on, once it says.
func jobServer(t *testing.T, args string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+args)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	log := &lockedBuffer{}
	addr := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`listening on (\S+);`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return cmd, a, log
	case <-time.After(30 * time.Second):
		t.Fatalf("the job server did not say where it listens within 30s:\n%s", log)
	}
	return nil, "", nil
}

// buildDurableCount builds examples/durablecount into dir.
func buildDurableCount(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "durablecount")
	out, err := exec.Command("go", "build", "-o", bin, "../../examples/durablecount").CombinedOutput()
	if err != nil {
		t.Fatalf("go build examples/durablecount: %v\n%s", err, out)
	}
	return bin
}

// A checkpointed streaming job with PROCESS workers survives the job
// server's death: the job server (a real process) is killed with SIGKILL
// mid-job, its workers die with it, and the job server started again
// with the same directories runs the job again, under the same id, from
// its newest snapshot, with new workers. The submitter, which waited for
// the job server to come back, then gets the job's end, and the output
// holds exactly the reference totals (durablecount checks them).
func TestCheckpointedJobSurvivesTheJobServersSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/durablecount and runs job server processes; skipped in -short mode")
	}
	binDir, root, jobs, staging, out := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	bin := buildDurableCount(t, binDir)
	serverArgs := fmt.Sprintf("--ui=false --allow_process=%s --checkpoint_root=%s --jobs_dir=%s --staging_dir=%s", binDir, root, jobs, staging)
	first, addr, firstLog := jobServer(t, "--port=0 "+serverArgs)

	// 3 partitions of 3000 events at 1000 a second each: about 3 s of
	// input, of which the first run reads some before the kill.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub := exec.CommandContext(ctx, bin, "--runner=universal", "--endpoint="+addr, "--environment_type=PROCESS",
		"--out="+out, "--checkpoint_dir=durablecount", "--checkpoint_interval=150ms", "--events=3000", "--progress=false")
	var subOut, subErr lockedBuffer
	sub.Stdout, sub.Stderr = &subOut, &subErr
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	subDone := make(chan error, 1)
	go func() { subDone <- sub.Wait() }()

	ckpt := filepath.Join(root, "durablecount")
	deadline := time.Now().Add(45 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(ckpt, "ckpt-*.bin"))
		records, _ := filepath.Glob(filepath.Join(jobs, "job-*", "job.json"))
		if len(files) >= 2 && len(records) == 1 {
			break
		}
		select {
		case err := <-subDone:
			t.Fatalf("the submitter ended before the kill: %v\n%s\njob server:\n%s", err, subErr.String(), firstLog)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two snapshots in %s and a job record in %s within 45s\nsubmitter:\n%s\njob server:\n%s", ckpt, jobs, subErr.String(), firstLog)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	before := newestSnapshot(t, ckpt)

	_, port, _ := net.SplitHostPort(addr)
	second, addr2, secondLog := jobServer(t, "--port="+port+" "+serverArgs)
	if addr2 != addr {
		t.Fatalf("the restarted job server listens on %s, not %s", addr2, addr)
	}
	select {
	case err := <-subDone:
		if err != nil {
			t.Fatalf("the submitter: %v\nstderr:\n%s\nfirst job server:\n%s\nsecond job server:\n%s", err, subErr.String(), firstLog, secondLog)
		}
	case <-ctx.Done():
		t.Fatalf("the job did not end within 2 minutes\nsubmitter:\n%s\nsecond job server:\n%s", subErr.String(), secondLog)
	}
	said := subErr.String()
	t.Logf("newest snapshot at the kill: %s; submitter: %s", before, strings.TrimSpace(subOut.String()))
	if !strings.Contains(subOut.String(), "exactly the reference") {
		t.Errorf("durablecount did not find exactly the reference output: %s\n%s", subOut.String(), said)
	}
	for _, want := range []string{"lost the job server", "job server restarted", "resumed from snapshot"} {
		if !strings.Contains(said, want) {
			t.Errorf("the submitter's log does not say %q:\n%s", want, said)
		}
	}
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Errorf("the second job server after SIGTERM: %v\n%s", err, secondLog)
	}
	if records, _ := filepath.Glob(filepath.Join(jobs, "job-*")); len(records) > 0 {
		t.Errorf("records of finished jobs are left in %s: %v", jobs, records)
	}
}

// newestSnapshot returns the name of the newest snapshot in dir.
func newestSnapshot(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
	if len(files) == 0 {
		return "none"
	}
	return filepath.Base(files[len(files)-1])
}
