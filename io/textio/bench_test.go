package textio_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// benchFiles writes a set of text files of about total bytes (lines of
// 20 to 100 bytes) and returns their glob and line count.
func benchFiles(b *testing.B, files int, total int64) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	var lines int64
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%02d.txt", i)))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for n := int64(0); n < total/int64(files); {
			line := loremIpsum[r.IntN(20) : 40+r.IntN(60)]
			w.WriteString(line)
			w.WriteByte('\n')
			n += int64(len(line) + 1)
			lines++
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	return filepath.Join(dir, "part-*.txt"), lines
}

const benchBytes = 64 << 20

var loremIpsum = strings.Repeat("lorem ipsum ", 9)

// BenchmarkReadText reads the file set through the text source on one
// goroutine: match, open, split into lines, claim each line, make a string.
func BenchmarkReadText(b *testing.B) {
	pattern, lines := benchFiles(b, 8, benchBytes)
	ctx := context.Background()
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for range b.N {
		src := textio.NewSource(pattern)
		start, stop := src.DefaultRange()
		var n, size int64
		for line, err := range src.Read(ctx, src.NewRangeTracker(start, stop)) {
			if err != nil {
				b.Fatal(err)
			}
			n++
			size += int64(len(line))
		}
		if n != lines {
			b.Fatalf("read %d lines, want %d", n, lines)
		}
	}
}

// BenchmarkBufioScanner is the baseline: a hand-written reader of the same
// files with bufio.Scanner and a string per line.
func BenchmarkBufioScanner(b *testing.B) {
	pattern, lines := benchFiles(b, 8, benchBytes)
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for range b.N {
		paths, _ := filepath.Glob(pattern)
		var n, size int64
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				n++
				size += int64(len(line))
			}
			f.Close()
		}
		if n != lines {
			b.Fatalf("read %d lines, want %d", n, lines)
		}
	}
}

// BenchmarkReadTextBundles reads the file set as source.Read's bundles
// would be read, on two goroutines: split, then each bundle through its own
// tracker.
func BenchmarkReadTextBundles(b *testing.B) {
	pattern, lines := benchFiles(b, 8, benchBytes)
	ctx := context.Background()
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for range b.N {
		src := textio.NewSource(pattern)
		bundles, err := src.Split(ctx, 4<<20)
		if err != nil {
			b.Fatal(err)
		}
		var n atomic.Int64
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 2 {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < int64(len(bundles)); i = next.Add(1) - 1 {
					bd := bundles[i]
					rt := rangetracker.NewRestrictionTracker(bd.Source.NewRangeTracker(bd.Start, bd.Stop), bd.Weight)
					var c int64
					for _, err := range bd.Source.Read(ctx, rt.RangeTracker()) {
						if err != nil {
							b.Error(err)
							return
						}
						c++
					}
					n.Add(c)
				}
			})
		}
		wg.Wait()
		if n.Load() != lines {
			b.Fatalf("read %d lines, want %d", n.Load(), lines)
		}
	}
}

// BenchmarkBufioScannerTwoGoroutines is the baseline of
// BenchmarkReadTextBundles: bufio.Scanner over whole files on two
// goroutines.
func BenchmarkBufioScannerTwoGoroutines(b *testing.B) {
	pattern, lines := benchFiles(b, 8, benchBytes)
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for range b.N {
		paths, _ := filepath.Glob(pattern)
		var n atomic.Int64
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 2 {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < int64(len(paths)); i = next.Add(1) - 1 {
					f, err := os.Open(paths[i])
					if err != nil {
						b.Error(err)
						return
					}
					sc := bufio.NewScanner(f)
					sc.Buffer(make([]byte, 1<<20), 1<<20)
					var c int64
					for sc.Scan() {
						_ = sc.Text()
						c++
					}
					f.Close()
					n.Add(c)
				}
			})
		}
		wg.Wait()
		if n.Load() != lines {
			b.Fatalf("read %d lines, want %d", n.Load(), lines)
		}
	}
}

// BenchmarkReadTextPipeline runs textio.Read and a count on the local
// runner with two workers.
func BenchmarkReadTextPipeline(b *testing.B) {
	pattern, lines := benchFiles(b, 8, benchBytes)
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for range b.N {
		p := sdk.NewPipeline()
		s := p.Root()
		var n atomic.Int64
		sdk.ParDo(s, sdk.DoFn[string, int](countFn{&n}), textio.Read(s, pattern))
		if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		if n.Load() != lines {
			b.Fatalf("read %d lines, want %d", n.Load(), lines)
		}
	}
}

type countFn struct{ n *atomic.Int64 }

func (f countFn) ProcessElement(_ context.Context, _ string, _ func(int)) error {
	f.n.Add(1)
	return nil
}

// BenchmarkReadGzip reads one gzip file of the same lines.
func BenchmarkReadGzip(b *testing.B) {
	pattern, lines := benchFiles(b, 1, 16<<20)
	paths, _ := filepath.Glob(pattern)
	data, err := os.ReadFile(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	gz := paths[0] + ".gz"
	put(b, gz, string(data), filebased.Gzip)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		src := textio.NewSource(gz)
		start, stop := src.DefaultRange()
		var n int64
		for _, err := range src.Read(ctx, src.NewRangeTracker(start, stop)) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != lines {
			b.Fatalf("read %d lines, want %d", n, lines)
		}
	}
}

// burnFn spends about the same CPU time on every line, so that reading
// time follows the bytes read.
type burnFn struct{ n *atomic.Int64 }

func (f burnFn) ProcessElement(_ context.Context, line string, _ func(int)) error {
	h := uint32(2166136261)
	for range 20 {
		for i := 0; i < len(line); i++ {
			h = (h ^ uint32(line[i])) * 16777619
		}
	}
	if h == 0 {
		f.n.Add(0)
	}
	f.n.Add(1)
	return nil
}

// skewedFiles writes one large file and many small ones.
func skewedFiles(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	var lines int64
	for i, size := range append([]int64{24 << 20}, slices.Repeat([]int64{256 << 10}, 16)...) {
		var sb strings.Builder
		for int64(sb.Len()) < size {
			sb.WriteString(loremIpsum[r.IntN(20) : 40+r.IntN(60)])
			sb.WriteByte('\n')
			lines++
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%02d.txt", i)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return filepath.Join(dir, "part-*.txt"), lines
}

// BenchmarkSkewedRead reads one large file among many small ones, each
// file one initial bundle, on two workers: with dynamic splitting the
// runner splits the large file while it is read, without it one worker
// reads it alone.
func BenchmarkSkewedRead(b *testing.B) {
	pattern, lines := skewedFiles(b)
	for _, c := range []struct {
		workers int
		split   bool
	}{{1, false}, {2, false}, {2, true}} {
		split := c.split
		b.Run(fmt.Sprintf("workers %d dynamic splitting %v", c.workers, split), func(b *testing.B) {
			var splits int
			for range b.N {
				p := sdk.NewPipeline()
				s := p.Root()
				var n atomic.Int64
				sdk.ParDo(s, sdk.DoFn[string, int](burnFn{&n}), textio.Read(s, pattern, textio.DesiredBundleSize(1<<30)))
				res, err := local.New(&local.Options{Job: local.Job{Parallelism: c.workers, DisableDynamicSplitting: !split}}).Run(context.Background(), p)
				if err != nil {
					b.Fatal(err)
				}
				if n.Load() != lines {
					b.Fatalf("read %d lines, want %d", n.Load(), lines)
				}
				splits += res.Splits
			}
			b.ReportMetric(float64(splits)/float64(b.N), "splits/op")
		})
	}
}
