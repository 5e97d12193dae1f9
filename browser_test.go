package main

// HTTP-FLV and WS-FLV against real clients and hostile ones:
//   - headless Chromium playing with mpegts.js and flv.js from a page on
//     another loopback origin (testdata/browser/play.mjs);
//   - the npm "ws" package, a strict RFC 6455 client, reading the stream
//     and closing cleanly either way (testdata/browser/wsclient.mjs);
//   - malformed HTTP requests and WebSocket frames (RFC 6455 sections 4.2.1,
//     5.2-5.5, 7.4), each answered on its own connection while other
//     players of the same stream go on undisturbed;
//   - players of every protocol writing the very bytes the ring holds.
//
// The node tests need node, the packages of testdata/browser (npm ci there)
// and, for the browser, chromium; they skip without them unless
// RTMPHUB_REQUIRE_BROWSER=1, where they fail.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const browserDir = "testdata/browser"

// requireNode skips (or, with RTMPHUB_REQUIRE_BROWSER=1, fails) unless node
// and the npm packages pkgs are installed in testdata/browser.
func requireNode(t *testing.T, pkgs ...string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		skipOrRequire(t, "RTMPHUB_REQUIRE_BROWSER", what, "apt-get install nodejs npm chromium; npm ci in "+browserDir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node")
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(browserDir, "node_modules", p, "package.json")); err != nil {
			missing("npm package " + p)
		}
	}
}

// requireChromium is requireNode for the browser itself.
func requireChromium(t *testing.T) {
	t.Helper()
	requireNode(t, "playwright-core", "mpegts.js", "flv.js")
	requireChromiumOnly(t)
}

