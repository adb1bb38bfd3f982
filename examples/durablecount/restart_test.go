package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
)

// childEnv makes the test binary run main (the command) instead of the
// tests, so that the chaos test can kill a real process.
const childEnv = "BEAMGO_DURABLECOUNT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv(childEnv))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// stopAt runs the job until it has run for d (its context is then
// cancelled, which stops it at once, as a crash would) and checks it did
// not end before.
func stopAt(t *testing.T, src Events, out string, job local.Job, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if _, err := Run(ctx, src, out, job); err == nil {
		t.Fatalf("the job ended within %v", d)
	}
}

// stopAfterSnapshots runs the job until dir holds n snapshots, then
// stops it as stopAt does.
func stopAfterSnapshots(t *testing.T, src Events, out string, job local.Job, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			files, _ := filepath.Glob(filepath.Join(job.Checkpoint.Dir, "ckpt-*.bin"))
			if len(files) >= n {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := Run(ctx, src, out, job); err == nil {
		t.Fatalf("the job ended before it wrote %d snapshots", n)
	}
}

// A job stopped between snapshots and started again with the same
// directory ends with exactly the reference output, whether the snapshots
// are written in the pause (the default) or partly in the background.
func TestStopAndResumeInProcess(t *testing.T) {
	for _, background := range []bool{false, true} {
		t.Run(fmt.Sprintf("background=%v", background), func(t *testing.T) {
			src := DefaultEvents()
			src.N = 1500
			out, dir := t.TempDir(), t.TempDir()
			job := local.Job{Checkpoint: &local.Checkpointing{Dir: dir, Interval: 100 * time.Millisecond, Background: background}}
			stopAt(t, src, out, job, 400*time.Millisecond)
			stopAt(t, src, out, job, 700*time.Millisecond)
			res, err := Run(context.Background(), src, out, job)
			if err != nil {
				t.Fatal(err)
			}
			if res.RestoredFrom == 0 {
				t.Errorf("the last run did not resume from a snapshot")
			}
			if err := Verify(src, out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The chaos test: the command is killed with SIGKILL at random moments,
// ten times (DURABLECOUNT_KILLS), each time started again with the same checkpoint directory;
// then it runs to the end. The output holds exactly the reference totals.
func TestSIGKILLAndRestart(t *testing.T) {
	kills := 10
	if n := os.Getenv("DURABLECOUNT_KILLS"); n != "" {
		fmt.Sscan(n, &kills)
	}
	chaos(t, kills)
}

func chaos(t *testing.T, kills int) {
	out, dir := t.TempDir(), t.TempDir()
	// Paced at 1000 events a second per partition, a run killed within
	// 1.2 s reads at most 1200 of each partition's events: 1500 per kill
	// leave some for the last run, which reads them unpaced.
	src := DefaultEvents()
	src.N = 1500 * kills
	args := fmt.Sprintf("--out=%s --checkpoint_dir=%s --checkpoint_interval=150ms --events=%d", out, dir, src.N)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var seqs []string
	// The runs' spill directories, which a killed run leaves behind.
	spill := t.TempDir()
	for i := range kills {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+args, "TMPDIR="+spill)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wait := time.Duration(300+rng.IntN(900)) * time.Millisecond
		time.Sleep(wait)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d ended before its kill after %v: %v\n%s", i, wait, err, stderr.String())
		}
		seqs = append(seqs, newest(t, dir))
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+args+" --rate=0")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the last run: %v\n%s", err, b)
	}
	t.Logf("newest snapshot after each kill: %v; last run: %s", seqs, strings.TrimSpace(string(b)))
	if !strings.Contains(string(b), "exactly the reference") {
		t.Fatalf("the last run says: %s", b)
	}
	if err := Verify(src, out); err != nil {
		t.Fatal(err)
	}
	if seqs[0] == seqs[len(seqs)-1] {
		t.Errorf("no snapshot was written after the first kill: %v", seqs)
	}
}

// newest returns the name of the newest snapshot in dir.
func newest(t *testing.T, dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
	slices.Sort(files)
	if len(files) == 0 {
		return "none"
	}
	return strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(files[len(files)-1]), "ckpt-"), ".bin"), "0")
}

// A damaged newest snapshot (truncated, or a flipped byte) is detected:
// the job resumes from the one before, says so, and the output is still
// exact. With every snapshot damaged, the job fails naming them.
func TestDamagedSnapshotsAreDetected(t *testing.T) {
	src := DefaultEvents()
	src.N = 1500
	for _, damage := range []string{"truncate", "flip"} {
		t.Run(damage, func(t *testing.T) {
			out, dir := t.TempDir(), t.TempDir()
			var mu sync.Mutex
			var logs []string
			job := local.Job{
				Checkpoint: &local.Checkpointing{Dir: dir, Interval: 80 * time.Millisecond},
				Logf: func(format string, args ...any) {
					mu.Lock()
					logs = append(logs, fmt.Sprintf(format, args...))
					mu.Unlock()
				},
			}
			stopAfterSnapshots(t, src, out, job, 2)
			files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
			slices.Sort(files)
			if len(files) != 2 {
				t.Fatalf("%d snapshots kept, want 2: %v", len(files), files)
			}
			spoil(t, files[1], damage)
			if _, err := Run(context.Background(), src, out, job); err != nil {
				t.Fatal(err)
			}
			if err := Verify(src, out); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			said := strings.Join(logs, "\n")
			mu.Unlock()
			if !strings.Contains(said, filepath.Base(files[1])) || !strings.Contains(said, "damaged") {
				t.Errorf("the job did not report the damaged snapshot %s; it logged:\n%s", files[1], said)
			}

			// Now damage both snapshots of a fresh directory.
			out2, dir2 := t.TempDir(), t.TempDir()
			job.Checkpoint = &local.Checkpointing{Dir: dir2, Interval: 80 * time.Millisecond}
			stopAfterSnapshots(t, src, out2, job, 2)
			files, _ = filepath.Glob(filepath.Join(dir2, "ckpt-*.bin"))
			for _, f := range files {
				spoil(t, f, damage)
			}
			_, err := Run(context.Background(), src, out2, job)
			var ce *local.CheckpointError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), filepath.Base(files[0])) {
				t.Fatalf("with every snapshot damaged: err %v, want a CheckpointError naming %s", err, files[0])
			}
		})
	}
}

