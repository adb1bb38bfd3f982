package textio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Option configures Read, ReadWithFileName, NewSource and Write. Each says
// which it applies to; the others ignore it.
type Option func(*config)

type config struct {
	name       string
	skipHeader int
	maxLine    int64
	opts       filebased.Options
	desired    int64
	sink       filebased.SinkOptions
	header     *string
	footer     *string
	validate   bool
}

// Name sets the transform's name (default "ReadText", "ReadTextWithFileName"
// or "WriteText"). For Read and Write.
func Name(name string) Option { return func(c *config) { c.name = name } }

// WithCompression sets the files' compression. For Read the default,
// filebased.Auto, detects it per file by extension; for Write, by the
// suffix.
func WithCompression(comp filebased.Compression) Option {
	return func(c *config) { c.opts.Compression, c.sink.Compression = comp, comp }
}

// SkipHeaderLines skips the first n lines of every file. For Read.
func SkipHeaderLines(n int) Option { return func(c *config) { c.skipHeader = n } }

// MaxLineSize sets the longest line Read accepts, in bytes without the
// terminator (default DefaultMaxLineSize). A longer line fails the job with
// a *filebased.RecordTooLargeError naming the file, the line's offset and
// the limit. Reading a line takes about twice its size in memory. For
// Read.
func MaxLineSize(n int64) Option { return func(c *config) { c.maxLine = n } }

// DefaultMaxLineSize is the longest line Read accepts unless MaxLineSize
// says otherwise: filebased.DefaultMaxRecordSize, 16 MiB, which explains
// the choice. Text is untrusted input: without a limit, a small compressed
// file holding one huge line would make the reader hold all of it.
const DefaultMaxLineSize = filebased.DefaultMaxRecordSize

// MinBundleSize sets the smallest byte range a file is split into. For
// Read.
func MinBundleSize(n int64) Option { return func(c *config) { c.opts.MinBundleSize = n } }

// DesiredBundleSize sets the byte size of the initial bundles (default
// DefaultBundleSize). For Read.
func DesiredBundleSize(n int64) Option { return func(c *config) { c.desired = n } }

// DefaultBundleSize is the byte size of Read's initial bundles, 64 MiB as
// in Beam Go's textio: files are cut into few large bundles, and runners
// that split running reads (ours do, when a worker is idle) spread them
// over the workers. Fewer bundles mean less per-bundle work downstream: a
// lifted combine emits a partial result per key and bundle, so a word
// count of 200 MB in source.DesiredBundleSizeFor's 15 bundles of 14 MB
// shuffles several times the records it does in 64 MiB bundles.
const DefaultBundleSize = 64 << 20

// AllowEmpty makes a pattern that matches no file read nothing instead of
// failing the job. For Read.
func AllowEmpty() Option { return func(c *config) { c.opts.AllowEmpty = true } }

// Validate makes Read match its pattern when the pipeline is built, as
// Beam's validate does, so that a pattern that matches no file fails the
// construction (p.Err, and Run before anything runs) with a *PatternError
// naming it, instead of failing the job; AllowEmpty turns the check off.
// Without Validate the files are matched when the pipeline runs: use it
// when they exist before the pipeline is built. A malformed pattern fails
// the construction either way. For Read.
func Validate() Option { return func(c *config) { c.validate = true } }

// ErrNoMatch is the error of a *PatternError whose pattern matched no file.
var ErrNoMatch = errors.New("matches no files")

// PatternError is a file pattern that Read refused when the pipeline was
// built: malformed, not matched (Validate), or matching no file (Err is
// ErrNoMatch).
type PatternError struct {
	Pattern string
	Err     error
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("textio: file pattern %q: %v", e.Pattern, e.Err)
}

// Unwrap returns the cause.
func (e *PatternError) Unwrap() error { return e.Err }

