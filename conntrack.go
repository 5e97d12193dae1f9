// Connection tracking: the accept loops, the connection limits, and the
// bookkeeping that lets the server close every connection and wait for
// every goroutine, as net/http's server does.
//
// An accepted connection is tracked (track) before its goroutine starts
// and untracked when it ends; an HTTP connection is tracked through
// http.Server.ConnState, a hijacked one (HTTP-FLV, WebSocket) until its
// player ends. A connection whose reading side parks (readypoll_linux.go)
// stays tracked while no goroutine serves it (resume). Goroutines that
// outlive the accept loops' bookkeeping (a hijacked player, a relay, a
// recorder) are counted with begin/end, so that shutdown waits for them
// too.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// connTracker owns the live connections and the goroutines serving them.
type connTracker struct {
	maxConns, maxPerIP int // 0: no limit
	log                *slog.Logger
	refuse             *refusalLog // connections refused by a limit

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	perIP   map[string]int
	closing bool
	wg      sync.WaitGroup
	stop    context.Context // ended by stopBackground: background loops end
	stopNow context.CancelFunc
}

func newConnTracker(cfg *Config, log *slog.Logger, refuse *refusalLog) *connTracker {
	t := &connTracker{maxConns: cfg.MaxConns, maxPerIP: cfg.MaxConnsPerIP, log: log, refuse: refuse,
		conns: make(map[net.Conn]struct{}), perIP: make(map[string]int)}
	t.stop, t.stopNow = context.WithCancel(context.Background())
	return t
}

// stopping is closed when the server starts to shut down.
func (t *connTracker) stopping() <-chan struct{} { return t.stop.Done() }

// afterStop runs f in a goroutine of its own when the server starts to
// shut down (no goroutine waits until then); the returned func cancels.
func (t *connTracker) afterStop(f func()) (cancel func() bool) { return context.AfterFunc(t.stop, f) }

// accept accepts until the listener closes, backing off on temporary
// errors (too many open files) as net/http does, and serves each
// connection with handle in a goroutine of its own (see resume for a
// handle that returns true).
func (t *connTracker) accept(ln net.Listener, handle func(net.Conn) bool) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("accept", "err", err, "retry", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !t.track(c) {
			c.Close()
			continue
		}
		t.wg.Add(1)
		go t.resume(c, func() bool { return handle(c) })
	}
}

// resume runs a stretch of one connection's serving: all of it, or until
// its reading side parks (serve returns true: readypoll_linux.go), when
// the connection stays open and tracked and a later stretch goes on in
// another goroutine through resume. A panic there closes only this
// connection (the last line of defence: parsers must not panic).
func (t *connTracker) resume(c net.Conn, serve func() bool) {
	parked := false
	defer func() {
		if !parked {
			c.Close()
			t.untrack(c)
			t.wg.Done()
		}
	}()
	defer func() {
		if v := recover(); v != nil {
			t.log.Error("panic in connection", "remote", c.RemoteAddr().String(), "panic", v, "stack", string(debug.Stack()))
		}
	}()
	parked = serve()
}

// recover is deferred by a connection's other goroutines (an RTMP
// player's writer, an HTTP player's read watcher): a panic there, too,
// closes only that connection.
func (t *connTracker) recover(c net.Conn) {
	if v := recover(); v != nil {
		t.panicked(c.RemoteAddr().String(), v)
		c.Close()
	}
}

// recoverThen is recover for a goroutine that must run end when it
// fails (a hijacked player's setup).
func (t *connTracker) recoverThen(c net.Conn, end func()) {
	if v := recover(); v != nil {
		t.panicked(c.RemoteAddr().String(), v)
		c.Close()
		end()
	}
}

// recoverSession is recover for a player's read-side goroutine, whose
// connection may be an HTTP/2 stream (not a connection of its own): a
// panic there runs stop, which ends the player and so its connection
// or stream.
func (t *connTracker) recoverSession(remote string, stop func()) {
	if v := recover(); v != nil {
		t.panicked(remote, v)
		stop()
	}
}

// panicked logs a panic recovered in one of a session's goroutines.
func (t *connTracker) panicked(remote string, v any) {
	t.log.Error("panic in session", "remote", remote, "panic", v, "stack", string(debug.Stack()))
}

// track registers a connection, enforcing the connection limits.
func (t *connTracker) track(c net.Conn) bool {
	ip := remoteIP(c)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closing:
		return false
	case t.maxConns > 0 && len(t.conns) >= t.maxConns:
		t.refuse.note("connection", "limit", c.RemoteAddr().String(), "", errMaxConns)
		return false
	case t.maxPerIP > 0 && t.perIP[ip] >= t.maxPerIP:
		t.refuse.note("connection", "limit", c.RemoteAddr().String(), "", errMaxConnsPerIP)
		return false
	}
	t.conns[c] = struct{}{}
	t.perIP[ip]++
	return true
}

func (t *connTracker) untrack(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.conns[c]; !ok {
		return
	}
	delete(t.conns, c)
	ip := remoteIP(c)
	if t.perIP[ip]--; t.perIP[ip] <= 0 {
		delete(t.perIP, ip)
	}
}

// count is the number of live connections.
func (t *connTracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// httpConnState tracks HTTP connections like RTMP ones. A hijacked
// connection (HTTP-FLV, WebSocket) stays tracked until its handler
// untracks it.
func (t *connTracker) httpConnState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		if !t.track(c) {
			c.Close()
		}
	case http.StateClosed:
		t.untrack(c)
	}
}

// begin counts a goroutine that outlives the connection tracking of the
// accept loops (a hijacked HTTP handler, a relay, a recorder), so that
// shutdown waits for it; false once the server is closing. The goroutine
// calls end when it returns.
func (t *connTracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *connTracker) end() { t.wg.Done() }

// spawn runs f in a goroutine that shutdown waits for (the accept loops,
// the HTTP servers, the stats sampler).
func (t *connTracker) spawn(f func()) {
	t.wg.Add(1)
	go func() { defer t.wg.Done(); f() }()
}

// stopAccepting makes track and begin refuse from now on; live connections go on
// (a graceful shutdown's first step).
func (t *connTracker) stopAccepting() {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
}

// stopBackground closes stopping: relays, recordings and the sampler end.
func (t *connTracker) stopBackground() { t.stopNow() }

// shutdown refuses new connections, closes stopping and every live
// connection; wait then waits for their goroutines.
func (t *connTracker) shutdown() {
	t.stopBackground()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = true
	for c := range t.conns {
		c.Close()
	}
}

func (t *connTracker) wait() { t.wg.Wait() }
