// HTTP-FLV and WebSocket-FLV players, and the HTTP routing around them.
//
// GET /{app}/{name}.flv answers with a live FLV file (Adobe FLV 10.1,
// Annex E: the header of E.2, then tags each followed by PreviousTagSize as
// in E.3) that never ends while the publisher is live. The same URL with
// "Upgrade: websocket" (RFC 6455 section 4) carries the very same bytes as
// binary messages: the FLV header in one, then one message per tag.
//
// Both are hub players (hub.go): they read the publication's GOP ring and
// write the FLV bytes built once per frame (Frame.flv, Frame.wsHdr). The
// response is written on the hijacked TCP connection, close-delimited
// (RFC 9112 section 6.3), so a batch of tags leaves in one writev.
package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// httpHandler routes the HTTP port: API and pages (stats.go), then FLV.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	s.registerStats(mux)
	mux.HandleFunc("/", s.serveFLVRoute)
	return mux
}

// flvPath parses "/{app}/{name}.flv" into app and name.
func flvPath(p string) (app, name string, ok bool) {
	rest, found := strings.CutPrefix(p, "/")
	if !found {
		return "", "", false
	}
	app, file, found := strings.Cut(rest, "/")
	if !found {
		return "", "", false
	}
	name, found = strings.CutSuffix(file, ".flv")
	if !found || !validName(app) || !validName(name) {
		return "", "", false
	}
	return app, name, true
}

// setCORS allows any origin, as NMS does: players are usually pages on
// another origin.
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Type")
}

func (s *Server) serveFLVRoute(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		s.serveStatusPage(w, r)
		return
	}
	setCORS(w.Header())
	app, name, ok := flvPath(r.URL.Path)
	if !ok {
		s.log.Info("http: bad path", "path", truncate(r.URL.Path, 80), "remote", r.RemoteAddr)
		http.Error(w, "not found: expected /{app}/{name}.flv", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	case http.MethodHead:
		w.Header().Set("Content-Type", "video/x-flv")
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		s.serveFLVPlayer(w, r, app, name)
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// serveFLVPlayer authorizes the player, then hands the connection to an
// HTTP-FLV or WS-FLV player.
func (s *Server) serveFLVPlayer(w http.ResponseWriter, r *http.Request, app, name string) {
	proto := "flv"
	if isWSUpgrade(r) {
		proto = "ws"
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	req := authRequest{Action: "play", Protocol: proto, App: app, Name: name, Query: r.URL.RawQuery, ClientIP: host}
	if err := s.authorize(req); err != nil {
		s.log.Info("http: play refused", "stream", streamPath(app, name), "reason", err, "remote", r.RemoteAddr)
		http.Error(w, "forbidden", authStatus(err))
		return
	}
	if !s.beginHijacked() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	hijack, play := s.hijackHTTPPlayer, s.playHTTP
	if proto == "ws" {
		hijack, play = s.hijackWSPlayer, s.playWS
	}
	conn, br, ok := hijack(w, r)
	if !ok {
		s.wg.Done()
		s.sessionDone(req)
		return
	}
	// The handler returns now and net/http's goroutine, its write buffers
	// and the request go with it: a player holds only its connection, the
	// read buffer (it may hold bytes already sent) and goroutines of its own.
	go func() {
		defer s.wg.Done()
		defer s.sessionDone(req)
		defer s.untrack(conn)
		defer conn.Close()
		conn.SetDeadline(time.Time{})
		play(conn, br, app, name)
	}()
}

// beginHijacked counts a handler that will outlive http.Server's own
// tracking (hijacked connections), so that Close waits for it.
func (s *Server) beginHijacked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// flvResponseHeader is the HTTP-FLV response head: no length (the body
// ends when the stream does), no caching, CORS.
const flvResponseHeader = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: video/x-flv\r\n" +
	"Cache-Control: no-cache, no-store\r\n" +
	"Pragma: no-cache\r\n" +
	"Expires: -1\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"Access-Control-Expose-Headers: Content-Length, Content-Type\r\n" +
	"Connection: close\r\n" +
	"\r\n"

// hijackHTTPPlayer takes the connection and sends the response head.
func (s *Server) hijackHTTPPlayer(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, bool) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.log.Warn("http: hijack", "err", err)
		return nil, nil, false
	}
	conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, flvResponseHeader); err != nil {
		s.untrack(conn)
		conn.Close()
		return nil, nil, false
	}
	return conn, brw.Reader, true
}

