//go:build unix

package live

import "syscall"

// inlineWrites: senders may write to a peer socket themselves (sendInline).
const inlineWrites = true

// writeOnce makes one non-blocking write of b to the socket: it returns how
// much the kernel took, which is less than len(b) (perhaps 0) when the
// socket buffer is full or the connection failed.
func writeOnce(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var err error
	if cerr := rc.Write(func(fd uintptr) bool {
		n, err = syscall.Write(int(fd), b)
		return true // one attempt: never wait for the socket
	}); cerr != nil {
		return 0, cerr
	}
	return max(n, 0), err
}
