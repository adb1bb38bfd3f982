package filesystem

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	wdKey := filepath.ToSlash(wd)[1:]
	tests := []struct {
		name string
		path string
		want location
	}{
		{"absolute local path", "/data/in.txt", location{key: "data/in.txt"}},
		{"relative local path is made absolute", "in/a.txt", location{key: wdKey + "/in/a.txt"}},
		{"local directory keeps its trailing slash", "/data/out/", location{key: "data/out/"}},
		{"file URL is a local path", "file:///data/in.txt", location{key: "data/in.txt"}},
		{"file URL with localhost", "file://localhost/data/in.txt", location{key: "data/in.txt"}},
		{"local question mark is a wildcard", "/data/a?.txt", location{key: "data/a?.txt"}},
		{"s3 URL", "s3://bucket/dir/key.txt", location{scheme: "s3", host: "bucket", key: "dir/key.txt"}},
		{"s3 URL with options", "s3://b/k/*.txt?endpoint=http://127.0.0.1:9000&use_path_style=true",
			location{scheme: "s3", host: "b", key: "k/*.txt", query: "endpoint=http://127.0.0.1:9000&use_path_style=true"}},
		{"URL question mark wildcard", "gs://b/file?.txt", location{scheme: "gs", host: "b", key: "file?.txt"}},
		{"wildcard and options", "gs://b/f?.txt?x=1", location{scheme: "gs", host: "b", key: "f?.txt", query: "x=1"}},
		{"bucket only with options", "s3://b?region=x", location{scheme: "s3", host: "b", query: "region=x"}},
		{"scheme is case-insensitive", "MEM://scratch/a", location{scheme: "mem", host: "scratch", key: "a"}},
		{"mem URL without bucket name", "mem:///a/b", location{scheme: "mem", key: "a/b"}},
		{"azblob URL", "azblob://container/a/b", location{scheme: "azblob", host: "container", key: "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.path)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.path, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(location{})); diff != "" {
				t.Errorf("parse(%q) (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, p := range []string{"", "s3:///key", "file://relative/path"} {
		if l, err := parse(p); err == nil {
			t.Errorf("parse(%q) = %+v, want an error", p, l)
		}
	}
}

func TestLocationRoundTrips(t *testing.T) {
	for _, p := range []string{"/data/in.txt", "s3://b/k/x.txt?endpoint=http://h:1&region=r", "mem://m/a/b", "gs://b/k"} {
		l, err := parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.String(); got != p {
			t.Errorf("parse(%q).String() = %q, want %q", p, got, p)
		}
	}
}

func TestJoinSplit(t *testing.T) {
	tests := []struct {
		name, dir, file, joined string
	}{
		{"local directory", "/out", "a.txt", "/out/a.txt"},
		{"local directory with slash", "/out/", "a.txt", "/out/a.txt"},
		{"URL keeps its query", "s3://b/out?region=x", "a.txt", "s3://b/out/a.txt?region=x"},
		{"bucket root", "mem://m/", "a.txt", "mem://m/a.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Join(tt.dir, tt.file); got != tt.joined {
				t.Errorf("Join(%q, %q) = %q, want %q", tt.dir, tt.file, got, tt.joined)
			}
			dir, base, err := Split(tt.joined)
			if err != nil {
				t.Fatal(err)
			}
			if base != tt.file || Join(dir, base) != tt.joined {
				t.Errorf("Split(%q) = %q, %q; does not join back", tt.joined, dir, base)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		prefix  string
		flat    bool
		match   []string
		noMatch []string
	}{
		{"literal key", "a/b.txt", "a/b.txt", true, []string{"a/b.txt"}, []string{"a/b.txtx", "a/b"}},
		{"star stays in a segment", "a/*.txt", "a/", true, []string{"a/x.txt", "a/.txt"}, []string{"a/b/x.txt", "b/x.txt", "a/x.txt.gz"}},
		{"double star crosses segments", "a/**.txt", "a/", false, []string{"a/x.txt", "a/b/c/x.txt"}, []string{"b/x.txt"}},
		{"double star slash matches no directory", "a/**/x.txt", "a/", false, []string{"a/x.txt", "a/b/x.txt", "a/b/c/x.txt"}, []string{"a/bx.txt"}},
		{"question mark is one character", "f?.txt", "f", true, []string{"f1.txt", "fa.txt"}, []string{"f.txt", "f12.txt", "f/.txt"}},
		{"class", "part-[0-2].txt", "part-", true, []string{"part-0.txt", "part-2.txt"}, []string{"part-3.txt"}},
		{"negated class", "part-[!0-2].txt", "part-", true, []string{"part-3.txt", "part-a.txt"}, []string{"part-1.txt", "part-/.txt"}},
		{"class never matches slash", "a[+-0]b", "a", true, []string{"a+b", "a.b", "a0b"}, []string{"a/b"}},
		{"class with bracket member", "x[]a]", "x", true, []string{"x]", "xa"}, []string{"xb"}},
		{"class with literal dash", "x[a-]", "x", true, []string{"xa", "x-"}, []string{"xb"}},
		{"escaped star is literal", `a\*b`, "a*b", true, []string{"a*b"}, []string{"axb"}},
		{"regexp characters are literal", "a.(b)+c*", "a.(b)+c", true, []string{"a.(b)+c", "a.(b)+cd"}, []string{"aa(b)+c"}},
		{"wildcard before a directory", "*/x.txt", "", false, []string{"a/x.txt"}, []string{"a/b/x.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGlob(tt.pattern)
			if err != nil {
				t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
			}
			if g.prefix != tt.prefix || g.flat != tt.flat {
				t.Errorf("compileGlob(%q) prefix, flat = %q, %v, want %q, %v", tt.pattern, g.prefix, g.flat, tt.prefix, tt.flat)
			}
			for _, k := range tt.match {
				if !g.match(k) {
					t.Errorf("%q does not match %q, want a match", tt.pattern, k)
				}
			}
			for _, k := range tt.noMatch {
				if g.match(k) {
					t.Errorf("%q matches %q, want no match", tt.pattern, k)
				}
			}
		})
	}
}

func TestGlobErrors(t *testing.T) {
	for _, p := range []string{`a\`, "a[bc", "a[z-a]"} {
		if _, err := compileGlob(p); err == nil {
			t.Errorf("compileGlob(%q) succeeded, want an error", p)
		}
	}
}

func TestHasMeta(t *testing.T) {
	for p, want := range map[string]bool{
		"/a/b.txt": false, "/a/*.txt": true, "s3://b/k?region=x": false, "s3://b/k?.txt": true, "/a/[ab]": true,
	} {
		if got := HasMeta(p); got != want {
			t.Errorf("HasMeta(%q) = %v, want %v", p, got, want)
		}
	}
}
