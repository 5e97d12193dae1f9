package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// -idle-timeout 2s: a publisher that sends a message every second is
// never closed (each byte restarts the two seconds; a deadline refreshed
// only now and then would cut it), and one that stops is closed two
// seconds after its last byte, not earlier, not much later. (Two
// seconds, not one, leave a loaded machine's scheduling delays room.)
func TestIdleTimeoutCountsFromLastByte(t *testing.T) {
	const idle = 2 * time.Second
	srv := startServer(t, func(c *Config) { c.IdleTimeout.Duration = idle })
	pub := testPublisher(t, rtmpURL(srv, "/live/trickle"))
	sendGOPs(t, pub, 0, 1, 30)
	for i := 1; i <= 5; i++ {
		time.Sleep(idle / 2)
		sendGOPs(t, pub, i, 1, 30)
	}
	last := time.Now()
	pub.conn.SetReadDeadline(last.Add(3 * idle))
	for {
		_, err := pub.ReadMessage()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("silent publisher still open 6s after its last byte")
		}
		if err != nil {
			break
		}
	}
	d := time.Since(last)
	if d < idle-50*time.Millisecond || d > idle+idle/2 {
		t.Errorf("silent publisher closed %v after its last byte, want %v (at most %v)", d, idle, idle+idle/2)
	}
	t.Logf("closed %v after the last byte", d)
}

// A TCP connection that never sends a byte is closed after -idle-timeout
// when that is shorter than the handshake timeout.
func TestIdleTimeoutClosesSilentSocket(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.IdleTimeout.Duration = time.Second })
	c, err := net.Dial("tcp", srv.RTMPAddr())
	must(t, err)
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(start.Add(3 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("silent socket still open after 3s")
	}
	if d := time.Since(start); d < 950*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("silent socket closed after %v, want 1s (at most 1.5s)", d)
	}
}

// With -idle-timeout 1s an ffmpeg publisher sending at
// 30 fps is left alone for 10 s; its player sees no unpublish and a
// steady flow of frames.
func TestIdleTimeoutSparesFFmpegPublisher(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, func(c *Config) { c.IdleTimeout.Duration = time.Second })
	// a light encode (small picture, ultrafast): on a loaded machine a
	// heavy one may itself pause for a second, and then closing it is right
	startFFmpegPublisher(t, rtmpURL(srv, "/live/busy"), "-s", "320x180", "-preset", "ultrafast", "-tune", "zerolatency")
	waitLive(t, srv, "live", "busy")
	player := testPlayer(t, rtmpURL(srv, "/live/busy"))
	end := time.Now().Add(10 * time.Second)
	player.SetReadDeadline(end.Add(5 * time.Second))
	video := 0
	for time.Now().Before(end) {
		m, err := player.ReadMessage()
		if err != nil {
			t.Fatalf("player read after %d video frames: %v", video, err)
		}
		if m.Type == MsgCommandAMF0 && bytes.Contains(m.Payload, []byte("UnpublishNotify")) {
			t.Fatalf("publisher closed after %d video frames (%v before the end)", video, time.Until(end))
		}
		if m.Type == MsgVideo {
			video++
		}
	}
	// 10 s at 30 fps, with the GOP the player joined on
	if video < 270 {
		t.Errorf("%d video frames in 10s, want about 300", video)
	}
}
