// HTTP-FLV and WebSocket-FLV players, and the HTTP routing around them.
//
// GET /{app}/{name}.flv answers with a live FLV file (Adobe FLV 10.1,
// Annex E: the header of E.2, then tags each followed by PreviousTagSize as
// in E.3) that never ends while the publisher is live. The same URL with
// "Upgrade: websocket" (RFC 6455 section 4) carries the very same bytes as
// binary messages: the FLV header in one, then one message per tag.
//
// GET /{app}/{name}.mp4 answers with a live fragmented MP4 (ISO/IEC
// 14496-12: the init segment, then one moof+mdat per frame, fmp4.go) that
// a plain <video src> plays; it ends when the publication ends or its
// codecs change (a progressive file cannot change its moov).
//
// All are hub players (hub.go): they read the publication's GOP ring and
// write the bytes built once per frame (Frame.appendWire). Over HTTP/1.x
// the response is written on the hijacked TCP connection, close-delimited
// (RFC 9112 section 6.3), so a batch of tags leaves in one gathered write.
// An HTTP/2 stream (RFC 9113; -https negotiates it with ALPN) cannot be
// hijacked: there the body goes through the ResponseWriter, flushed after
// every batch (responseWriter, writer.go), and ends with the stream.
package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpHandler routes the HTTP port: API and pages (api.go), then FLV.
// A WebSocket upgrade is only ever answered on an FLV path: an upgrade to
// "/" or to the API is refused before any page sees it (NMS 4.4.3 crashes
// on an upgrade to "/").
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	s.api.register(mux)
	mux.HandleFunc("/", s.serveFLVRoute)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWSUpgrade(r) {
			if _, _, ok := flvPath(r.URL.Path); !ok {
				s.log.Info("ws: upgrade to a bad path", "path", truncate(r.URL.Path, 80), "remote", r.RemoteAddr)
				http.Error(w, "not found: expected /{app}/{name}.flv", http.StatusNotFound)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// flvPath parses "/{app}/{name}.flv" into app and name.
func flvPath(p string) (app, name string, ok bool) { return mediaPath(p, ".flv") }

// mediaPath parses "/{app}/{name}{ext}" into app and name.
func mediaPath(p, ext string) (app, name string, ok bool) {
	rest, found := strings.CutPrefix(p, "/")
	if !found {
		return "", "", false
	}
	app, file, found := strings.Cut(rest, "/")
	if !found {
		return "", "", false
	}
	name, found = strings.CutSuffix(file, ext)
	if !found || !validName(app) || !validName(name) {
		return "", "", false
	}
	return app, name, true
}

// setCORS allows any origin, as NMS does: players are usually pages on
// another origin (Fetch standard, section 3.2 "CORS protocol").
func setCORS(h http.Header) {
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	h["Access-Control-Expose-Headers"] = hdrExposed
}

// The CORS values, shared by every response (net/http only reads them).
var (
	hdrAnyOrigin = []string{"*"}
	hdrExposed   = []string{"Content-Length, Content-Type"}
)

// setPreflight answers a CORS preflight: the methods an FLV URL serves,
// and the request headers the page asked for (echoed, since "*" is not
// understood by every browser still in use), cached for a day.
func setPreflight(h http.Header, r *http.Request) {
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	allow := "*"
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		allow = asked
	}
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Max-Age", "86400")
}

// setNoCache keeps a live stream out of every cache (RFC 9111 section
// 5.2.2.5, and the HTTP/1.0 forms).
func setNoCache(h http.Header) {
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
}

func (s *Server) serveFLVRoute(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		s.api.statusPage(w, r)
		return
	}
	if s.hls.route(w, r) {
		return
	}
	setCORS(w.Header())
	proto, contentType := "flv", "video/x-flv"
	app, name, ok := flvPath(r.URL.Path)
	if !ok && !isWSUpgrade(r) {
		proto, contentType = "mp4", "video/mp4"
		app, name, ok = mediaPath(r.URL.Path, ".mp4")
	}
	if !ok {
		s.log.Info("http: bad path", "path", truncate(r.URL.Path, 80), "remote", r.RemoteAddr)
		http.Error(w, "not found: expected /{app}/{name}.flv or .mp4", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		setPreflight(w.Header(), r)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodHead: // the GET's headers; no player, no body
		w.Header().Set("Content-Type", contentType)
		setNoCache(w.Header())
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		if proto == "flv" && isWSUpgrade(r) {
			proto = "ws"
		}
		s.serveFLVPlayer(w, r, proto, app, name)
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// serveFLVPlayer authorizes the player, then hands the connection to an
// HTTP-FLV, WS-FLV or MP4 player (proto "flv", "ws", "mp4").
func (s *Server) serveFLVPlayer(w http.ResponseWriter, r *http.Request, proto, app, name string) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	id := s.hub.sessionID(proto)
	req := authRequest{Action: "play", Protocol: proto, App: app, Name: name, Query: r.URL.RawQuery, ClientIP: host, ID: id}
	if err := s.auth.authorize(req); err != nil {
		s.refuse.note("play", refusalReason(err), r.RemoteAddr, streamPath(app, name), err)
		http.Error(w, "forbidden", authStatus(err))
		return
	}
	if !s.conns.begin() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if r.ProtoMajor == 2 { // no WebSocket here: extended CONNECT is not offered
		defer s.conns.end()
		defer s.auth.done(req)
		s.playOnStream(w, r, proto, flvTarget{id, app, name})
		return
	}
	hijack, play := s.hijackHTTPPlayer, s.playHTTP
	switch proto {
	case "ws":
		hijack, play = s.hijackWSPlayer, s.playWS
	case "mp4":
		hijack, play = s.hijackMP4Player, s.playMP4
	}
	conn, br, ok := hijack(w, r)
	if !ok {
		s.conns.end()
		s.auth.done(req)
		return
	}
	// The handler returns now and net/http's goroutine, its buffers, its
	// connection state and the request go with it: a player holds only its
	// connection, a small reader of its own and, while it waits or reads,
	// a goroutine (none while its socket is parked: readypoll_linux.go).
	end := sync.OnceFunc(func() {
		conn.Close()
		s.conns.untrack(conn)
		s.auth.done(req)
		s.conns.end()
	})
	go func() {
		defer s.conns.recoverThen(conn, end)
		conn.SetDeadline(time.Time{})
		play(conn, br, flvTarget{id, app, name}, end)
	}()
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
// The player reads the connection itself, only to see the client go:
// whatever net/http's reader still holds is of no interest, and keeping
// that reader would keep net/http's connection state and 8 KB of its
// buffers alive for as long as the player plays.
func (s *Server) hijackHTTPPlayer(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, bool) {
	return s.hijackWithHead(w, flvResponseHeader)
}

// mp4ResponseHeader is flvResponseHeader for the live MP4 (RFC 4337
// registers video/mp4).
var mp4ResponseHeader = strings.Replace(flvResponseHeader, "video/x-flv", "video/mp4", 1)

func (s *Server) hijackMP4Player(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, bool) {
	return s.hijackWithHead(w, mp4ResponseHeader)
}

// hijackWithHead takes the connection and writes the response head.
func (s *Server) hijackWithHead(w http.ResponseWriter, head string) (net.Conn, io.Reader, bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.log.Warn("http: hijack", "err", err)
		return nil, nil, false
	}
	conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, head); err != nil {
		s.conns.untrack(conn)
		conn.Close()
		return nil, nil, false
	}
	return conn, conn, true
}

// flvTarget is what an HTTP-FLV or WS-FLV player plays, and its session
// id (given before the hooks were asked).
type flvTarget struct{ id, app, name string }

func (s *Server) playHTTP(conn net.Conn, r io.Reader, to flvTarget, done func()) {
	s.playHTTPAs(protoFLV, conn, r, to, done)
}

func (s *Server) playMP4(conn net.Conn, r io.Reader, to flvTarget, done func()) {
	s.playHTTPAs(protoMP4, conn, r, to, done)
}

// playHTTPAs runs an HTTP-FLV or MP4 player on a hijacked connection;
// done runs when it is over.
func (s *Server) playHTTPAs(proto wireProto, conn net.Conn, r io.Reader, to flvTarget, done func()) {
	hp := &httpPlay{to: to, proto: proto, out: conn, lock: new(writeLock), done: done}
	hp.sess = s.hub.newSessionAs(to.id, proto.String(), conn, func() { conn.Close() })
	hp.watch = func(gone func()) { awaitGone(conn, r, gone) }
	// The body is close-delimited: closing the connection ends it, and
	// ends the reader.
	hp.finish = func(error) { conn.Close() }
	s.runFLVPlayer(hp)
}

// awaitGone calls gone once the client of a hijacked HTTP player has
// gone: it sends nothing after its request, so a read that ends means it
// went away. The socket waits parked where it can (readypoll_linux.go:
// no goroutine), else awaitGone reads until the read fails.
func awaitGone(conn net.Conn, r io.Reader, gone func()) {
	g := &goneWatch{conn: conn, gone: gone}
	if r == io.Reader(conn) && parkReads(conn, g.readable) {
		return
	}
	discardUntilError(r)
	gone()
}

// goneWatch is the parked read side of a hijacked HTTP player.
type goneWatch struct {
	conn net.Conn
	gone func()
}

// readable reads what woke the socket: the end (gone), or bytes the
// client should not have sent (dropped; the socket parks again).
func (g *goneWatch) readable() {
	var buf [discardBufSize]byte
	for {
		if _, err := g.conn.Read(buf[:]); err != nil {
			g.gone()
			return
		}
		if parkReads(g.conn, g.readable) {
			return
		}
	}
}

// playOnStream runs an HTTP-FLV or MP4 player on an HTTP/2 stream until
// the player ends (the body then ends with the stream) or the client
// resets the stream or goes (the request's context ends).
func (s *Server) playOnStream(w http.ResponseWriter, r *http.Request, proto string, to flvTarget) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	hp := &httpPlay{to: to, proto: protoFLV, lock: new(writeLock)}
	contentType := "video/x-flv"
	if proto == "mp4" {
		hp.proto, contentType = protoMP4, "video/mp4"
	}
	hp.sess = s.hub.newDetachedSession(to.id, proto, r.RemoteAddr, cancel)
	w.Header().Set("Content-Type", contentType)
	setNoCache(w.Header())
	w.WriteHeader(http.StatusOK)
	out := newResponseWriter(w, s.cfg.WriteTimeout.Duration, hp.sess.outCounter(), s.hub)
	if _, err := out.writeAll(nil); err != nil { // the head now, as the hijacked players do
		s.hub.endSession(hp.sess)
		return
	}
	hp.out = out
	hp.watch = func(gone func()) { <-ctx.Done(); gone() }
	hp.finish = func(error) { cancel() }
	done := make(chan struct{})
	hp.done = func() { close(done) }
	s.runFLVPlayer(hp)
	<-done
}

