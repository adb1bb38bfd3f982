package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Bulk loading of the pebble backend (Import of a snapshot): the
// ascending entries are written straight into SSTables, which pebble then
// ingests into its lowest level, bypassing the memtables, their flushes
// and the compactions that writing the same entries in batches costs.

// loadTable is the size of the tables a load writes.
const loadTable = 64 << 20

var _ bulkLoader = (*pebbleBackend)(nil)

func (p *pebbleBackend) load(next func() (k, v []byte, ok bool, err error)) error {
	wo := p.opts.MakeWriterOptions(len(p.opts.Levels)-1, p.db.TableFormat())
	var tables []string
	defer func() {
		// Ingest moves the tables into the store; what is left is the
		// debris of a failed load.
		for _, t := range tables {
			os.Remove(t)
		}
	}()
	var w *sstable.Writer
	size := 0
	for {
		k, v, ok, err := next()
		if err != nil {
			if w != nil {
				w.Close()
			}
			return err
		}
		if !ok {
			break
		}
		if w == nil {
			name := filepath.Join(p.dir, fmt.Sprintf("load-%06d.sst", len(tables)))
			f, err := vfs.Default.Create(name, vfs.WriteCategoryUnspecified)
			if err != nil {
				return fmt.Errorf("state: load: %w", err)
			}
			tables = append(tables, name)
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
		}
		if err := w.Set(k, v); err != nil {
			w.Close()
			return fmt.Errorf("state: load: %w", err)
		}
		if size += len(k) + len(v); size >= loadTable {
			if err := w.Close(); err != nil {
				return fmt.Errorf("state: load: %w", err)
			}
			w, size = nil, 0
		}
	}
	if w != nil {
		if err := w.Close(); err != nil {
			return fmt.Errorf("state: load: %w", err)
		}
	}
	if len(tables) == 0 {
		return nil
	}
	if err := p.db.Ingest(context.Background(), tables); err != nil {
		return fmt.Errorf("state: load: ingest: %w", err)
	}
	return nil
}
