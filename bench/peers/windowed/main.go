// Command windowed is the peers benchmark's windowed count in our SDK
// (bench/peers.sh runs it beside its PyFlink and PySpark twins): the
// "key<TAB>int" lines of gencorpus -mode kv as events whose event time is
// int+500 seconds, counted per key in fixed windows of 60 s, written as
// "start key count" lines (start in Unix seconds) to sharded files at
// --output. It runs wherever the launch flags say: the local runner, or a
// Beam job server (--runner=universal) such as Flink's.
//
//	go run ./bench/peers/windowed --input=kv.tsv --output=out/windowed
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/sdk"
)

// window is the size of the fixed windows.
const window = time.Minute

// Event is a parsed line: its key and event time in Unix seconds.
type Event struct {
	Key string
	At  int64
}

// parse reads a "key<TAB>int" line.
func parse(line string) (Event, error) {
	key, v, ok := strings.Cut(line, "\t")
	n, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil {
		return Event{}, fmt.Errorf("windowed: bad line %q", line)
	}
	return Event{Key: key, At: n + 500}, nil
}

// Count adds the windowed count of the lines to s and returns its output
// lines.
func Count(s sdk.Scope, lines sdk.PCollection[string]) sdk.PCollection[string] {
	events := sdk.ParDo(s, sdk.DoFn[string, Event](parseFn{}), lines, sdk.Name("Parse"))
	stamped := sdk.WithTimestamps(s, func(e Event) time.Time { return time.Unix(e.At, 0) }, events)
	keys := sdk.Map(s, func(e Event) string { return e.Key }, sdk.WindowInto(s, sdk.FixedWindows(window), stamped))
	return sdk.ParDo(s, render{}, sdk.CountElements(s, keys))
}

type parseFn struct{}

func (parseFn) ProcessElement(_ context.Context, line string, emit func(Event)) error {
	e, err := parse(line)
	if err == nil {
		emit(e)
	}
	return err
}

// render writes a count with the start of its window.
type render struct{}

func (render) ProcessElement(ctx context.Context, kv sdk.KV[string, int64], emit func(string)) error {
	emit(fmt.Sprintf("%d %s %d", sdk.WindowOf(ctx).Start.ToTime().Unix(), kv.Key, kv.Value))
	return nil
}

func main() {
	opts := launch.Flags(flag.CommandLine)
	input := flag.String("input", "", "the gencorpus -mode kv file")
	output := flag.String("output", "", "prefix of the output files")
	if err := opts.Parse(flag.CommandLine, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
	if *input == "" || *output == "" {
		log.Fatal("windowed: --input and --output are required")
	}
	p := sdk.NewPipeline()
	s := p.Root()
	out := sdk.WindowInto(s, sdk.GlobalWindows(), Count(s, textio.Read(s, *input)))
	textio.Write(s, *output, out, textio.WithSuffix(".txt"))
	if _, err := launch.Run(context.Background(), p, opts); err != nil {
		log.Fatal(err)
	}
}
