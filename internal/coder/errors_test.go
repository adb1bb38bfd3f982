package coder

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// errKind says what a decoding error must wrap.
type errKind int

const (
	short   errKind = iota // io.ErrUnexpectedEOF: the input ended early
	corrupt                // ErrCorrupt: the input is malformed
	other                  // an error from user code
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func varintBytes(x int64) []byte { return appendVarint(nil, x) }

func int32Bytes(x int32) []byte { return appendInt32(nil, x) }

func TestDecodeErrors(t *testing.T) {
	rowc := Erase(mustOf[address](t))
	nullableRow := Erase(mustOf[struct{ P *int }](t))
	tests := []struct {
		name string
		c    Any
		src  []byte
		want errKind
	}{
		{"empty varint", Erase(Varint[int64]()), nil, short},
		{"varint without its last byte", Erase(Varint[int64]()), []byte{0x80, 0x80}, short},
		{"varint of eleven bytes", Erase(Varint[int64]()), cat(bytes.Repeat([]byte{0xff}, 10), []byte{1}), corrupt},
		{"varint overflowing in its tenth byte", Erase(Varint[int64]()), cat(bytes.Repeat([]byte{0xff}, 9), []byte{2}), corrupt},
		{"bytes shorter than their length", Erase(Bytes()), []byte{5, 'a'}, short},
		{"bytes with a length of 2^60", Erase(Bytes()), varintBytes(1 << 60), short},
		{"bytes with a negative length", Erase(Bytes()), varintBytes(-1), corrupt},
		{"string shorter than its length", Erase(String()), []byte{3, 'a', 'b'}, short},
		{"bool byte 2", Erase(Bool()), []byte{2}, corrupt},
		{"empty bool", Erase(Bool()), nil, short},
		{"double of seven bytes", Erase(Double()), make([]byte, 7), short},
		{"kv without its value", Erase(NewKV(String(), Varint[int]())), []byte{1, 'k'}, short},
		{"iterable count of -2", Erase(NewIterable(Varint[int]())), int32Bytes(-2), corrupt},
		{"iterable count beyond the input", Erase(NewIterable(Varint[int]())), cat(int32Bytes(1<<31-1), []byte{1, 2}), corrupt},
		{"iterable missing elements", Erase(NewIterable(Varint[int]())), cat(int32Bytes(3), []byte{1, 2}), short},
		{"zero-width iterable beyond the bound", Erase(NewIterable(GlobalWindow())), int32Bytes(maxZeroWidth + 1), corrupt},
		{"unknown-length iterable without an end", Erase(NewIterable(Varint[int]())), cat(int32Bytes(-1), []byte{2, 1, 1}), short},
		{"unknown-length iterable with a huge block", Erase(NewIterable(Varint[int]())), cat(int32Bytes(-1), varintBytes(1<<62)), corrupt},
		{"unknown-length iterable with a negative block", Erase(NewIterable(Varint[int]())), cat(int32Bytes(-1), varintBytes(-5)), corrupt},
		{"lazy iterable missing elements", Erase(NewIterSeq(String())), cat(int32Bytes(2), []byte{1, 'a'}), short},
		{"length prefix beyond the input", Erase(LengthPrefix(Varint[int]())), []byte{4, 1}, short},
		{"length prefix around trailing bytes", Erase(LengthPrefix(Varint[int]())), []byte{2, 1, 1}, corrupt},
		{"nullable marker 2", Erase(NewNullable(String())), []byte{2}, corrupt},
		{"interval window without its span", Erase(IntervalWindow()), appendTime(nil, 5), short},
		{"windowed value cut in the timestamp", Erase(NewWindowedValue(Bytes(), GlobalWindow())), []byte{0x80, 0}, short},
		{"windowed value with pane encoding 3", Erase(NewWindowedValue(Bytes(), GlobalWindow())), cat(appendTime(nil, 0), int32Bytes(1), []byte{0x3f, 0}), corrupt},
		{"windowed value without its element", Erase(NewWindowedValue(Bytes(), GlobalWindow())), cat(appendTime(nil, 0), int32Bytes(1), []byte{0x0f}), short},
		{"windowed value with negative window count", Erase(NewWindowedValue(Bytes(), IntervalWindow())), cat(appendTime(nil, 0), int32Bytes(-7)), corrupt},
		{"timer with clear bit 2", Erase(NewTimer(String(), GlobalWindow())), cat([]byte{1, 'k', 0}, int32Bytes(1), []byte{2}), corrupt},
		{"timer without its hold timestamp", Erase(NewTimer(String(), GlobalWindow())), cat([]byte{1, 'k', 0}, int32Bytes(1), []byte{0}, appendTime(nil, 1)), short},
		{"sharded key without its key", Erase(NewShardedKey(String())), []byte{1, 's'}, short},
		{"row with more fields than its schema", rowc, []byte{3, 0, 1, 'a', 1, 'b', 1, 'c'}, corrupt},
		{"row with 2^60 fields", rowc, cat(varintBytes(1<<60), []byte{0}), corrupt},
		{"row with a null non-nullable field", rowc, []byte{2, 1, 1, 1, 'b'}, corrupt},
		{"row with a bitmap beyond the input", rowc, []byte{2, 9, 1}, short},
		{"row missing a field", rowc, []byte{2, 0, 1, 'a'}, short},
		{"row with a truncated nullable field", nullableRow, []byte{1, 0}, short},
		{"byte array of the wrong length", mustErase[[4]byte](t), []byte{3, 1, 2, 3}, corrupt},
		{"array of the wrong length", mustErase[[2]int](t), cat(int32Bytes(3), []byte{1, 2, 3}), corrupt},
		{"map missing a value", mustErase[map[string]int](t), cat(int32Bytes(1), []byte{1, 'k'}), short},
		{"custom value that does not unmarshal", mustErase[version](t), []byte{3, 'a', '.', 'b'}, other},
		{"custom value beyond the input", mustErase[version](t), []byte{9, '1'}, short},
		{"pointer with marker 7", mustErase[*int](t), []byte{7}, corrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n, err := tt.c.DecodeAny(tt.src)
			if err == nil {
				t.Fatalf("DecodeAny(%x) = %v, %d, want an error", tt.src, v, n)
			}
			checkErrKind(t, err, tt.want)
			if _, err := tt.c.Skip(tt.src); err == nil {
				t.Errorf("Skip(%x) succeeded", tt.src)
			} else {
				checkErrKind(t, err, tt.want)
			}
		})
	}
}

