package main

// Interop with real clients: ffmpeg publishes, ffprobe and ffmpeg play over
// RTMP and HTTP-FLV. These tests skip without ffmpeg, except in CI
// (RTMPHUB_REQUIRE_FFMPEG=1).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// startFFmpegPublisher publishes a live 640x360@30 H.264 + AAC 44.1 kHz
// stereo test pattern to url until the test ends. extra goes before the
// output URL (e.g. -output_ts_offset).
func startFFmpegPublisher(t *testing.T, url string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ac", "2", "-b:a", "96k"}
	args = append(append(args, extra...), "-f", "flv", url)
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if s := stderr.String(); s != "" {
			t.Logf("publisher ffmpeg: %s", s)
		}
	})
}

// waitLive waits until a stream has a publisher with a keyframe.
func waitLive(t *testing.T, srv *Server, app, name string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if s := srv.hub.lookup(app, name); s != nil {
			if ring, _ := s.current(); ring != nil {
				if ok, _ := ring.ready(); ok {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/%s/%s never went live", app, name)
}

type probeResult struct {
	Streams []struct {
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
	} `json:"streams"`
}

func ffprobe(t *testing.T, url string) probeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "10000000",
		"-show_streams", "-of", "json", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	var r probeResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkProbe wants exactly one h264 640x360 stream and one aac stream.
func checkProbe(t *testing.T, r probeResult) {
	t.Helper()
	var desc []string
	for _, s := range r.Streams {
		desc = append(desc, fmt.Sprintf("%s/%s %dx%d %s %d", s.CodecType, s.CodecName, s.Width, s.Height, s.SampleRate, s.Channels))
	}
	if len(r.Streams) != 2 {
		t.Fatalf("want 2 streams, got %v", desc)
	}
	for _, s := range r.Streams {
		ok := s.CodecType == "video" && s.CodecName == "h264" && s.Width == 640 && s.Height == 360 ||
			s.CodecType == "audio" && s.CodecName == "aac" && s.SampleRate == "44100" && s.Channels == 2
		if !ok {
			t.Fatalf("unexpected streams %v", desc)
		}
	}
}

// ffmpegDecode decodes d of url and fails on any error output.
func ffmpegDecode(t *testing.T, url string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+20*time.Second)
	defer cancel()
	// -enc_time_base:v -1 keeps the input's 1 ms time base: with the
	// default 1/30 s, when the first audio timestamp lies half a frame from
	// the video's (as it does at some join points on any server, and in a
	// file saved from one), ffmpeg rounds two frames onto one tick and
	// reports "non monotonically increasing dts". That is output rounding,
	// not the stream; decode errors are still reported.
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-rw_timeout", "10000000",
		"-i", url, "-t", fmt.Sprint(d.Seconds()), "-enc_time_base:v", "-1", "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", url, err, out)
	}
}

func TestFFmpegRTMPAndHTTPFLV(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/ff"))
	waitLive(t, srv, "live", "ff")

	checkProbe(t, ffprobe(t, rtmpURL(srv, "/live/ff")))
	checkProbe(t, ffprobe(t, httpURL(srv, "/live/ff.flv")))
	ffmpegDecode(t, rtmpURL(srv, "/live/ff"), 2*time.Second)
	ffmpegDecode(t, httpURL(srv, "/live/ff.flv"), 2*time.Second)

	// a late joiner: the first video frame after the headers is a keyframe
	c := testPlayer(t, rtmpURL(srv, "/live/ff"))
	for _, m := range readMedia(t, c, 10) {
		if m.Type != MsgVideo {
			continue
		}
		info, err := ClassifyTag(TagVideo, m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if info.Flags&FlagSeqHeader != 0 {
			continue
		}
		if info.Flags&FlagKeyframe == 0 {
			t.Fatalf("late joiner's first video frame is not a keyframe: % x", m.Payload[:5])
		}
		break
	}
}

// Timestamps that cross 0xFFFFFF ms (extended timestamps from then on)
// stay monotonic for players.
func TestFFmpegExtendedTimestamps(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	// 16776 s = 16,776,000 ms: 0xFFFFFF (16,777,215) is crossed after ~1.2 s
	startFFmpegPublisher(t, rtmpURL(srv, "/live/ts"), "-output_ts_offset", "16776")
	waitLive(t, srv, "live", "ts")
	c := testPlayer(t, rtmpURL(srv, "/live/ts"))
	var last uint32
	crossed := false
	deadline := time.Now().Add(40 * time.Second)
	for !crossed || last < 0xFFFFFF+1000 {
		if time.Now().After(deadline) {
			t.Fatalf("timestamps did not cross 0xFFFFFF (last %d)", last)
		}
		m, err := c.ReadMessage()
		must(t, err)
		if m.Type != MsgVideo {
			continue
		}
		if m.Timestamp < last {
			t.Fatalf("video timestamp went back: %d after %d", m.Timestamp, last)
		}
		crossed = crossed || (last > 0 && last < 0xFFFFFF && m.Timestamp >= 0xFFFFFF)
		last = m.Timestamp
	}
}

// Twenty ffmpeg players decode at once.
func TestFFmpegManyPlayers(t *testing.T) {
	requireFFmpeg(t)
	if testing.Short() {
		t.Skip("short")
	}
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/many"))
	waitLive(t, srv, "live", "many")
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error",
				"-i", rtmpURL(srv, "/live/many"), "-t", "2", "-enc_time_base:v", "-1", "-f", "null", "-").CombinedOutput()
			if err == nil && len(bytes.TrimSpace(out)) > 0 {
				err = fmt.Errorf("%s", out)
			}
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Errorf("player: %v", err)
		}
	}
}
