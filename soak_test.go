package main

// TestSoak: a server under churn stays leak-free. Players of every protocol
// (RTMP, HTTP-FLV, WS-FLV, fMP4 over HTTP) join and leave every few milliseconds, publishers restart, contend for a
// stream and take it over, the API kicks sessions and starts and stops a recording, and bad
// clients (garbage bytes on both ports, half handshakes, slowloris headers,
// bad WebSocket frames) come and go; one steady publisher and its players
// run through it all. After a warm-up the test takes a baseline (goroutines,
// open file descriptors, heap after GC); when the churn ends, each must be
// back within 5% of it, the steady players must still be receiving, and the
// server must have logged nothing at warn or error (bad clients are routine).
//
//	go test -run Soak .                      # a few seconds (as in go test ./...)
//	RTMPHUB_SOAK=10m go test -run Soak .     # ten minutes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakDuration is how long the churn runs after the warm-up: RTMPHUB_SOAK,
// or a few seconds.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("RTMPHUB_SOAK")
	if v == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("RTMPHUB_SOAK=%q: want a duration such as 10m", v)
	}
	return d
}

func TestSoak(t *testing.T) {
	d := soakDuration(t)
	logs := &soakLog{}
	srv := startSoakServer(t, logs)
	steady := startSteady(t, srv)

	// the warm-up outlasts the HLS window's fill (hlsSegments + 2 GOPs of
	// 1 s), so that the baseline holds what the churn holds
	warm := min(max(d/10, 4*time.Second), 30*time.Second)
	prime(t, srv, steady)
	runChurn(t, srv, steady, warm)
	base := settle(steady, soakFigures{})
	t.Logf("baseline after a %v warm-up: %v", warm, base)

	start := time.Now()
	counts := runChurn(t, srv, steady, d)
	end := settle(steady, base)
	t.Logf("after %v of churn (%s): %v", time.Since(start).Round(time.Second), counts, end)
	if !end.within(base, 0.05) {
		t.Errorf("not back to the baseline: %v, baseline %v", end, base)
	}
	steady.check(t)
	logs.check(t)
}

// ---- the server and its log ----

func startSoakServer(t *testing.T, logs *soakLog) *Server {
	checkNoLeaks(t)
	cfg := defaultConfig()
	cfg.RTMP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.HandshakeTimeout.Duration = 500 * time.Millisecond // half handshakes and slowloris end soon
	cfg.PlayWait.Duration = 300 * time.Millisecond
	cfg.TakeoverIdle.Duration = 100 * time.Millisecond // a publisher gone quiet is taken over soon
	cfg.IdleTimeout.Duration = 5 * time.Second
	cfg.WriteTimeout.Duration = 2 * time.Second
	cfg.HLSSegments = 1 // an HLS muxer keeps 3 GOPs of its stream
	srv := NewServer(cfg, slog.New(logs))
	must(t, srv.Listen())
	srv.Serve()
	t.Cleanup(srv.Close)
	return srv
}

// soakLog is a slog.Handler that counts records by level and message and
// keeps the first few at warn or above.
type soakLog struct {
	mu     sync.Mutex
	counts map[string]int // "LEVEL message"
	bad    []string
}

func (l *soakLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *soakLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *soakLog) WithGroup(string) slog.Handler            { return l }

func (l *soakLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[r.Level.String()+" "+r.Message]++
	if r.Level >= slog.LevelWarn && len(l.bad) < 20 {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		l.bad = append(l.bad, r.Level.String()+" "+r.Message+b.String())
	}
	return nil
}

// check fails on any record at warn or above: nothing the soak provokes is
// the operator's problem.
func (l *soakLog) check(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("server log: %v", l.counts)
	for _, b := range l.bad {
		t.Errorf("logged: %s", b)
	}
}

// ---- figures ----

// soakFigures are what must return to the baseline.
type soakFigures struct {
	goroutines, fds int
	heap            uint64 // HeapAlloc after GC
}

func (f soakFigures) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, heap %.1f KiB", f.goroutines, f.fds, float64(f.heap)/1024)
}

