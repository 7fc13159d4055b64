//go:build unix

package live

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirLock is an exclusive flock on a data directory's LOCK file. The kernel
// drops it when the process dies, so a crash leaves no stale lock.
type dirLock struct{ f *os.File }

// lockDir takes the lock on dir, failing at once if another open file
// description (in this process or another) holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, storeLockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (by pid %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("already in use: %s is locked%s", path, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Record the holder, for the message above; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock.
func (l *dirLock) release() error { return l.f.Close() }

// syncDir fsyncs a directory, making a create or rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
