package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// requestHeadGolden is the one table of request heads: it drives the
// parser test and seeds FuzzRequestHead. ok false: the keep-alive loop
// does not take the head (net/http gets the connection).
type requestHeadRow struct {
	name string
	in   string
	ok   bool
	want requestHead
	rest string
}

var requestHeadGolden = []requestHeadRow{
	{name: "get", in: "GET /live/a/x/part3.m4s?session=s1 HTTP/1.1\r\nHost: h:8000\r\nUser-Agent: t\r\n\r\n", ok: true,
		want: requestHead{method: "GET", target: "/live/a/x/part3.m4s?session=s1", host: "h:8000"}},
	{name: "pipelined", in: "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n", ok: true,
		want: requestHead{method: "GET", target: "/a", host: "h"}, rest: "GET /b HTTP/1.1\r\n"},
	{name: "head close", in: "HEAD /a HTTP/1.1\r\nconnection:  keep-alive, Close \r\n\r\n", ok: true,
		want: requestHead{method: "HEAD", target: "/a", close: true}},
	{name: "content-length 0", in: "GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", ok: true,
		want: requestHead{method: "GET", target: "/a"}},
	{name: "body", in: "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", ok: true,
		want: requestHead{method: "POST", target: "/a", body: true}, rest: "hello"},
	{name: "chunked", in: "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", ok: true,
		want: requestHead{method: "POST", target: "/a", body: true}},
	{name: "upgrade", in: "GET /a HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", ok: true,
		want: requestHead{method: "GET", target: "/a", special: true}},
	{name: "range", in: "GET /a HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n", ok: true,
		want: requestHead{method: "GET", target: "/a", special: true}},
	{name: "http/1.0", in: "GET /a HTTP/1.0\r\n\r\n"},
	{name: "absolute-form", in: "GET http://h/a HTTP/1.1\r\n\r\n"},
	{name: "bare LF", in: "GET /a HTTP/1.1\nHost: h\n\n"},
	{name: "incomplete", in: "GET /a HTTP/1.1\r\nHost: h\r\n"},
	{name: "obs-fold", in: "GET /a HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n"},
	{name: "space before colon", in: "GET /a HTTP/1.1\r\nHost : h\r\n\r\n"},
	{name: "no method", in: " /a HTTP/1.1\r\n\r\n"},
}

func TestParseRequestHead(t *testing.T) {
	for _, row := range requestHeadGolden {
		got, rest, err := parseRequestHead([]byte(row.in))
		if (err == nil) != row.ok {
			t.Errorf("%s: err %v, want ok=%v", row.name, err, row.ok)
			continue
		}
		if row.ok && (got != row.want || string(rest) != row.rest) {
			t.Errorf("%s: %+v rest %q, want %+v rest %q", row.name, got, rest, row.want, row.rest)
		}
	}
	if row := goldenRow(t, requestHeadGolden, func(r *requestHeadRow) string { return r.name }, "pipelined"); !strings.HasSuffix(row.in, row.rest) {
		t.Fatal("the pipelined row's rest is not its tail")
	}
}

