//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le || s390x)

// Idle sockets without a goroutine each: epoll(7) (epoll_create1(2),
// epoll_ctl(2), epoll_wait(2)) watches the sockets of players that have
// nothing to read, all of them from one goroutine.
//
// A player only writes; what it reads is rare (an RTMP acknowledgement or
// ping answer, a client going away). A goroutine blocked in its read costs
// a stack (4 KB and more) for nothing. So a player's reading side, when it
// has nothing buffered, parks its socket here (whenReadable) and its
// goroutine returns. The socket is watched with EPOLLONESHOT: when it
// becomes readable, or the peer hangs up, the poller takes it out of its
// table and starts the reading side again in a fresh goroutine (then),
// which reads what came and parks again.
//
// The Go runtime watches the same socket in its own epoll set for its
// reads and writes; a socket may be in several sets, each reporting its
// own readiness. Every epoll_ctl on a socket runs inside
// syscall.RawConn.Control, which holds the descriptor open: a closed
// socket's number, reused by a newer one, is never touched. A closed
// socket leaves the epoll set by itself (close(2) removes it), so Close
// only has to start the parked reading side (rawConn.Close), which then
// finds the socket closed; a new read deadline does the same
// (rawConn.SetReadDeadline), so that it is waited for where it is served:
// in a read.
//
// The poller's goroutine and its epoll set exist only while a socket is
// parked: the last one out closes them, so an idle server has none.
package main

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// readyPoller is the process's one epoll set of parked sockets.
type readyPoller struct {
	mu    sync.Mutex
	epfd  int // -1 while no socket is parked
	wake  [2]int
	gen   uint64 // counts epoll sets: a socket added to an older one is not in this one
	next  uint64 // the last key handed out
	waits map[uint64]*readyWait
}

// readyWait is one parked socket: then runs when it is readable.
type readyWait struct {
	c    *rawConn
	then func()
}

// idlePoller is the process's readyPoller.
var idlePoller = readyPoller{epfd: -1, waits: make(map[uint64]*readyWait)}

// parkEvents: readable, or the peer closed its half; once (EPOLLONESHOT),
// until the socket is parked again. Errors and hang-ups are always
// reported.
const parkEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// whenReadable parks c: then runs in a goroutine of its own when c has
// something to read, its peer hangs up, it is closed or it gets a read
// deadline. False (then will not run) when c cannot be parked now: it has
// a read deadline, or it is closed, or epoll failed; the caller reads as
// usual.
func (c *rawConn) whenReadable(then func()) bool {
	return idlePoller.park(c, then)
}

// parkReads parks an accepted plain socket (whenReadable); false for
// anything else (TLS, test doubles): the caller reads as usual.
func parkReads(c net.Conn, then func()) bool {
	cc, ok := c.(*countingConn)
	if !ok {
		return false
	}
	rc, ok := cc.Conn.(*rawConn)
	return ok && rc.whenReadable(then)
}

func (p *readyPoller) park(c *rawConn, then func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.deadline || c.parked != 0 || p.start() != nil {
		return false
	}
	p.next++
	key := p.next
	if err := p.watch(c, key); err != nil {
		p.stopIfIdle()
		return false
	}
	p.waits[key], c.parked = &readyWait{c: c, then: then}, key
	return true
}

