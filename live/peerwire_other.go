//go:build !unix

package live

import (
	"errors"
	"syscall"
)

// inlineWrites: every frame goes through the writer goroutine here.
const inlineWrites = false

// writeOnce writes nothing where a non-blocking write is not at hand: every
// frame then goes through the writer goroutine.
func writeOnce(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("live: no inline writes on this platform")
}
