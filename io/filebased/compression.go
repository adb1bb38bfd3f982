package filebased

import (
	"bufio"
	"compress/bzip2"
	"fmt"
	"io"
	"strings"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Compression is the compression of a file's content. Compressed files are
// read whole (they cannot be split by byte offset).
type Compression int

// The compressions. Auto picks one by the file name's extension.
const (
	// Auto detects the compression from the extension: .gz (gzip), .bz2
	// (bzip2), .deflate (zlib-wrapped deflate, as Beam's DEFLATE), .zst and
	// .zstd (zstd), case-insensitively; anything else is Uncompressed.
	Auto Compression = iota
	Uncompressed
	Gzip
	Bzip2
	Deflate
	Zstd
)

var compressionNames = [...]string{Auto: "auto", Uncompressed: "uncompressed", Gzip: "gzip", Bzip2: "bzip2", Deflate: "deflate", Zstd: "zstd"}

// String returns the compression's lower-case name.
func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// MarshalText encodes c by name.
func (c Compression) MarshalText() ([]byte, error) {
	if c < 0 || int(c) >= len(compressionNames) {
		return nil, fmt.Errorf("filebased: unknown compression %d", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText decodes a name that MarshalText wrote.
func (c *Compression) UnmarshalText(b []byte) error {
	for i, n := range compressionNames {
		if n == string(b) {
			*c = Compression(i)
			return nil
		}
	}
	return fmt.Errorf("filebased: unknown compression %q", b)
}

// Extension returns the file name extension of c (".gz", ...), or "" for
// Auto and Uncompressed.
func (c Compression) Extension() string {
	switch c {
	case Gzip:
		return ".gz"
	case Bzip2:
		return ".bz2"
	case Deflate:
		return ".deflate"
	case Zstd:
		return ".zst"
	}
	return ""
}

// DetectCompression returns the compression that Auto means for path.
func DetectCompression(path string) Compression {
	p := strings.ToLower(path)
	if i := strings.IndexByte(p, '?'); i >= 0 && strings.Contains(p[i:], "=") {
		p = p[:i] // a URL's query string
	}
	switch {
	case strings.HasSuffix(p, ".gz"):
		return Gzip
	case strings.HasSuffix(p, ".bz2"):
		return Bzip2
	case strings.HasSuffix(p, ".deflate"):
		return Deflate
	case strings.HasSuffix(p, ".zst"), strings.HasSuffix(p, ".zstd"):
		return Zstd
	}
	return Uncompressed
}

// Resolve returns c, or for Auto the compression detected from path.
func (c Compression) Resolve(path string) Compression {
	if c == Auto {
		return DetectCompression(path)
	}
	return c
}

// MaxZstdWindow is the largest zstd window (the history a decoder keeps,
// allocated whole when a frame starts) that NewDecompressor accepts:
// 128 MiB, the default limit of the reference decoder (zstd -d), so every
// file that tool reads without --memory is read. A frame that declares a
// larger window fails with an error naming it, instead of making the
// reader allocate up to 512 MiB on the frame header's word. The other
// codecs need no such limit: gzip and deflate keep 32 KiB of history,
// bzip2 at most a 900 kB block.
const MaxZstdWindow = 128 << 20

// NewDecompressor returns a reader of the decompressed content of r, which
// is compressed with c (not Auto). Concatenated streams (several gzip
// members, bzip2 streams, zlib streams or zstd frames) read as one. Closing
// it does not close r. A zstd frame with a window larger than
// MaxZstdWindow is an error.
func NewDecompressor(r io.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case Uncompressed:
		return io.NopCloser(r), nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		return z, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case Deflate:
		return newZlibReader(r)
	case Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxZstdWindow))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("filebased: unsupported compression %v", c)
}

// zlibReader reads concatenated zlib streams.
type zlibReader struct {
	br *bufio.Reader
	z  io.ReadCloser
}

func newZlibReader(r io.Reader) (io.ReadCloser, error) {
	// A bufio.Reader is an io.ByteReader, so the inflater reads no further
	// than the end of each stream, and the next one starts where it ended.
	br := bufio.NewReaderSize(r, 64<<10)
	z, err := zlib.NewReader(br)
	if err != nil {
		return nil, err
	}
	return &zlibReader{br: br, z: z}, nil
}

func (r *zlibReader) Read(p []byte) (int, error) {
	for {
		n, err := r.z.Read(p)
		if err != io.EOF {
			return n, err
		}
		if _, perr := r.br.Peek(1); perr != nil {
			if perr == io.EOF {
				return n, io.EOF
			}
			return n, perr
		}
		if err := r.z.(zlib.Resetter).Reset(r.br, nil); err != nil {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *zlibReader) Close() error { return r.z.Close() }

// NewCompressor returns a writer that compresses into w with c (not Auto).
// Closing it ends the compressed stream but does not close w.
func NewCompressor(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Uncompressed:
		return nopWriteCloser{w}, nil
	case Gzip:
		return gzip.NewWriter(w), nil
	case Bzip2:
		return dsbzip2.NewWriter(w, nil)
	case Deflate:
		return zlib.NewWriter(w), nil
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	}
	return nil, fmt.Errorf("filebased: unsupported compression %v", c)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