func checkErrKind(t *testing.T, err error, want errKind) {
	t.Helper()
	isShort, isCorrupt := errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrCorrupt)
	switch {
	case want == short && !isShort:
		t.Errorf("error %q does not wrap io.ErrUnexpectedEOF", err)
	case want == corrupt && !isCorrupt:
		t.Errorf("error %q does not wrap ErrCorrupt", err)
	case want == other && (isShort || isCorrupt):
		t.Errorf("error %q wraps a decoding sentinel, want the user's error", err)
	}
}

func TestDecodeOuterErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Any
		src  []byte
		want errKind
	}{
		{"varint with a trailing byte", Erase(Varint[int]()), []byte{1, 1}, corrupt},
		{"null with a trailing byte", Erase(NewNullable(String())), []byte{0, 1}, corrupt},
		{"kv with a short key", Erase(NewKV(String(), Bytes())), []byte{9, 'a'}, short},
		{"windowed value with a trailing byte after the element", Erase(NewWindowedValue(Bool(), GlobalWindow())), cat(appendTime(nil, 0), int32Bytes(1), []byte{0x0f, 1, 0}), corrupt},
		{"byte array of the wrong length", mustErase[[2]byte](t), []byte{1, 2, 3}, corrupt},
		{"struct with a trailing byte", mustErase[address](t), []byte{2, 0, 0, 0, 9}, corrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.c.DecodeOuterAny(tt.src)
			if err == nil {
				t.Fatalf("DecodeOuterAny(%x) = %v, want an error", tt.src, v)
			}
			checkErrKind(t, err, tt.want)
		})
	}
}

// TestForgedLengthsFailFast decodes headers that claim enormous values and
// checks that decoding fails without allocating for them.
func TestForgedLengthsFailFast(t *testing.T) {
	dyn, err := FromSpec(Spec{URN: URNWindowedValue, Components: []Spec{
		{URN: URNIterable, Components: []Spec{{URN: URNKV, Components: []Spec{{URN: URNBytes}, {URN: URNStringUTF8}}}}},
		{URN: URNIntervalWindow},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    Any
		src  []byte
	}{
		{"bytes of 2^60", Erase(Bytes()), cat(varintBytes(1<<60), []byte("abc"))},
		{"string of 2^40", Erase(String()), cat(varintBytes(1<<40), []byte("abc"))},
		{"iterable of 2^31-1 structs", mustErase[[]customer](t), cat(int32Bytes(1<<31-1), make([]byte, 64))},
		{"lazy iterable of 2^31-1", Erase(NewIterSeq(Bytes())), cat(int32Bytes(1<<31-1), make([]byte, 64))},
		{"map of 2^31-1 entries", mustErase[map[string]string](t), cat(int32Bytes(1<<31-1), make([]byte, 64))},
		{"iterable block of 2^40", Erase(NewIterable(Bytes())), cat(int32Bytes(-1), varintBytes(1<<40), make([]byte, 64))},
		{"window list of 2^31-1", Erase(NewWindowedValue(Bytes(), IntervalWindow())), cat(appendTime(nil, 0), int32Bytes(1<<31-1), make([]byte, 64))},
		{"dynamic iterable of 2^31-1", dyn, cat(appendTime(nil, 0), int32Bytes(0), []byte{0x0f}, int32Bytes(1<<31-1), make([]byte, 64))},
		{"row bitmap of 2^50", mustErase[address](t), cat([]byte{2}, varintBytes(1<<50))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := tt.c.DecodeAny(tt.src)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("DecodeAny(%x) succeeded", tt.src)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
				t.Errorf("DecodeAny(%x) allocated %d bytes before failing", tt.src, got)
			}
		})
	}
}

func TestZeroWidthIterablesDecode(t *testing.T) {
	// Global windows take no bytes, so a valid iterable of them may count
	// more elements than it has bytes.
	c := NewIterable(GlobalWindow())
	ws := make([]window.Window, 1000)
	for i := range ws {
		ws[i] = window.Global()
	}
	enc := c.Encode(nil, ws)
	if len(enc) != 4 {
		t.Fatalf("Encode(1000 global windows) = %x, want 4 bytes", enc)
	}
	got, n, err := c.Decode(enc)
	if err != nil || n != 4 || len(got) != 1000 || got[999] != window.Global() {
		t.Errorf("Decode(%x) = %d windows, %d, %v", enc, len(got), n, err)
	}
}
