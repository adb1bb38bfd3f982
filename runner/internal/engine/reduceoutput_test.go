package engine

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// Runs added to blocks (and values added one at a time) read back whole,
// before and after the blocks are reset for reuse.
func TestBlocksKeepRunsWhole(t *testing.T) {
	var b blocks[byte]
	type run struct{ blk, off uint32 }
	var runs []run
	var want [][]byte
	for round := range 2 { // the second round reuses the first's blocks
		runs, want = runs[:0], want[:0]
		for i := range 300 {
			v := bytes.Repeat([]byte{byte(i)}, (i*37+round)%100+1)
			if i == 150 {
				v = bytes.Repeat([]byte{7}, 3000) // larger than a block
			}
			var blk, off uint32
			if i%7 == 3 { // one value, as a record goes in
				v = []byte{byte(i)}
				blk, off = b.addOne(v[0], 1024)
			} else {
				blk, off = b.add(v, 1024)
			}
			runs = append(runs, run{blk, off})
			want = append(want, v)
		}
		for i, r := range runs {
			if got := b.at(r.blk, r.off, uint32(len(want[i]))); !bytes.Equal(got, want[i]) {
				t.Fatalf("round %d: run %d = %x, want %x", round, i, got, want[i])
			}
		}
		if left := b.reset(1024, 4096); left != 0 {
			t.Errorf("round %d: reset left %d of 4096 bytes, want the spares to fill it", round, left)
		}
		if got := b.capacity(); got != 4096 {
			t.Errorf("round %d: capacity after reset = %d, want 4096 (4 spare blocks)", round, got)
		}
	}
}

func TestReduceOutputElementsSurviveReuse(t *testing.T) {
	fn := window.GlobalWindows()
	for round := range 3 {
		o := newReduceOutput()
		for i := range 10_000 {
			key := []byte(fmt.Sprintf("k%d", i%13))
			o.add(window.Value[[]byte]{Elem: append(key, fmt.Sprintf("round %d value %d", round, i)...), Timestamp: window.Time(i), Windows: fn}, len(key))
		}
		for i, e := range o.elements(nil, 0, o.n) {
			if want := fmt.Sprintf("round %d value %d", round, i); string(e.Value) != want || e.Timestamp != window.Time(i) || len(e.Windows) != 1 {
				t.Fatalf("round %d: element %d = %q at %d in %d windows, want %q at %d in 1", round, i, e.Value, e.Timestamp, len(e.Windows), want, i)
			}
		}
		reduceOutputs.put(o)
	}
}
