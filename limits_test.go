package main

// Running on a public port: hostile and broken input on every port,
// connection limits and timeouts. Each test keeps a stream live while it
// attacks the server and checks that its player got every frame, in
// order, with no header changed (liveCheck).

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// liveCheck publishes a paced stream (a video and an audio frame every
// 20 ms, a keyframe every 25) and plays it over RTMP, checking that the
// player sees the original prologue once and then consecutive frames.
type liveCheck struct {
	path   string
	pub    *Client
	player *Client
	stop   chan struct{}
	pubWG  sync.WaitGroup
	readWG sync.WaitGroup

	mu       sync.Mutex
	errs     []string
	sent     int // video frames sent
	last     int // last video frame number received
	frames   int // video frames received
	maxGap   time.Duration
	lastSeen time.Time
}

const liveInterval = 20 * time.Millisecond

// maxLiveGap is the longest pause between two video frames a player may
// see. Frames are sent every 20 ms; the bound leaves room for a loaded
// 2-core CI machine.
const maxLiveGap = time.Second

func startLive(t *testing.T, srv *Server, path string) *liveCheck {
	t.Helper()
	lc := &liveCheck{path: path, stop: make(chan struct{}), last: -1}
	lc.pub = testPublisher(t, rtmpURL(srv, path))
	sendGOPs(t, lc.pub, 0, 1, 25) // the first keyframe
	lc.sent = 1
	app, key, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	name, _ := splitStreamKey(key)
	waitLive(t, srv, app, name)
	lc.player = testPlayer(t, rtmpURL(srv, path))
	prologue := readMedia(t, lc.player, 4)
	checkPrologue(t, prologue)
	lc.note(prologue[3])
	lc.pubWG.Add(1)
	go lc.publish()
	lc.readWG.Add(1)
	go lc.read()
	t.Cleanup(func() { lc.halt() })
	return lc
}

func (lc *liveCheck) publish() {
	defer lc.pubWG.Done()
	tick := time.NewTicker(liveInterval)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-lc.stop:
			return
		case <-tick.C:
		}
		ts := uint32(i * 20)
		err := lc.pub.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%25 == 0))
		if err == nil {
			err = lc.pub.WriteMedia(MsgAudio, ts, testAudioFrame(i))
		}
		if err != nil {
			lc.fail("publisher: %v", err)
			return
		}
		lc.mu.Lock()
		lc.sent = i + 1
		lc.mu.Unlock()
	}
}

func (lc *liveCheck) read() {
	defer lc.readWG.Done()
	for {
		m, err := lc.player.ReadMessage()
		if err != nil {
			select {
			case <-lc.stop:
			default:
				lc.fail("player: %v", err)
			}
			return
		}
		switch {
		case m.Type == MsgVideo && bytes.Equal(m.Payload, testVideoHeader),
			m.Type == MsgAudio && bytes.Equal(m.Payload, testAudioHeader):
			lc.fail("sequence header sent again mid-stream")
		case m.Type == MsgVideo:
			lc.note(m)
		case m.Type == MsgAudio:
			if !bytes.HasPrefix(m.Payload, []byte{0xaf, 0x01, 'a', 'u'}) {
				lc.fail("foreign audio % x", m.Payload[:min(len(m.Payload), 8)])
			}
		case m.Type == MsgDataAMF0 && !bytes.Contains(m.Payload, []byte("|RtmpSampleAccess")):
			lc.fail("data message mid-stream: %q", m.Payload[:min(len(m.Payload), 32)])
		}
	}
}

