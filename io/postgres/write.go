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
	"github.com/jackc/pgx/v5/pgtype"
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
// bytes into the COPY, each turned into a row and encoded as it is
// decoded, so an epoch is never held as rows (a []any and its boxed values
// per row, kept until the commit).
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
	// rowErr is the row function's or the test hook's failure in the
	// last COPY; copyBuf is the COPY's buffer, kept for the next epoch.
	rowErr  error
	copyBuf []byte
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
	if err != nil || w.values == nil || isEmpty(w.values) {
		return nil
	}
	w.rowErr = nil
	if err := w.commit(ctx, w.copyInto); err != nil {
		if w.rowErr != nil {
			// The row function or a test hook failed, not the server.
			return w.rowErr
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

// isEmpty reports whether values has no element.
func isEmpty[T any](values iter.Seq[T]) bool {
	for range values {
		return false
	}
	return true
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

// copyInto writes the epoch's rows with COPY: into the table (Append), or
// into a temporary table merged into the table with one INSERT ... ON
// CONFLICT (Upsert).
func (w *writer[T]) copyInto(ctx context.Context, tx pgx.Tx) error {
	c := w.cfg
	if c.mode == Append {
		if err := w.copyRows(ctx, tx, c.copyTable); err != nil {
			return fmt.Errorf("postgres: copy into %s: %w", c.tableName, err)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, c.stageTable); err != nil {
		return fmt.Errorf("postgres: stage for %s: %w", c.tableName, err)
	}
	if err := w.copyRows(ctx, tx, c.copyStage); err != nil {
		return fmt.Errorf("postgres: copy into stage of %s: %w", c.tableName, err)
	}
	if _, err := tx.Exec(ctx, c.upsertFromStage); err != nil {
		return fmt.Errorf("postgres: upsert into %s: %w", c.tableName, err)
	}
	return nil
}

// copyRows streams the epoch's rows into the COPY statement stmt (binary
// format; in Upsert mode each row with its sequence number appended), as
// the epoch's elements are decoded, on this goroutine (no iter.Pull): a
// statement per chunkBytes of data (copyChunkBytes), all in tx. The row
// function's or the test hook's failure is also kept in w.rowErr.
func (w *writer[T]) copyRows(ctx context.Context, tx pgx.Tx, stmt string) (err error) {
	c := w.cfg
	sd, err := tx.Conn().Prepare(ctx, "", c.describe)
	if err != nil {
		return fmt.Errorf("column types: %w", err)
	}
	if len(sd.Fields) != len(c.columns) {
		return fmt.Errorf("column types: %d fields for %d columns", len(sd.Fields), len(c.columns))
	}
	oids := make([]uint32, 0, len(c.columns)+1)
	for _, f := range sd.Fields {
		oids = append(oids, f.DataTypeOID)
	}
	upsert := c.mode == Upsert
	if upsert {
		oids = append(oids, pgtype.Int8OID)
	}
	enc := newRowEncoder(tx.Conn().TypeMap(), oids)
	var (
		cp     *copyStream
		buf    = w.copyBuf[:0]
		sent   int // bytes of cp's statement sent
		seq    int64
		staged []any
	)
	defer func() {
		w.copyBuf = buf[:0]
		if cp == nil {
			return
		}
		// An error or a panic (of decoding) ended the rows early: abort
		// the statement, so the connection is free for the rollback.
		p := recover()
		abort := err
		if p != nil {
			abort = fmt.Errorf("postgres: panic: %v", p)
		}
		cp.finish(abort)
		if p != nil {
			panic(p)
		}
	}()
	// flush sends buf; with last, it ends the statement.
	flush := func(last bool) error {
		if last {
			buf = append(buf, copyTrailer...)
		}
		if err := cp.write(buf); err != nil {
			// The server ended the statement: its error says why.
			s := cp
			cp = nil
			if ferr := s.finish(err); ferr != nil {
				return ferr
			}
			return err
		}
		sent += len(buf)
		buf = buf[:0]
		if !last {
			return nil
		}
		s := cp
		cp = nil
		return s.finish(nil)
	}
	for v := range w.values {
		r, err := w.rowOf(v)
		if err != nil {
			w.rowErr = err
			return err
		}
		if upsert {
			staged = append(append(staged[:0], r...), seq)
			r = staged
		}
		seq++
		if cp == nil {
			cp = startCopy(ctx, tx.Conn().PgConn(), stmt)
			buf, sent = append(buf, copyHeader...), 0
		}
		if buf, err = enc.appendRow(buf, r); err != nil {
			return err
		}
		if sent+len(buf) >= c.chunkBytes {
			if err := flush(true); err != nil {
				return err
			}
		} else if len(buf) >= copySendBytes {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	if cp == nil {
		return nil
	}
	return flush(true)
}

// rowOf returns v's row, checked against the columns; a panic of the row
// function becomes its error, as the runner does for a DoFn's panic.
func (w *writer[T]) rowOf(v T) (r []any, err error) {
	c := w.cfg
	if err := w.inject("process", w.epoch); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("postgres: table %s: panic in the row function: %v\n%s", c.tableName, p, debug.Stack())
		}
	}()
	r = w.row(v)
	if len(r) != len(c.columns) {
		return nil, fmt.Errorf("postgres: table %s: row %v has %d values for %d columns", c.tableName, r, len(r), len(c.columns))
	}
	return r, nil
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
