package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
	"github.com/jackc/pgx/v5"
)

// DSNVar is the environment variable that holds the test server's URL.
const dsnVar = "BEAMGO_POSTGRES_DSN"

// testDSN returns the test server's URL, or fails the test saying how to
// start one: these tests never pass without a real server.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		t.Fatalf("%s is not set: these tests need a PostgreSQL server. Run them with one started for them:\n"+
			"\tscripts/postgres.sh go test ./io/postgres/\n"+
			"(it installs Debian's postgresql if missing and starts a throw-away server on 127.0.0.1), "+
			"or set %s to a server's URL, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", dsnVar, dsnVar)
	}
	return dsn
}

// testDB connects to the test server and returns the connection and a
// name prefix unique to this test, dropping the test's tables at cleanup.
func testDB(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatalf("connect to %s: %v (is the server of scripts/postgres.sh still running?)", dsnVar, err)
	}
	prefix := fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	t.Cleanup(func() {
		rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE tablename LIKE $1", prefix+"%")
		if err == nil {
			names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, n := range names {
				conn.Exec(ctx, "DROP TABLE "+pgx.Identifier{n}.Sanitize())
			}
		}
		conn.Close(ctx)
	})
	return conn, prefix
}

func exec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// chaos fails, once each, a random share of the epochs' writes at a random
// point, and records how many failures it injected.
type chaos struct {
	// mu guards the fields below.
	mu       sync.Mutex
	rng      *rand.Rand
	decided  map[foreach.Epoch]string
	injected int
}

func newChaos(seed uint64) *chaos {
	return &chaos{rng: rand.New(rand.NewPCG(seed, 2)), decided: map[foreach.Epoch]string{}}
}

var errInjected = errors.New("injected failure")

var points = []string{"open", "process", "commit", "committed"}

// hook is an Options.hook: the first time it sees an epoch it picks a
// point to fail at (or none, half the time); it fails there once.
func (c *chaos) hook(point string, e foreach.Epoch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, seen := c.decided[e]
	if !seen {
		at = ""
		if c.rng.IntN(2) == 0 {
			at = points[c.rng.IntN(len(points))]
		}
		c.decided[e] = at
	}
	if at != point {
		return nil
	}
	c.decided[e] = "done"
	c.injected++
	return fmt.Errorf("%w at %s of %v", errInjected, point, e)
}

// event is a row; At is in Unix milliseconds (time.Time has no coder).
type event struct {
	ID   int64
	Name string
	At   int64
}

// runJob runs p on the local runner. A bundle holds many epochs, and each
// attempt fails at the next epoch the chaos picked, so the chaos tests
// need many attempts.
func runJob(t *testing.T, p *sdk.Pipeline, attempts int) error {
	t.Helper()
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: attempts}}).Run(context.Background(), p)
	return err
}

// A windowed batch job appends 3000 rows in 4 shards × 10 windows of
// epochs; writes fail at random points (before, during and after commit)
// and an upstream step fails too, and the table ends exactly equal to the
// input.
func TestAppendExactlyOnceUnderFailures(t *testing.T) {
	conn, prefix := testDB(t)
	table := prefix + "_events"
	exec(t, conn, "CREATE TABLE "+table+" (id bigint NOT NULL, name text NOT NULL, at timestamptz NOT NULL)")

	const n = 3000
	var want []event
	var stamps []window.Time
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		want = append(want, event{int64(i), fmt.Sprintf("e%d", i), at.UnixMilli()})
		stamps = append(stamps, window.FromTime(at))
	}
	ch := newChaos(42)
	var upstreamFailed sync.Map
	p := sdk.NewPipeline()
	s := p.Root()
	evs := sdk.CreateTimestamped(s, want, stamps)
	evs = sdk.Map(s, func(e event) event {
		if e.ID%700 == 0 {
			if _, again := upstreamFailed.LoadOrStore(e.ID, true); !again {
				panic(fmt.Sprintf("injected upstream failure at %d", e.ID))
			}
		}
		return e
	}, evs)
	evs = sdk.WindowInto(s, window.FixedFn(5*time.Minute), evs)
	Write(s, evs, func(e event) []any { return []any{e.ID, e.Name, time.UnixMilli(e.At)} }, Options{
		DSN: testDSN(t), Table: table, Columns: []string{"id", "name", "at"},
		EpochTable: prefix + "_epochs", Shards: 4, hook: ch.hook,
	})
	if err := runJob(t, p, 100); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ch.injected == 0 {
		t.Fatal("no failure was injected")
	}
	rows, err := conn.Query(context.Background(), "SELECT id, name, (extract(epoch FROM at) * 1000)::bigint FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[event])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("table holds %d rows, want %d: %s", len(got), len(want), diffEvents(want, got))
	}
	var epochs int
	conn.QueryRow(context.Background(), "SELECT count(*) FROM "+prefix+"_epochs").Scan(&epochs)
	if epochs != 40 {
		t.Errorf("epoch table has %d rows, want 40 (4 shards × 10 windows)", epochs)
	}
	t.Logf("%d failures injected in %d epochs", ch.injected, len(ch.decided))
}