// note checks one video frame: the next number, and the pause before it.
func (lc *liveCheck) note(m Message) {
	n := frameNumber(m.Payload)
	now := time.Now()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if !bytes.Contains(m.Payload, []byte("frame")) {
		lc.errs = append(lc.errs, fmt.Sprintf("foreign video % x", m.Payload[:min(len(m.Payload), 12)]))
		return
	}
	if lc.last >= 0 && n != lc.last+1 {
		lc.errs = append(lc.errs, fmt.Sprintf("gap: frame %d after %d", n, lc.last))
	}
	if !lc.lastSeen.IsZero() {
		lc.maxGap = max(lc.maxGap, now.Sub(lc.lastSeen))
	}
	lc.last, lc.lastSeen = n, now
	lc.frames++
}

func (lc *liveCheck) fail(format string, args ...any) {
	lc.mu.Lock()
	lc.errs = append(lc.errs, fmt.Sprintf(format, args...))
	lc.mu.Unlock()
}

// halt stops the publisher and, once the player has received the last
// frame sent (or 5 s passed), the player.
func (lc *liveCheck) halt() {
	select {
	case <-lc.stop:
		return
	default:
	}
	close(lc.stop)
	lc.pubWG.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		lc.mu.Lock()
		done := lc.last >= lc.sent-1
		lc.mu.Unlock()
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lc.player.Close()
	lc.readWG.Wait()
}

// check stops the stream and fails t on any gap, foreign byte, or pause
// longer than maxLiveGap; it wants at least minFrames frames.
func (lc *liveCheck) check(t *testing.T, minFrames int) {
	t.Helper()
	lc.halt()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	t.Logf("live %s: %d of %d video frames received, longest pause %v", lc.path, lc.frames, lc.sent, lc.maxGap)
	for _, e := range lc.errs {
		t.Error(e)
	}
	if lc.last != lc.sent-1 {
		t.Errorf("player's last frame %d, publisher's %d", lc.last, lc.sent-1)
	}
	if lc.frames < minFrames {
		t.Errorf("only %d frames played", lc.frames)
	}
	if lc.maxGap > maxLiveGap {
		t.Errorf("player paused %v between two frames", lc.maxGap)
	}
}

// rawRTMP dials addr and completes a simple client handshake.
func rawRTMP(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	must(t, clientHandshake(struct {
		io.Reader
		io.Writer
	}{br, c}, false))
	return c, br
}

// chunked is m as chunk bytes at the default chunk size.
func chunked(csid uint32, m Message) []byte { return AppendChunks(nil, csid, &m, defaultChunkSize) }

func connectMessage(app, tcURL string) Message {
	return amfMessage(MsgCommandAMF0, 0, "connect", 1.0, Object{{"app", app}, {"tcUrl", tcURL}})
}

// expectClosed waits (up to within) for the server to close c, draining
// what it sends; it returns what was read.
func expectClosed(t testing.TB, what string, c net.Conn, r io.Reader, within time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	var buf bytes.Buffer
	_, err := io.Copy(&buf, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: connection still open after %v", what, within)
	}
	return buf.Bytes()
}

// hostileInput is one attack: bytes written to a fresh connection to one
// of the server's ports. The server must close the connection (or answer
// and close) within the handshake timeout, and nothing else may notice.
type hostileInput struct {
	name string
	port string // "rtmp", "http", "rtmps", "https"
	data func(t testing.TB, srv *Server) []byte
	// after the handshake (RTMP ports): the data is chunk stream bytes
	handshake bool
	status    string // the answer starts with this (HTTP)
	open      bool   // a valid request that the server keeps open
}

func fixed(b []byte) func(testing.TB, *Server) []byte {
	return func(testing.TB, *Server) []byte { return b }
}

