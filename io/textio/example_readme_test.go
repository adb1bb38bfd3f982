package textio_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// This example is the README's "A pipeline": it counts the words of gzipped
// text files and writes the counts as text. It has no output to check (the
// input is the reader's own files), so it is compiled, not run;
// internal/readme checks that the README shows exactly its body.
func Example_pipeline() {
	ctx := context.Background()
	p := sdk.NewPipeline()
	s := p.Root()
	lines := textio.Read(s, "books/*.txt.gz") // local, file://, mem://; s3://, gs://, azblob:// with their driver imported
	words := sdk.FlatMap(s, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	}, lines)
	counts := sdk.CountElements(s, words) // PCollection[sdk.KV[string, int64]]
	textio.Write(s, "out/counts", sdk.Map(s, func(kv sdk.KV[string, int64]) string {
		return fmt.Sprintf("%s: %d", kv.Key, kv.Value)
	}, counts))
	res, err := local.New(nil).Run(ctx, p) // or universal.New(&universal.Options{Endpoint: "127.0.0.1:8099"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Bundles, "bundles")
}
