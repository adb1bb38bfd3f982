package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeFile writes a CSV file into dir the way the program asks: under a
// temporary name, then renamed.
func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// collector gathers the readings of a run.
type collector struct {
	// mu guards the fields below.
	mu       sync.Mutex
	readings []Reading
}

func (c *collector) add(r Reading) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readings = append(c.readings, r)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.readings)
}

// Files added while the job runs are picked up by later polls; every row
// of every file arrives exactly once, and a row that was there before the
// job started arrives too.
func TestFilesAddedWhileRunningArriveOnce(t *testing.T) {
	dir := t.TempDir()
	const files, rowsPerFile = 6, 50
	body := func(f int) string {
		var b strings.Builder
		b.WriteString("station,celsius\n")
		for r := range rowsPerFile {
			fmt.Fprintf(&b, "s%d-%d,%d.25\n", f, r, r)
		}
		return b.String()
	}
	writeFile(t, dir, "f0.csv", body(0))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	drain := make(chan struct{})
	var got collector
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Job{Dir: dir, Every: 100 * time.Millisecond, Drain: drain, Out: got.add}) }()
	for f := 1; f < files; f++ {
		time.Sleep(150 * time.Millisecond)
		writeFile(t, dir, fmt.Sprintf("f%d.csv", f), body(f))
	}
	// Let the last files arrive, then drain; a duplicate arriving late
	// is still counted, since Run returns only after the drain.
	for deadline := time.Now().Add(time.Minute); got.len() < files*rowsPerFile && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	close(drain)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	seen := map[string]int{}
	batches := map[int64]bool{}
	for _, r := range got.readings {
		seen[r.Station]++
		batches[r.Batch] = true
		if want := float64(r.Line-2) + 0.25; r.Celsius != want {
			t.Errorf("%s line %d: celsius %v, want %v", r.File, r.Line, r.Celsius, want)
		}
	}
	for f := range files {
		for r := range rowsPerFile {
			if n := seen[fmt.Sprintf("s%d-%d", f, r)]; n != 1 {
				t.Errorf("row %d of file %d arrived %d times, want once", r, f, n)
			}
		}
	}
	if len(got.readings) != files*rowsPerFile {
		t.Errorf("%d readings, want %d", len(got.readings), files*rowsPerFile)
	}
	if len(batches) < 2 {
		t.Errorf("all files came in %d batch(es): the later files were not picked up by later polls", len(batches))
	}
}

// A malformed row fails the job with an error naming its file and line.
func TestMalformedRowNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.csv", "station,celsius\noslo,3\nlima,warm\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Run(ctx, Job{Dir: dir, Every: 50 * time.Millisecond, Drain: make(chan struct{}), Out: func(Reading) {}})
	if err == nil || !strings.Contains(err.Error(), "bad.csv line 3") {
		t.Errorf("Run = %v, want an error naming bad.csv line 3", err)
	}
}

// A directory that does not exist fails the job at once.
func TestMissingDirectoryFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "nope")
	err := Run(ctx, Job{Dir: dir, Every: 50 * time.Millisecond, Drain: make(chan struct{}), Out: func(Reading) {}})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Run = %v, want an error naming the directory", err)
	}
}

// A batch asked again (a retried bundle) gets the same files as the first
// time, not the files that appeared since; those go to the next batch.
func TestBatchAskedAgainIsTheSame(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := NewDirExtractor(dir)
	writeFile(t, dir, "a.csv", "oslo,1\n")
	first, err := d.Next(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "b.csv", "lima,2\n")
	again, err := d.Next(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	next, err := d.Next(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	files := func(rows []Row) (fs []string) {
		for _, r := range rows {
			fs = append(fs, r.File)
		}
		return fs
	}
	if got := fmt.Sprint(files(first), files(again), files(next)); got != "[a.csv] [a.csv] [b.csv]" {
		t.Errorf("files of batches 0, 0 again, 1 = %s, want [a.csv] [a.csv] [b.csv]", got)
	}
}