func (f soakFigures) within(base soakFigures, tol float64) bool {
	return float64(f.goroutines) <= float64(base.goroutines)*(1+tol) &&
		float64(f.fds) <= float64(base.fds)*(1+tol) &&
		float64(f.heap) <= float64(base.heap)*(1+tol)
}

func measure() soakFigures {
	runtime.GC()
	runtime.GC() // the second clears what sync.Pools kept as victims
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	return soakFigures{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapAlloc}
}

// measureHeld measures while the steady publisher holds before a
// keyframe, so that its ring is in the same state each time.
func (s *steadyStream) measureHeld() soakFigures {
	resume := make(chan struct{})
	defer close(resume)
	s.hold <- resume
	return measure()
}

// settle waits (up to 10 s) for closing connections to finish and returns
// the figures, measured with the steady publisher held; given a baseline it
// stops as soon as they are back within 5% of it.
func settle(steady *steadyStream, base soakFigures) soakFigures {
	deadline := time.Now().Add(10 * time.Second)
	prev := steady.measureHeld()
	for {
		time.Sleep(100 * time.Millisecond)
		f := steady.measureHeld()
		if base != (soakFigures{}) && f.within(base, 0.05) {
			return f
		}
		if base == (soakFigures{}) && f.goroutines == prev.goroutines && f.fds == prev.fds {
			return f
		}
		if time.Now().After(deadline) {
			return f
		}
		prev = f
	}
}

// ---- the steady stream: one publisher and a player of each protocol ----

type steadyStream struct {
	pub     *Client
	ids     map[string]bool // its sessions: never kicked
	got     [3]atomic.Int64 // frames or bytes each player received
	stop    chan struct{}
	hold    chan chan struct{} // pause at the end of a GOP until the sent channel closes
	done    sync.WaitGroup
	sendErr atomic.Value
}

func startSteady(t *testing.T, srv *Server) *steadyStream {
	s := &steadyStream{stop: make(chan struct{}), hold: make(chan chan struct{}), ids: map[string]bool{}}
	s.pub = testPublisher(t, rtmpURL(srv, "/live/steady"))
	sendGOPs(t, s.pub, 0, 30, 30)
	rtmp := testPlayer(t, rtmpURL(srv, "/live/steady"))
	flv := httpGetFLV(t, httpURL(srv, "/live/steady.flv"))
	ws := dialWS(t, srv.HTTPAddr(), "/live/steady.flv")
	s.done.Add(4)
	go s.send()
	go s.count(&s.got[0], func() (int, error) { _, err := rtmp.ReadMessage(); return 1, err })
	buf := make([]byte, 32<<10)
	go s.count(&s.got[1], func() (int, error) { return flv.Read(buf) })
	wbuf := make([]byte, 32<<10)
	go s.count(&s.got[2], func() (int, error) { return ws.Read(wbuf) })
	t.Cleanup(func() {
		close(s.stop)
		s.pub.Close()
		rtmp.Close()
		flv.Close()
		ws.conn.Close()
		s.done.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); len(s.ids) < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("steady stream: %d sessions, want 4", len(s.ids))
		}
		for _, v := range apiSessions(t, srv) {
			s.ids[v.ID] = true
		}
	}
	return s
}

// send keeps the steady publisher sending 30 fps, a keyframe every 30
// frames, until stopped. Asked to hold, it waits before the next keyframe:
// the ring then holds two whole GOPs, as it did at the last hold.
func (s *steadyStream) send() {
	defer s.done.Done()
	tick := time.NewTicker(33 * time.Millisecond)
	defer tick.Stop()
	for i := 30; ; i++ {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if i%30 == 0 {
			select {
			case resume := <-s.hold:
				<-resume
			default:
			}
		}
		ts := uint32(i * 33)
		err := s.pub.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%30 == 0))
		if err == nil {
			err = s.pub.WriteMedia(MsgAudio, ts, testAudioFrame(i))
		}
		if err != nil {
			s.sendErr.Store(err)
			return
		}
	}
}

func (s *steadyStream) count(n *atomic.Int64, read func() (int, error)) {
	defer s.done.Done()
	for {
		k, err := read()
		if err != nil {
			return
		}
		n.Add(int64(k))
	}
}

