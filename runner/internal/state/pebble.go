package state

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// pebbleBackend keeps the store in a pebble LSM under a private temporary
// directory, so that state may exceed memory: pebble holds at most its
// memtables and block cache in memory, both sized from the budget. There is
// no write-ahead log: the store is scratch space for one run, and durable
// recovery goes through Store.Export at checkpoints, not through pebble.
type pebbleBackend struct {
	db  *pebble.DB
	dir string
	// opts are the options the store was opened with, for the tables a
	// bulk load writes (the same comparer and filters).
	opts *pebble.Options
}

var _ backend = (*pebbleBackend)(nil)

// pebbleComparer orders keys bytewise, as pebble's default comparer, but
// splits each key at the end of its partition prefix (partLen: the table
// tag and the user key), so that pebble's bloom filters record the user
// keys present in a table. A bundle's reads all fall in its keys'
// partitions, and with a million keys most tables hold none of them: a
// get or a scan within a partition then skips every table whose filter
// rules the key out instead of reading a data block of each level. Keys
// outside partitions (the global indexes) are their own prefix.
var pebbleComparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Split = func(k []byte) int {
		if p := partLen(k); p > 0 {
			return p
		}
		return len(k)
	}
	// The smallest prefix after a partition prefix (which ends in the
	// user key's terminator 0x00 0x01) ends in 0x00 0x02 instead: every
	// key between them lies in the partition. Any other prefix is a whole
	// key, and its successor is itself with a 0x00 appended.
	c.ImmediateSuccessor = func(dst, a []byte) []byte {
		if n := len(a); n > 0 && partLen(a) == n {
			dst = append(dst, a...)
			dst[len(dst)-1]++
			return dst
		}
		return append(append(dst, a...), 0)
	}
	c.Name = "beamgo.state.partitions.v1"
	return &c
}()

// inPartition returns the length of the partition prefix that every key
// of [lo, hi) shares, or 0 if they may not all share one.
func inPartition(lo, hi []byte) int {
	p := partLen(lo)
	if p > 0 && len(hi) >= p && string(hi[:p]) == string(lo[:p]) {
		return p
	}
	return 0
}

// pebbleOptions derives pebble's memory settings from budget bytes: half for
// the block cache, and two memtables of an eighth each (pebble stops writes
// at two full memtables, so they never exceed a quarter). The rest is left
// for iterators, compactions and the Go heap of the caller.
func pebbleOptions(budget int64, log *slog.Logger) *pebble.Options {
	memtable := max(budget/8, 4<<20)
	o := &pebble.Options{
		Cache:                       pebble.NewCache(max(budget/2, 8<<20)),
		MemTableSize:                uint64(memtable),
		MemTableStopWritesThreshold: 2,
		DisableWAL:                  true,
		Logger:                      pebbleLogger{log},
		Comparer:                    pebbleComparer,
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// No block compression: the store is scratch space for one run, and
	// snappy's encoding in flushes and compactions and its decoding of
	// every block read past the cache cost 15% of a job's CPU whose state
	// is eight times the store's memory, for disk space the run gives
	// back when it ends.
	o.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	o.EnsureDefaults()
	return o
}

func openPebble(parent string, budget int64, log *slog.Logger) (*pebbleBackend, error) {
	dir, err := os.MkdirTemp(parent, "beamgo-state-")
	if err != nil {
		return nil, fmt.Errorf("state: pebble directory: %w", err)
	}
	tuneMalloc()
	o := pebbleOptions(budget, log)
	defer o.Cache.Unref()
	db, err := pebble.Open(dir, o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("state: open pebble: %w", err)
	}
	return &pebbleBackend{db: db, dir: dir, opts: o}, nil
}

func (p *pebbleBackend) get(k []byte) ([]byte, bool, error) {
	v, closer, err := p.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: pebble get: %w", err)
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, true, nil
}

// scanIter drives it over [lo, hi) and closes it. When every key of the
// range lies in one partition (prefix > 0) it seeks in prefix mode, which
// consults the tables' bloom filters.
func scanIter(it *pebble.Iterator, lo []byte, prefix int, fn func(k, v []byte) bool) error {
	ok := false
	if prefix > 0 {
		ok = it.SeekPrefixGE(lo)
	} else {
		ok = it.First()
	}
	for ; ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("state: pebble read: %w", err)
		}
		if !fn(it.Key(), v) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("state: pebble scan: %w", err)
	}
	return nil
}

