package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/jackc/pgx/v5"
)

// Mode says how rows reach the table.
type Mode int

const (
	// Append inserts every row.
	Append Mode = iota
	// Upsert inserts a row, or updates the row with the same Key columns.
	Upsert
)

// String returns "append" or "upsert".
func (m Mode) String() string {
	if m == Upsert {
		return "upsert"
	}
	return "append"
}

// DefaultEpochTable is the table that records committed epochs unless
// Options.EpochTable names another.
const DefaultEpochTable = "beamgo_sink_epochs"

// Options configure Write.
type Options struct {
	// DSN is the server's connection string (a postgres:// URL or
	// key=value pairs, as pgx.ParseConfig reads them). Required.
	DSN string
	// Table is the target table, optionally schema-qualified
	// ("public.counts"). It must exist. Required.
	Table string
	// Columns are the table's columns that the row function fills, in its
	// order. Required.
	Columns []string
	// Mode is Append (the default) or Upsert.
	Mode Mode
	// Key are the columns of Columns that identify a row for Upsert; the
	// table needs a unique index or primary key on exactly them.
	Key []string
	// Version, for Upsert, names a column of Columns whose value grows
	// with each update of a key (a running count, an event time, a
	// pane): a row replaces the stored one only if its Version is
	// greater, and within an epoch the greatest Version of a key wins.
	// Without it the rows of an epoch win over the stored ones, and the
	// last row of a key in an epoch wins; but a runner may deliver the
	// updates of a key in another order than they were made (two epochs
	// of a shard at once, values of a group in any order).
	Version string
	// EpochTable records committed epochs (default DefaultEpochTable).
	EpochTable string
	// EpochRetention, when positive, bounds the epoch table: after a
	// commit, a writer deletes this sink's records committed more than
	// EpochRetention ago (at most once per tenth of it, one writer at a
	// time), as Spark keeps only its latest batches' commit log. An epoch
	// replayed after its record is gone is written again, so it must
	// exceed the longest time from an epoch's commit to a replay of it: a
	// bundle's retries, and a restart from the oldest checkpoint kept.
	// Zero (the default) keeps every record.
	EpochRetention time.Duration
	// SinkID names this sink in the epoch table (default: Table). Two
	// sinks writing one table need different SinkIDs.
	SinkID string
	// Shards is how many transactions may write at once (default 1); see
	// foreach.Options.
	Shards int
	// Trigger, when set, decides how often epochs are cut from the input;
	// see foreach.Options.
	Trigger *sdk.Trigger
	// Name names the transform (default "postgres.Write").
	Name string

	// hook, in tests, injects failures at the named points of an epoch's
	// write: "open", "process", "commit" (before) and "committed" (after).
	hook func(point string, e foreach.Epoch) error
	// chunkBytes, in tests, replaces copyChunkBytes.
	chunkBytes int
}

// config is the checked, immutable form of Options that writers share.
type config struct {
	dsn        string
	table      pgx.Identifier
	tableName  string
	columns    []string
	mode       Mode
	keyIdx     []int
	epochTable pgx.Identifier
	sinkID     string
	retention  time.Duration
	hook       func(point string, e foreach.Epoch) error
	// chunkBytes is about how much data one COPY statement carries.
	chunkBytes int

	// The statements, built once.
	insertRow, upsertFromStage, upsertRow, stageTable, epochInsert, epochSelect, epochDDL, epochPrune string
	// describe selects the columns, for their types; copyTable and
	// copyStage are the binary COPY statements into the table and into
	// the stage.
	describe, copyTable, copyStage string
}

// ident splits a possibly schema-qualified name into an identifier.
func ident(name string) pgx.Identifier { return pgx.Identifier(strings.Split(name, ".")) }

