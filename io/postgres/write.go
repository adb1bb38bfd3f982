package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// RowError is a row the database rejected.
type RowError struct {
	// Table is the target table.
	Table string
	// Row holds the row's values, in the order of Options.Columns.
	Row []any
	// Err is the database's error (a *pgconn.PgError).
	Err error
}

// Error names the table and the row.
func (e *RowError) Error() string {
	return fmt.Sprintf("postgres: table %s rejected row %v: %v", e.Table, e.Row, e.Err)
}

// Unwrap returns the database's error.
func (e *RowError) Unwrap() error { return e.Err }

// Write writes in into a table exactly once per epoch: row turns an element
// into the values of opts.Columns. Construction fails, naming the
// transform, when opts lack a DSN, a table or columns, or an Upsert lacks
// key columns among Columns.
func Write[T any](s sdk.Scope, in sdk.PCollection[T], row func(T) []any, opts Options) {
	name := cmpOr(opts.Name, "postgres.Write")
	cfg, err := newConfig(opts)
	if err == nil && row == nil {
		err = errors.New("postgres: the row function is nil")
	}
	if err != nil {
		s.Fail(name, err)
		return
	}
	fo := &foreach.Options[T]{Name: name, Shards: opts.Shards, Trigger: opts.Trigger}
	if cfg.mode == Upsert {
		fo.ShardOf = func(v T) uint64 { return hashKey(row(v), cfg.keyIdx) }
	}
	foreach.Write(s, func() foreach.Writer[T] { return &writer[T]{cfg: cfg, row: row} }, in, fo)
}

// writer writes the epochs of one worker thread over one connection.
type writer[T any] struct {
	cfg  *config
	row  func(T) []any
	conn *pgx.Conn

	// epoch is the open epoch and rows its rows so far.
	epoch foreach.Epoch
	rows  [][]any
}

var _ foreach.Writer[int] = (*writer[int])(nil)

// Setup connects and creates the epoch table if it is missing.
func (w *writer[T]) Setup(ctx context.Context) error {
	if err := w.connect(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		// CREATE TABLE IF NOT EXISTS races with itself on the catalog's
		// unique indexes; a lock makes concurrent writers take turns.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('beamgo epoch table', 0))"); err != nil {
			return fmt.Errorf("postgres: lock for epoch table: %w", err)
		}
		if _, err := tx.Exec(ctx, w.cfg.epochDDL); err != nil {
			return fmt.Errorf("postgres: create epoch table %s: %w", w.cfg.epochTable.Sanitize(), err)
		}
		return nil
	})
}

// connect (re)opens the connection if there is none or it broke.
func (w *writer[T]) connect(ctx context.Context) error {
	if w.conn != nil && !w.conn.IsClosed() {
		return nil
	}
	conn, err := pgx.Connect(ctx, w.cfg.dsn)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	w.conn = conn
	return nil
}

// Open reports whether e is still to be written: whether the epoch table
// lacks it. Close checks again under the epoch's lock.
func (w *writer[T]) Open(ctx context.Context, e foreach.Epoch) (bool, error) {
	if err := w.inject("open", e); err != nil {
		return false, err
	}
	if err := w.connect(ctx); err != nil {
		return false, err
	}
	w.epoch, w.rows = e, w.rows[:0]
	var done bool
	err := w.conn.QueryRow(ctx, w.cfg.epochSelect, w.cfg.sinkID, e.Shard, e.WindowKey(), e.Pane).Scan(&done)
	if err != nil {
		return false, fmt.Errorf("postgres: read epoch table %s: %w", w.cfg.epochTable.Sanitize(), err)
	}
	return !done, nil
}

// Process adds v's row to the epoch.
func (w *writer[T]) Process(_ context.Context, v T) error {
	if err := w.inject("process", w.epoch); err != nil {
		return err
	}
	r := w.row(v)
	if len(r) != len(w.cfg.columns) {
		return fmt.Errorf("postgres: table %s: row %v has %d values for %d columns", w.cfg.tableName, r, len(r), len(w.cfg.columns))
	}
	w.rows = append(w.rows, r)
	return nil
}

