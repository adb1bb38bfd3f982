package filestream_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/io/filestream"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Lines of the files that appear under a directory, upper-cased, into a
// file per pane (cut every 100 ms of processing time), until the job is
// drained.
func Example_fileToFile() {
	dir, err := os.MkdirTemp("", "filestream")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\ntwo\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("three"), 0o644)

	p := sdk.NewPipeline()
	s := p.Root()
	lines := filestream.Read(s, dir+"/*.txt", unbounded.Options{PollInterval: 10 * time.Millisecond})
	upper := sdk.Map(s, func(l filestream.Line) string { return strings.ToUpper(l.Text) }, lines)
	every := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(100 * time.Millisecond))
	filestream.Write(s, upper, dir+"/out/", &filestream.WriteOptions{Trigger: &every})
	drain := make(chan struct{})
	time.AfterFunc(500*time.Millisecond, func() { close(drain) })
	if _, err := local.New(&local.Options{Job: local.Job{Drain: drain}}).Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	panes, _ := filepath.Glob(dir + "/out/global/pane-*-shard-0.txt")
	var out []string
	for _, f := range panes {
		b, _ := os.ReadFile(f)
		out = append(out, strings.Fields(string(b))...)
	}
	slices.Sort(out)
	fmt.Println(out)
	// Output: [ONE THREE TWO]
}
