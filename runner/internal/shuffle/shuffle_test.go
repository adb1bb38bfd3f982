package shuffle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// input is one shuffle input record.
type input struct {
	key, val string
	wins     []window.Window
}

// flatGroup is a group with its values sorted, for comparison.
type flatGroup struct {
	Key  string
	Win  string
	Vals []string
}

func winString(w window.Window) string {
	if w.IsGlobal() {
		return "global"
	}
	return fmt.Sprintf("[%d,%d)", w.Start, w.End)
}

// readAll reads every partition of s, sorted.
func readAll(t *testing.T, s *Shuffle) []flatGroup {
	t.Helper()
	var out []flatGroup
	for part := range s.parts {
		for g, err := range s.groups(part) {
			if err != nil {
				t.Fatalf("groups(%d): %v", part, err)
			}
			fg := flatGroup{Key: string(g.key), Win: winString(g.win)}
			for i := range g.count() {
				v := g.value(i)
				fg.Vals = append(fg.Vals, string(v))
			}
			slices.Sort(fg.Vals)
			out = append(out, fg)
		}
	}
	sortGroups(out)
	return out
}

func sortGroups(gs []flatGroup) {
	slices.SortFunc(gs, func(a, b flatGroup) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Win, b.Win)
	})
}

// want groups inputs by key and window, merging windows if merging.
func want(inputs []input, merging bool) []flatGroup {
	type kw struct{ k, w string }
	byKey := map[string][]input{}
	for _, in := range inputs {
		for _, w := range in.wins {
			byKey[in.key] = append(byKey[in.key], input{key: in.key, val: in.val, wins: []window.Window{w}})
		}
	}
	var out []flatGroup
	for k, ins := range byKey {
		var wins []window.Window
		for _, in := range ins {
			wins = append(wins, in.wins[0])
		}
		into := make([]int, len(ins))
		merged := wins
		if merging {
			merged, into = window.MergeWindows(wins)
		} else {
			merged = nil
			idx := map[window.Window]int{}
			for i, w := range wins {
				j, ok := idx[w]
				if !ok {
					j = len(merged)
					idx[w] = j
					merged = append(merged, w)
				}
				into[i] = j
			}
		}
		gs := make([]flatGroup, len(merged))
		for i, w := range merged {
			gs[i] = flatGroup{Key: k, Win: winString(w)}
		}
		for i, in := range ins {
			gs[into[i]].Vals = append(gs[into[i]].Vals, in.val)
		}
		for _, g := range gs {
			slices.Sort(g.Vals)
			out = append(out, g)
		}
	}
	sortGroups(out)
	return out
}

// randomInputs returns n records over keys keys, some in several windows.
func randomInputs(r *rand.Rand, n, keys int, windowed bool) []input {
	out := make([]input, n)
	for i := range out {
		k := fmt.Sprintf("key%d", r.IntN(keys))
		if r.IntN(10) == 0 {
			k = strings.Repeat(k, 1+r.IntN(20)) // long keys share prefixes
		}
		in := input{key: k, val: fmt.Sprintf("v%d-%s", i, strings.Repeat("x", r.IntN(40)))}
		if !windowed {
			in.wins = []window.Window{window.Global()}
		} else {
			for range 1 + r.IntN(2) {
				start := window.Time(r.IntN(20) * 10)
				in.wins = append(in.wins, window.Interval(start, start+window.Time(5+r.IntN(20))))
			}
		}
		out[i] = in
	}
	return out
}

