package filebased

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/sdk"
)

// RecordReader reads the records of one file: the hook a file format
// implements (Beam's FileBasedSource.read_records).
//
// ReadRecords yields, in order, the records of f that start in rt's range,
// claiming each record's position with rt.TryClaim before yielding it and
// stopping when a claim fails; records that are not split points (inside a
// compressed block, say) are reported with rt.SetCurrentPosition instead.
// For a splittable file, positions are byte offsets in [0, f.Size), and a
// range [start, stop) holds the records that start at or after start and
// before stop: a record that straddles stop belongs to this range, one that
// straddles start to the previous one. The reader opens the file with
// f.Open at (or before) rt.StartPosition() and finds the first record that
// starts there. For an unsplittable file, rt covers [0, OffsetInfinity) and
// positions are any increasing offsets, usually in the decompressed content.
//
// ReadRecords is called concurrently for different files and ranges.
type RecordReader[T any] interface {
	ReadRecords(ctx context.Context, f File, rt rangetracker.RangeTracker[int64]) iter.Seq2[T, error]
}

// Options configure a Source. The zero value reads every matched file with
// compression detected by extension.
type Options struct {
	// Compression of the files; Auto (the default) detects it per file.
	Compression Compression
	// MinBundleSize is the smallest byte range Split cuts a file into.
	MinBundleSize int64
	// AllowEmpty makes a pattern that matches no file read nothing instead
	// of failing.
	AllowEmpty bool
	// Unsplittable reads every file whole, as if compressed.
	Unsplittable bool
	// Storage opens the files; nil means filesystem.Default(). Build it in
	// the program's main, before the pipeline (a PROCESS worker runs main
	// again), and close it after the pipeline has run.
	Storage *filesystem.Storage `json:"-"`
}

// storageOr returns fs, or filesystem.Default() if fs is nil.
func storageOr(fs *filesystem.Storage) *filesystem.Storage {
	if fs == nil {
		return filesystem.Default()
	}
	return fs
}

// Source is a bounded source over the files that a pattern matches (Beam's
// FileBasedSource): it expands the pattern when first needed (zero-byte files
// are skipped; no match at all is an error naming the pattern unless
// AllowEmpty), splits uncompressed files into byte ranges and reads
// compressed ones whole, and reads records with a RecordReader.
//
// Its positions are offsets in the concatenation of the matched files, in
// path order, each taking its stored size: a record of an uncompressed file
// is at the file's base plus its offset; the records of a compressed file
// are all at the file's base, the first one claimed and the rest not split
// points. So the whole Source can be read, and split, as one range; Split
// returns per-file sub-sources whose positions are those of the file.
//
// A Source is safe for concurrent use. Read it with source.Read (after
// New) — or use a format's transform, such as textio.Read.
type Source[T any] struct {
	pattern string
	opts    Options
	reader  RecordReader[T]

	// mu guards the expansion below.
	mu    sync.Mutex
	files []File
	bases []int64 // bases[i] is files[i]'s first position; len(files)+1 entries
}

var _ source.Bounded[string, int64] = (*Source[string])(nil)
var _ source.Codec[string, int64] = (*Source[string])(nil)

// New returns a source of the records reader finds in the files pattern
// matches (see package filesystem for paths and patterns). opts may be nil.
func New[T any](pattern string, reader RecordReader[T], opts *Options) *Source[T] {
	s := &Source[T]{pattern: pattern, reader: reader}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// Pattern returns the pattern the source reads.
func (s *Source[T]) Pattern() string { return s.pattern }

// Files expands the pattern (once; later calls return the same files) and
// returns the files to read, sorted by path.
func (s *Source[T]) Files(ctx context.Context) ([]File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bases != nil {
		return s.files, nil
	}
	fs := storageOr(s.opts.Storage)
	matched, err := fs.Match(sdk.BundleContext(ctx), s.pattern)
	if err != nil {
		return nil, fmt.Errorf("filebased: expand %q: %w", s.pattern, err)
	}
	if len(matched) == 0 && !s.opts.AllowEmpty {
		return nil, fmt.Errorf("filebased: pattern %q matches no files", s.pattern)
	}
	var files []File
	bases := []int64{0}
	for _, m := range matched {
		if m.Size == 0 {
			continue
		}
		c := s.opts.Compression.Resolve(m.Path)
		files = append(files, File{Path: m.Path, Size: m.Size, Compression: c, Splittable: c == Uncompressed && !s.opts.Unsplittable, fs: fs})
		bases = append(bases, bases[len(bases)-1]+m.Size)
	}
	s.files, s.bases = files, bases
	return files, nil
}

// EstimateSize returns the total stored size of the files.
func (s *Source[T]) EstimateSize(ctx context.Context) (int64, error) {
	if _, err := s.Files(ctx); err != nil {
		return 0, err
	}
	return s.bases[len(s.bases)-1], nil
}

// Split returns a bundle per byte range of about desiredBundleSize (at least
// MinBundleSize) of each splittable file, and one per unsplittable file.
func (s *Source[T]) Split(ctx context.Context, desiredBundleSize int64) ([]source.Bundle[T, int64], error) {
	files, err := s.Files(ctx)
	if err != nil {
		return nil, err
	}
	var out []source.Bundle[T, int64]
	for _, f := range files {
		fs := &fileSource[T]{file: f, opts: s.opts, reader: s.reader}
		bs, err := fs.Split(ctx, desiredBundleSize)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// DefaultRange returns [0, total size). It expands the pattern if nothing
// did yet, with a background context; if that fails, the range is empty and
// Read reports the error.
func (s *Source[T]) DefaultRange() (start, stop int64) {
	if _, err := s.Files(context.Background()); err != nil {
		return 0, 0
	}
	return 0, s.bases[len(s.bases)-1]
}

// NewRangeTracker returns an offset tracker of [start, stop) whose splits
// never fall inside an unsplittable file: a split there moves to the next
// file's base.
func (s *Source[T]) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	rt := &rootTracker{off: rangetracker.NewOffset(start, stop)}
	if files, err := s.Files(context.Background()); err == nil {
		rt.files, rt.bases = files, s.bases
	}
	return rt
}

// Read yields the records of the files whose records fall in rt's range.
func (s *Source[T]) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		files, err := s.Files(ctx)
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		start := rt.StartPosition()
		for i, f := range files {
			base, end := s.bases[i], s.bases[i+1]
			if f.Splittable && end <= start || !f.Splittable && base < start {
				continue // its records belong to earlier ranges
			}
			if base >= rt.StopPosition() {
				return
			}
			ft := &fileTracker{outer: rt, base: base, size: f.Size, whole: !f.Splittable, start: max(0, start-base)}
			for rec, err := range s.reader.ReadRecords(ctx, f, ft) {
				if !yield(rec, err) || err != nil {
					return
				}
			}
			if ft.rangeEnded() {
				return
			}
		}
	}
}

