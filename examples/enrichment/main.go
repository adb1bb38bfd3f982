// Command enrichment is the seed's connected-streams example in Beam
// terms: a stream of item names and a stream of sales, connected by item
// id into one stateful DoFn that keeps each item's latest name in map
// state and its running sales total in value state, and emits
// (id, name, total) for every sale, "NONAME" for an item not seen yet.
//
// Flink writes it as items.connect(sales).keyBy(id, id).flatMap(...); here
// it is sdk.CoParDo, which tags both inputs into one union type keyed by id
// and flattens them into a stateful ParDo (reference §7.1).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Total is one output row: an item, its latest name and its sales so far.
type Total struct {
	ID    int64
	Name  string
	Total int64
}

func (t Total) String() string { return fmt.Sprintf("(%d,%s,%d)", t.ID, t.Name, t.Total) }

// sellTotal is the seed's SellTotal (a CoFlatMapFunction): item names
// update the map, sales add to the running total and are emitted with the
// item's name. Both methods share the state of the item's key.
type sellTotal struct {
	Names sdk.MapState[int64, string]
	Count sdk.ValueState[int64]
}

// ProcessFirst is the seed's flat_map1: remember the item's latest name.
func (f *sellTotal) ProcessFirst(ctx context.Context, id int64, name string, emit func(Total)) error {
	return f.Names.Put(ctx, id, name)
}

// ProcessSecond is the seed's flat_map2: add the sale to the total and
// emit it with the item's name.
func (f *sellTotal) ProcessSecond(ctx context.Context, id, qty int64, emit func(Total)) error {
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	total := n + qty
	if err := f.Count.Write(ctx, total); err != nil {
		return err
	}
	name, ok, err := f.Names.Get(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		name = "NONAME"
	}
	emit(Total{ID: id, Name: name, Total: total})
	return nil
}

// Enrich connects item names and sales by item id and returns the totals.
func Enrich(s sdk.Scope, items sdk.PCollection[sdk.KV[int64, string]], sales sdk.PCollection[sdk.KV[int64, int64]]) sdk.PCollection[Total] {
	return sdk.CoParDo(s, sdk.CoDoFn[int64, string, int64, Total](&sellTotal{}), items, sales)
}

// The seed's data.
var (
	seedItems = []string{"1 apple", "2 banana", "3 cherry", "4 durian", "6 fig", "7 grape"}
	seedSales = []string{"1 1", "2 3", "3 5", "1 5", "5 100", "6 66", "1 10"}
)

// Script is a TestStream of "item <id> <name>" and "sale <id> <qty>"
// lines, each an event of its own, so that a runner processes them in this
// order.
func Script(s sdk.Scope, lines []string) sdk.PCollection[string] {
	ts := sdk.NewTestStream[string](s)
	for i, line := range lines {
		at := time.UnixMilli(int64(i))
		ts.AdvanceWatermarkTo(at)
		ts.AddElementsAt(at, line)
	}
	ts.AdvanceWatermarkToInfinity()
	return ts.Output()
}

// seedScript is the seed's data: the items, then the sales.
func seedScript() []string {
	var lines []string
	for _, it := range seedItems {
		lines = append(lines, "item "+it)
	}
	for _, sale := range seedSales {
		lines = append(lines, "sale "+sale)
	}
	return lines
}

// parse splits the script's lines into the two keyed streams.
func parse(s sdk.Scope, lines sdk.PCollection[string]) (sdk.PCollection[sdk.KV[int64, string]], sdk.PCollection[sdk.KV[int64, int64]]) {
	return sdk.ParDo2(s, sdk.DoFn2[string, sdk.KV[int64, string], sdk.KV[int64, int64]](splitLines{}), lines)
}

type splitLines struct{}

func (splitLines) ProcessElement(_ context.Context, line string, items func(sdk.KV[int64, string]), sales func(sdk.KV[int64, int64])) error {
	f := strings.Fields(line)
	if len(f) != 3 {
		return fmt.Errorf("bad line %q", line)
	}
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return err
	}
	switch f[0] {
	case "item":
		items(sdk.Pair(id, f[2]))
		return nil
	case "sale":
		qty, err := strconv.ParseInt(f[2], 10, 64)
		sales(sdk.Pair(id, qty))
		return err
	}
	return fmt.Errorf("bad line %q", line)
}

// Run runs the enrichment of the script's lines on r, handing every output
// row to out.
func Run(ctx context.Context, r runner.Runner, lines []string, out func(context.Context, Total) error) error {
	p := sdk.NewPipeline()
	s := p.Root()
	it, sa := parse(s, Script(s, lines))
	sdk.ForEachFunc(s, out, Enrich(s, it, sa))
	_, err := r.Run(ctx, p)
	return err
}

func main() {
	flag.Parse()
	err := Run(context.Background(), local.New(nil), seedScript(), func(_ context.Context, t Total) error {
		fmt.Println(t)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