func (s *Server) playHTTP(conn net.Conn, br *bufio.Reader, app, name string) {
	var wmu sync.Mutex
	s.runFLVPlayer(conn, br, protoFLV, &wmu, app, name, func(p *player) {
		// the client sends nothing after its request: a read that ends
		// means it went away
		discardUntilError(br)
		p.stop()
	})
}

func (s *Server) hijackWSPlayer(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, bool) {
	conn, br, err := wsUpgrade(w, r)
	if err != nil {
		s.log.Info("ws: upgrade refused", "err", err, "remote", r.RemoteAddr)
		return nil, nil, false
	}
	return conn, br, true
}

func (s *Server) playWS(conn net.Conn, br *bufio.Reader, app, name string) {
	ws := &wsSender{conn: conn, timeout: s.cfg.WriteTimeout.Duration}
	readerDone := make(chan struct{})
	s.runFLVPlayer(conn, br, protoWS, &ws.mu, app, name, func(p *player) {
		defer close(readerDone)
		if err := wsServeReads(br, ws.send, 64<<10); err != nil {
			s.log.Debug("ws: read side ended", "err", err)
		}
		p.stop()
	})
	// The stream ended (or the player stopped): close handshake, 1000.
	ws.send(WSClose, appendWSCloseBody(nil, CloseNormal, "stream ended"))
	select {
	case <-readerDone:
	case <-time.After(2 * time.Second):
	}
}

// wsSender writes control frames of the read side under the same lock as
// the player's media; after a close frame nothing more is sent.
type wsSender struct {
	mu        sync.Mutex
	conn      net.Conn
	timeout   time.Duration
	closeSent bool
}

func (ws *wsSender) send(op WSOpcode, payload []byte) error {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closeSent {
		return nil
	}
	ws.closeSent = op == WSClose
	ws.conn.SetWriteDeadline(time.Now().Add(ws.timeout))
	_, err := ws.conn.Write(appendWSFrame(nil, op, payload))
	return err
}

// runFLVPlayer runs an HTTP-FLV or WS-FLV player until the publication
// ends or the client leaves. watch is the read side, run in its own
// goroutine; it must stop the player when the client goes away.
func (s *Server) runFLVPlayer(conn net.Conn, br *bufio.Reader, proto wireProto, wmu *sync.Mutex,
	app, name string, watch func(*player)) {
	sess := s.hub.newSession(proto.String(), conn, func() { conn.Close() })
	defer s.hub.endSession(sess)
	sess.setStream(app, name, false)
	p := newPlayer(s.hub, sess, proto, conn, wmu)
	p.startFn = flvStart(p)
	stream := s.addPlayer(app, name, p)
	defer stream.removePlayer(p)
	done := make(chan struct{})
	go func() { defer close(done); watch(p) }()
	log := s.log.With("session", sess.ID, "stream", stream.Path, "remote", sess.RemoteAddr)
	log.Info("play", "protocol", proto.String())
	err := p.run(s.cfg.PlayWait.Duration)
	p.stop()
	if err != nil && !errors.Is(err, ErrPlayerClosed) {
		log.Info("player ended", "reason", err)
	}
	if proto == protoFLV {
		conn.Close() // ends the reader
	}
	<-done
}

// discardUntilError reads and drops bytes until the read fails. Unlike
// io.Copy to io.Discard it holds no 8 KB buffer while it waits: the
// reader's own buffer is enough.
func discardUntilError(br *bufio.Reader) {
	for {
		if _, err := br.Discard(max(br.Buffered(), 1)); err != nil {
			return
		}
	}
}

// flvStart writes the FLV file header once, with the audio and video
// flags of what the publication really carries (E.2: TypeFlagsAudio,
// TypeFlagsVideo), so that flv.js and mpegts.js set up the right decoders.
func flvStart(p *player) func(*headerSet, bool) error {
	return func(h *headerSet, republish bool) error {
		if republish {
			return nil
		}
		hdr := AppendFLVHeader(nil, h.hasAudio, h.hasVideo)
		var bufs [][]byte
		if p.proto == protoWS {
			bufs = append(bufs, appendWSHeader(nil, true, WSBinary, len(hdr)))
		}
		return p.writeBufs(append(bufs, hdr))
	}
}

// authStatus maps an authorization error to an HTTP status.
func authStatus(err error) int {
	var ae *AuthError
	if errors.As(err, &ae) && ae.Status != 0 {
		return ae.Status
	}
	return http.StatusForbidden
}
