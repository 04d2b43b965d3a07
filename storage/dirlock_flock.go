//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// withDirLock runs fn holding the lock Badger takes on dir (flock on the
// directory itself), so that removeEmptyFiles never touches the files of a
// store another DB or process has open; Badger's own Open takes the lock
// again right after.
func withDirLock(dir string, fn func() error) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: cannot open %q: %w", dir, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: %q", ErrLocked, dir)
		}
		return fmt.Errorf("storage: cannot lock %q: %w", dir, err)
	}
	return fn() // closing f releases the lock
}
