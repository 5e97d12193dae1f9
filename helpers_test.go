package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer runs a server on loopback ports chosen by the kernel. It
// checks, at cleanup, that every goroutine the test started has ended.
func startServer(t testing.TB, mod func(*Config)) *Server {
	t.Helper()
	checkNoLeaks(t)
	cfg := defaultConfig()
	cfg.RTMP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	if mod != nil {
		mod(cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("RTMPHUB_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: level}))
	srv := NewServer(cfg, logger)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(srv.Close)
	return srv
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// checkNoLeaks fails the test if goroutines started during it are still
// running shortly after its cleanups (registered first, so it runs last).
func checkNoLeaks(t testing.TB) {
	// once per test, at its first server: the check then runs after every
	// server of the test has closed (cleanups run last-in first-out), so
	// goroutines one server starts for another (an edge's pull, a push)
	// are not counted against the one closed first
	if _, dup := leakChecked.LoadOrStore(t, true); dup {
		return
	}
	t.Cleanup(func() { leakChecked.Delete(t) })
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
	})
}

// leakChecked holds the tests whose goroutines checkNoLeaks watches.
var leakChecked sync.Map

func rtmpURL(srv *Server, path string) string { return "rtmp://" + srv.RTMPAddr() + path }
func httpURL(srv *Server, path string) string { return "http://" + srv.HTTPAddr() + path }

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// A synthetic H.264 + AAC stream whose tag headers are real (so the
// classifier sees sequence headers, keyframes, inter frames) and whose
// payload bodies carry a frame number, so players can check order.

// testAVCConfig is an AVCDecoderConfigurationRecord holding a real SPS
// (x264, Constrained Baseline, 640x360) and PPS.
var testAVCConfig = []byte{
	0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x19,
	0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03,
	0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48,
	0x01, 0x00, 0x04, 0x68, 0xcb, 0x83, 0xcb, 0x20,
}

var (
	testVideoHeader = append([]byte{0x17, 0x00, 0, 0, 0}, testAVCConfig...)
	testAudioHeader = []byte{0xaf, 0x00, 0x12, 0x10} // AAC LC, 44.1 kHz, stereo
)

func testVideoFrame(n int, key bool) []byte {
	b := []byte{0x27, 0x01, 0, 0, 0, 0, 0, 0, 8, 0x41}
	if key {
		b[0], b[9] = 0x17, 0x65
	}
	return binary.BigEndian.AppendUint32(append(b, "frame"...), uint32(n))
}

func testAudioFrame(n int) []byte {
	return binary.BigEndian.AppendUint32([]byte{0xaf, 0x01, 'a', 'u'}, uint32(n))
}

// frameNumber reads back the number of a testVideoFrame / testAudioFrame.
func frameNumber(p []byte) int {
	if len(p) < 4 {
		return -1
	}
	return int(binary.BigEndian.Uint32(p[len(p)-4:]))
}

// testPublisher publishes to url: metadata, headers, then frames from
// sendFrames. It returns the client.
func testPublisher(t testing.TB, url string) *Client {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Publish(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("publish %s: %v", url, err)
	}
	meta := ECMAArray{{"width", 640.0}, {"height", 360.0}, {"videocodecid", 7.0}, {"audiocodecid", 10.0}}
	must(t, c.WriteMetadata(meta, 0))
	must(t, c.WriteMedia(MsgVideo, 0, testVideoHeader))
	must(t, c.WriteMedia(MsgAudio, 0, testAudioHeader))
	return c
}

// sendGOPs sends n video frames (a keyframe every gop) with an audio frame
// after each, starting at frame number first, 33 ms apart.
func sendGOPs(t testing.TB, c *Client, first, n, gop int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		ts := uint32(i * 33)
		must(t, c.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%gop == 0)))
		must(t, c.WriteMedia(MsgAudio, ts, testAudioFrame(i)))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testPlayer dials and plays url with the project's client.
func testPlayer(t testing.TB, url string) *Client {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Play(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("play %s: %v", url, err)
	}
	return c
}

// readMedia reads messages until it has n media (audio/video/data)
// messages, with a deadline; other messages are returned in extra.
func readMedia(t testing.TB, c *Client, n int) (media []Message) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(media) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d media messages", len(media), n)
		}
		m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read after %d media messages: %v", len(media), err)
		}
		switch m.Type {
		case MsgAudio, MsgVideo, MsgDataAMF0:
			if m.Type == MsgDataAMF0 && bytes.Contains(m.Payload, []byte("|RtmpSampleAccess")) {
				continue
			}
			media = append(media, m)
		}
	}
	return media
}

