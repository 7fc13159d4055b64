//go:build unix

package live

import (
	"errors"
	"syscall"
)

// inlineWrites: Flush may write to a plain TCP peer socket itself.
const inlineWrites = true

// writeOnce makes one non-blocking write of b to the socket and returns how
// much the kernel took: less than len(b), perhaps 0, when the socket buffer
// is full, which is not an error. An error means the connection failed.
func writeOnce(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var err error
	if cerr := rc.Write(func(fd uintptr) bool {
		for {
			n, err = syscall.Write(int(fd), b)
			if !errors.Is(err, syscall.EINTR) {
				return true // one attempt: never wait for the socket
			}
		}
	}); cerr != nil {
		return 0, cerr
	}
	if errors.Is(err, syscall.EAGAIN) {
		err = nil
	}
	return max(n, 0), err
}