// checkPattern checks the pattern of a read being built: its syntax, and
// with Validate whether it matches a file.
func checkPattern(pattern string, c config) error {
	if pattern == "" {
		return &PatternError{Pattern: pattern, Err: errors.New("empty file pattern")}
	}
	if err := filesystem.CheckPattern(pattern); err != nil {
		return &PatternError{Pattern: pattern, Err: err}
	}
	if !c.validate || c.opts.AllowEmpty {
		return nil
	}
	fs := c.opts.Storage
	if fs == nil {
		fs = filesystem.Default()
	}
	ctx, cancel := context.WithTimeout(context.Background(), validateTimeout)
	defer cancel()
	matched, err := fs.Match(ctx, pattern)
	switch {
	case err != nil:
		return &PatternError{Pattern: pattern, Err: err}
	case len(matched) == 0:
		return &PatternError{Pattern: pattern, Err: ErrNoMatch}
	}
	return nil
}

// validateTimeout bounds the matching of Validate.
const validateTimeout = time.Minute

// WithStorage reads or writes the files through fs instead of
// filesystem.Default(). Build fs in the program's main before the pipeline
// (a PROCESS worker runs main again and builds its own) and close it after
// the pipeline has run. For Read and Write.
func WithStorage(fs *filesystem.Storage) Option {
	return func(c *config) { c.opts.Storage, c.sink.Storage = fs, fs }
}

// Unsplittable reads each file whole, in one bundle. For Read.
func Unsplittable() Option { return func(c *config) { c.opts.Unsplittable = true } }

func collect(name string, opts []Option) (config, error) {
	c := config{name: name}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.skipHeader < 0 {
		return c, fmt.Errorf("textio: SkipHeaderLines(%d) is negative", c.skipHeader)
	}
	if c.maxLine < 0 {
		return c, fmt.Errorf("textio: MaxLineSize(%d) is negative", c.maxLine)
	}
	return c, nil
}

// NewSource returns the source of the lines of the files pattern matches:
// the source Read reads, for custom pipelines and for testing with
// package testutil.
func NewSource(pattern string, opts ...Option) *filebased.Source[string] {
	c, _ := collect("", opts)
	return filebased.New(pattern, filebased.RecordReader[string](&lineReader[string]{SkipHeaderLines: max(c.skipHeader, 0), MaxLineSize: max(c.maxLine, 0), mk: lineString}), &c.opts)
}

func lineString(_ string, line string) string { return line }

func lineWithFile(path string, line string) sdk.KV[string, string] {
	return sdk.KV[string, string]{Key: path, Value: line}
}

// Read returns the lines of the text files that pattern matches (a path,
// URL or glob; see package filesystem), without their "\n" or "\r\n"
// terminators; a last line without a terminator is read too. Uncompressed
// files are read in parallel byte ranges and split further while running;
// compressed ones (by extension, or WithCompression) are read whole.
//
// Files are matched when the pipeline runs. A pattern that matches no file
// fails the job with an error naming it, unless AllowEmpty; zero-byte files
// are skipped. A file that cannot be read, or holds corrupt or truncated
// compressed data, fails the job with an error naming it, and so does a
// line longer than MaxLineSize (a *filebased.RecordTooLargeError).
func Read(s sdk.Scope, pattern string, opts ...Option) sdk.PCollection[string] {
	return read(s, pattern, "ReadText", lineString, opts)
}

// ReadWithFileName is Read, with each line keyed by the path of its file.
func ReadWithFileName(s sdk.Scope, pattern string, opts ...Option) sdk.PCollection[sdk.KV[string, string]] {
	return read(s, pattern, "ReadTextWithFileName", lineWithFile, opts)
}

func read[T any](s sdk.Scope, pattern, name string, mk func(string, string) T, opts []Option) sdk.PCollection[T] {
	c, err := collect(name, opts)
	if err == nil {
		err = checkPattern(pattern, c)
	}
	if err != nil {
		s.Fail(c.name, err)
		return sdk.PCollection[T]{}
	}
	src := filebased.New(pattern, filebased.RecordReader[T](&lineReader[T]{SkipHeaderLines: c.skipHeader, MaxLineSize: c.maxLine, mk: mk}), &c.opts)
	desired := c.desired
	if desired <= 0 {
		desired = DefaultBundleSize
	}
	return source.Read[T, int64](s, src, source.Name(c.name), source.DesiredBundleSize(desired))
}
