package textio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// TestMaxLineSize reads files with a line over the limit, plain and
// compressed, split and whole, on the local runner: the job fails with a
// RecordTooLargeError naming the file, the line's offset and the limit.
func TestMaxLineSize(t *testing.T) {
	dir := t.TempDir()
	content := "short\n" + strings.Repeat("x", 300) + "\nafter\n"
	tests := []struct {
		name       string
		file       string
		comp       filebased.Compression
		opts       []textio.Option
		wantLimit  int64
		compressed bool
	}{
		{name: "plain file read in many ranges", file: "plain.txt", comp: filebased.Uncompressed, opts: []textio.Option{textio.DesiredBundleSize(50)}},
		{name: "plain file read whole", file: "whole.txt", comp: filebased.Uncompressed, opts: []textio.Option{textio.Unsplittable()}},
		{name: "gzip file", file: "in.txt.gz", comp: filebased.Gzip, compressed: true},
		{name: "zstd file with a header line skipped", file: "in.txt.zst", comp: filebased.Zstd, opts: []textio.Option{textio.SkipHeaderLines(1)}, compressed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			put(t, path, content, tt.comp)
			p := sdk.NewPipeline()
			textio.Read(p.Root(), path, append(tt.opts, textio.MaxLineSize(299))...)
			_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 1}}).Run(context.Background(), p)
			var tooLarge *filebased.RecordTooLargeError
			if !errors.As(err, &tooLarge) {
				t.Fatalf("Run = %v, want a *filebased.RecordTooLargeError", err)
			}
			if tooLarge.Path != path || tooLarge.Offset != 6 || tooLarge.Limit != 299 || tooLarge.Compressed != tt.compressed || tooLarge.Read <= 299 {
				t.Errorf("error %+v, want the path %s, offset 6, limit 299, compressed %v and more than 299 bytes read", tooLarge, path, tt.compressed)
			}
			for _, s := range []string{path, "offset 6", "limit of 299 bytes", "textio.MaxLineSize"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	t.Run("a limit of the line's size reads it", func(t *testing.T) {
		path := filepath.Join(dir, "fits.txt")
		put(t, path, content, filebased.Uncompressed)
		if got := readSource(t, textio.NewSource(path, textio.MaxLineSize(300))); len(got) != 3 {
			t.Errorf("read %d lines, want 3", len(got))
		}
	})
	t.Run("a negative limit is a construction error", func(t *testing.T) {
		p := sdk.NewPipeline()
		textio.Read(p.Root(), "x", textio.MaxLineSize(-1))
		if err := p.Err(); err == nil || !strings.Contains(err.Error(), "MaxLineSize(-1) is negative") {
			t.Errorf("pipeline error %v, want one saying MaxLineSize(-1) is negative", err)
		}
	})
}

// bombEnv names the gzip file that TestDecompressionBomb's child process
// counts the words of.
const bombEnv = "BEAMGO_TEXTIO_BOMB"

// bombBudget is the child's memory budget.
const bombBudget = 128 << 20

// TestDecompressionBomb counts the words of a 0.5 MB gzip file holding one
// 512 MiB line, in a child process (this test binary again) on the local
// runner with a 128 MiB memory budget: the job must fail with a
// RecordTooLargeError, and the child's peak RSS stay within the budget +
// 25%.
func TestDecompressionBomb(t *testing.T) {
	if path := os.Getenv(bombEnv); path != "" {
		countWordsOfBomb(t, path)
		return
	}
	if testing.Short() {
		t.Skip("writes and reads a 512 MiB gzip stream")
	}
	if raceEnabled {
		t.Skip("measures memory, which the race detector's shadow memory doubles outside any budget")
	}
	path := filepath.Join(t.TempDir(), "bomb.txt.gz")
	start := time.Now()
	writeBomb(t, path, 512<<20)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d bytes holding a 512 MiB line, in %v", filepath.Base(path), st.Size(), time.Since(start))

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDecompressionBomb$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), bombEnv+"="+path, "GOMEMLIMIT=off")
	start = time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestDecompressionBomb")) {
		t.Fatalf("child process did not pass:\n%s", out)
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	t.Logf("child: %v, peak RSS %.1f MiB (budget %d MiB)\n%s", time.Since(start), float64(peak)/(1<<20), bombBudget>>20, out)
	if limit := int64(bombBudget + bombBudget/4); peak > limit {
		t.Errorf("peak RSS of the child %d bytes (%.1f MiB), want at most the budget + 25%%, %d bytes", peak, float64(peak)/(1<<20), limit)
	}
}

// writeBomb writes a gzip file: a short line, a line of size bytes, and
// another short line.
func writeBomb(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	z.Write([]byte("first line\n"))
	for written := 0; written < size; written += len(chunk) {
		z.Write(chunk[:min(len(chunk), size-written)])
	}
	z.Write([]byte("\nlast line\n"))
	if err := errors.Join(z.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// countWordsOfBomb is the child of TestDecompressionBomb: a word count of
// path with the default line limit, which must fail naming the long line.
func countWordsOfBomb(t *testing.T, path string) {
	p := sdk.NewPipeline()
	s := p.Root()
	lines := textio.Read(s, path)
	words := sdk.FlatMap(s, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	}, lines)
	counts := sdk.CountElements(s, words)
	textio.Write(s, filepath.Join(filepath.Dir(path), "counts"), sdk.Map(s, func(kv sdk.KV[string, int64]) string {
		return kv.Key + ": " + strconv.FormatInt(kv.Value, 10)
	}, counts))
	_, err := local.New(&local.Options{Job: local.Job{MemoryBudget: bombBudget}}).Run(context.Background(), p)
	var tooLarge *filebased.RecordTooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("Run = %v, want a *filebased.RecordTooLargeError", err)
	}
	want := filebased.RecordTooLargeError{Path: path, Record: "line", Offset: int64(len("first line\n")), Compressed: true,
		Limit: textio.DefaultMaxLineSize, Read: tooLarge.Read, Setting: "textio.MaxLineSize"}
	if *tooLarge != want {
		t.Errorf("error %+v, want %+v", *tooLarge, want)
	}
	fmt.Println("job failed as expected:", err)
}
