package source_test

import (
	"context"
	"fmt"
	"log"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// This example reads a CountingSource, a Bounded source, and sums what it
// read on the local runner.
func ExampleRead() {
	p := sdk.NewPipeline()
	s := p.Root()
	numbers := source.Read[int64, int64](s, source.CountingSource{From: 1, To: 101})
	total := runnertest.Collect(s, sdk.Sum(s, numbers))
	if _, err := local.Execute(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	fmt.Println(total.Elements())
	// Output: [5050]
}

func ExampleGenerateSequence() {
	p := sdk.NewPipeline()
	s := p.Root()
	count := runnertest.Collect(s, sdk.Count(s, source.GenerateSequence(s, 0, 1000)))
	if _, err := local.Execute(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	fmt.Println(count.Elements())
	// Output: [1000]
}
