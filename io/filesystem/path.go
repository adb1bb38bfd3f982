package filesystem

import (
	"fmt"
	"path/filepath"
	"strings"
)

// location is a parsed path: the bucket that holds a file and the file's key
// in it.
type location struct {
	// scheme is "" for local files, else the URL scheme ("s3", "mem", ...).
	scheme string
	// host is the bucket (or container, or mem bucket name).
	host string
	// key is the file's key in the bucket. For local files it is the
	// absolute path without its leading separator.
	key string
	// query is the raw query string with the bucket's options, or "".
	query string
}

// local reports whether l is a local file.
func (l location) local() bool { return l.scheme == "" }

// bucketURL identifies l's bucket: the cache key, and for URL schemes the
// URL given to the gocloud URL opener.
func (l location) bucketURL() string {
	if l.local() {
		return "file:///"
	}
	u := l.scheme + "://" + l.host
	if l.query != "" {
		u += "?" + l.query
	}
	return u
}

// withKey returns the path of key in l's bucket, in l's form.
func (l location) withKey(key string) string {
	if l.local() {
		return "/" + key
	}
	p := l.scheme + "://" + l.host + "/" + key
	if l.query != "" {
		p += "?" + l.query
	}
	return p
}

// String returns the path of l.
func (l location) String() string { return l.withKey(l.key) }

// localPath returns the operating system path of a local location.
func (l location) localPath() string { return filepath.FromSlash("/" + l.key) }

// parse parses a path or URL. Local paths become absolute; a trailing slash
// is kept, since it matters to prefixes.
func parse(path string) (location, error) {
	if path == "" {
		return location{}, fmt.Errorf("filesystem: empty path")
	}
	scheme, rest, isURL := strings.Cut(path, "://")
	if !isURL || !validScheme(scheme) {
		return parseLocal(path)
	}
	scheme = strings.ToLower(scheme)
	if scheme == "file" {
		rest = strings.TrimPrefix(rest, "localhost")
		if !strings.HasPrefix(rest, "/") {
			return location{}, fmt.Errorf("filesystem: %q: a file URL needs an absolute path (file:///dir/name)", path)
		}
		return parseLocal(rest)
	}
	host, key, _ := strings.Cut(rest, "/")
	key, query := splitQuery(key)
	if query == "" {
		// "s3://bucket?region=x" has its query on the host.
		host, query = splitQuery(host)
	}
	if host == "" && scheme != "mem" {
		return location{}, fmt.Errorf("filesystem: %q: no bucket name after %s://", path, scheme)
	}
	return location{scheme: scheme, host: host, key: key, query: query}, nil
}

func parseLocal(path string) (location, error) {
	abs, err := filepath.Abs(filepath.FromSlash(path))
	if err != nil {
		return location{}, fmt.Errorf("filesystem: %q: %w", path, err)
	}
	key := strings.TrimPrefix(filepath.ToSlash(abs), "/")
	if strings.HasSuffix(path, "/") && key != "" {
		key += "/"
	}
	return location{key: key}, nil
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// splitQuery splits s at the first '?' that starts a query string: one
// followed by '&'-separated name=value parameters. Other '?' are glob
// wildcards.
func splitQuery(s string) (rest, query string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '?' && isQuery(s[i+1:]) {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func isQuery(q string) bool {
	if q == "" {
		return false
	}
	for part := range strings.SplitSeq(q, "&") {
		name, _, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return false
		}
		for i, c := range name {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
			case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
			default:
				return false
			}
		}
	}
	return true
}

// Join returns the path of name inside the directory dir, keeping dir's
// scheme, bucket and query string: Join("s3://b/out?region=x", "a.txt") is
// "s3://b/out/a.txt?region=x".
func Join(dir, name string) string {
	l, err := parse(dir)
	if err != nil {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	key := strings.TrimSuffix(l.key, "/")
	if key != "" {
		key += "/"
	}
	return l.withKey(key + strings.TrimPrefix(name, "/"))
}

// Split splits path into its directory and base name, keeping the
// directory's scheme, bucket and query string: Split("s3://b/out/part?x=1")
// is ("s3://b/out?x=1", "part"). Local paths are made absolute.
func Split(path string) (dir, base string, err error) {
	l, err := parse(path)
	if err != nil {
		return "", "", err
	}
	key := strings.TrimSuffix(l.key, "/")
	i := strings.LastIndex(key, "/")
	base = key[i+1:]
	if i < 0 {
		key = ""
	} else {
		key = key[:i]
	}
	return l.withKey(key), base, nil
}

// Abs returns path in the canonical form Match returns: local paths
// absolute, URLs unchanged.
func Abs(path string) (string, error) {
	l, err := parse(path)
	if err != nil {
		return "", err
	}
	return l.String(), nil
}
