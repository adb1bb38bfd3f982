// Package snapbuf is the byte format of the runner's durable checkpoints:
// a Writer appends varints, byte strings, times and windows to a buffer,
// and a Reader reads them back with a sticky error, so that a decoder of a
// nested structure checks for failure once at its end instead of after
// every field. A truncated or corrupt buffer makes the Reader fail with
// ErrCorrupt; it never panics and never allocates more than the buffer
// holds.
package snapbuf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// ErrCorrupt is the error of a Reader whose buffer ended early or held a
// value that does not fit; use errors.Is.
var ErrCorrupt = errors.New("snapbuf: corrupt snapshot data")

// Writer appends snapshot fields to Buf. With To set, a long encoding
// streams out through a bounded Buf: Spill hands Buf's bytes to To once
// they reach SpillSize, and Flush hands over the rest.
type Writer struct {
	Buf []byte
	// To receives the spilled bytes; nil keeps everything in Buf.
	To io.Writer
	// err is the first error, To's or one given to Fail; bytes spilled
	// after it are dropped.
	err error
}

// SpillSize is how many bytes Spill lets Buf hold before it writes them
// to To.
const SpillSize = 256 << 10

// Spill writes Buf to To and empties it if it holds SpillSize bytes or
// more; without To it does nothing. Encoders of large parts call it
// between records.
func (w *Writer) Spill() {
	if w.To != nil && len(w.Buf) >= SpillSize {
		w.flush()
	}
}

// Flush writes what Buf holds to To, if set, and returns To's first
// error.
func (w *Writer) Flush() error {
	if w.To != nil && len(w.Buf) > 0 {
		w.flush()
	}
	return w.err
}

// Fail makes Flush return err, unless it has an error already: an
// encoder that could not read what it writes fails the snapshot.
func (w *Writer) Fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *Writer) flush() {
	if w.err == nil {
		_, w.err = w.To.Write(w.Buf)
	}
	w.Buf = w.Buf[:0]
}

// Uint appends an unsigned varint.
func (w *Writer) Uint(v uint64) { w.Buf = binary.AppendUvarint(w.Buf, v) }

// Int appends a signed varint.
func (w *Writer) Int(v int64) { w.Buf = binary.AppendVarint(w.Buf, v) }

// Bool appends one byte, 0 or 1.
func (w *Writer) Bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	w.Buf = append(w.Buf, b)
}

// Byte appends one byte (a set of flags, for example).
func (w *Writer) Byte(b byte) { w.Buf = append(w.Buf, b) }

// Bytes appends a length-prefixed byte string.
func (w *Writer) Bytes(b []byte) {
	w.Uint(uint64(len(b)))
	w.Buf = append(w.Buf, b...)
}

// String appends a length-prefixed string.
func (w *Writer) String(s string) {
	w.Uint(uint64(len(s)))
	w.Buf = append(w.Buf, s...)
}

// Time appends an event or processing time.
func (w *Writer) Time(t window.Time) { w.Int(int64(t)) }

// Window appends a window, the global window distinct from an interval
// window with the same bounds.
func (w *Writer) Window(win window.Window) {
	w.Bool(win.IsGlobal())
	if !win.IsGlobal() {
		w.Time(win.Start)
		w.Time(win.End)
	}
}

// Reader reads the fields a Writer wrote, in the same order. After the
// first failure every read returns a zero value and Err reports it.
type Reader struct {
	buf []byte
	err error
	// what names the structure being read, for errors.
	what string
}

// NewReader reads buf; what names its contents in errors ("reducer of
// stage s3").
func NewReader(buf []byte, what string) *Reader { return &Reader{buf: buf, what: what} }

// Err returns the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Len returns the bytes not read yet.
func (r *Reader) Len() int { return len(r.buf) }

// Fail records err as the reader's failure unless one is recorded already;
// decoders use it for values that parse but make no sense.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s: %w", r.what, fmt.Sprintf(format, args...), ErrCorrupt)
	}
}

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.Fail("bad varint at %d bytes from the end", len(r.buf))
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Int reads a signed varint.
func (r *Reader) Int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.Fail("bad varint at %d bytes from the end", len(r.buf))
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Count reads a count of things each at least min bytes long, failing if
// the rest of the buffer cannot hold that many: a corrupt count must not
// make the decoder allocate without bound.
func (r *Reader) Count(min int) int {
	n := r.Uint()
	if n > uint64(len(r.buf)/max(min, 1)) {
		r.Fail("count %d exceeds the %d bytes left", n, len(r.buf))
		return 0
	}
	return int(n)
}

// Bool reads a bool.
func (r *Reader) Bool() bool {
	if r.err != nil {
		return false
	}
	if len(r.buf) == 0 || r.buf[0] > 1 {
		r.Fail("bad bool")
		return false
	}
	v := r.buf[0] == 1
	r.buf = r.buf[1:]
	return v
}

// Byte reads one byte; a byte with any bit of mask set fails the reader
// (mask names the bits no valid value has).
func (r *Reader) Byte(mask byte) byte {
	if r.err != nil {
		return 0
	}
	if len(r.buf) == 0 || r.buf[0]&mask != 0 {
		r.Fail("bad flags byte")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

// Bytes reads a byte string; it aliases the reader's buffer.
func (r *Reader) Bytes() []byte {
	n := r.Count(1)
	if r.err != nil {
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// String reads a string.
func (r *Reader) String() string { return string(r.Bytes()) }

// Time reads a time.
func (r *Reader) Time() window.Time { return window.Time(r.Int()) }

// Window reads a window.
func (r *Reader) Window() window.Window {
	if r.Bool() {
		return window.Global()
	}
	start, end := r.Time(), r.Time()
	return window.Interval(start, end)
}

// Done fails the reader if bytes are left over, and returns Err.
func (r *Reader) Done() error {
	if r.err == nil && len(r.buf) > 0 {
		r.Fail("%d bytes left over", len(r.buf))
	}
	return r.err
}
