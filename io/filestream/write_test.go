package filestream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// writeJob writes 90 lines, one every two seconds from base, in one-minute
// windows to prefix.
func writeJob(prefix string, base time.Time) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	var vals []string
	var stamps []window.Time
	for i := range 90 {
		vals = append(vals, fmt.Sprintf("line %d", i))
		stamps = append(stamps, window.FromTime(base.Add(time.Duration(i)*2*time.Second)))
	}
	in := sdk.WindowInto(s, sdk.FixedWindows(time.Minute), sdk.CreateTimestamped(s, vals, stamps))
	Write(s, in, prefix, &WriteOptions{Shards: 2})
	return p
}

// readTree returns every file under dir with its lines, sorted.
func readTree(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		ls := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		slices.Sort(ls)
		out[rel] = ls
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runners are the runners the sink is tested on, given the job's drain
// channel (nil for none). The portable runner's LOOPBACK workers run in
// this process and reach the same files.
var runners = map[string]func(drain chan struct{}) runner.Runner{
	"local": func(drain chan struct{}) runner.Runner {
		return local.New(&local.Options{Job: local.Job{Drain: drain}})
	},
	"portable": func(drain chan struct{}) runner.Runner {
		return portable.New(&portable.Options{Workers: 2, Job: portable.Job{Drain: drain}, EnvironmentType: portable.EnvLoopback})
	},
}

// One file per window, pane and shard, holding that window's lines; a
// second run of the same job (a replay of every epoch) changes nothing.
func TestWriteRollsFilesPerWindowAndPane(t *testing.T) {
	for name, r := range runners {
		t.Run(name, func(t *testing.T) { testWriteRollsFilesPerWindowAndPane(t, r) })
	}
}

func testWriteRollsFilesPerWindowAndPane(t *testing.T, newRunner func(chan struct{}) runner.Runner) {
	dir := t.TempDir()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := newRunner(nil).Run(context.Background(), writeJob(dir+"/out/", base)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	files := readTree(t, dir+"/out")
	perWindow := map[string][]string{}
	for name, ls := range files {
		win, file := filepath.Split(name)
		if file != "pane-0-shard-0.txt" && file != "pane-0-shard-1.txt" {
			t.Errorf("unexpected file %s", name)
		}
		perWindow[filepath.Clean(win)] = append(perWindow[filepath.Clean(win)], ls...)
	}
	want := map[string][]string{}
	for i := range 90 {
		start := base.Add(time.Duration(i*2/60) * time.Minute)
		win := start.Format("20060102T150405.000Z") + "_" + start.Add(time.Minute).Format("20060102T150405.000Z")
		want[win] = append(want[win], fmt.Sprintf("line %d", i))
	}
	for w := range want {
		slices.Sort(want[w])
		slices.Sort(perWindow[w])
	}
	if diff := cmp.Diff(want, perWindow); diff != "" {
		t.Errorf("lines per window (-want +got):\n%s", diff)
	}
	info := func() map[string]time.Time {
		m := map[string]time.Time{}
		for name := range files {
			fi, err := os.Stat(filepath.Join(dir, "out", name))
			if err != nil {
				t.Fatal(err)
			}
			m[name] = fi.ModTime()
		}
		return m
	}
	before := info()
	if _, err := newRunner(nil).Run(context.Background(), writeJob(dir+"/out/", base)); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if diff := cmp.Diff(files, readTree(t, dir+"/out")); diff != "" {
		t.Errorf("files after a replay (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(before, info()); diff != "" {
		t.Errorf("a replay rewrote files (modification times -first +second):\n%s", diff)
	}
}

// A failed epoch leaves no file, and its retry writes it whole.
func TestWriteFailedEpochLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	o := &WriteOptions{Suffix: ".txt", Storage: filesystem.Default()}
	e := foreach.Epoch{Window: window.Global(), Pane: 3, Shard: 1}
	path := EpochPath(dir+"/", ".txt", e)
	attempt := func(fail error) error {
		w := &fileWriter{prefix: dir + "/", opts: o}
		write, err := w.Open(ctx, e)
		if err != nil || !write {
			return fmt.Errorf("Open = %v, %v; want true", write, err)
		}
		for _, l := range []string{"a", "b"} {
			if err := w.Process(ctx, l); err != nil {
				return err
			}
		}
		return w.Close(ctx, fail)
	}
	if err := attempt(errors.New("injected")); err != nil {
		t.Fatal(err)
	}
	if ok, err := filesystem.Exists(ctx, path); err != nil || ok {
		t.Fatalf("after a failed epoch, %s exists = %v, %v; want no file", path, ok, err)
	}
	if err := attempt(nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\nb\n" {
		t.Errorf("%s = %q, %v; want \"a\\nb\\n\"", path, b, err)
	}
	w := &fileWriter{prefix: dir + "/", opts: o}
	if write, err := w.Open(ctx, e); err != nil || write {
		t.Errorf("Open of a written epoch = %v, %v; want false", write, err)
	}
}

// File to file, streaming: lines read as files appear are written in a
// file per pane (a processing-time trigger cuts them); after a drain the
// panes' files hold every input line once.
func TestStreamingFileToFile(t *testing.T) {
	for name, r := range runners {
		t.Run(name, func(t *testing.T) { testStreamingFileToFile(t, r) })
	}
}

func testStreamingFileToFile(t *testing.T, newRunner func(chan struct{}) runner.Runner) {
	dir := t.TempDir()
	var want []string
	for i := range 4 {
		ls := make([]string, 50)
		for j := range ls {
			ls[j] = fmt.Sprintf("file %d line %d", i, j)
		}
		want = append(want, ls...)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in-%d.txt", i)), []byte(strings.Join(ls, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := sdk.NewPipeline()
	s := p.Root()
	lines := Read(s, dir+"/in-*.txt", unboundedOpts())
	text := sdk.Map(s, func(l Line) string { return l.Text }, lines)
	trig := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(50 * time.Millisecond))
	Write(s, text, dir+"/out/", &WriteOptions{Trigger: &trig})
	drain := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(drain) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := newRunner(drain).Run(ctx, p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var got []string
	for name, ls := range readTree(t, dir+"/out") {
		if !strings.HasPrefix(name, "global/pane-") {
			t.Errorf("unexpected file %s", name)
		}
		got = append(got, ls...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines in the panes' files (-want +got):\n%s", diff)
	}
}

func unboundedOpts() unbounded.Options {
	return unbounded.Options{MaxRecords: 20, PollInterval: 10 * time.Millisecond}
}