// Close commits the epoch's rows and its record in one transaction, unless
// err says the epoch failed.
func (w *writer[T]) Close(ctx context.Context, err error) error {
	defer func() { clear(w.rows); w.rows = w.rows[:0] }()
	if err != nil || len(w.rows) == 0 {
		return nil
	}
	if err := w.commit(ctx, w.bulk); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			return err
		}
		// The server rejected the bulk write: write row by row to name
		// the row at fault (or succeed, if the fault is gone).
		return w.commit(ctx, w.oneByOne)
	}
	return w.inject("committed", w.epoch)
}

// commit runs write in a transaction that holds the epoch's lock, skips an
// epoch recorded meanwhile, and records the epoch.
func (w *writer[T]) commit(ctx context.Context, write func(context.Context, pgx.Tx) error) error {
	if err := w.connect(ctx); err != nil {
		return err
	}
	e, c := w.epoch, w.cfg
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		lockKey := fmt.Sprintf("%s/%d/%s/%d", c.sinkID, e.Shard, e.WindowKey(), e.Pane)
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lockKey); err != nil {
			return fmt.Errorf("postgres: lock epoch: %w", err)
		}
		var done bool
		if err := tx.QueryRow(ctx, c.epochSelect, c.sinkID, e.Shard, e.WindowKey(), e.Pane).Scan(&done); err != nil {
			return fmt.Errorf("postgres: read epoch table %s: %w", c.epochTable.Sanitize(), err)
		}
		if done {
			return nil
		}
		if err := write(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, c.epochInsert, c.sinkID, e.Shard, e.WindowKey(), e.Pane); err != nil {
			return fmt.Errorf("postgres: record epoch in %s: %w", c.epochTable.Sanitize(), err)
		}
		return w.inject("commit", e)
	})
}

// bulk writes the epoch's rows with COPY: into the table (Append), or into
// a temporary table merged into the table with one INSERT ... ON CONFLICT
// (Upsert).
func (w *writer[T]) bulk(ctx context.Context, tx pgx.Tx) error {
	c := w.cfg
	if c.mode == Append {
		if _, err := tx.CopyFrom(ctx, c.table, c.columns, pgx.CopyFromRows(w.rows)); err != nil {
			return fmt.Errorf("postgres: copy into %s: %w", c.tableName, err)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, c.stageTable); err != nil {
		return fmt.Errorf("postgres: stage for %s: %w", c.tableName, err)
	}
	cols := append(c.columns[:len(c.columns):len(c.columns)], seqColumn)
	staged := make([]any, len(cols))
	src := pgx.CopyFromSlice(len(w.rows), func(i int) ([]any, error) {
		copy(staged, w.rows[i])
		staged[len(staged)-1] = int64(i)
		return staged, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageName}, cols, src); err != nil {
		return fmt.Errorf("postgres: copy into stage of %s: %w", c.tableName, err)
	}
	if _, err := tx.Exec(ctx, c.upsertFromStage); err != nil {
		return fmt.Errorf("postgres: upsert into %s: %w", c.tableName, err)
	}
	return nil
}

// oneByOne writes the epoch's rows one statement each, and names the first
// row the server rejects.
func (w *writer[T]) oneByOne(ctx context.Context, tx pgx.Tx) error {
	stmt := w.cfg.insertRow
	if w.cfg.mode == Upsert {
		stmt = w.cfg.upsertRow
	}
	for _, r := range w.rows {
		if _, err := tx.Exec(ctx, stmt, r...); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				return &RowError{Table: w.cfg.tableName, Row: r, Err: err}
			}
			return fmt.Errorf("postgres: insert into %s: %w", w.cfg.tableName, err)
		}
	}
	return nil
}

// inject returns the test hook's failure at point, if any.
func (w *writer[T]) inject(point string, e foreach.Epoch) error {
	if w.cfg.hook == nil {
		return nil
	}
	return w.cfg.hook(point, e)
}

// Teardown closes the connection.
func (w *writer[T]) Teardown(ctx context.Context) error {
	if w.conn == nil {
		return nil
	}
	return w.conn.Close(ctx)
}
