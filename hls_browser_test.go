package main

// HLS in headless Chromium (testdata/browser/hlsplay.mjs): the browser's
// own HLS player with <video src=".m3u8">, and hls.js 1.7 in
// lowLatencyMode, each playing 10 s of an ffmpeg publish (GOP 1 s, 200 ms
// parts) from a page on another origin; hls.js must see the parts and
// hold a live latency of at most 1.5 s. The publisher encodes with x264's
// zerolatency tune, as a low-latency deployment's encoder does (no
// B-frame lookahead holding frames back); hls.js runs with its
// lowLatencyMode defaults plus maxLiveSyncPlaybackRate 1.5, which a
// low-latency page sets to catch up. hls.js's latency is its own: it aims
// at PART-HOLD-BACK (0.6 s), plus 1 s after any stall, and speeds up only
// while more than 1 s is buffered, so it settles at about 0.8-1.2 s; a
// publisher that stalls (a starved encoder) costs it a second or more.

import (
	"encoding/json"
	"testing"
	"time"
)

// hlsPlayResult is one line of hlsplay.mjs.
type hlsPlayResult struct {
	Mode, URL, CanPlay, MediaError string
	StartTime, CurrentTime         float64
	Advanced, Latency              float64
	TargetLatency                  float64  // hls.js's own target: PART-HOLD-BACK, plus 1 s per stall (at most a target duration)
	Stalls                         int      // hls.js's BUFFER_STALLED_ERROR events
	Warnings                       []string // hls.js's first warnings, timed from the start
	Frames, Width, Height          int
	Errors                         []string
	LowLatency                     bool
}

func TestBrowserHLS(t *testing.T) {
	requireChromium(t)
	requireNode(t, "hls.js")
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/hb"), "-tune", "zerolatency")
	waitLive(t, srv, "live", "hb")
	cmd, sc, stderr := nodeScript(t, 2*time.Minute, "hlsplay.mjs", "--seconds", "10", httpURL(srv, "/live/hb.m3u8"))
	results := map[string]hlsPlayResult{}
	for sc.Scan() {
		var r hlsPlayResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("hlsplay.mjs printed %q: %v", sc.Text(), err)
		}
		t.Logf("%s: canPlayType %q, advanced %.2fs, %d frames, %dx%d, latency %.2fs (target %.2fs, %d stalls), LL %v, errors %q %q",
			r.Mode, r.CanPlay, r.Advanced, r.Frames, r.Width, r.Height, r.Latency, r.TargetLatency, r.Stalls, r.LowLatency, r.Errors, r.MediaError)
		if len(r.Warnings) > 0 {
			t.Logf("%s warnings: %q", r.Mode, r.Warnings)
		}
		results[r.Mode] = r
	}
	err := cmd.Wait()
	for _, mode := range []string{"native", "hls.js"} {
		r, ok := results[mode]
		switch {
		case !ok:
			t.Fatalf("no result for %s (exit %v)\n%s", mode, err, stderr)
		case mode == "native" && r.CanPlay == "":
			t.Errorf("native: canPlayType says no")
		case r.Advanced < 5 || r.Frames <= 0:
			t.Errorf("%s: currentTime advanced %.2fs in 10 s, %d frames", mode, r.Advanced, r.Frames)
		case r.Width != 640 || r.Height != 360:
			t.Errorf("%s: %dx%d", mode, r.Width, r.Height)
		case len(r.Errors) > 0 || r.MediaError != "":
			t.Errorf("%s: errors %q %q", mode, r.Errors, r.MediaError)
		case mode == "hls.js" && (!r.LowLatency || r.Latency <= 0 || r.Latency > 1.5):
			t.Errorf("hls.js: low latency %v, latency %.2fs (want <= 1.5 s)", r.LowLatency, r.Latency)
		}
	}
}
