package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Golden signed URLs, computed independently of auth.go with
// md5("/live/stream-1700000000-nodemedia2017privatekey") (Python hashlib),
// the string NMS's verifyAuth hashes.
const (
	nmsSecret = "nodemedia2017privatekey"
	nmsSign   = "1700000000-5a3594bc9bbc63ab69bae153ea648e0c"
)

func TestCheckSignNMSCompatible(t *testing.T) {
	before := time.Unix(1699999000, 0)
	hash := nmsSign[len("1700000000-"):]
	for _, tc := range []struct {
		name, path, query, secret string
		now                       time.Time
		want                      error
	}{
		{"valid", "/live/stream", "sign=" + nmsSign, nmsSecret, before, nil},
		{"valid at exp", "/live/stream", "sign=" + nmsSign, nmsSecret, time.Unix(1700000000, 0), nil},
		{"among other parameters", "/live/stream", "a=1&sign=" + nmsSign + "&b=2", nmsSecret, before, nil},
		{"upper-case hex", "/live/stream", "sign=1700000000-" + strings.ToUpper(hash), nmsSecret, before, nil},
		// NMS parses exp with parseInt, so a leading zero hashes the same
		{"leading zero", "/live/stream", "sign=01700000000-" + hash, nmsSecret, before, nil},
		{"expired", "/live/stream", "sign=" + nmsSign, nmsSecret, time.Unix(1700000001, 0), ErrSignExpired},
		{"tampered hash", "/live/stream", "sign=1700000000-5a3594bc9bbc63ab69bae153ea648e0d", nmsSecret, before, ErrSignInvalid},
		{"tampered exp", "/live/stream", "sign=1700000001-" + hash, nmsSecret, before, ErrSignInvalid},
		{"other stream", "/live/other", "sign=" + nmsSign, nmsSecret, before, ErrSignInvalid},
		{"other secret", "/live/stream", "sign=" + nmsSign, "guess", before, ErrSignInvalid},
		{"short hash", "/live/stream", "sign=1700000000-5a3594bc", nmsSecret, before, ErrSignInvalid},
		{"no dash", "/live/stream", "sign=1700000000", nmsSecret, before, ErrSignInvalid},
		{"no exp", "/live/stream", "sign=-" + hash, nmsSecret, before, ErrSignInvalid},
		{"plus exp", "/live/stream", "sign=+1700000000-" + hash, nmsSecret, before, ErrSignInvalid},
		{"exp overflow", "/live/stream", "sign=99999999999999999999-" + hash, nmsSecret, before, ErrSignInvalid},
		{"no sign", "/live/stream", "a=1", nmsSecret, before, ErrSignMissing},
		{"empty sign", "/live/stream", "sign=", nmsSecret, before, ErrSignMissing},
		{"empty query", "/live/stream", "", nmsSecret, before, ErrSignMissing},
		{"no secret", "/live/stream", "sign=" + nmsSign, "", before, ErrNoSecret},
	} {
		if err := checkSign(tc.path, tc.query, tc.secret, tc.now); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := SignURL("/live/stream", 1700000000, nmsSecret); got != nmsSign {
		t.Errorf("SignURL = %s, want %s", got, nmsSign)
	}
	if got := SignURL("/live/cam", 4102444800, "s3cret"); got != "4102444800-6aec34d2846d6ab4eeb63162f279acb7" {
		t.Errorf("SignURL = %s", got)
	}
}

func TestRedactSign(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"token=abc":              "token=abc",
		"sign=1-abc":             "sign=REDACTED",
		"a=1&sign=1-abc&b=2":     "a=1&sign=REDACTED&b=2",
		"sig%6E=1-abc":           "sig%6E=REDACTED",
		"sign":                   "sign=REDACTED",
		"signal=1&design=2":      "signal=1&design=2",
		"sign=1&sign=2&x=%zz":    "sign=REDACTED&sign=REDACTED&x=%zz",
		"a=sign&b=1-sign-secret": "a=sign&b=1-sign-secret",
	} {
		if got := redactSign(in); got != want {
			t.Errorf("redactSign(%q) = %q, want %q", in, got, want)
		}
	}
}

// signedQuery is "?sign=..." valid for a minute.
func signedQuery(path, secret string) string {
	return "?sign=" + SignURL(path, time.Now().Unix()+60, secret)
}

