package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// The snapshot file (version 3): the magic line; each keyed stage's
// state, in stage order, as state.Export writes it; the body, which holds
// everything but the keyed state; the body's offset in the file (8 bytes,
// big-endian); then the CRC-32C of all of it (4 bytes, big-endian). The
// keyed state is streamed to the file as it is exported and from it as it
// is imported, never held in memory whole: it is the bulk of a large
// snapshot (bench/recovery's gigabyte). It comes first because it is
// written while the job is paused, and the body after the job resumed
// (snapBody). Version 2 files (the body first, its length before it) and
// version 1 files (the state inside the body, the whole file read at
// once) are still read.
const (
	ckptMagicV1 = "beamgo-checkpoint-v1\n"
	ckptMagicV2 = "beamgo-checkpoint-v2\n"
	ckptMagic   = "beamgo-checkpoint-v3\n"
)

// trailerLen is the size of a version 3 file's body offset and CRC.
const trailerLen = 12

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

// snapFile is a snapshot file being written: its keyed state is in, its
// body not yet.
type snapFile struct {
	// bodyAt is the body's offset, once startBody marked it (inBody).
	bodyAt int64
	inBody bool
	w      snapWriter
	bw     *bufio.Writer
	cw     *crcWriter
}

// beginSnapshotFile starts the temporary file for name in st with the
// magic line and the stores' state; j.mu is held and nothing runs.
func beginSnapshotFile(st snapStore, name string, stores []*state.Store) (*snapFile, error) {
	w, err := st.create(name)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, fileBuf)
	f := &snapFile{w: w, bw: bw, cw: &crcWriter{w: bw}}
	f.cw.Write([]byte(ckptMagic))
	for _, s := range stores {
		if err := s.Export(f.cw); err != nil {
			w.abort()
			return nil, err
		}
	}
	return f, nil
}

// startBody marks the body's start at what has been written so far; the
// trailer names it. finishWith marks it unless the body was written
// before (in the checkpoint's pause).
func (f *snapFile) startBody() { f.bodyAt, f.inBody = f.cw.n, true }

// finish appends the body and the trailer and returns the file's size;
// the file is then to be committed (or aborted on error).
func (f *snapFile) finish(body []byte) (int64, error) {
	return f.finishWith(func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	})
}

// finishWith is finish with the body written by write.
func (f *snapFile) finishWith(write func(w io.Writer) error) (int64, error) {
	if !f.inBody {
		f.startBody()
	}
	at := f.bodyAt
	if err := write(f.cw); err != nil {
		return 0, err
	}
	f.cw.Write(binary.BigEndian.AppendUint64(nil, uint64(at)))
	f.bw.Write(binary.BigEndian.AppendUint32(nil, f.cw.crc))
	return f.cw.n + 4, f.bw.Flush()
}

// writeSnapshotFile writes the body and the stores' state to name in st
// and returns the file's size.
func writeSnapshotFile(st snapStore, name string, body []byte, stores []*state.Store) (int64, error) {
	f, err := beginSnapshotFile(st, name, stores)
	if err != nil {
		return 0, err
	}
	size, err := f.finish(body)
	if err != nil {
		f.w.abort()
		return 0, err
	}
	return size, f.w.commit()
}

// verifySnapshotFile checks a snapshot file's header and checksum,
// reading it as a stream; an error wraps snapbuf.ErrCorrupt when the
// file is damaged.
func verifySnapshotFile(st snapStore, name string) error {
	f, _, cr, sum, err := openFramed(st, name)
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
func openFramed(st snapStore, name string) (f snapReader, size int64, cr *crcReader, sum uint32, err error) {
	f, err = st.open(name)
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
func fileFrame(f snapReader) (size int64, sum uint32, err error) {
	size, err = f.size()
	if err != nil {
		return 0, 0, err
	}
	var head [len(ckptMagic)]byte
	if size < int64(len(head))+4 {
		return 0, 0, fmt.Errorf("not a checkpoint file (too short): %w", snapbuf.ErrCorrupt)
	}
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return 0, 0, err
	}
	if m := string(head[:]); m != ckptMagic && m != ckptMagicV2 && m != ckptMagicV1 {
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
	f, size, cr, sum, err := openFramed(j.ckpt.store, name)
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
	if string(head[:]) == ckptMagic {
		return j.restoreV3(f, size, sum)
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

// restoreV3 restores a version 3 file: it reads the body (at the offset
// the trailer names) first, and streams the keyed state that precedes it
// into the stores as the body's stages ask for it. The bytes are hashed
// in file order all the same: the magic line, the state as it streams,
// then the body and the offset.
func (j *job) restoreV3(f snapReader, size int64, sum uint32) error {
	var off [8]byte
	if _, err := f.ReadAt(off[:], size-trailerLen); err != nil {
		return err
	}
	at := int64(binary.BigEndian.Uint64(off[:]))
	if at < int64(len(ckptMagic)) || at > size-trailerLen {
		return fmt.Errorf("body offset %d outside the file's %d bytes: %w", at, size, snapbuf.ErrCorrupt)
	}
	body := make([]byte, size-trailerLen-at)
	if _, err := f.ReadAt(body, at); err != nil {
		return fmt.Errorf("body: %w", errors.Join(snapbuf.ErrCorrupt, err))
	}
	cr := &crcReader{r: io.NewSectionReader(f, int64(len(ckptMagic)), at-int64(len(ckptMagic))), crc: crc32.Update(0, ckptCRC, []byte(ckptMagic))}
	br := bufio.NewReaderSize(cr, fileBuf)
	err := j.decodeSnapshot(body, br)
	cr.crc = crc32.Update(cr.crc, ckptCRC, body)
	cr.crc = crc32.Update(cr.crc, ckptCRC, off[:])
	return checkRead(br, cr, sum, err)
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
