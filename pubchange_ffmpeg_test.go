package main

// Publisher takeover and players that stay through a publisher change,
// with real clients: ffmpeg publishers (one frozen with SIGSTOP, as an
// encoder behind a dead Wi-Fi link is), an ffmpeg RTMP reader, flv.js and
// mpegts.js in Chromium. Skipped without ffmpeg / chromium unless
// RTMPHUB_REQUIRE_FFMPEG=1 / RTMPHUB_REQUIRE_BROWSER=1.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ffmpegProc is a publisher process the test can freeze and kill.
type ffmpegProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

// startFFmpegProc publishes the test pattern of startFFmpegPublisher to
// url. At cleanup the process is continued (if stopped) and killed.
func startFFmpegProc(t *testing.T, url string) *ffmpegProc {
	t.Helper()
	p := &ffmpegProc{done: make(chan struct{})}
	p.cmd = exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ac", "2", "-b:a", "96k", "-f", "flv", url)
	p.cmd.Stderr = &p.stderr
	must(t, p.cmd.Start())
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// exited reports whether the process ended within d.
func (p *ffmpegProc) exited(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *ffmpegProc) kill() {
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Kill()
	<-p.done
}

// stampedTag is a tag with its arrival time.
type stampedTag struct {
	seenTag
	at time.Time
}

// recordTags reads src in the background until it fails (stop makes it).
func recordTags(src tagSource) (result func() []stampedTag) {
	var mu sync.Mutex
	var got []stampedTag
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			tag, err := src.next()
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, stampedTag{tag, time.Now()})
			mu.Unlock()
		}
	}()
	return func() []stampedTag {
		src.stop()
		<-done
		return got
	}
}

// checkThroughGap checks what a player got across a publisher change at
// changeAt: the connection carried frames before and after it (at least
// minAfter video frames after), the first video frame after it is a
// keyframe, and timestamps never go back, per media type and across the
// change.
func checkThroughGap(t *testing.T, name string, tags []stampedTag, changeAt time.Time, minAfter int) {
	t.Helper()
	last := map[TagType]uint32{}
	var before, after int
	var maxBefore uint32
	firstAfter := -1
	for i, tag := range tags {
		if !isCoded(tag.seenTag) {
			continue
		}
		if prev, ok := last[tag.Type]; ok && tag.TS < prev {
			t.Errorf("%s: %v timestamp went back from %d to %d", name, tag.Type, prev, tag.TS)
		}
		last[tag.Type] = tag.TS
		switch {
		case tag.at.Before(changeAt):
			before++
			maxBefore = max(maxBefore, tag.TS)
		case tag.TS < maxBefore:
			t.Errorf("%s: timestamp %d after the change, before the change up to %d", name, tag.TS, maxBefore)
		case tag.Type == TagVideo:
			if firstAfter < 0 {
				firstAfter = i
			}
			after++
		}
	}
	if firstAfter >= 0 {
		t.Logf("%s: %d frames before the change, %d video frames after, from +%v (ts %d) to +%v (ts %d); last before ts %d", name, before, after,
			tags[firstAfter].at.Sub(changeAt), tags[firstAfter].TS, tags[len(tags)-1].at.Sub(changeAt), tags[len(tags)-1].TS, maxBefore)
	}
	switch {
	case before == 0 || after < minAfter:
		t.Errorf("%s: %d frames before the change, %d video frames after (want %d)", name, before, after, minAfter)
	case tags[firstAfter].Data[0]>>4 != 1:
		t.Errorf("%s: the first video frame after the change is not a keyframe (% x)", name, tags[firstAfter].Data[:2])
	}
}

// ffmpegReader plays url with ffmpeg, remuxing its video to FLV on its
// stdout, each packet as it comes (with audio too, ffmpeg's interleaving
// would hold a video frame back until the next audio one arrives).
func ffmpegReader(t *testing.T, url string) (tagSource, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", url,
		"-map", "0:v", "-c", "copy", "-flush_packets", "1", "-f", "flv", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(stop)
	return flvSource(t, "ffmpeg-rtmp", out, stop), &stderr
}

// publisherOf returns the id of app/name's publishing session ("" if none
// or not yet ready to play: no keyframe).
func publisherOf(srv *Server, app, name string) string {
	st := srv.hub.lookup(app, name)
	if st == nil {
		return ""
	}
	ring, pub := st.publication()
	if ring == nil || pub == nil {
		return ""
	}
	if ok, _ := ring.ready(); !ok {
		return ""
	}
	return pub.ID
}

