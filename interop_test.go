package main

// Interop with other real RTMP clients: rtmpdump (librtmp) plays, and
// GStreamer's rtmp2sink publishes and rtmp2src plays. Like the ffmpeg
// tests they skip when the tools are missing, except under
// RTMPHUB_REQUIRE_FFMPEG=1 (CI), where .ci/run installs them.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireGStreamer also needs the elements the tests use.
func requireGStreamer(t *testing.T) {
	t.Helper()
	requireTool(t, "gst-launch-1.0", "gst-inspect-1.0")
	for _, el := range []string{"rtmp2sink", "rtmp2src", "x264enc", "flvmux", "flvdemux", "avdec_h264", "voaacenc"} {
		if exec.Command("gst-inspect-1.0", "--exists", el).Run() != nil {
			skipOrRequire(t, "RTMPHUB_REQUIRE_FFMPEG", "GStreamer element "+el, "not installed")
		}
	}
}

// rtmpdump (librtmp, which uses the digest handshake) saves a few
// seconds of a live stream; ffprobe then finds H.264 640x360 and AAC in it.
func TestRtmpdumpPlays(t *testing.T) {
	requireFFmpeg(t)
	requireTool(t, "rtmpdump")
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/rd"))
	waitLive(t, srv, "live", "rd")
	out := filepath.Join(t.TempDir(), "rd.flv")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "rtmpdump", "-q", "--live", "-r", rtmpURL(srv, "/live/rd"), "-o", out)
	cmd.Stderr = &stderr
	cmd.Run() // a live dump only ends when killed
	if fi, err := os.Stat(out); err != nil || fi.Size() < 50000 {
		t.Fatalf("rtmpdump saved too little (%v): %s", err, stderr.String())
	}
	r := ffprobe(t, out)
	var video, audio bool
	for _, s := range r.Streams {
		video = video || s.CodecName == "h264" && s.Width == 640 && s.Height == 360
		audio = audio || s.CodecName == "aac"
	}
	if !video || !audio {
		t.Fatalf("rtmpdump's file: %+v", r.Streams)
	}
}

// gstLaunch runs a gst-launch-1.0 pipeline until ctx ends.
func gstLaunch(ctx context.Context, pipeline string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "gst-launch-1.0", append([]string{"-q"}, strings.Fields(pipeline)...)...)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// GStreamer publishes with rtmp2sink; ffprobe reads it back over RTMP and
// HTTP-FLV (and finds no spurious data stream, though GStreamer stamps its
// onMetaData with its running time); GStreamer plays it with rtmp2src and
// decodes video frames.
func TestGStreamerPublishAndPlay(t *testing.T) {
	requireFFmpeg(t)
	requireGStreamer(t)
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	pub := gstLaunch(ctx, "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 "+
		"! x264enc tune=zerolatency key-int-max=30 ! h264parse ! flvmux name=m streamable=true "+
		"! rtmp2sink location="+rtmpURL(srv, "/live/gst")+
		" audiotestsrc is-live=true ! voaacenc ! aacparse ! m.")
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); pub.Wait() })
	waitLive(t, srv, "live", "gst")

	for _, url := range []string{rtmpURL(srv, "/live/gst"), httpURL(srv, "/live/gst.flv")} {
		r := ffprobe(t, url)
		if len(r.Streams) != 2 {
			t.Fatalf("%s: want h264 + aac, got %+v", url, r.Streams)
		}
		for _, s := range r.Streams {
			if !(s.CodecName == "h264" && s.Width == 320 && s.Height == 240 || s.CodecName == "aac") {
				t.Fatalf("%s: unexpected stream %+v", url, s)
			}
		}
	}

	pctx, pcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer pcancel()
	play := gstLaunch(pctx, "rtmp2src location="+rtmpURL(srv, "/live/gst")+
		" ! flvdemux name=d d.video ! queue ! h264parse ! avdec_h264 ! identity eos-after=30 ! fakesink")
	out, err := play.CombinedOutput()
	if err != nil || pctx.Err() != nil {
		t.Fatalf("rtmp2src pipeline did not decode 30 frames: %v %v\n%s", err, pctx.Err(), out)
	}
}

// A player that joins in the middle of a GOP gets a keyframe at once: the
// project's client sees its first video frame, a keyframe, well within
// 1.5 s of dialling, and the first frame ffprobe decodes is a keyframe.
func TestLateJoinerStartsOnKeyframe(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/fast"))
	waitLive(t, srv, "live", "fast")
	time.Sleep(1500 * time.Millisecond) // join in the middle of a GOP

	start := time.Now()
	c := testPlayer(t, rtmpURL(srv, "/live/fast"))
	for {
		m, err := c.ReadMessage()
		must(t, err)
		info, err := ClassifyTag(TagType(m.Type), m.Payload)
		if m.Type != MsgVideo || err != nil || info.Flags&FlagSeqHeader != 0 {
			continue
		}
		if info.Flags&FlagKeyframe == 0 {
			t.Fatal("first video frame is not a keyframe")
		}
		break
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("first keyframe %v after dialling, want within 1.5 s", took)
	} else {
		t.Logf("first keyframe %v after dialling", took)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v",
		"-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=key_frame,pict_type",
		"-of", "csv=p=0", rtmpURL(srv, "/live/fast")).Output()
	if err != nil || strings.TrimSpace(string(out)) != "1,I" {
		t.Fatalf("ffprobe's first decoded frame: %q %v, want a keyframe (1,I)", out, err)
	}
}
