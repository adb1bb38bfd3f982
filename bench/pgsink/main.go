// Command pgsink measures the exactly-once PostgreSQL sink (io/postgres, on
// io/foreach epochs) against a hand-written loop of batched COPYs, on the
// same server and rows: rows per second, written into a fresh table each.
//
//	scripts/postgres.sh go run ./bench/pgsink -rows=500000
//
// The hand-written loop (-impl=hand) is the practical limit: -shards
// goroutines, each COPYing batches of -batch rows, one transaction per
// batch, nothing recorded for replays. Ours (-impl=beamgo) generates the
// rows in a pipeline on the local runner and writes them with
// postgres.Write in -shards shards: one epoch per shard, one COPY and one
// epoch record per transaction. -impl=both runs them in turn, -runs times,
// interleaved, and prints each run and the best.
//
// Ours generates the rows from 100 seeds redistributed over the workers
// (a Reshuffle after the Create), so that, as the hand loop's goroutines
// do, the rows are made on every core and reach the sink bundle by bundle.
// -fused=true keeps the seeds fused with their Create, as before: all rows
// are then made by one bundle, on one core, and committed at its end.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/cpuprof"
	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/io/postgres"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/jackc/pgx/v5"
)

// row is one generated row: (id, name, value).
type row struct {
	ID    int64
	Name  string
	Value float64
}

func gen(id int64) row {
	return row{ID: id, Name: fmt.Sprintf("name-%d", id%1000), Value: float64(id) / 3}
}

func main() {
	dsn := flag.String("dsn", os.Getenv("BEAMGO_POSTGRES_DSN"), "server URL (default $BEAMGO_POSTGRES_DSN)")
	rows := flag.Int64("rows", 500_000, "rows to write")
	shards := flag.Int("shards", 2, "parallel writers (our shards; hand-written goroutines)")
	batch := flag.Int("batch", 50_000, "hand-written: rows per COPY")
	impl := flag.String("impl", "both", "beamgo, hand, both, or pipeline (ours without the database: foreach.Batch into a no-op)")
	runs := flag.Int("runs", 3, "runs of each, interleaved")
	every := flag.Int64("every", 0, "ours: cut an epoch every this many rows per shard (a Repeatedly(AfterCount) trigger), so that writing overlaps generating; 0: one epoch per shard")
	fused := flag.Bool("fused", false, "ours: generate every row in the Create's one bundle (no Reshuffle of the seeds), as before this flag")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	log.SetFlags(0)
	defer cpuprof.Start(*cpuprofile)()
	if *dsn == "" {
		log.Fatal("pgsink: no server: run it under scripts/postgres.sh, or pass -dsn")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	impls := map[string]func(table string) error{
		"beamgo": func(table string) error { return runBeamgo(ctx, *dsn, table, *rows, *shards, *every, *fused) },
		"hand":   func(table string) error { return runHand(ctx, *dsn, table, *rows, *shards, *batch) },
		"pipeline": func(string) error {
			return runPipeline(ctx, *rows, *shards, *fused)
		},
	}
	order := []string{*impl}
	if *impl == "both" {
		order = []string{"hand", "beamgo"}
	}
	best := map[string]time.Duration{}
	for run := range *runs {
		for _, name := range order {
			table := fmt.Sprintf("bench_%s_%d", name, run)
			d, err := measure(ctx, conn, table, *rows, impls[name])
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			fmt.Printf("%-7s run %d: %d rows in %v: %.0f rows/s\n", name, run, *rows, d.Round(time.Millisecond), float64(*rows)/d.Seconds())
			if b, ok := best[name]; !ok || d < b {
				best[name] = d
			}
		}
	}
	for _, name := range order {
		fmt.Printf("best %-7s %.0f rows/s\n", name, float64(*rows)/best[name].Seconds())
	}
	if h, b := best["hand"], best["beamgo"]; h > 0 && b > 0 {
		fmt.Printf("beamgo / hand-written: %.0f%%\n", 100*h.Seconds()/b.Seconds())
	}
}

// measure creates table, times write, checks the row count and drops the
// table.
func measure(ctx context.Context, conn *pgx.Conn, table string, rows int64, write func(string) error) (time.Duration, error) {
	ident := pgx.Identifier{table}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+ident+"; CREATE TABLE "+ident+" (id bigint, name text, value double precision)"); err != nil {
		return 0, err
	}
	defer conn.Exec(ctx, "DROP TABLE "+ident)
	start := time.Now()
	if err := write(table); err != nil {
		return 0, err
	}
	d := time.Since(start)
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+ident).Scan(&n); err != nil {
		return 0, err
	}
	if n != rows && !strings.HasPrefix(table, "bench_pipeline") {
		return 0, fmt.Errorf("table %s has %d rows, want %d", table, n, rows)
	}
	return d, nil
}

// runBeamgo writes the rows with postgres.Write.
func runBeamgo(ctx context.Context, dsn, table string, rows int64, shards int, every int64, fused bool) error {
	p, s, ids := generate(rows, fused)
	o := postgres.Options{
		DSN: dsn, Table: table, Columns: []string{"id", "name", "value"},
		SinkID: fmt.Sprintf("%s-%d", table, time.Now().UnixNano()), Shards: shards,
	}
	if every > 0 {
		trig := sdk.Repeatedly(sdk.AfterCount(every))
		o.Trigger = &trig
	}
	postgres.Write(s, ids, func(r row) []any { return []any{r.ID, r.Name, r.Value} }, o)
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(ctx, p)
	return err
}

// runPipeline is runBeamgo without the database: the epochs go to a
// function that drops them, to show what the pipeline itself costs.
func runPipeline(ctx context.Context, rows int64, shards int, fused bool) error {
	p, s, ids := generate(rows, fused)
	foreach.Batch(s, func(context.Context, []row, foreach.Epoch) error { return nil }, ids,
		&foreach.Options[row]{Shards: shards})
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(ctx, p)
	return err
}

// generate makes a pipeline whose collection holds the rows, generated
// from 100 seeds so that Create does not carry them all. Unless fused, the
// seeds are reshuffled, so that bundles on every worker generate rows.
func generate(rows int64, fused bool) (*sdk.Pipeline, sdk.Scope, sdk.PCollection[row]) {
	const seeds = 100
	p := sdk.NewPipeline()
	s := p.Root()
	starts := make([]int64, seeds)
	for i := range starts {
		starts[i] = int64(i) * rows / seeds
	}
	seedsIn := sdk.Create(s, starts)
	if !fused {
		seedsIn = sdk.Reshuffle(s, seedsIn)
	}
	ids := sdk.FlatMap(s, func(start int64, emit func(row)) {
		end := start + rows/seeds
		if start == (seeds-1)*rows/seeds {
			end = rows
		}
		for id := start; id < end; id++ {
			emit(gen(id))
		}
	}, seedsIn)
	return p, s, ids
}

// runHand is the hand-written loop: shards goroutines, each COPYing its
// share of the rows in batches, one transaction per batch.
func runHand(ctx context.Context, dsn, table string, rows int64, shards, batch int) error {
	var wg sync.WaitGroup
	errs := make([]error, shards)
	for w := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = handShard(ctx, dsn, table, rows, int64(w), int64(shards), batch)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func handShard(ctx context.Context, dsn, table string, rows, w, shards int64, batch int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	buf := make([][]any, 0, batch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"id", "name", "value"}, pgx.CopyFromRows(buf))
			return err
		})
		buf = buf[:0]
		return err
	}
	for id := w; id < rows; id += shards {
		r := gen(id)
		buf = append(buf, []any{r.ID, r.Name, r.Value})
		if len(buf) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