func hostileInputs() []hostileInput {
	c0c1 := append([]byte{rtmpVersion}, make([]byte, handshakeSize)...)
	httpReq := func(s string) func(testing.TB, *Server) []byte { return fixed([]byte(s)) }
	wsUpgradeTo := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	}
	nested := bytes.Repeat([]byte{0x03}, 10000) // objects in objects
	deep := chunked(3, Message{Type: MsgCommandAMF0, Payload: append([]byte{2, 0, 7, 'c', 'o', 'n', 'n', 'e', 'c', 't', 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, nested...)})
	huge := append([]byte{0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0}, make([]byte, 128)...)
	var manyCSIDs []byte
	for cs := uint32(3); cs < 200; cs++ {
		manyCSIDs = append(manyCSIDs, chunked(cs, Message{Type: MsgAudio, Payload: []byte{0xaf, 1}})...)
	}
	in := []hostileInput{
		// NMS 4.4.3 process killers
		{name: "GET /a.b/c.flv", port: "http", status: "HTTP/1.1 200", open: true, data: httpReq("GET /a.b/c.flv HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "websocket upgrade to /", port: "http", status: "HTTP/1.1 404", open: true, data: httpReq(wsUpgradeTo("/"))},
		{name: "connect tcUrl notaurl", port: "rtmp", handshake: true, data: fixed(chunked(3, connectMessage("live", "notaurl")))},
		// RTMP: garbage, truncated, oversized
		{name: "rtmp garbage", port: "rtmp", data: fixed(bytes.Repeat([]byte{0xff}, 4000))},
		{name: "rtmp http request", port: "rtmp", data: httpReq("GET / HTTP/1.1\r\n\r\n")},
		{name: "rtmp truncated C1", port: "rtmp", data: fixed(c0c1[:700])},
		{name: "rtmp truncated C2", port: "rtmp", data: fixed(append(c0c1, make([]byte, 100)...))},
		{name: "rtmp garbage chunks", port: "rtmp", handshake: true, data: fixed(bytes.Repeat([]byte{0x47, 0x13}, 3000))},
		{name: "rtmp 16 MiB message header", port: "rtmp", handshake: true, data: fixed(huge)},
		{name: "rtmp many chunk streams", port: "rtmp", handshake: true, data: fixed(manyCSIDs)},
		{name: "rtmp deep AMF0", port: "rtmp", handshake: true, data: fixed(deep)},
		{name: "rtmp chunk size 0", port: "rtmp", handshake: true, data: fixed(chunked(2, controlMessage(MsgSetChunkSize, []byte{0, 0, 0, 0})))},
		{name: "rtmp command before connect", port: "rtmp", handshake: true, data: fixed(chunked(3, amfMessage(MsgCommandAMF0, 0, "publish", 5.0, nil, "cam")))},
		{name: "rtmp connect app ..", port: "rtmp", handshake: true, data: fixed(chunked(3, connectMessage("..", "rtmp://x/..")))},
		{name: "rtmp truncated chunk", port: "rtmp", handshake: true, data: fixed(chunked(3, connectMessage("live", "rtmp://x/live"))[:40])},
		// HTTP: garbage, truncated, oversized
		{name: "http garbage", port: "http", status: "HTTP/1.1 400", data: fixed(bytes.Repeat([]byte{0x00, 0xff, '\n'}, 3000))},
		{name: "http truncated request", port: "http", data: httpReq("GET /live/x.flv HTT")},
		{name: "http huge header", port: "http", status: "HTTP/1.1 431", data: httpReq("GET /live/x.flv HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 64<<10) + "\r\n\r\n")},
		{name: "http huge path", port: "http", status: "HTTP/1.1 431", data: httpReq("GET /" + strings.Repeat("a", 20<<10) + ".flv HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "http path traversal", port: "http", status: "HTTP/1.1 30", open: true, data: httpReq("GET /live/../../etc/passwd.flv HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "http bad method", port: "http", status: "HTTP/1.1 405", open: true, data: httpReq("BREW /live/x.flv HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "ws bad version", port: "http", status: "HTTP/1.1 4", open: true, data: httpReq(strings.Replace(wsUpgradeTo("/live/x.flv"), "Version: 13", "Version: 8", 1))},
		{name: "ws garbage frames", port: "http", status: "HTTP/1.1 101", data: func(t testing.TB, _ *Server) []byte {
			return append([]byte(wsUpgradeTo("/live/wsgarbage.flv")), bytes.Repeat([]byte{0x81, 0xff}, 500)...)
		}},
		{name: "ws oversized frame", port: "http", status: "HTTP/1.1 101", data: func(t testing.TB, _ *Server) []byte {
			return append([]byte(wsUpgradeTo("/live/wsbig.flv")), 0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4)
		}},
		// TLS ports
		{name: "rtmps plaintext handshake", port: "rtmps", data: fixed(c0c1)},
		{name: "rtmps garbage", port: "rtmps", data: fixed(bytes.Repeat([]byte{0x16, 0x03}, 3000))},
		{name: "https plaintext request", port: "https", status: "HTTP/1.0 400", data: httpReq("GET /live/x.flv HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "https truncated client hello", port: "https", data: fixed([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00})},
	}
	return in
}

// sendHostile runs one hostile input: the server must answer with the
// expected status (HTTP) and close the connection, except for the few
// inputs that are valid requests it keeps open (a player waiting for a
// publisher, a keep-alive connection).
func sendHostile(t *testing.T, srv *Server, h hostileInput, within time.Duration) {
	t.Helper()
	addr := map[string]string{"rtmp": srv.RTMPAddr(), "http": srv.HTTPAddr(),
		"rtmps": srv.RTMPSAddr(), "https": srv.HTTPSAddr()}[h.port]
	var c net.Conn
	var r io.Reader
	if h.handshake {
		var br *bufio.Reader
		c, br = rawRTMP(t, addr)
		r = br
	} else {
		var err error
		c, err = net.Dial("tcp", addr)
		must(t, err)
		defer c.Close()
		r = c
	}
	c.SetWriteDeadline(time.Now().Add(within))
	c.Write(h.data(t, srv)) // the server may close before taking it all
	if h.open {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		got, _ := io.ReadAll(r)
		if !bytes.HasPrefix(got, []byte(h.status)) {
			t.Errorf("answer %q, want %q", got[:min(len(got), 40)], h.status)
		}
		return
	}
	got := expectClosed(t, h.name, c, r, within)
	if !bytes.HasPrefix(got, []byte(h.status)) {
		t.Errorf("answer %q, want %q", got[:min(len(got), 40)], h.status)
	}
}

// TLS material for the test servers (tls_test.go makes it).
func startTLSServer(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	cert, key := writeTestCert(t)
	return startServer(t, func(c *Config) {
		c.RTMPS, c.HTTPS = "127.0.0.1:0", "127.0.0.1:0"
		c.TLSCert, c.TLSKey = cert, key
		if mod != nil {
			mod(c)
		}
	})
}

// Each NMS crash input, and truncated, garbage and oversized
// input on every port, closes only its own connection while a stream plays
// on without a gap.
func TestHostileInputKeepsStreamPlaying(t *testing.T) {
	srv := startTLSServer(t, func(c *Config) {
		c.HandshakeTimeout.Duration = time.Second
		c.MaxChunkStreams = 16
		c.MaxMessageSize = 1 << 20
	})
	lc := startLive(t, srv, "/live/steady")
	for _, h := range hostileInputs() {
		t.Run(h.name, func(t *testing.T) { sendHostile(t, srv, h, 5*time.Second) })
	}
	// a TLS client that completes the handshake and then sends garbage
	tc, err := tls.Dial("tcp", srv.RTMPSAddr(), &tls.Config{InsecureSkipVerify: true})
	must(t, err)
	tc.Write(bytes.Repeat([]byte{0xfe}, 3000))
	expectClosed(t, "rtmps garbage after TLS", tc, tc, 5*time.Second)
	tc.Close()
	time.Sleep(200 * time.Millisecond)
	lc.check(t, 20)
	for _, p := range []string{"/live/steady"} {
		if s := srv.hub.lookup("live", strings.TrimPrefix(p, "/live/")); s == nil {
			t.Errorf("%s gone", p)
		}
	}
}

// A silent TCP connection is closed after the handshake
// timeout, and a thousand of them do not stop a real publisher and player.
func TestSilentConnectionsClosed(t *testing.T) {
	const n = 1000
	needFDs(t, 2*n+200) // both ends live in this process
	timeout := 2 * time.Second
	srv := startServer(t, func(c *Config) { c.HandshakeTimeout.Duration = timeout })
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", srv.RTMPAddr())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	dialed := time.Since(start)
	// a real publisher and player while the thousand sit there
	lc := startLive(t, srv, "/live/busy")
	closed := make(chan time.Duration, n)
	for _, c := range conns {
		go func(c net.Conn) {
			c.SetReadDeadline(time.Now().Add(timeout + 10*time.Second))
			_, err := c.Read(make([]byte, 1))
			if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
				closed <- -1 // our deadline: the server did not close it
				return
			}
			closed <- time.Since(start)
		}(c)
	}
	var last time.Duration
	for i := 0; i < n; i++ {
		d := <-closed
		if d < 0 {
			t.Fatalf("a silent connection was not closed within %v", timeout+10*time.Second)
		}
		if d < timeout-100*time.Millisecond {
			t.Fatalf("a silent connection was closed after %v, before the %v timeout", d, timeout)
		}
		last = max(last, d)
	}
	t.Logf("%d silent connections dialed in %v, all closed %v after the first dial", n, dialed, last)
	if last > dialed+timeout+5*time.Second {
		t.Errorf("the last one closed %v after start", last)
	}
	lc.check(t, 50)
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// needFDs raises the soft file-descriptor limit to at least n, or skips.
func needFDs(t *testing.T, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	old := lim.Cur
	lim.Cur = min(max(n, lim.Cur), lim.Max)
	if lim.Cur < n {
		t.Skipf("needs %d file descriptors, hard limit is %d (raise ulimit -n)", n, lim.Max)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("needs %d file descriptors, have %d: setrlimit: %v", n, old, err)
	}
	t.Cleanup(func() {
		lim.Cur = old
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	})
}

// A publisher that goes silent is closed after -idle-timeout; its player
// is told (UnpublishNotify) and keeps its connection.
func TestIdleTimeoutClosesSilentPublisher(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.IdleTimeout.Duration = time.Second })
	pub := testPublisher(t, rtmpURL(srv, "/live/idle"))
	player := testPlayer(t, rtmpURL(srv, "/live/idle"))
	sendGOPs(t, pub, 0, 3, 30)
	readMedia(t, player, 3+6)
	start := time.Now()
	waitStatus(t, player, "NetStream.Play.UnpublishNotify")
	if d := time.Since(start); d < 800*time.Millisecond || d > 4*time.Second {
		t.Errorf("silent publisher closed after %v, want about 1s", d)
	}
	readUntilClosed(t, "the silent publisher", pub, 2*time.Second)
	// a player only reads: it has no idle timeout
	time.Sleep(1500 * time.Millisecond)
	pub2 := testPublisher(t, rtmpURL(srv, "/live/idle"))
	sendGOPs(t, pub2, 50, 1, 30)
	waitStatus(t, player, "NetStream.Play.PublishNotify")
}

// A player whose socket takes nothing is closed after -write-timeout; the
// publisher and a player that keeps up notice nothing.
func TestWriteTimeoutClosesStalledPlayer(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.WriteTimeout.Duration = time.Second })
	lc := startLive(t, srv, "/live/stall")
	conn, err := net.Dial("tcp", srv.RTMPAddr())
	must(t, err)
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	u, _ := parseClientURL(rtmpURL(srv, "/live/stall"))
	stalled := newClient(conn, u)
	must(t, stalled.withContext(ctxT(t, 5*time.Second), "handshake", stalled.handshake))
	must(t, stalled.withContext(ctxT(t, 5*time.Second), "connect", stalled.connect))
	must(t, stalled.Play(ctxT(t, 5*time.Second)))
	// now it reads nothing; big frames fill the socket buffers fast
	big := append([]byte{0xaf, 0x01, 'a', 'u'}, make([]byte, 256<<10)...)
	start := time.Now()
	for i := 0; i < 40; i++ {
		must(t, lc.pub.WriteMedia(MsgAudio, 0, big))
		time.Sleep(20 * time.Millisecond)
		if players(srv, "live", "stall") == 1 {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for players(srv, "live", "stall") > 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := players(srv, "live", "stall"); n != 1 {
		t.Fatalf("%d players left, want the stalled one closed", n)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("stalled player closed after %v, before the 1s write timeout", d)
	}
	lc.check(t, 20)
}

// readUntilClosed reads c until the server closes it; it fails if that
// takes longer than within.
func readUntilClosed(t *testing.T, what string, c *Client, within time.Duration) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(within))
	for {
		_, err := c.ReadMessage()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: connection still open after %v", what, within)
		}
		if err != nil {
			return
		}
	}
}

func players(srv *Server, app, name string) int {
	s := srv.hub.lookup(app, name)
	if s == nil {
		return 0
	}
	return s.playerCount()
}

// A message over -max-message-size and chunk streams past
// -max-chunk-streams close that connection only.
func TestMessageAndChunkStreamLimits(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.MaxMessageSize = 64 << 10; c.MaxChunkStreams = 8 })
	lc := startLive(t, srv, "/live/limits")

	pub := testPublisher(t, rtmpURL(srv, "/live/big"))
	pub.WriteMedia(MsgVideo, 0, make([]byte, 64<<10+1))
	readUntilClosed(t, "a message over the limit", pub, 3*time.Second)

	c, br := rawRTMP(t, srv.RTMPAddr())
	var b []byte
	for cs := uint32(3); cs < 3+9; cs++ {
		b = append(b, chunked(cs, Message{Type: MsgAudio, Payload: []byte{0xaf, 1}})...)
	}
	c.Write(b)
	expectClosed(t, "9 chunk streams, limit 8", c, br, 3*time.Second)

	// at the limit is fine
	c2, br2 := rawRTMP(t, srv.RTMPAddr())
	for cs := uint32(4); cs < 4+7; cs++ {
		c2.Write(chunked(cs, Message{Type: MsgAudio, Payload: []byte{0xaf, 1}}))
	}
	c2.Write(chunked(3, connectMessage("live", "rtmp://127.0.0.1/live")))
	cr := NewChunkReader(br2, ChunkLimits{})
	for { // WinAck, PeerBW, (SetChunkSize consumed), _result
		m, err := cr.ReadMessage()
		must(t, err)
		if m.Type == MsgCommandAMF0 {
			if !bytes.Contains(m.Payload, []byte("NetConnection.Connect.Success")) {
				t.Errorf("8 chunk streams, limit 8: %q", m.Payload)
			}
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // the stream plays on
	lc.check(t, 20)
}

// -max-conns and -max-conns-per-ip close connections past the limit at
// once, on both ports; closing one makes room again.
func TestConnectionLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"max-conns", func(c *Config) { c.MaxConns = 3 }},
		{"max-conns-per-ip", func(c *Config) { c.MaxConnsPerIP = 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.mod)
			var open []net.Conn
			for i := 0; i < 3; i++ {
				c, err := net.Dial("tcp", srv.RTMPAddr())
				must(t, err)
				defer c.Close()
				open = append(open, c)
			}
			waitConns(t, srv, 3)
			for _, addr := range []string{srv.RTMPAddr(), srv.HTTPAddr()} {
				c, err := net.Dial("tcp", addr)
				must(t, err)
				expectClosed(t, "connection past the limit", c, c, 2*time.Second)
				c.Close()
			}
			open[0].Close()
			waitConns(t, srv, 2)
			if code, err := httpGet(srv, "/healthz"); code != 200 {
				t.Errorf("after a connection left: /healthz %d %v", code, err)
			}
		})
	}
}

