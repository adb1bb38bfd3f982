package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// The GroupByKey job: the same as the main module's bench GroupByKey job
// (bench/internal/pipeline.GroupByKey), whose digest functions are
// repeated here because this module cannot import the main module's
// internal packages.

// parseRecord splits a "key\tvalue" line.
func parseRecord(line string) (string, string) {
	k, v, _ := strings.Cut(line, "\t")
	return k, v
}

var (
	// gmu guards the group totals.
	gmu                     sync.Mutex
	groups, values, gdigest uint64
)

// summarize adds one group's contribution to the totals.
func summarize(key string, vs func(*string) bool) {
	var n, sum uint64
	var v string
	for vs(&v) {
		n++
		sum += valueHash(v)
	}
	g := groupHash(key, n, sum)
	gmu.Lock()
	groups++
	values += n
	gdigest += g
	gmu.Unlock()
}

func init() {
	register.Function1x2(parseRecord)
	register.Function2x0(summarize)
	register.Iter1[string]()
}

// valueHash is FNV-1a, as corpus.ValueHash.
func valueHash(v string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(v); i++ {
		h ^= uint64(v[i])
		h *= 1099511628211
	}
	return h
}

// groupHash is corpus.GroupHash.
func groupHash(key string, count, valueHashSum uint64) uint64 {
	return mix(valueHash(key) ^ mix(count^mix(valueHashSum)))
}

// mix is SplitMix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// gbkSummary is the result line of the GroupByKey job, in the fields the
// other programs use.
type gbkSummary struct {
	Program     string  `json:"program"`
	Groups      uint64  `json:"groups"`
	Values      uint64  `json:"values"`
	GroupDigest uint64  `json:"group_digest"`
	Seconds     float64 `json:"seconds"`
}

func runGBK(input string) {
	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	kvs := beam.ParDo(s, parseRecord, textio.Read(s, input))
	beam.ParDo0(s, summarize, beam.GroupByKey(s, kvs))
	if _, err := prism.Execute(context.Background(), p); err != nil {
		log.Fatalf("beam: %v", err)
	}
	gmu.Lock()
	out := gbkSummary{Program: "beam-prism", Groups: groups, Values: values, GroupDigest: gdigest, Seconds: time.Since(start).Seconds()}
	gmu.Unlock()
	b, err := json.Marshal(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, string(b))
}
