// Graceful shutdown (SIGTERM, SIGINT): the server stops accepting, ends
// every publication as if its publisher had left, so that each player is
// told the way its protocol tells the end of a stream (RTMP: StreamEOF
// and NetStream.Play.UnpublishNotify, RTMP 1.0 section 7.1.7; HTTP-FLV:
// the close-delimited body ends, RFC 9112 section 6.3; WebSocket: a close
// frame with 1001 "going away", RFC 6455 section 7.4.1), lets recordings
// complete their files and the on_done hooks go out, then exits, all
// within -shutdown-timeout; what is not done by then is closed at once.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"
)

// closeWait bounds how long a player that was told the end waits for its
// client to close the connection before the server closes it.
const closeWait = 2 * time.Second

// Shutdown drains the server: it stops accepting, closes publishers and
// connections that do not play (each publication ends, and its players
// are told and end: Hub.drain), halts relays and recordings (their files
// completed), waits for every connection's goroutines, then for the
// queued on_done hooks. When ctx ends first it closes what is left at
// once and returns ctx's error. Either way the server is closed on return.
func (s *Server) Shutdown(ctx context.Context) error {
	s.conns.stopAccepting()
	s.closeListeners()
	s.hub.drain()
	s.conns.stopBackground()
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.shutdownHTTP(ctx) }()
	err := waitCtx(ctx, s.conns.wait)
	if herr := <-httpDone; err == nil {
		err = herr
	}
	if err == nil {
		err = s.auth.flush(ctx)
	}
	s.Close()
	return err
}

// shutdownHTTP waits for the HTTP requests in progress (the API); FLV
// players are hijacked connections, which end with their publication.
// The listeners are closed already (closeListeners): net/http closing
// one again is no failure of the drain.
func (s *Server) shutdownHTTP(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if herr := s.https.Shutdown(ctx); err == nil {
		err = herr
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// waitCtx runs wait and returns when it does, or with ctx's error when
// ctx ends first (wait then goes on in the background).
func waitCtx(ctx context.Context, wait func()) error {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endGracefully ends the server's half of a connection (a FIN after what
// was written) and leaves the connection's reader at most wait to see the
// client close its half; the reader then closes the connection. Closing
// a socket that still has unread input would make the kernel send a
// reset, which can destroy the last bytes before the client reads them.
func endGracefully(conn net.Conn, wait time.Duration) {
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Now().Add(wait))
}

// drainOnSignal shuts srv down after the first SIGTERM/SIGINT and returns
// the exit status: 0 once it is closed, gracefully or, past the timeout
// (or at a second signal), at once. The drain gets the timeout less a
// margin for the closing at once; 1 if even that hangs.
func drainOnSignal(srv *Server, timeout time.Duration, sig <-chan os.Signal, log *slog.Logger) int {
	if timeout <= 0 {
		srv.Close()
		return 0
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout-min(timeout/10, time.Second))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	hard := time.NewTimer(timeout)
	defer hard.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				log.Warn("shutdown: drain cut short, the rest closed at once", "err", err, "took", time.Since(start))
			} else {
				log.Info("shut down", "took", time.Since(start))
			}
			return 0
		case s := <-sig:
			log.Warn("shutdown: second signal, closing at once", "signal", s.String())
			cancel()
		case <-hard.C:
			log.Error("shutdown: not closed within the timeout", "timeout", timeout)
			return 1
		}
	}
}
