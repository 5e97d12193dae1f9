package main

// Publisher takeover and viewers that stay through a publisher change
// (pubchange.go), with the project's client as publisher and players of
// every protocol; the same with real ffmpeg publishers and readers in
// pubchange_ffmpeg_test.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// seenTag is one audio, video or data message a player received.
type seenTag struct {
	Type TagType
	TS   uint32
	Data []byte
}

// tagSource reads what a player receives, whatever the protocol.
type tagSource struct {
	name string
	next func() (seenTag, error)
	stop func() // unblocks next
}

// rtmpSource reads the media messages of an RTMP player (commands skipped).
func rtmpSource(c *Client) tagSource {
	next := func() (seenTag, error) {
		for {
			m, err := c.ReadMessage()
			if err != nil {
				return seenTag{}, err
			}
			switch {
			case m.Type == MsgAudio || m.Type == MsgVideo:
				return seenTag{TagType(m.Type), m.Timestamp, m.Payload}, nil
			case m.Type == MsgDataAMF0 && !bytes.Contains(m.Payload, []byte("|RtmpSampleAccess")):
				return seenTag{TagScript, m.Timestamp, m.Payload}, nil
			}
		}
	}
	return tagSource{"rtmp", next, func() { c.Close() }}
}

// flvSource reads the tags of an HTTP-FLV body or WS-FLV stream (the FLV
// header first).
func flvSource(t *testing.T, name string, r io.Reader, stop func()) tagSource {
	readFLVHeader(t, r)
	fr := NewFLVReader(r, 16<<20)
	next := func() (seenTag, error) {
		tag, err := fr.ReadTag()
		return seenTag{tag.Type, tag.Timestamp, bytes.Clone(tag.Data)}, err
	}
	return tagSource{name, next, stop}
}

// collectUntil reads src in the background until a video frame numbered
// last arrives (or the source fails, or 15 s pass).
func collectUntil(src tagSource, last int) <-chan []seenTag {
	out := make(chan []seenTag, 1)
	go func() {
		var got []seenTag
		defer func() { out <- got }()
		for {
			tag, err := src.next()
			if err != nil {
				return
			}
			got = append(got, tag)
			if tag.Type == TagVideo && tag.Data[1] == 1 && frameNumber(tag.Data) == last {
				return
			}
		}
	}()
	return out
}

// awaitTags waits for a collector, stopping its source after timeout.
func awaitTags(t *testing.T, src tagSource, ch <-chan []seenTag, timeout time.Duration) []seenTag {
	t.Helper()
	select {
	case got := <-ch:
		return got
	case <-time.After(timeout):
		src.stop()
		return <-ch
	}
}

// isCoded reports whether a video or audio tag carries a coded frame (not
// a sequence header).
func isCoded(tag seenTag) bool {
	return (tag.Type == TagVideo || tag.Type == TagAudio) && len(tag.Data) > 1 && tag.Data[1] == 1
}

