// Command ratepostgres is the seed's example of Spark's foreachBatch in
// update mode: a rate source (io/unbounded.Rate) generates numbered ticks,
// each gets a key (its number modulo --keys), the ticks are counted per key
// in one-second event-time windows, and every running count is upserted
// into a PostgreSQL table with postgres.Write (io/foreach epochs), exactly
// once: each epoch is committed in one transaction with its record, so a
// retried bundle writes nothing twice, and the count is the row's version,
// so an older count never overwrites a newer one.
//
// While a window fills, its counts are written every 200 ms of processing
// time (early panes, accumulating); its final count once the watermark
// passes its end. After --for the job drains, and the program prints the
// table.
//
//	go run ./examples/ratepostgres --rate=1000 --keys=10 --for=5s
//	go run ./examples/ratepostgres --dsn=postgres://user@host/db
//
// Without --dsn (or $BEAMGO_POSTGRES_DSN) it starts a throw-away server
// from the PostgreSQL binaries installed on the machine (initdb and pg_ctl,
// as scripts/postgres.sh does) on a free port of 127.0.0.1, and removes it
// at the end; with none installed it says how to install them.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/beamgo-dev/beamgo/io/postgres"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/jackc/pgx/v5"
)

// Count is the running count of a key in a one-second window.
type Count struct {
	// WindowMillis is the window's start, in Unix milliseconds.
	WindowMillis int64
	Key          int64
	N            int64
}

// Job describes one run of the example.
type Job struct {
	// Source generates the ticks.
	Source unbounded.Rate
	// Keys is the number of keys (tick number modulo Keys).
	Keys int64
	// EarlyEvery is how often a filling window's counts are written.
	EarlyEvery time.Duration
	// DSN and Table name the target; the table is created if missing.
	DSN, Table string
	// Drain, when closed, drains the job; nil runs until the source ends.
	Drain <-chan struct{}
	// MaxAttempts is how often a failed bundle is tried (0: the runner's
	// default).
	MaxAttempts int
}

// CountPerKey adds the counting to s: ticks keyed by number modulo keys,
// counted per key in one-second windows with early panes every
// earlyEvery of processing time, each pane a Count.
func CountPerKey(s sdk.Scope, ticks sdk.PCollection[unbounded.Tick], keys int64, earlyEvery time.Duration) sdk.PCollection[Count] {
	keyed := sdk.Map(s, func(t unbounded.Tick) sdk.KV[int64, int64] {
		return sdk.KV[int64, int64]{Key: t.Value % keys, Value: 1}
	}, ticks, sdk.Name("Key"))
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), keyed,
		sdk.Triggering(sdk.AfterWatermark().WithEarlyFirings(sdk.AfterProcessingTime().PlusDelayOf(earlyEvery))),
		sdk.Accumulating())
	return sdk.ParDo(s, withWindow{}, sdk.SumPerKey(s, windowed), sdk.Name("WithWindow"))
}

// withWindow puts a count's window into the element, since the table
// keys rows by window and key.
type withWindow struct{}

func (withWindow) ProcessElement(ctx context.Context, kv sdk.KV[int64, int64], emit func(Count)) error {
	emit(Count{WindowMillis: int64(sdk.WindowOf(ctx).Start), Key: kv.Key, N: kv.Value})
	return nil
}

// CreateTable creates the target table if it does not exist: one row per
// window and key, the primary key the upsert needs.
func CreateTable(ctx context.Context, conn *pgx.Conn, table string) error {
	_, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+pgx.Identifier{table}.Sanitize()+
		" (window_start timestamptz NOT NULL, key bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (window_start, key))")
	if err != nil {
		return fmt.Errorf("ratepostgres: create table %s: %w", table, err)
	}
	return nil
}

// Run runs j on the local runner (the table must exist) and returns the
// number of bundle retries.
func Run(ctx context.Context, j Job) (retries int, err error) {
	p := sdk.NewPipeline()
	s := p.Root()
	ticks := unbounded.Read(s, j.Source, unbounded.Options{Name: "Rate", PollInterval: 20 * time.Millisecond})
	counts := CountPerKey(s, ticks, j.Keys, j.EarlyEvery)
	postgres.Write(s, counts, func(c Count) []any {
		return []any{time.UnixMilli(c.WindowMillis).UTC(), c.Key, c.N}
	}, postgres.Options{
		DSN: j.DSN, Table: j.Table, Columns: []string{"window_start", "key", "n"},
		Mode: postgres.Upsert, Key: []string{"window_start", "key"}, Version: "n",
		Shards: 2,
	})
	res, err := local.New(&local.Options{Job: local.Job{Drain: j.Drain, MaxAttempts: j.MaxAttempts}}).Run(ctx, p)
	if res != nil {
		retries = res.Retries
	}
	return retries, err
}

// ReadTable returns the table's counts, ordered by window and key.
func ReadTable(ctx context.Context, conn *pgx.Conn, table string) ([]Count, error) {
	rows, err := conn.Query(ctx, "SELECT window_start, key, n FROM "+pgx.Identifier{table}.Sanitize()+" ORDER BY window_start, key")
	if err != nil {
		return nil, fmt.Errorf("ratepostgres: read %s: %w", table, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Count, error) {
		var c Count
		var w time.Time
		err := r.Scan(&w, &c.Key, &c.N)
		c.WindowMillis = w.UnixMilli()
		return c, err
	})
}

func main() {
	dsn := flag.String("dsn", os.Getenv("BEAMGO_POSTGRES_DSN"), "PostgreSQL URL (default $BEAMGO_POSTGRES_DSN; empty: start a throw-away server)")
	table := flag.String("table", "rate_counts", "target table (created if missing)")
	rate := flag.Float64("rate", 100, "ticks per second")
	keys := flag.Int64("keys", 10, "number of keys")
	runFor := flag.Duration("for", 3*time.Second, "how long to run before draining")
	flag.Parse()
	log.SetFlags(0)
	if *keys <= 0 {
		log.Fatal("--keys must be positive")
	}
	if err := run(*dsn, *table, *rate, *keys, *runFor); err != nil {
		log.Fatal(err)
	}
}

// run starts a server if dsn is empty, runs the job and prints the table.
func run(dsn, table string, rate float64, keys int64, runFor time.Duration) error {
	ctx := context.Background()
	if dsn == "" {
		srv, err := startServer(ctx)
		if err != nil {
			return err
		}
		defer srv.Stop()
		dsn = srv.DSN
		fmt.Printf("started a throw-away PostgreSQL server: %s\n", dsn)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("ratepostgres: connect: %w", err)
	}
	defer conn.Close(ctx)
	if err := CreateTable(ctx, conn, table); err != nil {
		return err
	}
	drain := make(chan struct{})
	defer time.AfterFunc(runFor, func() { close(drain) }).Stop()
	src := unbounded.Rate{PerSecond: rate, NumPartitions: 2, Start: time.Now().Truncate(time.Second)}
	if _, err := Run(ctx, Job{Source: src, Keys: keys, EarlyEvery: 200 * time.Millisecond, DSN: dsn, Table: table, Drain: drain}); err != nil {
		return err
	}
	counts, err := ReadTable(ctx, conn, table)
	if err != nil {
		return err
	}
	fmt.Printf("table %s:\n", table)
	for _, c := range counts {
		fmt.Printf("%s key=%d count=%d\n", time.UnixMilli(c.WindowMillis).Format("15:04:05"), c.Key, c.N)
	}
	return nil
}
