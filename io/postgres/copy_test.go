package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The row encoder's bytes are pgx's for every value, also when a column's
// values change type (its cached plan must not be used for another type),
// for NULLs, nil pointers and values encoded through their text form.
func TestRowEncoderMatchesPgx(t *testing.T) {
	m := pgtype.NewMap()
	n := int64(7)
	var nilPtr *int64
	at := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	cols := []struct {
		oid    uint32
		values []any
	}{
		{pgtype.Int8OID, []any{int64(1), int32(2), nil, int64(-3), &n, nilPtr, int(4), "5", int64(6)}},
		{pgtype.TextOID, []any{"a", "", nil, "ünï", []byte("raw"), "b"}},
		{pgtype.Float8OID, []any{1.5, float32(2.5), nil, 3.25}},
		{pgtype.Int4OID, []any{int32(1), int64(2), "3", nil, int32(4)}},
		{pgtype.NumericOID, []any{"12.345", int64(6), 7.5, nil, "8"}},
		{pgtype.TimestamptzOID, []any{at, nil, at.Add(time.Hour)}},
		{pgtype.Int8ArrayOID, []any{[]int64{1, 2}, nil, []int64{}, "{3,4}"}},
		{pgtype.BoolOID, []any{true, false, nil, true}},
	}
	for _, col := range cols {
		var oids []uint32
		for range col.values {
			oids = append(oids, col.oid)
		}
		// One encoder column sees all the values in turn (a cached plan,
		// then another type); each value is also a row of its own.
		enc := newRowEncoder(m, []uint32{col.oid})
		for _, v := range col.values {
			got, err := enc.appendRow([]byte("x"), []any{v})
			if err != nil {
				t.Errorf("oid %d: encode %T %v: %v", col.oid, v, v, err)
				continue
			}
			want := binary.BigEndian.AppendUint16([]byte("x"), 1)
			sp := len(want)
			want = append(want, 0xff, 0xff, 0xff, 0xff)
			ref, err := encodeCopyValue(m, want, col.oid, v)
			if err != nil {
				t.Fatalf("oid %d: pgx's encoding of %T %v: %v", col.oid, v, v, err)
			}
			if ref != nil {
				want = ref
				binary.BigEndian.PutUint32(want[sp:], uint32(len(want)-sp-4))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("oid %d: %T %v encoded as %x, want %x", col.oid, v, v, got, want)
			}
		}
		// The whole column as one row.
		if _, err := newRowEncoder(m, oids).appendRow(nil, col.values); err != nil {
			t.Errorf("oid %d: row %v: %v", col.oid, col.values, err)
		}
	}
	if _, err := newRowEncoder(m, []uint32{pgtype.Int8OID}).appendRow(nil, []any{struct{ A int }{1}}); err == nil {
		t.Errorf("a struct encoded as int8 without error")
	}
	if _, err := newRowEncoder(m, []uint32{pgtype.Int8OID}).appendRow(nil, []any{"not a number"}); err == nil {
		t.Errorf("\"not a number\" encoded as int8 without error")
	}
}

// typed is a row of many column types, some NULL.
type typed struct {
	ID   int64
	I4   int32
	F    float64
	S    string
	B    bool
	At   int64 // Unix milliseconds
	Arr  []int64
	Raw  []byte
	Num  string
	Null bool
}

func (r typed) values() []any {
	at := time.UnixMilli(r.At).UTC()
	v := []any{r.ID, r.I4, r.F, r.S, r.B, at, r.Arr, r.Raw, r.Num, fmt.Sprintf(`{"id": %d}`, r.ID)}
	if r.Null {
		v[2], v[3], v[6], v[7] = nil, nil, nil, nil
		var p *float64
		v[2] = p
	}
	return v
}

