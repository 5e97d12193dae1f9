// The idle timeout of a reading connection (-idle-timeout): "closed after
// D without a byte", to the millisecond, for any D, without touching the
// socket's deadline on every read. No wire format here; the deadlines are
// net.Conn's (SetReadDeadline), served by the runtime's poller.
package main

import (
	"errors"
	"net"
	"os"
	"time"
)

// idleReader reads a connection whose read deadline it alone sets: an
// idle limit (no byte for idle fails the read) and an optional hard
// limit (the handshake must be over by then).
//
// Moving the deadline on every read would cost a lock and a timer update
// per read; moving it once a second cuts a connection that is sending
// when the limit is about a second. So the deadline is armed once, and
// when it fires the reader compares the time of the last byte with the
// limit: if a byte came since, it re-arms the deadline for what is left
// and reads on, the caller never seeing the timeout. A busy connection
// pays one spurious wake-up per idle period; a silent one fails its read
// idle after its last byte.
type idleReader struct {
	conn  net.Conn
	idle  time.Duration // no byte for this long fails the read; 0: no limit
	until time.Time     // the read fails from this instant on; zero: none
	last  time.Time     // when the last byte arrived (or idle was set)
}

// Read reads from the connection, hiding the deadline's firings that are
// not due yet.
func (r *idleReader) Read(p []byte) (int, error) {
	for {
		n, err := r.conn.Read(p)
		if n > 0 && r.idle > 0 {
			r.last = time.Now()
		}
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		due, ok := r.deadline()
		if !ok || !time.Now().Before(due) {
			return 0, err
		}
		r.conn.SetReadDeadline(due)
	}
}

// deadline is when a read fails: the earlier of the idle limit and the
// hard limit; false when there is none.
func (r *idleReader) deadline() (time.Time, bool) {
	var due time.Time
	if r.idle > 0 {
		due = r.last.Add(r.idle)
	}
	if !r.until.IsZero() && (due.IsZero() || r.until.Before(due)) {
		due = r.until
	}
	return due, !due.IsZero()
}

// setIdle sets the idle limit (0: none), counting from now.
func (r *idleReader) setIdle(d time.Duration) {
	r.idle, r.last = d, time.Now()
	r.arm()
}

// limit is the idle limit (0: none).
func (r *idleReader) limit() time.Duration { return r.idle }

// setUntil sets the hard limit (zero: none).
func (r *idleReader) setUntil(t time.Time) {
	r.until = t
	r.arm()
}

// arm puts the deadline on the socket (none when there is no limit).
func (r *idleReader) arm() {
	due, _ := r.deadline()
	r.conn.SetReadDeadline(due)
}
