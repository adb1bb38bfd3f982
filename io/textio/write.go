package textio

import (
	"bufio"

	"github.com/beamgo-dev/beamgo/io/filebased"
	"github.com/beamgo-dev/beamgo/sdk"
)

// WithSuffix sets the suffix of output names, after the shard part
// (".txt", ".csv.gz"). For Write.
func WithSuffix(suffix string) Option { return func(c *config) { c.sink.Suffix = suffix } }

// NumShards fixes the number of output files; 0 (the default) writes one
// file per bundle. For Write.
func NumShards(n int) Option { return func(c *config) { c.sink.NumShards = n } }

// ShardTemplate sets the shard part of output names (default
// filebased.DefaultShardTemplate, "-SSSSS-of-NNNNN"); "" writes exactly one
// file named prefix+suffix. For Write.
func ShardTemplate(template string) Option {
	return func(c *config) {
		c.sink.ShardTemplate = template
		c.sink.SingleFile = template == ""
	}
}

// WithHeader writes header and a newline at the start of every file. For
// Write.
func WithHeader(header string) Option { return func(c *config) { c.header = &header } }

// WithFooter writes footer and a newline at the end of every file. For
// Write.
func WithFooter(footer string) Option { return func(c *config) { c.footer = &footer } }

// SkipIfEmpty writes no file for an empty input (by default, an empty input
// gives one file holding only the header and footer). For Write.
func SkipIfEmpty() Option { return func(c *config) { c.sink.SkipIfEmpty = true } }

// Write writes lines, each followed by "\n", to text files named prefix,
// then the shard part, then the suffix: out/part-00000-of-00003.txt for
// Write(s, "out/part", lines, WithSuffix(".txt"), NumShards(3)). It returns
// the names of the files once they are all final.
//
// Files appear only when the whole write has succeeded: bundles write
// temporary files that a last step renames, so retried bundles leave no
// duplicates and a failed job no partial output and no temporary files
// (see filebased.Write). The files are compressed as the suffix says
// (".gz", ...) or WithCompression, and stored with MIME type text/plain.
func Write(s sdk.Scope, prefix string, lines sdk.PCollection[string], opts ...Option) sdk.PCollection[string] {
	c, err := collect("WriteText", opts)
	if err != nil {
		s.Fail(c.name, err)
		return sdk.PCollection[string]{}
	}
	so := c.sink
	so.MIMEType = "text/plain"
	if c.header != nil {
		so.Header = []byte(*c.header + "\n")
	}
	if c.footer != nil {
		so.Footer = []byte(*c.footer + "\n")
	}
	return filebased.Write(s.Scope(c.name), prefix, filebased.RecordWriter[string](lineWriter{}), lines, &so)
}

// lineWriter writes a line and its newline.
type lineWriter struct{}

func (lineWriter) WriteRecord(w *bufio.Writer, line string) error {
	w.WriteString(line)
	return w.WriteByte('\n')
}