// intrude tries to publish url and expects the refusal code; then, as a
// hostile client would, it sends its own metadata, headers and frames.
func intrude(t *testing.T, url, code string) {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	must(t, err)
	defer c.Close()
	err = c.Publish(ctxT(t, 5*time.Second))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != code {
		t.Fatalf("publish %s: %v, want %s", url, err, code)
	}
	c.WriteMetadata(ECMAArray{{"width", 1920.0}, {"height", 1080.0}}, 0)
	c.WriteMedia(MsgVideo, 0, []byte{0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x28, 0xde, 0xad})
	c.WriteMedia(MsgAudio, 0, []byte{0xaf, 0x00, 0x11, 0x90})
	c.WriteMedia(MsgVideo, 40, []byte{0x17, 0x01, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef})
}

// checkLateJoin plays url from scratch: the prologue must be the live
// publisher's own metadata and headers.
func checkLateJoin(t *testing.T, url string) {
	t.Helper()
	p := testPlayer(t, url)
	got := readMedia(t, p, 4)
	checkPrologue(t, got)
	meta, _ := DecodeAMF0All(got[0].Payload)
	if len(meta) < 2 || !strings.Contains(fmtValue(meta[1]), "640") {
		t.Errorf("metadata changed: %v", meta)
	}
	p.Close()
}

func fmtValue(v any) string { b, _ := json.Marshal(v); return string(b) }

// Signed URLs made as NMS makes them are accepted;
// expired, tampered or missing ones are refused with Publish.Unauthorized
// or Play.Failed (RTMP), 401/403 (HTTP, WS), before any media flows; a
// refused or duplicate publisher changes nothing in the live stream.
func TestSignedURLs(t *testing.T) {
	const secret = "s3cret"
	srv := startServer(t, func(c *Config) { c.AuthPublish, c.AuthPlay, c.AuthSecret = true, true, secret })
	good := signedQuery("/live/cam", secret)
	lc := startLive(t, srv, "/live/cam"+good)

	exp := time.Now().Unix() + 60
	expired := "?sign=" + SignURL("/live/cam", time.Now().Unix()-1, secret)
	tampered := "?sign=" + strconv.FormatInt(exp, 10) + "-" + strings.Repeat("0", 32)
	otherStream := signedQuery("/live/other", secret)
	for _, q := range []string{expired, tampered, otherStream, "", "?sign=garbage"} {
		intrude(t, rtmpURL(srv, "/live/cam"+q), "NetStream.Publish.Unauthorized")
	}
	intrude(t, rtmpURL(srv, "/live/cam"+good), "NetStream.Publish.BadName") // duplicate

	for _, q := range []string{expired, tampered, otherStream, ""} {
		checkPlayRefused(t, rtmpURL(srv, "/live/cam"+q))
	}
	for q, want := range map[string]int{"": 401, "?sign=": 401, expired: 403, tampered: 403, otherStream: 403, good: 200} {
		checkHTTPPlay(t, srv, "/live/cam.flv"+q, want)
	}
	checkLateJoin(t, rtmpURL(srv, "/live/cam"+good))
	lc.check(t, 10)
}

// checkPlayRefused plays url and wants NetStream.Play.Failed with no
// Play.Start and no media before or after it.
func checkPlayRefused(t *testing.T, url string) {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	must(t, err)
	defer c.Close()
	err = c.Play(ctxT(t, 5*time.Second))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Play.Failed" {
		t.Fatalf("play %s: %v, want NetStream.Play.Failed", url, err)
	}
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		m, err := c.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("play %s: connection left open after refusal", url)
			}
			break
		}
		if m.Type == MsgAudio || m.Type == MsgVideo || m.Type == MsgDataAMF0 ||
			bytes.Contains(m.Payload, []byte("Play.Start")) {
			t.Fatalf("play %s: a refused player got %v", url, m.Type)
		}
	}
}

