// Writers: how a socket player's bytes reach its connection.
//
// A player hands its writer a batch as a list of slices, the frames'
// framing bytes and payloads side by side, and the writer passes it on
// without copying where it can. There are three ways to write, chosen once,
// when the player is made (newFrameWriter):
//
//   - the sendmsg fast path (nbwrite_linux.go) for plain TCP sockets: one
//     sendmsg(2) per batch on the non-blocking socket, which can also be
//     tried without waiting, so the fan-out (fanout.go) writes such
//     players itself;
//   - the portable writer (streamWriter, here) for everything else (TLS,
//     files, other platforms): the connection's own Write under a write
//     deadline, small slices gathered into one buffer so that a frame is
//     one TLS record, not one per slice;
//   - the HTTP/2 writer (responseWriter, here) for a player on an HTTP/2
//     stream, which cannot be hijacked: the ResponseWriter's Write, one
//     Flush per batch.
//
// A connection is also written by its session (RTMP control messages,
// WebSocket pings and close frames). writeLock serialises the two at
// message boundaries: a message is never cut by another.
package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// errWouldBlock: the socket's send buffer is full (EAGAIN), or the writer
// cannot write without waiting.
var errWouldBlock = errors.New("write would block")

// frameWriter writes batches of slices to one connection.
type frameWriter interface {
	// tryWrite writes what the connection takes now and never waits. It
	// returns the bytes written; err is errWouldBlock when that is less
	// than everything.
	tryWrite(bufs [][]byte) (int, error)
	// writeAll writes everything, waiting while the connection is full,
	// for as long as it keeps taking data: it fails when the connection
	// takes nothing for the write timeout.
	writeAll(bufs [][]byte) (int, error)
}

// playerConn is where a socket player writes: a connection, or a test
// double that is itself a frameWriter.
type playerConn interface {
	io.Writer
	SetWriteDeadline(time.Time) error
}

// newFrameWriter picks the writer of a player's connection. direct is
// true when the writer bypasses the connection's Write (its bytes are
// counted by the player, not by the connection) and tryWrite can take
// data: such players are written by the fan-out. A connection that is a
// frameWriter itself (an HTTP/2 stream's responseWriter, a test double)
// is used as it is, by the player's goroutine only.
func newFrameWriter(c playerConn, timeout time.Duration) (w frameWriter, direct bool) {
	if fw, ok := c.(frameWriter); ok {
		return fw, false
	}
	if sw := newSendmsgWriter(c, timeout); sw != nil {
		return sw, true
	}
	return &streamWriter{conn: c, timeout: timeout}, false
}

// socketUnder returns the plain TCP socket a connection writes to
// unchanged (through wrappers that only count, see plainSocket), or nil:
// a TLS connection transforms what is written, so it has none.
func socketUnder(c any) *net.TCPConn {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ plainSocket() net.Conn }:
			c = v.plainSocket()
		default:
			return nil
		}
	}
}

// streamWriter is the portable writer: the connection's own Write, with
// the write deadline renewed at most once a second (timers are not free).
// Its bytes are counted by the connection (the counted socket of stats.go).
type streamWriter struct {
	conn         playerConn
	timeout      time.Duration
	lastDeadline time.Time
}

// tryWrite takes nothing: a connection's Write may wait.
func (w *streamWriter) tryWrite([][]byte) (int, error) { return 0, errWouldBlock }

// writeAll writes bufs with few Writes: small slices are gathered into a
// pooled buffer (up to flatPiece), large ones go as they are.
func (w *streamWriter) writeAll(bufs [][]byte) (int, error) {
	if now := time.Now(); now.Sub(w.lastDeadline) > time.Second {
		w.conn.SetWriteDeadline(now.Add(w.timeout))
		w.lastDeadline = now
	}
	fp := flatPool.Get().(*[]byte)
	defer flatPool.Put(fp)
	flat, done := (*fp)[:0], 0
	defer func() { *fp = flat[:0] }()
	for _, b := range bufs {
		if len(flat) > 0 && len(flat)+len(b) > flatPiece {
			n, err := w.conn.Write(flat)
			if done += n; err != nil {
				return done, err
			}
			flat = flat[:0]
		}
		if len(b) < flatPiece {
			flat = append(flat, b...)
		} else if n, err := w.conn.Write(b); err != nil {
			return done + n, err
		} else {
			done += n
		}
	}
	if len(flat) == 0 {
		return done, nil
	}
	n, err := w.conn.Write(flat)
	return done + n, err
}

