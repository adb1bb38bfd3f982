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
// --runner picks where it runs, with the flags Beam users know: local (the
// default), portable (SDK workers over the Fn API, started by this
// process) or universal (submitted to the Beam job server at --endpoint,
// such as Prism or cmd/jobserver). --environment_type says where the
// workers of portable and universal run: LOOPBACK, in this process;
// PROCESS, as this program started again in worker mode (fnapi/worker),
// which rebuilds the same pipeline from the same flags; or EXTERNAL, in
// the worker pool already running at --environment_config (host:port).
// PROCESS workers hand the most frequent words back through a file
// (--top_file, set for them).
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
//		--environment_type=EXTERNAL --environment_config=127.0.0.1:50000 --top_file=/tmp/top.json
//
// and once it listens, submit from another:
//
//	go run ./examples/wordcount --runner=portable \
//		--environment_type=EXTERNAL --environment_config=127.0.0.1:50000 --top_file=/tmp/top.json
//
// or through a job server, which calls the pool (the pool's --runner does
// not matter, as long as it is not local):
//
//	go run ./examples/wordcount --runner=universal --endpoint=localhost:8099 \
//		--environment_type=EXTERNAL --environment_config=127.0.0.1:50000 --top_file=/tmp/top.json
//
// The user code runs in the pool, so the pool writes the --output files
// and the most frequent words: EXTERNAL needs --top_file, a file both the
// pool and the submitter reach, to print them.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"sync"

	"beamgo/examples/wordcount/words"
	"beamgo/fnapi/worker"
	"beamgo/io/filesystem"
	"beamgo/io/textio"
	"beamgo/runner"
	"beamgo/runner/local"
	"beamgo/runner/portable"
	"beamgo/runner/universal"
	"beamgo/sdk"
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

