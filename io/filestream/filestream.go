// Package filestream streams lines from and to files: Read is Spark's file
// stream source on io/unbounded: every file that matches a pattern (local,
// file://, mem://, s3://, ... through io/filesystem) becomes input once,
// line by line, including files that appear while the job runs; Write is a
// streaming file sink that rolls a file per window, pane and shard.
//
// # The source
//
// Files are read one at a time in order of modification time (then path),
// and must be complete when they appear, as with Spark: write them
// elsewhere and rename them into place. A checkpoint mark names the files
// read to the end and the byte offset of the next line in the file being
// read, so a failed bundle rereads from the last committed line and
// nothing is read twice. Each line's event time is its file's modification
// time, which is also the watermark while the file is read: a file that
// appears later with an older modification time is late data.
//
// Marks keep every file read, so they grow with the number of files,
// unless Source.MaxFileAge is set: as Spark's maxFileAge, it ignores files
// older than the newest file started minus that age (the newest file's
// time, not the clock's), and marks forget the files read that are older,
// so they stay as large as the files within that age.
//
// # The sink
//
// Write takes its epochs from io/foreach: each (window, pane, shard) is
// one file, written whole or not at all, and skipped when it is already
// there, so a retried epoch (same name, same lines) leaves the output as
// it was.
package filestream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Source watches Pattern. Its one partition is the pattern. It is safe for
// concurrent use.
type Source struct {
	// Pattern is a glob pattern of io/filesystem ("s3://b/in/*.csv").
	Pattern string
	// Storage reaches the files (nil: filesystem.Default()).
	Storage *filesystem.Storage
	// MaxFileAge, when positive, ignores every file whose modification
	// time is older than that of the newest file started minus
	// MaxFileAge, and drops such files from marks (Spark's maxFileAge;
	// Spark's default is 7 days). Zero reads every file, however old,
	// and marks keep every file read. Files present when the job starts
	// are read oldest first, so they are all read unless they are older
	// than a file already started by the time they come up.
	MaxFileAge time.Duration
}

// Partition is the source's one partition.
type Partition struct {
	Pattern string
}

// Mark is where a read resumes: after the files in Done (sorted), at byte
// Offset of File ("" when between files).
type Mark struct {
	Done []string
	// DoneTimes are the modification times of Done's files, in Unix
	// nanoseconds and in Done's order; marks written before it existed
	// have none, and their files' times are learned from the next listing.
	DoneTimes []int64 `json:",omitempty"`
	File      string
	Offset    int64
	// Latest is the modification time of the newest file started: the
	// watermark, and the time MaxFileAge counts back from.
	Latest time.Time `json:",omitzero"`
}

// Line is a line of a file, without its line break, and where it starts.
type Line struct {
	File   string
	Offset int64
	Text   string
}

var _ unbounded.Source[Line, Partition, Mark] = Source{}

// Read returns the lines of the files that match pattern, now and later,
// as an unbounded PCollection. For MaxFileAge or another Storage, read a
// Source with unbounded.Read.
func Read(s sdk.Scope, pattern string, opts unbounded.Options) sdk.PCollection[Line] {
	if opts.Name == "" {
		opts.Name = "filestream.Read"
	}
	if pattern == "" {
		s.Fail(opts.Name, errors.New("filestream: the pattern is empty"))
		return sdk.PCollection[Line]{}
	}
	return unbounded.Read(s, Source{Pattern: pattern}, opts)
}

func (s Source) storage() *filesystem.Storage {
	if s.Storage != nil {
		return s.Storage
	}
	return filesystem.Default()
}

// Partitions implements unbounded.Source.
func (s Source) Partitions(context.Context) ([]Partition, error) {
	return []Partition{{Pattern: s.Pattern}}, nil
}

