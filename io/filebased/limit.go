package filebased

import "fmt"

// DefaultMaxRecordSize is the largest record, in bytes, that the readers of
// this module's formats accept unless told otherwise (textio.MaxLineSize):
// 16 MiB.
//
// Input is untrusted: a 2 MB gzip file can hold a 512 MiB line, and a reader
// that grows its buffer until the record ends holds all of it. A record
// near the limit costs its reader about twice its size (the read buffer
// and the record's copy), and a runner reads one file range per core: with
// the local runner's default memory budget of 128 MiB, 16 MiB records on
// two cores stay within it, where 64 MiB records would not. Records larger
// than this are rare in line- or length-delimited data (Go's bufio.Scanner
// stops at 64 KiB; Hadoop's LineRecordReader has the same kind of knob,
// mapreduce.input.linerecordreader.line.maxlength); a job that has them
// raises the limit for its read.
const DefaultMaxRecordSize = 16 << 20

// RecordTooLargeError is the error of a reader that met a record larger
// than its limit. It stops the read: the record's end is unknown, so the
// records after it cannot be found without reading it. Match it with
// errors.As.
type RecordTooLargeError struct {
	// Path is the file's path or URL.
	Path string
	// Record names the kind of record ("line").
	Record string
	// Offset is the byte offset where the record starts: in the file, or,
	// for a compressed file (Compressed), in its decompressed content.
	Offset     int64
	Compressed bool
	// Limit is the largest record size allowed, in bytes.
	Limit int64
	// Read is how many bytes of the record the reader had read when it
	// gave up: more than Limit, and less than the record's size when the
	// record's end was not reached.
	Read int64
	// Setting names the option that raises the limit ("textio.MaxLineSize").
	Setting string
}

// Error names the file, the record's offset and the limit.
func (e *RecordTooLargeError) Error() string {
	where := "byte offset"
	if e.Compressed {
		where = "decompressed byte offset"
	}
	msg := fmt.Sprintf("filebased: %s: %s at %s %d is larger than the limit of %d bytes (read %d bytes of it)",
		e.Path, e.Record, where, e.Offset, e.Limit, e.Read)
	if e.Setting != "" {
		msg += "; raise the limit with " + e.Setting
	}
	return msg
}
