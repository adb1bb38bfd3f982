package state

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleBackend keeps the store in a pebble LSM under a private temporary
// directory, so that state may exceed memory: pebble holds at most its
// memtables and block cache in memory, both sized from the budget. There is
// no write-ahead log: the store is scratch space for one run, and durable
// recovery goes through Store.Export at checkpoints, not through pebble.
type pebbleBackend struct {
	db  *pebble.DB
	dir string
}

var _ backend = (*pebbleBackend)(nil)

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
	}
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
	return &pebbleBackend{db: db, dir: dir}, nil
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

// scanIter drives it over [lo, hi) and closes it.
func scanIter(it *pebble.Iterator, fn func(k, v []byte) bool) error {
	for ok := it.First(); ok; ok = it.Next() {
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
	return scanIter(it, fn)
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
	for ok := it.SeekGE(lo); ok && bytes.Compare(it.Key(), hi) < 0; ok = it.Next() {
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
	err = scanIter(it, func(k, v []byte) bool {
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
