package operator

import (
	"bytes"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestValueEncoderHandsOnWhatTheBytesDecodeTo checks that NewValueEncoder's
// writer gets the bytes NewEncoder's would, and a header and element that
// decoding those bytes gives back; windows whose encoding would not give
// them back go to the bytes-only writer.
func TestValueEncoderHandsOnWhatTheBytesDecodeTo(t *testing.T) {
	kv := coder.NewKV(coder.Varint[int64](), coder.String())
	ops := OpsFor(kv)
	early := window.Pane{Timing: window.TimingEarly, Index: 2, IsFirst: false}
	cases := []struct {
		name     string
		interval bool
		v        window.Value[coder.KV[int64, string]]
		asIs     bool
	}{
		{"global", false, window.Value[coder.KV[int64, string]]{Timestamp: 7, Windows: window.GlobalWindows(), Elem: coder.KV[int64, string]{Key: -3, Value: "x"}}, true},
		{"sliding", true, window.Value[coder.KV[int64, string]]{Timestamp: 12_000, Windows: []window.Window{window.Interval(4_000, 14_000), window.Interval(6_000, 16_000), window.Interval(12_000, 22_000)}, Pane: early, Elem: coder.KV[int64, string]{Key: 1 << 40, Value: ""}}, true},
		{"no windows, interval", true, window.Value[coder.KV[int64, string]]{Timestamp: window.MinTime, Elem: coder.KV[int64, string]{Key: 1}}, true},
		{"interval window under the global coder", false, window.Value[coder.KV[int64, string]]{Timestamp: 1, Windows: []window.Window{window.Interval(0, 10)}, Elem: coder.KV[int64, string]{Key: 2}}, false},
		{"global window under the interval coder", true, window.Value[coder.KV[int64, string]]{Timestamp: 1, Windows: window.GlobalWindows(), Elem: coder.KV[int64, string]{Key: 2}}, false},
		{"no windows, global", false, window.Value[coder.KV[int64, string]]{Timestamp: 1, Elem: coder.KV[int64, string]{Key: 2}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []byte
			plain := ops.NewEncoder(c.interval, func(b []byte) error { want = append([]byte(nil), b...); return nil }).(Receiver[coder.KV[int64, string]])
			if err := plain.Receive(c.v); err != nil {
				t.Fatal(err)
			}
			var gotBytes []byte
			var gotValue *window.Value[[]byte]
			enc := ops.NewValueEncoder(c.interval,
				func(b []byte) error { gotBytes = append([]byte(nil), b...); return nil },
				func(b []byte, v window.Value[[]byte]) error {
					gotBytes = append([]byte(nil), b...)
					v.Windows = append([]window.Window(nil), v.Windows...)
					v.Elem = append([]byte(nil), v.Elem...)
					gotValue = &v
					return nil
				}).(Receiver[coder.KV[int64, string]])
			if err := enc.Receive(c.v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotBytes, want) {
				t.Fatalf("bytes %x, want %x", gotBytes, want)
			}
			if (gotValue != nil) != c.asIs {
				t.Fatalf("value writer called: %v, want %v", gotValue != nil, c.asIs)
			}
			if gotValue == nil {
				return
			}
			wc := coder.GlobalWindow()
			if c.interval {
				wc = coder.IntervalWindow()
			}
			dec, _, err := coder.NewWindowedValue(kv, wc).Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if gotValue.Timestamp != dec.Timestamp || gotValue.Pane != dec.Pane || !slices.Equal(gotValue.Windows, dec.Windows) {
				t.Fatalf("header %+v, decoded %+v", *gotValue, dec)
			}
			elem, n, err := kv.Decode(gotValue.Elem)
			if err != nil || n != len(gotValue.Elem) {
				t.Fatalf("element bytes %x: %d bytes decoded, %v", gotValue.Elem, n, err)
			}
			if elem != c.v.Elem {
				t.Fatalf("element %+v, want %+v", elem, c.v.Elem)
			}
			if !bytes.HasSuffix(want, gotValue.Elem) {
				t.Fatalf("element bytes %x are not the end of %x", gotValue.Elem, want)
			}
		})
	}
}
