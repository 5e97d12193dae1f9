package main

// Relays: edge pull from an origin (one upstream connection per stream,
// metadata and both sequence headers carried, stops after the grace), push
// to another server (resumes after that server restarts), and the FLV tag
// sink both use.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestRelayURL(t *testing.T) {
	tests := []struct {
		base, app, name, want string
		ok                    bool
	}{
		{"rtmp://127.0.0.1:1935", "live", "cam", "rtmp://127.0.0.1:1935/live/cam", true},
		{"rtmp://127.0.0.1:1935/", "live", "cam", "rtmp://127.0.0.1:1935/live/cam", true},
		{"rtmp://cdn.example/ingest", "live", "cam", "rtmp://cdn.example/ingest/cam", true},
		{"rtmp://cdn.example:19350/ingest/", "live", "cam", "rtmp://cdn.example:19350/ingest/cam", true},
		{"http://127.0.0.1:1935", "live", "cam", "", false},
		{"rtmp:///live", "live", "cam", "", false},
		{"rtmp://h/a/b", "live", "cam", "", false},
		{"rtmp://h/..", "live", "cam", "", false},
		{"rtmp://h?x=1", "live", "cam", "", false},
		{"rtmp://user:pw@h", "live", "cam", "", false},
		{"rtmp://h", "live", "..", "", false},
		{"%zz", "live", "cam", "", false},
	}
	for _, tt := range tests {
		got, err := relayURL(tt.base, tt.app, tt.name)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("relayURL(%q, %q, %q) = %q, %v; want %q ok=%v", tt.base, tt.app, tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestPushFlagRepeats(t *testing.T) {
	var errs bytes.Buffer
	cfg, err := loadConfig([]string{"-push", "rtmp://a:1935", "-push", "rtmp://b:1936/x,rtmp://a:1935"}, &errs)
	must(t, err)
	if want := []string{"rtmp://a:1935", "rtmp://b:1936/x"}; !slices.Equal(cfg.Push, want) {
		t.Fatalf("push = %q, want %q", cfg.Push, want)
	}
	if _, err := loadConfig([]string{"-push", "http://a"}, io.Discard); err == nil {
		t.Fatal("-push http://a accepted")
	}
}

// ---------------------------------------------------------------------------
// Edge pull

// startEdge runs a server that pulls from origin.
func startEdge(t *testing.T, origin *Server, mod func(*Config)) *Server {
	return startServer(t, func(c *Config) {
		c.Origin = "rtmp://" + origin.RTMPAddr()
		c.EdgeGrace = Duration{300 * time.Millisecond}
		if mod != nil {
			mod(c)
		}
	})
}

// upstreamPlayers counts the play sessions of app/name on srv: on an
// origin, one per edge that pulls the stream.
func upstreamPlayers(srv *Server, app, name string) int {
	srv.hub.mu.Lock()
	defer srv.hub.mu.Unlock()
	n := 0
	for _, s := range srv.hub.sessions {
		a, nm, pub := s.stream()
		if a == app && nm == name && !pub {
			n++
		}
	}
	return n
}

func waitUpstream(t *testing.T, srv *Server, app, name string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for upstreamPlayers(srv, app, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream players of /%s/%s, want %d", upstreamPlayers(srv, app, name), app, name, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// playN dials url, plays, and reads until it has the prologue and a
// keyframe; it reports what went wrong instead of failing the test (it
// runs in goroutines).
func playN(ctx context.Context, url string) (*Client, error) {
	c, err := DialRTMP(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := c.Play(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
	}
	var kinds []string
	for len(kinds) < 4 {
		m, err := c.ReadMessage()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("after %v: %w", kinds, err)
		}
		switch {
		case m.Type == MsgDataAMF0 && bytes.Contains(m.Payload, []byte("onMetaData")):
			kinds = append(kinds, "meta")
		case m.Type == MsgVideo && bytes.Equal(m.Payload, testVideoHeader):
			kinds = append(kinds, "vhdr")
		case m.Type == MsgAudio && bytes.Equal(m.Payload, testAudioHeader):
			kinds = append(kinds, "ahdr")
		case m.Type == MsgVideo:
			if m.Payload[0] != 0x17 {
				c.Close()
				return nil, fmt.Errorf("first video frame is not a keyframe (after %v)", kinds)
			}
			kinds = append(kinds, "key")
		}
	}
	if !slices.Equal(kinds, []string{"meta", "vhdr", "ahdr", "key"}) {
		c.Close()
		return nil, fmt.Errorf("start %v, want meta, vhdr, ahdr, key", kinds)
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// An edge pulls on demand: its players get metadata, both sequence
// headers and a keyframe first; a hundred players arriving at once make
// one upstream connection; the pull ends after the grace once they leave.
func TestEdgePullOnePerStream(t *testing.T) {
	origin := startServer(t, nil)
	edge := startEdge(t, origin, nil)
	pub := testPublisher(t, rtmpURL(origin, "/live/cam"))
	sendGOPs(t, pub, 0, 31, 30)
	waitFrames(t, origin, "live", "cam", 31) // else the pull may start at keyframe 0

	first := testPlayer(t, rtmpURL(edge, "/live/cam"))
	got := readMedia(t, first, 5)
	checkPrologue(t, got)
	if got[3].Type != MsgVideo || frameNumber(got[3].Payload) != 30 || got[3].Payload[0] != 0x17 {
		t.Fatalf("edge player's first frame: %v % x", got[3].Type, got[3].Payload)
	}
	waitUpstream(t, origin, "live", "cam", 1, 5*time.Second)
	first.Close()
	waitUpstream(t, origin, "live", "cam", 0, 5*time.Second) // grace 300 ms

	const n = 100
	clients := make([]*Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			clients[i], errs[i] = playN(ctx, rtmpURL(edge, "/live/cam"))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("player %d: %v", i, err)
		}
	}
	if got := upstreamPlayers(origin, "live", "cam"); got != 1 {
		t.Errorf("%d players on the edge make %d upstream connections, want 1", n, got)
	}
	// live frames still flow through the one pull to everyone
	sendGOPs(t, pub, 31, 2, 30)
	for i, c := range clients {
		if c == nil {
			continue
		}
		// after the cached keyframe's audio: frame 31's video
		if m := readMedia(t, c, 2)[1]; m.Type != MsgVideo || frameNumber(m.Payload) != 31 {
			t.Errorf("player %d: live %v frame %d, want video 31", i, m.Type, frameNumber(m.Payload))
		}
		c.Close()
	}
	waitUpstream(t, origin, "live", "cam", 0, 5*time.Second)
	for _, r := range edge.relays.status() {
		t.Errorf("relay left after the players: %+v", r)
	}
}

// When the origin's publisher leaves and comes back, an RTMP player of the
// edge gets the new publication through the same pull.
func TestEdgePullRepublish(t *testing.T) {
	origin := startServer(t, nil)
	edge := startEdge(t, origin, nil)
	pub := testPublisher(t, rtmpURL(origin, "/live/re"))
	sendGOPs(t, pub, 0, 1, 30)
	player := testPlayer(t, rtmpURL(edge, "/live/re"))
	checkPrologue(t, readMedia(t, player, 5)) // meta, headers, video 0, audio 0
	pub.Close()
	waitEnded := time.Now().Add(5 * time.Second)
	for {
		if st := edge.hub.lookup("live", "re"); st != nil {
			if ring, _ := st.current(); ring == nil {
				break
			}
		}
		if time.Now().After(waitEnded) {
			t.Fatal("the edge's publication did not end with the origin's")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pub2 := testPublisher(t, rtmpURL(origin, "/live/re"))
	sendGOPs(t, pub2, 90, 1, 30) // frame 90 is a keyframe
	got := readMedia(t, player, 4)
	checkPrologue(t, got)
	if frameNumber(got[3].Payload) != 90 {
		t.Fatalf("after republish: frame %d, want 90", frameNumber(got[3].Payload))
	}
	if n := upstreamPlayers(origin, "live", "re"); n != 1 {
		t.Fatalf("%d upstream connections, want 1", n)
	}
}

// An edge HTTP-FLV player also starts the pull, and gets the FLV header,
// onMetaData and both sequence headers before the keyframe.
func TestEdgePullHTTPFLV(t *testing.T) {
	origin := startServer(t, nil)
	edge := startEdge(t, origin, nil)
	pub := testPublisher(t, rtmpURL(origin, "/live/h"))
	sendGOPs(t, pub, 0, 1, 30)
	body := httpGetFLV(t, httpURL(edge, "/live/h.flv"))
	checkFLVPrologue(t, body)
	ws := dialWS(t, edge.HTTPAddr(), "/live/h.flv")
	checkFLVPrologue(t, ws)
}

// checkFLVPrologue reads an FLV header with audio and video, onMetaData,
// the two sequence headers and a keyframe.
func checkFLVPrologue(t *testing.T, r io.Reader) {
	t.Helper()
	if h := readFLVHeader(t, r); !h.HasAudio || !h.HasVideo {
		t.Fatalf("flv header %+v", h)
	}
	tags := readFLVTags(t, r, 4)
	if v, _, _ := DecodeAMF0(tags[0].Data); tags[0].Type != TagScript || v != "onMetaData" {
		t.Fatalf("first tag %v %q", tags[0].Type, tags[0].Data)
	}
	if !bytes.Equal(tags[1].Data, testVideoHeader) || !bytes.Equal(tags[2].Data, testAudioHeader) {
		t.Fatalf("headers % x / % x", tags[1].Data, tags[2].Data)
	}
	if tags[3].Type != TagVideo || tags[3].Data[0] != 0x17 {
		t.Fatalf("first frame % x", tags[3].Data)
	}
}

// ---------------------------------------------------------------------------
// Push

// A publish is forwarded to the same app/name on the push target, headers
// first, and the remote publication ends with the local one.
func TestPushForwards(t *testing.T) {
	remote := startServer(t, nil)
	local := startServer(t, func(c *Config) { c.Push = []string{"rtmp://" + remote.RTMPAddr()} })
	pub := testPublisher(t, rtmpURL(local, "/live/p"))
	sendGOPs(t, pub, 0, 31, 30)
	waitLiveQuiet(t, remote, "live", "p")
	waitFrames(t, remote, "live", "p", 31) // keyframe 30 is there to join on
	player := testPlayer(t, rtmpURL(remote, "/live/p"))
	got := readMedia(t, player, 5)
	checkPrologue(t, got)
	if frameNumber(got[3].Payload) != 30 {
		t.Fatalf("pushed stream's first frame %d, want 30", frameNumber(got[3].Payload))
	}
	sendGOPs(t, pub, 31, 2, 30)
	for _, m := range readMedia(t, player, 4)[2:] {
		if frameNumber(m.Payload) != 31 && frameNumber(m.Payload) != 32 {
			t.Fatalf("live frame %d after the cache", frameNumber(m.Payload))
		}
	}
	rs := local.relays.status()
	if len(rs) != 1 || rs[0].Kind != "push" || rs[0].State != "active" || rs[0].Bytes == 0 {
		t.Fatalf("relay stats %+v", rs)
	}
	pub.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(local.relays.status()) > 0 || remoteLive(remote, "live", "p") {
		if time.Now().After(deadline) {
			t.Fatalf("push outlived its publisher: %+v", local.relays.status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func remoteLive(srv *Server, app, name string) bool {
	st := srv.hub.lookup(app, name)
	if st == nil {
		return false
	}
	ring, _ := st.current()
	return ring != nil
}

// waitLiveQuiet waits until app/name has a publication.
func waitLiveQuiet(t *testing.T, srv *Server, app, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !remoteLive(srv, app, name) {
		if time.Now().After(deadline) {
			t.Fatalf("/%s/%s never went live on %s", app, name, srv.RTMPAddr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The relays API lists the push; its errors count the failed attempts.
func TestRelayAPI(t *testing.T) {
	local := startServer(t, func(c *Config) {
		c.Push = []string{"rtmp://127.0.0.1:1/x"} // nothing listens on port 1
		c.APIToken = "tok"
	})
	testPublisher(t, rtmpURL(local, "/live/api"))
	req, _ := http.NewRequest("GET", httpURL(local, "/api/v1/relays"), nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without token: %s", resp.Status)
	}
	req.Header.Set("Authorization", "Bearer tok")
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && bytes.Contains(b, []byte(`"target":"rtmp://127.0.0.1:1/x/api"`)) &&
			!bytes.Contains(b, []byte(`"errors":0`)) && bytes.Contains(b, []byte(`"lastError"`)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("relays: %s %s", resp.Status, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// With ffmpeg

// Origin + two edges: ffmpeg publishes to the origin; ffprobe and ffmpeg
// decode from each edge over RTMP and HTTP-FLV; one pull per edge.
func TestFFmpegOriginTwoEdges(t *testing.T) {
	requireFFmpeg(t)
	origin := startServer(t, nil)
	edges := []*Server{startEdge(t, origin, func(c *Config) { c.EdgeGrace = Duration{5 * time.Second} }),
		startEdge(t, origin, func(c *Config) { c.EdgeGrace = Duration{5 * time.Second} })}
	startFFmpegPublisher(t, rtmpURL(origin, "/live/tree"))
	waitLive(t, origin, "live", "tree")
	for _, edge := range edges {
		checkProbe(t, ffprobe(t, rtmpURL(edge, "/live/tree")))
		checkProbe(t, ffprobe(t, httpURL(edge, "/live/tree.flv")))
		ffmpegDecode(t, rtmpURL(edge, "/live/tree"), time.Second)
		ffmpegDecode(t, httpURL(edge, "/live/tree.flv"), time.Second)
	}
	// with players on both edges at once: one upstream connection each
	for _, edge := range edges {
		readMedia(t, testPlayer(t, rtmpURL(edge, "/live/tree")), 3)
	}
	if n := upstreamPlayers(origin, "live", "tree"); n != 2 {
		t.Fatalf("two edges with players: %d upstream connections, want 2", n)
	}
}

// Push to a second server: the stream decodes there, and the push resumes
// after that server is closed and started again on the same port.
func TestFFmpegPushResumes(t *testing.T) {
	requireFFmpeg(t)
	remote := startServer(t, nil)
	addr := remote.RTMPAddr()
	local := startServer(t, func(c *Config) { c.Push = []string{"rtmp://" + addr} })
	startFFmpegPublisher(t, rtmpURL(local, "/live/out"))
	waitLive(t, remote, "live", "out")
	checkProbe(t, ffprobe(t, rtmpURL(remote, "/live/out")))

	remote.Close()
	time.Sleep(300 * time.Millisecond) // the push notices and backs off
	again := startServer(t, func(c *Config) { c.RTMP = addr })
	waitLive(t, again, "live", "out")
	checkProbe(t, ffprobe(t, rtmpURL(again, "/live/out")))
	ffmpegDecode(t, httpURL(again, "/live/out.flv"), 2*time.Second)
	rs := local.relays.status()
	if len(rs) != 1 || rs[0].Errors == 0 || rs[0].State != "active" {
		t.Fatalf("push stats after the restart: %+v", rs)
	}
}
