package textio_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"

	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
)

// This example writes lines to sharded text files in a mem:// bucket, then
// reads them back.
func Example() {
	ctx := context.Background()
	dir := "mem://example-textio/out"

	p := sdk.NewPipeline()
	s := p.Root()
	lines := sdk.Create(s, []string{"to be", "or not", "to be"})
	names := runnertest.Collect(s, textio.Write(s, dir+"/part", lines, textio.NumShards(2), textio.WithSuffix(".txt.gz")))
	if _, err := local.Execute(ctx, p); err != nil {
		log.Fatal(err)
	}
	for _, n := range names.Sorted() {
		fmt.Println(n)
	}

	p = sdk.NewPipeline()
	s = p.Root()
	got := runnertest.Collect(s, textio.Read(s, dir+"/part-*.txt.gz"))
	if _, err := local.Execute(ctx, p); err != nil {
		log.Fatal(err)
	}
	read := got.Elements()
	slices.Sort(read)
	fmt.Println(strings.Join(read, " | "))
	// Output:
	// mem://example-textio/out/part-00000-of-00002.txt.gz
	// mem://example-textio/out/part-00001-of-00002.txt.gz
	// or not | to be | to be
}

// This example reads CSV files without their header lines, keyed by file.
func ExampleReadWithFileName() {
	p := sdk.NewPipeline()
	s := p.Root()
	rows := textio.ReadWithFileName(s, "data/*.csv", textio.SkipHeaderLines(1))
	sdk.Map(s, func(kv sdk.KV[string, string]) string { return kv.Key + ": " + kv.Value }, rows)
	fmt.Println(p.Err())
	// Output: <nil>
}
