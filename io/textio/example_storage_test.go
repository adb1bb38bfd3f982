package textio_test

import (
	"context"
	"fmt"
	"log"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// This example writes through a filesystem.Storage that the program opens
// in main, before the pipeline, and closes once the pipeline has run.
func ExampleWithStorage() {
	ctx := context.Background()
	fs := filesystem.New(nil)
	defer fs.Close()

	p := sdk.NewPipeline()
	s := p.Root()
	textio.Write(s, "mem://example-storage/out", sdk.Create(s, []string{"a", "b"}), textio.WithSuffix(".txt"), textio.NumShards(1), textio.WithStorage(fs))
	if _, err := local.Execute(ctx, p); err != nil {
		log.Fatal(err)
	}
	files, err := fs.List(ctx, "mem://example-storage/")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Path, f.Size)
	}
	// Output:
	// mem://example-storage/out-00000-of-00001.txt 4
}