func (p *pebbleBackend) scan(lo, hi []byte, fn func(k, v []byte) bool) error {
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("state: pebble scan: %w", err)
	}
	return scanIter(it, lo, inPartition(lo, hi), fn)
}

// pointDeleteMax is how many committed entries a range delete may cover
// for apply to delete them one by one instead.
const pointDeleteMax = 16

// apply writes w in one batch. A range delete that covers few committed
// entries (a value state's write clears its one entry first, every time)
// goes in as point deletes of those entries: pebble's range tombstones
// cost every later read that crosses them, and its compactions and table
// statistics, far more than the seek that finds the entries.
func (p *pebbleBackend) apply(w *writeSet) error {
	b := p.db.NewBatch()
	defer b.Close()
	var it *pebble.Iterator
	defer func() {
		if it != nil {
			it.Close()
		}
	}()
	err := w.each(func(lo, hi string) error {
		if it == nil {
			var err error
			if it, err = p.db.NewIter(nil); err != nil {
				return err
			}
		}
		return deleteRange(b, it, []byte(lo), []byte(hi))
	}, func(k string, e entry) error {
		if e.del {
			return b.Delete([]byte(k), nil)
		}
		return b.Set([]byte(k), e.val, nil)
	})
	if err != nil {
		return fmt.Errorf("state: pebble batch: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("state: pebble commit: %w", err)
	}
	return nil
}

// deleteRange adds the deletion of [lo, hi) to b: point deletes of the
// entries it finds with it if there are at most pointDeleteMax, else a
// range delete. The bundle that wrote w owned the range's user key, so no
// other commit adds entries to it meanwhile.
func deleteRange(b *pebble.Batch, it *pebble.Iterator, lo, hi []byte) error {
	var keys [pointDeleteMax][]byte
	n := 0
	seek := it.SeekGE
	if inPartition(lo, hi) > 0 {
		seek = it.SeekPrefixGE
	}
	for ok := seek(lo); ok && bytes.Compare(it.Key(), hi) < 0; ok = it.Next() {
		if n == pointDeleteMax {
			return b.DeleteRange(lo, hi, nil)
		}
		keys[n] = append([]byte(nil), it.Key()...)
		n++
	}
	if err := it.Error(); err != nil {
		return err
	}
	for _, k := range keys[:n] {
		if err := b.Delete(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// export reads a pebble snapshot: a consistent view that later commits do
// not change, taken without blocking them.
func (p *pebbleBackend) export(fn func(k, v []byte) error) error {
	snap := p.db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(nil)
	if err != nil {
		return fmt.Errorf("state: pebble snapshot: %w", err)
	}
	var ferr error
	err = scanIter(it, nil, 0, func(k, v []byte) bool {
		ferr = fn(k, v)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

func (p *pebbleBackend) close() error {
	err := p.db.Close()
	if rerr := os.RemoveAll(p.dir); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("state: close pebble: %w", err)
	}
	return nil
}

// pebbleLogger sends pebble's errors to the store's logger and drops its
// chatter about flushes and compactions.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(format string, args ...any) {
	if l.log != nil {
		l.log.Error("pebble: " + fmt.Sprintf(format, args...))
	}
}

// Fatalf is called by pebble on an invariant violation it cannot survive;
// its contract is not to return.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	panic("state: pebble: " + fmt.Sprintf(format, args...))
}