func diffEvents(want, got []event) string {
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("row %d is %v, want %v", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

// The seed's example: a rate source keyed by value % 10 and counted in
// update mode (a running count per key, fired after every burst), upserted
// into a table by key; writes fail at random points, and the table ends
// with each key's final count.
func TestUpsertUpdateModeUnderFailures(t *testing.T) {
	conn, prefix := testDB(t)
	table := prefix + "_counts"
	exec(t, conn, "CREATE TABLE "+table+" (key bigint PRIMARY KEY, n bigint NOT NULL)")

	p := sdk.NewPipeline()
	s := p.Root()
	rate := sdk.NewTestStream[int64](s)
	for burst := range 8 {
		var vals []int64
		for i := range 25 {
			vals = append(vals, int64(burst*25+i))
		}
		rate.AddElements(vals...)
		rate.AdvanceProcessingTime(time.Second)
	}
	rate.AdvanceWatermarkToInfinity()
	keyed := sdk.Map(s, func(v int64) int64 { return v % 10 }, rate.Output())
	counts := sdk.CountElements(s, sdk.WindowInto(s, sdk.GlobalWindows(), keyed,
		sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1))), sdk.Accumulating()))
	ch := newChaos(7)
	Write(s, counts, func(kv sdk.KV[int64, int64]) []any { return []any{kv.Key, kv.Value} }, Options{
		DSN: testDSN(t), Table: table, Columns: []string{"key", "n"},
		Mode: Upsert, Key: []string{"key"}, Version: "n",
		EpochTable: prefix + "_epochs", Shards: 3, hook: ch.hook,
	})
	if err := runJob(t, p, 100); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ch.injected == 0 {
		t.Fatal("no failure was injected")
	}
	rows, err := conn.Query(context.Background(), "SELECT key, n FROM "+table+" ORDER BY key")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sdk.KV[int64, int64]])
	if err != nil {
		t.Fatal(err)
	}
	var want []sdk.KV[int64, int64]
	for k := range int64(10) {
		want = append(want, sdk.KV[int64, int64]{Key: k, Value: 20})
	}
	if !slices.Equal(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	t.Logf("%d failures injected in %d epochs", ch.injected, len(ch.decided))
}

// Upsert without Version: the last row of a key in an epoch wins, and
// rows of all-key tables are inserted once.
func TestUpsertLastRowOfEpochWins(t *testing.T) {
	conn, prefix := testDB(t)
	table := prefix + "_kv"
	exec(t, conn, "CREATE TABLE "+table+" (k text PRIMARY KEY, v text)")
	exec(t, conn, "INSERT INTO "+table+" VALUES ('a', 'old'), ('z', 'untouched')")
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, string]{{Key: "a", Value: "new"}, {Key: "b", Value: "x"}})
	Write(s, in, func(kv sdk.KV[string, string]) []any { return []any{kv.Key, kv.Value} }, Options{
		DSN: testDSN(t), Table: table, Columns: []string{"k", "v"}, Mode: Upsert, Key: []string{"k"},
		EpochTable: prefix + "_epochs",
	})
	if err := runJob(t, p, 1); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rows, _ := conn.Query(context.Background(), "SELECT k || '=' || v FROM "+table+" ORDER BY k")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a=new", "b=x", "z=untouched"}; !slices.Equal(got, want) {
		t.Errorf("table = %v, want %v", got, want)
	}
}

