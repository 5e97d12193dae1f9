package main

// Tests of the stats API, /metrics and the status page, with real clients
// (ffmpeg publishing; the project's RTMP client, an HTTP-FLV GET and a
// WebSocket-FLV client playing) behind counting TCP proxies, so that the
// true byte counts and bitrates are measured outside the server.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// A counting TCP proxy

// proxyConn is one proxied connection: up counts the bytes written to the
// server, down the bytes read from it; done closes when the server side
// has ended (EOF or error).
type proxyConn struct {
	up, down atomic.Int64
	done     chan struct{}
}

type countingProxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[string]*proxyConn // by the proxy's address towards the server
	open  []net.Conn
}

// startProxy forwards connections on a loopback port to target.
func startProxy(t testing.TB, target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{t: t, ln: ln, target: target, conns: map[string]*proxyConn{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

func (p *countingProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		pc := &proxyConn{done: make(chan struct{})}
		p.mu.Lock()
		p.conns[server.LocalAddr().String()] = pc
		p.open = append(p.open, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); pipe(server, client, &pc.up, false) }()
		go func() {
			defer p.wg.Done()
			defer close(pc.done)
			pipe(client, server, &pc.down, true)
			client.Close() // the server ended: end the client too
			server.Close()
		}()
	}
}

// pipe copies src to dst, counting (written bytes for the upstream
// direction, read bytes for the downstream one). At src's EOF it
// half-closes dst, so that the other direction can still drain.
func pipe(dst, src net.Conn, n *atomic.Int64, countReads bool) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if countReads {
			n.Add(int64(k))
		}
		if k > 0 {
			w, werr := dst.Write(buf[:k])
			if !countReads {
				n.Add(int64(w))
			}
			if werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

// conn returns the proxied connection the server sees coming from addr.
func (p *countingProxy) conn(addr string) *proxyConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[addr]
}

// totals sums every connection's counts.
func (p *countingProxy) totals() (up, down int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		up, down = up+c.up.Load(), down+c.down.Load()
	}
	return up, down
}

// ---------------------------------------------------------------------------
// API helpers

type apiStreamsResp struct {
	Success bool `json:"success"`
	Data    struct {
		Streams []streamView `json:"streams"`
		Total   int          `json:"total"`
	} `json:"data"`
	Message string `json:"message"`
}

type apiSessionsResp struct {
	Success bool `json:"success"`
	Data    struct {
		Sessions []sessionView `json:"sessions"`
		Total    int           `json:"total"`
	} `json:"data"`
}

type apiStatsResp struct {
	Success bool      `json:"success"`
	Data    statsView `json:"data"`
}

// apiGet GETs path (with the bearer token if not empty) and decodes the
// JSON body into v; it returns the status code.
func apiGet(t testing.TB, srv *Server, path, token string, v any) int {
	t.Helper()
	code, body := apiDo(t, srv, "GET", path, token)
	if v != nil && code == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
	}
	return code
}

