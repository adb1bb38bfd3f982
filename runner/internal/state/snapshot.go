package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The snapshot format: a magic line, then one record per store entry
// (uvarint key length, key, uvarint value length, value; keys are never
// empty), then a zero key length, the store's sequence counter (uvarint)
// and the CRC-32C of everything before it (4 bytes, big-endian). It is the
// same for both backends, so a snapshot of one imports into the other.
const snapshotMagic = "beamgo-state-snapshot-v1\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Export writes a consistent snapshot of all state and timers to w: one
// bundle-commit boundary (no commit is half in it). The Pebble backend
// reads a pebble snapshot and does not block commits; the Memory backend
// blocks commits while it writes.
func (s *Store) Export(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	h := crc32.New(castagnoli)
	out := io.MultiWriter(bw, h)
	if _, err := io.WriteString(out, snapshotMagic); err != nil {
		return fmt.Errorf("state: export: %w", err)
	}
	var hdr []byte
	err := s.kv.export(func(k, v []byte) error {
		hdr = binary.AppendUvarint(hdr[:0], uint64(len(k)))
		hdr = append(hdr, k...)
		hdr = binary.AppendUvarint(hdr, uint64(len(v)))
		if _, err := out.Write(hdr); err != nil {
			return err
		}
		_, err := out.Write(v)
		return err
	})
	if err != nil {
		return fmt.Errorf("state: export: %w", err)
	}
	// Every sequence number in the snapshot was drawn before its commit,
	// so the counter read now bounds them all.
	hdr = binary.AppendUvarint(hdr[:0], 0)
	hdr = binary.AppendUvarint(hdr, s.seq.Load())
	out.Write(hdr)
	bw.Write(binary.BigEndian.AppendUint32(nil, h.Sum32()))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("state: export: %w", err)
	}
	return nil
}

// ErrBadSnapshot is returned by Import for a stream that is not a whole,
// intact snapshot.
var ErrBadSnapshot = errors.New("state: bad snapshot")

// Import loads a snapshot written by Export into s, which must be empty
// and have no open bundles. On error s may hold part of the snapshot; the
// caller discards it.
func (s *Store) Import(r io.Reader) error {
	empty := true
	if err := s.kv.scan(nil, nil, func(_, _ []byte) bool { empty = false; return false }); err != nil {
		return err
	}
	if !empty {
		return ErrNotEmpty
	}
	h := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 256<<10)
	in := &hashReader{r: br, h: h}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(in, magic); err != nil || string(magic) != snapshotMagic {
		return fmt.Errorf("state: import: no snapshot header: %w", ErrBadSnapshot)
	}
	seq, err := s.importEntries(in)
	if err != nil {
		return err
	}
	sum := h.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil || binary.BigEndian.Uint32(tail[:]) != sum {
		return fmt.Errorf("state: import: checksum: %w", ErrBadSnapshot)
	}
	if seq > s.seq.Load() {
		s.seq.Store(seq)
	}
	return nil
}

// importEntries applies the records in write sets of about 4 MiB and
// returns the trailer's sequence counter.
func (s *Store) importEntries(in *hashReader) (uint64, error) {
	bad := func(what string, err error) error {
		return fmt.Errorf("state: import: %s: %w", what, errors.Join(ErrBadSnapshot, err))
	}
	w, size := newWriteSet(), 0
	for {
		klen, err := binary.ReadUvarint(in)
		if err != nil {
			return 0, bad("key length", err)
		}
		if klen == 0 {
			break
		}
		k, err := readN(in, klen)
		if err != nil {
			return 0, bad("key", err)
		}
		vlen, err := binary.ReadUvarint(in)
		if err != nil {
			return 0, bad("value length", err)
		}
		v, err := readN(in, vlen)
		if err != nil {
			return 0, bad("value", err)
		}
		w.set(k, v)
		if size += len(k) + len(v); size > 4<<20 {
			if err := s.kv.apply(w); err != nil {
				return 0, err
			}
			w, size = newWriteSet(), 0
		}
	}
	seq, err := binary.ReadUvarint(in)
	if err != nil {
		return 0, bad("sequence", err)
	}
	return seq, s.kv.apply(w)
}

// readN reads n bytes, refusing lengths no store entry has.
func readN(r io.Reader, n uint64) ([]byte, error) {
	if n > 1<<31 {
		return nil, fmt.Errorf("length %d", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// hashReader hashes what it reads.
type hashReader struct {
	r *bufio.Reader
	h io.Writer
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func (h *hashReader) ReadByte() (byte, error) {
	c, err := h.r.ReadByte()
	if err == nil {
		h.h.Write([]byte{c})
	}
	return c, err
}
