package jobservice_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
)

// rssServerVar makes TestLargePreparesLeaveTheServersRSSBounded, in a
// child process, serve a job server until its stdin closes.
const rssServerVar = "BEAMGO_JOBSERVICE_RSS_SERVER"

// The RSS test's server: prepared jobs expire after rssTTL, and at most
// rssMaxPrepared bytes of them wait at a time.
const (
	rssPrepares      = 20
	rssPipelineBytes = 50 << 20
	rssTTL           = 400 * time.Millisecond
	rssMaxPrepared   = 128 << 20
	// rssPeakBound and rssEndBound bound the server's peak RSS while the
	// Prepares arrive and its RSS once they have expired, in bytes above
	// its RSS at start (the figures the package doc states).
	rssPeakBound = 640 << 20
	rssEndBound  = 96 << 20
)

func TestLargePreparesLeaveTheServersRSSBounded(t *testing.T) {
	if os.Getenv(rssServerVar) != "" {
		serveUntilStdinCloses(t)
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("sends 1 GB of Prepares and measures memory; skipped in -short mode and under the race detector")
	}
	began := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLargePreparesLeaveTheServersRSSBounded$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), rssServerVar+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server process: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("server process %d did not exit after its stdin closed; killed", cmd.Process.Pid)
		}
	})
	lines := bufio.NewScanner(stdout)
	var addr string
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "addr="); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatalf("the server process printed no address (%v)", lines.Err())
	}
	pid := cmd.Process.Pid
	start := memStatus(t, pid, "VmRSS")

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(2*rssPipelineBytes)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	jobs := jobpb.NewJobServiceClient(cc)
	pb := basePipeline(t)
	ballast(pb, rssPipelineBytes)
	ctx := testCtx(t)
	refused := 0
	for i := 0; i < rssPrepares; {
		_, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: pb, JobName: fmt.Sprint("big", i)})
		switch {
		case err == nil:
			i++
		case status.Code(err) == codes.ResourceExhausted && refused < 10*rssPrepares:
			// The prepared jobs hold rssMaxPrepared; some expire soon.
			refused++
			time.Sleep(rssTTL / 4)
		default:
			t.Fatalf("Prepare %d of %d: %v", i+1, rssPrepares, err)
		}
	}
	sent := time.Since(began)
	waitFor(t, "the prepared jobs to expire", func() bool {
		list, err := jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
		return err == nil && len(list.GetJobInfo()) == 0
	})
	// Give the runtime's release of the freed heap a moment (longer on a
	// machine busy with other test binaries).
	var end int64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		end = memStatus(t, pid, "VmRSS")
		if end-start <= rssEndBound || time.Now().After(deadline) {
			break
		}
	}
	peak := memStatus(t, pid, "VmHWM")
	t.Logf("%d Prepares of %d MiB (%d refused while %d MiB waited) in %v: server RSS %d MiB at start, peak %d MiB (+%d), %d MiB after they expired (+%d)",
		rssPrepares, rssPipelineBytes>>20, refused, rssMaxPrepared>>20, sent.Round(time.Millisecond),
		start>>20, peak>>20, (peak-start)>>20, end>>20, (end-start)>>20)
	if peak-start > rssPeakBound {
		t.Errorf("the server's peak RSS grew by %d MiB, want at most %d MiB", (peak-start)>>20, rssPeakBound>>20)
	}
	if end-start > rssEndBound {
		// Say whether the heap is still live or only not yet returned.
		fmt.Fprintln(stdin, "heap")
		var heap string
		if lines.Scan() {
			heap = lines.Text()
		}
		t.Errorf("after the prepared jobs expired the server's RSS is %d MiB above its start, want at most %d MiB (the server's heap: %s)", (end-start)>>20, rssEndBound>>20, heap)
	}
	go io.Copy(io.Discard, stdout)
}

// serveUntilStdinCloses runs the RSS test's job server, printing its
// address, until stdin closes. Each line read from stdin is answered with
// a line of the runtime's heap figures.
func serveUntilStdinCloses(t *testing.T) {
	srv, err := jobservice.Start("127.0.0.1:0", &jobservice.Options{
		StagingDir: t.TempDir(), Logger: quiet,
		PreparedTTL: rssTTL, MaxPreparedBytes: rssMaxPrepared,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	fmt.Printf("addr=%s\n", srv.Addr())
	for in := bufio.NewScanner(os.Stdin); in.Scan(); {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("live %d MiB, idle %d MiB of which %d MiB returned to the OS, %d collections\n",
			m.HeapAlloc>>20, m.HeapIdle>>20, m.HeapReleased>>20, m.NumGC)
	}
}

// memStatus returns a field of /proc/<pid>/status in bytes.
func memStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status %s: %v", pid, field, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}
