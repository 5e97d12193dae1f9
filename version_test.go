package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// -version prints the version on stdout and exits 0, starting nothing.
func TestVersionFlag(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-version", "-rtmp", "256.0.0.1:1"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	if !strings.HasPrefix(out.String(), "rtmphub "+rtmphubVersion+" ") || !strings.HasSuffix(out.String(), "\n") ||
		!strings.Contains(out.String(), "go1.") || errs.Len() != 0 {
		t.Fatalf("stdout %q, stderr %q", out.String(), errs.String())
	}
}

// The startup line names the publish URL, a play URL per protocol and
// the status page, with the ports really bound (a wildcard address shown
// as 127.0.0.1), and those URLs work.
func TestStartupURLs(t *testing.T) {
	checkNoLeaks(t)
	cfg := defaultConfig()
	cfg.RTMP, cfg.HTTP = ":0", "127.0.0.1:0"
	var logs syncBuffer
	srv := NewServer(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	must(t, srv.Listen())
	srv.Serve()
	t.Cleanup(srv.Close)
	logURLs(srv.log, srv.RTMPAddr(), srv.HTTPAddr(), "", "")
	line := logs.String()
	url := func(key string) string {
		m := regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `=(\S+)`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("no %s= in %q", key, line)
		}
		return strings.NewReplacer("{app}", "live", "{name}", "urls").Replace(m[1])
	}
	_, rtmpPort := splitAddr(srv.RTMPAddr())
	want := map[string]string{
		"publish":   "rtmp://127.0.0.1:" + strconv.Itoa(rtmpPort) + "/live/urls",
		"play.rtmp": "rtmp://127.0.0.1:" + strconv.Itoa(rtmpPort) + "/live/urls",
		"play.flv":  "http://" + srv.HTTPAddr() + "/live/urls.flv",
		"play.ws":   "ws://" + srv.HTTPAddr() + "/live/urls.flv",
		"play.hls":  "http://" + srv.HTTPAddr() + "/live/urls.m3u8",
		"play.mp4":  "http://" + srv.HTTPAddr() + "/live/urls.mp4",
		"status":    "http://" + srv.HTTPAddr() + "/",
	}
	for key, w := range want {
		if got := url(key); got != w {
			t.Errorf("%s=%s, want %s", key, got, w)
		}
	}
	pub := testPublisher(t, url("publish"))
	sendGOPs(t, pub, 0, 30, 30)
	player := testPlayer(t, url("play.rtmp"))
	readMedia(t, player, 5)
	checkFLVPrologue(t, httpGetFLV(t, url("play.flv")))
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url("status"))
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("status page: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
}

// TLS listeners get their own URLs: rtmps://, https://, wss://; a
// wildcard address is shown as 127.0.0.1, a named one as it is.
func TestStartupURLsTLS(t *testing.T) {
	var logs syncBuffer
	logURLs(slog.New(slog.NewTextHandler(&logs, nil)), "10.0.0.1:1935", ":8000", "[::]:443", "")
	line := logs.String()
	for _, want := range []string{
		"publish=rtmp://10.0.0.1:1935/{app}/{name}", "play.flv=http://127.0.0.1:8000/{app}/{name}.flv",
		"msg=\"rtmphub TLS ready\" publish=rtmps://127.0.0.1:443/{app}/{name} play.rtmp=rtmps://127.0.0.1:443/{app}/{name}\n",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("no %q in\n%s", want, line)
		}
	}
}