// watch arms c's socket in the epoll set under key: added to the set
// once, modified (re-armed) after.
func (p *readyPoller) watch(c *rawConn, key uint64) error {
	ev := syscall.EpollEvent{Events: parkEvents, Fd: int32(uint32(key)), Pad: int32(uint32(key >> 32))}
	var ctlErr error
	err := c.r.rc.Control(func(fd uintptr) {
		op := syscall.EPOLL_CTL_ADD
		if c.pollGen == p.gen {
			op = syscall.EPOLL_CTL_MOD
		}
		ctlErr = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
		if errors.Is(ctlErr, syscall.ENOENT) {
			ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
		if ctlErr == nil {
			c.pollGen = p.gen
		}
	})
	if err != nil {
		return err
	}
	return ctlErr
}

// start opens the epoll set and starts its goroutine, unless they run.
func (p *readyPoller) start() error {
	if p.epfd >= 0 {
		return nil
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.Pipe2(p.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return err
	}
	// key 0 is the wake pipe: a byte there makes the loop look whether
	// anything is still parked
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs(epfd)
		return err
	}
	p.epfd = epfd
	p.gen++
	go p.loop(epfd)
	return nil
}

func (p *readyPoller) closeFDs(epfd int) {
	syscall.Close(epfd)
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
}

// stopIfIdle tells the loop to look whether anything is still parked
// (it ends when nothing is).
func (p *readyPoller) stopIfIdle() {
	if len(p.waits) == 0 && p.epfd >= 0 {
		syscall.Write(p.wake[1], []byte{0})
	}
}

// loop waits for parked sockets to become readable and starts their
// reading sides, until none is parked.
func (p *readyPoller) loop(epfd int) {
	events := make([]syscall.EpollEvent, 64)
	for {
		n, err := syscall.EpollWait(epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil { // EBADF, EFAULT, EINVAL: cannot happen; if it does, nothing stays parked
			n = 0
			p.unparkAll()
		}
		if p.dispatch(events[:n]) {
			return
		}
	}
}

// dispatch starts the reading side of each socket that woke up; true when
// nothing is parked any more and the epoll set is closed.
func (p *readyPoller) dispatch(events []syscall.EpollEvent) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		key := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if key == 0 {
			var b [16]byte
			syscall.Read(p.wake[0], b[:])
			continue
		}
		if w := p.take(key); w != nil {
			go w.then()
		}
	}
	if len(p.waits) > 0 {
		return false
	}
	p.closeFDs(p.epfd)
	p.epfd = -1
	return true
}

// unparkAll starts every parked reading side.
func (p *readyPoller) unparkAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key := range p.waits {
		go p.take(key).then()
	}
}

// take removes a parked socket from the table.
func (p *readyPoller) take(key uint64) *readyWait {
	w := p.waits[key]
	if w == nil {
		return nil
	}
	delete(p.waits, key)
	w.c.parked = 0
	return w
}

// unpark starts c's parked reading side now, if it is parked (c was
// closed); unparkDeadline also records whether c has a read deadline.
func (p *readyPoller) unpark(c *rawConn) {
	p.mu.Lock()
	w := p.takeConn(c)
	p.mu.Unlock()
	if w != nil {
		go w.then()
	}
}

func (p *readyPoller) unparkDeadline(c *rawConn, deadline bool) {
	p.mu.Lock()
	c.deadline = deadline
	w := p.takeConn(c)
	p.mu.Unlock()
	if w != nil {
		go w.then()
	}
}

// takeConn removes c from the table if it is parked there.
func (p *readyPoller) takeConn(c *rawConn) *readyWait {
	if c.parked == 0 {
		return nil
	}
	w := p.take(c.parked)
	p.stopIfIdle()
	return w
}

// Close closes the socket, then starts its reading side if it is parked:
// there it finds the socket closed.
func (c *rawConn) Close() error {
	err := c.TCPConn.Close()
	idlePoller.unpark(c)
	return err
}

// SetReadDeadline and SetDeadline start a parked reading side, which then
// waits in its read (the runtime's poller serves deadlines); a socket
// with a read deadline is not parked.
func (c *rawConn) SetReadDeadline(t time.Time) error {
	err := c.TCPConn.SetReadDeadline(t)
	idlePoller.unparkDeadline(c, !t.IsZero())
	return err
}

func (c *rawConn) SetDeadline(t time.Time) error {
	err := c.TCPConn.SetDeadline(t)
	idlePoller.unparkDeadline(c, !t.IsZero())
	return err
}
