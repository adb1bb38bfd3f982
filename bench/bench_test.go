package bench

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
	"github.com/beamgo-dev/beamgo/bench/internal/handcount"
	"github.com/beamgo-dev/beamgo/bench/internal/pipeline"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// textMB is the size of the go test corpus: big enough for several
// bundles, small enough for CI.
const textMB = 4

var inputs struct {
	once    sync.Once
	dir     string
	text    string
	records string
	stats   corpus.RecordStats
	want    map[string]int64
	err     error
}

// setup generates the corpora once per test binary.
func setup(b *testing.B) {
	b.Helper()
	inputs.once.Do(func() {
		dir, err := os.MkdirTemp("", "beamgo-bench-")
		if err != nil {
			inputs.err = err
			return
		}
		inputs.dir = dir
		paths, err := corpus.WriteTextFiles(dir, "text", textMB*1e6, 1, nil)
		if err != nil {
			inputs.err = err
			return
		}
		inputs.text = paths[0]
		inputs.records = filepath.Join(dir, "records.tsv")
		if inputs.stats, err = corpus.WriteRecordFile(inputs.records, &corpus.RecordOptions{Records: 200000, Keys: 50000}); err != nil {
			inputs.err = err
			return
		}
		inputs.want, inputs.err = handcount.Count(paths, 1)
	})
	if inputs.err != nil {
		b.Fatal(inputs.err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if inputs.dir != "" {
		os.RemoveAll(inputs.dir)
	}
	os.Exit(code)
}

func handWritten(b *testing.B) map[string]int64 {
	got, err := handcount.Count([]string{inputs.text}, 2)
	if err != nil {
		b.Fatal(err)
	}
	return got
}

func ours(b *testing.B) map[string]int64 {
	return wordCountOn(b, local.New(&local.Options{Job: local.Job{Parallelism: 2}}))
}

// portableLoopback runs the word count on the portable runner: two SDK
// harness workers (in process, LOOPBACK) fed over gRPC on loopback.
func portableLoopback(b *testing.B) map[string]int64 {
	return wordCountOn(b, portable.New(&portable.Options{Workers: 2, Job: portable.Job{Parallelism: 2}}))
}

func wordCountOn(b *testing.B, r runner.Runner) map[string]int64 {
	p := sdk.NewPipeline()
	c := pipeline.WordCount(p.Root(), inputs.text, pipeline.TextRead)
	if _, err := r.Run(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	return c.Map()
}

// check fails b if counts differ from the single-goroutine count.
func check(b *testing.B, name string, got map[string]int64) {
	b.Helper()
	if diff := cmp.Diff(inputs.want, got); diff != "" {
		b.Fatalf("%s counts (-want +got):\n%s", name, diff)
	}
}

// BenchmarkWordCount measures the hand-written count and our runner's on
// the same corpus, checking both.
func BenchmarkWordCount(b *testing.B) {
	setup(b)
	for _, bm := range []struct {
		name  string
		count func(*testing.B) map[string]int64
	}{{"handwritten", handWritten}, {"local", ours}, {"portable", portableLoopback}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(textMB * 1e6)
			check(b, bm.name, bm.count(b))
			b.ResetTimer()
			for b.Loop() {
				bm.count(b)
			}
		})
	}
}

// BenchmarkWordCountRatio runs the hand-written count and ours alternately
// and reports our wall time as a multiple of the hand-written one
// (x-handwritten; the target is at most 1.5 at 200 MB).
func BenchmarkWordCountRatio(b *testing.B) {
	setup(b)
	check(b, "local", ours(b))
	var hand, local time.Duration
	for b.Loop() {
		start := time.Now()
		handWritten(b)
		hand += time.Since(start)
		start = time.Now()
		ours(b)
		local += time.Since(start)
	}
	b.ReportMetric(local.Seconds()/hand.Seconds(), "x-handwritten")
}

// BenchmarkGroupByKey groups skewed records with shuffle memory an eighth
// of the shuffle data (what a budget of a quarter of it used to give the
// shuffle), and reports the spills.
func BenchmarkGroupByKey(b *testing.B) {
	setup(b)
	st := inputs.stats
	b.SetBytes(st.Bytes)
	spills := 0
	for b.Loop() {
		p := sdk.NewPipeline()
		g := pipeline.GroupByKey(p.Root(), inputs.records, pipeline.TextRead)
		res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, TempDir: inputs.dir}, ShuffleMemory: st.ShuffleBytes / 8}).Run(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		got, _ := g.Stats()
		if want := (pipeline.GroupStats{Groups: st.Groups, Values: st.Records, Digest: st.Digest}); got != want {
			b.Fatalf("GroupByKey stats = %+v, want %+v", got, want)
		}
		spills += res.Spills
	}
	b.ReportMetric(float64(spills)/float64(b.N), "spills/op")
}
