//go:build unix

package jobservice

import (
	"fmt"
	"os"
	"syscall"
)

// checkRoot refuses a staging root that another user could plant files
// in or redirect: it must be a directory (not a symbolic link) owned by
// this user and writable by no one else.
func checkRoot(root string) error { return checkPrivateDir("staging root", root) }

// checkPrivateDir is checkRoot for any directory the server trusts,
// named what in errors.
func checkPrivateDir(what, root string) error {
	fi, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("jobservice: %s: %w", what, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("jobservice: %s %s is not a directory (a symbolic link?)", what, root)
	case ok && int(st.Uid) != os.Getuid():
		return fmt.Errorf("jobservice: %s %s belongs to user %d, not this user (%d)", what, root, st.Uid, os.Getuid())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("jobservice: %s %s is writable by other users (mode %v)", what, root, fi.Mode().Perm())
	}
	return nil
}

// lockDir creates the lock file name and holds an exclusive lock on it
// until the file is closed (or the process dies).
func lockDir(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return f, nil
}

// tryLock locks the existing lock file name if no live process holds it.
func tryLock(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockFile opens (creating it if needed) the lock file name and holds an
// exclusive lock on it until the file is closed (or the process dies);
// it fails if a live process holds it.
func lockFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w (is another job server using it?)", name, err)
	}
	return f, nil
}
