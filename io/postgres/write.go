package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime/debug"
	"slices"
	"time"

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

// writer writes the epochs of one worker thread over one connection. It
// is a foreach.SeqWriter: an epoch's elements stream from the grouped
// bytes into the COPY, each turned into a row as the COPY takes it, so an
// epoch is never held as rows (a []any and its boxed values per row, kept
// until the commit).
type writer[T any] struct {
	cfg  *config
	row  func(T) []any
	conn *pgx.Conn

	// epoch is the open epoch; values are its elements, from WriteSeq or
	// (for a caller that uses Process) from pending.
	epoch   foreach.Epoch
	values  iter.Seq[T]
	pending []T
	// pruned is when this writer last pruned the epoch table.
	pruned time.Time
}

var _ foreach.SeqWriter[int] = (*writer[int])(nil)

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
	w.epoch, w.values, w.pending = e, nil, w.pending[:0]
	var done bool
	err := w.conn.QueryRow(ctx, w.cfg.epochSelect, w.cfg.sinkID, e.Shard, e.WindowKey(), e.Pane).Scan(&done)
	if err != nil {
		return false, fmt.Errorf("postgres: read epoch table %s: %w", w.cfg.epochTable.Sanitize(), err)
	}
	return !done, nil
}

// WriteSeq takes the epoch's elements; Close writes them.
func (w *writer[T]) WriteSeq(_ context.Context, values iter.Seq[T]) error {
	w.values = values
	return nil
}

// Process adds v to the epoch; Close writes it. (The foreach sink calls
// WriteSeq instead.)
func (w *writer[T]) Process(_ context.Context, v T) error {
	w.pending = append(w.pending, v)
	return nil
}

// Close commits the epoch's rows and its record in one transaction, unless
// err says the epoch failed or the epoch has no rows.
func (w *writer[T]) Close(ctx context.Context, err error) error {
	defer func() { clear(w.pending); w.pending, w.values = w.pending[:0], nil }()
	if w.values == nil && len(w.pending) > 0 {
		w.values = slices.Values(w.pending)
	}
	if err != nil || w.values == nil {
		return nil
	}
	src := newRowSource(w, w.values)
	defer src.stop()
	if !src.peek() {
		return src.err
	}
	if err := w.commit(ctx, src.copyInto); err != nil {
		if src.err != nil {
			// The row function or a test hook failed, not the server.
			return src.err
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			return err
		}
		// The server rejected the bulk write: write row by row to name
		// the row at fault (or succeed, if the fault is gone).
		return w.commit(ctx, w.oneByOne)
	}
	if err := w.inject("committed", w.epoch); err != nil {
		return err
	}
	return w.prune(ctx)
}

// prune deletes the sink's epoch records older than the retention, if
// there is one and this writer has not pruned in the last tenth of it. Of
// writers pruning at once, the one that takes the sink's advisory lock
// does it; the others skip. A failure fails the bundle, whose retry finds
// its epoch recorded and prunes again.
func (w *writer[T]) prune(ctx context.Context) error {
	c := w.cfg
	if c.retention <= 0 || time.Since(w.pruned) < c.retention/10 {
		return nil
	}
	err := pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", "beamgo prune "+c.sinkID).Scan(&mine); err != nil || !mine {
			return err
		}
		_, err := tx.Exec(ctx, c.epochPrune, c.sinkID, c.retention.Seconds())
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: prune epoch table %s of sink %q: %w", c.epochTable.Sanitize(), c.sinkID, err)
	}
	w.pruned = time.Now()
	return nil
}

// rowSource feeds the COPY an epoch's rows, pulled one at a time from its
// elements: pgx builds the COPY's messages on a goroutine of its own, which
// calls Next and Values while the epoch's bytes stay valid (Close waits for
// the COPY). It is a pgx.CopyFromSource.
type rowSource[T any] struct {
	w    *writer[T]
	next func() (T, bool)
	stop func()
	// cur is the current element; ahead says peek read it and Next has
	// not yet taken it.
	cur   T
	ahead bool
	// seq numbers the rows, for Upsert's staging column.
	seq int64
	// err is the first error of the row function or of the test hook;
	// staged is Values' row with the sequence number appended.
	err    error
	staged []any
}

