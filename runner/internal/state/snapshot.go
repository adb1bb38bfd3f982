package state

import (
	"bufio"
	"bytes"
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

// bulkLoader is a backend that loads a snapshot's entries into its empty
// self faster than write sets can: the entries come in ascending order,
// so it builds its structures directly, without a search per entry.
type bulkLoader interface {
	// load calls next until it reports the end or fails. The entries it
	// returns are ascending and valid only until the following call.
	load(next func() (k, v []byte, ok bool, err error)) error
}

// Import loads a snapshot written by Export into s, which must be empty
// and have no open bundles. It reads r as a stream, up to the snapshot's
// last byte and no further when r is a *bufio.Reader of at least 256 KiB,
// so that a snapshot may be one section of a larger file. On error s may
// hold part of the snapshot; the caller discards it.
func (s *Store) Import(r io.Reader) error {
	empty := true
	if err := s.kv.scan(nil, nil, func(_, _ []byte) bool { empty = false; return false }); err != nil {
		return err
	}
	if !empty {
		return ErrNotEmpty
	}
	// Whatever Import writes lands outside bundles, below any floor a
	// scan of the empty store may have raised.
	defer s.resetHeads()
	in := &snapReader{br: bufio.NewReaderSize(r, 256<<10)}
	magic := make([]byte, len(snapshotMagic))
	if err := in.readFull(magic); err != nil || string(magic) != snapshotMagic {
		return fmt.Errorf("state: import: no snapshot header: %w", ErrBadSnapshot)
	}
	var err error
	if bl, ok := s.kv.(bulkLoader); ok {
		err = bl.load(in.next)
	} else {
		err = s.importEntries(in)
	}
	if err != nil {
		return err
	}
	seq, err := in.uvarint()
	if err != nil {
		return in.bad("sequence", err)
	}
	sum := in.crc
	var tail [4]byte
	if _, err := io.ReadFull(in.br, tail[:]); err != nil || binary.BigEndian.Uint32(tail[:]) != sum {
		return fmt.Errorf("state: import: checksum: %w", ErrBadSnapshot)
	}
	if seq > s.seq.Load() {
		s.seq.Store(seq)
	}
	return nil
}

// importEntries applies the records in write sets of about 4 MiB, for a
// backend that cannot bulk-load.
func (s *Store) importEntries(in *snapReader) error {
	w, size := newWriteSet(), 0
	for {
		k, v, ok, err := in.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		w.set(bytes.Clone(k), bytes.Clone(v))
		if size += len(k) + len(v); size > 4<<20 {
			if err := s.kv.apply(w); err != nil {
				return err
			}
			w, size = newWriteSet(), 0
		}
	}
	return s.kv.apply(w)
}

// snapReader reads a snapshot's records from a buffered stream, hashing
// what it reads and checking that keys ascend strictly (a bulk loader
// relies on it), so that a damaged stream fails with ErrBadSnapshot.
type snapReader struct {
	br  *bufio.Reader
	crc uint32
	// key and prev alternate as the current and the previous key; val
	// is the current value. They are reused from record to record.
	key, prev, val []byte
}

func (r *snapReader) bad(what string, err error) error {
	return fmt.Errorf("state: import: %s: %w", what, errors.Join(ErrBadSnapshot, err))
}

// uvarint reads and hashes one unsigned varint.
func (r *snapReader) uvarint() (uint64, error) {
	b, _ := r.br.Peek(binary.MaxVarintLen64)
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	r.crc = crc32.Update(r.crc, castagnoli, b[:n])
	r.br.Discard(n)
	return v, nil
}

// readFull fills p from the stream and hashes it.
func (r *snapReader) readFull(p []byte) error {
	if _, err := io.ReadFull(r.br, p); err != nil {
		return err
	}
	r.crc = crc32.Update(r.crc, castagnoli, p)
	return nil
}

// field reads a length-prefixed field into buf's storage.
func (r *snapReader) field(buf []byte) ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return buf, err
	}
	// No store entry is this long: a corrupt length must not make the
	// reader allocate without bound.
	if n > 1<<31 {
		return buf, fmt.Errorf("length %d", n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	return buf, r.readFull(buf)
}

// next returns the next record; ok is false at the end of the records.
// k and v are valid until the following call.
func (r *snapReader) next() (k, v []byte, ok bool, err error) {
	klen, err := r.uvarint()
	if err != nil {
		return nil, nil, false, r.bad("key length", err)
	}
	if klen == 0 {
		return nil, nil, false, nil
	}
	if klen > 1<<31 {
		return nil, nil, false, r.bad("key", fmt.Errorf("length %d", klen))
	}
	r.key, r.prev = r.prev, r.key
	if uint64(cap(r.key)) < klen {
		r.key = make([]byte, klen)
	}
	r.key = r.key[:klen]
	if err := r.readFull(r.key); err != nil {
		return nil, nil, false, r.bad("key", err)
	}
	if r.prev != nil && bytes.Compare(r.prev, r.key) >= 0 {
		return nil, nil, false, r.bad("key", errors.New("keys out of order"))
	}
	if r.val, err = r.field(r.val); err != nil {
		return nil, nil, false, r.bad("value", err)
	}
	return r.key, r.val, true, nil
}