// responseWriter is the writer of a player on an HTTP/2 stream: the
// response body through the ResponseWriter (whose own buffer gathers
// small slices into DATA frames, RFC 9113 section 6.1), flushed once per
// batch (http.Flusher, through the ResponseController), under a write
// deadline renewed at most once a second. The connection under it
// carries other streams too, so it counts its bytes itself.
type responseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	timeout      time.Duration
	lastDeadline time.Time
	sent         *atomic.Uint64 // the session's count
	hub          *Hub
}

func newResponseWriter(w http.ResponseWriter, timeout time.Duration, sent *atomic.Uint64, h *Hub) *responseWriter {
	return &responseWriter{w: w, rc: http.NewResponseController(w), timeout: timeout, sent: sent, hub: h}
}

// Write writes and flushes b (playerConn).
func (w *responseWriter) Write(b []byte) (int, error) { return w.writeAll([][]byte{b}) }

// SetWriteDeadline bounds the stream's writes (playerConn).
func (w *responseWriter) SetWriteDeadline(t time.Time) error { return w.rc.SetWriteDeadline(t) }

// tryWrite takes nothing: a stream's Write may wait for flow control.
func (w *responseWriter) tryWrite([][]byte) (int, error) { return 0, errWouldBlock }

// writeAll writes bufs, then flushes them to the client.
func (w *responseWriter) writeAll(bufs [][]byte) (int, error) {
	if now := time.Now(); now.Sub(w.lastDeadline) > time.Second {
		w.rc.SetWriteDeadline(now.Add(w.timeout))
		w.lastDeadline = now
	}
	done := 0
	defer func() { countOut(w.sent, w.hub, done) }()
	for _, b := range bufs {
		n, err := w.w.Write(b)
		if done += n; err != nil {
			return done, err
		}
	}
	return done, w.rc.Flush()
}

// flatPiece bounds the buffer small slices are gathered into.
const flatPiece = 32 << 10

// flatPool holds the gathering buffers: a player holds one only while it
// writes.
var flatPool = sync.Pool{New: func() any { return new([]byte) }}

// writeLock serialises the writers of one connection: the player and its
// session's own messages. A non-blocking write of the fan-out that stops
// in the middle of a message leaves the rest here (leave); whoever takes
// the lock next finishes it first, so nothing comes between the two parts
// of a message, and the lock is never held by one goroutine on behalf of
// another.
type writeLock struct {
	mu   sync.Mutex
	rest [][]byte       // the unsent end of a message
	w    frameWriter    // its writer
	sent *atomic.Uint64 // where its bytes are counted
	hub  *Hub
	err  error // finishing a rest failed: every later lock fails
}

// Lock takes the connection for a session's own message (sync.Locker).
// If finishing a rest fails, the connection is broken for every writer;
// the session's write then fails on its own.
func (l *writeLock) Lock() { l.lock() }

// Unlock releases the connection.
func (l *writeLock) Unlock() { l.mu.Unlock() }

// lock takes the connection and finishes a rest left there.
func (l *writeLock) lock() error {
	l.mu.Lock()
	if len(l.rest) > 0 {
		n, err := l.w.writeAll(l.rest)
		countOut(l.sent, l.hub, n)
		clear(l.rest)
		l.rest = l.rest[:0]
		if err != nil && l.err == nil {
			l.err = err
		}
	}
	return l.err
}

// tryLock takes the connection if it is free and has no rest to finish.
func (l *writeLock) tryLock() bool {
	if !l.mu.TryLock() {
		return false
	}
	if len(l.rest) > 0 || l.err != nil {
		l.mu.Unlock()
		return false
	}
	return true
}

// leave keeps bufs (copied into the lock's own list) as the rest of a
// message, written with w. The lock is held.
func (l *writeLock) leave(bufs [][]byte, w frameWriter, sent *atomic.Uint64, h *Hub) {
	l.rest = append(l.rest[:0], bufs...)
	l.w, l.sent, l.hub = w, sent, h
}

// countOut counts n bytes written past the connection's own Write in the
// player's count and the hub's total.
func countOut(sent *atomic.Uint64, h *Hub, n int) {
	if n > 0 {
		sent.Add(uint64(n))
		h.outBytes.Add(uint64(n))
	}
}