// Open implements unbounded.Source.
func (s Source) Open(ctx context.Context, p Partition, mark *Mark) (unbounded.Reader[Line, Mark], error) {
	if p.Pattern != s.Pattern {
		return nil, fmt.Errorf("filestream: partition %q is not this source's pattern %q", p.Pattern, s.Pattern)
	}
	if s.MaxFileAge < 0 {
		return nil, fmt.Errorf("filestream: %s: MaxFileAge %v is negative", s.Pattern, s.MaxFileAge)
	}
	r := &reader{st: s.storage(), pattern: s.Pattern, maxAge: s.MaxFileAge, done: map[string]int64{}}
	if mark == nil {
		return r, nil
	}
	if len(mark.DoneTimes) != 0 && len(mark.DoneTimes) != len(mark.Done) {
		return nil, fmt.Errorf("filestream: %s: mark has %d done files but %d times", s.Pattern, len(mark.Done), len(mark.DoneTimes))
	}
	for i, f := range mark.Done {
		var t int64 // 0: not known yet
		if len(mark.DoneTimes) != 0 {
			t = mark.DoneTimes[i]
		}
		r.done[f] = t
	}
	r.doneList = slices.Clone(mark.Done)
	slices.Sort(r.doneList)
	r.wm = mark.Latest
	if mark.File != "" {
		fi, err := r.st.Stat(ctx, mark.File)
		if err != nil {
			return nil, fmt.Errorf("filestream: resuming %s at offset %d: %w", mark.File, mark.Offset, err)
		}
		if err := r.start(ctx, fi, mark.Offset); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// reader reads the files in order, one open at a time.
type reader struct {
	st      *filesystem.Storage
	pattern string
	maxAge  time.Duration
	// done maps each file read to the end to its modification time in
	// Unix nanoseconds (0 until known, for files of an older mark);
	// doneList is its keys, sorted.
	done     map[string]int64
	doneList []string

	// The file being read: its info, reader and the offset of its next
	// line; cur.Path is "" between files.
	cur    filesystem.FileInfo
	rc     io.ReadCloser
	br     *bufio.Reader
	offset int64
	// wm is the latest modification time of a file started.
	wm time.Time
}

// Next returns the next line, moving to the next new file at the end of
// one; ok is false when no file is left.
func (r *reader) Next(ctx context.Context) (unbounded.Record[Line], bool, error) {
	for {
		if r.cur.Path == "" {
			fi, ok, err := r.nextFile(ctx)
			if err != nil || !ok {
				return unbounded.Record[Line]{}, false, err
			}
			if err := r.start(ctx, fi, 0); err != nil {
				return unbounded.Record[Line]{}, false, err
			}
		}
		text, err := r.br.ReadString('\n')
		if len(text) > 0 {
			// A last line without a line break is a line too: the file
			// is complete.
			line := Line{File: r.cur.Path, Offset: r.offset, Text: strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")}
			r.offset += int64(len(text))
			return unbounded.Record[Line]{Value: line, Time: r.cur.ModTime}, true, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return unbounded.Record[Line]{}, false, fmt.Errorf("filestream: %s at offset %d: %w", r.cur.Path, r.offset, err)
		}
		r.finish()
	}
}

// nextFile lists the pattern and returns the earliest file not read yet.
func (r *reader) nextFile(ctx context.Context) (filesystem.FileInfo, bool, error) {
	files, err := r.st.Match(ctx, r.pattern)
	if err != nil {
		return filesystem.FileInfo{}, false, fmt.Errorf("filestream: listing %s: %w", r.pattern, err)
	}
	var best filesystem.FileInfo
	for _, f := range files {
		if t, ok := r.done[f.Path]; ok {
			if t == 0 {
				r.done[f.Path] = f.ModTime.UnixNano()
			}
			continue
		}
		if r.tooOld(f.ModTime.UnixNano()) {
			continue
		}
		if best.Path == "" || f.ModTime.Before(best.ModTime) || f.ModTime.Equal(best.ModTime) && f.Path < best.Path {
			best = f
		}
	}
	return best, best.Path != "", nil
}

// tooOld reports whether a file modified at t (Unix nanoseconds) is
// older than MaxFileAge before the newest file started.
func (r *reader) tooOld(t int64) bool {
	return r.maxAge > 0 && !r.wm.IsZero() && t < r.wm.Add(-r.maxAge).UnixNano()
}

// forgetOld drops the files too old to be read again from done: with
// MaxFileAge, the listing skips them anyway.
func (r *reader) forgetOld() {
	if r.maxAge <= 0 {
		return
	}
	r.doneList = slices.DeleteFunc(r.doneList, func(f string) bool {
		t := r.done[f]
		if t != 0 && r.tooOld(t) {
			delete(r.done, f)
			return true
		}
		return false
	})
}

// start opens fi at offset.
func (r *reader) start(ctx context.Context, fi filesystem.FileInfo, offset int64) error {
	rc, err := r.st.NewRangeReader(ctx, fi.Path, offset, -1)
	if err != nil {
		return fmt.Errorf("filestream: opening %s at offset %d: %w", fi.Path, offset, err)
	}
	r.cur, r.rc, r.offset = fi, rc, offset
	if fi.ModTime.After(r.wm) {
		r.wm = fi.ModTime
	}
	if r.br == nil {
		r.br = bufio.NewReaderSize(rc, 64<<10)
	} else {
		r.br.Reset(rc)
	}
	return nil
}

// finish records the current file as read.
func (r *reader) finish() {
	r.rc.Close()
	r.done[r.cur.Path] = r.cur.ModTime.UnixNano()
	i, _ := slices.BinarySearch(r.doneList, r.cur.Path)
	r.doneList = slices.Insert(r.doneList, i, r.cur.Path)
	r.cur, r.rc, r.offset = filesystem.FileInfo{}, nil, 0
	r.forgetOld()
}

// Mark implements unbounded.Reader.
func (r *reader) Mark() Mark {
	m := Mark{Done: slices.Clone(r.doneList), File: r.cur.Path, Offset: r.offset, Latest: r.wm}
	if len(r.doneList) != 0 {
		m.DoneTimes = make([]int64, len(r.doneList))
		for i, f := range r.doneList {
			m.DoneTimes[i] = r.done[f]
		}
	}
	return m
}

// Watermark is the modification time of the latest file started: files
// are read in that order. Between files it stays; Idleness moves it on.
func (r *reader) Watermark() time.Time { return r.wm }

// Close implements unbounded.Reader.
func (r *reader) Close() error {
	if r.rc != nil {
		return r.rc.Close()
	}
	return nil
}
