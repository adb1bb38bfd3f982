package jobservice

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// serverDirPrefix starts the name of each server's own directory under
// the staging root.
const serverDirPrefix = "server-"

// lockName is the file in a server's directory that the server holds
// locked while it lives.
const lockName = "lock"

// unlockedGrace is how long a server directory without a lock file is
// left alone: its server may be between creating it and locking it.
const unlockedGrace = time.Minute

// defaultStagingRoot is the staging root of servers with no
// Options.StagingDir, one per user so that users do not share it.
func defaultStagingRoot() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("beamgo-jobserver-%d", os.Getuid()))
}

// stagingDir is a server's own directory under the staging root, locked
// for the server's lifetime.
type stagingDir struct {
	path string
	lock *os.File
}

// openStagingDir creates root if needed, removes the directories of
// servers that died without removing theirs (their lock is free) and
// creates and locks this server's directory. It returns the names of the
// directories it removed.
func openStagingDir(root string) (*stagingDir, []string, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, nil, fmt.Errorf("jobservice: staging root: %w", err)
	}
	if err := checkRoot(root); err != nil {
		return nil, nil, err
	}
	removed := sweepStale(root)
	dir, err := os.MkdirTemp(root, serverDirPrefix+"*")
	if err != nil {
		return nil, removed, fmt.Errorf("jobservice: staging directory: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		os.RemoveAll(dir)
		return nil, removed, fmt.Errorf("jobservice: staging directory %s: %w", dir, err)
	}
	return &stagingDir{path: dir, lock: lock}, removed, nil
}

// sweepStale removes the server directories under root whose lock is
// free: their server is no longer running.
func sweepStale(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), serverDirPrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if !stale(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

// stale reports whether dir belongs to no running server: its lock file
// can be locked, or it has none and is older than unlockedGrace.
func stale(dir string) bool {
	lock := filepath.Join(dir, lockName)
	if _, err := os.Lstat(lock); err != nil {
		if !os.IsNotExist(err) {
			return false
		}
		fi, err := os.Lstat(dir)
		return err == nil && time.Since(fi.ModTime()) > unlockedGrace
	}
	f, err := tryLock(lock)
	if err != nil {
		return false
	}
	// Removing the directory removes the lock file; closing releases the
	// lock.
	defer f.Close()
	return true
}

// close removes the server's directory and releases its lock.
func (d *stagingDir) close() error {
	err := os.RemoveAll(d.path)
	d.lock.Close()
	if err != nil && !isNotExist(err) {
		return fmt.Errorf("jobservice: remove staging directory: %w", err)
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
