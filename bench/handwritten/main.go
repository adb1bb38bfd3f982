// Command handwritten is the hand-written word count: the practical limit
// our runner is measured against. It counts the words of the files matching
// -input with -workers goroutines (package handcount) and prints a JSON
// summary with a digest of the counts.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/handcount"
	"github.com/beamgo-dev/beamgo/bench/internal/summary"
)

func main() {
	input := flag.String("input", "", "files to count (a glob pattern)")
	workers := flag.Int("workers", 2, "goroutines counting byte ranges")
	flag.Parse()
	log.SetFlags(0)
	paths, err := filepath.Glob(*input)
	if err != nil || len(paths) == 0 {
		log.Fatalf("handwritten: -input %q matches no file (%v)", *input, err)
	}
	start := time.Now()
	counts, err := handcount.Count(paths, *workers)
	if err != nil {
		log.Fatal(err)
	}
	s := summary.WordCount("handwritten", counts)
	s.Seconds = time.Since(start).Seconds()
	if err := s.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
}
