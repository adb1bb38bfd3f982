package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
)

// Storage is a set of open buckets: it opens each bucket a path names on
// first use, one per bucket URL, so that readers on many goroutines share
// connections, and closes them all in Close. Local paths, file:// and
// mem:// URLs need nothing more; other URL schemes are opened by a
// gocloud.dev blob.URLMux, by default blob.DefaultURLMux(), which knows
// the schemes of the gocloud drivers the program imports (as with
// blob.OpenBucket):
//
//	import _ "gocloud.dev/blob/s3blob" // s3:// URLs
//
// A URL whose scheme has no driver fails with a *SchemeError naming the
// package to import.
//
// Its mem:// buckets belong to it: files written to mem://b through one
// Storage are not seen through another, and Close discards them.
//
// A Storage is safe for concurrent use.
type Storage struct {
	mux *blob.URLMux
	// process marks the Default storage, which is never closed.
	process bool

	// mu guards the fields below.
	mu      sync.Mutex
	buckets map[string]*blob.Bucket
	closed  bool
}

// Options configure New.
type Options struct {
	// URLMux opens the buckets of URL schemes other than file:// and
	// mem://; nil means blob.DefaultURLMux().
	URLMux *blob.URLMux
}

// New returns an empty Storage; the program closes it once the pipelines
// that use it have run. opts may be nil.
func New(opts *Options) *Storage {
	s := &Storage{mux: blob.DefaultURLMux()}
	if opts != nil && opts.URLMux != nil {
		s.mux = opts.URLMux
	}
	return s
}

// defaultStorage is the process's Storage; see Default.
var defaultStorage = &Storage{mux: blob.DefaultURLMux(), process: true}

// Default returns the Storage that the package-level functions, and the
// sources and sinks of io/... given no Storage, use. It lives for the
// life of the process and is never closed (Close returns an error): no
// runner can tell when the last pipeline of a process that uses it has
// finished, and its mem:// buckets let a test write files in one step and
// read them in another. Programs that must release connections build
// their own with New and Close it.
func Default() *Storage { return defaultStorage }

// ErrClosed is returned (wrapped) by the methods of a closed Storage.
var ErrClosed = errors.New("filesystem: storage is closed")

// Close closes every bucket the Storage opened; later calls fail with
// ErrClosed. Files being read or written through it must be closed
// first. Closing the Default storage is an error and closes nothing.
func (s *Storage) Close() error {
	if s.process {
		return fmt.Errorf("filesystem: the default storage lives for the process and cannot be closed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	var errs []error
	for u, b := range s.buckets {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("filesystem: close bucket %s: %w", u, err))
		}
	}
	s.buckets = nil
	return errors.Join(errs...)
}

// SchemeError reports a URL whose scheme no blob driver opens: the
// program has not imported the driver (see Storage).
type SchemeError struct {
	// Scheme is the URL's scheme ("s3").
	Scheme string
	// URL is the bucket URL that could not be opened.
	URL string
}

// drivers names the gocloud driver package of well-known schemes.
var drivers = map[string]string{
	"s3":     "gocloud.dev/blob/s3blob",
	"gs":     "gocloud.dev/blob/gcsblob",
	"azblob": "gocloud.dev/blob/azureblob",
}

func (e *SchemeError) Error() string {
	if pkg, ok := drivers[e.Scheme]; ok {
		return fmt.Sprintf("filesystem: open bucket %s: no blob driver for scheme %q: import _ %q in the program", e.URL, e.Scheme, pkg)
	}
	return fmt.Sprintf("filesystem: open bucket %s: no blob driver for scheme %q: import its gocloud.dev driver in the program", e.URL, e.Scheme)
}

// bucket returns the open bucket of l, opening it on first use. The bucket
// outlives the call, so it is opened without the caller's context (which
// may be cancelled, or reused, once the call returns); ctx only bounds the
// wait.
func (s *Storage) bucket(ctx context.Context, l location) (*blob.Bucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u := l.bucketURL()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("filesystem: open bucket %s: %w", u, ErrClosed)
	}
	if b, ok := s.buckets[u]; ok {
		return b, nil
	}
	var (
		b   *blob.Bucket
		err error
	)
	switch l.scheme {
	case "":
		// Temporary files go next to the final one, so that the rename that
		// commits a write never crosses file systems, and no ".attrs"
		// sidecar files appear in users' directories.
		b, err = fileblob.OpenBucket(string(filepath.Separator), &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	case "mem":
		b = memblob.OpenBucket(nil)
	default:
		if !s.mux.ValidBucketScheme(l.scheme) {
			return nil, &SchemeError{Scheme: l.scheme, URL: u}
		}
		b, err = s.mux.OpenBucket(context.Background(), u)
	}
	if err != nil {
		return nil, fmt.Errorf("filesystem: open bucket %s: %w", u, err)
	}
	if s.buckets == nil {
		s.buckets = map[string]*blob.Bucket{}
	}
	s.buckets[u] = b
	return b, nil
}

// open parses path and returns its bucket and location.
func (s *Storage) open(ctx context.Context, path string) (*blob.Bucket, location, error) {
	l, err := parse(path)
	if err != nil {
		return nil, l, err
	}
	b, err := s.bucket(ctx, l)
	return b, l, err
}

// Match calls Default().Match.
func Match(ctx context.Context, pattern string) ([]FileInfo, error) {
	return defaultStorage.Match(ctx, pattern)
}

// List calls Default().List.
func List(ctx context.Context, prefix string) ([]FileInfo, error) {
	return defaultStorage.List(ctx, prefix)
}

// Stat calls Default().Stat.
func Stat(ctx context.Context, path string) (FileInfo, error) {
	return defaultStorage.Stat(ctx, path)
}

// Exists calls Default().Exists.
func Exists(ctx context.Context, path string) (bool, error) {
	return defaultStorage.Exists(ctx, path)
}

// NewRangeReader calls Default().NewRangeReader.
func NewRangeReader(ctx context.Context, path string, offset, length int64) (io.ReadCloser, error) {
	return defaultStorage.NewRangeReader(ctx, path, offset, length)
}

// NewWriter calls Default().NewWriter.
func NewWriter(ctx context.Context, path string, opts *WriterOptions) (io.WriteCloser, error) {
	return defaultStorage.NewWriter(ctx, path, opts)
}

// Delete calls Default().Delete.
func Delete(ctx context.Context, path string) error { return defaultStorage.Delete(ctx, path) }

// DeleteAll calls Default().DeleteAll.
func DeleteAll(ctx context.Context, prefix string) error {
	return defaultStorage.DeleteAll(ctx, prefix)
}

// Copy calls Default().Copy.
func Copy(ctx context.Context, dst, src string) error { return defaultStorage.Copy(ctx, dst, src) }

// Rename calls Default().Rename.
func Rename(ctx context.Context, dst, src string) error {
	return defaultStorage.Rename(ctx, dst, src)
}
