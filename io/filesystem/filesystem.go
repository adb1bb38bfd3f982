package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// FileInfo describes a file found by Match or Stat.
type FileInfo struct {
	// Path is the file's path, in the form of the pattern that found it.
	Path string
	// Size is the file's size in bytes, as stored (before decompression).
	Size int64
	// ModTime is the file's modification time, if the store reports it.
	ModTime time.Time
	// ContentType is the file's MIME type, where the store keeps one; only
	// Stat reports it.
	ContentType string
}

// Code classifies an error of this package (or of gocloud.dev/blob) as
// gcerrors.Code does, and also reports local permission errors as
// gcerrors.PermissionDenied and missing local files as gcerrors.NotFound.
func Code(err error) gcerrors.ErrorCode {
	c := gcerrors.Code(err)
	if c == gcerrors.Unknown || c == gcerrors.Internal {
		switch {
		case errors.Is(err, fs.ErrPermission):
			return gcerrors.PermissionDenied
		case errors.Is(err, fs.ErrNotExist):
			return gcerrors.NotFound
		}
	}
	return c
}

// IsNotFound reports whether err means that a file does not exist.
func IsNotFound(err error) bool { return Code(err) == gcerrors.NotFound }

// Match returns the files that pattern matches, sorted by path. A pattern
// without wildcards matches the one file it names, or nothing if that file
// does not exist. Directories never match.
func (s *Storage) Match(ctx context.Context, pattern string) ([]FileInfo, error) {
	b, l, err := s.open(ctx, pattern)
	if err != nil {
		return nil, err
	}
	g, err := compileGlob(l.key)
	if err != nil {
		return nil, err
	}
	if g.re == nil {
		fi, err := stat(ctx, b, l)
		switch {
		case IsNotFound(err):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return []FileInfo{fi}, nil
	}
	opts := &blob.ListOptions{Prefix: g.prefix}
	if g.flat {
		// Deeper keys cannot match: let the store collapse them.
		opts.Delimiter = "/"
	}
	var out []FileInfo
	it := b.List(opts)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("filesystem: match %q: list %q: %w", pattern, opts.Prefix, err)
		}
		if obj.IsDir || !g.match(obj.Key) {
			continue
		}
		out = append(out, FileInfo{Path: l.withKey(obj.Key), Size: obj.Size, ModTime: obj.ModTime})
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// List returns the files whose path starts with prefix, at any depth, sorted
// by path.
func (s *Storage) List(ctx context.Context, prefix string) ([]FileInfo, error) {
	b, l, err := s.open(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	it := b.List(&blob.ListOptions{Prefix: l.key})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("filesystem: list %q: %w", prefix, err)
		}
		if !obj.IsDir {
			out = append(out, FileInfo{Path: l.withKey(obj.Key), Size: obj.Size, ModTime: obj.ModTime})
		}
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Stat returns the size and modification time of the file at path.
func (s *Storage) Stat(ctx context.Context, path string) (FileInfo, error) {
	b, l, err := s.open(ctx, path)
	if err != nil {
		return FileInfo{}, err
	}
	return stat(ctx, b, l)
}

func stat(ctx context.Context, b *blob.Bucket, l location) (FileInfo, error) {
	if l.local() {
		// fileblob reports a directory as a file; a directory is not one.
		fi, err := os.Stat(l.localPath())
		if err == nil && fi.IsDir() {
			return FileInfo{}, fmt.Errorf("filesystem: stat %q: is a directory: %w", l, fs.ErrNotExist)
		}
	}
	a, err := b.Attributes(ctx, l.key)
	if err != nil {
		return FileInfo{}, fmt.Errorf("filesystem: stat %q: %w", l, err)
	}
	return FileInfo{Path: l.String(), Size: a.Size, ModTime: a.ModTime, ContentType: a.ContentType}, nil
}

// Exists reports whether the file at path exists.
func (s *Storage) Exists(ctx context.Context, path string) (bool, error) {
	_, err := s.Stat(ctx, path)
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	}
	return false, err
}

// NewRangeReader returns a reader of length bytes of the file at path,
// starting at offset; a negative length reads to the end. Reading past the
// end is not an error: the reader returns fewer bytes.
func (s *Storage) NewRangeReader(ctx context.Context, path string, offset, length int64) (io.ReadCloser, error) {
	b, l, err := s.open(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := b.NewRangeReader(ctx, l.key, offset, length, nil)
	if err != nil {
		return nil, fmt.Errorf("filesystem: open %q at offset %d: %w", path, offset, err)
	}
	return &reader{r: r, path: path, off: offset}, nil
}

// reader names the file and offset in read errors.
type reader struct {
	r    *blob.Reader
	path string
	off  int64
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.off += int64(n)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("filesystem: read %q at offset %d: %w", r.path, r.off, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.r.Close() }

// WriterOptions configure NewWriter.
type WriterOptions struct {
	// ContentType is the MIME type stored with the file, where the store
	// keeps one ("" lets the store guess from the first bytes).
	ContentType string
}

// NewWriter returns a writer that creates or replaces the file at path. The
// file appears, whole, only when Close returns nil: a write abandoned
// without Close, or whose ctx is cancelled first, leaves no file. opts may
// be nil.
func (s *Storage) NewWriter(ctx context.Context, path string, opts *WriterOptions) (io.WriteCloser, error) {
	b, l, err := s.open(ctx, path)
	if err != nil {
		return nil, err
	}
	wo := &blob.WriterOptions{}
	if opts != nil {
		wo.ContentType = opts.ContentType
	}
	w, err := b.NewWriter(ctx, l.key, wo)
	if err != nil {
		return nil, fmt.Errorf("filesystem: create %q: %w", path, err)
	}
	return &writer{w: w, path: path}, nil
}

type writer struct {
	w    *blob.Writer
	path string
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = fmt.Errorf("filesystem: write %q: %w", w.path, err)
	}
	return n, err
}

func (w *writer) Close() error {
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("filesystem: close %q: %w", w.path, err)
	}
	return nil
}

// Delete deletes the file at path. Deleting a missing file is an error
// that IsNotFound recognizes.
func (s *Storage) Delete(ctx context.Context, path string) error {
	b, l, err := s.open(ctx, path)
	if err != nil {
		return err
	}
	if err := b.Delete(ctx, l.key); err != nil {
		return fmt.Errorf("filesystem: delete %q: %w", path, err)
	}
	return nil
}

// DeleteAll deletes every file whose path starts with prefix (for local
// files, also the directories left empty under a prefix that ends in '/').
// It is not an error if there is none.
func (s *Storage) DeleteAll(ctx context.Context, prefix string) error {
	files, err := s.List(ctx, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if err := s.Delete(ctx, f.Path); err != nil && !IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if l, err := parse(prefix); err == nil && l.local() && strings.HasSuffix(l.key, "/") && len(errs) == 0 {
		if err := os.RemoveAll(l.localPath()); err != nil {
			errs = append(errs, fmt.Errorf("filesystem: remove %q: %w", prefix, err))
		}
	}
	return errors.Join(errs...)
}

// Copy copies the file src to dst, replacing dst if it exists. Within one
// bucket the store copies (or, for local files, hard-links) without moving
// the bytes through this process; across buckets it streams them. Like a
// write, the copy appears whole or not at all.
func (s *Storage) Copy(ctx context.Context, dst, src string) error {
	sb, sl, err := s.open(ctx, src)
	if err != nil {
		return err
	}
	db, dl, err := s.open(ctx, dst)
	if err != nil {
		return err
	}
	switch {
	case sl.local() && dl.local():
		if err := linkLocal(dl.localPath(), sl.localPath()); err == nil {
			return nil
		}
		// Hard links fail across devices and on some file systems: copy.
	case sl.bucketURL() == dl.bucketURL():
		if err := sb.Copy(ctx, dl.key, sl.key, nil); err != nil {
			return fmt.Errorf("filesystem: copy %q to %q: %w", src, dst, err)
		}
		return nil
	}
	return stream(ctx, db, dl, sb, sl)
}

// linkLocal replaces dst with a hard link to src.
func linkLocal(dst, src string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return err
	}
	// Link under a temporary name and rename it over dst, so that dst is
	// never missing or partial.
	tmp := fmt.Sprintf("%s.%d.link.tmp", dst, time.Now().UnixNano())
	if err := os.Link(src, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// stream copies src to dst through this process.
func stream(ctx context.Context, db *blob.Bucket, dl location, sb *blob.Bucket, sl location) error {
	r, err := sb.NewReader(ctx, sl.key, nil)
	if err != nil {
		return fmt.Errorf("filesystem: copy %q to %q: %w", sl, dl, err)
	}
	defer r.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := db.NewWriter(wctx, dl.key, &blob.WriterOptions{ContentType: r.ContentType()})
	if err != nil {
		return fmt.Errorf("filesystem: copy %q to %q: %w", sl, dl, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel() // abandons the write
		w.Close()
		return fmt.Errorf("filesystem: copy %q to %q: %w", sl, dl, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("filesystem: copy %q to %q: %w", sl, dl, err)
	}
	return nil
}

// Rename moves the file src to dst, replacing dst if it exists: a rename
// for local files, a copy and a delete elsewhere.
func (s *Storage) Rename(ctx context.Context, dst, src string) error {
	sl, err := parse(src)
	if err != nil {
		return err
	}
	dl, err := parse(dst)
	if err != nil {
		return err
	}
	if sl.local() && dl.local() {
		if err := os.MkdirAll(filepath.Dir(dl.localPath()), 0o777); err != nil {
			return fmt.Errorf("filesystem: rename %q to %q: %w", src, dst, err)
		}
		if err := os.Rename(sl.localPath(), dl.localPath()); err == nil {
			return nil
		}
	}
	if err := s.Copy(ctx, dst, src); err != nil {
		return err
	}
	return s.Delete(ctx, src)
}
