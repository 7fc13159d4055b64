//go:build !linux

package live

import "os"

// datasync is a full fsync where fdatasync(2) is missing or not known to
// be enough.
func datasync(f *os.File) error { return f.Sync() }
