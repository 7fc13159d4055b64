//go:build !unix

package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dirLock is, where flock is missing, a LOCK file created with O_EXCL and
// removed on Close. A crashed process leaves it behind; the error says so.
type dirLock struct{ path string }

// lockDir takes the lock on dir.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, storeLockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("already in use: %s exists (if no process holds the store, a crash left it: remove it)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f.Close()
	return &dirLock{path: path}, nil
}

// release drops the lock.
func (l *dirLock) release() error { return os.Remove(l.path) }

// syncDir is a no-op where directories cannot be fsynced.
func syncDir(dir string) error { return nil }
