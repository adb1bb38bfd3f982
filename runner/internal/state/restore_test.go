package state

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/google/go-cmp/cmp"
)

// bigState fills a store with enough keys to span many of the bulk
// loader's slabs, values of several sizes (one beyond a quarter slab, so
// it takes the loader's own-allocation path), timers (global index
// entries) and a map cell, and returns its snapshot.
func bigState(t *testing.T, s *Store, keys int) []byte {
	t.Helper()
	b := s.Begin()
	for i := range keys {
		k := fmt.Sprintf("key%06d", i)
		must(t, b.SetValue(cell(k), bytes.Repeat([]byte{byte(i)}, i%300)))
		if i%7 == 0 {
			must(t, b.SetTimer(eventTimer(k, 1000+window.Time(i%8000))))
		}
		if i%11 == 0 {
			must(t, b.Put(cell(k), []byte("mk"), []byte(k)))
		}
	}
	must(t, b.SetValue(cell("huge"), bytes.Repeat([]byte("h"), loadSlab/2)))
	commit(t, b)
	var buf bytes.Buffer
	must(t, s.Export(&buf))
	return buf.Bytes()
}

// A snapshot of many keys restores into each backend whole: its export
// equals the original, and the restored store then takes writes that grow,
// shrink, replace and clear the bulk-loaded partitions and timers exactly
// as the original store takes them.
func TestImportOfManyKeysMatchesTheOriginal(t *testing.T) {
	const keys = 30000
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			src := open(t, Options{})
			snap := bigState(t, src, keys)
			dst := open(t, Options{})
			must(t, dst.Import(bytes.NewReader(snap)))
			var again bytes.Buffer
			must(t, dst.Export(&again))
			if !bytes.Equal(snap, again.Bytes()) {
				t.Fatal("export of the import differs from the snapshot")
			}
			for _, s := range []*Store{src, dst} {
				b := s.Begin()
				for i := 0; i < keys; i += 3 {
					k := fmt.Sprintf("key%06d", i)
					switch i % 4 {
					case 0:
						must(t, b.Append(cell(k), []byte("more")))
					case 1:
						must(t, b.Clear(cell(k)))
					case 2:
						must(t, b.SetValue(cell(k), []byte("new")))
					case 3:
						must(t, b.SetTimer(eventTimer(k, 5)))
					}
				}
				commit(t, b)
			}
			var want, got bytes.Buffer
			must(t, src.Export(&want))
			must(t, dst.Export(&got))
			if !bytes.Equal(want.Bytes(), got.Bytes()) {
				t.Fatal("after the same writes, the restored store differs from the original")
			}
			b := dst.Begin()
			want12 := []string{string(bytes.Repeat([]byte{12}, 12)), "more"}
			if diff := cmp.Diff(want12, bagOf(t, b, cell("key000012"))); diff != "" {
				t.Errorf("bag of key000012 after the writes (-want +got):\n%s", diff)
			}
			b.Discard()
		})
	}
}

// A stream whose records are intact but out of order is refused: a bulk
// loader builds on the order, so it must never see anything else.
func TestImportRefusesKeysOutOfOrder(t *testing.T) {
	rec := func(dst []byte, k, v string) []byte {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		return append(dst, v...)
	}
	for name, open := range backends() {
		for _, keys := range [][2]string{{"s\x00b", "s\x00a"}, {"w1", "w1"}} {
			snap := []byte(snapshotMagic)
			snap = rec(snap, keys[0], "x")
			snap = rec(snap, keys[1], "y")
			snap = binary.AppendUvarint(snap, 0)
			snap = binary.AppendUvarint(snap, 9)
			snap = binary.BigEndian.AppendUint32(snap, crc32.Checksum(snap, castagnoli))
			err := open(t, Options{}).Import(bytes.NewReader(snap))
			if !errors.Is(err, ErrBadSnapshot) {
				t.Errorf("%s: Import of keys %q: %v, want ErrBadSnapshot", name, keys, err)
			}
		}
	}
}

// Import given a large enough *bufio.Reader reads its snapshot and not a
// byte more, so that snapshots of several stores can follow each other
// in one stream (the engine's snapshot file): two stores' snapshots and
// a trailer in one stream restore into two stores, and the trailer is
// left to read.
func TestImportStopsAtTheEndOfItsSnapshot(t *testing.T) {
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			a, b := open(t, Options{}), open(t, Options{})
			snapA, snapB := bigState(t, a, 2000), bigState(t, b, 300)
			var stream bytes.Buffer
			stream.Write(snapA)
			stream.Write(snapB)
			stream.WriteString("trailer")
			br := bufio.NewReaderSize(&stream, 1<<20)
			for i, want := range [][]byte{snapA, snapB} {
				dst := open(t, Options{})
				must(t, dst.Import(br))
				var got bytes.Buffer
				must(t, dst.Export(&got))
				if !bytes.Equal(want, got.Bytes()) {
					t.Errorf("store %d restored from the stream differs from its snapshot", i)
				}
			}
			if rest, err := io.ReadAll(br); err != nil || string(rest) != "trailer" {
				t.Errorf("left in the stream: %q (%v), want %q", rest, err, "trailer")
			}
		})
	}
}
