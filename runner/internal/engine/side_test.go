package engine

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
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
		if err := w.add(window.Value[[]byte]{Elem: e, Windows: wins}); err != nil {
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

// TestLatestFiringSideInputServesEachWindowsLatestCommit: a dataset
// serving the latest firing replaces the contents of the windows a commit
// writes and keeps the others; a reader opened before keeps what it read;
// the memory it counts is what it holds; and a checkpoint's elements
// restore the same contents, each element in the windows it was latest
// in. An accumulating dataset keeps every commit.
func TestLatestFiringSideInputServesEachWindowsLatestCommit(t *testing.T) {
	wr := bytesInIntervalWindows(t)
	w0, w1 := window.Window{Start: 0, End: 10}, window.Window{Start: 10, End: 20}
	elem := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	commit := func(d *dataset, vals ...window.Value[[]byte]) {
		t.Helper()
		w := d.newWriter(1 << 30)
		for _, v := range vals {
			if err := w.add(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.seal(); err != nil {
			t.Fatal(err)
		}
		w.commit()
	}
	at := func(s string, wins ...window.Window) window.Value[[]byte] {
		return window.Value[[]byte]{Elem: elem(s), Timestamp: 5, Windows: wins, Pane: window.NoFiringPane()}
	}
	read := func(d *dataset, w window.Window) string {
		r := d.open(w)
		b := make([]byte, r.Size())
		if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		return string(b)
	}
	check := func(what string, d *dataset, want0, want1 string) {
		t.Helper()
		if got := read(d, w0); got != want0 {
			t.Errorf("%s: window 0 holds %q, want %q", what, got, want0)
		}
		if got := read(d, w1); got != want1 {
			t.Errorf("%s: window 1 holds %q, want %q", what, got, want1)
		}
	}
	for _, memShare := range []int64{1 << 30, 0} {
		t.Run(fmt.Sprintf("memShare=%d", memShare), func(t *testing.T) {
			d := &dataset{wire: wr, keepElems: true, latest: true, dir: t.TempDir(), memShare: memShare}
			defer d.close()
			commit(d, at("a", w0), at("b", w0, w1))
			check("first commit", d, "\x01a\x01b", "\x01b")
			before := d.open(w0)
			commit(d, at("c", w0))
			check("second commit", d, "\x01c", "\x01b")
			if b := make([]byte, before.Size()); before.Size() != 4 {
				t.Errorf("a reader opened before the second commit sees %d bytes, want the 4 it opened", before.Size())
			} else if _, err := before.ReadAt(b, 0); (err != nil && err != io.EOF) || string(b) != "\x01a\x01b" {
				t.Errorf("a reader opened before the second commit reads %q (%v), want what it opened", b, err)
			}
			if want := int64(4 * min(memShare, 1)); d.mem != want {
				t.Errorf("dataset counts %d bytes in memory, want %d", d.mem, want)
			}
			d2 := &dataset{wire: wr, keepElems: true, latest: true, dir: t.TempDir(), memShare: memShare}
			defer d2.close()
			if err := d2.restore(d.snapshotElems()); err != nil {
				t.Fatal(err)
			}
			check("restored", d2, "\x01c", "\x01b")
			commit(d2, at("e", w1))
			check("restored, then a commit", d2, "\x01c", "\x01e")
			if got := len(d2.snapshotElems()); got != 2 {
				t.Errorf("the restored dataset's checkpoint holds %d elements, want 2", got)
			}
		})
	}
	acc := &dataset{wire: wr, keepElems: true, dir: t.TempDir(), memShare: 1 << 30}
	commit(acc, at("a", w0), at("b", w0, w1))
	commit(acc, at("c", w0))
	check("accumulating", acc, "\x01a\x01b\x01c", "\x01b")
}

// bytesInIntervalWindows is the wire of byte strings in interval windows.
func bytesInIntervalWindows(t *testing.T) *wire {
	t.Helper()
	coders := map[string]*pipepb.Coder{
		"bytes": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderBytes}},
		"iw":    {Spec: &pipepb.FunctionSpec{Urn: urns.CoderIntervalWindow}},
		"wvi":   {Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{"bytes", "iw"}},
	}
	wr, err := portWire(coders, "wvi")
	if err != nil {
		t.Fatal(err)
	}
	return wr
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestReplacedSideInputContentsLeaveTheFile: a dataset serving the latest
// firing whose contents go to its file, replaced commit after commit,
// keeps its file within about twice what its windows refer to (plus the
// compaction threshold and a commit) instead of every version; every
// window reads its latest contents after each commit; a reader opened
// before a compaction still reads what it opened, from the old file, which
// close closes.
func TestReplacedSideInputContentsLeaveTheFile(t *testing.T) {
	wr := bytesInIntervalWindows(t)
	const compactAt = 16 << 10
	d := &dataset{wire: wr, keepElems: true, latest: true, dir: t.TempDir(), memShare: 0, compactAt: compactAt}
	w0, w1 := window.Window{Start: 0, End: 10}, window.Window{Start: 10, End: 20}
	value := func(i, n int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, n) }
	commit := func(vals map[window.Window][]byte) {
		t.Helper()
		w := d.newWriter(1 << 30)
		for win, v := range vals {
			if err := w.add(window.Value[[]byte]{Elem: v, Timestamp: 5, Windows: []window.Window{win}, Pane: window.NoFiringPane()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.seal(); err != nil {
			t.Fatal(err)
		}
		w.commit()
	}
	read := func(r *io.SectionReader) ([]byte, error) {
		b := make([]byte, r.Size())
		_, err := r.ReadAt(b, 0)
		if err == io.EOF {
			err = nil
		}
		return b, err
	}
	fixed := value(0, 3000)
	commit(map[window.Window][]byte{w1: fixed})
	var early *io.SectionReader
	var earlyWant []byte
	compactions := 0
	for i := range 300 {
		v := value(i, 1000+i*7%900)
		file := d.f
		commit(map[window.Window][]byte{w0: v})
		if d.f != file && file != nil {
			compactions++
		}
		for win, want := range map[window.Window][]byte{w0: v, w1: fixed} {
			got, err := read(d.open(win))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("commit %d: window %v reads %d bytes (%v), want its latest %d", i, win, len(got), err, len(want))
			}
		}
		if limit := 2*d.fileLive + compactAt + 2<<10; d.end > limit {
			t.Fatalf("commit %d: the file holds %d bytes for %d referred to (limit %d)", i, d.end, d.fileLive, limit)
		}
		if i == 10 {
			early, earlyWant = d.open(w0), v
		}
		if i%25 == 0 {
			runtime.GC() // clears the weak pointers of files no reader holds
		}
	}
	if compactions < 10 {
		t.Fatalf("%d compactions in 300 commits of about 1.4 KiB past a 16 KiB threshold, want more", compactions)
	}
	if len(d.retired) > 5 {
		t.Fatalf("the dataset tracks %d replaced files after %d compactions; those no reader holds should be gone", len(d.retired), compactions)
	}
	if fi, err := d.f.Stat(); err != nil || fi.Size() != d.end {
		t.Fatalf("the file is %v bytes (%v), the dataset counts %d", fi.Size(), err, d.end)
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("the dataset's directory holds %d files (%v), want the current one alone", len(entries), err)
	}
	if got, err := read(early); err != nil || !bytes.Equal(got, earlyWant) {
		t.Fatalf("a reader opened before the compactions reads %d bytes (%v), want the %d it opened", len(got), err, len(earlyWant))
	}
	d.close()
	if _, err := read(early); err == nil {
		t.Fatal("a reader of a replaced file still reads after the dataset closed")
	}
}