// requireChromiumOnly needs Chromium (chromiumPath) and no node package.
func requireChromiumOnly(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err != nil {
		skipOrRequire(t, "RTMPHUB_REQUIRE_BROWSER", "chromium", "apt-get install chromium")
	}
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// nodeScript starts a script of testdata/browser; stdout is returned as a
// line reader. The process is killed at cleanup if still running.
func nodeScript(t *testing.T, timeout time.Duration, script string, args ...string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return cmd, sc, &stderr
}

// playResult is one line of play.mjs.
type playResult struct {
	Lib, URL, Config, PageOrigin string
	CrossOrigin                  bool
	StartTime, CurrentTime       float64
	Advanced                     float64
	Frames, Dropped              int
	Width, Height                int
	ElapsedMs                    int
	ReadyState                   int         // HTMLMediaElement.readyState at the end
	Buffered                     [][]float64 // the element's buffered ranges at the end
	MediaError                   string
	Errors, Console              []string
	Pass                         bool
}

// runPlay runs play.mjs and returns its results, failing on any case that
// did not play. want is the number of cases expected.
func runPlay(t *testing.T, want int, args ...string) []playResult {
	t.Helper()
	cmd, sc, stderr := nodeScript(t, 3*time.Minute, "play.mjs", args...)
	var results []playResult
	for sc.Scan() {
		var r playResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("play.mjs printed %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	err := cmd.Wait()
	for _, r := range results {
		t.Logf("%s %s (%s): advanced %.2fs, %d frames (%d dropped), %dx%d in %d ms, page %s",
			r.Lib, r.URL, r.Config, r.Advanced, r.Frames, r.Dropped, r.Width, r.Height, r.ElapsedMs, r.PageOrigin)
		if !r.Pass {
			t.Logf("  at currentTime %.2f (from %.2f): readyState %d, buffered %v", r.CurrentTime, r.StartTime, r.ReadyState, r.Buffered)
		}
		checkPlayed(t, r)
	}
	if len(results) != want {
		t.Fatalf("play.mjs gave %d results, want %d (exit %v)\n%s", len(results), want, err, stderr)
	}
	if err != nil {
		t.Fatalf("play.mjs: %v\n%s", err, stderr)
	}
	return results
}

// checkPlayed wants the video element to have played more than a second
// of 640x360 video, with decoded frames, from a cross-origin page, and no
// error from the library, the element or the page.
func checkPlayed(t *testing.T, r playResult) {
	t.Helper()
	switch {
	case !r.CrossOrigin:
		t.Errorf("%s %s: page and stream share an origin", r.Lib, r.URL)
	case r.Advanced <= 1.0 || r.Frames <= 0:
		t.Errorf("%s %s (%s): currentTime advanced %.2fs, %d frames decoded", r.Lib, r.URL, r.Config, r.Advanced, r.Frames)
	case r.Width != 640 || r.Height != 360:
		t.Errorf("%s %s: video is %dx%d, want 640x360", r.Lib, r.URL, r.Width, r.Height)
	case len(r.Errors) > 0 || r.MediaError != "" || len(r.Console) > 0:
		t.Errorf("%s %s: errors %q, media error %q, console %q", r.Lib, r.URL, r.Errors, r.MediaError, r.Console)
	case !r.Pass:
		t.Errorf("%s %s: play.mjs says fail", r.Lib, r.URL)
	}
}

// mpegts.js and flv.js each play HTTP-FLV and WS-FLV in headless Chromium,
// with a low-latency configuration, with the libraries' defaults, and
// (mpegts.js) demuxing in a Web Worker.
func TestBrowserPlayback(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/web"))
	waitLive(t, srv, "live", "web")
	httpU := httpURL(srv, "/live/web.flv?sign=any")
	wsU := "ws://" + srv.HTTPAddr() + "/live/web.flv"
	// 2 URLs x 2 libraries x 2 configurations, and mpegts.js in a worker
	runPlay(t, 10, "--configs", "live,default,worker", httpU, wsU)
}

// Players that open the page before the publisher starts wait for it (the
// response head at once, the FLV header with the publisher's flags later)
// and then play; here all four at once, one tab each.
func TestBrowserPlayBeforePublish(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	srv := startServer(t, nil)
	httpU := httpURL(srv, "/live/later.flv")
	wsU := "ws://" + srv.HTTPAddr() + "/live/later.flv"
	cmd, sc, stderr := nodeScript(t, 3*time.Minute, "play.mjs", "--parallel", "--configs", "live", "--timeout", "25", httpU, wsU)
	waitPlayers(t, srv, "live", "later", 4)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/later"))
	var n int
	for sc.Scan() {
		var r playResult
		must(t, json.Unmarshal(sc.Bytes(), &r))
		t.Logf("%s %s: advanced %.2fs, %d frames, %dx%d in %d ms", r.Lib, r.URL, r.Advanced, r.Frames, r.Width, r.Height, r.ElapsedMs)
		checkPlayed(t, r)
		n++
	}
	if err := cmd.Wait(); err != nil || n != 4 {
		t.Fatalf("play.mjs: %v, %d results\n%s", err, n, stderr)
	}
}

// waitPlayers waits until app/name has n players attached.
func waitPlayers(t *testing.T, srv *Server, app, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s := srv.hub.lookup(app, name); s != nil {
			if s.playerCount() >= n {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/%s/%s never had %d players", app, name, n)
}

// ffmpegFrames decodes d seconds of url with ffmpeg into framecrc (one
// line per decoded frame, after a header naming each output stream) and
// returns the header lines that describe the streams and the frame count
// of each stream. Any warning, and any error (-xerror), is an error.
func ffmpegFrames(url string, d time.Duration) (header string, counts map[string]int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-xerror",
		"-rw_timeout", "20000000", "-i", url, "-t", fmt.Sprint(d.Seconds()), "-map", "0",
		"-enc_time_base:v", "-1", "-f", "framecrc", "-") // time base: see ffmpegDecode
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		return "", nil, fmt.Errorf("ffmpeg %s: %v\n%s", url, err, stderr.Bytes())
	}
	counts = map[string]int{}
	var hdr strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "#media_type"), strings.HasPrefix(line, "#dimensions"),
			strings.HasPrefix(line, "#sample_rate"), strings.HasPrefix(line, "#channel_layout_name"):
			hdr.WriteString(line + "\n")
		case line != "" && line[0] != '#':
			idx, _, _ := strings.Cut(line, ",")
			counts[idx]++
		}
	}
	return hdr.String(), counts, nil
}

// checkFrames wants exactly a 640x360 video stream and a 44.1 kHz stereo
// audio stream, and about as many frames as d holds (30 fps; AAC frames
// of 1024 samples).
func checkFrames(t *testing.T, url string, d time.Duration, hdr string, counts map[string]int, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	want := "#media_type 0: video\n#dimensions 0: 640x360\n#media_type 1: audio\n" +
		"#sample_rate 1: 44100\n#channel_layout_name 1: stereo\n"
	if hdr != want || len(counts) != 2 {
		t.Fatalf("%s: decoded streams\n%s(frames %v), want\n%s", url, hdr, counts, want)
	}
	secs := d.Seconds()
	if v, a := counts["0"], counts["1"]; float64(v) < 0.8*30*secs || float64(a) < 0.8*44100/1024*secs {
		t.Fatalf("%s: %d video and %d audio frames decoded in %v", url, v, a, d)
	}
	t.Logf("%s: %d video, %d audio frames decoded, no warning", url, counts["0"], counts["1"])
}

