// Package shuffle is the runner-side GroupByKey of bounded input: it groups
// encoded key-value records by key and window, holds them within a memory
// budget and spills sorted runs to local disk past it, and reads each
// partition's groups back, merging runs, once the input is complete.
//
// # Concurrency
//
// A Shuffle is safe for concurrent use: many Writers (one per bundle
// attempt) add and commit at once, and partitions are read concurrently
// once writing has ended. A Writer is used by one goroutine.
package shuffle

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"os"
	"slices"
	"sync"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// A shuffle groups the elements of a GroupByKey by encoded key and window.
//
// Bundle attempts write records through their own Writer, which
// copies them into a segment: an arena of key and value bytes, a table of
// windows, and per partition (a hash of the key) fixed chunks of records
// that point into the arena by offset. Records hold no pointers, so the
// collector never scans them, and a record costs 32 bytes besides its data.
// Memory is counted by what the segment allocated (capacities), not by the
// bytes stored.
//
// A writer holds up to its share of the memory budget, then sorts its
// records into a run file on local disk and starts a new segment. Only a
// successful attempt commits its segment and runs to the shuffle, so
// retried bundles never duplicate data. Committed segments that exceed
// their share are spilled together into one run.
//
// Reading a partition: if nothing was spilled, its records are grouped in
// memory with a hash map. Otherwise the first read spills the segments
// still in memory into one more run (so that reading holds no segments),
// merges the smallest runs into larger ones until at most fanIn remain,
// and every partition is read by merging its segment of every run through
// small buffers, one group at a time: a shuffle many times the budget is
// read with the merge's buffers and the current group.

// record is one value with its key and window in a segment.
type record struct {
	// prefix is the first 8 bytes of the key, big-endian, zero-padded: it
	// orders most keys without reading the arena.
	prefix uint64
	// seg is the index of the record's segment among those a spill sorts
	// together; set by the spill.
	seg uint32
	// chunk and off locate the key, followed by the value, in the arena.
	chunk, off uint32
	klen, vlen uint32
	// win indexes the segment's windows.
	win uint32
}

// recordSize is the size of a record, for memory accounting.
const recordSize = 32

// recordChunk is how many records a record chunk holds: records are
// appended to fixed chunks, so growing never copies them.
const recordChunk = 512

// Arena chunks start small, for small bundles, and double up to
// maxArenaChunk.
const (
	minArenaChunk = 16 << 10
	maxArenaChunk = 1 << 20
)

// segment is the records that one writer collected.
type segment struct {
	arena [][]byte
	wins  []window.Window
	// recs holds per partition the chunks of recordChunk records.
	recs [][][]record
	// bytes is the memory the segment allocated.
	bytes int64
}

func newSegment(parts int) *segment { return &segment{recs: make([][][]record, parts)} }

func (g *segment) key(r *record) []byte {
	return g.arena[r.chunk][r.off : r.off+r.klen : r.off+r.klen]
}

func (g *segment) val(r *record) []byte {
	o := r.off + r.klen
	return g.arena[r.chunk][o : o+r.vlen : o+r.vlen]
}

func (g *segment) empty() bool { return g.bytes == 0 }

func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

