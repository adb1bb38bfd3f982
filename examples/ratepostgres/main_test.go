package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/postgres"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// dsnVar holds the test server's URL; make test sets it (scripts/postgres.sh).
const dsnVar = "BEAMGO_POSTGRES_DSN"

// testConn connects to the test server, or fails the test saying how to
// start one: this test never passes without a real server.
func testConn(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		t.Fatalf("%s is not set: this test needs a PostgreSQL server. Run it with one started for it:\n"+
			"\tscripts/postgres.sh go test ./examples/ratepostgres/\n"+
			"(it installs Debian's postgresql if missing and starts a throw-away server on 127.0.0.1), "+
			"or set %s to a server's URL", dsnVar, dsnVar)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v (is the server of scripts/postgres.sh still running?)", dsnVar, err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn, dsn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// failStatements makes the database reject the listed INSERT statements
// into table (counted from 1 by a sequence, which rollbacks do not undo),
// so that some epochs' transactions fail and their bundles are retried.
func failStatements(t *testing.T, conn *pgx.Conn, table string, which string) {
	t.Helper()
	seq, fn := pgx.Identifier{table + "_stmts"}.Sanitize(), pgx.Identifier{table + "_fail"}.Sanitize()
	mustExec(t, conn, "CREATE SEQUENCE "+seq)
	mustExec(t, conn, fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF nextval('%s') IN (%s) THEN
		RAISE EXCEPTION 'injected failure';
	END IF;
	RETURN NULL;
END $$`, fn, seq, which))
	mustExec(t, conn, fmt.Sprintf("CREATE TRIGGER fail BEFORE INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()", pgx.Identifier{table}.Sanitize(), fn))
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP TABLE "+pgx.Identifier{table}.Sanitize())
		conn.Exec(context.Background(), "DROP FUNCTION "+fn)
		conn.Exec(context.Background(), "DROP SEQUENCE "+seq)
		conn.Exec(context.Background(), "DELETE FROM "+postgres.DefaultEpochTable+" WHERE sink = $1", table)
	})
}

// reference computes what the table must hold once src has ended: the
// ticks counted per one-second window and key.
func reference(src unbounded.Rate, keys int64) []Count {
	var out []Count
	index := map[[2]int64]int{}
	for v := range src.Count {
		due := src.Start.Add(time.Duration(float64(v) / src.PerSecond * float64(time.Second)))
		w := due.UnixMilli() / 1000 * 1000
		k := [2]int64{w, v % keys}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Count{WindowMillis: w, Key: v % keys})
		}
		out[i].N++
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.WindowMillis, b.WindowMillis), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// The seed's job, with the source ending after 2 s of ticks and the
// database rejecting some of the sink's statements: the table ends exactly
// equal to the reference (each window's final count, nothing counted
// twice), and windows were updated while they filled (update mode).
func TestCountsInTableEqualReference(t *testing.T) {
	conn, dsn := testConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	table := fmt.Sprintf("ratecounts_%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	if err := CreateTable(ctx, conn, table); err != nil {
		t.Fatal(err)
	}
	failStatements(t, conn, table, "2, 4, 9")
	src := unbounded.Rate{PerSecond: 400, NumPartitions: 2, Start: time.Now().Truncate(time.Second), Count: 800}
	const keys = 7
	retries, err := Run(ctx, Job{Source: src, Keys: keys, EarlyEvery: 100 * time.Millisecond, DSN: dsn, Table: table, MaxAttempts: 8})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if retries == 0 {
		t.Errorf("no bundle was retried, though the database rejected statements")
	}
	got, err := ReadTable(ctx, conn, table)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(reference(src, keys), got); diff != "" {
		t.Errorf("table %s (-want +got):\n%s", table, diff)
	}
	var updates int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM "+postgres.DefaultEpochTable+" WHERE sink = $1 AND pane > 0", table).Scan(&updates)
	if err != nil {
		t.Fatal(err)
	}
	if updates == 0 {
		t.Errorf("every window was written once: no early panes, not update mode")
	}
}