// Rows of many types written by Write (in COPY statements of about 2 KiB)
// are the rows pgx's CopyFrom writes.
func TestCopyMatchesPgxCopyFrom(t *testing.T) {
	conn, prefix := testDB(t)
	ours, theirs := prefix+"_ours", prefix+"_theirs"
	const ddl = ` (id bigint, i4 integer, f double precision, s text, b boolean, at timestamptz,
		arr bigint[], raw bytea, num numeric, doc jsonb)`
	exec(t, conn, "CREATE TABLE "+ours+ddl)
	exec(t, conn, "CREATE TABLE "+theirs+ddl)
	cols := []string{"id", "i4", "f", "s", "b", "at", "arr", "raw", "num", "doc"}
	var in []typed
	var rows [][]any
	for i := range 2000 {
		r := typed{ID: int64(i), I4: int32(-i), F: float64(i) / 7, S: fmt.Sprintf("s%d'\"\\\t", i), B: i%2 == 0,
			At: 1_700_000_000_000 + int64(i)*1000, Arr: []int64{int64(i), 2}, Raw: []byte{byte(i), 0, 255},
			Num: fmt.Sprintf("%d.%03d", i, i%1000), Null: i%5 == 0}
		in = append(in, r)
		rows = append(rows, r.values())
	}
	ctx := context.Background()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{theirs}, cols, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	p := sdk.NewPipeline()
	s := p.Root()
	Write(s, sdk.Create(s, in), typed.values, Options{
		DSN: testDSN(t), Table: ours, Columns: cols, EpochTable: prefix + "_epochs", Shards: 2, chunkBytes: 2048,
	})
	if err := runJob(t, p, 1); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, q := range []string{
		"SELECT count(*) FROM (SELECT * FROM " + ours + " EXCEPT ALL SELECT * FROM " + theirs + ") d",
		"SELECT count(*) FROM (SELECT * FROM " + theirs + " EXCEPT ALL SELECT * FROM " + ours + ") d",
	} {
		var n int
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows differ: %s", n, q)
		}
	}
	var n int
	conn.QueryRow(ctx, "SELECT count(*) FROM "+ours).Scan(&n)
	if n != len(in) {
		t.Errorf("table has %d rows, want %d", n, len(in))
	}
}

// A global-window epoch (the batched path of foreach) of 20000 rows goes in
// as many small COPY statements; writes and an upstream step fail at
// random points, and the table ends exactly equal to the input.
func TestAppendInChunksUnderFailures(t *testing.T) {
	conn, prefix := testDB(t)
	table := prefix + "_chunked"
	exec(t, conn, "CREATE TABLE "+table+" (id bigint NOT NULL, name text NOT NULL)")
	const n = 20000
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	ch := newChaos(7)
	var upstreamFailed sync.Map
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Map(s, func(id int64) int64 {
		if id%4999 == 0 {
			if _, again := upstreamFailed.LoadOrStore(id, true); !again {
				panic(fmt.Sprintf("injected upstream failure at %d", id))
			}
		}
		return id
	}, sdk.Create(s, ids))
	Write(s, in, func(id int64) []any { return []any{id, fmt.Sprintf("name-%d", id)} }, Options{
		DSN: testDSN(t), Table: table, Columns: []string{"id", "name"},
		EpochTable: prefix + "_epochs", Shards: 3, hook: ch.hook, chunkBytes: 4096,
	})
	if err := runJob(t, p, 100); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rows, err := conn.Query(context.Background(), "SELECT id FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("table holds %d rows, want %d (ids 0..%d once each)", len(got), n, n-1)
	}
	var epochs int
	conn.QueryRow(context.Background(), "SELECT count(*) FROM "+prefix+"_epochs").Scan(&epochs)
	if epochs != 3 {
		t.Errorf("epoch table has %d rows, want 3 (one per shard)", epochs)
	}
	t.Logf("%d failures injected in %d epochs", ch.injected, len(ch.decided))
}

// In Upsert mode the last row of a key in an epoch wins also when the
// epoch's rows span many COPY statements: the rows' sequence numbers run
// on across statements.
func TestUpsertLastRowWinsAcrossChunks(t *testing.T) {
	conn, prefix := testDB(t)
	table := prefix + "_kv"
	exec(t, conn, "CREATE TABLE "+table+" (k bigint PRIMARY KEY, v bigint)")
	cfg, err := newConfig(Options{DSN: testDSN(t), Table: table, Columns: []string{"k", "v"},
		Mode: Upsert, Key: []string{"k"}, EpochTable: prefix + "_epochs", chunkBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := &writer[int64]{cfg: cfg, row: func(v int64) []any { return []any{v % 10, v} }}
	if err := w.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Teardown(ctx)
	if write, err := w.Open(ctx, foreach.Epoch{Window: window.Global()}); err != nil || !write {
		t.Fatalf("Open = %v, %v; want true", write, err)
	}
	// Descending, so that each key's last row has its smallest value.
	for v := int64(999); v >= 0; v-- {
		w.Process(ctx, v)
	}
	if err := w.Close(ctx, nil); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rows, _ := conn.Query(ctx, "SELECT v FROM "+table+" ORDER BY k")
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("values %v, want each key's last row %v", got, want)
	}
}