func compareWindows(a, b window.Window) int {
	if c := cmp.Compare(a.Start, b.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	switch {
	case a.IsGlobal() == b.IsGlobal():
		return 0
	case a.IsGlobal():
		return -1
	}
	return 1
}

// Shuffle is one GroupByKey's grouping: see the package doc and the
// comment above record for its layout.
type Shuffle struct {
	parts   int
	merging bool
	dir     string
	seed    maphash.Seed
	// writerBudget is the memory one writer may hold before spilling.
	writerBudget int64
	// memBudget is the memory committed segments may hold before spilling.
	memBudget int64
	// fanIn is how many runs one merge reads at once: each costs a read
	// buffer of runReadBuffer bytes.
	fanIn int

	// mu guards the fields below.
	mu sync.Mutex
	// mem holds the committed segments that are still in memory.
	mem      []*segment
	memBytes int64
	runs     []*run
	spills   int
	// merges counts the merges of runs into larger runs before reading.
	merges int
}

// minFanIn is the smallest merge fan-in, however small the memory.
const minFanIn = 8

// New returns a shuffle of parts partitions that holds at most
// memory bytes of records, for up to workers bundles writing or reading it
// at once. While it is written, the writers share half of memory and the
// committed segments hold the other half; while it is read, the readers'
// merge buffers share a quarter of it.
func New(parts int, merging bool, dir string, memory int64, workers int) *Shuffle {
	workers = max(workers, 1)
	return &Shuffle{
		parts: parts, merging: merging, dir: dir, seed: maphash.MakeSeed(),
		writerBudget: max(memory/int64(2*workers), 256<<10),
		memBudget:    max(memory/2, 256<<10),
		fanIn:        max(int(memory/4/int64(workers)/runReadBuffer), minFanIn),
	}
}

// partition returns the partition of a key.
func (s *Shuffle) partition(key []byte) int {
	return int(maphash.Bytes(s.seed, key) % uint64(s.parts))
}

// Parts returns the number of partitions: VisitGroups reads partitions
// 0 to Parts()-1.
func (s *Shuffle) Parts() int { return s.parts }

// Spills returns how many runs were written to disk so far.
func (s *Shuffle) Spills() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spills
}

// Writer collects the records of one bundle attempt; only Commit makes
// them part of the shuffle.
type Writer struct {
	s    *Shuffle
	seg  *segment
	runs []*run
	// next is the size of the next arena chunk.
	next int
	// winIdx indexes seg.wins; recent caches the windows looked up
	// lately, by a hash of their bounds: a bundle's records mostly cycle
	// through a few windows (a lifted combine's precombine emits each
	// key's windows in turn, so that the latest window alone missed).
	winIdx map[window.Window]uint32
	recent [recentWins]recentWin
}

// recentWins is the length of Writer.recent, 1<<recentWinsLog.
const (
	recentWinsLog = 6
	recentWins    = 1 << recentWinsLog
)

// recentWin is a window and its index in the segment's windows, plus one
// (zero: an empty entry).
type recentWin struct {
	w     window.Window
	idxP1 uint32
}

// NewWriter returns a writer for one bundle attempt.
func (s *Shuffle) NewWriter() *Writer {
	return &Writer{s: s, seg: newSegment(s.parts), next: minArenaChunk}
}

// alloc returns the chunk index and offset of n fresh bytes of arena.
func (w *Writer) alloc(n int) (uint32, uint32) {
	g := w.seg
	if k := len(g.arena); k > 0 {
		c := g.arena[k-1]
		if cap(c)-len(c) >= n {
			g.arena[k-1] = c[:len(c)+n]
			return uint32(k - 1), uint32(len(c))
		}
	}
	size := max(w.next, n)
	w.next = min(2*w.next, maxArenaChunk)
	g.arena = append(g.arena, make([]byte, n, size))
	g.bytes += int64(size)
	return uint32(len(g.arena) - 1), 0
}

// window returns the index of win in the segment's windows.
func (w *Writer) window(win window.Window) uint32 {
	h := ((uint64(win.Start) ^ uint64(win.End)<<7) * 0x9e3779b97f4a7c15) >> (64 - recentWinsLog)
	c := &w.recent[h]
	if c.idxP1 != 0 && c.w == win {
		return c.idxP1 - 1
	}
	if w.winIdx == nil {
		w.winIdx = map[window.Window]uint32{}
	}
	i, ok := w.winIdx[win]
	if !ok {
		i = uint32(len(w.seg.wins))
		w.seg.wins = append(w.seg.wins, win)
		w.winIdx[win] = i
	}
	*c = recentWin{w: win, idxP1: i + 1}
	return i
}