func main() {
	input := flag.String("input", "", "files to count (a glob pattern or URL); default: the embedded sample")
	output := flag.String("output", "", "prefix of the sharded output files of \"word: count\" lines (none: only print)")
	top := flag.Int("top", 10, "how many of the most frequent words to print")
	runnerName := flag.String("runner", "local", "runner: local, portable (Fn API workers) or universal (the Beam job server at --endpoint)")
	endpoint := flag.String("endpoint", "", "job server address (host:port) for --runner=universal")
	tokenFile := flag.String("auth_token_file", "", "for --runner=universal: file holding the job server's authentication token")
	envType := flag.String("environment_type", "LOOPBACK", "where portable and universal workers run: LOOPBACK (in this process), PROCESS (this program, started again) or EXTERNAL (the worker pool at --environment_config)")
	envConfig := flag.String("environment_config", "", "for --environment_type=EXTERNAL: the worker pool's host:port (start one with BEAMGO_WORKER_POOL=host:port and the same flags)")
	topFile := flag.String("top_file", "", "also write the most frequent words to this file (as JSON); PROCESS and EXTERNAL workers hand them back through it")
	parallelism := flag.Int("parallelism", 0, "bundles run at once (default: number of CPUs; portable: 2 per worker)")
	progress := flag.Bool("progress", isTerminal(os.Stderr), "show progress on stderr")
	plan := flag.String("plan", "", "print the planned stages (text or dot) instead of running")
	flag.Parse()
	if worker.PoolActive() && *runnerName == "local" {
		log.Fatalf("wordcount: %s is set, but --runner=local has no workers: start a pool with the flags of the portable or universal submissions it serves", worker.PoolVar)
	}
	if *runnerName != "local" && strings.EqualFold(*envType, "EXTERNAL") {
		if *topFile == "" {
			log.Fatal("wordcount: --environment_type=EXTERNAL needs --top_file, a file where the worker pool writes the most frequent words for the submitter to read")
		}
		if *envConfig == "" && !worker.PoolActive() {
			log.Fatalf("wordcount: --environment_type=EXTERNAL needs --environment_config=HOST:PORT, the worker pool's address (start one with %s=HOST:PORT and the same flags)", worker.PoolVar)
		}
	}

	pattern := *input
	if pattern == "" {
		var err error
		if pattern, err = writeSample(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	p := sdk.NewPipeline()
	s := p.Root()
	counts := CountWords(s, textio.Read(s, pattern))
	if *output != "" {
		textio.Write(s, *output, Format(s, counts), textio.WithSuffix(".txt"))
	}
	best := sdk.Top(s, *top, byCount, counts)
	var mu sync.Mutex
	var result []sdk.KV[string, int64]
	// Workers get the top words file on their command line: it is part of
	// the pipeline they rebuild.
	var workerArgs []string
	if *runnerName != "local" && strings.EqualFold(*envType, "PROCESS") && *topFile == "" {
		f, err := os.CreateTemp("", "wordcount-top-*.json")
		if err != nil {
			log.Fatal(err)
		}
		f.Close()
		defer os.Remove(f.Name())
		*topFile = f.Name()
		workerArgs = append(slices.Clone(os.Args[1:]), "--top_file="+f.Name())
	}
	sdk.ParDo(s, sdk.DoFn[[]sdk.KV[string, int64], int](printFn{File: *topFile, mu: &mu, out: &result}), best, sdk.Name("Keep"))

	if *plan != "" {
		text, err := runner.Explain(p, runner.Format(*plan), nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(text)
		return
	}
	var r runner.Runner
	switch *runnerName {
	case "local":
		opts := &local.Options{Parallelism: *parallelism}
		if *progress {
			opts.Progress = func(p local.Progress) {
				fmt.Fprintf(os.Stderr, "\rstages %d/%d, %d elements, %.0f/s   ", p.StagesDone, p.Stages, p.Elements, float64(p.Elements)/p.Elapsed.Seconds())
			}
		}
		r = local.New(opts)
	case "portable":
		r = portable.New(&portable.Options{
			Parallelism: *parallelism, EnvironmentType: *envType, ExternalEndpoint: *envConfig,
			Process: &portable.ProcessOptions{Args: workerArgs},
		})
	case "universal":
		var token string
		if *tokenFile != "" {
			b, err := os.ReadFile(*tokenFile)
			if err != nil {
				log.Fatalf("wordcount: --auth_token_file: %v", err)
			}
			token = strings.TrimSpace(string(b))
		}
		r = universal.New(&universal.Options{Endpoint: *endpoint, EnvironmentType: *envType, ExternalEndpoint: *envConfig, WorkerArgs: workerArgs, AuthToken: token})
	default:
		log.Fatalf("wordcount: unknown runner %q (have: local, portable, universal)", *runnerName)
	}
	// In a PROCESS worker, Run serves the pipeline and exits; in a worker
	// pool, it serves a pool for the pipeline until SIGTERM or SIGINT, and
	// exits.
	res, err := r.Run(context.Background(), p)
	if *progress && *runnerName == "local" {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		log.Fatal(err)
	}
	if len(result) == 0 && *topFile != "" {
		if result, err = readTop(*topFile); err != nil {
			log.Fatal(err)
		}
	}
	if *runnerName == "universal" {
		// A job server reports no stage or bundle counts.
		fmt.Printf("the %d most frequent words:\n", len(result))
	} else {
		fmt.Printf("the %d most frequent words (%d stages, %d bundles):\n", len(result), res.Stages, res.Bundles)
	}
	for _, kv := range result {
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

// printFn keeps the top words in process for printing, and writes them to
// File if it is set: a worker process hands them back that way.
type printFn struct {
	File string
	mu   *sync.Mutex
	out  *[]sdk.KV[string, int64]
}

func (f printFn) ProcessElement(_ context.Context, top []sdk.KV[string, int64], _ func(int)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.out = slices.Clone(top)
	if f.File == "" {
		return nil
	}
	b, err := json.Marshal(top)
	if err != nil {
		return err
	}
	return os.WriteFile(f.File, b, 0o644)
}

// readTop reads the top words a worker wrote to file.
func readTop(file string) ([]sdk.KV[string, int64], error) {
	b, err := os.ReadFile(file)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	var top []sdk.KV[string, int64]
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("wordcount: top words in %s: %w", file, err)
	}
	return top, nil
}

// writeSample puts the embedded sample in an in-memory file and returns its URL.
func writeSample(ctx context.Context) (string, error) {
	const url = "mem://wordcount/sample.txt"
	w, err := filesystem.NewWriter(ctx, url, nil)
	if err != nil {
		return "", err
	}
	if _, err := io.WriteString(w, sample); err != nil {
		w.Close()
		return "", err
	}
	return url, w.Close()
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
