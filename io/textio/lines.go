package textio

import (
	"bytes"
	"context"
	"io"
	"iter"
	"sync/atomic"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/rangetracker"
)

// lineReader is the filebased.RecordReader of text: records are lines ended
// by "\n" or "\r\n" (the terminator is dropped), and the last line needs no
// terminator. mk builds the record of a line.
type lineReader[T any] struct {
	// SkipHeaderLines and MaxLineSize are exported so that the pipeline's
	// description of the source shows them.
	SkipHeaderLines int
	// MaxLineSize is the longest line read, in bytes without the
	// terminator; a longer one fails the read with a
	// *filebased.RecordTooLargeError. 0 means DefaultMaxLineSize.
	MaxLineSize int64 `json:",omitempty"`
	mk          func(path string, line string) T
}

var _ filebased.RecordReader[string] = (*lineReader[string])(nil)

// ReadRecords yields the lines that start in rt's range. Beam's rules: a
// range starting at s > 0 begins at the first line that starts at or after
// s (found by reading from s-1 up to the next '\n'), so a line that starts
// exactly at s is this range's, and a line that straddles s the previous
// range's; each line is claimed at its start offset, and the line whose
// claim fails (it starts at or after the stop) ends the range. With header
// lines to skip, every range first skips them from offset 0 and starts no
// earlier than their end.
func (r *lineReader[T]) ReadRecords(ctx context.Context, f filebased.File, rt rangetracker.RangeTracker[int64]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		sc, err := r.open(ctx, f, rt.StartPosition())
		if err != nil {
			yield(zero, err)
			return
		}
		if sc == nil {
			return
		}
		defer sc.close()
		var next atomic.Int64
		next.Store(sc.pos)
		rt.SetSplitPointsUnclaimedCallback(func(stop int64) int64 {
			if stop <= next.Load() {
				return 0
			}
			return rangetracker.SplitPointsUnknown
		})
		for i := 0; ; i++ {
			line, start, ok := sc.next()
			if !ok {
				if sc.err != io.EOF {
					yield(zero, sc.err)
				}
				return
			}
			next.Store(sc.pos)
			claimed, err := rt.TryClaim(start)
			if err != nil {
				yield(zero, err)
				return
			}
			if !claimed || !yield(r.mk(f.Path, sc.text(line, start)), nil) {
				return
			}
			if i&4095 == 4095 && ctx.Err() != nil {
				yield(zero, ctx.Err())
				return
			}
		}
	}
}

// open returns a scanner positioned at the first line of a range starting
// at start, or nil if the range holds no line start.
func (r *lineReader[T]) open(ctx context.Context, f filebased.File, start int64) (*lineScanner, error) {
	remaining := f.Size - start
	if !f.Splittable {
		start, remaining = 0, 4*f.Size
	}
	if start == 0 || r.SkipHeaderLines > 0 {
		rc, err := f.Open(ctx, 0)
		if err != nil {
			return nil, err
		}
		sc := newLineScanner(rc, 0, remaining, r.limit(f))
		for range r.SkipHeaderLines {
			if _, _, ok := sc.next(); !ok {
				err := sc.err
				sc.close()
				if err != io.EOF {
					return nil, err
				}
				return nil, nil // fewer lines than the header
			}
		}
		if sc.pos >= start {
			return sc, nil
		}
		sc.close()
	}
	rc, err := f.Open(ctx, start-1)
	if err != nil {
		return nil, err
	}
	sc := newLineScanner(rc, start-1, remaining+1, r.limit(f))
	if !sc.skipLine() {
		err := sc.err
		sc.close()
		if err != io.EOF {
			return nil, err
		}
		return nil, nil
	}
	return sc, nil
}

// limit returns the line limit of reading f.
func (r *lineReader[T]) limit(f filebased.File) lineLimit {
	n := r.MaxLineSize
	if n <= 0 {
		n = DefaultMaxLineSize
	}
	return lineLimit{max: min(n, maxMaxLineSize), path: f.Path, compressed: f.Compression != filebased.Uncompressed}
}

// maxMaxLineSize caps MaxLineSize so that buffer sizes cannot overflow.
const maxMaxLineSize = 1 << 40

// lineLimit is the longest line a lineScanner returns, and what its error
// names.
type lineLimit struct {
	max        int64
	path       string
	compressed bool
}

// lineScanner splits a reader into lines with one buffer: a line is a
// sub-slice of it, valid until the next call. The buffer grows to hold a
// line of up to limit.max bytes and its terminator, and no further: a
// longer line ends the scan with a *filebased.RecordTooLargeError.
//
// text turns lines into strings a few kilobytes at a time: it copies a
// block of consecutive lines into one string and hands out sub-strings of
// it, which saves an allocation per line. The strings stay valid for good
// (a block is never written again); a string kept by user code keeps its
// whole block in memory, at most blockSize bytes.
type lineScanner struct {
	rc  io.ReadCloser
	buf []byte
	// lo and hi bound the unread bytes of buf.
	lo, hi int
	// pos is the offset of buf[lo] in the file.
	pos int64
	// err is the reader's error once it returned one (io.EOF at the end),
	// or the error of a line longer than limit.max.
	err   error
	limit lineLimit
	// last is the index in buf of the line next returned last.
	last int
	// block holds the text at offsets [blockPos, blockPos+len(block)).
	block    string
	blockPos int64
}

