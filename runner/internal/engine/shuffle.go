package engine

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"os"
	"slices"
	"sync"

	"beamgo/sdk/window"
)

// A shuffle groups the elements of a GroupByKey by encoded key and window.
//
// Bundle attempts write records through their own shuffleWriter, which
// keeps them in memory up to its share of the memory budget and then sorts
// and spills them to a run file on local disk. Only a successful attempt
// commits its records (in memory and runs) to the shuffle, so retried
// bundles never duplicate data. Committed in-memory records that exceed the
// budget are spilled too. Reading merges, per partition (a hash of the key),
// the sorted in-memory records with every run's segment for that partition,
// so a shuffle many times the budget is read with bounded memory: one group
// at a time.

// record is one value with its key and window. key and val point into an
// arena owned by the writer that made the record.
type record struct {
	part int
	key  []byte
	win  window.Window
	val  []byte
}

// recordOverhead approximates the memory a record costs beyond its bytes:
// the 80-byte record in a fixed chunk, plus the chunks' slack.
const recordOverhead = 96

func compareRecords(a, b *record) int {
	if a.part != b.part {
		return a.part - b.part
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	return compareWindows(a.win, b.win)
}

func compareWindows(a, b window.Window) int {
	switch {
	case a.Start != b.Start:
		if a.Start < b.Start {
			return -1
		}
		return 1
	case a.End != b.End:
		if a.End < b.End {
			return -1
		}
		return 1
	case a.IsGlobal() != b.IsGlobal():
		if a.IsGlobal() {
			return -1
		}
		return 1
	}
	return 0
}

type shuffle struct {
	parts   int
	merging bool
	dir     string
	seed    maphash.Seed
	// writerBudget is the memory one writer may hold before spilling.
	writerBudget int64
	// memBudget is the memory committed records may hold before spilling.
	memBudget int64

	// mu guards the fields below.
	mu sync.Mutex
	// mem holds committed in-memory records per partition, as the record
	// lists of the writers that committed them (not copied).
	mem      [][][]record
	memBytes int64
	runs     []*run
	spills   int
}

func newShuffle(parts int, merging bool, dir string, budget int64, writers int) *shuffle {
	return &shuffle{
		parts: parts, merging: merging, dir: dir, seed: maphash.MakeSeed(), mem: make([][][]record, parts),
		writerBudget: max(budget/int64(2*max(writers, 1)), 1<<20),
		memBudget:    max(budget/2, 1<<20),
	}
}

// partition returns the partition of a key.
func (s *shuffle) partition(key []byte) int {
	return int(maphash.Bytes(s.seed, key) % uint64(s.parts))
}

// shuffleWriter collects the records of one bundle attempt, per partition.
// Key and value bytes go into fixed-size arena chunks, so growing the arena
// never copies what it holds.
type shuffleWriter struct {
	s     *shuffle
	arena []byte
	recs  [][][]record // per partition, chunks of recordChunk records
	bytes int64
	runs  []*run
}

// arenaChunk is the size of the writer's arena chunks.
const arenaChunk = 1 << 20

// recordChunk is how many records a writer's record chunk holds: records
// are appended to fixed chunks, so growing never copies them.
const recordChunk = 1024

func (s *shuffle) newWriter() *shuffleWriter {
	return &shuffleWriter{s: s, recs: make([][][]record, s.parts)}
}

// alloc returns n bytes of arena.
func (w *shuffleWriter) alloc(n int) []byte {
	if cap(w.arena)-len(w.arena) < n {
		w.arena = make([]byte, 0, max(arenaChunk, n))
	}
	start := len(w.arena)
	w.arena = w.arena[:start+n]
	return w.arena[start : start+n : start+n]
}

// add records val under key in each of the windows.
func (w *shuffleWriter) add(key []byte, wins []window.Window, val []byte) error {
	part := w.s.partition(key)
	b := w.alloc(len(key) + len(val))
	copy(b, key)
	copy(b[len(key):], val)
	k, v := b[:len(key):len(key)], b[len(key):]
	for _, win := range wins {
		chunks := w.recs[part]
		if n := len(chunks); n == 0 || len(chunks[n-1]) == cap(chunks[n-1]) {
			chunks = append(chunks, make([]record, 0, recordChunk))
			w.recs[part] = chunks
		}
		last := &chunks[len(chunks)-1]
		*last = append(*last, record{part: part, key: k, win: win, val: v})
		w.bytes += recordOverhead
	}
	w.bytes += int64(len(key) + len(val))
	if w.bytes >= w.s.writerBudget {
		return w.spill()
	}
	return nil
}

// spill sorts the writer's records into a new run file.
func (w *shuffleWriter) spill() error {
	if w.bytes == 0 {
		return nil
	}
	parts := make([][]record, w.s.parts)
	for p, chunks := range w.recs {
		parts[p] = slices.Concat(chunks...)
	}
	r, err := writeRun(w.s.dir, parts)
	if err != nil {
		return err
	}
	w.runs = append(w.runs, r)
	w.arena, w.recs, w.bytes = nil, make([][][]record, w.s.parts), 0
	return nil
}

// commit hands the writer's records to the shuffle.
func (w *shuffleWriter) commit() error {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, w.runs...)
	s.spills += len(w.runs)
	for p, chunks := range w.recs {
		s.mem[p] = append(s.mem[p], chunks...)
	}
	s.memBytes += w.bytes
	w.runs, w.recs, w.arena = nil, nil, nil
	if s.memBytes >= s.memBudget {
		parts := make([][]record, s.parts)
		for p, lists := range s.mem {
			parts[p] = slices.Concat(lists...)
		}
		r, err := writeRun(s.dir, parts)
		if err != nil {
			return err
		}
		s.runs = append(s.runs, r)
		s.spills++
		s.mem, s.memBytes = make([][][]record, s.parts), 0
	}
	return nil
}

