package filebased

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/sdk"
)

// File is one file of a file-based source, as a RecordReader sees it.
type File struct {
	// Path is the file's path or URL.
	Path string
	// Size is its size as stored, before decompression.
	Size int64
	// Compression is the file's compression, resolved (never Auto).
	Compression Compression
	// Splittable says whether the file is read in byte ranges (positions
	// are byte offsets in [0, Size)) or whole (positions are offsets in the
	// decompressed content, in a range [0, OffsetInfinity) that cannot
	// split).
	Splittable bool
	// fs opens the file; nil means filesystem.Default().
	fs *filesystem.Storage
}

// Open returns the file's (decompressed) content from offset on. A
// compressed file can only be opened at offset 0. Errors name the file and,
// for corrupt or truncated compressed data, the offsets where reading
// failed.
func (f File) Open(ctx context.Context, offset int64) (io.ReadCloser, error) {
	if f.Compression != Uncompressed && offset != 0 {
		return nil, fmt.Errorf("filebased: %s: cannot open %v data at offset %d", f.Path, f.Compression, offset)
	}
	// The reader may keep its context in goroutines that outlive the
	// caller's call (an HTTP transport's): give it the bundle's.
	r, err := storageOr(f.fs).NewRangeReader(sdk.BundleContext(ctx), f.Path, offset, -1)
	if err != nil {
		return nil, err
	}
	if f.Compression == Uncompressed {
		return r, nil
	}
	cr := &countingReader{r: r}
	d, err := NewDecompressor(cr, f.Compression)
	if err != nil {
		r.Close()
		return nil, f.decompressError(err, cr.n, 0)
	}
	return &decompressingReader{f: f, raw: r, cr: cr, d: d}, nil
}

func (f File) decompressError(err error, compressed, decompressed int64) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return fmt.Errorf("filebased: %s: zstd frame at decompressed offset %d needs a window larger than the %d bytes allowed (filebased.MaxZstdWindow): %w",
			f.Path, decompressed, MaxZstdWindow, err)
	}
	return fmt.Errorf("filebased: %s: %v data corrupt or truncated (read %d of %d compressed bytes, failed at decompressed offset %d): %w",
		f.Path, f.Compression, compressed, f.Size, decompressed, err)
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
	// err is the first error other than io.EOF.
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// decompressingReader reads decompressed content and names the file and
// offsets in errors.
type decompressingReader struct {
	f   File
	raw io.Closer
	cr  *countingReader
	d   io.ReadCloser
	// out counts the decompressed bytes returned.
	out int64
}

func (r *decompressingReader) Read(p []byte) (int, error) {
	n, err := r.d.Read(p)
	r.out += int64(n)
	switch {
	case err == nil || err == io.EOF:
	case r.cr.err != nil:
		// Storage failed, not decompression: that error names the file.
		err = r.cr.err
	default:
		err = r.f.decompressError(err, r.cr.n, r.out)
	}
	return n, err
}

func (r *decompressingReader) Close() error {
	err := r.d.Close()
	if cerr := r.raw.Close(); err == nil {
		err = cerr
	}
	return err
}
