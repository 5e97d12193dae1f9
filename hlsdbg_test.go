package main

import (
	"io"
	"net/http"
	"testing"
	"time"
	"strings"
)

func TestHLSDebug(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/hls"))
	waitLive(t, srv, "live", "hls")
	get := func(u string) string {
		resp, err := http.Get(u)
		if err != nil { t.Fatal(err) }
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("GET %s -> %d %v\n%s", u, resp.StatusCode, resp.Header, b)
		return string(b)
	}
	mv := get(httpURL(srv, "/live/hls.m3u8"))
	lines := strings.Split(strings.TrimSpace(mv), "\n")
	media := httpURL(srv, "/live/"+lines[len(lines)-1])
	time.Sleep(3*time.Second)
	get(media)
}