// abort drops the records of a failed attempt.
func (w *shuffleWriter) abort() {
	for _, r := range w.runs {
		r.remove()
	}
	w.runs, w.recs, w.arena = nil, nil, nil
}

// run is a spilled, sorted file of records with the offset of each
// partition's segment.
type run struct {
	path    string
	offsets []int64 // len parts+1
}

func writeRun(dir string, parts [][]record) (*run, error) {
	f, err := os.CreateTemp(dir, "run-*.bin")
	if err != nil {
		return nil, fmt.Errorf("engine: shuffle spill: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	r := &run{path: f.Name(), offsets: make([]int64, len(parts)+1)}
	var off int64
	var buf []byte
	for p, recs := range parts {
		r.offsets[p] = off
		slices.SortFunc(recs, func(a, b record) int { return compareRecords(&a, &b) })
		for i := range recs {
			buf = appendRecord(buf[:0], &recs[i])
			if _, err := bw.Write(buf); err != nil {
				f.Close()
				return nil, fmt.Errorf("engine: shuffle spill: %w", err)
			}
			off += int64(len(buf))
		}
	}
	r.offsets[len(parts)] = off
	if err := bw.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: shuffle spill: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("engine: shuffle spill: %w", err)
	}
	return r, nil
}

func (r *run) remove() { os.Remove(r.path) }

// Record layout in runs: uvarint len(key), key, window flag (0 global,
// 1 interval), [varint start, varint end], uvarint len(val), val.
func appendRecord(dst []byte, r *record) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(r.key)))
	dst = append(dst, r.key...)
	if r.win.IsGlobal() {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		dst = binary.AppendVarint(dst, int64(r.win.Start))
		dst = binary.AppendVarint(dst, int64(r.win.End))
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.val)))
	return append(dst, r.val...)
}

// runReader reads one partition's segment of a run.
type runReader struct {
	f   *os.File
	br  *bufio.Reader
	end int64
	pos int64
	cur record
}

func openSegment(r *run, part int) (*runReader, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, fmt.Errorf("engine: shuffle read: %w", err)
	}
	start, end := r.offsets[part], r.offsets[part+1]
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: shuffle read: %w", err)
	}
	return &runReader{f: f, br: bufio.NewReaderSize(f, 64<<10), pos: start, end: end}, nil
}

// next reads the next record; ok is false at the segment's end.
func (rr *runReader) next(part int) (bool, error) {
	if rr.pos >= rr.end {
		return false, nil
	}
	cr := &countingReader{r: rr.br}
	klen, err := binary.ReadUvarint(cr)
	if err != nil {
		return false, err
	}
	key := make([]byte, klen)
	if _, err := io.ReadFull(cr, key); err != nil {
		return false, err
	}
	flag, err := cr.ReadByte()
	if err != nil {
		return false, err
	}
	win := window.Global()
	if flag == 1 {
		s, err := binary.ReadVarint(cr)
		if err != nil {
			return false, err
		}
		e, err := binary.ReadVarint(cr)
		if err != nil {
			return false, err
		}
		win = window.Interval(window.Time(s), window.Time(e))
	}
	vlen, err := binary.ReadUvarint(cr)
	if err != nil {
		return false, err
	}
	val := make([]byte, vlen)
	if _, err := io.ReadFull(cr, val); err != nil {
		return false, err
	}
	rr.pos += cr.n
	rr.cur = record{part: part, key: key, win: win, val: val}
	return true, nil
}

type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// mergeSource is one sorted input of a partition merge.
type mergeSource interface {
	peek() *record
	advance() error
	close()
}

type memSource struct {
	recs []record
	i    int
}

func (m *memSource) peek() *record {
	if m.i < len(m.recs) {
		return &m.recs[m.i]
	}
	return nil
}
func (m *memSource) advance() error { m.i++; return nil }
func (m *memSource) close()         {}

type runSource struct {
	rr   *runReader
	part int
	ok   bool
}

