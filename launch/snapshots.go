package launch

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/runner/local"
)

// IsURL reports whether a --checkpoint_dir names a blob store (a URL
// with a scheme, as "s3://bucket/prefix") rather than a local directory.
func IsURL(dir string) bool {
	i := strings.Index(dir, "://")
	return i > 0 && !strings.ContainsAny(dir[:i], "/\\")
}

// SnapshotStore returns the store of a job's snapshots under url, a
// gocloud.dev/blob URL that io/filesystem opens (mem://, file://, and
// s3://, gs:// or azblob:// when the program imports their drivers), as
// in "s3://bucket/jobs/count?region=eu-west-1": each snapshot is an object
// under the URL's path, the query kept for every object. Set it as
// Checkpointing.Store with the URL as Dir; --checkpoint_dir does so for
// URLs. Nothing is opened until the job lists or writes its snapshots.
func SnapshotStore(url string) local.SnapshotStore {
	base, query, _ := strings.Cut(url, "?")
	if query != "" {
		query = "?" + query
	}
	return &blobSnapshots{base: strings.TrimSuffix(base, "/") + "/", query: query}
}

// blobSnapshots is a SnapshotStore over io/filesystem's default storage.
type blobSnapshots struct {
	// base is the URL's path with a trailing slash, query its query
	// ("?..." or empty).
	base, query string
}

func (b *blobSnapshots) path(name string) string { return b.base + name + b.query }

func (b *blobSnapshots) String() string { return b.base + b.query }

func (b *blobSnapshots) List(ctx context.Context) ([]string, error) {
	files, err := filesystem.List(ctx, b.base+b.query)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		p, _, _ := strings.Cut(f.Path, "?")
		name, ok := strings.CutPrefix(p, b.base)
		if !ok || strings.Contains(name, "/") {
			continue // deeper: not one of this job's snapshots
		}
		names = append(names, name)
	}
	return names, nil
}

func (b *blobSnapshots) NewWriter(ctx context.Context, name string) (io.WriteCloser, error) {
	return filesystem.NewWriter(ctx, b.path(name), nil)
}

func (b *blobSnapshots) NewRangeReader(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	return filesystem.NewRangeReader(ctx, b.path(name), offset, length)
}

func (b *blobSnapshots) Size(ctx context.Context, name string) (int64, error) {
	fi, err := filesystem.Stat(ctx, b.path(name))
	if err != nil {
		return 0, err
	}
	return fi.Size, nil
}

func (b *blobSnapshots) Copy(ctx context.Context, dst, src string) error {
	return filesystem.Copy(ctx, b.path(dst), b.path(src))
}

func (b *blobSnapshots) Delete(ctx context.Context, name string) error {
	if err := filesystem.Delete(ctx, b.path(name)); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", name, err)
	}
	return nil
}