// wsCloseWait bounds how long a WS player waits for the client's answer
// to its close frame before it closes the TCP connection anyway.
const wsCloseWait = 2 * time.Second

func (s *Server) hijackWSPlayer(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, bool) {
	conn, br, err := wsUpgrade(w, r)
	if err != nil {
		s.log.Info("ws: upgrade refused", "err", err, "remote", r.RemoteAddr)
		return nil, nil, false
	}
	return conn, br, true
}

func (s *Server) playWS(conn net.Conn, br io.Reader, to flvTarget, done func()) {
	ws := &wsSender{conn: conn, timeout: s.cfg.WriteTimeout.Duration}
	readerDone := make(chan struct{})
	wr := &wsWatch{conn: conn, rs: wsReadSide{r: br, send: ws.send, max: wsMaxMessage}, log: s.log}
	watch := func(gone func()) {
		wr.gone = func() { close(readerDone); gone() }
		if !wr.park() {
			wr.read()
		}
	}
	finish := func(err error) {
		// Section 7.1.2: the server starts the close handshake (unless the
		// client already did, or the read side failed the connection:
		// then send is a no-op), waits for the client's close frame, then
		// closes the TCP connection first.
		ws.send(WSClose, appendWSCloseBody(nil, wsEndCode(err), wsEndReason(err)))
		t := time.NewTimer(wsCloseWait)
		defer t.Stop()
		select {
		case <-readerDone:
			wsLinger(conn, br)
		case <-t.C:
		}
		conn.Close()
	}
	hp := &httpPlay{to: to, proto: protoWS, out: conn, lock: &ws.mu, watch: watch, finish: finish, done: done}
	hp.sess = s.hub.newSessionAs(to.id, protoWS.String(), conn, func() { conn.Close() })
	s.runFLVPlayer(hp)
}