// newConfig checks o and builds the statements.
func newConfig(o Options) (*config, error) {
	if o.DSN == "" || o.Table == "" || len(o.Columns) == 0 {
		return nil, errors.New("postgres: Options need DSN, Table and Columns")
	}
	if _, err := pgx.ParseConfig(o.DSN); err != nil {
		return nil, fmt.Errorf("postgres: DSN: %w", err)
	}
	c := &config{
		dsn: o.DSN, table: ident(o.Table), tableName: o.Table, columns: o.Columns,
		mode: o.Mode, epochTable: ident(cmpOr(o.EpochTable, DefaultEpochTable)),
		sinkID: cmpOr(o.SinkID, o.Table), retention: o.EpochRetention, hook: o.hook,
		chunkBytes: o.chunkBytes,
	}
	if c.chunkBytes <= 0 {
		c.chunkBytes = copyChunkBytes
	}
	if o.EpochRetention < 0 {
		return nil, fmt.Errorf("postgres: EpochRetention %v is negative", o.EpochRetention)
	}
	if o.Mode == Upsert {
		if len(o.Key) == 0 {
			return nil, errors.New("postgres: Upsert needs Key columns")
		}
		if o.Version != "" && !slices.Contains(o.Columns, o.Version) {
			return nil, fmt.Errorf("postgres: Version column %q is not in Columns", o.Version)
		}
		for _, k := range o.Key {
			i := slices.Index(o.Columns, k)
			if i < 0 {
				return nil, fmt.Errorf("postgres: Key column %q is not in Columns", k)
			}
			c.keyIdx = append(c.keyIdx, i)
		}
	}
	c.buildStatements(o.Key, o.Version)
	return c, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// stageName is the temporary table an upsert epoch is copied into first.
const stageName = "beamgo_stage"

// seqColumn numbers the staged rows, so that the last row of a key wins.
const seqColumn = "beamgo_seq"

// buildStatements builds the SQL of c once, with quoted identifiers.
func (c *config) buildStatements(key []string, version string) {
	cols := quoteAll(c.columns)
	tbl := c.table.Sanitize()
	params := make([]string, len(c.columns))
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	c.describe = fmt.Sprintf("SELECT %s FROM %s", cols, tbl)
	c.copyTable = fmt.Sprintf("COPY %s (%s) FROM STDIN BINARY", tbl, cols)
	c.copyStage = fmt.Sprintf("COPY %s (%s, %s) FROM STDIN BINARY", stageName, cols, seqColumn)
	c.insertRow = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", tbl, cols, strings.Join(params, ", "))
	if c.mode == Upsert {
		keys := quoteAll(key)
		conflict := "ON CONFLICT (" + keys + ") " + c.onConflict(key)
		order := keys + ", " + seqColumn + " DESC"
		if version != "" {
			v := pgx.Identifier{version}.Sanitize()
			if !strings.HasSuffix(conflict, "DO NOTHING") {
				conflict += fmt.Sprintf(" WHERE %s.%s < EXCLUDED.%s", tbl, v, v)
			}
			order = keys + ", " + v + " DESC, " + seqColumn + " DESC"
		}
		c.upsertRow = c.insertRow + " " + conflict
		c.stageTable = fmt.Sprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT %s, 0::bigint AS %s FROM %s WITH NO DATA",
			stageName, cols, seqColumn, tbl)
		c.upsertFromStage = fmt.Sprintf("INSERT INTO %s (%s) SELECT DISTINCT ON (%s) %s FROM %s ORDER BY %s %s",
			tbl, cols, keys, cols, stageName, order, conflict)
	}
	et := c.epochTable.Sanitize()
	c.epochDDL = fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	sink text NOT NULL, shard integer NOT NULL, window_key text NOT NULL, pane bigint NOT NULL,
	committed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (sink, shard, window_key, pane))`, et)
	c.epochSelect = fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE sink = $1 AND shard = $2 AND window_key = $3 AND pane = $4)", et)
	c.epochInsert = fmt.Sprintf("INSERT INTO %s (sink, shard, window_key, pane) VALUES ($1, $2, $3, $4)", et)
	c.epochPrune = fmt.Sprintf("DELETE FROM %s WHERE sink = $1 AND committed_at < now() - make_interval(secs => $2)", et)
}

// onConflict returns the DO clause of an upsert: update every non-key
// column, or nothing when all columns are keys.
func (c *config) onConflict(key []string) string {
	var sets []string
	for _, col := range c.columns {
		if !slices.Contains(key, col) {
			q := pgx.Identifier{col}.Sanitize()
			sets = append(sets, q+" = EXCLUDED."+q)
		}
	}
	if len(sets) == 0 {
		return "DO NOTHING"
	}
	return "DO UPDATE SET " + strings.Join(sets, ", ")
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}