// checkContinues checks a player's tags across a publisher change: frames
// of the second publisher (numbered from second) arrive after those of the
// first, its first video frame is a keyframe, audio and video timestamps
// never go back, and the sequence headers sent after the change are the
// second publisher's (only newHeaders of them, if given).
func checkContinues(t *testing.T, name string, tags []seenTag, second, last int, newHeaders [][]byte) {
	t.Helper()
	var prev uint32
	firstNew, lastOld := -1, -1
	for i, tag := range tags {
		if tag.Type == TagScript {
			continue
		}
		if tag.TS < prev {
			t.Errorf("%s: timestamp went back from %d to %d at tag %d", name, prev, tag.TS, i)
		}
		prev = tag.TS
		if !isCoded(tag) {
			continue
		}
		if n := frameNumber(tag.Data); n >= second && firstNew < 0 && tag.Type == TagVideo {
			firstNew = i
		} else if n < second {
			lastOld = i
		}
	}
	switch {
	case firstNew < 0:
		t.Fatalf("%s: no frame of the second publisher (%d tags)", name, len(tags))
	case tags[firstNew].Data[0]>>4 != 1:
		t.Errorf("%s: first frame of the second publisher is not a keyframe: % x", name, tags[firstNew].Data[:2])
	case lastOld > firstNew:
		t.Errorf("%s: a frame of the first publisher after the second's", name)
	case frameNumber(tags[len(tags)-1].Data) != last:
		t.Errorf("%s: stopped at frame %d", name, frameNumber(tags[len(tags)-1].Data))
	}
	if newHeaders == nil {
		return
	}
	var sent [][]byte
	for _, tag := range tags[lastOld+1 : firstNew] {
		if (tag.Type == TagVideo || tag.Type == TagAudio) && !isCoded(tag) {
			sent = append(sent, tag.Data)
		}
	}
	if len(sent) != len(newHeaders) || (len(sent) > 0 && !bytes.Equal(sent[0], newHeaders[0])) {
		t.Errorf("%s: headers sent at the change: % x, want % x", name, sent, newHeaders)
	}
}

// changedAudioHeader is AAC LC at 48 kHz stereo: the second publisher's
// audio differs from the first's.
var changedAudioHeader = []byte{0xaf, 0x00, 0x11, 0x90}

// publishFrom publishes to url with the synthetic headers (audioHeader for
// audio) and sends n frames numbered from first, timestamps from 0.
func publishFrom(t *testing.T, url string, audioHeader []byte, first, n int) *Client {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	must(t, c.Publish(ctxT(t, 5*time.Second)))
	meta := ECMAArray{{"width", 640.0}, {"height", 360.0}, {"videocodecid", 7.0}, {"audiocodecid", 10.0}}
	must(t, c.WriteMetadata(meta, 0))
	must(t, c.WriteMedia(MsgVideo, 0, testVideoHeader))
	must(t, c.WriteMedia(MsgAudio, 0, audioHeader))
	for i := range n {
		ts := uint32(i * 33)
		must(t, c.WriteMedia(MsgVideo, ts, testVideoFrame(first+i, i%30 == 0)))
		must(t, c.WriteMedia(MsgAudio, ts, testAudioFrame(first+i)))
	}
	return c
}

// viewersOf opens an RTMP, an HTTP-FLV and a WS-FLV player of path.
func viewersOf(t *testing.T, srv *Server, path string) []tagSource {
	t.Helper()
	resp, err := http.Get(httpURL(srv, path+".flv"))
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	ws := dialWS(t, srv.HTTPAddr(), path+".flv")
	return []tagSource{
		rtmpSource(testPlayer(t, rtmpURL(srv, path))),
		flvSource(t, "http-flv", resp.Body, func() { resp.Body.Close() }),
		flvSource(t, "ws-flv", ws, func() { ws.conn.Close() }),
	}
}

// With the project's client, a publisher that has gone silent
// for -takeover-idle is replaced by a new one at once; players of every
// protocol stay on their connection and go on with the new publisher's
// frames, from a keyframe, timestamps rebased to continue (the newcomer
// starts again at 0), FLV players getting only the header that changed.
func TestTakeoverIdlePublisher(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.TakeoverIdle.Duration = 300 * time.Millisecond })
	pub1 := publishFrom(t, rtmpURL(srv, "/live/blip"), testAudioHeader, 0, 45)
	waitLive(t, srv, "live", "blip")
	viewers := viewersOf(t, srv, "/live/blip")
	waitPlayers(t, srv, "live", "blip", 3)
	var results []<-chan []seenTag
	for _, v := range viewers {
		results = append(results, collectUntil(v, 1059))
	}
	// pub1 is silent (but connected) from here
	time.Sleep(350 * time.Millisecond)
	start := time.Now()
	publishFrom(t, rtmpURL(srv, "/live/blip"), changedAudioHeader, 1000, 60)
	if d := time.Since(start); d > time.Second {
		t.Errorf("takeover took %v", d)
	}
	checkClosed(t, "the replaced publisher", pub1)
	for i, v := range viewers {
		tags := awaitTags(t, v, results[i], 10*time.Second)
		// a takeover is not announced to RTMP players (ffmpeg's reader
		// would stop at UnpublishNotify): they, too, get what changed
		checkContinues(t, v.name, tags, 1000, 1059, [][]byte{changedAudioHeader})
	}
}

