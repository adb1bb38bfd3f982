//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/beamgo-dev/beamgo/runner/local"
)

// childEnv makes the test binary run main (the command) instead of the
// tests, so that the chaos test can kill a real process while the Kafka
// broker lives on in the test process.
const childEnv = "BEAMGO_KAFKADURABLE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv(childEnv))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// broker starts an in-process Kafka broker with the stream's topic.
func broker(t *testing.T, s Stream) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(s.Parts), s.Topic))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produce produces the stream in the background, paced at rate events a
// second per partition; the returned channel yields Produce's error.
func produce(t *testing.T, s Stream, addrs []string, rate float64) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- s.Produce(ctx, addrs, rate) }()
	return done
}

// The command run as it is, with its own broker, ends with exactly the
// reference output.
func TestEmbeddedBroker(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+fmt.Sprintf("=--out=%s --events=600 --rate=2000", out))
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "exactly the reference") {
		t.Fatalf("the command: %v\n%s", err, b)
	}
}

// A job stopped twice while the stream is being produced, and started
// again with the same directory, ends with exactly the reference output.
func TestStopAndResumeInProcess(t *testing.T) {
	s := DefaultStream()
	s.N = 2000
	addrs := broker(t, s)
	produced := produce(t, s, addrs, 2000)
	out, dir := t.TempDir(), t.TempDir()
	job := local.Job{Checkpoint: &local.Checkpointing{Dir: dir, Interval: 100 * time.Millisecond}}
	for _, d := range []time.Duration{400 * time.Millisecond, 500 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := Run(ctx, addrs, s, out, job, true)
		cancel()
		if err == nil {
			t.Fatalf("the job ended within %v", d)
		}
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, addrs, s, out, job, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.RestoredFrom == 0 {
		t.Errorf("the last run did not resume from a snapshot")
	}
	if err := Verify(s, out); err != nil {
		t.Fatal(err)
	}
}

// The chaos test: while the test process produces the stream into its
// broker, the command reading it is killed with SIGKILL at random moments,
// KAFKADURABLE_KILLS times (default 10), each time started again with the
// same checkpoint directory; then it runs until it has read everything and
// drains. The output holds exactly the reference totals.
func TestSIGKILLAndRestart(t *testing.T) {
	kills := 10
	if n := os.Getenv("KAFKADURABLE_KILLS"); n != "" {
		if _, err := fmt.Sscan(n, &kills); err != nil || kills < 1 {
			t.Fatalf("KAFKADURABLE_KILLS=%q: want a positive number", n)
		}
	}
	start := time.Now()
	s := DefaultStream()
	// A run lives 0.3 to 1.2 s, and starting one takes a while more: at
	// 1000 events a second, 600 per kill keep the producer busy through
	// most of the kills, so that runs are killed mid-stream.
	s.N = 600 * kills
	addrs := broker(t, s)
	produced := produce(t, s, addrs, 1000)
	out, dir := t.TempDir(), t.TempDir()
	args := fmt.Sprintf("--brokers=%s --topic=%s --out=%s --checkpoint_dir=%s --checkpoint_interval=150ms --events=%d",
		strings.Join(addrs, ","), s.Topic, out, dir, s.N)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	var seqs []string
	producing := 0
	// The runs' spill directories, which a killed run leaves behind.
	spill := t.TempDir()
	for i := range kills {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+args+" --drain=false", "TMPDIR="+spill)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wait := time.Duration(300+rng.IntN(900)) * time.Millisecond
		time.Sleep(wait)
		if len(produced) == 0 {
			producing++
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d ended before its kill after %v: %v\n%s", i, wait, err, stderr.String())
		}
		seqs = append(seqs, newest(dir))
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+args+" --drain=true")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the last run: %v\n%s", err, b)
	}
	t.Logf("%d kills (%d while the stream was being produced) in %v; newest snapshot after each kill: %v; last run: %s",
		kills, producing, time.Since(start).Round(time.Millisecond), seqs, strings.TrimSpace(string(b)))
	if !strings.Contains(string(b), "exactly the reference") {
		t.Fatalf("the last run says: %s", b)
	}
	if err := Verify(s, out); err != nil {
		t.Fatal(err)
	}
	if seqs[0] == seqs[len(seqs)-1] {
		t.Errorf("no snapshot was written after the first kill: %v", seqs)
	}
	if producing < kills/2 {
		t.Errorf("only %d of %d kills came while the stream was being produced", producing, kills)
	}
}

// newest returns the sequence number of the newest snapshot in dir.
func newest(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
	slices.Sort(files)
	if len(files) == 0 {
		return "none"
	}
	return strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(files[len(files)-1]), "ckpt-"), ".bin"), "0")
}
