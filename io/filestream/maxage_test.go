package filestream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/filestream"
	"github.com/beamgo-dev/beamgo/testutil"
)

// base is the modification time the files of these tests count from.
var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// writeAt writes lines to dir/name with modification time base+at.
func writeAt(t *testing.T, dir, name string, at time.Duration, lines ...string) {
	t.Helper()
	path := filepath.Join(dir, name)
	data := ""
	for _, l := range lines {
		data += l + "\n"
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, base.Add(at), base.Add(at)); err != nil {
		t.Fatal(err)
	}
}

// readAll reads src from mark until no file is left, returning the lines'
// texts and the final mark, after a JSON round trip as the runner makes.
func readAll(t *testing.T, src filestream.Source, mark *filestream.Mark) ([]string, filestream.Mark) {
	t.Helper()
	ctx := context.Background()
	parts, err := src.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.Open(ctx, parts[0], mark)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		rec, ok, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, rec.Value.Text)
	}
	b, err := json.Marshal(r.Mark())
	if err != nil {
		t.Fatal(err)
	}
	var m filestream.Mark
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return got, m
}

// With MaxFileAge, files older than the newest file started minus the
// age are skipped, files within it are read even when late, and marks
// keep only the files within it.
func TestMaxFileAgeSkipsOldFilesAndBoundsMarks(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 10 {
		name := fmt.Sprintf("f%d.txt", i)
		writeAt(t, dir, name, time.Duration(i)*time.Hour, name)
		want = append(want, name)
	}
	src := filestream.Source{Pattern: dir + "/*.txt", MaxFileAge: 150 * time.Minute}
	got, mark := readAll(t, src, nil)
	// Read oldest first, each file is newer than the one before: all read.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first read (-want +got):\n%s", diff)
	}
	// The newest is f9 at 9h: f7 (7h) and newer are within 2h30m.
	if diff := cmp.Diff([]string{"f7.txt", "f8.txt", "f9.txt"}, baseNames(mark.Done)); diff != "" {
		t.Errorf("mark's files (-want +got):\n%s", diff)
	}
	if !mark.Latest.Equal(base.Add(9 * time.Hour)) {
		t.Errorf("mark's Latest %v, want %v", mark.Latest, base.Add(9*time.Hour))
	}
	writeAt(t, dir, "old.txt", 5*time.Hour, "old.txt")
	writeAt(t, dir, "late.txt", 8*time.Hour, "late.txt")
	got, mark = readAll(t, src, &mark)
	if diff := cmp.Diff([]string{"late.txt"}, got); diff != "" {
		t.Errorf("after resuming (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"f7.txt", "f8.txt", "f9.txt", "late.txt"}, baseNames(mark.Done)); diff != "" {
		t.Errorf("mark's files after resuming (-want +got):\n%s", diff)
	}
	// Without MaxFileAge the same mark reads every file it does not list.
	got, _ = readAll(t, filestream.Source{Pattern: dir + "/*.txt"}, &mark)
	if diff := cmp.Diff([]string{"f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt", "f5.txt", "old.txt", "f6.txt"}, got); diff != "" {
		t.Errorf("without MaxFileAge (-want +got):\n%s", diff)
	}
}

// A mark written before DoneTimes existed resumes: its files are not read
// again, and once a listing has given their times they are forgotten
// like the others.
func TestMaxFileAgeResumesAnOlderMark(t *testing.T) {
	dir := t.TempDir()
	writeAt(t, dir, "a.txt", 0, "a.txt")
	writeAt(t, dir, "b.txt", time.Hour, "b.txt")
	writeAt(t, dir, "c.txt", 5*time.Hour, "c.txt")
	old := filestream.Mark{Done: []string{filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")}}
	src := filestream.Source{Pattern: dir + "/*.txt", MaxFileAge: 2 * time.Hour}
	got, mark := readAll(t, src, &old)
	if diff := cmp.Diff([]string{"c.txt"}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c.txt"}, baseNames(mark.Done)); diff != "" {
		t.Errorf("mark's files (-want +got):\n%s", diff)
	}
	if len(mark.DoneTimes) != len(mark.Done) || mark.DoneTimes[0] != base.Add(5*time.Hour).UnixNano() {
		t.Errorf("mark's times %v, want c.txt's", mark.DoneTimes)
	}
}

// Resuming at every mark reads what the reference read, with MaxFileAge.
func TestMaxFileAgeResumesAtEveryMark(t *testing.T) {
	dir := t.TempDir()
	for i := range 6 {
		name := fmt.Sprintf("f%d.txt", i)
		writeAt(t, dir, name, time.Duration(i)*time.Hour, lines(name, 3)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := filestream.Source{Pattern: dir + "/*.txt", MaxFileAge: 90 * time.Minute}
	stats, err := testutil.CheckUnboundedCheckpoints[filestream.Line](ctx, src, 18, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Records != 18 {
		t.Errorf("stats %+v, want 18 records", stats)
	}
}

// A negative MaxFileAge is refused, naming the pattern.
func TestMaxFileAgeNegativeIsRefused(t *testing.T) {
	src := filestream.Source{Pattern: "x/*.txt", MaxFileAge: -time.Second}
	_, err := src.Open(context.Background(), filestream.Partition{Pattern: "x/*.txt"}, nil)
	if err == nil || !strings.Contains(err.Error(), "x/*.txt") {
		t.Errorf("Open: %v, want an error naming the pattern", err)
	}
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