// checkClosed wants c's connection closed by the server within 3 s.
func checkClosed(t *testing.T, what string, c *Client) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		_, err := c.ReadMessage()
		var ne interface{ Timeout() bool }
		switch {
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			t.Errorf("%s: connection still open", what)
		}
		return
	}
}

// A publisher that is sending is not replaced by default: the newcomer
// gets BadName and its media reaches nobody. With -takeover always it is
// replaced; with -takeover never even a silent one is kept.
func TestTakeoverPolicies(t *testing.T) {
	t.Run("idle-keeps-a-live-publisher", func(t *testing.T) {
		srv := startServer(t, nil)
		lc := startLive(t, srv, "/live/busy")
		time.Sleep(2500 * time.Millisecond) // longer than -takeover-idle
		start := time.Now()
		intrude(t, rtmpURL(srv, "/live/busy"), "NetStream.Publish.BadName")
		if d := time.Since(start); d > time.Second {
			t.Errorf("refusal took %v", d)
		}
		lc.check(t, 10)
	})
	t.Run("always", func(t *testing.T) {
		srv := startServer(t, func(c *Config) { c.Takeover = TakeoverAlways })
		stop := livePublisher(t, srv, "/live/any")
		defer stop()
		player := testPlayer(t, rtmpURL(srv, "/live/any"))
		results := collectUntil(rtmpSource(player), 1059)
		time.Sleep(100 * time.Millisecond)
		publishFrom(t, rtmpURL(srv, "/live/any"), testAudioHeader, 1000, 60)
		checkContinues(t, "rtmp", awaitTags(t, rtmpSource(player), results, 10*time.Second), 1000, 1059, nil)
	})
	t.Run("never", func(t *testing.T) {
		srv := startServer(t, func(c *Config) {
			c.Takeover, c.TakeoverIdle.Duration = TakeoverNever, 100*time.Millisecond
		})
		publishFrom(t, rtmpURL(srv, "/live/mine"), testAudioHeader, 0, 31)
		time.Sleep(300 * time.Millisecond)
		intrude(t, rtmpURL(srv, "/live/mine"), "NetStream.Publish.BadName")
	})
}

// A newcomer to a publisher that just went quiet (a tenth of
// -takeover-idle) is told Publish.Start at once and sends; it goes live
// with what it sent when the old one has been silent for -takeover-idle.
// If the old one sends again meanwhile, the newcomer gets BadName, is
// closed, and nothing it sent reaches the players.
func TestTakeoverReservation(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.TakeoverIdle.Duration = time.Second })
	publishFrom(t, rtmpURL(srv, "/live/w"), testAudioHeader, 0, 31)
	waitLive(t, srv, "live", "w")
	oldID := publisherOf(srv, "live", "w")
	player := testPlayer(t, rtmpURL(srv, "/live/w"))
	results := collectUntil(rtmpSource(player), 1059)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	publishFrom(t, rtmpURL(srv, "/live/w"), changedAudioHeader, 1000, 60)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("a reserved publish was answered after %v", d)
	}
	for publisherOf(srv, "live", "w") == oldID && time.Since(start) < 3*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("newcomer live %v after its publish, want about 700 ms", d)
	}
	checkContinues(t, "rtmp", awaitTags(t, rtmpSource(player), results, 10*time.Second), 1000, 1059,
		[][]byte{changedAudioHeader})

	pub := publishFrom(t, rtmpURL(srv, "/live/x"), testAudioHeader, 0, 31)
	lc := testPlayer(t, rtmpURL(srv, "/live/x"))
	time.Sleep(300 * time.Millisecond)
	go func() { // resumes while the newcomer waits
		time.Sleep(200 * time.Millisecond)
		pub.WriteMedia(MsgVideo, 1100, testVideoFrame(31, false))
	}()
	late := publishFrom(t, rtmpURL(srv, "/live/x"), testAudioHeader, 2000, 10)
	waitStatus(t, late, "NetStream.Publish.BadName")
	checkClosed(t, "the refused newcomer", late)
	pub.WriteMedia(MsgVideo, 1133, testVideoFrame(32, false))
	for _, m := range readMedia(t, lc, 3+2+2) {
		if n := frameNumber(m.Payload); isCoded(seenTag{TagType(m.Type), 0, m.Payload}) && n >= 2000 {
			t.Fatalf("frame %d of the refused newcomer reached a player", n)
		}
	}
}

