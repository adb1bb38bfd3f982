// Command corpus writes the deterministic benchmark inputs and prints what
// it wrote as one JSON line.
//
//	corpus -kind=text -size=200 -dir=/tmp/c -name=text      # 200 MB of text in /tmp/c/text.txt
//	corpus -kind=text -size=200 -files=8 -dir=/tmp/c        # in 8 files
//	corpus -kind=records -records=10000000 -out=/tmp/c/r.tsv # GroupByKey records
//
// For records, the JSON line is the generator's corpus.RecordStats: what a
// correct GroupByKey of the records must reproduce.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
)

func main() {
	kind := flag.String("kind", "text", "what to write: text or records")
	seed := flag.Uint64("seed", 1, "seed of the generator")
	size := flag.Float64("size", 20, "text: megabytes (10^6 bytes) to write")
	files := flag.Int("files", 1, "text: number of files")
	dir := flag.String("dir", ".", "text: directory to write to")
	name := flag.String("name", "text", "text: file name prefix")
	vocab := flag.Int("vocabulary", 0, "text: distinct base words (default 100000)")
	records := flag.Int64("records", 10_000_000, "records: number of records")
	keys := flag.Int("keys", 1_000_000, "records: size of the key space")
	out := flag.String("out", "records.tsv", "records: file to write")
	flag.Parse()
	log.SetFlags(0)

	var result any
	switch *kind {
	case "text":
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			log.Fatal(err)
		}
		paths, err := corpus.WriteTextFiles(*dir, *name, int64(*size*1e6), *files, &corpus.TextOptions{Seed: *seed, Vocabulary: *vocab})
		if err != nil {
			log.Fatal(err)
		}
		var total int64
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				log.Fatal(err)
			}
			total += fi.Size()
		}
		result = struct {
			Paths []string `json:"paths"`
			Bytes int64    `json:"bytes"`
		}{paths, total}
	case "records":
		st, err := corpus.WriteRecordFile(*out, &corpus.RecordOptions{Seed: *seed, Records: *records, Keys: *keys})
		if err != nil {
			log.Fatal(err)
		}
		result = st
	default:
		log.Fatalf("corpus: unknown -kind %q (want text or records)", *kind)
	}
	b, err := json.Marshal(result)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
}
