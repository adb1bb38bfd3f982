// Command recovery measures issue 18's recovery-time target: how long a
// streaming job with a large keyed state takes, after a SIGKILL, to resume
// processing from its newest snapshot.
//
// It runs itself twice as a child process. The load child reads an
// unbounded source whose partitions first give every one of -keys keys a
// -value_bytes value, kept in value state (so the state is keys x
// value_bytes, 1 GiB by default), then go on with a paced trickle of probe
// records; it snapshots every -checkpoint_interval. Once every key is
// loaded and a snapshot written after that, the parent kills the child
// with SIGKILL. The resume child starts with the same checkpoint
// directory; its first probe reads its key's state (and fails if the value
// is not there, whole), which is the first element processed after the
// restore; then it drains. The parent prints one
// line of figures: the snapshot's size, how long writing its file took
// (temporary file created to renamed, as seen from outside), the time
// from starting the resume child to its first processed element (and the
// CPU time the child had used by then, which a loaded machine does not
// inflate as much), and both children's peak RSS.
//
//	go run ./bench/recovery -keys=1048576 -value_bytes=1024
//
// -state_dir keeps the state in the on-disk store (pebble) instead of
// memory; -work is where the snapshots go (default: a new directory under
// the system's temporary directory, removed at the end).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/cpuprof"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// gen is the source: partition p loads keys p, p+Parts, ... below Keys,
// each with a Size-byte value, unpaced, then gives probe records (empty
// values) for the same keys again, ProbeRate a second.
type gen struct {
	Parts     int
	Keys      int64
	Size      int
	ProbeRate float64
}

type part struct{ ID int }

// mark is the index of a partition's next record.
type mark struct{ Next int64 }

// loads is how many keys partition p loads.
func (g gen) loads(p int) int64 { return (g.Keys - int64(p) + int64(g.Parts) - 1) / int64(g.Parts) }

func (g gen) Partitions(context.Context) ([]part, error) {
	ps := make([]part, g.Parts)
	for i := range ps {
		ps[i] = part{ID: i}
	}
	return ps, nil
}

func (g gen) Open(_ context.Context, p part, m *mark) (unbounded.Reader[sdk.KV[int64, []byte], mark], error) {
	r := &reader{g: g, p: p.ID, loads: g.loads(p.ID), opened: time.Now()}
	if m != nil {
		r.next = m.Next
	}
	r.first = max(r.next, r.loads)
	return r, nil
}

type reader struct {
	g                  gen
	p                  int
	loads, next, first int64
	opened             time.Time
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (r *reader) Next(context.Context) (unbounded.Record[sdk.KV[int64, []byte]], bool, error) {
	i := r.next
	if i >= r.loads && float64(i-r.first) > time.Since(r.opened).Seconds()*r.g.ProbeRate {
		return unbounded.Record[sdk.KV[int64, []byte]]{}, false, nil
	}
	r.next++
	key := (i%r.loads)*int64(r.g.Parts) + int64(r.p)
	var v []byte
	if i < r.loads {
		v = value(key, r.g.Size)
	}
	return unbounded.Record[sdk.KV[int64, []byte]]{Value: sdk.KV[int64, []byte]{Key: key, Value: v}, Time: epoch.Add(time.Duration(i) * time.Millisecond)}, true, nil
}

func (r *reader) Mark() mark { return mark{Next: r.next} }

func (r *reader) Watermark() time.Time { return epoch.Add(time.Duration(r.next) * time.Millisecond) }

func (r *reader) Close() error { return nil }

// value is key's value: the key, then bytes derived from it.
func value(key int64, size int) []byte {
	v := make([]byte, size)
	binary.BigEndian.PutUint64(v, uint64(key))
	for i := 8; i < size; i++ {
		v[i] = byte(key) + byte(i)
	}
	return v
}

// In a child process, the DoFn reports to main through these: loaded
// counts the values written, probes receives the first probe's key and
// value length. They are process-wide because the runner builds its own
// copies of the DoFn.
var (
	loaded atomic.Int64
	probes = make(chan [2]int64, 1)
)

// keep keeps each key's value in value state; a probe reads it back.
type keep struct {
	Size  int
	Value sdk.ValueState[[]byte]
}

func (f *keep) ProcessElement(ctx context.Context, kv sdk.KV[int64, []byte], emit func(int64)) error {
	if len(kv.Value) > 0 {
		loaded.Add(1)
		return f.Value.Write(ctx, kv.Value)
	}
	v, ok, err := f.Value.Read(ctx)
	if err != nil {
		return err
	}
	if !ok || len(v) != f.Size || int64(binary.BigEndian.Uint64(v)) != kv.Key {
		return sdk.Permanent(fmt.Errorf("recovery: key %d: state lost after the restore (found %v, %d bytes)", kv.Key, ok, len(v)))
	}
	select {
	case probes <- [2]int64{kv.Key, int64(len(v))}:
	default:
	}
	emit(kv.Key)
	return nil
}

func build(g gen) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	kvs := unbounded.Read(s, g, unbounded.Options{Name: "Load", MaxRecords: 4096, PollInterval: 20 * time.Millisecond})
	sdk.ParDo(s, sdk.DoFn[sdk.KV[int64, []byte], int64](&keep{Size: g.Size}), kvs, sdk.Name("Keep"))
	return p
}