// sourceJSON is the encoding of a Source (Kind "pattern") or of one of its
// per-file sub-sources (Kind "file").
type sourceJSON struct {
	Kind    string
	Pattern string  `json:",omitempty"`
	Options Options `json:",omitzero"`
	File    *File   `json:",omitempty"`
	// Reader describes the RecordReader, for the pipeline's protos.
	Reader string `json:",omitempty"`
}

// EncodeSource encodes s itself or one of its per-file sub-sources.
func (s *Source[T]) EncodeSource(sub source.Bounded[T, int64]) ([]byte, error) {
	switch sub := sub.(type) {
	case *Source[T]:
		reader := fmt.Sprintf("%T", s.reader)
		if b, err := json.Marshal(s.reader); err == nil && string(b) != "{}" {
			reader += string(b)
		}
		return json.Marshal(sourceJSON{Kind: "pattern", Pattern: sub.pattern, Options: sub.opts, Reader: reader})
	case *fileSource[T]:
		return json.Marshal(sourceJSON{Kind: "file", File: &sub.file, Options: sub.opts})
	}
	return nil, fmt.Errorf("filebased: cannot encode a sub-source of type %T", sub)
}

// DecodeSource decodes what EncodeSource wrote; the sub-source reads with
// s's RecordReader and through s's Storage.
func (s *Source[T]) DecodeSource(data []byte) (source.Bounded[T, int64], error) {
	var j sourceJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("filebased: decode source: %w", err)
	}
	switch {
	case j.Kind == "pattern":
		j.Options.Storage = s.opts.Storage
		return New(j.Pattern, s.reader, &j.Options), nil
	case j.Kind == "file" && j.File != nil:
		j.Options.Storage = s.opts.Storage
		j.File.fs = storageOr(s.opts.Storage)
		return &fileSource[T]{file: *j.File, opts: j.Options, reader: s.reader}, nil
	}
	return nil, fmt.Errorf("filebased: decode source: unknown kind %q", j.Kind)
}

// fileSource reads one file, in the file's own positions.
type fileSource[T any] struct {
	file   File
	opts   Options
	reader RecordReader[T]
}

func (s *fileSource[T]) EstimateSize(context.Context) (int64, error) { return s.file.Size, nil }

// Split cuts a splittable file into ranges of max(desired, MinBundleSize)
// bytes, merging a last range smaller than MinBundleSize into the one
// before, as Beam's OffsetRange.split does.
func (s *fileSource[T]) Split(_ context.Context, desired int64) ([]source.Bundle[T, int64], error) {
	f := s.file
	if !f.Splittable {
		return []source.Bundle[T, int64]{{Weight: float64(f.Size), Source: s, Start: 0, Stop: rangetracker.OffsetInfinity}}, nil
	}
	size := max(desired, s.opts.MinBundleSize, 1)
	minSize := max(s.opts.MinBundleSize, 1)
	var out []source.Bundle[T, int64]
	for start := int64(0); start < f.Size; {
		stop := f.Size
		if f.Size-start > size {
			stop = start + size
		}
		if f.Size-stop < minSize {
			stop = f.Size
		}
		out = append(out, source.Bundle[T, int64]{Weight: float64(stop - start), Source: s, Start: start, Stop: stop})
		start = stop
	}
	return out, nil
}

func (s *fileSource[T]) DefaultRange() (start, stop int64) {
	if !s.file.Splittable {
		return 0, rangetracker.OffsetInfinity
	}
	return 0, s.file.Size
}

func (s *fileSource[T]) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	if !s.file.Splittable {
		return rangetracker.NewUnsplittable[int64](rangetracker.NewOffset(start, stop))
	}
	return rangetracker.NewOffset(start, stop)
}

func (s *fileSource[T]) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[T, error] {
	return s.reader.ReadRecords(ctx, s.file, rt)
}
