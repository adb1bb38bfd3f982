package snapbuf

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// fields writes records from to to-1 of every kind, spilling between
// them.
func fields(w *Writer, from, to int) {
	for i := from; i < to; i++ {
		w.Uint(uint64(i))
		w.Int(-int64(i))
		w.Bool(i%2 == 0)
		w.Bytes(bytes.Repeat([]byte{byte(i)}, i%97))
		w.String("key")
		w.Window(window.Window{Start: window.Time(i), End: window.Time(i + 10)})
		w.Spill()
	}
}

func TestSpilledWriterStreamsTheSameBytesThroughABoundedBuffer(t *testing.T) {
	var whole Writer
	fields(&whole, 0, 20000)
	if err := whole.Flush(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	spilled := Writer{To: &out}
	peak := 0
	for part := range 4 {
		fields(&spilled, part*5000, (part+1)*5000)
		peak = max(peak, cap(spilled.Buf))
	}
	if err := spilled.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(spilled.Buf) != 0 {
		t.Fatalf("Flush left %d bytes in Buf", len(spilled.Buf))
	}
	if !bytes.Equal(out.Bytes(), whole.Buf) {
		t.Fatalf("spilled %d bytes, differing from the %d written whole", out.Len(), len(whole.Buf))
	}
	if len(whole.Buf) < 4*SpillSize || peak > 2*SpillSize {
		t.Fatalf("the body (%d bytes) went through a buffer of %d bytes: not bounded by SpillSize %d", len(whole.Buf), peak, SpillSize)
	}
	r := NewReader(out.Bytes(), "spilled")
	for i := range 20000 {
		if r.Uint() != uint64(i) || r.Int() != -int64(i) || r.Bool() != (i%2 == 0) || len(r.Bytes()) != i%97 || r.String() != "key" || r.Window().Start != window.Time(i) {
			t.Fatalf("record %d read back wrong (err %v)", i, r.Err())
		}
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
}

type failAfter struct{ n int }

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n--; f.n < 0 {
		return 0, errFull
	}
	return len(p), nil
}

func TestSpillKeepsTheFirstWriteError(t *testing.T) {
	w := Writer{To: &failAfter{n: 1}}
	fields(&w, 0, 20000)
	if err := w.Flush(); !errors.Is(err, errFull) {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
	if cap(w.Buf) > 2*SpillSize {
		t.Fatalf("after the error Buf grew to %d bytes", cap(w.Buf))
	}
	// Without To, Spill keeps everything and Flush reports nothing.
	var mem Writer
	fields(&mem, 0, 100)
	if err := mem.Flush(); err != nil || len(mem.Buf) == 0 {
		t.Fatalf("Flush without To = %v with %d bytes kept", err, len(mem.Buf))
	}
}
