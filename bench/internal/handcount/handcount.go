// Package handcount is the hand-written word count the benchmarks measure
// our runner against: the practical limit of a Go program on a few cores.
// It cuts the input into one byte range per worker at line boundaries;
// each worker streams its range through a 1 MiB buffer and counts the words
// (the words package's scanner) in its own map; the maps are merged at the
// end. No framework, no encoding, no per-line allocation.
package handcount

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/beamgo-dev/beamgo/examples/wordcount/words"
)

// piece is a byte range of a file that starts at a line start and ends
// at one (or at the end of the file).
type piece struct {
	path       string
	start, end int64
}

// Count returns how often each word occurs in the files, counted by
// workers goroutines (at least 1).
func Count(paths []string, workers int) (map[string]int64, error) {
	workers = max(workers, 1)
	plan, err := cut(paths, workers)
	if err != nil {
		return nil, err
	}
	maps := make([]map[string]*int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := map[string]*int64{}
			for _, p := range plan[w] {
				if err := countPiece(p, m); err != nil {
					errs[w] = err
					return
				}
			}
			maps[w] = m
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(maps[0]))
	for _, m := range maps {
		for w, n := range m {
			out[w] += *n
		}
	}
	return out, nil
}

// cut divides the files into workers lists of pieces of about equal size,
// cutting at line boundaries.
func cut(paths []string, workers int) ([][]piece, error) {
	sizes := make([]int64, len(paths))
	var total int64
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("handcount: %w", err)
		}
		sizes[i] = fi.Size()
		total += fi.Size()
	}
	plan := make([][]piece, workers)
	share := (total + int64(workers) - 1) / int64(workers)
	w, room := 0, share
	for i, p := range paths {
		start := int64(0)
		for start < sizes[i] {
			end := sizes[i]
			if w < workers-1 && end-start > room {
				var err error
				if end, err = lineStart(p, start+room); err != nil {
					return nil, err
				}
			}
			if end > start {
				plan[w] = append(plan[w], piece{p, start, end})
			}
			room -= end - start
			start = end
			if room <= 0 && w < workers-1 {
				w, room = w+1, share
			}
		}
	}
	return plan, nil
}

// lineStart returns the first line start at or after off in the file.
func lineStart(path string, off int64) (int64, error) {
	if off <= 0 {
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("handcount: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	pos := off - 1
	for {
		n, err := f.ReadAt(buf, pos)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i) + 1, nil
		}
		pos += int64(n)
		if err == io.EOF {
			return pos, nil
		}
		if err != nil {
			return 0, fmt.Errorf("handcount: %w", err)
		}
	}
}

// countPiece adds the words of one piece to m. It scans whole chunks of
// lines at once: a word never spans a line end, so the words of a chunk
// are the words of its lines.
func countPiece(p piece, m map[string]*int64) error {
	f, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("handcount: %w", err)
	}
	defer f.Close()
	r := io.NewSectionReader(f, p.start, p.end-p.start)
	add := func(w string) {
		c := m[w]
		if c == nil {
			// The word points into the chunk; the map keeps a copy so that
			// it does not hold on to the chunk.
			c = new(int64)
			m[strings.Clone(w)] = c
		}
		*c++
	}
	buf := make([]byte, 1<<20)
	have := 0
	for {
		n, err := io.ReadFull(r, buf[have:])
		have += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			words.Words(string(buf[:have]), add)
			return nil
		}
		if err != nil {
			return fmt.Errorf("handcount: %s: %w", p.path, err)
		}
		last := bytes.LastIndexByte(buf[:have], '\n')
		if last < 0 { // a line longer than the buffer
			buf = append(buf, make([]byte, len(buf))...)
			continue
		}
		words.Words(string(buf[:last+1]), add)
		have = copy(buf, buf[last+1:have])
	}
}
