//go:build !unix

package jobservice

import (
	"errors"
	"fmt"
	"os"
)

// checkRoot accepts any directory: other systems' temporary directories
// are per user.
func checkRoot(root string) error { return checkPrivateDir("staging root", root) }

// checkPrivateDir is checkRoot for any directory the server trusts,
// named what in errors.
func checkPrivateDir(what, root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("jobservice: %s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("jobservice: %s %s is not a directory", what, root)
	}
	return nil
}

// lockDir creates the lock file name, held open while the server lives.
func lockDir(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
}

// tryLock never succeeds: without advisory locks a live server's
// directory cannot be told from a dead one's, so none is removed.
func tryLock(name string) (*os.File, error) {
	return nil, errors.New("jobservice: no file locks on this system")
}

// lockFile opens (creating it if needed) the lock file name. Without
// advisory locks it cannot keep a second server out.
func lockFile(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
}
