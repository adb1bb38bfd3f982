// Package postgres writes a collection into a PostgreSQL table exactly once,
// on the epochs of io/foreach: each epoch (shard, window, pane) is written
// in one transaction that also records the epoch in a table of its own, so
// an epoch replayed after a failure finds its record and writes nothing.
//
//	postgres.Write(s, counts, func(c sdk.KV[string, int64]) []any {
//		return []any{c.Key, c.Value}
//	}, postgres.Options{
//		DSN: dsn, Table: "counts", Columns: []string{"word", "n"},
//		Mode: postgres.Upsert, Key: []string{"word"},
//	})
//
// # Modes
//
// Append (Spark's append output mode) inserts every row, with COPY. Upsert
// (Spark's update mode) inserts a row or, when a row with the same Key
// columns exists, updates it; within one epoch the last row of a key wins.
// Upsert shards rows by their key columns, so all updates of a key go
// through one shard. Set Options.Version to a column that grows with each
// update of a key (a running count, an event time): the runner may deliver
// a key's updates in another order than they were made, and Version keeps
// the newest.
//
// # The epoch table
//
// Options.EpochTable (default beamgo_sink_epochs) holds one row per
// committed epoch: (sink, shard, window_key, pane, committed_at). Write
// creates it if it is missing. A transaction-scoped advisory lock on the
// epoch serialises two attempts of one epoch that overlap (a worker
// presumed dead that is still running). The table keeps every record
// unless Options.EpochRetention is set: then commits delete the sink's
// records older than that, which must outlast any replay of their epochs.
//
// # Errors
//
// A row the database rejects (a constraint, a type it cannot convert)
// fails the bundle with a *RowError naming the table, the row's values and
// the database's message; the job fails once the runner's attempts are
// spent. Find it with errors.As. Connection errors are wrapped as they are.
package postgres
