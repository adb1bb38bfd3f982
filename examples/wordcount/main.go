// Command wordcount counts the words of a text, as Beam's word count does:
// words are what the regular expression [a-zA-Z]+('[a-z])? matches, and the
// result is one "word: count" line per distinct word.
//
// With no flags it counts the embedded sample (two public-domain Shakespeare
// passages) on the local runner and prints the most frequent words. --input
// reads any file pattern textio understands (local paths, file://, mem://,
// and s3://, gs://, azblob://, whose drivers drivers.go imports; compressed
// files by extension); --output writes sharded "word: count" files
// (prefix-00000-of-00002.txt, ...).
//
//	go run ./examples/wordcount
//	go run ./examples/wordcount --input='books/*.txt' --output=out/counts --top=20
//	go run ./examples/wordcount --plan=dot | dot -Tsvg > plan.svg
//
// --runner picks where it runs, with the flags Beam users know (package
// launch registers them): local (the default), portable (SDK workers over
// the Fn API, started by this process) or universal (submitted to the Beam
// job server at --endpoint, such as Prism or cmd/jobserver).
// --environment_type says where the workers of portable and universal run:
// LOOPBACK, in this process; PROCESS, as this program started again in
// worker mode, which rebuilds the same pipeline from the same flags; or
// EXTERNAL, in the worker pool already running at --environment_config
// (host:port). The most frequent words come back to this process as
// counters (namespace "wordcount.top"), which every runner returns, so
// they print wherever the workers ran.
//
//	go run ./examples/wordcount --runner=portable --environment_type=PROCESS
//	go run ./examples/wordcount --runner=universal --endpoint=localhost:8099 --environment_type=PROCESS
//
// # A worker pool for EXTERNAL
//
// This program is its own worker pool: started with the environment
// variable BEAMGO_WORKER_POOL=host:port (a bare :port means 127.0.0.1) and
// the flags of the submissions it will serve, it builds the same pipeline
// and, where it would run it, serves a worker pool for it at that address
// instead, printing "worker pool listening on <host:port>" to stderr. It
// serves any number of jobs until SIGTERM or SIGINT (Ctrl-C), then stops
// its workers and exits. In one terminal start the pool:
//
//	BEAMGO_WORKER_POOL=127.0.0.1:50000 go run ./examples/wordcount --runner=portable \
//		--environment_type=EXTERNAL --environment_config=127.0.0.1:50000
//
// and once it listens, submit from another:
//
//	go run ./examples/wordcount --runner=portable \
//		--environment_type=EXTERNAL --environment_config=127.0.0.1:50000
//
// or through a job server, which calls the pool (the pool's --runner does
// not matter, as long as it is not local):
//
//	go run ./examples/wordcount --runner=universal --endpoint=localhost:8099 \
//		--environment_type=EXTERNAL --environment_config=127.0.0.1:50000
//
// The user code runs in the pool, so the pool writes the --output files.
package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"slices"

	"github.com/beamgo-dev/beamgo/examples/wordcount/words"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/sdk"
)

//go:embed sample.txt
var sample string

// CountWords adds the word count to s: lines in, word counts out.
func CountWords(s sdk.Scope, lines sdk.PCollection[string]) sdk.PCollection[sdk.KV[string, int64]] {
	s = s.Scope("CountWords")
	words := sdk.FlatMap(s, words.Words, lines, sdk.Name("ExtractWords"))
	return sdk.CountElements(s, words)
}

// Format renders counts as "word: count" lines.
func Format(s sdk.Scope, counts sdk.PCollection[sdk.KV[string, int64]]) sdk.PCollection[string] {
	return sdk.Map(s, func(kv sdk.KV[string, int64]) string {
		return fmt.Sprintf("%s: %d", kv.Key, kv.Value)
	}, counts, sdk.Name("Format"))
}

// TopNamespace is the counter namespace of the most frequent words: one
// counter per word, whose value is the word's count.
const TopNamespace = "wordcount.top"

// WordCount adds the whole job to s: the counts of the words of the files
// matching pattern, written to output if it is set, and the top most
// frequent words reported as counters in TopNamespace.
func WordCount(s sdk.Scope, pattern, output string, top int) {
	counts := CountWords(s, textio.Read(s, pattern))
	if output != "" {
		textio.Write(s, output, Format(s, counts), textio.WithSuffix(".txt"))
	}
	sdk.ForEachFunc(s, reportTop, sdk.Top(s, top, byCount, counts), sdk.Name("ReportTop"))
}

func main() {
	opts := launch.Flags(flag.CommandLine)
	input := flag.String("input", "", "files to count (a glob pattern or URL); default: the embedded sample")
	output := flag.String("output", "", "prefix of the sharded output files of \"word: count\" lines (none: only print)")
	top := flag.Int("top", 10, "how many of the most frequent words to print")
	plan := flag.String("plan", "", "print the planned stages (text or dot) instead of running")
	if err := opts.Parse(flag.CommandLine, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
	if *input == "" {
		*input = writeSample(context.Background())
	}
	p := sdk.NewPipeline()
	WordCount(p.Root(), *input, *output, *top)
	if *plan != "" {
		text, err := runner.Explain(p, runner.Format(*plan), nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(text)
		return
	}
	res, err := launch.Run(context.Background(), p, opts)
	if err != nil {
		log.Fatal(err)
	}
	if res != nil { // nil: this process served as a worker; the submitter prints
		printTop(res)
	}
}

// printTop prints the most frequent words of a run, most frequent first.
func printTop(res *runner.Result) {
	best := topWords(res)
	fmt.Printf("the %d most frequent words", len(best))
	if res.Stages > 0 { // a job server reports no stage or bundle counts
		fmt.Printf(" (%d stages, %d bundles)", res.Stages, res.Bundles)
	}
	fmt.Println(":")
	for _, kv := range best {
		fmt.Printf("%s: %d\n", kv.Key, kv.Value)
	}
}

// byCount orders counts by count, then by word (reversed, so that Top keeps
// alphabetically first words among equal counts).
func byCount(a, b sdk.KV[string, int64]) bool {
	if a.Value != b.Value {
		return a.Value < b.Value
	}
	return a.Key > b.Key
}

// reportTop reports each of the most frequent words as a counter, which
// reaches the submitter through the runner wherever this runs.
func reportTop(ctx context.Context, top []sdk.KV[string, int64]) error {
	for _, kv := range top {
		sdk.NewCounter(TopNamespace, kv.Key).Inc(ctx, kv.Value)
	}
	return nil
}

// topWords reads the most frequent words back from the job's counters,
// most frequent first.
func topWords(res *runner.Result) []sdk.KV[string, int64] {
	var best []sdk.KV[string, int64]
	for _, k := range slices.SortedFunc(maps.Keys(res.Metrics.Counters), func(a, b runner.MetricKey) int { return cmp.Compare(a.Name, b.Name) }) {
		if k.Namespace == TopNamespace {
			best = append(best, sdk.Pair(k.Name, res.Counter(TopNamespace, k.Name)))
		}
	}
	slices.SortStableFunc(best, func(a, b sdk.KV[string, int64]) int { return cmp.Compare(b.Value, a.Value) })
	return best
}

// writeSample puts the embedded sample in an in-memory file and returns
// its URL.
func writeSample(ctx context.Context) string {
	const url = "mem://wordcount/sample.txt"
	w, err := filesystem.NewWriter(ctx, url, nil)
	if err == nil {
		_, err = io.WriteString(w, sample)
		err = errors.Join(err, w.Close())
	}
	if err != nil {
		log.Fatal(err)
	}
	return url
}