// With ffmpeg and the default settings, an ffmpeg publisher
// frozen with SIGSTOP (its TCP connection stays open) is replaced by a
// second ffmpeg publisher to the same key, retrying as OBS does, within
// 3 s; an RTMP player (the project's client), an ffmpeg RTMP reader, an
// HTTP-FLV and a WS-FLV player stay on their connections and go on with
// the new publisher's frames, a keyframe first, timestamps never going
// back. ffmpeg's reader prints no error.
func TestFFmpegBlipTakeover(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	url := rtmpURL(srv, "/live/blip")
	first := startFFmpegProc(t, url)
	waitLive(t, srv, "live", "blip")
	oldID := publisherOf(srv, "live", "blip")

	resp, err := http.Get(httpURL(srv, "/live/blip.flv"))
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	ws := dialWS(t, srv.HTTPAddr(), "/live/blip.flv")
	reader, readerErr := ffmpegReader(t, url)
	sources := []tagSource{
		rtmpSource(testPlayer(t, url)), reader,
		flvSource(t, "http-flv", resp.Body, func() { resp.Body.Close() }),
		flvSource(t, "ws-flv", ws, func() { ws.conn.Close() }),
	}
	var results []func() []stampedTag
	for _, src := range sources {
		results = append(results, recordTags(src))
	}
	time.Sleep(2 * time.Second)

	must(t, first.cmd.Process.Signal(syscall.SIGSTOP))
	silent := time.Now()
	var live time.Time
	for live.IsZero() && time.Since(silent) < 10*time.Second {
		second := startFFmpegProc(t, url)
		for live.IsZero() && !second.exited(20*time.Millisecond) && time.Since(silent) < 10*time.Second {
			if id := publisherOf(srv, "live", "blip"); id != "" && id != oldID {
				live = time.Now()
			}
		}
		if live.IsZero() { // refused: retry, as OBS does
			time.Sleep(500 * time.Millisecond)
		}
	}
	if live.IsZero() {
		t.Fatal("the second publisher never got in")
	}
	t.Logf("second publisher live %v after the first went silent", live.Sub(silent))
	if d := live.Sub(silent); d > 3*time.Second {
		t.Errorf("second publisher live after %v, want within 3 s", d)
	}
	time.Sleep(3 * time.Second)
	// what the first publisher had sent arrives within a second of its
	// freeze; the second is let in 2 s after it (-takeover-idle)
	for i, src := range sources {
		checkThroughGap(t, src.name, results[i](), silent.Add(time.Second), 30)
	}
	if s := strings.TrimSpace(readerErr.String()); s != "" {
		t.Errorf("ffmpeg reader: %s", s)
	}
}

// ffmpeg's live reader (-rtmp_live live sends FCSubscribe)
// plays with no error line.
func TestFFmpegFCSubscribe(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/sub"))
	waitLive(t, srv, "live", "sub")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-rtmp_live", "live",
		"-i", rtmpURL(srv, "/live/sub"), "-t", "2", "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg -rtmp_live live: %v\n%s", err, out)
	}
}

// flv.js and mpegts.js in Chromium keep playing, without a reload,
// through a publisher restart: the encoder is killed mid-play and a new
// one publishes to the same key; currentTime must go on advancing well
// past what the first publisher gave.
func TestBrowserPublisherRestart(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	srv := startServer(t, nil)
	first := startFFmpegProc(t, rtmpURL(srv, "/live/restart"))
	waitLive(t, srv, "live", "restart")
	httpU := httpURL(srv, "/live/restart.flv")
	wsU := "ws://" + srv.HTTPAddr() + "/live/restart.flv"
	// The players connect before waitPlayers returns and the first
	// publisher is killed 4 s later: what it sent plays for 4 s plus the
	// GOP a player starts with (1 s) at most. Advancing 9 s takes 3 s and
	// more of the second publisher's.
	cmd, sc, stderr := nodeScript(t, 3*time.Minute, "play.mjs", "--parallel", "--configs", "live",
		"--timeout", "60", "--advance", "9", httpU, wsU)
	waitPlayers(t, srv, "live", "restart", 4)
	time.Sleep(4 * time.Second)
	first.kill()
	startFFmpegProc(t, rtmpURL(srv, "/live/restart"))
	var n int
	for sc.Scan() {
		var r playResult
		must(t, json.Unmarshal(sc.Bytes(), &r))
		t.Logf("%s %s: advanced %.2fs, %d frames (%d dropped), %dx%d in %d ms", r.Lib, r.URL, r.Advanced,
			r.Frames, r.Dropped, r.Width, r.Height, r.ElapsedMs)
		checkPlayed(t, r)
		if r.Advanced <= 9 {
			t.Errorf("%s %s: currentTime advanced %.2fs across the restart, want more than 9", r.Lib, r.URL, r.Advanced)
		}
		n++
	}
	if err := cmd.Wait(); err != nil || n != 4 {
		t.Fatalf("play.mjs: %v, %d results\n%s", err, n, fmt.Sprint(stderr))
	}
}