// config is what the parent passes its children.
type config struct {
	g        gen
	dir      string
	interval time.Duration
	stateDir string
	budget   int64
}

func (c config) job() local.Job {
	return local.Job{StateDir: c.stateDir, MemoryBudget: c.budget << 20,
		Checkpoint: &local.Checkpointing{Dir: c.dir, Interval: c.interval}}
}

// load runs the job until it is killed, printing "loaded" once every key
// has its value.
func load(c config) error {
	go func() {
		for loaded.Load() < c.g.Keys {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("loaded")
	}()
	_, err := local.New(&local.Options{Job: c.job()}).Run(context.Background(), build(c.g))
	return err
}

// resume runs the job from its snapshot until the first probe, then
// drains it, printing when the probe was processed and the CPU time used
// by then.
func resume(c config, cpuprofile string) error {
	fmt.Printf("started %d\n", time.Now().UnixNano())
	stop := cpuprof.Start(cpuprofile)
	drain := make(chan struct{})
	job := c.job()
	job.Checkpoint.Interval = time.Hour
	job.Drain = drain
	go func() {
		pr := <-probes
		now := time.Now()
		fmt.Printf("probe %d cpu=%d key=%d bytes=%d\n", now.UnixNano(), cpuTime(), pr[0], pr[1])
		stop()
		close(drain)
	}()
	res, err := local.New(&local.Options{Job: job}).Run(context.Background(), build(c.g))
	if err != nil {
		return err
	}
	fmt.Printf("final restored=%d\n", res.RestoredFrom)
	return nil
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// child is a started child process and its output lines.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func start(role string, c config, extra ...string) (*child, error) {
	args := []string{"-role=" + role, "-keys=" + strconv.FormatInt(c.g.Keys, 10),
		"-value_bytes=" + strconv.Itoa(c.g.Size), "-partitions=" + strconv.Itoa(c.g.Parts),
		"-dir=" + c.dir, "-checkpoint_interval=" + c.interval.String(), "-state_dir=" + c.stateDir,
		"-budget=" + strconv.FormatInt(c.budget, 10)}
	cmd := exec.Command(os.Args[0], append(args, extra...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch.lines <- sc.Text()
		}
		close(ch.lines)
	}()
	return ch, nil
}

// expect waits for a line starting with prefix.
func (ch *child) expect(prefix string, within time.Duration) (string, error) {
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-ch.lines:
			if !ok {
				return "", fmt.Errorf("recovery: the child ended before it printed %q: %v", prefix, ch.cmd.Wait())
			}
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		case <-deadline:
			return "", fmt.Errorf("recovery: no %q from the child within %v", prefix, within)
		}
	}
}

// peakRSS is the child's peak resident set size in MiB.
func (ch *child) peakRSS() int64 {
	if ru, ok := ch.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss >> 10
	}
	return 0
}

// snapshots returns the snapshot files of dir, oldest first.
func snapshots(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "ckpt-*.bin"))
	slices.Sort(files)
	return files
}

