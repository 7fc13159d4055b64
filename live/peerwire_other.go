//go:build !unix

package live

import (
	"errors"
	"syscall"
)

// inlineWrites: no inline writes here; the writer goroutine writes.
const inlineWrites = false

// writeOnce is never called where inlineWrites is false.
func writeOnce(rc syscall.RawConn, b []byte) (int, error) {
	return 0, errors.New("live: no inline writes on this platform")
}
