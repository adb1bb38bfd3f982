package reduce

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Spilling. A reducer whose buffered values outgrow its share of the
// runner's memory budget writes arena pages to a file of its own (Spill)
// and reads their chunks back when a pane needs them, as Flink's state
// backend keeps cold state on disk. The windows, trigger states, keys and
// timers stay in memory: they are what every element touches; the values
// are touched when they are added and when their window fires.
//
// A spilled page is written whole, in its place in the file (an extent of
// whole pageSize units), and its memory dropped. Its bytes do not change
// after that, except the link of a chunk that was a list's tail: the
// list's next value goes to a new chunk in memory, and the old tail's
// header is written in the file (seal). Chunks read back are fresh
// buffers that panes may keep.
//
// Pages are spilled oldest first, round the page list from where the last
// spill stopped, and the page being filled last. A freed extent is reused
// by a page of its size or smaller, except while a Frozen copy that may
// still read it is out (Freeze to Release): then it waits until none is.
// A failed write or read is kept (Reducer.Err): the panes fired since may
// lack values, and the runner fails the job.

// extent is where a spilled page lies in the spill file: at off, n bytes
// (the page's length) in units pages' worth of the file.
type extent struct {
	off   int64
	n     int32
	units int32
}

// spillFile is a reducer's spill file, created when it first spills. The
// reducer writes it; a Frozen copy may read it at the same time.
type spillFile struct {
	dir string
	f   *os.File
	end int64 // the file's length in use
	// free holds the offsets of freed extents by their units (pages'
	// worth of the file); pending the extents freed while frozen copies
	// were out.
	free    map[int32][]int64
	pending []extent
	// frozen counts the Frozen copies that may read the file.
	frozen atomic.Int32

	mu  sync.Mutex
	err error
}

// SpillError is the error of a reducer that could not write or read back
// its spilled values.
type SpillError struct {
	// Path is the spill file's name (removed already: the file is
	// unlinked once open).
	Path string
	Err  error
}

func (e *SpillError) Error() string {
	return fmt.Sprintf("windowing state spill file %s: %v", e.Path, e.Err)
}

// Unwrap returns Err.
func (e *SpillError) Unwrap() error { return e.Err }

// fail records the file's first error.
func (s *spillFile) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		name := s.dir
		if s.f != nil {
			name = s.f.Name()
		}
		s.err = &SpillError{Path: name, Err: err}
	}
}

// failed returns the file's first error.
func (s *spillFile) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// open creates the file, unlinked at once, so that it goes with the
// process whatever happens.
func (s *spillFile) open() error {
	if s.f != nil {
		return nil
	}
	f, err := os.CreateTemp(s.dir, "reducer-spill-")
	if err != nil {
		s.fail(err)
		return err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		s.fail(err)
		return err
	}
	s.f = f
	return nil
}

// write writes page at a free extent of its size and returns the extent.
func (s *spillFile) write(page []byte) (extent, bool) {
	if s.open() != nil {
		return extent{}, false
	}
	s.reclaim()
	e := extent{n: int32(len(page)), units: int32((len(page) + pageSize - 1) / pageSize)}
	e.off = s.alloc(e.units)
	if _, err := s.f.WriteAt(page, e.off); err != nil {
		s.fail(err)
		return extent{}, false
	}
	return e, true
}

// release frees e.
func (s *spillFile) release(e extent) {
	if s.frozen.Load() > 0 {
		s.pending = append(s.pending, e)
		return
	}
	s.freeUnits(e.off, e.units)
}

func (s *spillFile) freeUnits(off int64, units int32) {
	if s.free == nil {
		s.free = map[int32][]int64{}
	}
	s.free[units] = append(s.free[units], off)
}

// alloc returns the offset of units free units: a freed extent of that
// many, or the start of a larger one (the rest stays free), or the end
// of the file.
func (s *spillFile) alloc(units int32) int64 {
	if offs := s.free[units]; len(offs) > 0 {
		s.free[units] = offs[:len(offs)-1]
		return offs[len(offs)-1]
	}
	for u, offs := range s.free {
		if u > units && len(offs) > 0 {
			off := offs[len(offs)-1]
			s.free[u] = offs[:len(offs)-1]
			s.freeUnits(off+int64(units)*pageSize, u-units)
			return off
		}
	}
	off := s.end
	s.end += int64(units) * pageSize
	return off
}

// reclaim makes the extents freed while frozen copies were out reusable
// once none is.
func (s *spillFile) reclaim() {
	if len(s.pending) == 0 || s.frozen.Load() > 0 {
		return
	}
	p := s.pending
	s.pending = nil
	for _, e := range p {
		s.release(e)
	}
}

// reset forgets every extent: no page is spilled any more. The file
// keeps its length while frozen copies are out.
func (s *spillFile) reset() {
	s.free, s.pending = nil, nil
	if s.f == nil || s.frozen.Load() > 0 {
		// A frozen copy may read the old extents: new pages go after
		// them, and the old ones are lost until the next reset.
		return
	}
	s.end = 0
	if err := s.f.Truncate(0); err != nil {
		s.fail(err)
	}
}

// close closes the file.
func (s *spillFile) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// readAt reads len(b) bytes at off, recording an error.
func (s *spillFile) readAt(b []byte, off int64) bool {
	if _, err := s.f.ReadAt(b, off); err != nil {
		s.fail(fmt.Errorf("read %d bytes at %d: %w", len(b), off, err))
		return false
	}
	return true
}

// spilledChunk reads the values part of chunk c of l, on spilled page e,
// and the chunk after it, as chunkBytes does in memory.
func (s *spillFile) spilledChunk(e extent, l *valueList, c ref) (data []byte, next ref) {
	off := int64(uint32(c))
	if c == l.tail {
		buf := make([]byte, l.tailUsed)
		if !s.readAt(buf, e.off+off+chunkHeader) {
			return nil, noRef
		}
		return buf, noRef
	}
	buf := make([]byte, min(chunkHeader+maxChunk, int64(e.n)-off))
	if len(buf) < chunkHeader || !s.readAt(buf, e.off+off) {
		if len(buf) < chunkHeader {
			s.fail(fmt.Errorf("chunk at %d of a %d-byte page", off, e.n))
		}
		return nil, noRef
	}
	used := int64(binary.LittleEndian.Uint32(buf[8:]))
	next = ref(binary.LittleEndian.Uint64(buf))
	if chunkHeader+used > int64(len(buf)) {
		if off+chunkHeader+used > int64(e.n) {
			s.fail(fmt.Errorf("chunk at %d of %d bytes past its %d-byte page", off, used, e.n))
			return nil, noRef
		}
		buf = make([]byte, used)
		if !s.readAt(buf, e.off+off+chunkHeader) {
			return nil, noRef
		}
		return buf, next
	}
	return buf[chunkHeader : chunkHeader+used : chunkHeader+used], next
}

// seal writes the header of chunk c on spilled page e.
func (s *spillFile) seal(e extent, c, next ref, used uint32) {
	var h [12]byte
	binary.LittleEndian.PutUint64(h[:], uint64(next))
	binary.LittleEndian.PutUint32(h[8:], used)
	if _, err := s.f.WriteAt(h[:], e.off+int64(uint32(c))); err != nil {
		s.fail(err)
	}
}