// checkHTTPPlay wants status for an HTTP-FLV GET and a WS upgrade of path;
// a refusal carries no FLV byte.
func checkHTTPPlay(t *testing.T, srv *Server, path string, want int) {
	t.Helper()
	for _, ws := range []bool{false, true} {
		c, err := net.Dial("tcp", srv.HTTPAddr())
		must(t, err)
		req := "GET " + path + " HTTP/1.1\r\nHost: x\r\n"
		if ws {
			req += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		}
		io.WriteString(c, req+"\r\n")
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		got, _ := io.ReadAll(c)
		c.Close()
		wantCode := want
		if ws && want == 200 {
			wantCode = 101
		}
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 "+strconv.Itoa(wantCode))) {
			t.Errorf("GET %s (ws %v): %q, want %d", path, ws, got[:min(len(got), 30)], wantCode)
		}
		if wantCode >= 400 && bytes.Contains(got, []byte("FLV\x01")) {
			t.Errorf("GET %s (ws %v): FLV bytes after a refusal", path, ws)
		}
	}
}

// hookRecorder is an HTTP hook endpoint: it denies names starting with
// "deny" and queries with deny=1, hangs on "slow", and records every
// event it gets.
type hookRecorder struct {
	mu     sync.Mutex
	events []hookEvent
	got    chan hookEvent
}

func newHookServer(t *testing.T) (*httptest.Server, *hookRecorder) {
	rec := &hookRecorder{got: make(chan hookEvent, 100)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev hookEvent
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&ev) != nil {
			t.Errorf("hook request: %s %s", r.Method, r.Header.Get("Content-Type"))
			w.WriteHeader(400)
			return
		}
		rec.mu.Lock()
		rec.events = append(rec.events, ev)
		rec.mu.Unlock()
		rec.got <- ev
		switch {
		case strings.HasPrefix(ev.Name, "slow"):
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case strings.HasPrefix(ev.Name, "deny") || strings.Contains(ev.Query, "deny=1"):
			w.WriteHeader(http.StatusForbidden)
		case strings.HasPrefix(ev.Name, "redirect"):
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}
	}))
	t.Cleanup(hs.Close)
	return hs, rec
}

// next waits for the next hook event with the given action (and
// protocol, if given), skipping others.
func (rec *hookRecorder) next(t *testing.T, action string, protocol ...string) hookEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-rec.got:
			if ev.Action == action && (len(protocol) == 0 || ev.Protocol == protocol[0]) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s hook event", action)
		}
	}
}

// Hooks decide before media flows; a denial or a timeout refuses; on_done
// reports the end of what was allowed.
func TestHooks(t *testing.T) {
	hs, rec := newHookServer(t)
	srv := startServer(t, func(c *Config) {
		c.OnPublish, c.OnPlay, c.OnDone = hs.URL+"/publish", hs.URL+"/play", hs.URL+"/done"
		c.HookTimeout.Duration = 500 * time.Millisecond
	})
	lc := startLive(t, srv, "/live/ok?token=t1&sign=1-secretsign")
	ev := rec.next(t, "publish")
	want := hookEvent{Action: "publish", App: "live", Name: "ok", Stream: "/live/ok",
		Query: "token=t1&sign=REDACTED", IP: "127.0.0.1", Protocol: "rtmp", ID: ev.ID}
	if ev != want || !strings.HasPrefix(ev.ID, "RTMP-") {
		t.Errorf("publish event %+v\nwant %+v", ev, want)
	}
	if ev := rec.next(t, "play"); ev.Name != "ok" || ev.Protocol != "rtmp" {
		t.Errorf("play event %+v", ev)
	}

	// a denied publisher of the live stream: nothing of it arrives
	intrude(t, rtmpURL(srv, "/live/ok?deny=1"), "NetStream.Publish.Unauthorized")
	// a hook that does not answer in time, or redirects, or is gone, denies
	start := time.Now()
	intrude(t, rtmpURL(srv, "/live/slow"), "NetStream.Publish.Unauthorized")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hook timeout took %v", d)
	}
	intrude(t, rtmpURL(srv, "/live/redirect"), "NetStream.Publish.Unauthorized")

	// denied players: RTMP Play.Failed, HTTP and WS 403
	checkPlayRefused(t, rtmpURL(srv, "/live/ok?deny=1"))
	checkHTTPPlay(t, srv, "/live/ok.flv?deny=1", 403)
	checkHTTPPlay(t, srv, "/live/ok.flv", 200)
	if ev := rec.next(t, "play", "flv"); ev.Name != "ok" || ev.Query != "deny=1" || !strings.HasPrefix(ev.ID, "FLV-") {
		t.Errorf("http play event %+v", ev)
	}
	if ev := rec.next(t, "play", "flv"); ev.Name != "ok" || ev.Query != "" {
		t.Errorf("http play event %+v", ev)
	}
	lc.check(t, 10)
	if ev := rec.next(t, "play_done", "rtmp"); ev.Name != "ok" {
		t.Errorf("play_done event %+v", ev)
	}
	lc.pub.Close()
	if ev := rec.next(t, "publish_done"); ev.Name != "ok" || ev.Query != "token=t1&sign=REDACTED" {
		t.Errorf("publish_done event %+v", ev)
	}
}

