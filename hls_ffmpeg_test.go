package main

// HLS against ffmpeg and ffprobe: both playlist URLs of an ffmpeg
// publish probe as H.264 640x360 + AAC, and 300 frames decode without an
// error line.

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

func TestFFmpegHLS(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/hls"))
	waitLive(t, srv, "live", "hls")
	for _, path := range []string{"/live/hls.m3u8", "/live/hls/index.m3u8"} {
		checkProbe(t, ffprobe(t, httpURL(srv, path)))
		ffmpegDecodeFrames(t, httpURL(srv, path), 300)
	}
}

// ffmpegDecodeFrames decodes n video frames of url and fails on any
// error output.
func ffmpegDecodeFrames(t *testing.T, url string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-rw_timeout", "10000000",
		"-i", url, "-frames:v", fmt.Sprint(n), "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", url, err, out)
	}
}
