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
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
