package filesystem_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/beamgo-dev/beamgo/io/filesystem"
)

// This example opens a Storage, writes and matches files in a mem://
// bucket of its own, and closes it, which releases the bucket.
func ExampleNew() {
	ctx := context.Background()
	fs := filesystem.New(nil)
	defer fs.Close()
	for _, name := range []string{"a.txt", "b.txt", "c.csv"} {
		w, err := fs.NewWriter(ctx, "mem://example-new/in/"+name, nil)
		if err != nil {
			log.Fatal(err)
		}
		io.WriteString(w, name)
		if err := w.Close(); err != nil {
			log.Fatal(err)
		}
	}
	files, err := fs.Match(ctx, "mem://example-new/in/*.txt")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Path, f.Size)
	}
	// Output:
	// mem://example-new/in/a.txt 5
	// mem://example-new/in/b.txt 5
}