// A denied publisher never reaches a player already waiting for the
// stream: no PublishNotify, no byte of its media.
func TestHookDeniesBeforeMedia(t *testing.T) {
	hs, _ := newHookServer(t)
	srv := startServer(t, func(c *Config) { c.OnPublish = hs.URL })
	player := testPlayer(t, rtmpURL(srv, "/live/deny1"))
	intrude(t, rtmpURL(srv, "/live/deny1"), "NetStream.Publish.Unauthorized")
	if s := srv.hub.lookup("live", "deny1"); s != nil {
		if ring, _ := s.current(); ring != nil {
			t.Fatal("the denied publisher has a publication")
		}
	}
	player.conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		m, err := player.ReadMessage()
		if err != nil {
			break // the deadline: nothing came
		}
		if m.Type == MsgAudio || m.Type == MsgVideo || bytes.Contains(m.Payload, []byte("PublishNotify")) {
			t.Fatalf("the waiting player got %v from a denied publisher", m.Type)
		}
	}
}

// An unreachable hook denies; on_done never blocks the session that ends.
func TestHookUnreachableAndDoneAsync(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	dead := "http://" + ln.Addr().String()
	ln.Close()
	srv := startServer(t, func(c *Config) { c.OnPublish = dead; c.HookTimeout.Duration = time.Second })
	intrude(t, rtmpURL(srv, "/live/x"), "NetStream.Publish.Unauthorized")

	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	srv2 := startServer(t, func(c *Config) { c.OnDone = hung.URL; c.HookTimeout.Duration = 5 * time.Second })
	start := time.Now()
	for i := 0; i < 2*maxDoneQueue; i++ {
		srv2.auth.done(authRequest{Action: "play", App: "live", Name: "x"})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d on_done notifications to a hung hook took %v", 2*maxDoneQueue, d)
	}
	srv2.auth.mu.Lock()
	queued := len(srv2.auth.queue)
	srv2.auth.mu.Unlock()
	if queued > maxDoneQueue {
		t.Errorf("%d notifications queued, limit %d", queued, maxDoneQueue)
	}
	close(release)
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func testLogger(t testing.TB, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// The sign is never logged, even at debug level, whether accepted or not.
func TestSignNeverLogged(t *testing.T) {
	const secret = "s3cret"
	checkNoLeaks(t)
	cfg := defaultConfig()
	cfg.RTMP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.AuthPublish, cfg.AuthPlay, cfg.AuthSecret = true, true, secret
	var logs syncBuffer
	srv := NewServer(cfg, testLogger(t, &logs))
	must(t, srv.Listen())
	srv.Serve()
	t.Cleanup(srv.Close)

	good := signedQuery("/live/cam", secret)
	bad := "?sign=" + strconv.FormatInt(time.Now().Unix()+60, 10) + "-" + strings.Repeat("ab", 16)
	pub := testPublisher(t, rtmpURL(srv, "/live/cam"+good))
	sendGOPs(t, pub, 0, 2, 30)
	intrude(t, rtmpURL(srv, "/live/cam"+bad), "NetStream.Publish.Unauthorized")
	checkPlayRefused(t, rtmpURL(srv, "/live/cam"+bad))
	checkHTTPPlay(t, srv, "/live/cam.flv"+bad, 403)
	checkHTTPPlay(t, srv, "/live/cam.flv"+good, 200)
	pub.Close()
	time.Sleep(100 * time.Millisecond)
	out := logs.String()
	if !strings.Contains(out, "publish") {
		t.Fatalf("no logs captured: %q", out)
	}
	for _, secretPart := range []string{good[len("?sign=")+11:], bad[len("?sign=")+11:], "sign=", secret} {
		if strings.Contains(out, secretPart) {
			t.Errorf("log contains %q:\n%s", secretPart, out)
		}
	}
}
