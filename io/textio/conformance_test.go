package textio_test

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs, as a program using them imports it

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/testutil"
)

// s3Server starts one S3-compatible server for the package's tests.
var s3Server = sync.OnceValue(func() string {
	backend := s3mem.New()
	srv := httptest.NewUnstartedServer(gofakes3.New(backend).Server())
	// The fake logs a harmless complaint whenever a client stops reading a
	// response early, as range readers do.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	if err := backend.CreateBucket("textio"); err != nil {
		panic(err)
	}
	return srv.URL
})

// stores are the places the conformance checks run in: each returns the
// path of a file name in a directory of the test's own.
var stores = []struct {
	name string
	path func(t *testing.T, name string) string
}{
	{"mem", func(t *testing.T, name string) string { return memDir(t) + "/" + name }},
	{"local", func(t *testing.T, name string) string { return t.TempDir() + "/" + name }},
	{"s3 prefix", func(t *testing.T, name string) string {
		q := "?endpoint=" + s3Server() + "&use_path_style=true&disable_https=true&region=us-east-1&anonymous=true"
		return "s3://textio/" + strings.ReplaceAll(t.Name(), "/", "_") + "/deep/prefix/" + name + q
	}},
}

func linesText(n int, eol string, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d:%s%s", i, strings.Repeat("x", r.IntN(12)), eol)
	}
	return b.String()
}

// TestConformance runs the source verification suite (testutil) on text
// sources over each store: exhaustive split checks on small inputs, for
// plain and compressed files, and sampled ones on a large input.
func TestConformance(t *testing.T) {
	type textCase struct {
		name    string
		content string
		comp    filebased.Compression
		opts    []textio.Option
		// sampled sources check random fractions only.
		sampled bool
		// overS3 also runs the case over HTTP, which is slow.
		overS3 bool
	}
	cases := []textCase{
		{name: "LF lines", content: linesText(20, "\n", 1)},
		{name: "CRLF lines", content: linesText(15, "\r\n", 2)},
		{name: "mixed line ends and no final newline", content: strings.Repeat("a\r\nbb\nccc\r\n\nd\r\neeeee\n", 3) + "f"},
		{name: "empty lines", content: "\n\n\n\n\nx\n\n", overS3: true},
		{name: "header lines", content: "h1\nh2\n" + linesText(12, "\n", 3), opts: []textio.Option{textio.SkipHeaderLines(2)}},
		{name: "large input", content: linesText(1500, "\n", 4), sampled: true},
	}
	for _, c := range []filebased.Compression{filebased.Gzip, filebased.Bzip2, filebased.Deflate, filebased.Zstd} {
		cases = append(cases, textCase{name: "compressed " + c.String(), content: linesText(12, "\n", 5), comp: c, overS3: c == filebased.Gzip})
	}
	for _, st := range stores {
		for _, tc := range cases {
			switch {
			case testing.Short() && st.name != "mem",
				st.name == "s3 prefix" && !tc.overS3,
				tc.sampled && st.name != "mem":
				// The checks re-read a source hundreds of times: keep the
				// slow stores to a few cases.
				continue
			}
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				opts := &testutil.Options[string]{Unsplittable: tc.comp != filebased.Uncompressed && tc.comp != filebased.Auto}
				if tc.sampled {
					opts.SampleReadBefore = 6
					opts.SampleFractions = 4
					opts.SkipConcurrent = testing.Short()
				}
				testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[string, int64] {
					p := st.path(t, "in.txt"+tc.comp.Extension())
					put(t, p, tc.content, tc.comp)
					return textio.NewSource(p, tc.opts...)
				}, opts)
			})
		}
	}
}

// TestConformanceManyFiles runs the suite on a source of several files,
// splittable and not, read as one concatenated range.
func TestConformanceManyFiles(t *testing.T) {
	testutil.TestBoundedSource(t, func(t *testing.T) source.Bounded[string, int64] {
		dir := memDir(t)
		put(t, dir+"/a.txt", "a1\na2\na3\n", filebased.Uncompressed)
		put(t, dir+"/b.txt.gz", "b1\nb2\n", filebased.Gzip)
		put(t, dir+"/c.txt", "c1\r\nc2", filebased.Uncompressed)
		put(t, dir+"/d.txt.zst", "d1\nd2\nd3\n", filebased.Zstd)
		put(t, dir+"/e.txt", "e1\n", filebased.Uncompressed)
		return textio.NewSource(dir + "/*.txt*")
	}, nil)
}
