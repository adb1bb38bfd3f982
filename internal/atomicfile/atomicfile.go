// Package atomicfile writes a file so that, after a crash at any moment,
// it holds either its old contents or all of its new ones: the data goes
// to a temporary file in the same directory, which is synced, renamed over
// the target, and the directory synced so the rename itself is durable.
// The engine's checkpoints and the job server's job records use it.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes the concatenation of parts to name atomically. The
// temporary file is created in name's directory from pattern (as
// os.CreateTemp takes it), so that a caller can find and remove the ones a
// crash left behind; it is removed on every error.
func WriteFile(name, pattern string, parts ...[]byte) error {
	return Write(name, pattern, func(w io.Writer) error {
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// Write is WriteFile for contents too large to hold in memory: fill
// writes them to the temporary file, unbuffered, and its error aborts the
// write, leaving name as it was.
func Write(name, pattern string, fill func(w io.Writer) error) error {
	p, err := Begin(name, pattern, fill)
	if err != nil {
		return err
	}
	return p.Commit()
}

// Pending is a file whose contents are written to its temporary file but
// not yet durable nor in place: a caller that must not wait for the sync
// (a streaming job's checkpoint) commits it in the background. Exactly
// one of Commit and Abort is called.
type Pending struct {
	f    *os.File
	name string
}

// Begin writes the contents fill writes to a temporary file for name, as
// Write does, and returns it pending.
func Begin(name, pattern string, fill func(w io.Writer) error) (*Pending, error) {
	p, err := Create(name, pattern)
	if err != nil {
		return nil, err
	}
	if err := fill(p.f); err != nil {
		p.Abort()
		return nil, err
	}
	return p, nil
}

// Create returns an empty pending file for name, to be filled with Write
// (by one goroutine at a time) and then committed or aborted: a caller
// that writes part of the contents now and the rest later (a checkpoint
// whose body is encoded after the job resumed) keeps it open meanwhile.
func Create(name, pattern string) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Dir(name), pattern)
	if err != nil {
		return nil, err
	}
	return &Pending{f: f, name: name}, nil
}

// Write appends b to the temporary file.
func (p *Pending) Write(b []byte) (int, error) { return p.f.Write(b) }

// Abort removes the temporary file.
func (p *Pending) Abort() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// Commit syncs the temporary file, renames it over the target and syncs
// the directory, so that after a crash the target holds either its old
// contents or all of the new ones. On error the temporary file is
// removed.
func (p *Pending) Commit() error {
	tmp := p.f.Name()
	defer os.Remove(tmp)
	if err := p.f.Sync(); err != nil {
		p.f.Close()
		return err
	}
	if err := p.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p.name); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(p.name))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