// flvReader reads an HTTP-FLV body, or the same bytes out of WebSocket
// messages.
type flvStreamReader struct {
	r io.Reader
}

// readFLVHeader checks the 13 bytes of header + PreviousTagSize0.
func readFLVHeader(t testing.TB, r io.Reader) FLVHeader {
	t.Helper()
	var b [13]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		t.Fatalf("flv header: %v", err)
	}
	h, rest, err := DecodeFLVHeader(b[:])
	if err != nil || len(rest) != 0 {
		t.Fatalf("flv header %x: %v (rest %d)", b, err, len(rest))
	}
	return h
}

// readFLVTags reads n tags, checking each PreviousTagSize.
func readFLVTags(t testing.TB, r io.Reader, n int) []FLVTag {
	t.Helper()
	fr := NewFLVReader(r, 16<<20)
	var tags []FLVTag
	for len(tags) < n {
		tag, err := fr.ReadTag()
		if err != nil {
			t.Fatalf("tag %d: %v", len(tags), err)
		}
		tags = append(tags, tag)
	}
	return tags
}

// httpGetFLV opens an HTTP-FLV stream and checks the response head.
func httpGetFLV(t testing.TB, url string) io.ReadCloser {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/x-flv" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET %s: %s %v", url, resp.Status, resp.Header)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp.Body
}

// wsClient is a minimal RFC 6455 client for tests: it dials, upgrades,
// and returns a reader of the concatenated binary message payloads.
type wsClient struct {
	conn  net.Conn
	br    *bufio.Reader
	buf   []byte
	close []byte // the server's close frame payload, once read
}

func dialWS(t testing.TB, addr, path string) *wsClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: http://other.example\r\n\r\n", path, addr, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade: %s %v", resp.Status, resp.Header)
	}
	return &wsClient{conn: conn, br: br}
}

// Read returns payload bytes of server frames (which must be unmasked
// binary frames; a close frame ends with io.EOF).
func (c *wsClient) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return 0, err
		}
		if h[1]&0x80 != 0 {
			return 0, fmt.Errorf("server frame is masked")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			io.ReadFull(c.br, e[:])
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			io.ReadFull(c.br, e[:])
			n = binary.BigEndian.Uint64(e[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.br, payload); err != nil {
			return 0, err
		}
		switch h[0] & 0x0f {
		case 2, 0:
			c.buf = payload
		case 8:
			c.close = payload
			return 0, io.EOF
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// goldenRow returns the row named name of a golden table: tests look rows
// up by name, never by index, so that a row added anywhere moves nothing.
// A name the table lacks fails the test.
func goldenRow[R any](t testing.TB, table []R, nameOf func(*R) string, name string) *R {
	t.Helper()
	for i := range table {
		if nameOf(&table[i]) == name {
			return &table[i]
		}
	}
	t.Fatalf("no golden row named %q", name)
	return nil
}

// skipOrRequire is the one place that decides what a missing real client
// means for a test: a skip, or a failure when the environment variable
// env (RTMPHUB_REQUIRE_FFMPEG for ffmpeg, rtmpdump and GStreamer,
// RTMPHUB_REQUIRE_BROWSER for node and Chromium) is "1", as in CI. what
// names what is missing, hint how to install it.
func skipOrRequire(t testing.TB, env, what, hint string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s missing but %s=1", what, env)
	}
	t.Skipf("%s missing (%s)", what, hint)
}

// requireTool skips (or, in CI, fails) when a program is missing.
func requireTool(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrRequire(t, "RTMPHUB_REQUIRE_FFMPEG", tool, "not installed")
		}
	}
}

// requireFFmpeg needs ffmpeg and ffprobe.
func requireFFmpeg(t testing.TB) {
	t.Helper()
	requireTool(t, "ffmpeg", "ffprobe")
}

// wire concatenates the pieces of an annotated golden-byte table entry:
// an int, rune or byte is one byte, a string its bytes, a []byte itself.
// Tables write each field as its own piece, with the spec's name beside it.
func wire(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = append(b, byte(p))
		case rune:
			b = append(b, byte(p))
		case byte:
			b = append(b, p)
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		default:
			panic(fmt.Sprintf("wire: piece of type %T", p))
		}
	}
	return b
}