// ffmpeg and ffprobe read HTTP-FLV as a late joiner (a GOP or more after
// the start, where the headers and metadata come from the cache) and as a
// player that connected before the publisher: h264 and aac, 640x360, no
// extra (data or subtitle) stream, every frame decoded without a warning.
// RTMP late joiners are probed too: their re-stamped headers must not
// make ffmpeg see a subtitle stream either.
func TestFFmpegHTTPFLVDecode(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/late"))
	waitLive(t, srv, "live", "late")
	time.Sleep(1500 * time.Millisecond) // past the second keyframe
	checkProbe(t, ffprobe(t, httpURL(srv, "/live/late.flv")))
	checkProbe(t, ffprobe(t, rtmpURL(srv, "/live/late")))
	u := httpURL(srv, "/live/late.flv?sign=x")
	hdr, counts, err := ffmpegFrames(u, 3*time.Second)
	checkFrames(t, u, 3*time.Second, hdr, counts, err)

	// Before the publisher: the player gets the response head at once and
	// the FLV header when the publisher's headers are known.
	done := make(chan struct{})
	u = httpURL(srv, "/live/early.flv")
	go func() {
		defer close(done)
		hdr, counts, err = ffmpegFrames(u, 3*time.Second)
	}()
	waitPlayers(t, srv, "live", "early", 1)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/early"))
	<-done
	checkFrames(t, u, 3*time.Second, hdr, counts, err)
}

// wsResult is the line wsclient.mjs prints at the end.
type wsResult struct {
	Mode                               string
	Messages, Bytes                    int
	Sizes                              []int
	AllBinary, Pong                    bool
	Errors                             []string
	CloseCode                          int
	CloseReason                        string
	CloseMs                            int
	CloseFrameReceived, CloseFrameSent bool
	Clean                              bool
}

// livePublisher publishes the synthetic stream to path and keeps sending
// a frame pair every 10 ms until stop is called (which also unpublishes).
func livePublisher(t *testing.T, srv *Server, path string) (stop func()) {
	t.Helper()
	pub := testPublisher(t, rtmpURL(srv, path))
	sendGOPs(t, pub, 0, 60, 30)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 60; ; i++ {
			select {
			case <-quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
			ts := uint32(i * 33)
			if pub.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%30 == 0)) != nil ||
				pub.WriteMedia(MsgAudio, ts, testAudioFrame(i)) != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() { close(quit); <-done; pub.Close() })
	}
	t.Cleanup(stop)
	return stop
}

// The ws package reads WS-FLV without a protocol error, and the close
// handshake completes both ways: the client's close gets the server's
// reply, and the end of the publication sends a close the client answers.
func TestWSStrictClient(t *testing.T) {
	requireNode(t, "ws")
	for _, mode := range []string{"client-close", "publisher-ends"} {
		t.Run(mode, func(t *testing.T) {
			// after the publisher leaves, the player waits -play-wait
			// for the next one, then closes
			srv := startServer(t, func(c *Config) { c.PlayWait.Duration = 500 * time.Millisecond })
			stop := livePublisher(t, srv, "/live/strict")
			out := filepath.Join(t.TempDir(), "ws.flv")
			url := "ws://" + srv.HTTPAddr() + "/live/strict.flv?sign=x"
			cmd, sc, stderr := nodeScript(t, 20*time.Second, "wsclient.mjs", url, out, mode, "6000")
			var res wsResult
			for sc.Scan() {
				if strings.Contains(sc.Text(), `"ready":true`) {
					stop() // the publisher leaves
					continue
				}
				must(t, json.Unmarshal(sc.Bytes(), &res))
			}
			err := cmd.Wait()
			t.Logf("%s: %d messages, %d bytes, close %d %q after %d ms, errors %q",
				mode, res.Messages, res.Bytes, res.CloseCode, res.CloseReason, res.CloseMs, res.Errors)
			if err != nil || !res.Clean {
				t.Fatalf("not clean (%v): %+v\n%s", err, res, stderr)
			}
			if res.CloseMs > int(wsCloseWait/time.Millisecond) {
				t.Errorf("close handshake took %d ms: the server did not answer", res.CloseMs)
			}
			checkWSMessages(t, out, res.Sizes)
		})
	}
}

