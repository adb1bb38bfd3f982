package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"reflect"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyChunkBytes is about how much COPY data one statement carries: an
// epoch's rows go in as several COPY statements of this size, all in the
// epoch's transaction. (The server gives each COPY its own small ring of
// buffers, reused while one statement lasts.)
const copyChunkBytes = 4 << 20

// copySendBytes is how much encoded data is handed to the connection at
// once: just under pgconn's 64 KiB CopyData message.
const copySendBytes = 60 << 10

// The binary COPY format's header (signature, flags, extension length)
// and trailer.
var (
	copyHeader  = []byte("PGCOPY\n\377\r\n\000\x00\x00\x00\x00\x00\x00\x00\x00")
	copyTrailer = []byte{0xff, 0xff}
)

// errCopyEnded unblocks a write to a COPY the server already ended.
var errCopyEnded = errors.New("postgres: the COPY ended")

// copyStream is one COPY ... FROM STDIN statement in flight: pgconn reads
// what write sends, on a goroutine of its own, until finish.
type copyStream struct {
	pw   *io.PipeWriter
	done chan error
}

// startCopy starts the statement sql on conn, which is busy until finish
// returns.
func startCopy(ctx context.Context, conn *pgconn.PgConn, sql string) *copyStream {
	pr, pw := io.Pipe()
	s := &copyStream{pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := conn.CopyFrom(ctx, pr, sql)
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.CloseWithError(errCopyEnded)
		}
		s.done <- err
	}()
	return s
}

// write sends b, once pgconn has read it; it fails if the statement ended
// (the server's error is finish's).
func (s *copyStream) write(b []byte) error {
	_, err := s.pw.Write(b)
	return err
}

// finish ends the statement and returns its error: with abort nil the
// data is complete, else the server is told the COPY failed.
func (s *copyStream) finish(abort error) error {
	if abort != nil {
		s.pw.CloseWithError(abort)
	} else {
		s.pw.Close()
	}
	return <-s.done
}

// rowEncoder appends rows in the binary COPY format, a value of each
// column encoded as pgx encodes it for CopyFrom. It keeps each column's
// encode plan for the Go type it last saw there, where pgx would look it
// up for every value.
type rowEncoder struct {
	m    *pgtype.Map
	cols []colEncoder
}

// colEncoder is a column's type and its cached plan.
type colEncoder struct {
	oid  uint32
	typ  reflect.Type
	plan pgtype.EncodePlan
}

func newRowEncoder(m *pgtype.Map, oids []uint32) *rowEncoder {
	e := &rowEncoder{m: m, cols: make([]colEncoder, len(oids))}
	for i, oid := range oids {
		e.cols[i].oid = oid
	}
	return e
}

// appendRow appends row, one value per column.
func (e *rowEncoder) appendRow(buf []byte, row []any) ([]byte, error) {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(row)))
	for i, v := range row {
		var err error
		if buf, err = e.cols[i].appendValue(e.m, buf, v); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// appendValue appends v's length (-1 for NULL) and bytes.
func (c *colEncoder) appendValue(m *pgtype.Map, buf []byte, v any) ([]byte, error) {
	sp := len(buf)
	buf = append(buf, 0xff, 0xff, 0xff, 0xff)
	if v == nil {
		return buf, nil
	}
	var out []byte
	var err error
	if t := reflect.TypeOf(v); t == c.typ {
		out, err = c.plan.Encode(v, buf)
	} else if plannable(t) {
		// pgx plans by the value's type; only values that may be nil
		// (pointers, slices, ...) need its per-value checks first.
		if plan := m.PlanEncode(c.oid, pgtype.BinaryFormatCode, v); plan != nil {
			c.typ, c.plan = t, plan
			out, err = plan.Encode(v, buf)
		} else {
			err = errNoPlan
		}
	} else {
		out, err = encodeCopyValue(m, buf, c.oid, v)
	}
	if err != nil {
		// pgx's own path, with its fallback and its error.
		if out, err = encodeCopyValue(m, buf, c.oid, v); err != nil {
			return nil, err
		}
	}
	if out == nil {
		return buf, nil // NULL
	}
	binary.BigEndian.PutUint32(out[sp:], uint32(len(out)-sp-4))
	return out, nil
}

var errNoPlan = errors.New("postgres: no encode plan")

// plannable reports whether values of type t are encoded by the plan for
// t alone: t's values cannot be nil.
func plannable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Map, reflect.Pointer, reflect.UnsafePointer, reflect.Interface, reflect.Slice:
		return false
	}
	return true
}

// encodeCopyValue appends v's bytes to buf as pgx's CopyFrom does (nil
// for NULL): with the type map, or, for a value the map cannot encode, by
// parsing its text form (a string, or the value encoded as text) as the
// column's type; if that fails too, the map's error is returned.
func encodeCopyValue(m *pgtype.Map, buf []byte, oid uint32, v any) ([]byte, error) {
	out, err := m.Encode(oid, pgtype.BinaryFormatCode, v, buf)
	if err == nil {
		return out, nil
	}
	if out, err2 := encodeAsText(m, buf, oid, v); err2 == nil {
		return out, nil
	}
	return nil, err
}

// encodeAsText encodes v by parsing its text form as the column's type.
func encodeAsText(m *pgtype.Map, buf []byte, oid uint32, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		text, err := m.Encode(oid, pgtype.TextFormatCode, v, nil)
		if err != nil {
			return nil, err
		}
		s = string(text)
	}
	if typ, ok := m.TypeForOID(oid); ok {
		if _, ok := typ.Codec.(*pgtype.ArrayCodec); ok {
			var arr pgtype.Array[any]
			if m.Scan(oid, pgtype.TextFormatCode, []byte(s), &arr) == nil {
				return m.Encode(oid, pgtype.BinaryFormatCode, arr, buf)
			}
		}
	}
	var parsed any
	if err := m.Scan(oid, pgtype.TextFormatCode, []byte(s), &parsed); err != nil {
		return nil, err
	}
	return m.Encode(oid, pgtype.BinaryFormatCode, parsed, buf)
}