// wsWatch is a WS-FLV player's read side (wsReadSide): between frames,
// with nothing buffered, its socket parks (readypoll_linux.go) and its
// goroutine ends; read goes on in a new one when the client sends.
type wsWatch struct {
	conn net.Conn
	rs   wsReadSide
	log  *slog.Logger
	gone func() // the read side ended
}

// park parks the socket if no byte is left in the reader.
func (w *wsWatch) park() bool {
	br, ok := w.rs.r.(*bufio.Reader)
	return ok && br.Buffered() == 0 && parkReads(w.conn, w.read)
}

// read serves the client's frames until it parks again or the read side
// ends.
func (w *wsWatch) read() {
	err := w.rs.serve(w.park)
	if err == errWSPaused {
		return
	}
	if err != nil {
		w.log.Debug("ws: read side ended", "err", err)
	}
	w.gone()
}

// wsLingerBytes bounds what wsLinger reads and throws away.
const wsLingerBytes = 1 << 20

// wsLinger ends the server's half of the TCP connection (FIN after the
// close frame), then reads what the client still sends until it closes
// its half, for at most wsCloseWait and wsLingerBytes. Closing a socket
// with unread input makes the kernel send a reset, which may destroy
// the close frame before the client reads it (a client failed for an
// oversized frame has usually sent more).
func wsLinger(conn net.Conn, br io.Reader) {
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(wsCloseWait))
	io.CopyN(io.Discard, br, wsLingerBytes)
}