// checkWSMessages reads the payloads the ws client saved as HTTP-FLV
// bytes and checks the message boundaries: the FLV header (with
// PreviousTagSize0) alone, then exactly one whole tag per message.
func checkWSMessages(t *testing.T, file string, sizes []int) {
	t.Helper()
	data, err := os.ReadFile(file)
	must(t, err)
	if len(sizes) < 10 || sizes[0] != 13 {
		t.Fatalf("message sizes %v: want the 13-byte FLV header first", sizes[:min(len(sizes), 10)])
	}
	r := bytes.NewReader(data)
	if h := readFLVHeader(t, r); !h.HasAudio || !h.HasVideo {
		t.Fatalf("flv header flags %+v", h)
	}
	tags := readFLVTags(t, r, len(sizes)-1)
	for i, tag := range tags {
		if want := flvTagHeaderLen + len(tag.Data) + flvPrevSizeLen; sizes[i+1] != want {
			t.Fatalf("message %d is %d bytes, its tag %d", i+1, sizes[i+1], want)
		}
	}
	if tags[0].Type != TagScript || tags[3].Type != TagVideo || tags[3].Data[0] != 0x17 {
		t.Fatalf("want onMetaData, headers, then a keyframe; got %v %v % x", tags[0].Type, tags[3].Type, tags[3].Data[:2])
	}
}

// victim is a player of a live stream that must not notice anything while
// other connections misbehave: its video frame numbers stay consecutive.
type victim struct {
	name  string
	count atomic.Int64 // video frames read in order
	err   error        // why the reader ended; read after done
	done  chan struct{}
}

func startVictim(t *testing.T, name string, r io.Reader) *victim {
	v := &victim{name: name, done: make(chan struct{})}
	go func() {
		last := -1
		defer close(v.done)
		var hdr [13]byte
		if _, v.err = io.ReadFull(r, hdr[:]); v.err != nil {
			return
		}
		fr := NewFLVReader(r, 1<<20)
		for {
			tag, err := fr.ReadTag()
			if err != nil {
				v.err = err
				return
			}
			if tag.Type != TagVideo || tag.Data[1] != 1 {
				continue
			}
			n := frameNumber(tag.Data)
			if last >= 0 && n != last+1 {
				v.err = fmt.Errorf("video frame %d after %d", n, last)
				return
			}
			last = n
			v.count.Add(1)
		}
	}()
	return v
}

