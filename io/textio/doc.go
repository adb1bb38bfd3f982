// Package textio reads and writes text files, one element per line, on any
// store package filesystem reaches: local paths and mem:// as they are, and
// s3://, gs:// or azblob:// once the program imports the gocloud driver.
//
//	import _ "gocloud.dev/blob/s3blob" // in the program that reads s3://
//
//	lines := textio.Read(s, "s3://bucket/logs/2024-*.log.gz")
//	textio.Write(s, "out/counts", formatted, textio.WithSuffix(".txt"), textio.NumShards(4))
//
// Files are opened through filesystem.Default(), which lives for the
// process, unless WithStorage gives a filesystem.Storage that the program
// closes itself.
//
// # Reading
//
// Read follows Beam's text source: lines end with "\n" or "\r\n" (dropped),
// a last line needs no terminator, SkipHeaderLines skips the first lines of
// every file, and a file is split into byte ranges where a line belongs to
// the range in which it starts — so every line is read exactly once,
// whatever the splits. Compressed files (.gz, .bz2, .deflate, .zst) are
// read whole. Lines are read with one large buffer per range; a line costs
// one string allocation. A line longer than MaxLineSize (16 MiB by default)
// fails the read with a *filebased.RecordTooLargeError naming the file, the
// line's offset and the limit, so a small compressed file holding a huge
// line cannot exhaust memory.
//
// # Writing
//
// Write writes through filebased.Write: temporary files per bundle, renamed
// to their shard names (out-00000-of-00004.txt) when the whole job has
// succeeded, with optional header, footer and compression.
package textio
