// Command wordcount counts the words of a text, as Beam's word count does:
// words are what the regular expression [a-zA-Z]+('[a-z])? matches, and the
// result is one "word: count" line per distinct word.
//
// With no flags it counts the embedded sample (two public-domain Shakespeare
// passages). The local runner that executes the pipeline is being built
// (issue #3); until it lands, wordcount prints the planned execution: the
// fused stages of the pipeline's Beam protos.
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"beamgo/runner"
	"beamgo/sdk"
)

//go:embed sample.txt
var sample string

// Build adds the word count to s: lines in, "word: count" lines out.
func Build(s sdk.Scope, lines sdk.PCollection[string]) sdk.PCollection[string] {
	s = s.Scope("WordCount")
	words := sdk.FlatMap(s, Words, lines, sdk.Name("ExtractWords"))
	counts := sdk.CountElements(s, words)
	return sdk.Map(s, func(kv sdk.KV[string, int64]) string {
		return fmt.Sprintf("%s: %d", kv.Key, kv.Value)
	}, counts, sdk.Name("Format"))
}

func main() {
	format := flag.String("plan", "text", "how to print the planned execution: text or dot")
	flag.Parse()

	p := sdk.NewPipeline()
	s := p.Root()
	lines := sdk.Create(s, strings.Split(strings.TrimRight(sample, "\n"), "\n"), sdk.Name("ReadSample"))
	Build(s, lines)

	plan, err := runner.Explain(p, runner.Format(*format), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "wordcount: the local runner is not built yet (issue #3); planned execution of the embedded sample:")
	fmt.Print(plan)
}