// check wants the victim still reading, with more frames than before.
func (v *victim) check(t *testing.T, before int64) int64 {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for v.count.Load() <= before+5 && time.Now().Before(deadline) {
		select {
		case <-v.done:
			t.Fatalf("%s player ended: %v", v.name, v.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-v.done:
		t.Fatalf("%s player ended: %v", v.name, v.err)
	default:
	}
	n := v.count.Load()
	if n <= before {
		t.Fatalf("%s player got no frames (%d)", v.name, n)
	}
	return n
}

// rawHTTP sends req on a fresh connection and returns the response (the
// body is not read: an FLV body never ends). A connection the server
// drops without a response is an error.
func rawHTTP(srv *Server, req string) (*http.Response, net.Conn, error) {
	c, err := net.Dial("tcp", srv.HTTPAddr())
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return resp, c, nil
}

// oddRequests are malformed or unusual requests to the HTTP port, with
// the status each must get (a stream /live/v is live, -play-wait short).
var oddRequests = []struct {
	name, req string
	status    int
}{
	// NMS 4.4.3 crashes on the first two.
	{"dotted app", "GET /a.b/c.flv HTTP/1.1\r\n" + oddHost + "\r\n", 200}, // a valid path: waits, then ends
	{"ws upgrade to /", "GET / HTTP/1.1\r\n" + oddHost + wsGoodHeaders + "\r\n", 404},
	{"ws upgrade to api", "GET /api/v1/streams HTTP/1.1\r\n" + oddHost + wsGoodHeaders + "\r\n", 404},
	{"ws upgrade to bad name", "GET /live/a%20b.flv HTTP/1.1\r\n" + oddHost + wsGoodHeaders + "\r\n", 404},
	{"ws upgrade to non-flv", "GET /live/v.mp4 HTTP/1.1\r\n" + oddHost + wsGoodHeaders + "\r\n", 404},
	{"ws no key", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
	{"ws short key", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n", 400},
	{"ws key not base64", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\n\r\n", 400},
	{"ws two keys", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + wsGoodHeaders + "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", 400},
	{"ws version 8", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 426},
	{"ws no version", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 426},
	{"ws over HTTP/1.0", "GET /live/v.flv HTTP/1.0\r\n" + oddHost + wsGoodHeaders + "\r\n", 400},
	{"ws POST", "POST /live/v.flv HTTP/1.1\r\n" + oddHost + wsGoodHeaders + "Content-Length: 0\r\n\r\n", 405},
	{"ws case-insensitive", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "upgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 101},
	{"root", "GET / HTTP/1.1\r\n" + oddHost + "\r\n", 200},
	{"no app", "GET /v.flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"empty name", "GET /live/.flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"dot-dot", "GET /live/..flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"encoded slash", "GET /live/a%2Fb.flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"nul byte", "GET /live/a%00.flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"deep path", "GET /live/a/b/c.flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"long name", "GET /live/" + strings.Repeat("n", 200) + ".flv HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"upper-case suffix", "GET /live/v.FLV HTTP/1.1\r\n" + oddHost + "\r\n", 404},
	{"PUT", "PUT /live/v.flv HTTP/1.1\r\n" + oddHost + "Content-Length: 0\r\n\r\n", 405},
	{"HEAD", "HEAD /live/v.flv HTTP/1.1\r\n" + oddHost + "\r\n", 200},
	{"OPTIONS preflight", "OPTIONS /live/v.flv HTTP/1.1\r\n" + oddHost + "Origin: http://127.0.0.1:1\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\n\r\n", 204},
	{"query string", "GET /live/v.flv?sign=1-abc&x=%zz HTTP/1.1\r\n" + oddHost + "\r\n", 200},
	{"headers too large", "GET /live/v.flv HTTP/1.1\r\n" + oddHost + "X-Big: " + strings.Repeat("b", 40<<10) + "\r\n\r\n", 431},
	{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
	{"no host", "GET /live/v.flv HTTP/1.1\r\n\r\n", 400},
}

const oddHost = "Host: x\r\n"

// Malformed and odd HTTP requests get a clear answer on their own
// connection; HTTP-FLV and WS-FLV players of the stream go on.
func TestHTTPMalformedRequests(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.PlayWait.Duration = 300 * time.Millisecond })
	livePublisher(t, srv, "/live/v")
	victims := []*victim{
		startVictim(t, "http-flv", httpGetFLV(t, httpURL(srv, "/live/v.flv"))),
		startVictim(t, "ws-flv", dialWS(t, srv.HTTPAddr(), "/live/v.flv")),
	}
	counts := make([]int64, len(victims))
	for _, c := range oddRequests {
		resp, conn, err := rawHTTP(srv, c.req)
		if err != nil {
			t.Fatalf("%s: no response: %v", c.name, err)
		}
		checkOddResponse(t, c.name, resp, c.status)
		conn.Close()
		for i, v := range victims {
			counts[i] = v.check(t, counts[i])
		}
	}
	// HEAD, OPTIONS and refused upgrades created no player, and those
	// that played are gone with their connections: the victims remain.
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := srv.hub.lookup("live", "v").playerCount()
		if n == len(victims) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d players attached, want %d", n, len(victims))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOddResponse checks status and, for the FLV URL, CORS and caching.
func checkOddResponse(t *testing.T, name string, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: %s, want %d", name, resp.Status, want)
	}
	hd := resp.Header
	switch name {
	case "HEAD":
		if hd.Get("Content-Type") != "video/x-flv" || hd.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(hd.Get("Cache-Control"), "no-cache") {
			t.Errorf("HEAD headers %v", hd)
		}
	case "OPTIONS preflight":
		if hd.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(hd.Get("Access-Control-Allow-Methods"), "GET") ||
			!strings.Contains(strings.ToLower(hd.Get("Access-Control-Allow-Headers")), "range") {
			t.Errorf("preflight headers %v", hd)
		}
	case "ws version 8", "ws no version":
		if hd.Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("%s: 426 without Sec-WebSocket-Version: 13: %v", name, hd)
		}
	case "ws case-insensitive":
		if hd.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Errorf("accept %q", hd.Get("Sec-WebSocket-Accept"))
		}
	case "query string", "dotted app":
		if hd.Get("Content-Type") != "video/x-flv" {
			t.Errorf("%s: %v", name, hd)
		}
	}
}

// wsRawFrame is a server frame as read off the wire.
type wsRawFrame struct {
	op      WSOpcode
	fin     bool
	payload []byte
}

// readServerFrame reads one server frame, which must be unmasked with
// zero RSV bits.
func readServerFrame(br *bufio.Reader) (wsRawFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return wsRawFrame{}, err
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return wsRawFrame{}, fmt.Errorf("server frame % x: RSV or MASK set", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return wsRawFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return wsRawFrame{}, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 16<<20 {
		return wsRawFrame{}, fmt.Errorf("server frame of %d bytes", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(br, p)
	return wsRawFrame{op: WSOpcode(h[0] & 0x0f), fin: h[0]&0x80 != 0, payload: p}, err
}

// expectClose reads server frames (media, pongs) until a close frame, and
// then wants the server to close the TCP connection. It returns the close
// code and whether a pong with payload pong was seen on the way.
func expectClose(t *testing.T, c *wsClient, pong string) (CloseCode, bool) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	sawPong := false
	for {
		f, err := readServerFrame(c.br)
		if err != nil {
			t.Fatalf("before the close frame: %v", err)
		}
		switch f.op {
		case WSBinary, WSContinuation:
			continue
		case WSPong:
			sawPong = sawPong || string(f.payload) == pong
			continue
		case WSClose:
		default:
			t.Fatalf("unexpected server %v frame", f.op)
		}
		code, _, err := parseWSClose(f.payload)
		if err != nil {
			t.Fatalf("server close payload % x: %v", f.payload, err)
		}
		if _, err := io.Copy(io.Discard, c.br); err != nil {
			t.Fatalf("after the close frame the server did not close the connection: %v", err)
		}
		return code, sawPong
	}
}

// Bad client frames fail their own connection with the right close code
// (RFC 6455 section 7.4.1); pings are answered; other players go on.
func TestWSMalformedFrames(t *testing.T) {
	srv := startServer(t, nil)
	livePublisher(t, srv, "/live/w")
	victims := []*victim{
		startVictim(t, "http-flv", httpGetFLV(t, httpURL(srv, "/live/w.flv"))),
		startVictim(t, "ws-flv", dialWS(t, srv.HTTPAddr(), "/live/w.flv")),
	}
	counts := make([]int64, len(victims))
	frame := wsClientFrame
	unmasked := func(op WSOpcode, p []byte) []byte { return appendWSFrame(nil, op, p) }
	withByte0 := func(b0 byte, p []byte) []byte { f := frame(true, WSBinary, p); f[0] = b0; return f }
	closeBody := wsTestCloseBody
	big := make([]byte, wsMaxMessage+1)
	half := make([]byte, wsMaxMessage/2+1)
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	for _, c := range []struct {
		name string
		in   []byte
		want CloseCode
		pong string // a pong payload that must come back first
	}{
		{"client close", frame(true, WSClose, closeBody(CloseGoingAway, "bye")), CloseGoingAway, ""},
		{"empty close", frame(true, WSClose, nil), CloseNormal, ""},
		{"ping then close", cat(frame(true, WSPing, []byte("p1")), frame(true, WSClose, nil)), CloseNormal, "p1"},
		{"text message", cat(frame(true, WSText, []byte("héllo")), frame(true, WSPing, []byte("p2")), frame(true, WSClose, nil)), CloseNormal, "p2"},
		{"fragmented binary, ping inside", cat(frame(false, WSBinary, []byte("a")), frame(true, WSPing, []byte("p3")),
			frame(true, WSContinuation, []byte("b")), frame(true, WSClose, nil)), CloseNormal, "p3"},
		{"unmasked frame", unmasked(WSBinary, []byte("x")), CloseProtocolError, ""},
		{"unmasked close", unmasked(WSClose, closeBody(CloseNormal, "")), CloseProtocolError, ""},
		{"oversized frame", frame(true, WSBinary, big), CloseTooBig, ""},
		{"oversized fragmented message", cat(frame(false, WSBinary, half), frame(true, WSContinuation, half)), CloseTooBig, ""},
		{"64-bit length top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, CloseProtocolError, ""},
		{"huge 64-bit length", []byte{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}, CloseTooBig, ""},
		{"reserved opcode 3", withByte0(0x83, []byte("x")), CloseProtocolError, ""},
		{"reserved control opcode B", withByte0(0x8b, nil), CloseProtocolError, ""},
		{"RSV1", withByte0(0xc2, []byte("x")), CloseProtocolError, ""},
		{"RSV3", withByte0(0x92, []byte("x")), CloseProtocolError, ""},
		{"fragmented ping", frame(false, WSPing, []byte("x")), CloseProtocolError, ""},
		{"fragmented close", frame(false, WSClose, nil), CloseProtocolError, ""},
		{"control over 125", frame(true, WSPing, make([]byte, 126)), CloseProtocolError, ""},
		{"continuation first", frame(true, WSContinuation, []byte("x")), CloseProtocolError, ""},
		{"new message inside fragmented", cat(frame(false, WSText, []byte("a")), frame(true, WSBinary, []byte("b"))), CloseProtocolError, ""},
		{"text not UTF-8", frame(true, WSText, []byte{0xff, 0xfe}), CloseInvalidData, ""},
		{"close 1-byte payload", frame(true, WSClose, []byte{3}), CloseProtocolError, ""},
		{"close code 1005", frame(true, WSClose, closeBody(CloseNoStatus, "")), CloseProtocolError, ""},
		{"close code 999", frame(true, WSClose, []byte{0x03, 0xe7}), CloseProtocolError, ""},
		{"close reason not UTF-8", frame(true, WSClose, []byte{0x03, 0xe8, 0xff}), CloseInvalidData, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := dialWS(t, srv.HTTPAddr(), "/live/w.flv")
			ws.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := ws.conn.Write(c.in); err != nil {
				t.Fatal(err)
			}
			code, sawPong := expectClose(t, ws, c.pong)
			if code != c.want {
				t.Errorf("close code %d (%v), want %d (%v)", code, code, c.want, c.want)
			}
			if c.pong != "" && !sawPong {
				t.Errorf("no pong %q before the close", c.pong)
			}
			for i, v := range victims {
				counts[i] = v.check(t, counts[i])
			}
		})
	}
	// A client that vanishes mid-frame or mid-handshake costs nothing.
	for _, cut := range [][]byte{frame(true, WSBinary, []byte("abcdef"))[:5], {0x82}} {
		ws := dialWS(t, srv.HTTPAddr(), "/live/w.flv")
		ws.conn.Write(cut)
		ws.conn.Close()
	}
	for i, v := range victims {
		counts[i] = v.check(t, counts[i])
	}
}

// wireRecorder is a player connection that keeps every slice it is
// handed, without copying, so that a test can see whose bytes they are.
type wireRecorder struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *wireRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, p)
	w.mu.Unlock()
	return len(p), nil
}

func (w *wireRecorder) SetWriteDeadline(time.Time) error { return nil }

// writeAll records each slice of a batch as a write of its own (the
// recorder is its own frameWriter, writer.go), so that the test sees the
// very slices.
func (w *wireRecorder) writeAll(bufs [][]byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range bufs {
		w.writes = append(w.writes, b)
		n += len(b)
	}
	return n, nil
}

// tryWrite takes everything, as a socket with room does.
func (w *wireRecorder) tryWrite(bufs [][]byte) (int, error) { return w.writeAll(bufs) }

// sameBytes reports whether a and b are the same memory, not just equal.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// Every player of a stream, whatever its protocol, runs the same loop on
// the same ring and writes the bytes the ring's frames carry (built once in
// newFrame; Frame.appendWire only picks them): two HTTP-FLV players, a
// WS-FLV player and an RTMP player are handed the very same backing arrays
// for every frame, and the payload the four of them send is one array
// (stored once, between each protocol's framing). (TestFanoutNoPerPlayerAllocs shows the same path allocates
// nothing per player.)
func TestPlayersShareEncodedBytes(t *testing.T) {
	h := newHub(defaultConfig())
	protos := []wireProto{protoFLV, protoFLV, protoWS, protoRTMP}
	recs := make([]*wireRecorder, len(protos))
	var wg sync.WaitGroup
	for i, proto := range protos {
		recs[i] = &wireRecorder{}
		p := newPlayer(h, &sessionInfo{}, proto, recs[i], &writeLock{})
		if proto == protoRTMP {
			p.startFn = func(*headerSet, bool) error { return nil }
		} else {
			p.startFn = flvStart(p)
		}
		h.addPlayer("live", "share", p)
		wg.Add(1)
		go func() { defer wg.Done(); p.run(0) }()
	}
	st, ring, err := h.publish("live", "share", &sessionInfo{})
	must(t, err)
	var frames []*Frame
	// One keyframe and 1 ms steps: no GOP is released and no player is
	// past -max-lag, so every player must get every frame.
	add := func(typ TagType, payload []byte) {
		info, err := ClassifyTag(typ, payload)
		must(t, err)
		f := newFrame(typ, uint32(len(frames)), info, payload)
		frames = append(frames, f)
		st.append(ring, f)
	}
	add(TagVideo, testVideoHeader)
	add(TagAudio, testAudioHeader)
	for i := 0; i < 90; i++ {
		add(TagVideo, testVideoFrame(i, i == 0))
		add(TagAudio, testAudioFrame(i))
		if i%10 == 0 {
			time.Sleep(time.Millisecond) // players take several batches
		}
	}
	st.unpublish(ring)
	wg.Wait()
	for i, rec := range recs {
		checkSharedWrites(t, protos[i], rec.writes, frames[2:])
	}
	// Every player, of every protocol: one payload array per frame.
	for _, f := range frames[2:] {
		for i, rec := range recs {
			if !containsSlice(rec.writes, f.Payload[:min(len(f.Payload), outChunkSize)]) {
				t.Fatalf("frame %d: the %v player did not send the frame's one payload array", f.Seq, protos[i])
			}
		}
	}
}

// checkSharedWrites wants, at the end of a player's writes, one write per
// frame part, each the frame's own bytes.
func checkSharedWrites(t *testing.T, proto wireProto, writes [][]byte, frames []*Frame) {
	t.Helper()
	var want [][]byte
	for _, f := range frames {
		want = f.appendWire(want, proto)
	}
	if len(writes) < len(want) {
		t.Fatalf("%v player: %d writes, want at least %d", proto, len(writes), len(want))
	}
	got := writes[len(writes)-len(want):]
	for i := range want {
		if !sameBytes(got[i], want[i]) {
			t.Fatalf("%v player, write %d of the frames: not the frame's own bytes (equal: %v)",
				proto, i, bytes.Equal(got[i], want[i]))
		}
	}
}

func containsSlice(writes [][]byte, b []byte) bool {
	for _, w := range writes {
		if sameBytes(w, b) {
			return true
		}
	}
	return false
}

// FuzzHTTPRequest sends any request that net/http parses through the
// server's whole HTTP routing (FLV paths, WebSocket handshakes, CORS,
// status pages). No input may panic, and each gets a real status; a WS
// upgrade to a path flvPath refuses gets 404; outside the status page,
// /healthz, /metrics and the API no path that is neither an FLV nor an MP4
// stream nor an HLS URI gets a 2xx; an API
// answer is an envelope whose success matches its status; and the request
// leaves no session in the hub. (A HEAD answer's body is not checked: the
// recorder keeps what net/http's server drops.) The recorder
// cannot be hijacked, so a request that would play fails there.
func FuzzHTTPRequest(f *testing.F) {
	for _, c := range oddRequests {
		f.Add([]byte(c.req))
	}
	srv := NewServer(defaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	handler := srv.httpHandler()
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || req.ProtoMajor != 1 {
			return // refused by net/http before any of our code runs (505 for HTTP/5.1)
		}
		req.RemoteAddr = "127.0.0.1:1"
		ws, path := isWSUpgrade(req), req.URL.Path
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		code := rec.Code
		_, _, flvOK := flvPath(path)
		_, _, mp4OK := mediaPath(path, ".mp4")
		_, hlsOK := parseHLSPath(path)
		api := strings.HasPrefix(path, "/api/")
		switch {
		case code < 100 || code > 599:
			t.Fatalf("status %d for %q", code, raw)
		case ws && !flvOK && code != http.StatusNotFound:
			t.Fatalf("WS upgrade to %q: %d, want 404", path, code)
		case code < 300 && !flvOK && !mp4OK && !hlsOK && !api && path != "/" && path != "/healthz" && path != "/metrics":
			t.Fatalf("%s %q: %d for a path no route takes", req.Method, path, code)
		}
		if api && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var env struct{ Success *bool }
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil || *env.Success != (code < 300) {
				t.Fatalf("%s %q: %d with body %q", req.Method, path, code, rec.Body.Bytes())
			}
		}
		if n := len(srv.hub.sessionList()); n != 0 {
			t.Fatalf("%s %q left %d sessions in the hub", req.Method, path, n)
		}
	})
}
