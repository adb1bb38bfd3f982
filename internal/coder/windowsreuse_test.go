package coder

import (
	"iter"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestDecodeReusingMatchesDecode checks DecodeReusing against Decode on
// random windowed values in interval and global windows, each decoded into
// the previous value's windows, and that it then allocates no windows.
func TestDecodeReusingMatchesDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		name   string
		wc     Coder[window.Window]
		window func() window.Window
	}{
		{"interval", IntervalWindow(), func() window.Window {
			s := window.Time(r.Int64N(1<<40) - 1<<39)
			return window.Interval(s, s+window.Time(r.Int64N(1<<20)))
		}},
		{"global", GlobalWindow(), window.Global},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewWindowedValue(NewKV(Varint[int64](), Bytes()), tc.wc)
			re := c.(WindowsReuser[KV[int64, []byte]])
			var ws []window.Window
			var buf []byte
			for range propertyRuns {
				n := 1 + r.IntN(6)
				if tc.name == "global" {
					n = 1
				}
				v := window.Value[KV[int64, []byte]]{
					Elem:      KV[int64, []byte]{Key: r.Int64(), Value: []byte("v")},
					Timestamp: window.Time(r.Int64N(1 << 40)),
					Pane:      window.Pane{Index: r.Int64N(4), IsFirst: r.IntN(2) == 0},
				}
				for range n {
					v.Windows = append(v.Windows, tc.window())
				}
				buf = c.Encode(buf[:0], v)
				want, wn, err := c.Decode(buf)
				if err != nil {
					t.Fatal(err)
				}
				got, gn, err := re.DecodeReusing(buf, ws)
				if err != nil {
					t.Fatal(err)
				}
				if gn != wn || !cmp.Equal(got, want, roundTripOpts...) {
					t.Fatalf("DecodeReusing: %v (%d bytes), Decode: %v (%d bytes)", got, gn, want, wn)
				}
				if cap(ws) >= len(got.Windows) && len(got.Windows) > 0 && &ws[:1][0] != &got.Windows[0] {
					t.Fatalf("windows decoded into new memory though %d fit", cap(ws))
				}
				ws = got.Windows
			}
			if tc.name == "global" && slices.Equal(ws, window.GlobalWindows()) && &ws[0] == &window.GlobalWindows()[0] {
				t.Fatal("decoded into the shared global window list")
			}
			if _, _, err := re.DecodeReusing(buf[:len(buf)-3], ws); err == nil {
				t.Fatal("DecodeReusing of cut bytes: no error")
			}
		})
	}
}

// TestIterSeqDecodeAllocatesOnce checks that decoding an iterable as an
// iter.Seq allocates one closure, and that the sequence yields the values.
func TestIterSeqDecodeAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := NewIterSeq(Varint[int64]())
	b := c.Encode(nil, slices.Values([]int64{1, 2, 3}))
	var seq iter.Seq[int64]
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if seq, _, err = c.Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per decoded iterable, want 1", allocs)
	}
	if got := slices.Collect(seq); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("decoded %v, want [1 2 3]", got)
	}
}