func apiDo(t testing.TB, srv *Server, method, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, httpURL(srv, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func getStreams(t testing.TB, srv *Server) []streamView {
	var r apiStreamsResp
	if code := apiGet(t, srv, "/api/v1/streams", "", &r); code != 200 || !r.Success {
		t.Fatalf("/api/v1/streams: %d %+v", code, r)
	}
	return r.Data.Streams
}

func getSessions(t testing.TB, srv *Server) []sessionView {
	var r apiSessionsResp
	if code := apiGet(t, srv, "/api/v1/sessions", "", &r); code != 200 || !r.Success || r.Data.Total != len(r.Data.Sessions) {
		t.Fatalf("/api/v1/sessions: %d %+v", code, r)
	}
	return r.Data.Sessions
}

func findSession(ss []sessionView, id string) *sessionView {
	for i := range ss {
		if ss[i].ID == id {
			return &ss[i]
		}
	}
	return nil
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// drain reads r until it fails, counting what it got.
func drain(r io.Reader, n *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		n.Add(int64(k))
		if err != nil {
			return
		}
	}
}

func within(got, want, frac float64) bool { return want > 0 && math.Abs(got-want) <= frac*want }

// ---------------------------------------------------------------------------
// ffmpeg publishing, one player per protocol

// startThreePlayers starts an RTMP, an HTTP-FLV and a WS-FLV player of path, each
// through its own proxy; it returns the proxies and the bytes each player
// read so far.
type threePlayers struct {
	rtmp, flv, ws             *countingProxy
	rtmpN, flvN, wsN          atomic.Int64 // bytes the players read
	rtmpDone, flvDone, wsDone chan struct{}
}

func startThreePlayers(t *testing.T, srv *Server, app, name string) *threePlayers {
	tp := &threePlayers{rtmp: startProxy(t, srv.RTMPAddr()), flv: startProxy(t, srv.HTTPAddr()),
		ws: startProxy(t, srv.HTTPAddr()), rtmpDone: make(chan struct{}), flvDone: make(chan struct{}), wsDone: make(chan struct{})}
	path := "/" + app + "/" + name
	c := testPlayer(t, "rtmp://"+tp.rtmp.addr()+path)
	go func() {
		defer close(tp.rtmpDone)
		for {
			m, err := c.ReadMessage()
			if err != nil {
				return
			}
			tp.rtmpN.Add(int64(len(m.Payload)))
		}
	}()
	body := httpGetFLV(t, "http://"+tp.flv.addr()+path+".flv")
	go func() { defer close(tp.flvDone); drain(body, &tp.flvN) }()
	ws := dialWS(t, tp.ws.addr(), path+".flv")
	go func() { defer close(tp.wsDone); drain(ws, &tp.wsN) }()
	return tp
}

func (tp *threePlayers) downTotal() int64 {
	var n int64
	for _, p := range []*countingProxy{tp.rtmp, tp.flv, tp.ws} {
		_, d := p.totals()
		n += d
	}
	return n
}

func TestStatsFFmpegThreePlayers(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	pub := startProxy(t, srv.RTMPAddr())
	startFFmpegPublisher(t, "rtmp://"+pub.addr()+"/live/stats")
	waitLive(t, srv, "live", "stats")
	tp := startThreePlayers(t, srv, "live", "stats")
	waitFor(t, 5*time.Second, "3 subscribers", func() bool {
		s := getStreams(t, srv)
		return len(s) == 1 && s[0].Subscribers == 3
	})

	// true bitrates: the proxies' byte counts over 5 s, then the API
	time.Sleep(2500 * time.Millisecond)
	in0, _ := pub.totals()
	out0 := tp.downTotal()
	t0 := time.Now()
	time.Sleep(5 * time.Second)
	in1, _ := pub.totals()
	out1 := tp.downTotal()
	dt := time.Since(t0).Seconds()
	streams := getStreams(t, srv)
	trueIn, trueOut := float64(in1-in0)/dt, float64(out1-out0)/dt

	if len(streams) != 1 {
		t.Fatalf("streams: %+v", streams)
	}
	st := streams[0]
	p := st.Publisher
	t.Logf("stream %s: %+v; true in %.0f B/s, out %.0f B/s", st.Key, *p, trueIn, trueOut)
	t.Logf("inBps %d outBps %d gop %d frames %d bytes", st.InBps, st.OutBps, st.GOPFrames, st.GOPBytes)
	if st.Key != "/live/stats" || st.App != "live" || st.Name != "stats" || st.Status != "publishing" || st.Subscribers != 3 {
		t.Errorf("stream identity: %+v", st)
	}
	if p.VideoCodec != 7 || p.AudioCodec != 10 || p.VideoCodecName != "H264" || p.AudioCodecName != "AAC" {
		t.Errorf("codecs: video %d %s, audio %d %s", p.VideoCodec, p.VideoCodecName, p.AudioCodec, p.AudioCodecName)
	}
	if p.VideoWidth != 640 || p.VideoHeight != 360 || p.VideoFramerate != 30 {
		t.Errorf("video: %dx%d @%v", p.VideoWidth, p.VideoHeight, p.VideoFramerate)
	}
	if p.AudioSamplerate != 44100 || p.AudioChannels != 2 {
		t.Errorf("audio: %d Hz, %d channels", p.AudioSamplerate, p.AudioChannels)
	}
	if !within(float64(st.InBps), trueIn, 0.10) {
		t.Errorf("inBps %d, true %.0f", st.InBps, trueIn)
	}
	if !within(float64(st.OutBps), trueOut, 0.10) {
		t.Errorf("outBps %d, true %.0f", st.OutBps, trueOut)
	}
	if st.GOPFrames == 0 || st.GOPBytes == 0 || len(st.InBpsHistory) < 5 || len(st.Players) != 3 {
		t.Errorf("extensions: gop %d/%d, history %v, players %+v", st.GOPFrames, st.GOPBytes, st.InBpsHistory, st.Players)
	}

	ids := checkFourSessions(t, srv, pub, tp)
	kickPlayersThenPublisher(t, srv, pub, tp, ids)
}

// checkFourSessions wants the publisher and one player per protocol, all
// with app/name, and each session's counters consistent with its proxy.
func checkFourSessions(t *testing.T, srv *Server, pub *countingProxy, tp *threePlayers) map[string]string {
	downBefore := map[*proxyConn]int64{}
	for _, p := range []*countingProxy{pub, tp.rtmp, tp.flv, tp.ws} {
		p.mu.Lock()
		for _, c := range p.conns {
			downBefore[c] = c.down.Load()
		}
		p.mu.Unlock()
	}
	sessions := getSessions(t, srv)
	if len(sessions) != 4 {
		t.Fatalf("want 4 sessions, got %+v", sessions)
	}
	ids := map[string]string{}
	proxies := map[string]*countingProxy{"publisher": pub, "rtmp": tp.rtmp, "flv": tp.flv, "ws": tp.ws}
	for _, s := range sessions {
		role := s.Protocol
		if s.IsPublisher {
			role = "publisher"
		}
		if s.App != "live" || s.Name != "stats" || ids[role] != "" || (s.IsPublisher && s.Protocol != "rtmp") {
			t.Errorf("session %+v", s)
		}
		ids[role] = s.ID
		pc := proxies[role].conn(s.IP)
		if pc == nil {
			t.Fatalf("session %s from %s is not a proxied connection", s.ID, s.IP)
		}
		// the server cannot have sent less than the proxy had read from it
		// before the call (exact equality: TestStatsExactCounters)
		if down := downBefore[pc]; int64(s.OutBytes) < down || s.OutBytes == 0 || s.InBytes == 0 {
			t.Errorf("session %s: in %d, out %d, proxy had read %d", s.ID, s.InBytes, s.OutBytes, down)
		}
	}
	if len(ids) != 4 {
		t.Fatalf("sessions by role: %v", ids)
	}
	return ids
}

// kickPlayersThenPublisher kicks the HTTP-FLV player, then the WS-FLV one,
// then the publisher; each time exactly that connection closes.
func kickPlayersThenPublisher(t *testing.T, srv *Server, pub *countingProxy, tp *threePlayers, ids map[string]string) {
	if code, _ := apiDo(t, srv, "DELETE", "/api/v1/sessions/NOPE-00000000", ""); code != 404 {
		t.Errorf("kick of an unknown session: %d", code)
	}
	kick := func(role string) {
		t.Helper()
		code, body := apiDo(t, srv, "DELETE", "/api/v1/sessions/"+ids[role], "")
		if code != 200 || !strings.Contains(string(body), `"success":true`) {
			t.Fatalf("kick %s: %d %s", role, code, body)
		}
	}
	stillFlowing := func(what string, n *atomic.Int64) {
		t.Helper()
		before := n.Load()
		waitFor(t, 3*time.Second, what+" still receiving", func() bool { return n.Load() > before })
	}
	kick("flv")
	waitFor(t, 3*time.Second, "HTTP-FLV player closed", func() bool { return isClosed(tp.flvDone) })
	stillFlowing("RTMP player", &tp.rtmpN)
	stillFlowing("WS player", &tp.wsN)
	if isClosed(tp.wsDone) || isClosed(tp.rtmpDone) {
		t.Fatal("kicking the HTTP-FLV player closed another player")
	}
	kick("ws")
	waitFor(t, 3*time.Second, "WS player closed", func() bool { return isClosed(tp.wsDone) })
	stillFlowing("RTMP player", &tp.rtmpN)
	waitFor(t, 3*time.Second, "2 sessions left", func() bool { return len(getSessions(t, srv)) == 2 })
	ss := getSessions(t, srv)
	if findSession(ss, ids["publisher"]) == nil || findSession(ss, ids["rtmp"]) == nil {
		t.Fatalf("after kicking two players: %+v", ss)
	}

	pubConn := pub.conn(findSession(ss, ids["publisher"]).IP)
	kick("publisher")
	waitFor(t, 3*time.Second, "publisher connection closed", func() bool { return isClosed(pubConn.done) })
	waitFor(t, 3*time.Second, "publisher session gone", func() bool {
		ss := getSessions(t, srv)
		return len(ss) == 1 && ss[0].ID == ids["rtmp"]
	})
	// the RTMP player stays connected, waiting for a new publisher
	time.Sleep(300 * time.Millisecond)
	if isClosed(tp.rtmpDone) {
		t.Fatal("kicking the publisher closed the RTMP player's connection")
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// ---------------------------------------------------------------------------
// Exact counters, /metrics parsed line by line

// TestStatsExactCounters publishes a fixed stream with the project's
// client, lets every player take all of it, and then wants every
// session's counters, the network totals and /metrics to equal the bytes
// the proxies carried.
func TestStatsExactCounters(t *testing.T) {
	srv := startServer(t, nil)
	pub := startProxy(t, srv.RTMPAddr())
	c := testPublisher(t, "rtmp://"+pub.addr()+"/live/exact")
	sendGOPs(t, c, 0, 30, 10)
	tp := startThreePlayers(t, srv, "live", "exact")
	waitFor(t, 5*time.Second, "3 subscribers", func() bool {
		s := getStreams(t, srv)
		return len(s) == 1 && s[0].Subscribers == 3
	})
	sendGOPs(t, c, 30, 60, 10)
	quiet := func() bool { // every counter stable for 300 ms
		a := srv.hub.inBytes.Load() + srv.hub.outBytes.Load()
		pu, _ := pub.totals()
		b := tp.downTotal() + pu
		time.Sleep(300 * time.Millisecond)
		pu2, _ := pub.totals()
		return a == srv.hub.inBytes.Load()+srv.hub.outBytes.Load() && b == tp.downTotal()+pu2
	}
	waitFor(t, 10*time.Second, "quiet counters", quiet)

	var wantIn, wantOut int64
	for _, s := range getSessions(t, srv) {
		var pc *proxyConn
		for _, p := range []*countingProxy{pub, tp.rtmp, tp.flv, tp.ws} {
			if pc == nil {
				pc = p.conn(s.IP)
			}
		}
		if pc == nil {
			t.Fatalf("session %+v not proxied", s)
		}
		if int64(s.InBytes) != pc.up.Load() || int64(s.OutBytes) != pc.down.Load() {
			t.Errorf("session %s (%s): in %d out %d, proxy carried up %d down %d",
				s.ID, s.Protocol, s.InBytes, s.OutBytes, pc.up.Load(), pc.down.Load())
		}
		wantIn, wantOut = wantIn+pc.up.Load(), wantOut+pc.down.Load()
	}
	var stats apiStatsResp
	apiGet(t, srv, "/api/v1/stats", "", &stats)
	n := stats.Data.Network
	if int64(n.InBytes) != wantIn || int64(n.OutBytes) != wantOut {
		t.Errorf("network in %d out %d, sessions carried %d, %d", n.InBytes, n.OutBytes, wantIn, wantOut)
	}
	if s := stats.Data.Sessions; s.Total != 4 || s.Publishers != 1 || s.Players != 3 {
		t.Errorf("sessions: %+v", s)
	}
	metrics := parseMetrics(t, srv, "")
	checkMetricsAgree(t, metrics, stats.Data, getStreams(t, srv))
}

// promSample is one parsed sample line.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	promName  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabel = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)`)
)

// parseMetrics reads /metrics as Prometheus text format 0.0.4, line by
// line: HELP and TYPE before a family's samples, each family once, valid
// names and labels, float values, no duplicate series.
func parseMetrics(t testing.TB, srv *Server, token string) map[string][]promSample {
	t.Helper()
	code, body := apiDo(t, srv, "GET", "/metrics", token)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	families := map[string]string{} // name -> type
	helped := map[string]bool{}
	seen := map[string]bool{}
	out := map[string][]promSample{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for line := 1; sc.Scan(); line++ {
		l := sc.Text()
		fail := func(why string) { t.Fatalf("/metrics line %d %q: %s", line, l, why) }
		switch {
		case strings.HasPrefix(l, "# HELP "):
			f := strings.SplitN(l[7:], " ", 2)
			if len(f) != 2 || !promName.MatchString(f[0]) || helped[f[0]] {
				fail("bad or repeated HELP")
			}
			helped[f[0]] = true
		case strings.HasPrefix(l, "# TYPE "):
			f := strings.Fields(l[7:])
			if len(f) != 2 || !helped[f[0]] || families[f[0]] != "" || (f[1] != "counter" && f[1] != "gauge") {
				fail("bad TYPE (must follow HELP, once, counter or gauge)")
			}
			families[f[0]] = f[1]
		case l == "" || strings.HasPrefix(l, "#"):
			fail("unexpected line")
		default:
			s := parsePromSample(l, fail)
			if families[s.name] == "" || !strings.HasPrefix(s.name, "rtmphub_") {
				fail("sample before its TYPE, or without the rtmphub_ prefix")
			}
			if families[s.name] == "counter" && (!strings.HasSuffix(s.name, "_total") || s.value < 0) {
				fail("counter not named _total or negative")
			}
			key := l[:strings.LastIndexByte(l, ' ')]
			if seen[key] {
				fail("duplicate series")
			}
			seen[key] = true
			out[s.name] = append(out[s.name], s)
		}
	}
	return out
}

func parsePromSample(l string, fail func(string)) promSample {
	sp := strings.LastIndexByte(l, ' ')
	if sp < 0 {
		fail("no value")
	}
	v, err := strconv.ParseFloat(l[sp+1:], 64)
	if err != nil {
		fail("bad value")
	}
	s := promSample{value: v, labels: map[string]string{}}
	series := l[:sp]
	name, rest, hasLabels := strings.Cut(series, "{")
	s.name = name
	if !promName.MatchString(name) {
		fail("bad metric name")
	}
	if hasLabels {
		rest, ok := strings.CutSuffix(rest, "}")
		if !ok {
			fail("unterminated labels")
		}
		for rest != "" {
			m := promLabel.FindStringSubmatch(rest)
			if m == nil {
				fail("bad label")
			}
			val, err := strconv.Unquote(`"` + m[2] + `"`)
			if err != nil {
				fail("bad label value")
			}
			s.labels[m[1]] = val
			rest = rest[len(m[0]):]
		}
	}
	return s
}

func metricValue(t testing.TB, m map[string][]promSample, name string, labels ...string) float64 {
	t.Helper()
	var sum float64
	found := false
next:
	for _, s := range m[name] {
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		sum, found = sum+s.value, true
	}
	if !found {
		t.Fatalf("metric %s%v missing", name, labels)
	}
	return sum
}

func checkMetricsAgree(t *testing.T, m map[string][]promSample, st statsView, streams []streamView) {
	pairs := []struct {
		metric string
		want   float64
	}{
		{"rtmphub_in_bytes_total", float64(st.Network.InBytes)},
		{"rtmphub_out_bytes_total", float64(st.Network.OutBytes)},
		{"rtmphub_sessions", float64(st.Sessions.Total)},
		{"rtmphub_publishers", float64(st.Sessions.Publishers)},
		{"rtmphub_players", float64(st.Sessions.Players)},
	}
	for _, p := range pairs {
		if got := metricValue(t, m, p.metric); got != p.want {
			t.Errorf("%s = %v, /api/v1/stats says %v", p.metric, got, p.want)
		}
	}
	for _, s := range streams {
		got := metricValue(t, m, "rtmphub_stream_in_bytes_total", "app", s.App, "name", s.Name, "protocol", "rtmp")
		if got != float64(s.Publisher.InBytes) {
			t.Errorf("stream %s in bytes: metric %v, API %d", s.Key, got, s.Publisher.InBytes)
		}
		for _, proto := range []string{"rtmp", "flv", "ws"} {
			if n := metricValue(t, m, "rtmphub_stream_players", "app", s.App, "name", s.Name, "protocol", proto); n != 1 {
				t.Errorf("stream %s: %v %s players", s.Key, n, proto)
			}
		}
		if g := metricValue(t, m, "rtmphub_stream_gop_frames", "app", s.App, "name", s.Name); g != float64(s.GOPFrames) {
			t.Errorf("gop frames: metric %v, API %d", g, s.GOPFrames)
		}
	}
}

// While media flows, /metrics lies between two /api/v1/stats calls.
func TestMetricsBetweenStats(t *testing.T) {
	srv := startServer(t, nil)
	c := testPublisher(t, rtmpURL(srv, "/live/live"))
	tp := startThreePlayers(t, srv, "live", "live")
	_ = tp
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 150; i++ {
			ts := uint32(i * 33)
			if c.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%10 == 0)) != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	defer func() { <-done }()
	time.Sleep(300 * time.Millisecond)
	var a, b apiStatsResp
	apiGet(t, srv, "/api/v1/stats", "", &a)
	m := parseMetrics(t, srv, "")
	apiGet(t, srv, "/api/v1/stats", "", &b)
	for _, x := range []struct {
		name   string
		lo, hi uint64
	}{
		{"rtmphub_in_bytes_total", a.Data.Network.InBytes, b.Data.Network.InBytes},
		{"rtmphub_out_bytes_total", a.Data.Network.OutBytes, b.Data.Network.OutBytes},
	} {
		if v := metricValue(t, m, x.name); v < float64(x.lo) || v > float64(x.hi) {
			t.Errorf("%s = %v, not within [%d, %d]", x.name, v, x.lo, x.hi)
		}
	}
}

// ---------------------------------------------------------------------------
// Enhanced RTMP codecs in the API

func exTag(first byte, fourCC string, body ...[]byte) []byte {
	b := append([]byte{first}, fourCC...)
	for _, x := range body {
		b = append(b, x...)
	}
	return b
}

// rawPublisher connects and publishes, and sends nothing else.
func rawPublisher(t testing.TB, url string) *Client {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	must(t, c.Publish(ctxT(t, 5*time.Second)))
	return c
}

// Codecs that came as Enhanced RTMP FourCC tags, with no onMetaData: ids,
// names, sizes and audio parameters from the records and frames alone.
func TestStatsEnhancedCodecs(t *testing.T) {
	srv := startServer(t, nil)
	// HEVC + Opus, as SequenceStart records
	hevc := rawPublisher(t, rtmpURL(srv, "/live/hevc"))
	must(t, hevc.WriteMedia(MsgVideo, 0, exTag(0x90, "hvc1", goldenHEVC642)))
	must(t, hevc.WriteMedia(MsgAudio, 0, exTag(0x90, "Opus", goldenOpusHead)))
	must(t, hevc.WriteMedia(MsgVideo, 0, exTag(0x91, "hvc1", []byte{0, 0, 0, 0, 0, 0, 1, 0x26, 0x01})))
	// VP9 (its size only in the key frame) + AC-3 (no configuration record)
	vp9 := rawPublisher(t, rtmpURL(srv, "/live/vp9"))
	must(t, vp9.WriteMedia(MsgVideo, 0, exTag(0x90, "vp09", goldenVPC)))
	must(t, vp9.WriteMedia(MsgVideo, 0, exTag(0x91, "vp09", goldenVP9Key)))
	must(t, vp9.WriteMedia(MsgAudio, 0, exTag(0x91, "ac-3", goldenAC3)))

	fourCC := func(s string) uint32 { return binary.BigEndian.Uint32([]byte(s)) }
	want := map[string]publisherView{
		"/live/hevc": {VideoCodec: 12, VideoCodecName: "HEVC", VideoWidth: 642, VideoHeight: 362, VideoProfile: "Main",
			VideoLevel: "2.1", AudioCodec: fourCC("Opus"), AudioCodecName: "Opus", AudioSamplerate: 48000, AudioChannels: 2},
		"/live/vp9": {VideoCodec: fourCC("vp09"), VideoCodecName: "VP9", VideoWidth: 352, VideoHeight: 288,
			VideoProfile: "0", VideoLevel: "2.0", AudioCodec: fourCC("ac-3"), AudioCodecName: "AC3",
			AudioSamplerate: 48000, AudioChannels: 6},
	}
	var diff string
	deadline := time.Now().Add(5 * time.Second)
	for {
		diff = ""
		streams := getStreams(t, srv)
		if len(streams) != len(want) {
			diff = fmt.Sprintf("%d streams, want %d", len(streams), len(want))
		}
		for _, s := range streams {
			if s.Publisher == nil {
				continue
			}
			got := *s.Publisher
			// not compared: identity, counters, the measured frame rate
			got.ID, got.IP, got.Protocol, got.CreateTime, got.InBytes, got.VideoFramerate = "", "", "", 0, 0, 0
			if got != want[s.Key] {
				diff += fmt.Sprintf("%s:\n got %+v\nwant %+v\n", s.Key, got, want[s.Key])
			}
		}
		if diff == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if diff != "" {
		t.Error(diff)
	}
}

// ---------------------------------------------------------------------------
// The token

func TestAPIToken(t *testing.T) {
	const token = "s3cret-api-token"
	srv := startServer(t, func(c *Config) { c.APIToken = token; c.AuthSecret = "hook-secret" })
	c := testPublisher(t, rtmpURL(srv, "/live/private?sign=1795465478-1c3e995551b62fe44efe0892a419f2f4"))
	sendGOPs(t, c, 0, 10, 5)
	waitLive(t, srv, "live", "private")

	for _, path := range []string{"/api/v1/health", "/api/v1/info", "/api/v1/stats", "/api/v1/streams",
		"/api/v1/streams/live/private", "/api/v1/sessions", "/api/v1/nothing", "/metrics"} {
		for _, bad := range []string{"", "wrong", token + "x", token[:len(token)-1]} {
			code, body := apiDo(t, srv, "GET", path, bad)
			if code != http.StatusUnauthorized || strings.Contains(string(body), "private") ||
				!strings.Contains(string(body), `"success":false`) {
				t.Errorf("GET %s with %q: %d %s", path, bad, code, body)
			}
		}
		code, body := apiDo(t, srv, "GET", path, token)
		if path != "/api/v1/nothing" && code != 200 {
			t.Errorf("GET %s with the token: %d %s", path, code, body)
		}
		for _, secret := range []string{token, "hook-secret", "sign=", "1c3e995551b6"} {
			if strings.Contains(string(body), secret) {
				t.Errorf("GET %s shows %q: %s", path, secret, body)
			}
		}
	}
	if code, _ := apiDo(t, srv, "DELETE", "/api/v1/sessions/RTMP-00000001", ""); code != 401 {
		t.Errorf("DELETE without the token: %d", code)
	}
	if len(getSessionsToken(t, srv, token)) != 1 {
		t.Error("the publisher was kicked without the token")
	}
	// a lower-case scheme is accepted (RFC 7235: case-insensitive)
	req, _ := http.NewRequest("GET", httpURL(srv, "/api/v1/health"), nil)
	req.Header.Set("Authorization", "bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("lower-case bearer: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// open: /healthz, the page (without data), the CORS preflight
	for path, want := range map[string]int{"/healthz": 200, "/": 200} {
		code, body := apiDo(t, srv, "GET", path, "")
		if code != want || strings.Contains(string(body), "private") || strings.Contains(string(body), token) {
			t.Errorf("GET %s: %d %.200s", path, code, body)
		}
	}
	if code, _ := apiDo(t, srv, "OPTIONS", "/api/v1/streams", ""); code != 204 {
		t.Errorf("OPTIONS preflight: %d", code)
	}
}

func getSessionsToken(t testing.TB, srv *Server, token string) []sessionView {
	var r apiSessionsResp
	if code := apiGet(t, srv, "/api/v1/sessions", token, &r); code != 200 {
		t.Fatalf("sessions: %d", code)
	}
	return r.Data.Sessions
}

// Without a token the API is open; NMS's envelope and 404s.
func TestAPIEnvelope(t *testing.T) {
	srv := startServer(t, nil)
	code, body := apiDo(t, srv, "GET", "/api/v1/streams/live/none", "")
	if code != 404 || string(body) != `{"success":false,"data":{},"message":"Stream not found"}`+"\n" {
		t.Errorf("unknown stream: %d %s", code, body)
	}
	for path, keys := range map[string][]string{
		"/api/v1/health": {"status", "timestamp", "version"},
		"/api/v1/info":   {"server", "config", "uptime", "node_version"},
		"/api/v1/stats":  {"server", "cpu", "memory", "sessions", "network", "timestamp"},
	} {
		var env struct {
			Success bool                       `json:"success"`
			Data    map[string]json.RawMessage `json:"data"`
			Message string                     `json:"message"`
		}
		if code := apiGet(t, srv, path, "", &env); code != 200 || !env.Success || env.Message == "" {
			t.Errorf("%s: %d %+v", path, code, env)
		}
		for _, k := range keys {
			if _, ok := env.Data[k]; !ok {
				t.Errorf("%s: no %q in %v", path, k, env.Data)
			}
		}
	}
	var streams apiStreamsResp
	apiGet(t, srv, "/api/v1/streams", "", &streams)
	if streams.Data.Streams == nil || streams.Data.Total != 0 {
		t.Errorf("no streams: %+v", streams)
	}
}

func TestRateWindow(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(1000, 0)
	for i := 0; i <= 10; i++ { // 1000 B/s in, 500 B/s out, sampled each second
		w.add(rateSample{t0.Add(time.Duration(i) * time.Second), uint64(1000 * i), uint64(500 * i)})
	}
	in, out := w.rate(rateSample{t0.Add(10500 * time.Millisecond), 10500, 5250})
	if in != 1000 || out != 500 {
		t.Errorf("steady: %v %v", in, out)
	}
	var empty rateWindow
	if in, _ := empty.rate(rateSample{t0, 5, 5}); in != 0 {
		t.Errorf("empty window: %v", in)
	}
}

// ---------------------------------------------------------------------------
// The status page in headless Chromium

// runChromium runs headless Chromium on url with args; its user data
// directory is fresh and removed afterwards.
func runChromium(t *testing.T, url string, args ...string) []byte {
	t.Helper()
	requireChromiumOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=3000", "--window-size=1400,700"}
	out, err := exec.CommandContext(ctx, chromiumPath(), append(append(base, args...), url)...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return out
}

func TestStatusPageChromium(t *testing.T) {
	requireChromiumOnly(t)
	srv := startServer(t, nil)
	c := testPublisher(t, rtmpURL(srv, "/live/page"))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a live stream, 30 frames a second
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(33 * time.Millisecond):
			}
			if c.WriteMedia(MsgVideo, uint32(i*33), testVideoFrame(i, i%30 == 0)) != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	player := httpGetFLV(t, httpURL(srv, "/live/page.flv"))
	go io.Copy(io.Discard, player)
	time.Sleep(3 * time.Second) // a few points of bitrate history

	dom := string(runChromium(t, httpURL(srv, "/"), "--dump-dom"))
	for _, want := range []string{`data-key="/live/page"`, "<polyline", "H264 640x360", "publishing", "FLV-"} {
		if !strings.Contains(dom, want) {
			t.Errorf("page DOM lacks %q", want)
		}
	}
	if dir := os.Getenv("RTMPHUB_SCREENSHOT_DIR"); dir != "" {
		runChromium(t, httpURL(srv, "/"), "--screenshot="+dir+"/status.png")
		t.Logf("screenshot: %s/status.png", dir)
	}
}

// FuzzMediaInfo feeds arbitrary headers, metadata and key frames through
// the classifier and the stats' media reading (mediaCache.of, exCodedData,
// parseStreamMeta): never a panic, never a size beyond the limits.
func FuzzMediaInfo(f *testing.F) {
	meta, _ := AppendAMF0All(nil, "onMetaData", ECMAArray{{"width", 640.0}, {"height", 360.0}, {"framerate", 30.0}, {"stereo", true}})
	f.Add(exTag(0x90, "hvc1", goldenHEVC642), exTag(0x90, "Opus", goldenOpusHead), exTag(0x91, "hvc1", []byte{0, 0, 0, 1}), meta)
	f.Add(exTag(0x90, "vp09", goldenVPC), exTag(0x91, "ac-3", goldenAC3), exTag(0x91, "vp09", goldenVP9Key), meta)
	f.Add(exTag(0x90, "av01", goldenAV1320), exTag(0x90, "fLaC", goldenFLAC), exTag(0x91, "av01", goldenAV1320[4:]), []byte{})
	f.Add(testVideoHeader, testAudioHeader, testVideoFrame(0, true), meta)
	f.Fuzz(func(t *testing.T, header, audio, key, meta []byte) {
		r := newGOPRing()
		for _, x := range []struct {
			typ TagType
			b   []byte
		}{{TagScript, meta}, {TagVideo, header}, {TagAudio, audio}, {TagVideo, key}, {TagAudio, audio}} {
			info := TagInfo{}
			if x.typ != TagScript {
				var err error
				if info, err = ClassifyTag(x.typ, x.b); err != nil {
					continue
				}
			}
			r.append(newFrame(x.typ, 0, info, x.b))
		}
		m := new(mediaCache).of(r)
		if m.video.Width < 0 || m.video.Width > maxPictureDim || m.video.Height > maxPictureDim ||
			m.audio.Channels < 0 || m.audio.Channels > 255 || math.IsNaN(m.video.FrameRate) {
			t.Fatalf("impossible media info %+v", m)
		}
	})
}
