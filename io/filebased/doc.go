// Package filebased is the framework for file formats, after Beam's
// FileBasedSource and FileBasedSink: a format implements one small hook and
// gets pattern expansion, parallel and dynamically split reads,
// compression, and exactly-once output with temporary files and an
// idempotent finalize. Files are reached through package filesystem, so
// local paths, mem://, s3://, gs:// and azblob:// all work.
//
// # Reading
//
// A format implements RecordReader: read the records of one file that
// start in a tracker's byte range. New makes a Source of the files a
// pattern matches, to read with source.Read:
//
//	src := filebased.New("s3://bucket/logs/*.gz", myFormat{}, nil)
//	records := source.Read(s, src)
//
// Uncompressed files are split into byte ranges of about the desired
// bundle size (Options.MinBundleSize at least); a record belongs to the
// range in which it starts. Compressed files (gzip, bzip2, zlib-wrapped
// deflate, zstd; by extension with Auto) are read whole. Zero-byte files
// are skipped, and a pattern that matches nothing is an error naming it
// unless Options.AllowEmpty.
//
// # Writing
//
// A format implements RecordWriter, and Write writes a collection through
// it: bundles write temporary files, and one finalize step gives them
// their final names, with a shard template ("-SSSSS-of-NNNNN"), a fixed or
// runner-chosen number of shards, header and footer, compression and a
// MIME type.
//
// # Errors
//
// Errors name the file, and for corrupt or truncated compressed data the
// compressed bytes read and the decompressed offset where reading failed.
// Storage errors keep their gcerrors code (see filesystem.Code).
package filebased
