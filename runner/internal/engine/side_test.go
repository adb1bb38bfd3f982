package engine

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// sideWindows are the windows the side input tests write to.
var sideWindows = []window.Window{
	window.Global(),
	{Start: 0, End: 10},
	{Start: 10, End: 20},
}

// writeSide writes n elements through one writer of d, element i of seed
// to windows i%3 and, every fifth, also the next one, and returns what
// each window gained; with abort set it drops the attempt instead.
func writeSide(t *testing.T, d *dataset, flushAt int64, seed, n int, abort bool) map[window.Window][]byte {
	t.Helper()
	w := d.newWriter(flushAt)
	want := map[window.Window][]byte{}
	for i := range n {
		e := fmt.Appendf(nil, "<%d:%d:%s>", seed, i, bytes.Repeat([]byte{'v'}, i%97))
		wins := []window.Window{sideWindows[i%3]}
		if i%5 == 0 {
			wins = append(wins, sideWindows[(i+1)%3])
		}
		if err := w.add(e, wins); err != nil {
			t.Fatalf("add: %v", err)
		}
		for _, win := range wins {
			want[win] = append(want[win], e...)
		}
	}
	if abort {
		return nil
	}
	if err := w.seal(); err != nil {
		t.Fatalf("seal: %v", err)
	}
	w.commit()
	return want
}

// readInPieces reads r whole with ReadAt calls of random sizes at
// increasing offsets, as a state server's pages do.
func readInPieces(t *testing.T, r *io.SectionReader, rng *rand.Rand) []byte {
	t.Helper()
	var out []byte
	for off := int64(0); off < r.Size(); {
		p := make([]byte, 1+rng.IntN(5000))
		n, err := r.ReadAt(p, off)
		if err != nil && err != io.EOF {
			t.Fatalf("ReadAt(%d bytes, %d): %v", len(p), off, err)
		}
		if n == 0 {
			t.Fatalf("ReadAt(%d bytes, %d) of %d read nothing", len(p), off, r.Size())
		}
		out = append(out, p[:n]...)
		off += int64(n)
	}
	return out
}

func TestSideInputContentsAreTheCommittedAttemptsPerWindow(t *testing.T) {
	for _, tt := range []struct {
		name              string
		memShare, flushAt int64
		wantFile          bool
	}{
		{name: "contents within the memory share stay in memory", memShare: 1 << 30, flushAt: 1 << 30},
		{name: "contents past the memory share go to the file at commit", memShare: 1 << 10, flushAt: 1 << 30, wantFile: true},
		{name: "attempts past their share flush to the file while they run", memShare: 1 << 10, flushAt: 4 << 10, wantFile: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &dataset{dir: t.TempDir(), memShare: tt.memShare}
			t.Cleanup(d.close)
			want := map[window.Window][]byte{}
			for seed := range 6 {
				// Every third attempt fails: none of it may be read.
				got := writeSide(t, d, tt.flushAt, seed, 400, seed%3 == 2)
				for win, b := range got {
					want[win] = append(want[win], b...)
				}
			}
			if hasFile := d.f != nil; hasFile != tt.wantFile {
				t.Errorf("dataset file created = %v, want %v", hasFile, tt.wantFile)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for _, win := range append(sideWindows, window.Window{Start: 20, End: 30}) {
				r := d.open(win)
				if got := readInPieces(t, r, rng); !bytes.Equal(got, want[win]) {
					t.Errorf("window %v: read %d bytes, want %d (first difference at %d)", win, len(got), len(want[win]), firstDiff(got, want[win]))
				}
				whole := make([]byte, r.Size()+1)
				if n, err := r.ReadAt(whole, 0); n != int(r.Size()) || err != io.EOF {
					t.Errorf("window %v: ReadAt past the end = %d, %v, want %d, io.EOF", win, n, err, r.Size())
				}
			}
		})
	}
}

func TestSideInputWritersCommitConcurrently(t *testing.T) {
	d := &dataset{dir: t.TempDir(), memShare: 8 << 10}
	t.Cleanup(d.close)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		size = map[window.Window]int{}
	)
	for seed := range 8 {
		wg.Go(func() {
			got := writeSide(t, d, 2<<10, seed, 300, false)
			mu.Lock()
			for win, b := range got {
				size[win] += len(b)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	// Attempts interleave in the file, but each window holds every
	// attempt's elements once, each attempt's in its order.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, win := range sideWindows {
		got := readInPieces(t, d.open(win), rng)
		if len(got) != size[win] {
			t.Errorf("window %v: %d bytes, want %d", win, len(got), size[win])
		}
		for seed := range 8 {
			last := -1
			for _, m := range bytes.SplitAfter(got, []byte(">")) {
				var s, i int
				if _, err := fmt.Sscanf(string(m), "<%d:%d:", &s, &i); err != nil || s != seed {
					continue
				}
				if i <= last {
					t.Fatalf("window %v: element %d of attempt %d after its element %d", win, i, seed, last)
				}
				last = i
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