func FuzzRequestHead(f *testing.F) {
	for _, row := range requestHeadGolden {
		f.Add([]byte(row.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, rest, err := parseRequestHead(b)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(b, rest) || len(rest) >= len(b) {
			t.Fatalf("rest %q is not a tail of the input", rest)
		}
		if h.method == "" || !strings.HasPrefix(h.target, "/") || strings.ContainsAny(h.target, " \r\n") {
			t.Fatalf("bad head %+v", h)
		}
	})
}

// httpConnClient is an HTTP/1.1 client on one connection, reading responses
// with net/http's parser.
type httpConnClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRawHTTP(t *testing.T, srv *Server) *httpConnClient {
	c, err := net.Dial("tcp", srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &httpConnClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (h *httpConnClient) send(reqs ...string) {
	h.t.Helper()
	var b strings.Builder
	for _, r := range reqs {
		b.WriteString(r)
	}
	if _, err := io.WriteString(h.c, b.String()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *httpConnClient) read(method string) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := http.ReadResponse(h.br, &http.Request{Method: method})
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// liveMediaPlaylist publishes live/name (GOP 1 s at 3x real time) and
// returns its Media Playlist's path and query.
func liveMediaPlaylist(t *testing.T, srv *Server, name string) string {
	t.Helper()
	pacedPublisher(t, srv, "/live/"+name, 11*time.Millisecond, func(i int) bool { return i%30 == 0 })
	waitLive(t, srv, "live", name)
	return strings.TrimPrefix(hlsMediaURL(t, srv, "/live/"+name+".m3u8"), "http://"+srv.HTTPAddr())
}

func get(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + strings.Join(extra, "") + "\r\n"
}

// One connection carries a viewer's whole session: the requests after
// the first media request are answered by the keep-alive loop (one write
// each, same bytes as net/http's answers), pipelined requests in order,
// HEAD without a body; a request for another URL is answered by net/http
// on the same connection; "Connection: close" ends it. No goroutine is
// left behind.
func TestHLSKeepAliveConnection(t *testing.T) {
	checkNoLeaks(t)
	srv := startServer(t, nil)
	media := liveMediaPlaylist(t, srv, "ka")

	c := dialRawHTTP(t, srv)
	c.send(get(media)) // served by net/http, which hands the connection over
	resp, text := c.read("GET")
	pl, err := parseMediaPlaylist(string(text))
	if resp.StatusCode != 200 || err != nil || len(pl.segs) == 0 {
		t.Fatalf("media playlist: %d %v\n%s", resp.StatusCode, err, text)
	}
	dir := media[:strings.LastIndex(media, "/")+1]
	_, query, _ := strings.Cut(media, "?")
	seg := dir + pl.segs[0].uri
	c.send(get(media), get(seg), "HEAD "+seg+" HTTP/1.1\r\nHost: t\r\n\r\n")
	for i, method := range []string{"GET", "GET", "HEAD"} {
		resp, b := c.read(method)
		if resp.StatusCode != 200 || resp.Header.Get("Date") == "" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("pipelined answer %d: %d %v", i, resp.StatusCode, resp.Header)
		}
		switch i {
		case 1:
			if resp.ContentLength != int64(len(b)) || resp.Header.Get("Content-Type") != "video/mp4" || !bytes.Contains(b[:16], []byte("moof")) {
				t.Fatalf("segment: length %d, body %d, %v", resp.ContentLength, len(b), resp.Header)
			}
		case 2:
			if len(b) != 0 || resp.ContentLength <= 0 {
				t.Fatalf("HEAD: body %d bytes, Content-Length %d", len(b), resp.ContentLength)
			}
		}
	}
	c.send(get(dir + "part999999.m4s?" + query))
	if resp, _ := c.read("GET"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a part far ahead: %d, want 404", resp.StatusCode)
	}
	// another URL: net/http answers it on this connection
	c.send(get("/api/v1/streams"))
	if resp, b := c.read("GET"); resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"ka"`)) {
		t.Fatalf("the API on a viewer's connection: %d\n%s", resp.StatusCode, b)
	}
	c.send(get(media, "Connection: close\r\n"))
	if resp, _ := c.read("GET"); resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("Connection: close: %d, close %v", resp.StatusCode, resp.Close)
	}
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("after Connection: close the server did not close: %d %v", n, err)
	}
}

// A graceful shutdown does not wait for a kept-alive viewer connection
// to time out: it is closed at once, between requests.
func TestHLSKeepAliveShutdown(t *testing.T) {
	checkNoLeaks(t)
	srv := startServer(t, nil)
	media := liveMediaPlaylist(t, srv, "kas")
	c := dialRawHTTP(t, srv)
	c.send(get(media))
	if resp, _ := c.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("media playlist: %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("Shutdown: %v after %v", err, time.Since(start))
	}
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("the viewer's connection is still open: %d %v", n, err)
	}
}

// With -hls-always a publication is cut from its start: the first viewer
// is answered at once with the segments cut so far (without it, the
// first request starts the muxer, which cuts what the ring holds).
// Without -hls-always, a stream with 1 s GOPs still holds the three
// segments a first viewer starts with (gopRing.keepStart): 5 s of media
// sent at once, then nothing, and the first viewer's playlist lists three
// complete segments, which only the ring's start window can give it.
func TestHLSFirstViewerFromRing(t *testing.T) {
	srv := startServer(t, nil)
	pub := testPublisher(t, rtmpURL(srv, "/live/fr"))
	for i := 0; i < 150; i++ {
		ts := uint32(i * 33)
		if pub.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%30 == 0)) != nil || pub.WriteMedia(MsgAudio, ts, testAudioFrame(i)) != nil {
			t.Fatal("publish failed")
		}
	}
	waitLive(t, srv, "live", "fr")
	waitFor(t, 5*time.Second, "the last frame", func() bool {
		ring, _ := srv.hub.lookup("live", "fr").current()
		return ring.newestTimestamp() == 149*33
	})
	text, code := getPlaylist(t, hlsMediaURL(t, srv, "/live/fr.m3u8"))
	pl, err := parseMediaPlaylist(text)
	if code != 200 || err != nil || len(pl.segs) < hlsStartSegments {
		t.Fatalf("%d %v: %d segments\n%s", code, err, len(pl.segs), text)
	}
}

func TestHLSAlways(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.HLSAlways = true })
	// 3x real time: a 1 s GOP every 0.33 s
	pacedPublisher(t, srv, "/live/al", 11*time.Millisecond, func(i int) bool { return i%30 == 0 })
	waitLive(t, srv, "live", "al")
	time.Sleep(1500 * time.Millisecond)
	start := time.Now()
	media := hlsMediaURL(t, srv, "/live/al.m3u8")
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("first viewer waited %v", d)
	}
	text, code := getPlaylist(t, media)
	pl, err := parseMediaPlaylist(text)
	if code != 200 || err != nil || len(pl.segs) < hlsStartSegments {
		t.Fatalf("%d %v: %d segments\n%s", code, err, len(pl.segs), text)
	}
}

// The keep-alive loop's request: the path and query of the target as
// url.ParseRequestURI reads them, escaped or not, in the one
// http.Request of the connection.
func TestHLSConnRequest(t *testing.T) {
	c := &hlsConn{req: &http.Request{Header: make(http.Header)}}
	for _, target := range []string{
		"/live/cam/ab12/part7.m4s?session=HLS-1&_HLS_msn=3&_HLS_part=1",
		"/live/cam.m3u8",
		"/live/a%20b/ab12/media.m3u8?session=x%26y",
		"/live/a%2Fb.m3u8?",
	} {
		want, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		c.req.Header.Set("X-Left-Over", "1")
		r, err := c.request(requestHead{method: http.MethodGet, target: target, host: "h"})
		if err != nil || r != c.req || r.URL.Path != want.Path || r.URL.RawQuery != want.RawQuery ||
			r.URL.EscapedPath() != want.EscapedPath() || r.RequestURI != target || len(r.Header) != 0 {
			t.Errorf("%s: %v %+v, want %+v", target, err, r.URL, want)
		}
	}
}