// write adds inputs to s through writers, one per bundle of bundleSize
// inputs, committing each.
func write(t *testing.T, s *Shuffle, inputs []input, bundleSize int) {
	t.Helper()
	for i := 0; i < len(inputs); i += bundleSize {
		w := s.NewWriter()
		for _, in := range inputs[i:min(i+bundleSize, len(inputs))] {
			if err := w.Add([]byte(in.key), in.wins, []byte(in.val)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestShuffleGroups(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, keys  int
		windowed bool
		merging  bool
		budget   int64
		spills   bool
	}{
		{name: "global window in memory", n: 3000, keys: 100, budget: 64 << 20},
		{name: "global window spilled", n: 30000, keys: 2000, budget: 1, spills: true},
		{name: "interval windows in memory", n: 3000, keys: 50, windowed: true, budget: 64 << 20},
		{name: "interval windows spilled", n: 30000, keys: 500, windowed: true, budget: 1, spills: true},
		{name: "merging windows in memory", n: 3000, keys: 50, windowed: true, merging: true, budget: 64 << 20},
		{name: "merging windows spilled", n: 30000, keys: 500, windowed: true, merging: true, budget: 1, spills: true},
		{name: "one hot key spilled", n: 20000, keys: 1, budget: 1, spills: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, uint64(tc.n)))
			inputs := randomInputs(r, tc.n, tc.keys, tc.windowed)
			s := New(4, tc.merging, t.TempDir(), tc.budget, 2)
			defer s.Close()
			write(t, s, inputs, 997)
			got := readAll(t, s)
			if diff := cmp.Diff(want(inputs, tc.merging), got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if (s.spills > 0) != tc.spills {
				t.Errorf("spills = %d, want spills: %v", s.spills, tc.spills)
			}
			if tc.spills && len(s.mem) != 0 {
				t.Errorf("after reading a spilled shuffle, %d segments (%d bytes) are still in memory, want none", len(s.mem), s.memBytes)
			}
			// A retried reader sees the same groups again.
			if diff := cmp.Diff(got, readAll(t, s)); diff != "" {
				t.Errorf("second read (-first +second):\n%s", diff)
			}
		})
	}
}

func TestShuffleMergesRunsDownToFanIn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		merging bool
	}{
		{name: "global windows"},
		{name: "merging windows", merging: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(7, 8))
			inputs := randomInputs(r, 40000, 3000, tc.merging)
			dir := t.TempDir()
			s := New(4, tc.merging, dir, 1, 2)
			defer s.Close()
			s.fanIn = 3
			write(t, s, inputs, 500)
			if s.spills <= 2*s.fanIn {
				t.Fatalf("%d spills; the test needs more than two merges' worth", s.spills)
			}
			got := readAll(t, s)
			if diff := cmp.Diff(want(inputs, tc.merging), got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if s.merges < 2 {
				t.Errorf("merges = %d for %d runs with fan-in %d, want at least 2", s.merges, s.spills, s.fanIn)
			}
			if len(s.runs) > s.fanIn {
				t.Errorf("%d runs left after reading, want at most the fan-in %d", len(s.runs), s.fanIn)
			}
			if files, _ := os.ReadDir(dir); len(files) != len(s.runs) {
				t.Errorf("%d files in the spill directory, want the %d runs (merged runs are removed)", len(files), len(s.runs))
			}
			// A retried reader merges nothing more and sees the same groups.
			merges := s.merges
			if diff := cmp.Diff(got, readAll(t, s)); diff != "" {
				t.Errorf("second read (-first +second):\n%s", diff)
			}
			if s.merges != merges {
				t.Errorf("the second read merged runs again (%d merges, then %d)", merges, s.merges)
			}
		})
	}
}

func TestShuffleAbortDropsAttempt(t *testing.T) {
	dir := t.TempDir()
	s := New(2, false, dir, 1, 1)
	defer s.Close()
	ok := []input{{key: "a", val: "1", wins: []window.Window{window.Global()}}}
	write(t, s, ok, 10)
	w := s.NewWriter()
	for i := range 20000 {
		if err := w.Add([]byte(fmt.Sprint("k", i)), window.GlobalWindows(), []byte("dropped")); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.runs) == 0 {
		t.Fatalf("the aborted writer spilled nothing; the test needs a spill")
	}
	w.Abort()
	if diff := cmp.Diff(want(ok, false), readAll(t, s)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	s.Close()
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("files left after close: %v", files)
	}
}