// Kicking a publisher ends its publication; its players of every protocol
// wait and go on with the next publisher. With -kick-ends-players they
// are closed with it.
func TestKickKeepsPlayers(t *testing.T) {
	for _, ends := range []bool{false, true} {
		srv := startServer(t, func(c *Config) { c.KickEndsPlayers = ends })
		pub := publishFrom(t, rtmpURL(srv, "/live/k"), testAudioHeader, 0, 45)
		waitLive(t, srv, "live", "k")
		viewers := viewersOf(t, srv, "/live/k")
		waitPlayers(t, srv, "live", "k", 3)
		var results []<-chan []seenTag
		for _, v := range viewers {
			results = append(results, collectUntil(v, 1059))
		}
		if !srv.hub.kick(sessionOf(t, srv, true)) {
			t.Fatal("kick: no such session")
		}
		checkClosed(t, "the kicked publisher", pub)
		if ends {
			start := time.Now()
			for i, v := range viewers {
				awaitTags(t, v, results[i], 3*time.Second)
			}
			if d := time.Since(start); d >= 3*time.Second {
				t.Errorf("-kick-ends-players: players still connected after %v", d)
			}
			continue
		}
		publishFrom(t, rtmpURL(srv, "/live/k"), testAudioHeader, 1000, 60)
		for i, v := range viewers {
			checkContinues(t, v.name, awaitTags(t, v, results[i], 10*time.Second), 1000, 1059, nil)
		}
	}
}

// sessionOf returns the id of the (first) publishing or playing session.
func sessionOf(t *testing.T, srv *Server, publisher bool) string {
	t.Helper()
	for _, s := range srv.hub.sessionList() {
		if _, _, pub := s.stream(); pub == publisher {
			return s.ID
		}
	}
	t.Fatal("no such session")
	return ""
}

// Hooks carry the session id for every protocol: the id the player then
// has in the session list.
func TestHookSessionIDs(t *testing.T) {
	hs, rec := newHookServer(t)
	srv := startServer(t, func(c *Config) { c.OnPlay = hs.URL })
	for _, proto := range []string{"flv", "ws"} {
		var body io.Closer
		if proto == "flv" {
			resp, err := http.Get(httpURL(srv, "/live/h.flv"))
			must(t, err)
			body = resp.Body
		} else {
			body = dialWS(t, srv.HTTPAddr(), "/live/h.flv").conn
		}
		ev := rec.next(t, "play", proto)
		waitPlayers(t, srv, "live", "h", 1)
		var ids []string
		for _, s := range srv.hub.sessionList() {
			ids = append(ids, s.ID)
		}
		if !strings.HasPrefix(ev.ID, strings.ToUpper(proto)+"-") || !strings.Contains(strings.Join(ids, " "), ev.ID) {
			t.Errorf("%s hook id %q; sessions %v", proto, ev.ID, ids)
		}
		body.Close()
		waitNoPlayers(t, srv, "live", "h")
	}
}

