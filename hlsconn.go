// HLS viewers' connections: HTTP/1.1 keep-alive outside net/http (RFC
// 9112 section 2.1 "Message Format", 3 "Request Line", 5 "Field Syntax",
// 6.3 "Message Body Length", 9.3 "Persistence"; RFC 9110 section 6.6.1
// "Date").
//
// A Low-Latency HLS viewer asks for a playlist and a part every part
// duration, each on the same connection: at 200 ms parts that is ten
// requests a second per viewer, and what net/http spends on each (a
// goroutine to watch the connection, the request's maps and context, a
// write for the head and one for the body) costs more than the bytes.
// So the first request for a Media Playlist or a part on a plain HTTP/1.1
// connection takes the connection over (hijack), and from then on its
// requests are read here: each head is parsed (parseRequestHead), served
// by the same handler (hlsService.route) into an hlsWire, and answered
// with one write, head and body together. The first request that is not
// an HLS media request (another URL, a body, an upgrade, a head this
// reader does not take) gives the connection back to net/http unread,
// through the HTTP listener (reentryListener).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestHead is what the keep-alive loop needs of a request head.
type requestHead struct {
	method, target, host string
	close                bool // Connection: close (section 9.6)
	body                 bool // Content-Length other than 0, or Transfer-Encoding (6.3)
	special              bool // Upgrade, Expect or Range: for net/http to answer
}

// errNoHead: the bytes are not a request head this reader takes.
var errNoHead = errors.New("http: not a plain HTTP/1.1 request head")

// parseRequestHead parses one request head, which ends with an empty
// line, from b; rest is what follows it.
func parseRequestHead(b []byte) (h requestHead, rest []byte, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return h, b, errNoHead
	}
	head, rest := b[:end+2], b[end+4:]
	// request-line = method SP request-target SP HTTP-version CRLF
	line, fields, _ := bytes.Cut(head, []byte("\r\n"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, version, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || !isToken(method) || !isVisible(target) || target[0] != '/' || string(version) != "HTTP/1.1" {
		return h, b, errNoHead
	}
	h.method, h.target = string(method), string(target)
	for len(fields) > 0 {
		var field []byte
		field, fields, _ = bytes.Cut(fields, []byte("\r\n"))
		if err := h.field(field); err != nil {
			return h, b, err
		}
	}
	return h, rest, nil
}

// isToken reports whether b is a token (RFC 9110 section 5.6.2).
func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return len(b) > 0
}

// isVisible reports whether b is visible ASCII only (a request-target,
// RFC 9112 section 3.2, has no spaces or controls).
func isVisible(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return len(b) > 0
}

// field takes one field line: field-name ":" OWS field-value OWS.
func (h *requestHead) field(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !isToken(name) || bytes.ContainsAny(value, "\r\n\x00") {
		return errNoHead // obs-fold and malformed lines included
	}
	value = bytes.Trim(value, " \t")
	switch string(bytes.ToLower(name)) {
	case "host":
		h.host = string(value)
	case "connection":
		h.close = h.close || bytes.Contains(bytes.ToLower(value), []byte("close"))
	case "content-length":
		h.body = h.body || string(value) != "0"
	case "transfer-encoding":
		h.body = true
	case "upgrade", "expect", "range":
		h.special = true
	}
	return nil
}

// peekHead waits until br holds a whole request head (or the client
// goes) and returns the bytes buffered, not consumed. A head longer than
// br's buffer, or ended by bare LFs, is returned as it is: the parser
// refuses it and net/http gets the connection.
func peekHead(br *bufio.Reader) ([]byte, error) {
	for {
		b, _ := br.Peek(br.Buffered())
		if bytes.Contains(b, []byte("\r\n\r\n")) || bytes.Contains(b, []byte("\n\n")) || len(b) == br.Size() {
			return b, nil
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return nil, err
		}
	}
}

// hlsConn is one viewer connection the keep-alive loop serves.
type hlsConn struct {
	h       *hlsService
	conn    net.Conn
	br      *bufio.Reader
	stopped atomic.Bool // the server is shutting down
	w       hlsWire     // reused from request to request
	req     *http.Request
	url     url.URL // req's URL
}

// listenVia makes ln the listener the keep-alive loop gives connections
// back to, and returns what net/http is to serve.
func (h *hlsService) listenVia(ln net.Listener) net.Listener {
	h.reentry = newReentryListener(ln)
	return h.reentry
}