// check: the publisher still sends and each player still receives.
func (s *steadyStream) check(t *testing.T) {
	if err := s.sendErr.Load(); err != nil {
		t.Errorf("steady publisher: %v", err)
	}
	var before [3]int64
	for i := range s.got {
		before[i] = s.got[i].Load()
	}
	time.Sleep(time.Second)
	for i, name := range []string{"RTMP", "HTTP-FLV", "WS-FLV"} {
		if got := s.got[i].Load(); got <= before[i] {
			t.Errorf("steady %s player: nothing received in the last second (%d in all)", name, got)
		}
	}
}

// apiSessions lists the server's sessions through the API.
func apiSessions(t *testing.T, srv *Server) []sessionView {
	var env struct {
		Data struct {
			Sessions []sessionView `json:"sessions"`
		} `json:"data"`
	}
	if err := soakGetJSON(httpURL(srv, "/api/v1/sessions"), &env); err != nil {
		t.Fatal(err)
	}
	return env.Data.Sessions
}

// soakHTTP makes one connection per request, so that nothing idles in a
// pool between the measurements.
var soakHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

func soakGetJSON(url string, v any) error {
	resp, err := soakHTTP.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// ---- the churn ----

// churnCounts counts what the churn did, by kind, and the client-side
// errors it met (a kicked client's, say) by kind and text.
type churnCounts struct {
	mu   sync.Mutex
	n    map[string]int
	errs map[string]int // "kind: error text without numbers"
}

func (c *churnCounts) add(kind string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind]++
	if err != nil {
		c.errs[kind+": "+strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, err.Error())]++
	}
}

func (c *churnCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%v; client errors %v", c.n, c.errs)
}

// runChurn runs every kind of churn worker, two of each, for d, and waits
// for them to end.
func runChurn(t *testing.T, srv *Server, steady *steadyStream, d time.Duration) *churnCounts {
	counts := &churnCounts{n: map[string]int{}, errs: map[string]int{}}
	end := time.Now().Add(d)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	workers := map[string]func(context.Context, *rand.Rand) error{
		"rtmp-play":  func(ctx context.Context, r *rand.Rand) error { return churnRTMPPlay(ctx, r, srv) },
		"flv-play":   func(ctx context.Context, r *rand.Rand) error { return churnHTTPPlay(ctx, r, srv, ".flv") },
		"mp4-play":   func(ctx context.Context, r *rand.Rand) error { return churnHTTPPlay(ctx, r, srv, ".mp4") },
		"ws-play":    func(ctx context.Context, r *rand.Rand) error { return churnWSPlay(ctx, r, srv) },
		"hls-play":   func(ctx context.Context, r *rand.Rand) error { return churnHLSPlay(ctx, r, srv) },
		"publish":    func(ctx context.Context, r *rand.Rand) error { return churnPublish(ctx, r, srv) },
		"api":        func(ctx context.Context, r *rand.Rand) error { return churnAPI(ctx, r, srv, steady.ids) },
		"bad-client": func(ctx context.Context, r *rand.Rand) error { return churnBadClient(ctx, r, srv) },
	}
	// the recording ends with the churn: off at every measurement
	defer soakDo("DELETE", httpURL(srv, "/api/v1/record/live/steady"))
	var wg sync.WaitGroup
	for kind, work := range workers {
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(i), uint64(len(kind))))
				for time.Now().Before(end) { // not ctx.Err(): a late timer would let dials fail at once
					counts.add(kind, work(ctx, r))
				}
			}()
		}
	}
	wg.Wait()
	return counts
}

// prime takes every API action and meets every bad client once, so that
// what is made once (caches of encoding/json, say) is in the baseline.
func prime(t *testing.T, srv *Server, steady *steadyStream) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range apiActions {
		if err := apiAction(i, r, srv, steady.ids); err != nil {
			t.Fatalf("API action %d: %v", i, err)
		}
	}
	for i := range badClients {
		badClient(context.Background(), i, r, srv)
	}
	for _, name := range []string{"steady", "churn"} { // their HLS muxers start now
		if resp, err := http.Get(httpURL(srv, "/live/"+name+".m3u8")); err == nil {
			resp.Body.Close()
		}
	}
}

