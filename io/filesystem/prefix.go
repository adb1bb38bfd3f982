package filesystem

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// IsURL reports whether path names a blob store (a URL with a scheme, as
// "s3://bucket/prefix") rather than a local file or directory.
func IsURL(path string) bool {
	i := strings.Index(path, "://")
	return i > 0 && !strings.ContainsAny(path[:i], "/\\")
}

// Prefix is the set of objects directly under a URL prefix of the default
// storage, by base name: a flat store of named objects, such as a job's
// checkpoint snapshots (it has the method set of the runners'
// SnapshotStore). Objects deeper under the prefix are not its own. It
// opens nothing until a method is called and is safe for concurrent use.
type Prefix struct {
	// base is the URL's path with a trailing slash, query its query
	// ("?..." or empty), kept for every object.
	base, query string
}

// NewPrefix returns the objects under url, a gocloud.dev/blob URL that the
// default storage opens (mem://, file://, and s3://, gs:// or azblob://
// when the program imports their drivers), as in
// "s3://bucket/jobs/count?region=eu-west-1": each object is named by its
// path after the prefix, the query kept for every object.
func NewPrefix(url string) *Prefix {
	base, query, _ := strings.Cut(url, "?")
	if query != "" {
		query = "?" + query
	}
	return &Prefix{base: strings.TrimSuffix(base, "/") + "/", query: query}
}

func (p *Prefix) path(name string) string { return p.base + name + p.query }

// String returns the prefix's URL.
func (p *Prefix) String() string { return p.base + p.query }

// List returns the names of the objects directly under the prefix.
func (p *Prefix) List(ctx context.Context) ([]string, error) {
	files, err := List(ctx, p.base+p.query)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		path, _, _ := strings.Cut(f.Path, "?")
		name, ok := strings.CutPrefix(path, p.base)
		if !ok || strings.Contains(name, "/") {
			continue // deeper: not one of this prefix's objects
		}
		names = append(names, name)
	}
	return names, nil
}

// NewWriter writes the object name; it exists, whole, once Close has
// returned nil.
func (p *Prefix) NewWriter(ctx context.Context, name string) (io.WriteCloser, error) {
	return NewWriter(ctx, p.path(name), nil)
}

// NewRangeReader reads length bytes of the object name from offset
// (length -1: to its end).
func (p *Prefix) NewRangeReader(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	return NewRangeReader(ctx, p.path(name), offset, length)
}

// Size returns the size of the object name.
func (p *Prefix) Size(ctx context.Context, name string) (int64, error) {
	fi, err := Stat(ctx, p.path(name))
	if err != nil {
		return 0, err
	}
	return fi.Size, nil
}

// Copy copies the object src to dst.
func (p *Prefix) Copy(ctx context.Context, dst, src string) error {
	return Copy(ctx, p.path(dst), p.path(src))
}

// Delete removes the object name.
func (p *Prefix) Delete(ctx context.Context, name string) error {
	if err := Delete(ctx, p.path(name)); err != nil {
		return fmt.Errorf("delete %s: %w", p.path(name), err)
	}
	return nil
}
