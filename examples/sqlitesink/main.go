// Command sqlitesink writes a word count into an embedded SQLite database
// (modernc.org/sqlite, pure Go) through sink.ForEach, with exactly-once
// results although the runner retries failed bundles.
//
//	go run ./examples/sqlitesink                          # database in a temporary directory
//	go run ./examples/sqlitesink --db=/tmp/counts.db --input='books/*.txt'
//
// # Why the table is exactly-once
//
// Each bundle writes inside one SQL transaction: Open begins it, every
// Write upserts one row in it, Close(nil) commits it and Close(err) rolls it
// back. A bundle attempt that fails — its own Write, another step of the
// same bundle, or a crash of the worker before the commit — therefore leaves
// nothing in the table, however many rows it had written: SQLite discards
// an uncommitted transaction, also when the process dies (the journal is
// rolled back on the next open).
//
// That alone is at-least-once: a bundle can still fail after its commit
// (a later step of the bundle fails, or the runner never learns of the
// success), and its retry commits the same elements again. The writes are
// made idempotent for that case: each row is keyed by the element's key
// (the table's primary key) and written with INSERT ... ON CONFLICT DO
// UPDATE SET value = excluded.value, so a repeated commit overwrites a row
// with the same value instead of adding one. The final table is then a
// function of the input alone, whichever attempts failed.
//
// The upsert is correct because the input has one element per key with a
// deterministic value (the output of a GroupByKey or combine, here
// sdk.CountElements). A sink for elements without such a key would need a
// deterministic bundle identity recorded in the same transaction instead;
// sink.Bundle.ID is random per attempt, so it cannot serve.
//
// # Concurrency
//
// Bundles run in parallel and each opens its own database handle, as
// separate workers would. SQLite has one writer at a time: the transaction
// is begun IMMEDIATE (it takes the write lock at BEGIN, so two transactions
// never deadlock upgrading their locks), and a busy timeout makes a second
// bundle wait for the lock instead of failing.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/beamgo-dev/beamgo/examples/wordcount/words"
	"github.com/beamgo-dev/beamgo/io/sink"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// busyTimeoutMillis is how long a bundle waits for another bundle's write
// transaction to end. Bundles hold the lock while they run, so this bounds
// the duration of a bundle, not of a statement.
const busyTimeoutMillis = 60_000

// SQLiteSink writes key-value pairs into a table of a SQLite database,
// exactly once (see the package documentation). Its configuration is in
// exported fields because a sink travels to workers with the pipeline. It
// is safe for concurrent use.
type SQLiteSink struct {
	// Path is the database file; it is created if missing.
	Path string
	// Table is the table to write, created if missing with the columns
	// key TEXT PRIMARY KEY and value INTEGER.
	Table string
}

var _ sink.Sink[sdk.KV[string, int64]] = SQLiteSink{}

// identifier is what Table may be: it is spliced into SQL.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// DSN returns the data source name of the sink's database: a busy timeout
// for concurrent bundles and IMMEDIATE transactions.
func (k SQLiteSink) DSN() string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_txlock", "immediate")
	return "file:" + k.Path + "?" + q.Encode()
}

// Open begins the bundle's transaction.
func (k SQLiteSink) Open(ctx context.Context, _ sink.Bundle) (sink.Writer[sdk.KV[string, int64]], error) {
	if !identifier.MatchString(k.Table) {
		return nil, fmt.Errorf("sqlitesink: table name %q is not an identifier", k.Table)
	}
	db, err := sql.Open("sqlite", k.DSN())
	if err != nil {
		return nil, fmt.Errorf("sqlitesink: open %s: %w", k.Path, err)
	}
	// One connection: the transaction's.
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitesink: begin on %s: %w", k.Path, err)
	}
	w := &sqliteWriter{ctx: ctx, db: db, tx: tx, path: k.Path}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+k.Table+` (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlitesink: create table %s: %w", k.Table, err), w.Close(ctx, err))
	}
	if w.upsert, err = tx.PrepareContext(ctx, `INSERT INTO `+k.Table+` (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlitesink: prepare upsert: %w", err), w.Close(ctx, err))
	}
	return w, nil
}

// sqliteWriter writes one bundle in one transaction.
type sqliteWriter struct {
	// ctx is the bundle's context, which Open gets. Statements run with it
	// rather than with Write's context: that one is valid only during the
	// call, and the driver watches a statement's context from a goroutine
	// of its own (to interrupt SQLite) that may outlive the call.
	ctx    context.Context
	db     *sql.DB
	tx     *sql.Tx
	upsert *sql.Stmt
	path   string
}

