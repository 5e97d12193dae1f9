// Socket byte counting: every accepted socket is a countingConn, so the
// byte counts the stats API shows (inBytes/outBytes) are exact: all the
// bytes of the connection, handshake, HTTP request and response head and
// TLS records included. A connection's bytes join the hub's network
// totals when it becomes a session (API requests do not count).
package main

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// countingConn counts every byte read from and written to one accepted
// socket. Once the connection is a session (attach), its bytes also count
// in the hub's network totals.
type countingConn struct {
	net.Conn
	in, out atomic.Uint64

	mu  sync.Mutex
	hub *Hub // set by attach
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.count(int64(n), true)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.count(int64(n), false)
	return n, err
}

func (c *countingConn) count(n int64, in bool) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in {
		c.in.Add(uint64(n))
	} else {
		c.out.Add(uint64(n))
	}
	if c.hub != nil {
		if in {
			c.hub.inBytes.Add(uint64(n))
		} else {
			c.hub.outBytes.Add(uint64(n))
		}
	}
}

// CloseWrite half-closes the socket (a *net.TCPConn's method, which
// callers of the unwrapped connection use, e.g. wsLinger).
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// NetConn returns the socket itself, for socket options (as
// tls.Conn.NetConn does); bytes written on it directly are not counted.
func (c *countingConn) NetConn() net.Conn { return c.Conn }

// plainSocket says that bytes written to the connection under the counter
// reach the peer unchanged; a player writing there directly counts them
// itself (writer.go, socketUnder).
func (c *countingConn) plainSocket() net.Conn { return c.Conn }

// attach makes the connection's bytes, those so far included, count in
// h's totals.
func (c *countingConn) attach(h *Hub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hub != nil {
		return
	}
	c.hub = h
	h.inBytes.Add(c.in.Load())
	h.outBytes.Add(c.out.Load())
}

// countingOf finds the countingConn under c (through TLS), or nil.
func countingOf(c net.Conn) *countingConn {
	for c != nil {
		switch v := c.(type) {
		case *countingConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: withRawReads(c)}, nil
}

// listenCounted listens on addr and counts every accepted socket's bytes
// (below TLS when tc is set, so that the counts are the socket's).
func listenCounted(addr string, tc *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var l net.Listener = countingListener{ln}
	if tc != nil {
		l = tls.NewListener(l, tc)
	}
	return l, nil
}

// bytesIn and bytesOut are the session's socket bytes.
func (s *sessionInfo) bytesIn() uint64 {
	if s.conn != nil {
		return s.conn.in.Load()
	}
	return s.inBytes.Load()
}

// bytesOut is every byte written to the session's socket: its counter,
// plus what its live player wrote past the connection's Write (the player
// is read first: one that ends meanwhile adds its count to the counter
// before it lets go, so nothing is missed).
func (s *sessionInfo) bytesOut() uint64 {
	var n uint64
	if p := s.playerOut.Load(); p != nil {
		n = p.Load()
	}
	return n + s.outCounter().Load()
}

// outCounter is the session's counter of bytes out.
func (s *sessionInfo) outCounter() *atomic.Uint64 {
	if s.conn != nil {
		return &s.conn.out
	}
	return &s.outBytes
}
