package state

import (
	"bytes"
	"cmp"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// FuzzKeyOrder checks the key encoding: byte order of encoded keys is the
// order of their fields (bytes, then times), no encoding is a prefix of
// another's for different fields, and window keys and timers decode to
// what was encoded.
func FuzzKeyOrder(f *testing.F) {
	f.Add([]byte("a"), []byte("a\x00"), int64(0), int64(-1), []byte("x"), []byte(""))
	f.Add([]byte{0, 1}, []byte{0}, int64(-9223372036854775), int64(9223372036854775), []byte{0xFF}, []byte{0, 0xFF})
	f.Fuzz(func(t *testing.T, k1, k2 []byte, t1, t2 int64, m1, m2 []byte) {
		a := appendTime(appendBytes(appendBytes(nil, k1), m1), window.Time(t1))
		b := appendTime(appendBytes(appendBytes(nil, k2), m2), window.Time(t2))
		want := cmp.Or(bytes.Compare(k1, k2), bytes.Compare(m1, m2), cmp.Compare(t1, t2))
		if got := bytes.Compare(a, b); got != want {
			t.Fatalf("compare(enc(%q,%q,%d), enc(%q,%q,%d)) = %d, want %d", k1, m1, t1, k2, m2, t2, got, want)
		}
		if want != 0 && (bytes.HasPrefix(a, b) || bytes.HasPrefix(b, a)) {
			t.Fatalf("enc(%q,%q,%d) and enc(%q,%q,%d) are prefixes", k1, m1, t1, k2, m2, t2)
		}
		w := window.Interval(window.Time(min(t1, t2)), window.Time(max(t1, t2)))
		if len(m2)%2 == 1 {
			w = window.Global()
		}
		gc, key, gotW, err := decodeWindowKey(windowKey(nil, window.Time(t1), k1, w))
		if err != nil || gc != window.Time(t1) || !bytes.Equal(key, k1) || gotW != w {
			t.Fatalf("window key round trip: %v %q %v %v", gc, key, gotW, err)
		}
		tm := Timer{TimerID: TimerID{Transform: TransformID(m1), Family: FamilyID(m2), Tag: string(k2), Key: k1, Window: w},
			Domain: EventTime, Fire: window.Time(t1), Hold: window.Time(t2), NoHold: t1 < t2}
		got, err := decodeTimer(encodeTimer(nil, tm))
		if err != nil || got.Fire != tm.Fire || got.Hold != tm.Hold || got.NoHold != tm.NoHold || got.Tag != tm.Tag ||
			got.Transform != tm.Transform || got.Family != tm.Family || !bytes.Equal(got.Key, tm.Key) || got.Window != w {
			t.Fatalf("timer round trip: %+v, %v; want %+v", got, err, tm)
		}
		// A key prefix followed by anything stays below prefixEnd.
		p := appendBytes(nil, k1)
		if end := prefixEnd(p); end != nil && bytes.Compare(append(p, m1...), end) >= 0 {
			t.Fatalf("prefixEnd(%q) = %q is not above its extensions", p, end)
		}
	})
}

// TestDecodeCorrupt checks that decoders refuse truncated input instead of
// panicking.
func TestDecodeCorrupt(t *testing.T) {
	tm := Timer{TimerID: TimerID{Transform: "t", Key: []byte("k"), Window: window.Global()}, Domain: EventTime}
	rec := encodeTimer(nil, tm)
	for n := range len(rec) {
		if _, err := decodeTimer(rec[:n]); err == nil {
			t.Errorf("decodeTimer of %d of %d bytes succeeded", n, len(rec))
		}
	}
	wk := windowKey(nil, 5, []byte("k"), window.Global())
	for n := range len(wk) {
		if _, _, _, err := decodeWindowKey(wk[:n]); err == nil {
			t.Errorf("decodeWindowKey of %d of %d bytes succeeded", n, len(wk))
		}
	}
}