// Add records val under key in each of the windows.
func (w *Writer) Add(key []byte, wins []window.Window, val []byte) error {
	if len(wins) == 0 {
		return nil
	}
	if uint64(len(key))+uint64(len(val)) > 1<<31 {
		return fmt.Errorf("shuffle: shuffle record of %d bytes is too large", len(key)+len(val))
	}
	part := w.s.partition(key)
	c, off := w.alloc(len(key) + len(val))
	b := w.seg.arena[c][off:]
	copy(b, key)
	copy(b[len(key):], val)
	r := record{prefix: keyPrefix(key), chunk: c, off: off, klen: uint32(len(key)), vlen: uint32(len(val))}
	g := w.seg
	for _, win := range wins {
		r.win = w.window(win)
		chunks := g.recs[part]
		if n := len(chunks); n == 0 || len(chunks[n-1]) == cap(chunks[n-1]) {
			chunks = append(chunks, make([]record, 0, recordChunk))
			g.recs[part] = chunks
			g.bytes += recordChunk * recordSize
		}
		last := &chunks[len(chunks)-1]
		*last = append(*last, r)
	}
	if g.bytes >= w.s.writerBudget {
		return w.spill()
	}
	return nil
}

// reset starts a new segment.
func (w *Writer) reset() {
	w.seg, w.next = newSegment(w.s.parts), minArenaChunk
	w.winIdx, w.recent = nil, [recentWins]recentWin{}
}

// spill sorts the writer's records into a new run file.
func (w *Writer) spill() error {
	if w.seg.empty() {
		return nil
	}
	r, err := writeRun(w.s.dir, w.s.parts, []*segment{w.seg})
	if err != nil {
		return err
	}
	w.runs = append(w.runs, r)
	w.reset()
	return nil
}

// Commit hands the writer's segment and runs to the shuffle, spilling the
// committed segments if they exceed their share. The spill runs outside
// the lock, so other bundles commit meanwhile.
func (w *Writer) Commit() error {
	s := w.s
	s.mu.Lock()
	s.runs = append(s.runs, w.runs...)
	s.spills += len(w.runs)
	if !w.seg.empty() {
		s.mem = append(s.mem, w.seg)
		s.memBytes += w.seg.bytes
	}
	w.runs, w.seg = nil, nil
	var spill []*segment
	var bytes int64
	if s.memBytes >= s.memBudget {
		spill, bytes = s.mem, s.memBytes
		s.mem, s.memBytes = nil, 0
	}
	s.mu.Unlock()
	if spill == nil {
		return nil
	}
	r, err := writeRun(s.dir, s.parts, spill)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Keep the records: the job fails, but nothing is lost silently.
		s.mem = append(s.mem, spill...)
		s.memBytes += bytes
		return err
	}
	s.runs = append(s.runs, r)
	s.spills++
	return nil
}

// Abort drops the records of a failed attempt.
func (w *Writer) Abort() {
	for _, r := range w.runs {
		r.remove()
	}
	w.runs, w.seg = nil, nil
}

// run is a spilled, sorted file of records with the offset of each
// partition's segment.
type run struct {
	path    string
	offsets []int64 // len parts+1
}

// sortRecords sorts records of segs by key, then window; scratch, if it
// is long enough, is the radix sort's buffer (see radixSortRecords).
//
// Keys of up to 8 bytes are compared without reading the arena (a cache
// miss per record): their prefix holds the whole key, zero-padded, so of
// two such keys with equal prefixes one is the other with zero bytes
// appended, and the shorter sorts first. Records of one key in one window
// of one segment are equal without looking the window up.
func sortRecords(segs []*segment, recs, scratch []record) {
	cmpRecords := func(a, b record) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		ga, gb := segs[a.seg], segs[b.seg]
		if a.klen <= 8 && b.klen <= 8 {
			if a.klen != b.klen {
				return cmp.Compare(a.klen, b.klen)
			}
		} else if c := bytes.Compare(ga.key(&a), gb.key(&b)); c != 0 {
			return c
		}
		if a.seg == b.seg && a.win == b.win {
			return 0
		}
		return compareWindows(ga.wins[a.win], gb.wins[b.win])
	}
	if len(recs) < radixMin || len(scratch) < len(recs) {
		slices.SortFunc(recs, cmpRecords)
		return
	}
	radixSortRecords(recs, scratch[:len(recs)])
	// Runs of equal prefixes are in their original order: sort each.
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].prefix == recs[i].prefix {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(recs[i:j], cmpRecords)
		}
		i = j
	}
}