// wsMaxMessage is the largest message a WS-FLV client may send (it has
// nothing to say): bigger is failed with 1009.
const wsMaxMessage = 64 << 10

// wsEndReason is the reason text of the server's close frame.
func wsEndReason(err error) string {
	switch {
	case err == nil:
		return "stream ended"
	case errors.Is(err, ErrNoPublisher):
		return "no publisher"
	case errors.Is(err, ErrServerClosing):
		return "server shutting down"
	}
	return "player closed"
}

// wsEndCode is the status code of the server's close frame: 1001 when the
// server goes away (section 7.4.1), else 1000.
func wsEndCode(err error) CloseCode {
	if errors.Is(err, ErrServerClosing) {
		return CloseGoingAway
	}
	return CloseNormal
}

// wsSender writes control frames of the read side under the same lock as
// the player's media; after a close frame nothing more is sent.
type wsSender struct {
	mu        writeLock
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
	if ws.closeSent && err == nil {
		// Section 5.5.1: no data frame after the close frame. The player
		// may be in the middle of its last batch: its writes fail from
		// here (the read side stays open for the client's answer).
		if hc, ok := ws.conn.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
		}
	}
	return err
}

// httpPlay is one HTTP-FLV, WS-FLV or MP4 player's side of its
// connection or HTTP/2 stream.
type httpPlay struct {
	to     flvTarget
	proto  wireProto
	sess   *sessionInfo // registered; runFLVPlayer ends it
	out    playerConn   // where the player writes
	lock   *writeLock   // out's write lock
	watch  func(gone func())
	finish func(error)
	done   func()
}

// runFLVPlayer runs an HTTP-FLV, WS-FLV or MP4 player until the client
// leaves, or no publisher comes for -play-wait (at first, and after one
// left). With -kick-ends-players, kicking the publisher closes it.
//
// Two sides end: the player (its writes), and the read side, watch,
// which calls gone once the client went away or the connection closed,
// at once or later from another goroutine (a parked socket:
// readypoll_linux.go). gone stops the player. finish ends the connection
// or stream, given why the player stopped, and must end the read side.
// When both sides are over, the player leaves its stream, its session
// ends and done runs; runFLVPlayer may return before.
func (s *Server) runFLVPlayer(hp *httpPlay) {
	sess, proto, to := hp.sess, hp.proto, hp.to
	sess.setStream(to.app, to.name, false)
	p := newPlayer(s.hub, sess, proto, hp.out, hp.lock)
	p.startFn = flvStart(p)
	p.endFn = func() error { return nil } // the FLV stream goes on with the next publisher
	p.rewait = s.cfg.PlayWait.Duration
	if proto == protoMP4 {
		// the init segment is its header step (fmp4.go); its timeline
		// and moov cannot go on with another publication
		p.startFn, p.endFn = func(*headerSet, bool) error { return nil }, nil
	}
	stream := s.relays.addPlayer(to.app, to.name, p)
	log := s.log.With("session", sess.ID, "stream", stream.Path, "remote", sess.RemoteAddr)
	log.Info("play", "protocol", proto.String())
	var sides atomic.Int32
	sides.Store(2)
	over := func() {
		if sides.Add(-1) == 0 {
			stream.removePlayer(p)
			s.hub.endSession(sess)
			hp.done()
		}
	}
	gone := sync.OnceFunc(func() { p.stop(); over() })
	p.play(s.cfg.PlayWait.Duration, func(err error) {
		p.stop()
		if err != nil && !errors.Is(err, ErrPlayerClosed) {
			log.Info("player ended", "reason", err)
		}
		hp.finish(err)
		over()
	}, func(v any) { s.conns.panicked(sess.RemoteAddr, v) })
	defer s.conns.recoverSession(sess.RemoteAddr, gone)
	hp.watch(gone)
}

// discardBufSize is the buffer discardUntilError reads into: a client
// that sends nothing needs none, one that sends anyway is read in pieces.
const discardBufSize = 128

// discardUntilError reads and drops bytes until the read fails. Unlike
// io.Copy to io.Discard it holds no 8 KB buffer while it waits.
func discardUntilError(r io.Reader) {
	buf := make([]byte, discardBufSize)
	for {
		if _, err := r.Read(buf); err != nil {
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
		if p.protocol() == protoWS {
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