// waitNoPlayers waits until app/name has no player left.
func waitNoPlayers(t *testing.T, srv *Server, app, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if srv.hub.lookup(app, name) == nil {
			return
		}
	}
	t.Fatalf("/%s/%s still has players", app, name)
}

// Refusals are logged at info with reason and address, one line per
// address and reason per window, the next line counting those left out.
func TestRefusalLog(t *testing.T) {
	checkNoLeaks(t)
	var buf syncBuffer
	cfg := defaultConfig()
	cfg.RTMP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.AuthPlay, cfg.AuthSecret = true, "s"
	srv := NewServer(cfg, slog.New(slog.NewTextHandler(&buf, nil)))
	must(t, srv.Listen())
	srv.Serve()
	t.Cleanup(srv.Close)
	startLive(t, srv, "/live/r"+signedQuery("/live/r", "s")) // a publisher that keeps sending
	for range 3 {
		intrude(t, rtmpURL(srv, "/live/r"), "NetStream.Publish.BadName")
		checkHTTPPlay(t, srv, "/live/r.flv", 401)
	}
	bad, err := DialRTMP(ctxT(t, 5*time.Second), rtmpURL(srv, "/live/x"))
	must(t, err)
	bad.url.Name = "a..b"
	if err := bad.Publish(ctxT(t, 5*time.Second)); err == nil {
		t.Error("publish of a bad name allowed")
	}
	bad.Close()
	out := buf.String()
	for want, n := range map[string]int{
		`level=INFO msg="publish refused" reason=busy remote=127.0.0.1:`: 1,
		`level=INFO msg="play refused" reason=auth remote=127.0.0.1:`:    1,
		`level=INFO msg="publish refused" reason="bad name"`:             1,
	} {
		if got := strings.Count(out, want); got != n {
			t.Errorf("%d lines %q, want %d:\n%s", got, want, n, out)
		}
	}

	var l refusalLog
	now := time.Now()
	steps := []struct {
		at       time.Duration
		ok       bool
		suppress int
	}{{0, true, 0}, {time.Second, false, 0}, {2 * time.Second, false, 0}, {refusalWindow, true, 2}, {refusalWindow + 1, false, 0}}
	for _, s := range steps {
		ok, n := l.admit("1.2.3.4", "publish busy", now.Add(s.at))
		if ok != s.ok || n != s.suppress {
			t.Errorf("at %v: logged %v, %d left out; want %v, %d", s.at, ok, n, s.ok, s.suppress)
		}
	}
	if ok, _ := l.admit("1.2.3.5", "publish busy", now.Add(time.Second)); !ok {
		t.Error("another address is limited by the first")
	}
}

// -takeover takes idle, always or never, from the command line and from
// the JSON config; anything else is an error.
func TestTakeoverFlag(t *testing.T) {
	cfg, err := loadConfig([]string{"-takeover", "always", "-takeover-idle", "500ms"}, io.Discard)
	if err != nil || cfg.Takeover != TakeoverAlways || cfg.TakeoverIdle.Duration != 500*time.Millisecond {
		t.Fatalf("flags: %+v, %v", cfg, err)
	}
	if _, err := loadConfig([]string{"-takeover", "sometimes"}, io.Discard); err == nil {
		t.Error("-takeover sometimes accepted")
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"takeover": "never"}`), &c); err != nil || c.Takeover != TakeoverNever {
		t.Errorf("json: %q, %v", c.Takeover, err)
	}
	if err := json.Unmarshal([]byte(`{"takeover": "often"}`), &c); err == nil {
		t.Error(`json "often" accepted`)
	}
	if cfg, _ := loadConfig(nil, io.Discard); cfg.Takeover != TakeoverIdle || cfg.TakeoverIdle.Duration != 2*time.Second || cfg.KickEndsPlayers {
		t.Errorf("defaults: %q %v %v", cfg.Takeover, cfg.TakeoverIdle, cfg.KickEndsPlayers)
	}
}