// radixMin is the fewest records sortRecords radix-sorts.
const radixMin = 1024

// radixSortRecords sorts recs by prefix, stably, with scratch (as long as
// recs) as the other buffer: a least significant digit radix sort on the
// prefix's bytes that skips the bytes all records share (int64 keys, as
// varints, differ in their first two or three). It counts every byte's
// digits in one pass. A merge of sorted runs costs a comparison of
// records, each a call, per record and level; this costs one pass over
// the records per byte that varies.
func radixSortRecords(recs, scratch []record) {
	var counts [8][256]int
	for i := range recs {
		p := recs[i].prefix
		for b := range 8 {
			counts[b][byte(p>>(8*b))]++
		}
	}
	src, dst := recs, scratch
	for b := range 8 {
		c := &counts[b]
		if c[byte(recs[0].prefix>>(8*b))] == len(recs) {
			continue // every record has this byte
		}
		sum := 0
		for d := range c {
			c[d], sum = sum, sum+c[d]
		}
		shift := 8 * b
		for i := range src {
			d := byte(src[i].prefix >> shift)
			dst[c[d]] = src[i]
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &recs[0] {
		copy(recs, src)
	}
}

// writeRun sorts the records of segs, partition by partition, into a new
// run file.
func writeRun(dir string, parts int, segs []*segment) (*run, error) {
	f, err := os.CreateTemp(dir, "run-*.bin")
	if err != nil {
		return nil, fmt.Errorf("shuffle: shuffle spill: %w", err)
	}
	r := &run{path: f.Name(), offsets: make([]int64, parts+1)}
	fail := func(err error) (*run, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("shuffle: shuffle spill: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	var off int64
	var recs, scratch []record
	var buf []byte
	for p := range parts {
		r.offsets[p] = off
		recs = recs[:0]
		for i, g := range segs {
			for _, c := range g.recs[p] {
				for _, rec := range c {
					rec.seg = uint32(i)
					recs = append(recs, rec)
				}
			}
		}
		if cap(scratch) < len(recs) {
			scratch = make([]record, len(recs))
		}
		sortRecords(segs, recs, scratch[:cap(scratch)])
		for i := range recs {
			g := segs[recs[i].seg]
			buf = appendRecord(buf[:0], g.key(&recs[i]), g.wins[recs[i].win], g.val(&recs[i]))
			if _, err := bw.Write(buf); err != nil {
				return fail(err)
			}
			off += int64(len(buf))
		}
	}
	r.offsets[parts] = off
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("shuffle: shuffle spill: %w", err)
	}
	return r, nil
}

func (r *run) remove() { os.Remove(r.path) }

// Record layout in runs: uvarint len(key), key, window flag (0 global,
// 1 interval), [varint start, varint end], uvarint len(val), val.
func appendRecord(dst, key []byte, win window.Window, val []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	if win.IsGlobal() {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		dst = binary.AppendVarint(dst, int64(win.Start))
		dst = binary.AppendVarint(dst, int64(win.End))
	}
	dst = binary.AppendUvarint(dst, uint64(len(val)))
	return append(dst, val...)
}

// runReadBuffer is the read buffer of each run a merge reads: a merge
// reads up to fanIn runs at once, so it is small.
const runReadBuffer = 16 << 10

// mergeSource is one sorted input of a partition's merge: the partition's
// segment of a run, read through a small buffer. Its current record's key
// and val are valid until the next call of next.
type mergeSource struct {
	f  *os.File
	br *bufio.Reader

	key []byte
	win window.Window
	val []byte
}

func openSegment(r *run, part int) (*mergeSource, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, fmt.Errorf("shuffle: shuffle read: %w", err)
	}
	start, end := r.offsets[part], r.offsets[part+1]
	return &mergeSource{f: f, br: bufio.NewReaderSize(io.NewSectionReader(f, start, end-start), runReadBuffer)}, nil
}

// next reads the next record; ok is false at the end.
func (m *mergeSource) next() (ok bool, err error) {
	klen, err := readUvarint(m.br)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if m.key, err = readBytes(m.br, m.key, klen); err != nil {
		return false, err
	}
	flag, err := m.br.ReadByte()
	if err != nil {
		return false, noEOF(err)
	}
	m.win = window.Global()
	if flag == 1 {
		s, err := readVarint(m.br)
		if err != nil {
			return false, noEOF(err)
		}
		e, err := readVarint(m.br)
		if err != nil {
			return false, noEOF(err)
		}
		m.win = window.Interval(window.Time(s), window.Time(e))
	}
	vlen, err := readUvarint(m.br)
	if err != nil {
		return false, noEOF(err)
	}
	if m.val, err = readBytes(m.br, m.val, vlen); err != nil {
		return false, err
	}
	return true, nil
}

// readUvarint is binary.ReadUvarint, decoding in br's buffer when the
// varint lies there whole rather than reading it a byte at a time through
// an interface (a window's start and end, as milliseconds since the epoch,
// are 6 bytes each).
func readUvarint(br *bufio.Reader) (uint64, error) {
	if b, _ := br.Peek(binary.MaxVarintLen64); len(b) > 0 {
		if v, n := binary.Uvarint(b); n > 0 {
			br.Discard(n)
			return v, nil
		}
	}
	return binary.ReadUvarint(br)
}

// readVarint is binary.ReadVarint, as readUvarint.
func readVarint(br *bufio.Reader) (int64, error) {
	if b, _ := br.Peek(binary.MaxVarintLen64); len(b) > 0 {
		if v, n := binary.Varint(b); n > 0 {
			br.Discard(n)
			return v, nil
		}
	}
	return binary.ReadVarint(br)
}

// readBytes reads n bytes into buf's storage.
func readBytes(r io.Reader, buf []byte, n uint64) ([]byte, error) {
	if n > 1<<31 {
		return nil, fmt.Errorf("record field of %d bytes", n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n, max(n, 2*uint64(cap(buf))))
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, noEOF(err)
}

// noEOF turns an end of file inside a record into an error.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (m *mergeSource) close() {
	if m.f != nil {
		m.f.Close()
	}
}

// compare orders merge sources by their current key and window.
func (m *mergeSource) compare(o *mergeSource) int {
	if c := bytes.Compare(m.key, o.key); c != 0 {
		return c
	}
	return compareWindows(m.win, o.win)
}

// mergeHeap is a min-heap of merge sources by current record.
type mergeHeap []*mergeSource

// openMerge returns the heap of partition part's segments of runs, each
// at its first record; segments without records are left out. The caller
// closes the heap.
func openMerge(runs []*run, part int) (mergeHeap, error) {
	h := make(mergeHeap, 0, len(runs))
	for _, r := range runs {
		m, err := openSegment(r, part)
		if err != nil {
			h.close()
			return nil, err
		}
		ok, err := m.next()
		if err != nil {
			m.close()
			h.close()
			return nil, fmt.Errorf("shuffle: shuffle read %s: %w", r.path, err)
		}
		if !ok {
			m.close()
			continue
		}
		h = append(h, m)
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	return h, nil
}

// advance moves the top source to its next record, dropping it at its
// end, and restores the heap; it returns the heap, shorter by one if the
// top source ended.
func (h mergeHeap) advance() (mergeHeap, error) {
	top := h[0]
	ok, err := top.next()
	if err != nil {
		return h, fmt.Errorf("shuffle: shuffle read: %w", err)
	}
	if !ok {
		top.close()
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
	}
	if len(h) > 0 {
		h.down(0)
	}
	return h, nil
}

func (h mergeHeap) close() {
	for _, m := range h {
		m.close()
	}
}

func (h mergeHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h[r].compare(h[l]) < 0 {
			j = r
		}
		if h[i].compare(h[j]) <= 0 {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// group is all values of one key in one (merged) window. Its bytes are
// only valid until the iterator that yielded it continues.
type group struct {
	key []byte
	win window.Window
	// vals holds the values, unless it is nil: then they lie back to back
	// in packed, value i from starts[i] to starts[i+1] (the last to the
	// end), which saves a slice header per value for large groups.
	vals   [][]byte
	packed []byte
	starts []int
}

// count returns the number of values.
func (g *group) count() int {
	if g.vals != nil {
		return len(g.vals)
	}
	return len(g.starts)
}

// value returns value i.
func (g *group) value(i int) []byte {
	if g.vals != nil {
		return g.vals[i]
	}
	end := len(g.packed)
	if i+1 < len(g.starts) {
		end = g.starts[i+1]
	}
	return g.packed[g.starts[i]:end:end]
}

// appendValues appends the values back to back to dst.
func (g *group) appendValues(dst []byte) []byte {
	if g.vals == nil {
		return append(dst, g.packed...)
	}
	for _, v := range g.vals {
		dst = append(dst, v...)
	}
	return dst
}

// groups yields the groups of partition part: by hashing when nothing was
// spilled, otherwise in key order by merging the partition's segment of
// every run. It may be called again for the same partition (a retried
// bundle). All writers must have committed before the first call.
func (s *Shuffle) groups(part int) iter.Seq2[group, error] {
	return func(yield func(group, error) bool) {
		mem, runs, err := s.readable()
		if err != nil {
			yield(group{}, err)
			return
		}
		if len(runs) == 0 {
			s.hashGroups(mem, part, yield)
			return
		}
		b := &groupBuffer{merging: s.merging, yield: yield}
		if err := s.mergeGroups(runs, part, b); err != nil {
			yield(group{}, err)
		}
	}
}

// readable readies the shuffle for reading and returns its in-memory
// segments and runs. If anything was spilled, it spills the segments still
// in memory as well, so that merging readers hold only their buffers, then
// merges the smallest runs into one until at most fanIn remain. Readers
// wait for it under s.mu; after the first call it has nothing left to do.
func (s *Shuffle) readable() ([]*segment, []*run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.runs) > 0 && len(s.mem) > 0 {
		r, err := writeRun(s.dir, s.parts, s.mem)
		if err != nil {
			return nil, nil, err
		}
		s.runs = append(s.runs, r)
		s.spills++
		s.mem, s.memBytes = nil, 0
	}
	for len(s.runs) > s.fanIn {
		// Merging the k smallest runs leaves len-k+1 runs.
		slices.SortFunc(s.runs, func(a, b *run) int { return cmp.Compare(a.size(), b.size()) })
		k := min(len(s.runs)-s.fanIn+1, s.fanIn)
		r, err := mergeRunFiles(s.dir, s.parts, s.runs[:k])
		if err != nil {
			return nil, nil, err
		}
		for _, old := range s.runs[:k] {
			old.remove()
		}
		s.runs = append([]*run{r}, s.runs[k:]...)
		s.merges++
	}
	return s.mem, slices.Clone(s.runs), nil
}

// size returns the bytes of records in the run.
func (r *run) size() int64 { return r.offsets[len(r.offsets)-1] }

// mergeRunFiles merges runs, partition by partition, into a new run file.
func mergeRunFiles(dir string, parts int, runs []*run) (*run, error) {
	f, err := os.CreateTemp(dir, "run-*.bin")
	if err != nil {
		return nil, fmt.Errorf("shuffle: shuffle merge: %w", err)
	}
	r := &run{path: f.Name(), offsets: make([]int64, parts+1)}
	fail := func(err error) (*run, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("shuffle: shuffle merge: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	var off int64
	var buf []byte
	for p := range parts {
		r.offsets[p] = off
		h, err := openMerge(runs, p)
		if err != nil {
			return fail(err)
		}
		for len(h) > 0 {
			buf = appendRecord(buf[:0], h[0].key, h[0].win, h[0].val)
			if _, err := bw.Write(buf); err != nil {
				h.close()
				return fail(err)
			}
			off += int64(len(buf))
			if h, err = h.advance(); err != nil {
				h.close()
				return fail(err)
			}
		}
	}
	r.offsets[parts] = off
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("shuffle: shuffle merge: %w", err)
	}
	return r, nil
}

// GroupVisitor receives the groups of a partition value by value, so that
// a large group need not be held whole before it is passed on.
type GroupVisitor interface {
	// StartGroup begins a group of key (in win, unless windows merge: then
	// a key's values come in one group, each with its window). key is
	// valid until the next StartGroup.
	StartGroup(key []byte, win window.Window)
	// AddValue adds val, in win, to the current group; val is only valid
	// during the call.
	AddValue(win window.Window, val []byte)
	// EndGroup ends the current group; false stops the read.
	EndGroup() bool
}

// VisitGroups passes the groups of partition part to v, as groups would
// yield them. Merged runs in non-merging windows are streamed to v without
// being buffered.
func (s *Shuffle) VisitGroups(part int, v GroupVisitor) error {
	if !s.merging {
		_, runs, err := s.readable()
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			return s.mergeGroups(runs, part, v)
		}
	}
	for g, err := range s.groups(part) {
		if err != nil {
			return err
		}
		v.StartGroup(g.key, g.win)
		for i := range g.count() {
			v.AddValue(g.win, g.value(i))
		}
		if !v.EndGroup() {
			return nil
		}
	}
	return nil
}

// mergeGroups merges partition part's segments of runs and passes their
// groups to v, in key order.
func (s *Shuffle) mergeGroups(runs []*run, part int, v GroupVisitor) error {
	h, err := openMerge(runs, part)
	if err != nil {
		return err
	}
	defer func() { h.close() }()
	var (
		key  []byte
		win  window.Window
		have bool
	)
	for len(h) > 0 {
		top := h[0]
		same := have && bytes.Equal(top.key, key) && (s.merging || compareWindows(top.win, win) == 0)
		if !same {
			if have && !v.EndGroup() {
				return nil
			}
			key, win, have = append(key[:0], top.key...), top.win, true
			v.StartGroup(key, win)
		}
		v.AddValue(top.win, top.val)
		if h, err = h.advance(); err != nil {
			return err
		}
	}
	if have {
		v.EndGroup()
	}
	return nil
}

// MaxKeptBuffer is the capacity beyond which a reader drops a buffer after
// a group rather than keeping it for the next: one huge group should not
// pin its memory for the rest of the partition.
const MaxKeptBuffer = 1 << 20

// groupBuffer is a GroupVisitor that collects each group's values, back
// to back in one buffer reused from group to group, and yields the group
// (merging its windows if they merge).
type groupBuffer struct {
	merging bool
	yield   func(group, error) bool

	key    []byte
	win    window.Window
	wins   []window.Window // per value, if merging
	vbuf   []byte
	starts []int
}

func (b *groupBuffer) StartGroup(key []byte, win window.Window) {
	if cap(b.vbuf) > MaxKeptBuffer {
		b.vbuf, b.starts, b.wins = nil, nil, nil
	}
	b.key, b.win = key, win
	b.vbuf, b.starts, b.wins = b.vbuf[:0], b.starts[:0], b.wins[:0]
}

func (b *groupBuffer) AddValue(win window.Window, val []byte) {
	b.starts = append(b.starts, len(b.vbuf))
	b.vbuf = append(b.vbuf, val...)
	if b.merging {
		b.wins = append(b.wins, win)
	}
}

func (b *groupBuffer) EndGroup() bool {
	g := group{key: b.key, win: b.win, packed: b.vbuf, starts: b.starts}
	if !b.merging {
		return b.yield(g, nil)
	}
	vals := make([][]byte, g.count())
	for i := range vals {
		vals[i] = g.value(i)
	}
	for _, g := range mergeWindows(b.key, b.wins, vals) {
		if !b.yield(g, nil) {
			return false
		}
	}
	return true
}

// hashGroups groups the records of partition part of the in-memory
// segments by key and window with a hash map.
func (s *Shuffle) hashGroups(mem []*segment, part int, yield func(group, error) bool) {
	if s.merging {
		// Sessions merge per key: collect each key's records, then merge.
		type entry struct {
			g *segment
			r *record
		}
		byKey := map[string][]entry{}
		var order []string
		for _, g := range mem {
			for _, c := range g.recs[part] {
				for i := range c {
					k := g.key(&c[i])
					es, ok := byKey[string(k)]
					if !ok {
						order = append(order, string(k))
					}
					byKey[string(k)] = append(es, entry{g, &c[i]})
				}
			}
		}
		for _, k := range order {
			es := byKey[k]
			wins := make([]window.Window, len(es))
			vals := make([][]byte, len(es))
			for i, e := range es {
				wins[i], vals[i] = e.g.wins[e.r.win], e.g.val(e.r)
			}
			for _, g := range mergeWindows(es[0].g.key(es[0].r), wins, vals) {
				if !yield(g, nil) {
					return
				}
			}
		}
		return
	}
	// Index by window, then key: looking up string(key) does not allocate.
	// A first pass numbers the groups and counts their values, a second
	// places the values: one array of values for all groups.
	n := 0
	for _, g := range mem {
		for _, c := range g.recs[part] {
			n += len(c)
		}
	}
	index := map[window.Window]map[string]int32{}
	var (
		groups  []group
		counts  []int32
		ids     = make([]int32, 0, n)
		lastWin window.Window
		byKey   map[string]int32
	)
	for _, g := range mem {
		for _, c := range g.recs[part] {
			for i := range c {
				r := &c[i]
				win := g.wins[r.win]
				if byKey == nil || win != lastWin {
					if byKey = index[win]; byKey == nil {
						byKey = make(map[string]int32, n/8)
						index[win] = byKey
					}
					lastWin = win
				}
				k := g.key(r)
				j, ok := byKey[string(k)]
				if !ok {
					j = int32(len(groups))
					byKey[string(k)] = j
					groups = append(groups, group{key: k, win: win})
					counts = append(counts, 0)
				}
				counts[j]++
				ids = append(ids, j)
			}
		}
	}
	vals := make([][]byte, n)
	next := make([]int32, len(groups)) // where the group's next value goes
	var at int32
	for j, cnt := range counts {
		next[j] = at
		groups[j].vals = vals[at : at+cnt : at+cnt]
		at += cnt
	}
	k := 0
	for _, g := range mem {
		for _, c := range g.recs[part] {
			for i := range c {
				j := ids[k]
				vals[next[j]] = g.val(&c[i])
				next[j]++
				k++
			}
		}
	}
	for _, g := range groups {
		if !yield(g, nil) {
			return
		}
	}
}

// mergeWindows groups the values of one key, vals[i] in wins[i], by
// window, merging overlapping windows (sessions).
func mergeWindows(key []byte, wins []window.Window, vals [][]byte) []group {
	merged, into := window.MergeWindows(wins)
	out := make([]group, len(merged))
	for i, w := range merged {
		out[i] = group{key: key, win: w}
	}
	for i, v := range vals {
		out[into[i]].vals = append(out[into[i]].vals, v)
	}
	return out
}

// Close removes the shuffle's run files; the shuffle holds nothing after.
func (s *Shuffle) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		r.remove()
	}
	s.runs, s.mem, s.memBytes = nil, nil, 0
}