// written waits for a snapshot newer than after and returns it with how
// long its file took to write, from its temporary file's appearance.
func written(dir, after string, within time.Duration) (string, time.Duration, error) {
	deadline := time.Now().Add(within)
	var tmpSeen time.Time
	for time.Now().Before(deadline) {
		if tmps, _ := filepath.Glob(filepath.Join(dir, ".ckpt-*.tmp")); len(tmps) > 0 && tmpSeen.IsZero() {
			tmpSeen = time.Now()
		}
		if fs := snapshots(dir); len(fs) > 0 && fs[len(fs)-1] > after {
			var took time.Duration
			if !tmpSeen.IsZero() {
				took = time.Since(tmpSeen)
			}
			return fs[len(fs)-1], took, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return "", 0, fmt.Errorf("recovery: no snapshot after %q within %v", filepath.Base(after), within)
}

func parent(c config, cpuprofile string) error {
	if c.dir == "" {
		d, err := os.MkdirTemp("", "recovery-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	began := time.Now()
	ld, err := start("load", c)
	if err != nil {
		return err
	}
	defer ld.cmd.Process.Kill()
	if _, err := ld.expect("loaded", 2*time.Hour); err != nil {
		return err
	}
	loadTime := time.Since(began)
	var after string
	if fs := snapshots(c.dir); len(fs) > 0 {
		after = fs[len(fs)-1]
	}
	snap, writeTime, err := written(c.dir, after, 30*time.Minute)
	if err != nil {
		return err
	}
	if err := ld.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	ld.cmd.Wait()
	fi, err := os.Stat(snap)
	if err != nil {
		return err
	}

	restart := time.Now()
	rs, err := start("resume", c, "-cpuprofile="+cpuprofile)
	if err != nil {
		return err
	}
	defer rs.cmd.Process.Kill()
	line, err := rs.expect("started ", time.Minute)
	if err != nil {
		return err
	}
	var started int64
	if _, err := fmt.Sscanf(line, "started %d", &started); err != nil {
		return fmt.Errorf("recovery: %q: %w", line, err)
	}
	line, err = rs.expect("probe ", 10*time.Minute)
	if err != nil {
		return err
	}
	var at int64
	var cpu time.Duration
	if _, err := fmt.Sscanf(line, "probe %d cpu=%d", &at, &cpu); err != nil {
		return fmt.Errorf("recovery: %q: %w", line, err)
	}
	recovered := time.Unix(0, at).Sub(restart)
	execTime := time.Unix(0, started).Sub(restart)
	final, err := rs.expect("final ", 30*time.Minute)
	if err != nil {
		return err
	}
	if err := rs.cmd.Wait(); err != nil {
		return fmt.Errorf("recovery: the resumed job: %w", err)
	}
	var restored int64
	if _, err := fmt.Sscanf(final, "final restored=%d", &restored); err != nil {
		return fmt.Errorf("recovery: %q: %w", final, err)
	}
	if restored == 0 {
		return errors.New("recovery: the resumed job did not restore a snapshot")
	}
	backend := "memory"
	if c.stateDir != "" {
		backend = "pebble"
	}
	fmt.Printf("recovery: state %s, %d keys x %d bytes = %.2f GiB; loaded in %v; snapshot %s: %.2f GiB, file written in %v; "+
		"killed; restart to first processed element %v (of which %v until main ran; CPU time %v); peak RSS load %d MiB, resume %d MiB\n",
		backend, c.g.Keys, c.g.Size, gib(c.g.Keys*int64(c.g.Size)), loadTime.Round(time.Millisecond),
		filepath.Base(snap), gib(fi.Size()), writeTime.Round(time.Millisecond), recovered.Round(time.Millisecond),
		execTime.Round(time.Millisecond), cpu.Round(time.Millisecond), ld.peakRSS(), rs.peakRSS())
	return nil
}

func gib(n int64) float64 { return float64(n) / (1 << 30) }

func main() {
	role := flag.String("role", "parent", "parent, or the child roles load and resume")
	var c config
	c.g.ProbeRate = 50
	flag.Int64Var(&c.g.Keys, "keys", 1<<20, "keys, each with a value in state")
	flag.IntVar(&c.g.Size, "value_bytes", 1024, "bytes of each key's value (at least 8)")
	flag.IntVar(&c.g.Parts, "partitions", 4, "partitions of the source")
	flag.StringVar(&c.dir, "dir", "", "checkpoint directory (default: a new temporary directory, removed at the end)")
	flag.DurationVar(&c.interval, "checkpoint_interval", 10*time.Second, "time between snapshots of the load child")
	flag.StringVar(&c.stateDir, "state_dir", "", "keep state on disk (pebble) under a temporary directory here; default: in memory")
	flag.Int64Var(&c.budget, "budget", 0, "memory budget of the runner, MiB (default: the runner's)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the resume child, from its start to its first probe, to this file")
	flag.Parse()
	log.SetFlags(0)
	if c.g.Size < 8 {
		log.Fatal("recovery: -value_bytes must be at least 8")
	}
	var err error
	switch *role {
	case "parent":
		err = parent(c, *cpuprofile)
	case "load":
		err = load(c)
	case "resume":
		err = resume(c, *cpuprofile)
	default:
		err = fmt.Errorf("recovery: unknown -role %q", *role)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		log.Fatal(err)
	}
}