// keepAlive takes r's connection over if it is a plain HTTP/1.1 one
// that stays open, serves r and every following HLS media request on
// it, and returns true when the connection is closed or given back;
// false: r is for net/http to answer.
func (h *hlsService) keepAlive(w http.ResponseWriter, r *http.Request) bool {
	if _, inLoop := w.(*hlsWire); inLoop || h.reentry == nil || r.TLS != nil || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Close ||
		r.Header.Get("Range") != "" || !h.env.conns.begin() {
		return false
	}
	defer h.env.conns.end()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &hlsConn{h: h, conn: conn, br: brw.Reader}
	c.req = (&http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: make(http.Header),
		Body: http.NoBody, RemoteAddr: r.RemoteAddr}).WithContext(ctx)
	// a shutdown wakes a connection waiting for its next request
	defer h.env.conns.afterStop(func() { c.stopped.Store(true); conn.SetReadDeadline(time.Now()) })()
	c.w.header = make(http.Header)
	if c.serve(r.WithContext(ctx), false) {
		c.loop()
	}
	return true
}

// loop serves requests until the connection ends or is given back.
func (c *hlsConn) loop() {
	for {
		var idle time.Time // as net/http's IdleTimeout: 0 waits for good
		if d := c.h.env.cfg.IdleTimeout.Duration; d > 0 {
			idle = time.Now().Add(d)
		}
		c.conn.SetReadDeadline(idle)
		if c.stopped.Load() { // after the deadline: see keepAlive
			c.end()
			return
		}
		b, err := peekHead(c.br)
		if err != nil {
			c.end()
			return
		}
		head, rest, err := parseRequestHead(b)
		rt, ok := parseHLSPath(pathOf(head.target))
		if err != nil || head.body || head.special || !ok || rt.epoch == "" ||
			(head.method != http.MethodGet && head.method != http.MethodHead) {
			c.giveBack()
			return
		}
		c.br.Discard(len(b) - len(rest))
		r, err := c.request(head)
		if err != nil || !c.serve(r, head.close) {
			c.end()
			return
		}
	}
}

// pathOf is the path of an origin-form request target.
func pathOf(target string) string {
	p, _, _ := strings.Cut(target, "?")
	return p
}

// request makes the http.Request the handler reads: the connection's
// one, refilled (a handler keeps nothing of it past its call). A target
// without escapes is its path and query as they are.
func (c *hlsConn) request(h requestHead) (*http.Request, error) {
	path, query, _ := strings.Cut(h.target, "?")
	if strings.ContainsAny(path, "%#") {
		u, err := url.ParseRequestURI(h.target)
		if err != nil {
			return nil, err
		}
		c.url = *u
	} else {
		c.url = url.URL{Path: path, RawQuery: query}
	}
	r := c.req
	clear(r.Header)
	r.Method, r.URL, r.Host, r.RequestURI, r.Close = h.method, &c.url, h.host, h.target, h.close
	return r, nil
}

// serve answers one request; false when the connection is to end.
func (c *hlsConn) serve(r *http.Request, closing bool) bool {
	c.w.reset(r.Method == http.MethodHead, closing)
	c.h.route(&c.w, r)
	var limit time.Time
	if d := c.h.env.cfg.WriteTimeout.Duration; d > 0 {
		limit = time.Now().Add(d)
	}
	c.conn.SetWriteDeadline(limit)
	bufs := c.w.finish()
	var err error
	if tcp := socketUnder(c.conn); tcp != nil {
		_, err = bufs.WriteTo(tcp) // writev(2): head and body in one call
	} else {
		_, err = bufs.WriteTo(c.conn)
	}
	c.w.done()
	return err == nil && !closing
}

// end closes the connection.
func (c *hlsConn) end() {
	c.h.env.conns.untrack(c.conn)
	c.conn.Close()
}

// giveBack hands the connection, its next request unread, to net/http.
func (c *hlsConn) giveBack() {
	c.conn.SetDeadline(time.Time{})
	c.h.env.conns.untrack(c.conn)
	c.h.reentry.giveBack(&bufferedConn{Conn: c.conn, r: c.br})
}