// blockSize is the most text that one string copy of lines holds.
const blockSize = 4 << 10

// text returns line, which next just returned and which starts at offset
// start, as a string.
func (s *lineScanner) text(line []byte, start int64) string {
	if off := start - s.blockPos; off >= 0 && off+int64(len(line)) <= int64(len(s.block)) && s.block != "" {
		return s.block[off : off+int64(len(line))]
	}
	// A new block, from this line to the last line end within blockSize
	// bytes; at least this line.
	end := min(s.hi, s.last+blockSize)
	n := bytes.LastIndexByte(s.buf[s.last:end], '\n') + 1
	n = max(n, len(line))
	s.block, s.blockPos = string(s.buf[s.last:s.last+n]), start
	return s.block[:len(line)]
}

const (
	minBuffer = 4 << 10
	maxBuffer = 1 << 20
)

// newLineScanner reads rc, which starts at offset pos; expect is about how
// many bytes there are to read, to size the buffer.
func newLineScanner(rc io.ReadCloser, pos, expect int64, limit lineLimit) *lineScanner {
	size := int64(maxBuffer)
	if expect >= 0 && expect < size {
		size = max(expect+1, minBuffer)
	}
	return &lineScanner{rc: rc, buf: make([]byte, size), pos: pos, limit: limit}
}

// tooLong records the error of the line at s.pos, of which read bytes were
// read.
func (s *lineScanner) tooLong(read int64) {
	s.err = &filebased.RecordTooLargeError{
		Path: s.limit.path, Record: "line", Offset: s.pos, Compressed: s.limit.compressed,
		Limit: s.limit.max, Read: read, Setting: "textio.MaxLineSize",
	}
}

func (s *lineScanner) close() { s.rc.Close() }

// fill reads more bytes, moving the unread ones to the front and growing
// the buffer when they fill it, up to what a line of limit.max bytes and
// its "\r\n" need. It returns false when the reader has no more, or when
// the unread bytes, which hold no '\n', are more than that (s.err says
// why).
func (s *lineScanner) fill() bool {
	if s.err != nil {
		return false
	}
	if s.lo > 0 {
		s.hi = copy(s.buf, s.buf[s.lo:s.hi])
		s.lo = 0
	}
	if s.hi == len(s.buf) {
		if int64(s.hi) > s.limit.max+1 {
			s.tooLong(int64(s.hi))
			return false
		}
		buf := make([]byte, min(2*int64(len(s.buf)), s.limit.max+2))
		copy(buf, s.buf[:s.hi])
		s.buf = buf
	}
	for {
		n, err := s.rc.Read(s.buf[s.hi:])
		s.hi += n
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// next returns the next line without its terminator and the offset where
// it starts. At the end (or on a read error, in s.err) it returns ok false.
func (s *lineScanner) next() (line []byte, start int64, ok bool) {
	scanned := 0 // bytes after s.lo known to hold no '\n'
	for {
		if i := bytes.IndexByte(s.buf[s.lo+scanned:s.hi], '\n'); i >= 0 {
			end := s.lo + scanned + i
			line, start = s.buf[s.lo:end], s.pos
			s.last = s.lo
			s.pos += int64(end + 1 - s.lo)
			s.lo = end + 1
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if int64(len(line)) > s.limit.max {
				s.pos = start
				s.tooLong(int64(len(line)))
				return nil, 0, false
			}
			return line, start, true
		}
		scanned = s.hi - s.lo
		if !s.fill() {
			if s.err != io.EOF || s.lo == s.hi {
				return nil, 0, false
			}
			// The last line has no terminator.
			if int64(s.hi-s.lo) > s.limit.max {
				s.tooLong(int64(s.hi - s.lo))
				return nil, 0, false
			}
			line, start = s.buf[s.lo:s.hi], s.pos
			s.last = s.lo
			s.pos += int64(s.hi - s.lo)
			s.lo = s.hi
			return line, start, true
		}
	}
}

// skipLine skips past the next '\n'. It returns false if there is none.
func (s *lineScanner) skipLine() bool {
	for {
		if i := bytes.IndexByte(s.buf[s.lo:s.hi], '\n'); i >= 0 {
			s.pos += int64(i + 1)
			s.lo += i + 1
			return true
		}
		s.pos += int64(s.hi - s.lo)
		s.lo = s.hi
		if !s.fill() {
			return false
		}
	}
}