func TestShuffleWritersStayWithinBudget(t *testing.T) {
	const budget = 8 << 20
	s := New(8, false, t.TempDir(), budget, 2)
	defer s.Close()
	w := s.NewWriter()
	val := []byte(strings.Repeat("v", 100))
	for i := range 200000 {
		if err := w.Add([]byte(fmt.Sprint("key", i)), window.GlobalWindows(), val); err != nil {
			t.Fatal(err)
		}
		if w.seg.bytes > s.writerBudget+maxArenaChunk {
			t.Fatalf("after %d records the writer holds %d bytes, budget %d", i, w.seg.bytes, s.writerBudget)
		}
	}
	if len(w.runs) == 0 {
		t.Errorf("no spill after 20 MB of records with a budget of %d", budget)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.memBytes > s.memBudget {
		t.Errorf("committed memory %d exceeds %d", s.memBytes, s.memBudget)
	}
}

func TestShuffleConcurrentWritersAndReaders(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	inputs := randomInputs(r, 40000, 3000, false)
	s := New(8, false, t.TempDir(), 1<<20, 4)
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for b := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := s.NewWriter()
			for i := b; i < len(inputs); i += 4 {
				in := inputs[i]
				if err := w.Add([]byte(in.key), in.wins, []byte(in.val)); err != nil {
					errs <- err
					return
				}
			}
			errs <- w.Commit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var got []flatGroup
	for part := range s.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g, err := range s.groups(part) {
				if err != nil {
					t.Error(err)
					return
				}
				fg := flatGroup{Key: string(g.key), Win: winString(g.win)}
				for i := range g.count() {
					v := g.value(i)
					fg.Vals = append(fg.Vals, string(v))
				}
				slices.Sort(fg.Vals)
				mu.Lock()
				got = append(got, fg)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sortGroups(got)
	if diff := cmp.Diff(want(inputs, false), got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

// TestSortRecordsOrdersByKeyThenWindow sorts records of random short keys
// (zero bytes among them, lengths around the 8-byte prefix) in several
// segments and checks the order against bytes.Compare and compareWindows,
// the order the merge of runs relies on.
func TestSortRecordsOrdersByKeyThenWindow(t *testing.T) {
	// Keys of up to 1, 3 and 12 bytes: the radix sort makes an odd or
	// even number of passes.
	for _, maxLen := range []int{1, 3, 12} {
		t.Run(fmt.Sprint(maxLen), func(t *testing.T) { testSortRecords(t, maxLen) })
	}
}

func testSortRecords(t *testing.T, maxLen int) {
	r := rand.New(rand.NewPCG(5, uint64(maxLen)))
	s := New(4, false, t.TempDir(), 1<<30, 1)
	var segs []*segment
	for range 3 {
		w := s.NewWriter()
		for range 2000 {
			key := make([]byte, r.IntN(maxLen+1))
			for i := range key {
				key[i] = []byte{0, 0, 1, 'a', 0xff}[r.IntN(5)]
			}
			var wins []window.Window
			for range 1 + r.IntN(3) {
				if r.IntN(8) == 0 {
					wins = append(wins, window.Global())
					continue
				}
				start := window.Time(r.Int64N(6) - 3)
				wins = append(wins, window.Interval(start, start+window.Time(1+r.Int64N(3))))
			}
			if err := w.Add(key, wins, []byte{byte(r.IntN(256))}); err != nil {
				t.Fatal(err)
			}
		}
		segs = append(segs, w.seg)
	}
	for p := range s.parts {
		var recs []record
		for i, g := range segs {
			for _, c := range g.recs[p] {
				for _, rec := range c {
					rec.seg = uint32(i)
					recs = append(recs, rec)
				}
			}
		}
		n := len(recs)
		scratch := make([]record, len(recs))
		if p == 0 {
			scratch = nil // sorts by comparisons only
		}
		sortRecords(segs, recs, scratch)
		if len(recs) != n {
			t.Fatalf("partition %d: %d records sorted, want %d", p, len(recs), n)
		}
		for i := 1; i < len(recs); i++ {
			a, b := &recs[i-1], &recs[i]
			ga, gb := segs[a.seg], segs[b.seg]
			c := bytes.Compare(ga.key(a), gb.key(b))
			if c == 0 {
				c = compareWindows(ga.wins[a.win], gb.wins[b.win])
			}
			if c > 0 {
				t.Fatalf("partition %d: record %d (%q in %v) sorts before %q in %v", p, i-1, ga.key(a), ga.wins[a.win], gb.key(b), gb.wins[b.win])
			}
		}
	}
}

// TestReadVarints reads random varints through a small buffer, so that
// many straddle its end, and a truncated one, against encoding/binary.
func TestReadVarints(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var buf []byte
	var want []int64
	for range 5000 {
		v := r.Int64() >> r.IntN(64)
		if r.IntN(2) == 0 {
			v = -v
		}
		want = append(want, v)
		buf = binary.AppendUvarint(buf, uint64(v))
		buf = binary.AppendVarint(buf, v)
	}
	buf = append(buf, 0x80, 0x80) // a truncated varint
	br := bufio.NewReaderSize(bytes.NewReader(buf), 16)
	for i, v := range want {
		u, err := readUvarint(br)
		if err != nil || u != uint64(v) {
			t.Fatalf("uvarint %d: %d, %v; want %d", i, u, err, uint64(v))
		}
		s, err := readVarint(br)
		if err != nil || s != v {
			t.Fatalf("varint %d: %d, %v; want %d", i, s, err, v)
		}
	}
	if _, err := readUvarint(br); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated uvarint: %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

func TestShuffleEmptyKeysAndValues(t *testing.T) {
	for _, budget := range []int64{1, 64 << 20} {
		t.Run(fmt.Sprint("budget ", budget), func(t *testing.T) {
			inputs := []input{
				{key: "", val: "", wins: window.GlobalWindows()},
				{key: "", val: "x", wins: window.GlobalWindows()},
				{key: "a\x00", val: "", wins: window.GlobalWindows()},
				{key: "a", val: "y", wins: window.GlobalWindows()},
			}
			// Enough filler to spill with the tiny budget.
			for i := range 5000 {
				inputs = append(inputs, input{key: fmt.Sprint("f", i), val: "z", wins: window.GlobalWindows()})
			}
			s := New(3, false, t.TempDir(), budget, 1)
			defer s.Close()
			write(t, s, inputs, 100)
			if diff := cmp.Diff(want(inputs, false), readAll(t, s)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkShuffle(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	inputs := randomInputs(r, 200000, 50000, false)
	for _, budget := range []int64{1 << 20, 256 << 20} {
		b.Run(fmt.Sprint("budget=", budget>>20, "MiB"), func(b *testing.B) {
			dir := b.TempDir()
			for b.Loop() {
				s := New(8, false, dir, budget, 2)
				w := s.NewWriter()
				for _, in := range inputs {
					if err := w.Add([]byte(in.key), in.wins, []byte(in.val)); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
				for part := range s.parts {
					for _, err := range s.groups(part) {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				s.Close()
			}
		})
	}
}
