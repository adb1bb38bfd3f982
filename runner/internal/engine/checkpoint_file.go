package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/beamgo-dev/beamgo/internal/atomicfile"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// The snapshot file (version 2): the magic line; the body's length
// (uvarint) and the body, which holds everything but the keyed stages'
// state; then each keyed stage's state, in stage order, as state.Export
// writes it; then the CRC-32C of all of it (4 bytes, big-endian). The
// keyed state is streamed to the file as it is exported and from it as it
// is imported, never held in memory whole: it is the bulk of a large
// snapshot (bench/recovery's gigabyte). Version 1 files (the state inside
// the body, the whole file read at once) are still read.
const (
	ckptMagicV1 = "beamgo-checkpoint-v1\n"
	ckptMagic   = "beamgo-checkpoint-v2\n"
)

// fileBuf is the buffer size for reading and writing snapshot files; at
// least the 256 KiB state.Import needs to read its section and no more.
const fileBuf = 1 << 20

// crcWriter hashes and counts what it writes.
type crcWriter struct {
	w   io.Writer
	crc uint32
	n   int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, ckptCRC, p[:n])
	c.n += int64(n)
	return n, err
}

// crcReader hashes what it reads.
type crcReader struct {
	r   io.Reader
	crc uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, ckptCRC, p[:n])
	return n, err
}

// beginSnapshotFile writes the body and the stores' state to a temporary
// file for name and returns it pending (to be made durable and renamed
// into place by Commit) with its size.
func beginSnapshotFile(name string, body []byte, stores []*state.Store) (*atomicfile.Pending, int64, error) {
	var size int64
	p, err := atomicfile.Begin(name, ".ckpt-*.tmp", func(f io.Writer) error {
		bw := bufio.NewWriterSize(f, fileBuf)
		cw := &crcWriter{w: bw}
		cw.Write([]byte(ckptMagic))
		cw.Write(binary.AppendUvarint(nil, uint64(len(body))))
		cw.Write(body)
		for _, st := range stores {
			if err := st.Export(cw); err != nil {
				return err
			}
		}
		bw.Write(binary.BigEndian.AppendUint32(nil, cw.crc))
		size = cw.n + 4
		return bw.Flush()
	})
	return p, size, err
}

// writeSnapshotFile writes the body and the stores' state to name
// atomically and returns the file's size.
func writeSnapshotFile(name string, body []byte, stores []*state.Store) (int64, error) {
	p, size, err := beginSnapshotFile(name, body, stores)
	if err != nil {
		return 0, err
	}
	return size, p.Commit()
}

// verifySnapshotFile checks a snapshot file's header and checksum,
// reading it as a stream; an error wraps snapbuf.ErrCorrupt when the
// file is damaged.
func verifySnapshotFile(name string) error {
	f, _, cr, sum, err := openFramed(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyBuffer(io.Discard, cr, make([]byte, fileBuf)); err != nil {
		return err
	}
	if cr.crc != sum {
		return fmt.Errorf("checksum mismatch (truncated or damaged): %w", snapbuf.ErrCorrupt)
	}
	return nil
}

// openFramed opens a snapshot file, checks its frame (fileFrame) and
// returns it with its size, a reader that hashes everything before the
// checksum, and the checksum. The caller closes f.
func openFramed(name string) (f *os.File, size int64, cr *crcReader, sum uint32, err error) {
	f, err = os.Open(name)
	if err != nil {
		return nil, 0, nil, 0, err
	}
	size, sum, err = fileFrame(f)
	if err != nil {
		f.Close()
		return nil, 0, nil, 0, err
	}
	return f, size, &crcReader{r: io.NewSectionReader(f, 0, size-4)}, sum, nil
}

// fileFrame checks f's size and magic line and returns its size and the
// checksum its last four bytes hold.
func fileFrame(f *os.File) (size int64, sum uint32, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = fi.Size()
	var head [len(ckptMagic)]byte
	if size < int64(len(head))+4 {
		return 0, 0, fmt.Errorf("not a checkpoint file (too short): %w", snapbuf.ErrCorrupt)
	}
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return 0, 0, err
	}
	if string(head[:]) != ckptMagic && string(head[:]) != ckptMagicV1 {
		return 0, 0, fmt.Errorf("not a checkpoint file (bad header): %w", snapbuf.ErrCorrupt)
	}
	var tail [4]byte
	if _, err := f.ReadAt(tail[:], size-4); err != nil {
		return 0, 0, err
	}
	return size, binary.BigEndian.Uint32(tail[:]), nil
}

// restoreFile restores the job from a snapshot file that
// verifySnapshotFile accepted, streaming the keyed stages' state into
// their stores. The file is hashed again as it is read, so that one that
// changed since it was verified fails instead of resuming from garbage.
func (j *job) restoreFile(name string) error {
	f, size, cr, sum, err := openFramed(name)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(cr, fileBuf)
	var head [len(ckptMagic)]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return err
	}
	if string(head[:]) == ckptMagicV1 {
		// Version 1: the body, state included, is the rest of the file,
		// and a GroupByKey's keys were in one reducer.
		body, err := io.ReadAll(br)
		if err != nil {
			return err
		}
		j.ckpt.v1 = true
		err = j.decodeSnapshot(body, nil)
		j.ckpt.v1 = false
		return checkRead(br, cr, sum, err)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > uint64(size) {
		return fmt.Errorf("body length: %w", snapbuf.ErrCorrupt)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return fmt.Errorf("body: %w", errors.Join(snapbuf.ErrCorrupt, err))
	}
	return checkRead(br, cr, sum, j.decodeSnapshot(body, br))
}

// checkRead returns the decoder's error, or an error if the decoder left
// bytes unread or the bytes read do not hash to sum.
func checkRead(br *bufio.Reader, cr *crcReader, sum uint32, err error) error {
	if err != nil {
		return err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fmt.Errorf("bytes left over after the last keyed stage's state: %w", snapbuf.ErrCorrupt)
	}
	if cr.crc != sum {
		return fmt.Errorf("the file changed while it was read: %w", snapbuf.ErrCorrupt)
	}
	return nil
}
