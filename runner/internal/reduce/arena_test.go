package reduce

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestArenaLists interleaves the values of many lists over many pages
// (small values and values larger than a page), releases and concatenates
// lists at random, and checks every list's values against a plain copy,
// that values handed out stay intact after their list is released and the
// arena moves on, and that pages are dropped once nothing lives in them;
// spilling, it also writes pages to the spill file at random.
func TestArenaLists(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testArenaLists(t, false) })
	t.Run("spilling", func(t *testing.T) { testArenaLists(t, true) })
}

func testArenaLists(t *testing.T, spill bool) {
	rng := rand.New(rand.NewPCG(3, 4))
	var a arena
	if spill {
		a.file = &spillFile{dir: t.TempDir()}
		defer a.file.close()
	}
	maxSpilled := int64(0)
	const lists = 50
	got := make([]valueList, lists)
	want := make([][][]byte, lists)
	for i := range got {
		got[i] = emptyList()
	}
	type handed struct {
		v    []byte
		want []byte
	}
	var out []handed
	for step := range 20000 {
		i := rng.IntN(lists)
		if spill && rng.IntN(50) == 0 {
			limit := int64(rng.IntN(4)) * pageSize
			a.spill(limit)
			if a.held > limit {
				t.Fatalf("after a spill to %d bytes, %d are held", limit, a.held)
			}
			inUse := int64(0)
			for _, e := range a.spilled {
				inUse += int64(e.units) * pageSize
			}
			maxSpilled = max(maxSpilled, inUse)
		}
		switch op := rng.IntN(100); {
		case op < 85:
			n := rng.IntN(40)
			if rng.IntN(500) == 0 {
				n = bigValue + rng.IntN(pageSize)
			}
			v := bytes.Repeat([]byte{byte(step)}, n)
			a.push(&got[i], v)
			want[i] = append(want[i], v)
		case op < 95:
			for k, v := range a.values(nil, got[i]) {
				out = append(out, handed{v, want[i][k]})
			}
			a.release(&got[i])
			want[i] = nil
		default:
			j := rng.IntN(lists)
			if j == i {
				continue
			}
			a.concat(&got[i], &got[j])
			want[i], want[j] = append(want[i], want[j]...), nil
		}
	}
	for i := range got {
		if err := sameValues(a.values(nil, got[i]), want[i]); err != nil {
			t.Errorf("list %d: %v", i, err)
		}
		buf, ends := appendConcat(&a.pageSet, nil, nil, &got[i])
		if !bytes.Equal(buf, bytes.Join(want[i], nil)) || len(ends) != len(want[i]) {
			t.Errorf("list %d: appendConcat gave %d bytes, %d ends", i, len(buf), len(ends))
		}
	}
	for k, h := range out {
		if !bytes.Equal(h.v, h.want) {
			t.Fatalf("handed-out value %d was overwritten", k)
		}
	}
	for i := range got {
		a.release(&got[i])
	}
	held := 0
	for _, p := range a.pages {
		if p != nil {
			held++
		}
	}
	if held > 1 || a.held > pageSize {
		t.Errorf("after releasing everything %d pages (%d bytes) are held, want at most the page being filled", held, a.held)
	}
	if spill {
		if err := a.file.failed(); err != nil {
			t.Fatal(err)
		}
		if maxSpilled == 0 {
			t.Fatal("nothing was spilled")
		}
		if a.spilledBytes != 0 || len(a.spilled) != 0 {
			t.Errorf("after releasing everything %d bytes of %d pages are spilled", a.spilledBytes, len(a.spilled))
		}
		// Freed extents are reused: the file stays near the most its
		// extents took at once.
		if a.file.end > 2*maxSpilled {
			t.Errorf("the spill file grew to %d bytes, with extents of at most %d at once", a.file.end, maxSpilled)
		}
	}
}

func sameValues(got, want [][]byte) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	for k := range got {
		if !bytes.Equal(got[k], want[k]) {
			return fmt.Errorf("value %d = %d bytes, want %d", k, len(got[k]), len(want[k]))
		}
		if cap(got[k]) != len(got[k]) {
			return fmt.Errorf("value %d has room to grow into the next record", k)
		}
	}
	return nil
}