func spoil(t *testing.T, name, how string) {
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if how == "truncate" {
		data = data[:len(data)*2/3]
	} else {
		data[len(data)/2] ^= 0x40
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A snapshot of another pipeline is refused, naming the stage that
// changed; Fresh starts over.
func TestChangedPipelineIsRefused(t *testing.T) {
	src := DefaultEvents()
	src.N = 1500
	out, dir := t.TempDir(), t.TempDir()
	job := local.Job{Checkpoint: &local.Checkpointing{Dir: dir, Interval: 80 * time.Millisecond}}
	stopAt(t, src, out, job, 400*time.Millisecond)

	changed := func(fresh bool) error {
		// The same job with its stateful step renamed: a different pipeline.
		j := job
		c := *job.Checkpoint
		c.Fresh = fresh
		j.Checkpoint = &c
		_, err := local.New(&local.Options{Job: j}).Run(context.Background(), build(src, t.TempDir(), "TotalPerWindow"))
		return err
	}
	err := changed(false)
	if !errors.Is(err, local.ErrPipelineChanged) || !strings.Contains(err.Error(), "TotalPerWindow") {
		t.Fatalf("a changed pipeline: err %v, want ErrPipelineChanged naming TotalPerWindow", err)
	}
	if err := changed(true); err != nil {
		t.Fatalf("with Fresh: %v", err)
	}
}

// The same on the portable runner: the engine's snapshot does not depend
// on where bundles run (here SDK harness workers over the Fn API).
func TestStopAndResumeOnPortable(t *testing.T) {
	src := DefaultEvents()
	src.N = 1500
	out, dir := t.TempDir(), t.TempDir()
	job := portable.Job{Checkpoint: &portable.Checkpointing{Dir: dir, Interval: 100 * time.Millisecond}}
	run := func(ctx context.Context) (*runner.Result, error) {
		return portable.New(&portable.Options{Job: job, Workers: 2}).Run(ctx, Build(src, out))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	_, err := run(ctx)
	cancel()
	if err == nil {
		t.Fatal("the job ended within 600ms")
	}
	res, err := run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.RestoredFrom == 0 {
		t.Errorf("the second run did not resume from a snapshot")
	}
	if err := Verify(src, out); err != nil {
		t.Fatal(err)
	}
}

// A snapshot written in the previous file format (version 2: the body
// first, after its length, then the keyed state) still restores: the
// newest file of a stopped job is rewritten in that layout, and the job
// resumes from it with exactly the reference output.
func TestVersion2SnapshotResumes(t *testing.T) {
	src := DefaultEvents()
	src.N = 1500
	out, dir := t.TempDir(), t.TempDir()
	job := local.Job{Checkpoint: &local.Checkpointing{Dir: dir, Interval: 80 * time.Millisecond}}
	stopAfterSnapshots(t, src, out, job, 2)
	files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
	slices.Sort(files)
	for _, f := range files {
		toVersion2(t, f)
	}
	res, err := Run(context.Background(), src, out, job)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.RestoredFrom); got != newestSeq(files) {
		t.Errorf("resumed from snapshot %s, want the rewritten newest, %s", got, newestSeq(files))
	}
	if err := Verify(src, out); err != nil {
		t.Fatal(err)
	}
}

func newestSeq(files []string) string {
	return strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(files[len(files)-1]), "ckpt-"), ".bin"), "0")
}

// toVersion2 rewrites a version 3 snapshot file (magic, keyed state,
// body, the body's offset, CRC-32C) as version 2 (magic, the body's
// length as a uvarint, body, keyed state, CRC-32C).
func toVersion2(t *testing.T, name string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	const magic3, magic2 = "beamgo-checkpoint-v3\n", "beamgo-checkpoint-v2\n"
	if !strings.HasPrefix(string(data), magic3) {
		t.Fatalf("%s is not a version 3 snapshot", name)
	}
	size := len(data)
	at := int(binary.BigEndian.Uint64(data[size-12:]))
	stores, body := data[len(magic3):at], data[at:size-12]
	v2 := append([]byte(magic2), binary.AppendUvarint(nil, uint64(len(body)))...)
	v2 = append(v2, body...)
	v2 = append(v2, stores...)
	v2 = binary.BigEndian.AppendUint32(v2, crc32.Checksum(v2, crc32.MakeTable(crc32.Castagnoli)))
	if err := os.WriteFile(name, v2, 0o644); err != nil {
		t.Fatal(err)
	}
}
