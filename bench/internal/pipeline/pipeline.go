// Package pipeline builds the benchmark jobs for our runner: the word count
// and the GroupByKey-heavy job. Their results stay in memory (no output
// files) so that the programs and the go test benchmarks can check them
// against the hand-written count and the generator's digest.
package pipeline

import (
	"context"
	"maps"
	"strings"
	"sync"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
	"github.com/beamgo-dev/beamgo/bench/internal/linecount"
	"github.com/beamgo-dev/beamgo/examples/wordcount/words"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/sdk"
)

// ReadFunc returns the lines of the files that pattern matches, without
// line ends. It is the one step to swap to read the input differently.
type ReadFunc func(s sdk.Scope, pattern string) sdk.PCollection[string]

// TextRead reads with io/textio: files split into byte ranges read in
// parallel and split further while running.
func TextRead(s sdk.Scope, pattern string) sdk.PCollection[string] {
	return textio.Read(s, pattern)
}

// Counts holds a word count's result after the job has run. It is safe
// for concurrent use.
type Counts struct {
	// mu guards m.
	mu sync.Mutex
	m  map[string]int64
}

// Map returns the counts by word.
func (c *Counts) Map() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// keepCount stores each word's count. A retried bundle stores the same
// count again, so retries cannot inflate the result.
type keepCount struct{ c *Counts }

func (f keepCount) ProcessElement(_ context.Context, kv sdk.KV[string, int64]) error {
	f.c.mu.Lock()
	f.c.m[kv.Key] = kv.Value
	f.c.mu.Unlock()
	return nil
}

// WordCount adds the word count of the files that pattern matches to s, as
// examples/wordcount counts (words.Words, then sdk.CountElements), and
// returns where the counts will be.
func WordCount(s sdk.Scope, pattern string, read ReadFunc) *Counts {
	return WordCountBy(s, pattern, read, words.Words)
}

// WordCountBy is WordCount with the words that split finds in each line.
func WordCountBy(s sdk.Scope, pattern string, read ReadFunc, split func(line string, emit func(string))) *Counts {
	c := &Counts{m: map[string]int64{}}
	lines := read(s, pattern)
	ws := sdk.FlatMap(s, split, lines, sdk.Name("ExtractWords"))
	counts := sdk.CountElements(s, ws)
	sdk.ForEach(s, keepCount{c}, counts, sdk.Name("Keep"))
	return c
}

// isAnchorWord marks the bytes of a word by the rule of the hand-written
// word count in ../shared/anchors (cmd/handwc): A-Z, a-z and the
// apostrophe.
var isAnchorWord = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	t['\''] = true
	return t
}()

// AnchorWords emits the words of line by the hand-written word count's
// rule: maximal runs of [A-Za-z'] (examples/wordcount's words.Words takes
// an apostrophe only inside a word, before a lower-case letter). Counting
// by it, our word count's output equals the anchor's.
func AnchorWords(line string, emit func(string)) {
	i, n := 0, len(line)
	for i < n {
		for i < n && !isAnchorWord[line[i]] {
			i++
		}
		j := i
		for j < n && isAnchorWord[line[j]] {
			j++
		}
		if j > i {
			emit(line[i:j])
		}
		i = j
	}
}

// GroupStats summarize the output of a GroupByKey: the number of groups,
// of values, and the sum of corpus.GroupHash over the groups.
type GroupStats struct {
	Groups, Values int64
	Digest         uint64
}

// Groups holds a GroupByKey job's result after it has run. It is safe for
// concurrent use.
type Groups struct {
	// mu guards the fields below.
	mu    sync.Mutex
	stats GroupStats
	set   bool
}

// Stats returns the job's GroupStats, and false if the job produced none.
func (g *Groups) Stats() (GroupStats, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats, g.set
}

type keepStats struct{ g *Groups }

func (f keepStats) ProcessElement(_ context.Context, st GroupStats) error {
	f.g.mu.Lock()
	f.g.stats, f.g.set = st, true
	f.g.mu.Unlock()
	return nil
}

// sumStats adds GroupStats.
type sumStats struct{}

func (sumStats) CreateAccumulator() GroupStats { return GroupStats{} }
func (sumStats) AddInput(a, v GroupStats) GroupStats {
	return GroupStats{a.Groups + v.Groups, a.Values + v.Values, a.Digest + v.Digest}
}
func (f sumStats) MergeAccumulators(a, b GroupStats) GroupStats { return f.AddInput(a, b) }
func (sumStats) ExtractOutput(a GroupStats) GroupStats          { return a }

// GroupByKey adds a GroupByKey-heavy job to s: it reads "key\tvalue"
// records (corpus.WriteRecords), groups them by key, and summarizes every
// group by iterating its values. The summary must equal the generator's
// RecordStats.
func GroupByKey(s sdk.Scope, pattern string, read ReadFunc) *Groups {
	g := &Groups{}
	sdk.ForEach(s, keepStats{g}, groupStats(s, pattern, read), sdk.Name("Keep"))
	return g
}

// groupStats is the GroupByKey job up to its one GroupStats.
func groupStats(s sdk.Scope, pattern string, read ReadFunc) sdk.PCollection[GroupStats] {
	lines := read(s, pattern)
	kvs := sdk.MapKV(s, func(l string) (string, string) {
		k, v, _ := strings.Cut(l, "\t")
		return k, v
	}, lines, sdk.Name("ParseRecord"))
	groups := sdk.GroupByKey(s, kvs)
	stats := sdk.Map(s, func(gr sdk.Group[string, string]) GroupStats {
		var n, sum uint64
		for v := range gr.Values {
			n++
			sum += corpus.ValueHash(v)
		}
		return GroupStats{Groups: 1, Values: int64(n), Digest: corpus.GroupHash(gr.Key, n, sum)}
	}, groups, sdk.Name("Summarize"))
	return sdk.CombineGlobally(s, sdk.CombineFn[GroupStats, GroupStats, GroupStats](sumStats{}), stats, sdk.Name("Total"))
}

// Lines holds a line count's result after the job has run. It is safe for
// concurrent use.
type Lines struct {
	// mu guards the fields below.
	mu    sync.Mutex
	stats linecount.Stats
	set   bool
}

// Stats returns the job's line statistics, and false if the job produced
// none.
func (l *Lines) Stats() (linecount.Stats, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats, l.set
}

type keepLines struct{ l *Lines }

func (f keepLines) ProcessElement(_ context.Context, st linecount.Stats) error {
	f.l.mu.Lock()
	f.l.stats, f.l.set = st, true
	f.l.mu.Unlock()
	return nil
}

// sumLines combines lines into linecount.Stats.
type sumLines struct{}

func (sumLines) CreateAccumulator() linecount.Stats { return linecount.Stats{} }
func (sumLines) AddInput(a linecount.Stats, line string) linecount.Stats {
	a.AddString(line)
	return a
}
func (sumLines) MergeAccumulators(a, b linecount.Stats) linecount.Stats {
	a.Merge(b)
	return a
}
func (sumLines) ExtractOutput(a linecount.Stats) linecount.Stats { return a }

// LineCount adds to s a job that reads the files that pattern matches and
// summarizes their lines (linecount.Stats): the read benchmark, whose
// result must equal linecount.Count's.
func LineCount(s sdk.Scope, pattern string, read ReadFunc) *Lines {
	l := &Lines{}
	lines := read(s, pattern)
	total := sdk.CombineGlobally(s, sdk.CombineFn[string, linecount.Stats, linecount.Stats](sumLines{}), lines, sdk.Name("Summarize"))
	sdk.ForEach(s, keepLines{l}, total, sdk.Name("Keep"))
	return l
}