// bufferedConn is a connection whose first bytes wait in a reader.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// hlsWire is the http.ResponseWriter of the keep-alive loop: it keeps
// the answer, and finish makes it one list of slices to write. Media
// slices handed over by sendBuffers are kept as they are (the ring's
// payloads never change); other bytes are copied.
type hlsWire struct {
	header  http.Header
	status  int
	head    bool // a HEAD request: no body goes out
	closing bool
	out     []byte      // status line, fields, and copied body bytes
	bodyAt  int         // where the copied body starts in out
	media   net.Buffers // slices after the copied body
	bufs    net.Buffers
	date    []byte // the Date field's value, of second dateSec
	dateSec int64
	length  int    // the body's length, for Content-Length (-1: the handler's field)
	headBuf []byte // the head, when it is built apart from out
}

// hlsHeadRoom is the room kept for the response head before the body.
const hlsHeadRoom = 1024

func (w *hlsWire) reset(head, closing bool) {
	clear(w.header)
	w.status, w.head, w.closing = 0, head, closing
	if cap(w.out) < hlsHeadRoom {
		w.out = make([]byte, hlsHeadRoom, 4096)
	}
	w.out = w.out[:hlsHeadRoom] // room for the head, filled by finish
	w.bodyAt = hlsHeadRoom
}

func (w *hlsWire) Header() http.Header { return w.header }

func (w *hlsWire) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *hlsWire) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.out = append(w.out, p...)
	return len(p), nil
}

func (w *hlsWire) WriteString(s string) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.out = append(w.out, s...)
	return len(s), nil
}

// sendBuffers takes media slices without copying them (writeMedia).
func (w *hlsWire) sendBuffers(bufs net.Buffers) int {
	w.WriteHeader(http.StatusOK)
	n := 0
	for _, b := range bufs {
		w.media = append(w.media, b)
		n += len(b)
	}
	return n
}

// finish writes the status line and fields before the body, right
// against it, and returns what is to be written.
func (w *hlsWire) finish() net.Buffers {
	w.WriteHeader(http.StatusOK)
	body := len(w.out) - w.bodyAt
	for _, m := range w.media {
		body += len(m)
	}
	w.length = -1
	if w.head { // HEAD: the handler set Content-Length; no body
		w.out, w.media = w.out[:w.bodyAt], w.media[:0]
	} else {
		delete(w.header, "Content-Length")
		w.length = body
	}
	head := w.appendHead(w.headBuf[:0])
	w.headBuf = head
	start := w.bodyAt - len(head)
	if start < 0 { // a head over 1 KB: it goes in a slice of its own
		w.bufs = append(w.bufs[:0], head, w.out[w.bodyAt:])
	} else {
		copy(w.out[start:], head)
		w.bufs = append(w.bufs[:0], w.out[start:])
	}
	return append(w.bufs, w.media...)
}

// appendHead writes the status line and the fields (section 2.1).
func (w *hlsWire) appendHead(b []byte) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\nDate: "...)
	if now := time.Now().Unix(); now != w.dateSec { // formatted once a second
		w.date, w.dateSec = time.Unix(now, 0).UTC().AppendFormat(w.date[:0], http.TimeFormat), now
	}
	b = append(b, w.date...)
	for k, vs := range w.header {
		for _, v := range vs {
			b = append(append(append(append(b, "\r\n"...), k...), ": "...), v...)
		}
	}
	if w.length >= 0 {
		b = strconv.AppendInt(append(b, "\r\nContent-Length: "...), int64(w.length), 10)
	}
	if w.closing {
		b = append(b, "\r\nConnection: close"...)
	}
	return append(b, "\r\n\r\n"...)
}

// done drops the references to the answer's media.
func (w *hlsWire) done() {
	clear(w.media)
	w.media = w.media[:0]
	clear(w.bufs)
}

// reentryListener is the plain HTTP listener as net/http's server sees
// it: the accepted connections, and those the keep-alive loop gives
// back.
type reentryListener struct {
	net.Listener
	back      chan net.Conn
	accepted  chan acceptResult
	done      chan struct{} // closed by Close
	start     sync.Once
	closeOnce sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newReentryListener(ln net.Listener) *reentryListener {
	return &reentryListener{Listener: ln, back: make(chan net.Conn),
		accepted: make(chan acceptResult), done: make(chan struct{})}
}

func (l *reentryListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.back:
		return c, nil
	case a := <-l.accepted:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *reentryListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// acceptLoop accepts until the listener closes, handing each result to
// Accept.
func (l *reentryListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// giveBack queues c for net/http; closed if the listener is closed.
func (l *reentryListener) giveBack(c net.Conn) {
	select {
	case l.back <- c:
	case <-l.done:
		c.Close()
	}
}