var _ pgx.CopyFromSource = (*rowSource[int])(nil)

func newRowSource[T any](w *writer[T], values iter.Seq[T]) *rowSource[T] {
	next, stop := iter.Pull(values)
	return &rowSource[T]{w: w, next: next, stop: stop, seq: -1}
}

// peek reads the first element ahead and reports whether there is one.
func (s *rowSource[T]) peek() bool {
	s.cur, s.ahead = s.next()
	return s.ahead
}

// Next advances to the next row.
func (s *rowSource[T]) Next() (ok bool) {
	if s.err != nil {
		return false
	}
	if s.ahead {
		s.ahead = false
	} else {
		// Decoding runs on pgx's goroutine: a panic there would end the
		// process, not fail the bundle.
		defer s.recover(&ok)
		v, more := s.next()
		if !more {
			return false
		}
		s.cur = v
	}
	s.seq++
	return true
}

// recover turns a panic of the element sequence or of the row function
// into the source's error, as the runner does for a DoFn's panic.
func (s *rowSource[T]) recover(ok *bool) {
	if p := recover(); p != nil {
		s.err = fmt.Errorf("postgres: table %s: panic in the row function or decoding: %v\n%s", s.w.cfg.tableName, p, debug.Stack())
		*ok = false
	}
}

// Values returns the current row, checked against the columns; in Upsert
// mode with its sequence number appended.
func (s *rowSource[T]) Values() ([]any, error) {
	c := s.w.cfg
	if err := s.w.inject("process", s.w.epoch); err != nil {
		s.err = err
		return nil, err
	}
	r, ok := s.rowOf(s.cur)
	if !ok {
		return nil, s.err
	}
	if len(r) != len(c.columns) {
		s.err = fmt.Errorf("postgres: table %s: row %v has %d values for %d columns", c.tableName, r, len(r), len(c.columns))
		return nil, s.err
	}
	if c.mode == Append {
		return r, nil
	}
	s.staged = append(append(s.staged[:0], r...), s.seq)
	return s.staged, nil
}

// rowOf calls the row function on pgx's goroutine, its panic recovered.
func (s *rowSource[T]) rowOf(v T) (r []any, ok bool) {
	defer s.recover(&ok)
	return s.w.row(v), true
}

// Err returns the first error of Values.
func (s *rowSource[T]) Err() error { return s.err }

// copyInto writes the rows with COPY: into the table (Append), or into a
// temporary table merged into the table with one INSERT ... ON CONFLICT
// (Upsert).
func (s *rowSource[T]) copyInto(ctx context.Context, tx pgx.Tx) error {
	c := s.w.cfg
	if c.mode == Append {
		if _, err := tx.CopyFrom(ctx, c.table, c.columns, s); err != nil {
			return fmt.Errorf("postgres: copy into %s: %w", c.tableName, err)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, c.stageTable); err != nil {
		return fmt.Errorf("postgres: stage for %s: %w", c.tableName, err)
	}
	cols := append(c.columns[:len(c.columns):len(c.columns)], seqColumn)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageName}, cols, s); err != nil {
		return fmt.Errorf("postgres: copy into stage of %s: %w", c.tableName, err)
	}
	if _, err := tx.Exec(ctx, c.upsertFromStage); err != nil {
		return fmt.Errorf("postgres: upsert into %s: %w", c.tableName, err)
	}
	return nil
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

// oneByOne writes the epoch's rows one statement each, and names the first
// row the server rejects.
func (w *writer[T]) oneByOne(ctx context.Context, tx pgx.Tx) error {
	stmt := w.cfg.insertRow
	if w.cfg.mode == Upsert {
		stmt = w.cfg.upsertRow
	}
	for v := range w.values {
		r := w.row(v)
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
