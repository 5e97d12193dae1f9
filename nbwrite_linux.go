//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le || s390x)

// Gathered socket writes for players (hub.go): one sendmsg(2) (POSIX.1-2008,
// sys/socket.h) hands the kernel a whole batch of frames, framing bytes and
// payload slices side by side, on a socket that is already in non-blocking
// mode, as the Go runtime keeps every network socket.
//
// Two ways to call it:
//   - try, for the fan-out workers: one attempt that never waits. What the
//     socket did not take is left to the player's own goroutine.
//   - wait, for that goroutine: it sleeps in the runtime's poller until the
//     socket takes more, for as long as the socket keeps taking data; a
//     socket that takes nothing for the write timeout fails the write.
//
// The iovec array is the caller's scratch, not the writer's: a player holds
// no per-socket array sized by its largest batch (the runtime's own writev
// keeps one per socket), so a thousand players cost no more for it than
// the two workers do.
package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// errWouldBlock: the socket's send buffer is full (EAGAIN).
var errWouldBlock = errors.New("write would block")

// errWriteStalled: the socket took no data for the write timeout.
var errWriteStalled = errors.New("write timeout: the socket took no data")

// nbWriter writes batches of buffers to one TCP socket. Everything a
// write needs lives in the struct or the caller's scratch, so it
// allocates nothing.
type nbWriter struct {
	rc      syscall.RawConn
	conn    net.Conn
	tryFn   func(fd uintptr)      // w.sendOnce, bound once
	waitFn  func(fd uintptr) bool // w.sendOrWait, bound once
	iov     []syscall.Iovec       // the caller's scratch, during a call
	msg     syscall.Msghdr
	n       int
	errno   syscall.Errno
	timeout time.Duration
}

// iovScratch is the iovec array a writing goroutine lends its writes.
type iovScratch = []syscall.Iovec

// maxIovecs bounds one sendmsg; IOV_MAX is 1024 on Linux and the BSDs.
const maxIovecs = 1024

// newNBWriter returns a writer for plain TCP connections (counted or not)
// and nil for anything else (TLS, files, test doubles): those players
// write with their connection's own Write.
func newNBWriter(c any, timeout time.Duration) *nbWriter {
	if cc, ok := c.(*countingConn); ok { // stats.go: the caller counts
		c = cc.Conn
	}
	tc, rc := rawTCP(c)
	if rc == nil {
		return nil
	}
	w := &nbWriter{rc: rc, conn: tc, timeout: timeout}
	w.tryFn, w.waitFn = w.sendOnce, w.sendOrWait
	return w
}

// rawTCP returns c as a TCP connection and its raw descriptor access, or
// nils if c is something else.
func rawTCP(c any) (*net.TCPConn, syscall.RawConn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	return tc, rc
}

// try sends as much of bufs as the socket takes now, without waiting. It
// returns the bytes written; err is errWouldBlock when that is less than
// everything.
func (w *nbWriter) try(bufs [][]byte, iov *iovScratch) (int, error) {
	total := w.load(bufs, iov)
	if total == 0 {
		return 0, nil
	}
	// Control, not Write: it only pins the descriptor (it cannot be closed
	// and reused meanwhile), without the poller's deadline bookkeeping,
	// which a call that never waits does not need.
	if err := w.rc.Control(w.tryFn); err != nil {
		return 0, w.unload(iov, err)
	}
	return w.n, w.unload(iov, w.result(total))
}

// wait sends all of bufs, sleeping while the socket's buffer is full. It
// fails with errWriteStalled when the socket takes no data for the write
// timeout: a socket that drains slowly is not a dead one.
//
// The poller alone cannot tell the two apart: Linux reports a TCP socket
// writable only once a third of its send buffer is free, which a slow
// reader may take longer than the timeout to free while it keeps reading.
// So the sleep is cut into steps of stallPoll, and each step tries again.
func (w *nbWriter) wait(bufs [][]byte, iov *iovScratch) (int, error) {
	done, progress := 0, time.Now()
	for {
		total := w.load(bufs, iov)
		if total == 0 {
			return done, nil
		}
		w.conn.SetWriteDeadline(time.Now().Add(min(w.timeout, stallPoll)))
		err := w.rc.Write(w.waitFn)
		if err == nil {
			err = w.result(total)
		}
		done += w.n
		if w.n > 0 {
			progress = time.Now()
		}
		bufs = skipBytes(bufs, w.n)
		w.unload(iov, nil)
		switch {
		case err == nil:
			return done, nil
		case errors.Is(err, os.ErrDeadlineExceeded) && time.Since(progress) >= w.timeout:
			return done, errWriteStalled
		case !errors.Is(err, errWouldBlock) && !errors.Is(err, os.ErrDeadlineExceeded):
			return done, err
		}
	}
}

