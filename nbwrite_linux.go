//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le || s390x)

// The sendmsg fast path of socket players (writer.go): one sendmsg(2)
// (POSIX.1-2008, sys/socket.h) hands the kernel a whole batch of frames,
// framing bytes and payload slices side by side, on a socket that is
// already in non-blocking mode, as the Go runtime keeps every network
// socket. And the read side of accepted sockets: raw read(2)s inside the
// runtime's poller (rawReader), installed by the listener (withRawReads).
//
// Two ways to write (frameWriter):
//   - tryWrite, for the fan-out workers: one attempt that never waits.
//     What the socket did not take is left to the player.
//   - writeAll, for the player's own goroutine: it sleeps in the runtime's
//     poller until the socket takes more, for as long as the socket keeps
//     taking data; a socket that takes nothing for the write timeout fails
//     the write.
//
// Each writer keeps its own small iovec array (iovPerCall entries, 256
// bytes), not one sized by its largest batch as the runtime's own writev
// does: a write of one or a few frames, the fan-out's usual case, is one
// sendmsg; a longer batch (a joining player's GOP) takes one per
// iovPerCall slices.
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

// errWriteStalled: the socket took no data for the write timeout.
var errWriteStalled = errors.New("write timeout: the socket took no data")

// sendmsgWriter writes batches of buffers to one TCP socket. Everything a
// write needs lives in the struct, so it allocates nothing.
type sendmsgWriter struct {
	rc      syscall.RawConn
	conn    net.Conn
	tryFn   func(fd uintptr)      // w.sendOnce, bound once
	waitFn  func(fd uintptr) bool // w.sendOrWait, bound once
	iovs    [iovPerCall]syscall.Iovec
	iov     []syscall.Iovec // iovs, filled for the call in progress
	msg     syscall.Msghdr
	n       int
	errno   syscall.Errno
	timeout time.Duration
}

// iovPerCall bounds the slices one sendmsg takes (IOV_MAX, 1024 on Linux,
// is far above it).
const iovPerCall = 16

// newSendmsgWriter returns a writer for a connection that writes to a
// plain TCP socket unchanged (socketUnder), and nil for anything else
// (TLS, files, test doubles).
func newSendmsgWriter(c any, timeout time.Duration) *sendmsgWriter {
	tc := socketUnder(c)
	if tc == nil {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &sendmsgWriter{rc: rc, conn: tc, timeout: timeout}
	w.tryFn, w.waitFn = w.sendOnce, w.sendOrWait
	return w
}

// tryWrite sends as much of bufs as the socket takes now, without
// waiting. It returns the bytes written; err is errWouldBlock when that
// is less than everything.
func (w *sendmsgWriter) tryWrite(bufs [][]byte) (int, error) {
	done := 0
	for {
		total, rest := w.load(bufs)
		if total == 0 {
			return done, nil
		}
		// Control, not Write: it only pins the descriptor (it cannot be
		// closed and reused meanwhile), without the poller's deadline
		// bookkeeping, which a call that never waits does not need.
		err := w.rc.Control(w.tryFn)
		w.unload()
		if err == nil {
			err = w.result(total)
		}
		if done += w.n; err != nil || len(rest) == 0 {
			return done, err
		}
		bufs = rest
	}
}

// writeAll sends all of bufs, sleeping while the socket's buffer is full.
// It fails with errWriteStalled when the socket takes no data for the
// write timeout: a socket that drains slowly is not a dead one.
//
// The poller alone cannot tell the two apart: Linux reports a TCP socket
// writable only once a third of its send buffer is free, which a slow
// reader may take longer than the timeout to free while it keeps reading.
// So the sleep is cut into steps of stallPoll, and each step tries again.
func (w *sendmsgWriter) writeAll(bufs [][]byte) (int, error) {
	done, progress := 0, time.Now()
	for {
		n, err := w.waitOnce(bufs)
		done += n
		if n > 0 {
			progress = time.Now()
		}
		bufs = skipBytes(bufs, n)
		switch {
		case err == nil && len(bufs) == 0:
			return done, nil
		case err == nil: // all it loaded went: the next slices
		case errors.Is(err, os.ErrDeadlineExceeded) && time.Since(progress) >= w.timeout:
			return done, errWriteStalled
		case !errors.Is(err, errWouldBlock) && !errors.Is(err, os.ErrDeadlineExceeded):
			return done, err
		}
	}
}

// waitOnce is one step of writeAll: a send that may sleep up to stallPoll
// for the socket to take something.
func (w *sendmsgWriter) waitOnce(bufs [][]byte) (int, error) {
	total, _ := w.load(bufs)
	if total == 0 {
		return 0, nil
	}
	w.conn.SetWriteDeadline(time.Now().Add(min(w.timeout, stallPoll)))
	err := w.rc.Write(w.waitFn)
	w.unload()
	if err == nil {
		err = w.result(total)
	}
	return w.n, err
}

// stallPoll is how often a waiting write tries again without the poller's
// word.
const stallPoll = 250 * time.Millisecond

// load fills the iovec array from bufs (at most iovPerCall slices) and
// returns the bytes it covers and the slices left for the next call.
func (w *sendmsgWriter) load(bufs [][]byte) (total int, rest [][]byte) {
	w.iov = w.iovs[:0]
	w.n, w.errno = 0, 0
	for i, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(w.iov) == iovPerCall {
			return total, bufs[i:]
		}
		w.iov = append(w.iov, syscall.Iovec{Base: &b[0]})
		w.iov[len(w.iov)-1].SetLen(len(b))
		total += len(b)
	}
	return total, nil
}

// unload clears the array, so that it keeps no frame alive.
func (w *sendmsgWriter) unload() {
	clear(w.iov)
	w.iov = nil
}

// result turns the callback's outcome into the write's error.
func (w *sendmsgWriter) result(total int) error {
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
func (w *sendmsgWriter) sendOnce(fd uintptr) {
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
func (w *sendmsgWriter) sendOrWait(fd uintptr) bool {
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
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc}
	r.fn = r.read
	return r
}

// rawConn is an accepted TCP socket read with rawReader.
type rawConn struct {
	*net.TCPConn
	r *rawReader

	// while the socket has nothing to read (readypoll_linux.go), under
	// idlePoller.mu
	parked   uint64 // its key in idlePoller's table; 0: not parked
	pollGen  uint64 // the epoll set it was added to
	deadline bool   // a read deadline is set: not parked
}

// withRawReads is how a listener hands out a plain TCP socket: read with
// raw read(2)s (rawReader); anything else is returned as it is.
func withRawReads(c net.Conn) net.Conn {
	r := newRawReader(c)
	if r == nil {
		return c
	}
	return &rawConn{TCPConn: c.(*net.TCPConn), r: r}
}

func (c *rawConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// NetConn returns the socket itself, for socket options.
func (c *rawConn) NetConn() net.Conn { return c.TCPConn }

// plainSocket says that bytes written to the socket itself reach the
// peer as they are (writer.go, socketUnder).
func (c *rawConn) plainSocket() net.Conn { return c.TCPConn }

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