func waitConns(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := srv.conns.count()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections tracked, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// -max-header-bytes answers 431; a slow header is cut at the handshake
// timeout.
func TestHTTPHeaderLimits(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.MaxHeaderBytes = 8 << 10; c.HandshakeTimeout.Duration = time.Second })
	c, err := net.Dial("tcp", srv.HTTPAddr())
	must(t, err)
	defer c.Close()
	fmt.Fprintf(c, "GET /live/x.flv HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 16<<10))
	got := expectClosed(t, "big header", c, c, 3*time.Second)
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 431")) {
		t.Errorf("big header answered %q", got[:min(len(got), 40)])
	}
	slow, err := net.Dial("tcp", srv.HTTPAddr())
	must(t, err)
	defer slow.Close()
	io.WriteString(slow, "GET /live/x.flv HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	expectClosed(t, "slow header", slow, slow, 4*time.Second)
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("slow header cut after %v", d)
	}
}

// -max-header-bytes is exact: a request head (request line, fields, the
// empty line) of that many bytes is served, one byte more is answered
// 431; at the default (16 KiB, as the README says) and near the smallest
// value allowed.
func TestHTTPHeaderLimitExact(t *testing.T) {
	for _, limit := range []int{16 << 10, httpHeaderSlack + 1, 20000} {
		srv := startServer(t, func(c *Config) { c.MaxHeaderBytes = limit })
		for _, size := range []int{limit - 1, limit, limit + 1, limit + 2} {
			want := "HTTP/1.1 200"
			if size > limit {
				want = "HTTP/1.1 431"
			}
			if got := headStatus(t, srv, size); got != want {
				t.Errorf("limit %d: a %d-byte head answered %q, want %q", limit, size, got, want)
			}
		}
	}
	if _, err := loadConfig([]string{"-max-header-bytes", "4096"}, io.Discard); err == nil {
		t.Error("-max-header-bytes 4096 accepted: net/http cannot hold it exactly")
	}
}

