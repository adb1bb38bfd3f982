package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/atomicfile"
)

// SnapshotStore holds a job's snapshot files elsewhere than in a local
// directory (Checkpointing.Store): a bucket of a blob store, for example
// (launch opens gocloud.dev/blob URLs given as --checkpoint_dir as one).
// Names are base names ("ckpt-00000000000000000001.bin"); the engine never
// asks for a rename, which blob stores do not have. Implementations are
// safe for concurrent use.
type SnapshotStore interface {
	// List returns the names of the store's objects.
	List(ctx context.Context) ([]string, error)
	// NewWriter writes a new object; it exists, whole, once Close has
	// returned nil, and not before. Cancelling ctx before Close aborts
	// the write.
	NewWriter(ctx context.Context, name string) (io.WriteCloser, error)
	// NewRangeReader reads length bytes of an object from offset.
	NewRangeReader(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error)
	// Size returns an object's size.
	Size(ctx context.Context, name string) (int64, error)
	// Copy copies object src to dst, which appears whole.
	Copy(ctx context.Context, dst, src string) error
	// Delete removes an object.
	Delete(ctx context.Context, name string) error
}

// snapStore is where the checkpointer keeps its files: a local directory
// (dirStore) or a SnapshotStore (objStore). Names are base names.
type snapStore interface {
	// files returns the names of the snapshot files, newest first.
	files() ([]string, error)
	// create starts a temporary file for name, made visible under name
	// by commit.
	create(name string) (snapWriter, error)
	// open opens a complete snapshot file.
	open(name string) (snapReader, error)
	remove(name string) error
	// cleanup removes the temporary files interrupted writes left.
	cleanup()
	// path names a file in errors and logs.
	path(name string) string
}

// snapWriter is a snapshot file being written; exactly one of commit and
// abort is called.
type snapWriter interface {
	io.Writer
	commit() error
	abort()
}

// snapReader reads a complete snapshot file.
type snapReader interface {
	io.ReaderAt
	io.Closer
	size() (int64, error)
}

// isSnapshot reports whether name is a snapshot file's.
func isSnapshot(name string) bool {
	return strings.HasPrefix(name, "ckpt-") && strings.HasSuffix(name, ".bin")
}

// tempName is the temporary name of snapshot file name.
func tempName(name string) string { return "." + strings.TrimSuffix(name, ".bin") + ".tmp" }

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".ckpt-") && strings.HasSuffix(name, ".tmp")
}

// newest sorts snapshot names newest first (their sequence numbers are
// zero-padded).
func newest(names []string) []string {
	var out []string
	for _, n := range names {
		if isSnapshot(n) {
			out = append(out, n)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// dirStore keeps the files in a local directory: each is written to a
// temporary file, synced, renamed and the directory synced.
type dirStore struct{ dir string }

func (d dirStore) path(name string) string { return filepath.Join(d.dir, name) }

func (d dirStore) files() ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return newest(names), nil
}

func (d dirStore) create(name string) (snapWriter, error) {
	p, err := atomicfile.Create(d.path(name), ".ckpt-*.tmp")
	if err != nil {
		return nil, err
	}
	return pendingFile{p}, nil
}

// pendingFile is a dirStore's file being written.
type pendingFile struct{ p *atomicfile.Pending }

func (f pendingFile) Write(b []byte) (int, error) { return f.p.Write(b) }
func (f pendingFile) commit() error               { return f.p.Commit() }
func (f pendingFile) abort()                      { f.p.Abort() }

func (d dirStore) open(name string) (snapReader, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

type osFile struct{ *os.File }

func (f osFile) size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (d dirStore) remove(name string) error { return os.Remove(d.path(name)) }

func (d dirStore) cleanup() {
	tmps, _ := filepath.Glob(filepath.Join(d.dir, ".ckpt-*.tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
}

// objStore keeps the files in a SnapshotStore. A snapshot is uploaded
// under a temporary name, and copied to its own name once the upload has
// completed, so that a listing never shows a snapshot that is not whole
// (a store's upload is atomic too, but a crash between the two steps
// leaves only a temporary, which cleanup removes).
type objStore struct {
	s SnapshotStore
	// where names the store, for errors.
	where string
}

func (o objStore) path(name string) string { return strings.TrimSuffix(o.where, "/") + "/" + name }

func (o objStore) files() ([]string, error) {
	names, err := o.s.List(context.Background())
	if err != nil {
		return nil, err
	}
	return newest(names), nil
}

func (o objStore) create(name string) (snapWriter, error) {
	ctx, cancel := context.WithCancel(context.Background())
	tmp := tempName(name)
	w, err := o.s.NewWriter(ctx, tmp)
	if err != nil {
		cancel()
		return nil, err
	}
	return &objWriter{o: o, w: w, name: name, tmp: tmp, cancel: cancel}, nil
}

// objWriter uploads a snapshot under its temporary name.
type objWriter struct {
	o         objStore
	w         io.WriteCloser
	name, tmp string
	cancel    context.CancelFunc
}

func (w *objWriter) Write(b []byte) (int, error) { return w.w.Write(b) }

func (w *objWriter) commit() error {
	defer w.cancel()
	ctx := context.Background()
	if err := w.w.Close(); err != nil {
		w.o.s.Delete(ctx, w.tmp)
		return err
	}
	if err := w.o.s.Copy(ctx, w.name, w.tmp); err != nil {
		w.o.s.Delete(ctx, w.tmp)
		return err
	}
	return w.o.s.Delete(ctx, w.tmp)
}

func (w *objWriter) abort() {
	w.cancel()
	w.w.Close()
	w.o.s.Delete(context.Background(), w.tmp)
}

func (o objStore) open(name string) (snapReader, error) {
	return &objReader{s: o.s, name: name}, nil
}

// objReader reads an object by ranges.
type objReader struct {
	s    SnapshotStore
	name string
}

func (r *objReader) size() (int64, error) { return r.s.Size(context.Background(), r.name) }

func (r *objReader) ReadAt(p []byte, off int64) (int, error) {
	rc, err := r.s.NewRangeReader(context.Background(), r.name, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (r *objReader) Close() error { return nil }

func (o objStore) remove(name string) error { return o.s.Delete(context.Background(), name) }

func (o objStore) cleanup() {
	names, err := o.s.List(context.Background())
	if err != nil {
		return
	}
	for _, n := range names {
		if isTemp(n) {
			o.s.Delete(context.Background(), n)
		}
	}
}

// newStore returns the store Checkpointing names: Store if set, else Dir,
// created if missing.
func newStore(o Checkpointing) (snapStore, string, error) {
	if o.Store != nil {
		where := o.Dir
		if where == "" {
			where = fmt.Sprintf("%v", o.Store)
		}
		return objStore{s: o.Store, where: where}, where, nil
	}
	if o.Dir == "" {
		return nil, "", fmt.Errorf("checkpoint: no directory")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, o.Dir, err
	}
	return dirStore{dir: o.Dir}, o.Dir, nil
}
