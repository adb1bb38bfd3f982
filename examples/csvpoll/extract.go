package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Row is a record of a CSV file, as the extractor found it.
type Row struct {
	File   string
	Line   int
	Fields []string
}

// DirExtractor is a Streamliner extractor over a directory: each batch holds
// the lines of the *.csv files that appeared since the previous batch.
//
// A retried bundle asks for a batch again; the extractor then returns the
// same files (re-read), so every row is emitted once. It remembers the
// file names of each batch for that, in memory: a restarted process
// starts over. It is safe for concurrent use.
type DirExtractor struct {
	dir string

	// mu guards the fields below.
	mu sync.Mutex
	// batches holds the files of each batch handed out.
	batches map[int64][]string
	// seen holds every file handed out.
	seen map[string]bool
}

// NewDirExtractor returns an extractor of dir's CSV files.
func NewDirExtractor(dir string) *DirExtractor {
	return &DirExtractor{dir: dir, batches: map[int64][]string{}, seen: map[string]bool{}}
}

// Initialize checks that the directory exists, so that a wrong path fails
// the job at once instead of producing empty batches forever. (Streamliner
// opens connections here; the runner calls it whenever it opens the
// source's reader.)
func (d *DirExtractor) Initialize(context.Context) error {
	fi, err := os.Stat(d.dir)
	if err != nil {
		return fmt.Errorf("csvpoll: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("csvpoll: %s is not a directory", d.dir)
	}
	return nil
}

// Next returns the lines of batch n's files: those not seen before, or,
// for a batch asked again, the same files as the first time.
func (d *DirExtractor) Next(_ context.Context, n int64) ([]Row, error) {
	files, err := d.filesOf(n)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, f := range files {
		rows, err = appendRecords(rows, d.dir, f)
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// filesOf returns the files of batch n, listing the directory for a batch
// not handed out yet.
func (d *DirExtractor) filesOf(n int64) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if files, ok := d.batches[n]; ok {
		return files, nil
	}
	names, err := filepath.Glob(filepath.Join(d.dir, "*.csv"))
	if err != nil {
		return nil, fmt.Errorf("csvpoll: list %s: %w", d.dir, err)
	}
	var files []string
	for _, p := range names {
		name := filepath.Base(p)
		if !d.seen[name] {
			d.seen[name] = true
			files = append(files, name)
		}
	}
	slices.Sort(files)
	d.batches[n] = files
	return files, nil
}

// appendRecords appends the records of a CSV file to rows.
func appendRecords(rows []Row, dir, name string) ([]Row, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return rows, fmt.Errorf("csvpoll: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1 // the transformer checks the shape
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("csvpoll: read %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, Row{File: name, Line: line, Fields: rec})
	}
}

// Cleanup is called when the runner closes the source's reader; the
// extractor holds nothing open between batches, so there is nothing to
// release. (It keeps its record of batches: the source may be reopened.)
func (d *DirExtractor) Cleanup(context.Context) error { return nil }

// Reading is a parsed row: a station's temperature.
type Reading struct {
	// Batch is the extractor's batch that brought the row.
	Batch int64
	// File and Line locate the row.
	File string
	Line int
	// Station and Celsius are the row's fields; Fahrenheit is derived.
	Station    string
	Celsius    float64
	Fahrenheit float64
}

// Parse is a Streamliner transformer: it turns a batch of rows into
// readings, skipping header lines. A malformed row fails the batch with
// an error naming its file and line.
type Parse struct{}

// Transform parses rows.
func (Parse) Transform(_ context.Context, rows []Row) ([]Reading, error) {
	out := make([]Reading, 0, len(rows))
	for _, r := range rows {
		if len(r.Fields) != 2 {
			return nil, fmt.Errorf("csvpoll: %s line %d: %q is not station,celsius", r.File, r.Line, r.Fields)
		}
		station, temp := r.Fields[0], r.Fields[1]
		if station == "station" && temp == "celsius" {
			continue // a header
		}
		c, err := strconv.ParseFloat(strings.TrimSpace(temp), 64)
		if err != nil {
			return nil, fmt.Errorf("csvpoll: %s line %d: %w", r.File, r.Line, err)
		}
		out = append(out, Reading{File: r.File, Line: r.Line, Station: strings.TrimSpace(station), Celsius: c, Fahrenheit: c*9/5 + 32})
	}
	return out, nil
}
