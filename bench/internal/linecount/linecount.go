// Package linecount is the reference for the 1 GB read benchmark: what
// reading a text file set line by line must produce (Stats), and the
// hand-written reader our runner's textio read is measured against.
//
// Lines are textio's: ended by "\n" or "\r\n" (the terminator is not part
// of the line), the last line needing no terminator.
package linecount

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"unsafe"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Stats summarize a set of lines independently of their order, so that
// readers that split the input differently can be compared: a lost or
// duplicated line changes Lines, and a changed line changes Sum.
type Stats struct {
	// Lines counts the lines.
	Lines int64
	// Bytes counts the bytes of the lines, without terminators.
	Bytes int64
	// Sum adds the CRC-32C of every line.
	Sum uint64
}

// Add adds one line (without its terminator) to s.
func (s *Stats) Add(line []byte) {
	s.Lines++
	s.Bytes += int64(len(line))
	s.Sum += uint64(crc32.Checksum(line, castagnoli))
}

// AddString adds one line (without its terminator) to s, without copying
// it.
func (s *Stats) AddString(line string) {
	s.Add(unsafe.Slice(unsafe.StringData(line), len(line))) // read only
}

// Merge adds the lines of t to s.
func (s *Stats) Merge(t Stats) {
	s.Lines += t.Lines
	s.Bytes += t.Bytes
	s.Sum += t.Sum
}

// ReadFile returns the Stats of the lines of r, and the number of bytes
// read (the lines with their terminators).
func ReadFile(r io.Reader) (Stats, int64, error) {
	var s Stats
	var raw int64
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte // a line longer than the buffer
	for {
		chunk, err := br.ReadSlice('\n')
		raw += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if len(long) > 0 {
			chunk = append(long, chunk...)
			long = long[:0]
		}
		if err != nil && err != io.EOF {
			return s, raw, err
		}
		if len(chunk) > 0 {
			line := chunk
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
				line = bytes.TrimSuffix(line, []byte{'\r'})
			}
			s.Add(line)
		}
		if err == io.EOF {
			return s, raw, nil
		}
	}
}

// Count reads the files with workers goroutines, each taking whole files
// from a shared queue, and returns the Stats of all their lines and the
// number of bytes read.
func Count(paths []string, workers int) (Stats, int64, error) {
	workers = max(1, min(workers, len(paths)))
	queue := make(chan string, len(paths))
	for _, p := range paths {
		queue <- p
	}
	close(queue)
	var (
		// mu guards the three below.
		mu    sync.Mutex
		total Stats
		raw   int64
		errs  []error
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p := range queue {
				s, n, err := countFile(p)
				mu.Lock()
				total.Merge(s)
				raw += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return total, raw, errors.Join(errs...)
}

func countFile(path string) (Stats, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, 0, fmt.Errorf("linecount: %w", err)
	}
	defer f.Close()
	s, n, err := ReadFile(f)
	if err != nil {
		return s, n, fmt.Errorf("linecount: read %s: %w", path, err)
	}
	return s, n, nil
}