func (r *runSource) peek() *record {
	if r.ok {
		return &r.rr.cur
	}
	return nil
}
func (r *runSource) advance() error {
	ok, err := r.rr.next(r.part)
	r.ok = ok
	return err
}
func (r *runSource) close() { r.rr.f.Close() }

type mergeHeap []mergeSource

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return compareRecords(h[i].peek(), h[j].peek()) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(mergeSource)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// group is all values of one key in one (merged) window.
type group struct {
	key  []byte
	win  window.Window
	vals [][]byte
}

// groups yields the groups of partition part: by hashing when nothing was
// spilled, otherwise in key order by merging the sorted in-memory records
// with every run's segment.
func (s *shuffle) groups(part int) iter.Seq2[group, error] {
	s.mu.Lock()
	mem := slices.Concat(s.mem[part]...)
	runs := append([]*run(nil), s.runs...)
	s.mu.Unlock()
	if len(runs) == 0 {
		return s.hashGroups(mem)
	}
	return func(yield func(group, error) bool) {
		slices.SortFunc(mem, func(a, b record) int { return compareRecords(&a, &b) })
		srcs := []mergeSource{&memSource{recs: mem}}
		for _, r := range runs {
			rr, err := openSegment(r, part)
			if err != nil {
				yield(group{}, err)
				return
			}
			src := &runSource{rr: rr, part: part}
			if err := src.advance(); err != nil {
				rr.f.Close()
				yield(group{}, fmt.Errorf("engine: shuffle read %s: %w", r.path, err))
				return
			}
			srcs = append(srcs, src)
		}
		defer func() {
			for _, src := range srcs {
				src.close()
			}
		}()
		h := mergeHeap{}
		for _, src := range srcs {
			if src.peek() != nil {
				h = append(h, src)
			}
		}
		heap.Init(&h)
		var key []byte
		var pending []record // all records of the current key
		flush := func() bool {
			for _, g := range s.groupKey(key, pending) {
				if !yield(g, nil) {
					return false
				}
			}
			return true
		}
		for h.Len() > 0 {
			top := h[0]
			r := *top.peek()
			if key != nil && !bytes.Equal(r.key, key) {
				if !flush() {
					return
				}
				pending = pending[:0]
			}
			key = r.key
			pending = append(pending, r)
			if err := top.advance(); err != nil {
				yield(group{}, fmt.Errorf("engine: shuffle read: %w", err))
				return
			}
			if top.peek() == nil {
				heap.Pop(&h)
			} else {
				heap.Fix(&h, 0)
			}
		}
		if key != nil {
			flush()
		}
	}
}

// hashGroups groups in-memory records by key and window with a hash map.
func (s *shuffle) hashGroups(recs []record) iter.Seq2[group, error] {
	return func(yield func(group, error) bool) {
		if s.merging {
			// Sessions merge per key: collect each key's records, then merge.
			byKey := map[string][]record{}
			var order []string
			for _, r := range recs {
				k := string(r.key)
				if _, ok := byKey[k]; !ok {
					order = append(order, k)
				}
				byKey[k] = append(byKey[k], r)
			}
			for _, k := range order {
				for _, g := range s.groupKey(byKey[k][0].key, byKey[k]) {
					if !yield(g, nil) {
						return
					}
				}
			}
			return
		}
		// Index by window, then key: looking up string(key) does not allocate.
		index := map[window.Window]map[string]int{}
		var groups []group
		for _, r := range recs {
			byKey := index[r.win]
			if byKey == nil {
				byKey = map[string]int{}
				index[r.win] = byKey
			}
			i, ok := byKey[string(r.key)]
			if !ok {
				i = len(groups)
				byKey[string(r.key)] = i
				groups = append(groups, group{key: r.key, win: r.win})
			}
			groups[i].vals = append(groups[i].vals, r.val)
		}
		for _, g := range groups {
			if !yield(g, nil) {
				return
			}
		}
	}
}

// groupKey groups the records of one key (sorted by window) by window,
// merging overlapping windows when the window function merges.
func (s *shuffle) groupKey(key []byte, recs []record) []group {
	var out []group
	if !s.merging {
		for _, r := range recs {
			if n := len(out); n > 0 && compareWindows(out[n-1].win, r.win) == 0 {
				out[n-1].vals = append(out[n-1].vals, r.val)
				continue
			}
			out = append(out, group{key: key, win: r.win, vals: [][]byte{r.val}})
		}
		return out
	}
	wins := make([]window.Window, len(recs))
	for i, r := range recs {
		wins[i] = r.win
	}
	merged, into := window.MergeWindows(wins)
	out = make([]group, len(merged))
	for i, w := range merged {
		out[i] = group{key: key, win: w}
	}
	for i, r := range recs {
		out[into[i]].vals = append(out[into[i]].vals, r.val)
	}
	return out
}

// close removes the shuffle's run files.
func (s *shuffle) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		r.remove()
	}
	s.runs, s.mem = nil, make([][][]record, s.parts)
}
