// Command beam is the Beam Go SDK's word count (and, with --job=gbk, the
// GroupByKey job, see gbk.go; --job=stream, stream.go; --job=stateful,
// stateful.go), run on Prism in this process: the reference
// the benchmark compares our runners with. It reads
// the files matching --input with Beam's textio, splits lines into words
// with the regular expression [a-zA-Z]+('[a-z])?, counts them with
// stats.Count and keeps the counts in memory (no output files), then prints
// one JSON line with the number of words, distinct words and a digest of the
// counts, in the same format as the other benchmark programs.
//
// It lives in its own module so that the main module does not depend on the
// Beam runtime. Prism keeps all data in memory: give it about 100 MB of RAM
// per MB of input.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/beamgo-dev/beamgo/bench/internal/keyed"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
)

var wordRE = regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)

// extractWords emits the words of a line.
func extractWords(line string, emit func(string)) {
	for _, w := range wordRE.FindAllString(line, -1) {
		emit(w)
	}
}

// The harness runs in this process (loopback), so the counts can be kept in
// a package-level map.
var (
	// mu guards counts.
	mu     sync.Mutex
	counts = map[string]int64{}
)

// keep records the count of one word.
func keep(word string, n int) {
	mu.Lock()
	counts[word] += int64(n)
	mu.Unlock()
}

func init() {
	register.Function2x0(extractWords)
	register.Emitter1[string]()
	register.Function2x0(keep)
}

// summary is the result line every benchmark program prints.
type summary struct {
	Program  string  `json:"program"`
	Words    int64   `json:"words"`
	Distinct int     `json:"distinct"`
	Digest   string  `json:"digest"`
	Seconds  float64 `json:"seconds"`
}

// digest hashes the counts sorted by word, one "word\tcount\n" line each.
func digest(m map[string]int64) (words int64, hash string) {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		keys = append(keys, k)
		words += n
	}
	slices.Sort(keys)
	h := sha256.New()
	var line []byte
	for _, k := range keys {
		line = append(line[:0], k...)
		line = append(line, '\t')
		line = strconv.AppendInt(line, m[k], 10)
		line = append(line, '\n')
		h.Write(line)
	}
	return words, hex.EncodeToString(h.Sum(nil))
}

func main() {
	input := flag.String("input", "", "files to count (a glob pattern)")
	job := flag.String("job", "wordcount", "wordcount; gbk: group \"key\tvalue\" records by key and summarize the groups; stream: the streaming benchmark (stream.go); rate: windowed counts of a paced source (rate.go); stateful: the stateful benchmark (stateful.go)")
	events := flag.Int64("events", 10_000_000, "bids of the stream job")
	early := flag.String("early", "pt", "early panes of the stream job: pt (1 s of processing time) or count (every 5 bids)")
	rate := flag.Float64("rate", 10000, "elements per second of the rate job (rate.go)")
	rateFor := flag.Duration("for", 10*time.Second, "how long the rate job's source runs")
	earlyCount := flag.Int("earlycount", 1000, "early panes of the rate job: every this many elements of a key and window")
	c := keyed.Default
	flag.Int64Var(&c.Events, "stateful_events", c.Events, "events of the stateful job")
	flag.Int64Var(&c.Keys, "stateful_keys", c.Keys, "keys of the stateful job")
	flag.IntVar(&c.Payload, "stateful_payload", c.Payload, "bytes of each bag value of the stateful job (at least 8)")
	flag.Parse()
	if *job == "stateful" {
		beam.Init()
		runStateful(c)
		return
	}
	if *job == "rate" {
		beam.Init()
		runRate(*rate, *rateFor, int32(*earlyCount))
		return
	}
	if *job == "stream" {
		beam.Init()
		runStream(*events, *early)
		return
	}
	if *input == "" {
		log.Fatal("beam: --input is required")
	}
	beam.Init()
	if *job == "gbk" {
		runGBK(*input)
		return
	}
	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	lines := textio.Read(s, *input)
	words := beam.ParDo(s, extractWords, lines)
	beam.ParDo0(s, keep, stats.Count(s, words))
	if _, err := prism.Execute(context.Background(), p); err != nil {
		log.Fatalf("beam: %v", err)
	}
	elapsed := time.Since(start)
	mu.Lock()
	n, d := digest(counts)
	out := summary{Program: "beam-prism", Words: n, Distinct: len(counts), Digest: d, Seconds: elapsed.Seconds()}
	mu.Unlock()
	b, err := json.Marshal(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, string(b))
}
