// Package filesystem opens files by path or URL through gocloud.dev/blob:
// plain local paths and file:// URLs (fileblob), mem:// (memblob), and any
// scheme whose gocloud driver the program imports, such as s3:// (s3blob),
// gs:// (gcsblob) and azblob:// (azureblob). It expands glob patterns,
// lists files with their sizes, reads byte ranges, writes whole files
// atomically, and copies, renames and deletes them. Sources and sinks in
// io/... reach storage only through it.
//
// # Paths
//
// A path is either a local path ("/data/in.txt", "rel/in.txt",
// "file:///data/in.txt") or a URL "scheme://bucket/key". Bucket options go in
// a query string after the key, as gocloud's URL openers define them:
//
//	s3://my-bucket/logs/*.gz?region=eu-west-1
//	s3://test/in.txt?endpoint=http://127.0.0.1:9000&use_path_style=true&disable_https=true
//	gs://my-bucket/data/part-*
//	azblob://my-container/data/part-*
//	mem://scratch/tmp/a.txt
//
// A '?' starts the query string only when what follows is a list of
// name=value parameters; otherwise it is the glob wildcard. Write "[?]" for a
// literal question mark in a pattern. Local paths have no query string.
//
// Files returned by Match keep the form of the pattern (scheme, bucket and
// query), except that local paths are made absolute.
//
// # Patterns
//
// Match expands glob patterns: '*' matches any run of characters other than
// '/', "**" matches any run including '/' ("a/**/b" also matches "a/b"), '?'
// matches one character other than '/', "[...]" matches one character of a
// class ("[a-z]", negated with '!' or '^'), and '\' quotes the next
// character. Listing starts at the longest literal prefix of the pattern and,
// when the rest of the pattern cannot cross a '/', lists only that level.
//
// # Storage and buckets
//
// A Storage opens buckets on first use, one per bucket URL, so that readers
// on many goroutines share connections, and closes them in Close. The
// package-level functions use Default(), which lives for the process and is
// never closed; a program that wants its connections released builds its
// own Storage with New, gives it to its sources and sinks
// (textio.WithStorage, filebased Options.Storage) and closes it after Run.
// Build it in main before the pipeline: a PROCESS worker runs main again
// and builds its own.
//
// Cloud schemes need their driver, imported by the program as with
// gocloud's blob.OpenBucket; without it, a URL fails with a *SchemeError
// naming the package:
//
//	import _ "gocloud.dev/blob/s3blob"    // s3://
//	import _ "gocloud.dev/blob/gcsblob"   // gs://
//	import _ "gocloud.dev/blob/azureblob" // azblob://
//
// mem:// buckets belong to their Storage: those of Default() live as long as
// the process, which lets a test write files in one step and read them in
// another; use distinct bucket names per test.
//
// # Errors
//
// Every error names the path and wraps the underlying blob error, so callers
// classify it with gcerrors.Code (or Code here, which also recognizes local
// permission errors): gcerrors.NotFound for a missing file, for example.
//
// # Concurrency
//
// All functions are safe for concurrent use.
package filesystem