// headStatus sends GET /healthz with a head of exactly size bytes and
// returns the status line's start.
func headStatus(t *testing.T, srv *Server, size int) string {
	t.Helper()
	head := "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
	pad := size - len(head) - len("\r\n\r\n")
	req := head + strings.Repeat("p", pad) + "\r\n\r\n"
	if len(req) != size {
		t.Fatalf("built a %d-byte head, want %d", len(req), size)
	}
	c, err := net.Dial("tcp", srv.HTTPAddr())
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(c, req)
	must(t, err)
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line[:min(len(line), 12)]
}

// Stream and app names: a safe alphabet, no "/" inside, no "..".
func TestUnsafeStreamNamesRefused(t *testing.T) {
	srv := startServer(t, nil)
	for _, name := range []string{"..", "a..b", "a b", "caf\u00e9", "a\x00b", "a%2fb", strings.Repeat("n", 129)} {
		c, err := DialRTMP(ctxT(t, 5*time.Second), rtmpURL(srv, "/live/x"))
		must(t, err)
		c.url.Name = name
		err = c.Publish(ctxT(t, 5*time.Second))
		var se *StatusError
		if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
			t.Errorf("publish %q: %v, want BadName", name, err)
		}
		c.Close()
	}
	for _, ok := range []string{"cam", "Cam-1_x.y~z", "a.b"} {
		if !validName(ok) {
			t.Errorf("validName(%q) = false", ok)
		}
	}
	for _, p := range []string{"/live/a..b.flv", "/../live/x.flv", "/live/.flv", "/li%20ve/x.flv"} {
		if code, _ := httpGet(srv, p); code == 200 || code == 0 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}
