// Package filebased is the framework for file formats, after Beam's
// FileBasedSource and FileBasedSink: a format implements one small hook and
// gets pattern expansion, parallel and dynamically split reads,
// compression, and exactly-once output with temporary files and an
// idempotent finalize. Files are reached through a filesystem.Storage
// (Options.Storage and SinkOptions.Storage; filesystem.Default() if nil), so
// local paths and mem:// work as they are, and s3://, gs:// or azblob://
// once the program imports the gocloud driver (see package filesystem).
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
// # Failed jobs
//
// A failed or cancelled job leaves nothing of a Write in the output
// directory: no final file (files appear only when the finalize step has
// copied them all, and a failed finalize removes those it copied) and no
// temporary file. A bundle that fails abandons the file it was writing,
// which never appears; and the temporary directory
// (.temp-beamgo-<base>-<id>/), with the files of the bundles that did
// commit, is removed by the process that submitted the job once the
// runner reports the failure and its workers have stopped: Write
// registers an sdk.RunHook, which the runners of this module (local,
// portable, universal) call around every run.
//
// The directory's id is random, picked when the job runs. Where that
// happens in the submitting process (the local runner, LOOPBACK workers),
// the hook knows the directory. Where it happens elsewhere (PROCESS or
// EXTERNAL workers, Beam's runners), the hook removes the prefix's
// temporary directories that appeared while the job ran; one of another
// job writing to the same prefix at the same time would be among them, and
// that job would then fail, naming the missing temporary file, rather
// than write partial output.
//
// What this does not cover: if the submitting process itself dies (killed,
// or the machine lost) while the job runs, nothing removes the temporary
// directory, and a later job cannot tell it from a running job's: remove
// .temp-beamgo-* directories by hand once no job writes there. With
// workers that the submitting process does not stop itself (Beam's
// runners with PROCESS or EXTERNAL workers), a bundle still running when
// the runner reports the failure can write a temporary file after the
// cleanup. A Write whose finalize completed is done: its files stay even
// if a later step fails the job.
//
// # Errors
//
// Errors name the file, and for corrupt or truncated compressed data the
// compressed bytes read and the decompressed offset where reading failed.
// A record larger than its reader's limit is a *RecordTooLargeError (see
// DefaultMaxRecordSize), and a zstd frame whose window exceeds
// MaxZstdWindow an error naming it.
// Storage errors keep their gcerrors code (see filesystem.Code).
package filebased