// stallPoll is how often a waiting write tries again without the poller's
// word.
const stallPoll = 250 * time.Millisecond

// load fills the iovec array from bufs (at most maxIovecs; the rest is a
// short write) and returns the bytes it covers.
func (w *nbWriter) load(bufs [][]byte, iov *iovScratch) int {
	w.iov = (*iov)[:0]
	total := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(w.iov) == maxIovecs {
			break
		}
		w.iov = append(w.iov, syscall.Iovec{Base: &b[0]})
		w.iov[len(w.iov)-1].SetLen(len(b))
		total += len(b)
	}
	w.n, w.errno = 0, 0
	return total
}

// unload gives the array back to the caller, cleared so that it keeps no
// frame alive, and passes err through.
func (w *nbWriter) unload(iov *iovScratch, err error) error {
	clear(w.iov)
	*iov = w.iov[:0]
	w.iov = nil
	return err
}

// result turns the callback's outcome into the write's error.
func (w *nbWriter) result(total int) error {
	switch {
	case w.errno == syscall.EAGAIN:
		return errWouldBlock
	case w.errno != 0:
		return w.errno
	case w.n < total:
		return errWouldBlock
	}
	return nil
}

// sendOnce is the Control callback: one sendmsg attempt.
func (w *nbWriter) sendOnce(fd uintptr) {
	for {
		w.msg.Iov = &w.iov[0]
		w.msg.Iovlen = uint64(len(w.iov))
		// RawSyscall: the socket is non-blocking, so the call never
		// sleeps and the scheduler need not be told (entersyscall).
		// MSG_NOSIGNAL: a closed peer is an error (EPIPE), not a signal.
		n, _, errno := syscall.RawSyscall(syscall.SYS_SENDMSG, fd,
			uintptr(unsafe.Pointer(&w.msg)), syscall.MSG_NOSIGNAL)
		if errno == syscall.EINTR {
			continue
		}
		if errno == 0 {
			w.n = int(n)
		}
		w.errno = errno
		w.msg.Iov = nil
		return
	}
}

// sendOrWait is the Write callback: one attempt; false (nothing taken)
// makes the runtime park the goroutine until the socket is writable.
func (w *nbWriter) sendOrWait(fd uintptr) bool {
	w.sendOnce(fd)
	return w.errno != syscall.EAGAIN
}

// rawReader reads a TCP socket with a raw read(2) inside the runtime's
// poller (RawConn.Read: the goroutine parks in the poller while there is
// nothing to read, deadlines included) instead of with net.Conn's Read,
// which tells the scheduler about every read (entersyscall). Such a read
// also wakes the runtime's monitor thread, sysmon, from its deep sleep and
// sets it polling every 20 us for the next millisecond: with a publisher
// reading a frame at a time that was ~490 wake-ups a second at 500 players
// (30 with raw reads). A read of a non-blocking socket never blocks, so
// the scheduler need not hear of it. Reads of one rawReader must not
// overlap (every connection has one reading goroutine).
type rawReader struct {
	rc    syscall.RawConn
	fn    func(fd uintptr) bool // r.read, bound once
	p     []byte
	n     int
	errno syscall.Errno
}

// newRawReader returns a reader for a plain TCP connection, nil for
// anything else.
func newRawReader(c net.Conn) *rawReader {
	_, rc := rawTCP(c)
	if rc == nil {
		return nil
	}
	r := &rawReader{rc: rc}
	r.fn = r.read
	return r
}

// Read reads into p what the socket has, waiting until it has something.
func (r *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = p, 0, 0
	err := r.rc.Read(r.fn)
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, os.NewSyscallError("read", r.errno)
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// read is the RawConn callback: one read(2); false (nothing there yet)
// parks the goroutine in the poller until the socket is readable.
func (r *rawReader) read(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.p[0])), uintptr(len(r.p)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			r.n = int(n)
		}
		r.errno = errno
		return true
	}
}