// A row the database rejects fails the job with a *RowError naming the
// table and the row, and the epoch writes nothing.
func TestRejectedRowIsNamed(t *testing.T) {
	for _, mode := range []Mode{Append, Upsert} {
		t.Run(mode.String(), func(t *testing.T) {
			conn, prefix := testDB(t)
			table := prefix + "_checked"
			exec(t, conn, "CREATE TABLE "+table+" (id bigint PRIMARY KEY, qty integer NOT NULL CHECK (qty >= 0))")
			p := sdk.NewPipeline()
			s := p.Root()
			in := sdk.Create(s, []int64{1, 2, 3, 4, 5})
			Write(s, in, func(v int64) []any {
				qty := v * 10
				if v == 4 {
					qty = -1
				}
				return []any{v, qty}
			}, Options{DSN: testDSN(t), Table: table, Columns: []string{"id", "qty"},
				Mode: mode, Key: []string{"id"}, EpochTable: prefix + "_epochs"})
			err := runJob(t, p, 2)
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("Run error = %v, want a *RowError", err)
			}
			if re.Table != table || !slices.Equal(re.Row, []any{int64(4), int64(-1)}) {
				t.Errorf("RowError names table %q row %v, want %q [4 -1]", re.Table, re.Row, table)
			}
			for _, want := range []string{table, "[4 -1]", "check"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			var rows int
			conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&rows)
			if rows != 0 {
				t.Errorf("table has %d rows after the failed epoch, want 0", rows)
			}
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"a missing table is refused", Options{DSN: "postgres://x@127.0.0.1/db", Columns: []string{"a"}}, "need DSN, Table and Columns"},
		{"upsert without key is refused", Options{DSN: "postgres://x@127.0.0.1/db", Table: "t", Columns: []string{"a"}, Mode: Upsert}, "Upsert needs Key"},
		{"a key outside the columns is refused", Options{DSN: "postgres://x@127.0.0.1/db", Table: "t", Columns: []string{"a"}, Mode: Upsert, Key: []string{"b"}}, `Key column "b"`},
		{"a bad DSN is refused", Options{DSN: "postgres://x@127.0.0.1:notaport/db", Table: "t", Columns: []string{"a"}}, "DSN"},
		{"a negative retention is refused", Options{DSN: "postgres://x@127.0.0.1/db", Table: "t", Columns: []string{"a"}, EpochRetention: -time.Second}, "EpochRetention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			Write(s, sdk.Create(s, []int{1}), func(v int) []any { return []any{v} }, tc.opts)
			if err := p.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("construction error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A server that cannot be reached fails the job with the connection error.
func TestUnreachableServer(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	Write(s, sdk.Create(s, []int{1}), func(v int) []any { return []any{v} }, Options{
		DSN: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2", Table: "t", Columns: []string{"a"},
	})
	err := runJob(t, p, 1)
	if err == nil || !strings.Contains(err.Error(), "postgres: connect") {
		t.Errorf("Run error = %v, want a connection error", err)
	}
}

// Two attempts of one epoch that both found it unwritten (a worker
// presumed dead that still runs): the second to commit finds the first's
// record under the epoch's lock and writes nothing.
func TestOverlappingAttemptsOfAnEpoch(t *testing.T) {
	conn, prefix := testDB(t)
	table := prefix + "_t"
	exec(t, conn, "CREATE TABLE "+table+" (v bigint)")
	cfg, err := newConfig(Options{DSN: testDSN(t), Table: table, Columns: []string{"v"}, EpochTable: prefix + "_epochs"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := foreach.Epoch{Shard: 1, Window: window.Global(), Pane: 3}
	attempt := func() *writer[int64] {
		w := &writer[int64]{cfg: cfg, row: func(v int64) []any { return []any{v} }}
		if err := w.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Teardown(ctx) })
		if write, err := w.Open(ctx, e); err != nil || !write {
			t.Fatalf("Open = %v, %v; want true", write, err)
		}
		for v := range int64(3) {
			w.Process(ctx, v)
		}
		return w
	}
	a, b := attempt(), attempt()
	for _, w := range []*writer[int64]{a, b} {
		if err := w.Close(ctx, nil); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	var n int
	conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	if n != 3 {
		t.Errorf("table has %d rows, want 3 (one attempt's)", n)
	}
}

// With EpochRetention, a commit deletes the sink's epoch records older
// than the retention, and only the sink's own; without it, none.
func TestEpochRetentionPrunesOldRecords(t *testing.T) {
	conn, prefix := testDB(t)
	table, epochs := prefix+"_rows", prefix+"_epochs"
	exec(t, conn, "CREATE TABLE "+table+" (v bigint NOT NULL)")
	job := func(from int64, retention time.Duration) {
		t.Helper()
		p := sdk.NewPipeline()
		s := p.Root()
		// Each job's rows are in a window of their own, so its epoch is new.
		at := window.FromTime(time.Date(2026, 1, 1, int(from), 0, 0, 0, time.UTC))
		in := sdk.WindowInto(s, window.FixedFn(time.Minute), sdk.CreateTimestamped(s, []int64{from, from + 1, from + 2}, []window.Time{at, at, at}))
		Write(s, in, func(v int64) []any { return []any{v} }, Options{
			DSN: testDSN(t), Table: table, Columns: []string{"v"},
			EpochTable: epochs, EpochRetention: retention,
		})
		if err := runJob(t, p, 1); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	count := func(where string) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+epochs+" WHERE "+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	job(0, 0)
	if n := count("true"); n != 1 {
		t.Fatalf("%d epoch records after the first job, want 1", n)
	}
	// Age the record, and add an old one of another sink.
	exec(t, conn, "UPDATE "+epochs+" SET committed_at = now() - interval '2 hours'")
	exec(t, conn, "INSERT INTO "+epochs+" (sink, shard, window_key, pane, committed_at) VALUES ('other', 0, 'w', 0, now() - interval '2 hours')")
	job(10, 0)
	if n := count("committed_at < now() - interval '1 hour'"); n != 2 {
		t.Fatalf("%d old records after a job without retention, want 2 (nothing pruned)", n)
	}
	exec(t, conn, "UPDATE "+epochs+" SET committed_at = now() - interval '2 hours' WHERE sink <> 'other'")
	job(20, time.Hour)
	if n := count("sink <> 'other'"); n != 1 {
		t.Errorf("%d records of the sink after a job with 1h retention, want 1 (its own new epoch)", n)
	}
	if n := count("sink <> 'other' AND committed_at > now() - interval '1 hour'"); n != 1 {
		t.Errorf("the sink's new epoch record is missing")
	}
	if n := count("sink = 'other'"); n != 1 {
		t.Errorf("%d records of another sink, want 1: pruning must keep other sinks' records", n)
	}
	var rows int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 9 {
		t.Errorf("%d rows, want 9", rows)
	}
}