// churnStream is a stream for a churning player: the steady one, the one
// whose publishers restart, or one nobody publishes.
func churnStream(r *rand.Rand) string {
	return []string{"steady", "steady", "churn", "nobody"}[r.IntN(4)]
}

// few is a random wait of a few milliseconds.
func few(r *rand.Rand) time.Duration { return time.Duration(2+r.IntN(30)) * time.Millisecond }

func churnRTMPPlay(ctx context.Context, r *rand.Rand, srv *Server) error {
	c, err := DialRTMP(ctx, rtmpURL(srv, "/live/"+churnStream(r)))
	if err != nil {
		return err
	}
	defer c.Close()
	if r.IntN(4) == 0 {
		return nil // leave before playing
	}
	if err := c.Play(ctx); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(few(r)))
	for {
		if _, err := c.ReadMessage(); err != nil {
			return nil // the deadline, or the server ended the session
		}
	}
}

// churnHTTPPlay plays over HTTP (ext ".flv" or ".mp4") for a few
// milliseconds.
func churnHTTPPlay(ctx context.Context, r *rand.Rand, srv *Server, ext string) error {
	ctx, cancel := context.WithTimeout(ctx, few(r))
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", httpURL(srv, "/live/"+churnStream(r)+ext), nil)
	resp, err := soakHTTP.Do(req)
	if err != nil {
		return nil // the context ended before the response head: leaving early
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return nil
}

// churnHLSPlay is an LL-HLS viewer for a few tens of milliseconds on a
// keep-alive connection of its own (hlsconn.go's loop): the Multivariant
// Playlist, then the Media Playlist and its preload-hint part, blocking,
// in turn, until it leaves, often in the middle of a request.
func churnHLSPlay(ctx context.Context, r *rand.Rand, srv *Server) error {
	ctx, cancel := context.WithTimeout(ctx, 10*few(r))
	defer cancel()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	get := func(url string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return "", nil // left in the middle of a request
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusForbidden { // 403: kicked by the API churn
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return string(b), err
	}
	path := "/live/" + churnStream(r)
	text, err := get(httpURL(srv, path+".m3u8"))
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if err != nil || len(lines) < 2 {
		return nil // no such stream, or not ready in time
	}
	media := httpURL(srv, "/live/") + lines[len(lines)-1]
	for ctx.Err() == nil {
		text, err := get(media)
		_, hint, found := strings.Cut(text, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="`)
		if err != nil || !found {
			return err
		}
		hint, _, _ = strings.Cut(hint, `"`)
		if _, err := get(media[:strings.LastIndex(media, "/")+1] + hint); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

func churnWSPlay(ctx context.Context, r *rand.Rand, srv *Server) error {
	c, br, err := soakWSDial(srv.HTTPAddr(), "/live/"+churnStream(r)+".flv")
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(few(r)))
	if r.IntN(3) == 0 { // a close frame (masked, code 1000) before leaving
		c.Write([]byte{0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2})
	}
	io.Copy(io.Discard, br)
	return nil
}

// soakWSDial upgrades a connection to WebSocket on path.
func soakWSDial(addr, path string) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		err = fmt.Errorf("upgrade: %s", resp.Status)
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, br, nil
}

// churnPublish publishes the churn stream for a few GOPs and leaves. The
// two publish workers contend for the stream: one is refused while the
// other sends, and takes it over when the other goes quiet (as an encoder
// does after a network blip) for longer than -takeover-idle.
func churnPublish(ctx context.Context, r *rand.Rand, srv *Server) error {
	c, err := DialRTMP(ctx, rtmpURL(srv, "/live/churn"))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Publish(ctx); err != nil {
		time.Sleep(few(r)) // the other publisher has the stream: refused, as it must be
		return nil
	}
	if err := c.WriteMetadata(ECMAArray{{"width", 640.0}, {"height", 360.0}}, 0); err != nil {
		return err
	}
	c.WriteMedia(MsgVideo, 0, testVideoHeader)
	c.WriteMedia(MsgAudio, 0, testAudioHeader)
	frames, quiet := 10+r.IntN(60), r.IntN(200)
	for i := 0; i < frames && ctx.Err() == nil; i++ {
		if i == quiet {
			time.Sleep(time.Duration(50+r.IntN(250)) * time.Millisecond)
		}
		ts := uint32(i * 33)
		if err := c.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%15 == 0)); err != nil {
			return nil // kicked
		}
		c.WriteMedia(MsgAudio, ts, testAudioFrame(i))
		time.Sleep(time.Millisecond)
	}
	return nil
}

// churnAPI kicks a random session that is not the steady stream's, reads
// the API and metrics, or starts or stops a recording of the steady stream.
func churnAPI(ctx context.Context, r *rand.Rand, srv *Server, steady map[string]bool) error {
	time.Sleep(few(r) * 3)
	return apiAction(r.IntN(apiActions), r, srv, steady)
}

const apiActions = 7

func apiAction(i int, r *rand.Rand, srv *Server, steady map[string]bool) error {
	switch i {
	case 0:
		return soakKick(r, srv, steady)
	case 1, 2, 3, 4:
		return soakDo("GET", httpURL(srv, []string{"/api/v1/streams", "/api/v1/stats", "/metrics", "/api/v1/streams/live/steady"}[i-1]))
	case 5:
		return soakDo("POST", httpURL(srv, "/api/v1/record/live/steady"))
	}
	return soakDo("DELETE", httpURL(srv, "/api/v1/record/live/steady"))
}

func soakKick(r *rand.Rand, srv *Server, steady map[string]bool) error {
	var env struct {
		Data struct {
			Sessions []sessionView `json:"sessions"`
		} `json:"data"`
	}
	if err := soakGetJSON(httpURL(srv, "/api/v1/sessions"), &env); err != nil {
		return err
	}
	var ids []string
	for _, s := range env.Data.Sessions {
		if !steady[s.ID] {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return soakDo("DELETE", httpURL(srv, "/api/v1/sessions/"+ids[r.IntN(len(ids))]))
}

func soakDo(method, url string) error {
	req, _ := http.NewRequest(method, url, nil)
	resp, err := soakHTTP.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// churnBadClient is one misbehaving client.
func churnBadClient(ctx context.Context, r *rand.Rand, srv *Server) error {
	return badClient(ctx, r.IntN(badClients), r, srv)
}

const badClients = 6

func badClient(ctx context.Context, i int, r *rand.Rand, srv *Server) error {
	garbage := make([]byte, 1+r.IntN(4000))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	switch i {
	case 0: // garbage on the RTMP port
		return soakRaw(srv.RTMPAddr(), garbage, few(r))
	case 1: // garbage on the HTTP port
		return soakRaw(srv.HTTPAddr(), garbage, few(r))
	case 2: // half a handshake, then silence until the server gives up or we do
		return soakRaw(srv.RTMPAddr(), append([]byte{rtmpVersion}, garbage[:r.IntN(len(garbage))%handshakeSize]...), time.Duration(r.IntN(700))*time.Millisecond)
	case 3: // a whole handshake, then garbage chunks
		c0c1c2 := append([]byte{rtmpVersion}, make([]byte, 2*handshakeSize)...)
		return soakRaw(srv.RTMPAddr(), append(c0c1c2, garbage...), few(r))
	case 4: // a WebSocket player sending garbage frames
		c, br, err := soakWSDial(srv.HTTPAddr(), "/live/steady.flv")
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write(garbage)
		c.SetReadDeadline(time.Now().Add(few(r)))
		io.Copy(io.Discard, br)
		return nil
	}
	return soakSlowloris(ctx, r, srv.HTTPAddr())
}

// soakRaw writes b on a fresh connection and reads until the server closes
// or wait passes.
func soakRaw(addr string, b []byte, wait time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	c.Write(b)
	io.Copy(io.Discard, c)
	return nil
}

// soakSlowloris sends a request head a few bytes at a time, never ending it.
func soakSlowloris(ctx context.Context, r *rand.Rand, addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	head := "GET /live/steady.flv HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200)
	stop := time.Now().Add(time.Duration(100+r.IntN(900)) * time.Millisecond)
	for i := 0; i < len(head) && time.Now().Before(stop) && ctx.Err() == nil; i += 3 {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte(head[i:min(i+3, len(head))])); err != nil {
			return nil // the server closed it: the header timeout
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
