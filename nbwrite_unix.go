//go:build unix

// Non-blocking writev for the fan-out fast path (hub.go): one writev(2)
// (POSIX.1-2008, sys/uio.h) on a socket that is already in non-blocking
// mode, as the Go runtime keeps every network socket. A write that would
// block returns at once with what it wrote instead of parking the caller;
// the player's own goroutine then finishes it with the runtime's blocking
// path (net.Buffers, write deadline).
package main

import (
	"errors"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// errWouldBlock: the socket's send buffer is full (EAGAIN).
var errWouldBlock = errors.New("write would block")

// nbWriter writes a batch of buffers to one TCP socket with a single
// writev that never waits. Everything it needs lives in the struct, so a
// write allocates nothing.
type nbWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // w.writev, bound once
	iov []syscall.Iovec
	n   int
	err error
}

// maxIovecs bounds one writev; IOV_MAX is 1024 on Linux and the BSDs.
const maxIovecs = 1024

// newNBWriter returns a writer for plain TCP connections (counted or not)
// and nil for anything else (TLS, files, test doubles): those players use
// the blocking path only.
func newNBWriter(c any) *nbWriter {
	if cc, ok := c.(*countingConn); ok { // stats.go: the caller counts
		c = cc.Conn
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &nbWriter{rc: rc}
	w.fn = w.writev
	return w
}

// write sends as much of bufs as the socket takes now. It returns the
// bytes written; err is errWouldBlock when that is less than everything.
func (w *nbWriter) write(bufs [][]byte) (int, error) {
	w.iov = w.iov[:0]
	total := 0
	for _, b := range bufs {
		total += len(b)
		if len(b) > 0 && len(w.iov) < maxIovecs { // the rest: a short write
			w.iov = append(w.iov, syscall.Iovec{Base: &b[0]})
			w.iov[len(w.iov)-1].SetLen(len(b))
		}
	}
	if len(w.iov) == 0 {
		return 0, nil
	}
	w.n, w.err = 0, nil
	if err := w.rc.Write(w.fn); err != nil {
		clear(w.iov)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A deadline set for a blocking write has passed; this write
			// would not have waited. The goroutine takes over and renews it.
			return 0, errWouldBlock
		}
		return 0, err
	}
	clear(w.iov) // keep no frame alive through the scratch
	if w.err == nil && w.n < total {
		w.err = errWouldBlock
	}
	return w.n, w.err
}

// writev is the RawConn callback: one attempt, never a wait (it always
// returns true, so the runtime does not park on EAGAIN).
func (w *nbWriter) writev(fd uintptr) bool {
	for {
		// RawSyscall: the socket is non-blocking, so the call never
		// sleeps and the scheduler need not be told (entersyscall).
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd,
			uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)))
		switch errno {
		case 0:
			w.n = int(n)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			w.err = errWouldBlock
		default:
			w.err = errno
		}
		return true
	}
}
