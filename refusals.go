// Operator logs of refused publishes and plays.
//
// Every refusal (bad name, busy stream, signed URL, hook, connection
// limit) is logged at info with its reason and the client's address, so
// that "why can my encoder not publish" is answered by the default log.
// A client that retries in a loop (OBS reconnects every few seconds,
// players every second) would flood it: per address and reason at most
// one line per refusalWindow, the next one saying how many were left out.
package main

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// refusalWindow is the least time between two lines of one address and
// reason.
const refusalWindow = 5 * time.Second

// maxRefusalKeys bounds the addresses remembered; past it, those whose
// window is over are forgotten (their left-out count with them).
const maxRefusalKeys = 4096

// refusalLog logs refusals, rate-limited. A nil one logs nothing.
type refusalLog struct {
	log *slog.Logger

	mu   sync.Mutex
	seen map[refusalKey]*refusalCount
}

func newRefusalLog(log *slog.Logger) *refusalLog { return &refusalLog{log: log} }

// Reasons of connections refused by a limit.
var (
	errMaxConns      = errors.New("max-conns")
	errMaxConnsPerIP = errors.New("max-conns-per-ip")
)

type refusalKey struct{ addr, reason string }

type refusalCount struct {
	logged     time.Time // when the last line was written
	suppressed int       // refusals since then that were not logged
}

// admit reports whether a refusal of addr for reason is logged now, and
// how many of the same were left out since the last line.
func (l *refusalLog) admit(addr, reason string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := refusalKey{addr, reason}
	c := l.seen[k]
	if c != nil && now.Sub(c.logged) < refusalWindow {
		c.suppressed++
		return false, 0
	}
	if c == nil {
		l.forgetOld(now)
		c = &refusalCount{}
		l.seen[k] = c
	}
	n := c.suppressed
	c.logged, c.suppressed = now, 0
	return true, n
}

// forgetOld makes room for a new address. l.mu held.
func (l *refusalLog) forgetOld(now time.Time) {
	if l.seen == nil {
		l.seen = make(map[refusalKey]*refusalCount)
	}
	if len(l.seen) < maxRefusalKeys {
		return
	}
	for k, c := range l.seen {
		if now.Sub(c.logged) >= refusalWindow {
			delete(l.seen, k)
		}
	}
}

// note logs a refused action ("publish", "play", "connection") of the
// client at remote (host:port), rate-limited per host and reason.
func (l *refusalLog) note(action, reason, remote, stream string, err error) {
	if l == nil {
		return
	}
	host, _, splitErr := net.SplitHostPort(remote)
	if splitErr != nil {
		host = remote
	}
	ok, left := l.admit(host, action+" "+reason, time.Now())
	if !ok {
		return
	}
	args := []any{"reason", reason, "remote", remote}
	if stream != "" {
		args = append(args, "stream", stream)
	}
	if err != nil {
		args = append(args, "err", err.Error())
	}
	if left > 0 {
		args = append(args, "suppressed", left)
	}
	l.log.Info(action+" refused", args...)
}

// refusalReason names the reason of an authorization or publish error.
func refusalReason(err error) string {
	var ae *AuthError
	switch {
	case errors.Is(err, ErrStreamBusy):
		return "busy"
	case errors.Is(err, ErrHookDenied):
		return "hook"
	case errors.As(err, &ae):
		return "auth"
	}
	return "refused"
}