func (w *sqliteWriter) Write(_ context.Context, kv sdk.KV[string, int64]) error {
	if _, err := w.upsert.ExecContext(w.ctx, kv.Key, kv.Value); err != nil {
		return fmt.Errorf("sqlitesink: upsert %q: %w", kv.Key, err)
	}
	return nil
}

// Close commits the transaction when the bundle succeeded and rolls it
// back otherwise; it closes the database handle either way.
func (w *sqliteWriter) Close(_ context.Context, cause error) error {
	var err error
	if w.upsert != nil {
		err = w.upsert.Close()
	}
	if cause == nil && err == nil {
		if cerr := w.tx.Commit(); cerr != nil {
			err = fmt.Errorf("sqlitesink: commit on %s: %w", w.path, cerr)
		}
	} else if rerr := w.tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
		err = errors.Join(err, fmt.Errorf("sqlitesink: roll back on %s: %w", w.path, rerr))
	}
	if cerr := w.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("sqlitesink: close %s: %w", w.path, cerr))
	}
	return err
}

// WriteToSQLite writes key-value pairs, one per key, into table of the
// SQLite database at path, exactly once.
func WriteToSQLite(s sdk.Scope, path, table string, kvs sdk.PCollection[sdk.KV[string, int64]]) {
	s = s.Scope("WriteToSQLite")
	sink.ForEach(s, sink.Sink[sdk.KV[string, int64]](SQLiteSink{Path: path, Table: table}), kvs)
}

// CountWords adds a word count of lines to s (the words of
// examples/wordcount).
func CountWords(s sdk.Scope, lines sdk.PCollection[string]) sdk.PCollection[sdk.KV[string, int64]] {
	s = s.Scope("CountWords")
	return sdk.CountElements(s, sdk.FlatMap(s, words.Words, lines, sdk.Name("ExtractWords")))
}

// ReadTable returns the rows of table in the database at path.
func ReadTable(ctx context.Context, path, table string) (map[string]int64, error) {
	if !identifier.MatchString(table) {
		return nil, fmt.Errorf("sqlitesink: table name %q is not an identifier", table)
	}
	db, err := sql.Open("sqlite", SQLiteSink{Path: path}.DSN())
	if err != nil {
		return nil, fmt.Errorf("sqlitesink: open %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM `+table)
	if err != nil {
		return nil, fmt.Errorf("sqlitesink: read %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("sqlitesink: read %s: %w", table, err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitesink: read %s: %w", table, err)
	}
	return out, nil
}

// sample is the text counted when --input is not given.
const sample = `It is a truth universally acknowledged, that a single man in
possession of a good fortune, must be in want of a wife.
However little known the feelings or views of such a man may be on his
first entering a neighbourhood, this truth is so well fixed in the minds
of the surrounding families, that he is considered the rightful property
of some one or other of their daughters.`

func main() {
	dbPath := flag.String("db", "", "SQLite database file (default: counts.db in a new temporary directory)")
	input := flag.String("input", "", "text files to count (a textio pattern; default: a built-in sample)")
	table := flag.String("table", "counts", "table to write")
	flag.Parse()
	log.SetFlags(0)
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "sqlitesink")
		if err != nil {
			log.Fatal(err)
		}
		*dbPath = filepath.Join(dir, "counts.db")
	}

	p := sdk.NewPipeline()
	s := p.Root()
	var lines sdk.PCollection[string]
	if *input != "" {
		lines = textio.Read(s, *input)
	} else {
		lines = sdk.Create(s, strings.Split(sample, "\n"))
	}
	WriteToSQLite(s, *dbPath, *table, CountWords(s, lines))
	ctx := context.Background()
	if _, err := local.Execute(ctx, p); err != nil {
		log.Fatal(err)
	}
	rows, err := ReadTable(ctx, *dbPath, *table)
	if err != nil {
		log.Fatal(err)
	}
	var top []string
	for k := range rows {
		top = append(top, k)
	}
	sortByCount(top, rows)
	fmt.Printf("%d words in table %s of %s\n", len(rows), *table, *dbPath)
	for _, k := range top[:min(len(top), 10)] {
		fmt.Printf("%s: %d\n", k, rows[k])
	}
}

// sortByCount sorts keys by descending count, then by key.
func sortByCount(keys []string, counts map[string]int64) {
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			if counts[a] > counts[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
}
