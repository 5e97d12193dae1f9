// Stats and operations: the Node-Media-Server 4.x JSON API, Prometheus
// text, /healthz and the status page.
//
// The API keeps NMS 4.4.3's envelope and field names, so that dashboards
// and scripts written for it keep working:
//
//	{"success": true, "data": {...}, "message": "..."}
//
//	GET    /api/v1/health               status, timestamp, version
//	GET    /api/v1/info                 server, config, uptime
//	GET    /api/v1/stats                server, cpu, memory, sessions, network
//	GET    /api/v1/streams              {streams: [...], total}
//	GET    /api/v1/streams/{app}/{name} one stream; 404 "Stream not found"
//	GET    /api/v1/sessions             {sessions: [...], total}
//	DELETE /api/v1/sessions/{id}        kick: closes that connection
//	GET    /metrics                     Prometheus text exposition format 0.0.4
//	GET    /healthz                     "ok"
//	GET    /                            the status page (status.html)
//
// Field layout, and what goes beyond NMS:
//   - Session objects add app and name (NMS leaves them out) and, for
//     players, lagMs and drops; protocol is "rtmp", "flv" (HTTP-FLV) or
//     "ws" (WebSocket-FLV, which NMS reports as "flv").
//   - publisher.videoCodec / audioCodec are numbers as NMS reports them:
//     the FLV CodecID / SoundFormat (7 H.264, 12 HEVC, 10 AAC, 2 MP3, ...),
//     also when the codec came in an Enhanced RTMP FourCC tag; a codec
//     without a legacy id (AV1, VP9, Opus, FLAC, AC-3...) is its FourCC as
//     a number, as Enhanced RTMP writes videocodecid in onMetaData
//     ('av01' = 0x61763031). videoCodecName / audioCodecName always name
//     it ("H264", "HEVC", "AV1", "VP9", "AAC", "Opus", ...), next to
//     videoProfile, videoLevel and audioProfile.
//   - Sizes, sample rates and channels come from the sequence headers
//     (codecs.go), then onMetaData; the frame rate from onMetaData, then
//     the SPS timing, then the measured frame rate.
//   - Stream objects add gopFrames, gopBytes (the GOP cache), drops (times a
//     slow player skipped to the newest keyframe), players (id, protocol,
//     ip, outBytes, outBps, lagMs, drops) and inBpsHistory (the
//     publisher's bytes per second, one value a second, oldest first).
//     A stream that only has waiting players is listed with status "idle"
//     and publisher null, as NMS does.
//
// Byte counters are exact: every accepted socket is a countingConn, so
// inBytes/outBytes are all the bytes of the connection (handshake, HTTP
// request and response head, TLS records included). A connection's bytes
// join the network totals when it becomes a session (API requests do not
// count). Rates are bytes per second over a sliding window of about 5 s
// (sampleEvery samples; the window ends at the request).
//
// With -api-token every /api/ call and /metrics need "Authorization:
// Bearer TOKEN" (401 otherwise; the token is compared in constant time);
// /healthz and the page itself stay open (the page asks for the token).
// Nothing here prints the token, the auth secret, or stream query strings.
package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ---------------------------------------------------------------------------
// Socket byte counting

// countingConn counts every byte read from and written to one accepted
// socket. Once the connection is a session (attach), its bytes also count
// in the hub's network totals.
type countingConn struct {
	net.Conn
	raw     *rawReader // reads that spare the scheduler (nbwrite_linux.go), or nil
	in, out atomic.Uint64

	mu  sync.Mutex
	hub *Hub // set by attach
}

func (c *countingConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if c.raw != nil {
		n, err = c.raw.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	c.count(int64(n), true)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.count(int64(n), false)
	return n, err
}

func (c *countingConn) count(n int64, in bool) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in {
		c.in.Add(uint64(n))
	} else {
		c.out.Add(uint64(n))
	}
	if c.hub != nil {
		if in {
			c.hub.inBytes.Add(uint64(n))
		} else {
			c.hub.outBytes.Add(uint64(n))
		}
	}
}

// CloseWrite half-closes the socket (a *net.TCPConn's method, which
// callers of the unwrapped connection use, e.g. wsLinger).
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// NetConn returns the socket itself, for socket options (as
// tls.Conn.NetConn does); bytes written on it directly are not counted.
func (c *countingConn) NetConn() net.Conn { return c.Conn }

// attach makes the connection's bytes, those so far included, count in
// h's totals.
func (c *countingConn) attach(h *Hub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hub != nil {
		return
	}
	c.hub = h
	h.inBytes.Add(c.in.Load())
	h.outBytes.Add(c.out.Load())
}

// countingOf finds the countingConn under c (through TLS), or nil.
func countingOf(c net.Conn) *countingConn {
	for c != nil {
		switch v := c.(type) {
		case *countingConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, raw: newRawReader(c)}, nil
}

// listenCounted listens on addr and counts every accepted socket's bytes
// (below TLS when tc is set, so that the counts are the socket's).
func listenCounted(addr string, tc *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var l net.Listener = countingListener{ln}
	if tc != nil {
		l = tls.NewListener(l, tc)
	}
	return l, nil
}

// bytesIn and bytesOut are the session's socket bytes.
func (s *sessionInfo) bytesIn() uint64 {
	if s.conn != nil {
		return s.conn.in.Load()
	}
	return s.inBytes.Load()
}

// bytesOut is every byte written to the session's socket: its counter,
// plus what its live player wrote past the connection's Write (the player
// is read first: one that ends meanwhile adds its count to the counter
// before it lets go, so nothing is missed).
func (s *sessionInfo) bytesOut() uint64 {
	var n uint64
	if p := s.playerOut.Load(); p != nil {
		n = p.Load()
	}
	return n + s.outCounter().Load()
}

// outCounter is the session's counter of bytes out.
func (s *sessionInfo) outCounter() *atomic.Uint64 {
	if s.conn != nil {
		return &s.conn.out
	}
	return &s.outBytes
}

// ---------------------------------------------------------------------------
// Sampling: sliding-window rates

const (
	sampleEvery   = time.Second
	rateWindowLen = 5 * time.Second
	rateSamples   = 8  // > rateWindowLen/sampleEvery + 1
	historyLen    = 60 // inBpsHistory points
)

// rateSample is a pair of counters at one instant.
type rateSample struct {
	at   time.Time
	a, b uint64
}

// rateWindow is a ring of the last rateSamples samples of two counters.
type rateWindow struct {
	s    [rateSamples]rateSample
	n    int // samples held
	next int // slot of the next sample
	seen bool
}

func (w *rateWindow) add(x rateSample) {
	w.s[w.next] = x
	w.next = (w.next + 1) % rateSamples
	w.n = min(w.n+1, rateSamples)
}

// rate returns the per-second rates of the two counters from the newest
// sample at least rateWindowLen old (or the oldest held) to cur.
func (w *rateWindow) rate(cur rateSample) (float64, float64) {
	var ref *rateSample
	for i := 1; i <= w.n; i++ {
		x := &w.s[(w.next-i+rateSamples)%rateSamples]
		ref = x
		if cur.at.Sub(x.at) >= rateWindowLen {
			break
		}
	}
	if ref == nil {
		return 0, 0
	}
	dt := cur.at.Sub(ref.at).Seconds()
	if dt < 0.5 || cur.a < ref.a || cur.b < ref.b {
		return 0, 0
	}
	return float64(cur.a-ref.a) / dt, float64(cur.b-ref.b) / dt
}

// streamSamples is what the sampler keeps of one publication.
type streamSamples struct {
	pubID   string
	frames  rateWindow // a: video frames, b: audio frames
	last    rateSample // the publisher's inBytes at the last sample
	history [historyLen]float64
	hn      int
	seen    bool
}

func (ss *streamSamples) addHistory(bps float64) {
	copy(ss.history[:], ss.history[1:])
	ss.history[historyLen-1] = bps
	ss.hn = min(ss.hn+1, historyLen)
}

// statsState is the sampler's memory.
type statsState struct {
	mu       sync.Mutex
	global   rateWindow
	sessions map[string]*rateWindow // by session id: a in, b out
	streams  map[string]*streamSamples
	media    map[*headerSet]mediaInfo // parsed headers, by immutable header set
}

func newStatsState() *statsState {
	return &statsState{sessions: map[string]*rateWindow{}, streams: map[string]*streamSamples{},
		media: map[*headerSet]mediaInfo{}}
}

// sampleStats samples the counters every second until stop closes.
func (s *Server) sampleStats(stop <-chan struct{}) {
	if s.stats == nil {
		<-stop
		return
	}
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	s.takeSample(time.Now())
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.takeSample(now)
		}
	}
}

func (s *Server) takeSample(now time.Time) {
	sessions, streams := s.hub.sessionList(), s.hub.streamList()
	st := s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	st.global.add(rateSample{now, s.hub.inBytes.Load(), s.hub.outBytes.Load()})
	for _, w := range st.sessions {
		w.seen = false
	}
	for _, si := range sessions {
		w := st.sessions[si.ID]
		if w == nil {
			w = &rateWindow{}
			st.sessions[si.ID] = w
		}
		w.seen = true
		w.add(rateSample{now, si.bytesIn(), si.bytesOut()})
	}
	for id, w := range st.sessions {
		if !w.seen {
			delete(st.sessions, id)
		}
	}
	st.sampleStreams(now, streams)
}

// sampleStreams records frame counts and the publisher's rate history.
func (st *statsState) sampleStreams(now time.Time, streams []*Stream) {
	for _, ss := range st.streams {
		ss.seen = false
	}
	for _, str := range streams {
		str.mu.Lock()
		pub := str.pub
		str.mu.Unlock()
		if pub == nil {
			continue
		}
		ss := st.streams[str.Path]
		if ss == nil || ss.pubID != pub.ID {
			ss = &streamSamples{pubID: pub.ID, last: rateSample{pub.Started, 0, 0}}
			st.streams[str.Path] = ss
		}
		ss.seen = true
		ss.frames.add(rateSample{now, str.videoFrames.Load(), str.audioFrames.Load()})
		in := pub.bytesIn()
		if dt := now.Sub(ss.last.at).Seconds(); dt > 0 && in >= ss.last.a {
			ss.addHistory(float64(in-ss.last.a) / dt)
		}
		ss.last = rateSample{now, in, 0}
	}
	for path, ss := range st.streams {
		if !ss.seen {
			delete(st.streams, path)
		}
	}
	if len(st.media) > 1024 { // header sets of ended publications
		clear(st.media)
	}
}

// sessionList and streamList copy the hub's maps (h.mu is held briefly).
func (h *Hub) sessionList() []*sessionInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*sessionInfo, 0, len(h.sessions))
	for _, s := range h.sessions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (h *Hub) streamList() []*Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Stream, 0, len(h.streams))
	for _, s := range h.streams {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ---------------------------------------------------------------------------
// Views: what the API returns

// sessionView is an NMS session object, plus app/name and player stats.
type sessionView struct {
	ID          string `json:"id"`
	IP          string `json:"ip"`
	IsPublisher bool   `json:"isPublisher"`
	Protocol    string `json:"protocol"`
	InBytes     uint64 `json:"inBytes"`
	OutBytes    uint64 `json:"outBytes"`
	CreateTime  int64  `json:"createTime"`
	App         string `json:"app"`
	Name        string `json:"name"`
	InBps       uint64 `json:"inBps"`
	OutBps      uint64 `json:"outBps"`
	LagMs       *int64 `json:"lagMs,omitempty"` // players only
	Drops       uint64 `json:"drops"`
}

// playerView is a player in a stream object.
type playerView struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"`
	IP       string `json:"ip"`
	OutBytes uint64 `json:"outBytes"`
	OutBps   uint64 `json:"outBps"`
	LagMs    int64  `json:"lagMs"`
	Drops    uint64 `json:"drops"`
}

// publisherView is NMS's publisher object plus codec names and profiles.
type publisherView struct {
	ID              string  `json:"id"`
	IP              string  `json:"ip"`
	Protocol        string  `json:"protocol"`
	CreateTime      int64   `json:"createTime"`
	VideoCodec      uint32  `json:"videoCodec"`
	VideoWidth      int     `json:"videoWidth"`
	VideoHeight     int     `json:"videoHeight"`
	VideoFramerate  float64 `json:"videoFramerate"`
	AudioCodec      uint32  `json:"audioCodec"`
	AudioChannels   int     `json:"audioChannels"`
	AudioSamplerate int     `json:"audioSamplerate"`
	InBytes         uint64  `json:"inBytes"`
	VideoCodecName  string  `json:"videoCodecName"`
	VideoProfile    string  `json:"videoProfile"`
	VideoLevel      string  `json:"videoLevel"`
	AudioCodecName  string  `json:"audioCodecName"`
	AudioProfile    string  `json:"audioProfile"`
}

// streamView is NMS's stream object plus the GOP cache, drops and players.
type streamView struct {
	Key          string         `json:"key"`
	App          string         `json:"app"`
	Name         string         `json:"name"`
	Status       string         `json:"status"`
	Publisher    *publisherView `json:"publisher"`
	Subscribers  int            `json:"subscribers"`
	OutBytes     uint64         `json:"outBytes"`
	InBps        uint64         `json:"inBps"`
	OutBps       uint64         `json:"outBps"`
	Recording    bool           `json:"recording"`
	GOPFrames    int            `json:"gopFrames"`
	GOPBytes     int            `json:"gopBytes"`
	Drops        uint64         `json:"drops"`
	Players      []playerView   `json:"players"`
	InBpsHistory []uint64       `json:"inBpsHistory"`
}

// statsView is /api/v1/stats.
type statsView struct {
	Server struct {
		Uptime      float64 `json:"uptime"`
		NodeVersion string  `json:"nodeVersion"` // NMS's name; the Go version here
		GoVersion   string  `json:"goVersion"`
		Platform    string  `json:"platform"`
		Arch        string  `json:"arch"`
		PID         int     `json:"pid"`
	} `json:"server"`
	CPU struct {
		User   uint64 `json:"user"`   // microseconds of user CPU time
		System uint64 `json:"system"` // microseconds of system CPU time
	} `json:"cpu"`
	Memory struct {
		RSS          uint64 `json:"rss"`
		HeapTotal    uint64 `json:"heapTotal"`    // Go heap obtained from the OS
		HeapUsed     uint64 `json:"heapUsed"`     // live and not yet collected heap objects
		External     uint64 `json:"external"`     // Go runtime memory outside the heap (stacks, metadata)
		ArrayBuffers uint64 `json:"arrayBuffers"` // no Go equivalent: 0
		Goroutines   int    `json:"goroutines"`
	} `json:"memory"`
	Sessions struct {
		Total      int `json:"total"`
		Publishers int `json:"publishers"`
		Players    int `json:"players"`
	} `json:"sessions"`
	Network struct {
		InBytes  uint64 `json:"inBytes"`
		OutBytes uint64 `json:"outBytes"`
		InBps    uint64 `json:"inBps"`
		OutBps   uint64 `json:"outBps"`
	} `json:"network"`
	Timestamp string `json:"timestamp"`
}

// snapshot is everything the API, /metrics and the page show, taken at
// one instant.
type snapshot struct {
	at       time.Time
	sessions []sessionView
	streams  []streamView
	stats    statsView
}

func (s *Server) snapshot() *snapshot {
	now := time.Now()
	snap := &snapshot{at: now}
	players := map[string]*player{}
	for _, str := range s.hub.streamList() {
		if v, ok := s.streamView(str, now, players); ok {
			snap.streams = append(snap.streams, v)
		}
	}
	st := s.stats
	st.mu.Lock()
	for _, si := range s.hub.sessionList() {
		snap.sessions = append(snap.sessions, st.sessionView(si, players[si.ID], now))
	}
	st.mu.Unlock()
	s.fillStats(snap)
	return snap
}

func (st *statsState) sessionView(si *sessionInfo, p *player, now time.Time) sessionView {
	app, name, pub := si.stream()
	v := sessionView{ID: si.ID, IP: si.RemoteAddr, IsPublisher: pub, Protocol: si.Protocol,
		InBytes: si.bytesIn(), OutBytes: si.bytesOut(), CreateTime: si.Started.UnixMilli(), App: app, Name: name}
	if w := st.sessions[si.ID]; w != nil {
		in, out := w.rate(rateSample{now, v.InBytes, v.OutBytes})
		v.InBps, v.OutBps = uint64(in), uint64(out)
	}
	if p != nil {
		lag := p.lagMs.Load()
		v.LagMs, v.Drops = &lag, p.drops.Load()
	}
	return v
}

// streamView describes str; players collects its players by session id.
func (s *Server) streamView(str *Stream, now time.Time, players map[string]*player) (streamView, bool) {
	str.mu.Lock()
	ring, pub := str.ring, str.pub
	ps := make([]*player, 0, len(str.players))
	for p := range str.players {
		ps = append(ps, p)
	}
	str.mu.Unlock()
	if ring == nil && len(ps) == 0 {
		return streamView{}, false
	}
	v := streamView{Key: str.Path, App: str.App, Name: str.Name, Status: "idle", Subscribers: len(ps),
		Drops: str.drops.Load(), Players: []playerView{}, InBpsHistory: []uint64{}}
	st := s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, p := range ps {
		players[p.sess.ID] = p
		pv := st.playerView(p, now)
		v.Players = append(v.Players, pv)
		v.OutBytes += pv.OutBytes
		v.OutBps += pv.OutBps
	}
	sort.Slice(v.Players, func(i, j int) bool { return v.Players[i].ID < v.Players[j].ID })
	if ring != nil && pub != nil {
		v.Status = "publishing"
		rs := ring.stats()
		v.GOPFrames, v.GOPBytes = rs.Frames, rs.Bytes
		v.Publisher = st.publisherView(str, ring, pub, now)
		if w := st.sessions[pub.ID]; w != nil {
			in, _ := w.rate(rateSample{now, pub.bytesIn(), pub.bytesOut()})
			v.InBps = uint64(in)
		}
		v.InBpsHistory = st.history(str.Path, pub.ID)
	}
	return v, true
}

func (st *statsState) playerView(p *player, now time.Time) playerView {
	si := p.sess
	pv := playerView{ID: si.ID, Protocol: si.Protocol, IP: si.RemoteAddr, OutBytes: si.bytesOut(),
		LagMs: p.lagMs.Load(), Drops: p.drops.Load()}
	if w := st.sessions[si.ID]; w != nil {
		_, out := w.rate(rateSample{now, si.bytesIn(), pv.OutBytes})
		pv.OutBps = uint64(out)
	}
	return pv
}

func (st *statsState) history(path, pubID string) []uint64 {
	out := []uint64{}
	ss := st.streams[path]
	if ss == nil || ss.pubID != pubID {
		return out
	}
	for _, x := range ss.history[historyLen-ss.hn:] {
		out = append(out, uint64(x))
	}
	return out
}

// publisherView fills the codec fields from the publication's headers.
// st.mu is held.
func (st *statsState) publisherView(str *Stream, ring *gopRing, pub *sessionInfo, now time.Time) *publisherView {
	m := st.mediaOf(ring)
	pv := &publisherView{ID: pub.ID, IP: pub.RemoteAddr, Protocol: pub.Protocol, CreateTime: pub.Started.UnixMilli(),
		InBytes: pub.bytesIn(), VideoCodec: m.videoID, AudioCodec: m.audioID,
		VideoWidth: m.video.Width, VideoHeight: m.video.Height, VideoFramerate: m.video.FrameRate,
		AudioChannels: m.audio.Channels, AudioSamplerate: m.audio.SampleRate,
		VideoProfile: m.video.Profile, VideoLevel: m.video.Level, AudioProfile: m.audio.Profile}
	if m.hasVideo {
		pv.VideoCodecName = m.video.Codec.String()
	}
	if m.hasAudio {
		pv.AudioCodecName = m.audio.Codec.String()
	}
	if pv.VideoFramerate == 0 && m.hasVideo {
		if ss := st.streams[str.Path]; ss != nil && ss.pubID == pub.ID {
			fps, _ := ss.frames.rate(rateSample{now, str.videoFrames.Load(), str.audioFrames.Load()})
			pv.VideoFramerate = fps
		}
	}
	pv.VideoFramerate = math.Round(pv.VideoFramerate*100) / 100
	return pv
}

// fillStats fills /api/v1/stats from the process and the snapshot.
func (s *Server) fillStats(snap *snapshot) {
	v := &snap.stats
	v.Server.Uptime = snap.at.Sub(s.hub.started).Seconds()
	v.Server.NodeVersion, v.Server.GoVersion = runtime.Version(), runtime.Version()
	v.Server.Platform, v.Server.Arch, v.Server.PID = runtime.GOOS, runtime.GOARCH, os.Getpid()
	v.CPU.User, v.CPU.System = processCPU()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	v.Memory.RSS, v.Memory.HeapTotal, v.Memory.HeapUsed = processRSS(), ms.HeapSys, ms.HeapAlloc
	v.Memory.External, v.Memory.Goroutines = ms.Sys-ms.HeapSys, runtime.NumGoroutine()
	for _, si := range snap.sessions {
		v.Sessions.Total++
		switch {
		case si.IsPublisher:
			v.Sessions.Publishers++
		case si.Name != "":
			v.Sessions.Players++
		}
	}
	v.Network.InBytes, v.Network.OutBytes = s.hub.inBytes.Load(), s.hub.outBytes.Load()
	s.stats.mu.Lock()
	in, out := s.stats.global.rate(rateSample{snap.at, v.Network.InBytes, v.Network.OutBytes})
	s.stats.mu.Unlock()
	v.Network.InBps, v.Network.OutBps = uint64(in), uint64(out)
	v.Timestamp = snap.at.UTC().Format("2006-01-02T15:04:05.000Z")
}

// processCPU reads utime and stime from /proc/self/stat (Linux; zeros
// elsewhere), in microseconds, assuming the usual 100 clock ticks a second.
func processCPU() (user, system uint64) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0
	}
	// fields after "(comm)": state(3) ... utime(14) stime(15)
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, 0
	}
	const usPerTick = 1e6 / 100
	u, _ := strconv.ParseUint(f[11], 10, 64)
	sy, _ := strconv.ParseUint(f[12], 10, 64)
	return u * usPerTick, sy * usPerTick
}

// processRSS reads the resident set size from /proc/self/statm (Linux).
func processRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// ---------------------------------------------------------------------------
// Media info: the publisher's codecs, read from its headers (codecs.go)

// mediaInfo is what the publisher object shows of the codecs.
type mediaInfo struct {
	video              VideoParams
	audio              AudioParams
	videoID, audioID   uint32 // as NMS reports them (see the file comment)
	hasVideo, hasAudio bool   // a codec is known
}

// complete reports whether later frames cannot add anything.
func (m *mediaInfo) complete(h *headerSet) bool {
	return (!h.hasVideo || m.hasVideo && m.video.Width > 0) && (!h.hasAudio || m.hasAudio && m.audio.SampleRate > 0)
}

// streamMeta is what onMetaData says, used where the headers are silent.
type streamMeta struct {
	width, height, fps, sampleRate, channels float64
}

// mediaOf returns the media info of a publication, cached per header set
// once complete. st.mu is held.
func (st *statsState) mediaOf(r *gopRing) mediaInfo {
	h := r.headers()
	if m, ok := st.media[h]; ok {
		return m
	}
	var m mediaInfo
	var meta streamMeta
	for _, f := range h.frames {
		switch {
		case f.Type == TagScript:
			meta = parseStreamMeta(f.Payload)
		case f.Info.Track != 0 || f.Info.Flags&FlagSeqHeader == 0 || len(f.Payload) == 0:
		case f.Type == TagVideo && !m.hasVideo:
			m.setVideo(f)
		case f.Type == TagAudio && !m.hasAudio:
			m.setAudio(f)
		}
	}
	if !m.complete(h) {
		m.fromFrames(r, h)
	}
	m.fromMeta(meta)
	if m.complete(h) {
		st.media[h] = m
	}
	return m
}

// setVideo reads a video sequence header.
func (m *mediaInfo) setVideo(f *Frame) {
	m.hasVideo, m.videoID = true, nmsVideoID(f)
	p, err := parseVideoConfig(f.Info.Codec, f.Info.Config)
	if err != nil {
		p = VideoParams{}
	}
	p.Codec = f.Info.Codec
	m.video = p
}

func parseVideoConfig(c Codec, cfg []byte) (VideoParams, error) {
	switch c {
	case CodecH264:
		return ParseAVCConfig(cfg)
	case CodecHEVC:
		return ParseHEVCConfig(cfg)
	case CodecAV1:
		return ParseAV1Config(cfg)
	case CodecVP9, CodecVP8:
		return ParseVPCConfig(cfg, c)
	}
	return VideoParams{Codec: c}, nil
}

// setAudio reads an audio sequence header.
func (m *mediaInfo) setAudio(f *Frame) {
	m.hasAudio, m.audioID = true, nmsAudioID(f)
	var p AudioParams
	var err error
	switch f.Info.Codec {
	case CodecAAC:
		p, err = ParseAudioSpecificConfig(f.Info.Config)
	case CodecOpus:
		p, err = ParseOpusHead(f.Info.Config)
	case CodecFLAC:
		p, err = ParseFLACConfig(f.Info.Config)
	}
	if err != nil {
		p = AudioParams{}
	}
	p.Codec = f.Info.Codec
	m.audio = p
}

// fromFrames looks at the newest keyframe (VP8, VP9 and AV1 carry their
// size there, codecs without a sequence header their id) and at the first
// audio frames (formats without a configuration record).
func (m *mediaInfo) fromFrames(r *gopRing, h *headerSet) {
	seq, _, key := r.joinPoint()
	if h.hasVideo && key != nil && (!m.hasVideo || m.video.Width == 0) {
		m.fromKeyframe(key)
	}
	if !h.hasAudio || m.hasAudio && m.audio.SampleRate > 0 {
		return
	}
	if key == nil {
		seq -= uint64(r.stats().Frames) // the oldest frame held
	}
	frames, _, _, _ := r.read(seq, make([]*Frame, 0, 64), 64)
	for _, f := range frames {
		if f.Type == TagAudio && !f.isHeader() && len(f.Payload) > 0 {
			m.fromAudioFrame(f)
			return
		}
	}
}

func (m *mediaInfo) fromKeyframe(key *Frame) {
	if !m.hasVideo {
		m.hasVideo, m.videoID, m.video.Codec = true, nmsVideoID(key), key.Info.Codec
	}
	data := exCodedData(key)
	var w, h int
	var err error
	switch m.video.Codec {
	case CodecVP9:
		w, h, err = ParseVP9FrameSize(data)
	case CodecVP8:
		w, h, err = ParseVP8FrameSize(data)
	case CodecAV1:
		var p VideoParams
		p, err = AV1SequenceFromOBUs(data)
		w, h = p.Width, p.Height
	default:
		return
	}
	if err == nil {
		m.video.Width, m.video.Height = w, h
	}
}

func (m *mediaInfo) fromAudioFrame(f *Frame) {
	m.hasAudio, m.audioID = true, nmsAudioID(f)
	first := f.Payload[0]
	if first>>4 != soundFormatExHeader {
		m.audio = legacyAudioParams(first, f.Info.Codec)
		return
	}
	m.audio = AudioParams{Codec: f.Info.Codec}
	if f.Info.Codec == CodecAC3 || f.Info.Codec == CodecEAC3 {
		if p, err := ParseAC3Frame(exCodedData(f)); err == nil {
			m.audio = p
		}
	}
}

// exCodedData returns the coded data of a single-track Enhanced RTMP
// CodedFrames tag: after the one-byte header and the FourCC, and after
// the SI24 CompositionTime for avc1/hvc1/vvc1 CodedFrames. Anything else
// (legacy tags, ModEx, multitrack) gives nil.
func exCodedData(f *Frame) []byte {
	p := f.Payload
	if len(p) < 5 {
		return nil
	}
	if f.Type == TagAudio {
		if p[0]>>4 == soundFormatExHeader && audioPacketType(p[0]&0x0f) == audioCodedFrames {
			return p[5:]
		}
		return nil
	}
	if p[0]&0x80 == 0 {
		return nil
	}
	switch videoPacketType(p[0] & 0x0f) {
	case videoCodedFrames:
		if f.Info.Codec == CodecH264 || f.Info.Codec == CodecHEVC || f.Info.Codec == CodecVVC {
			return p[min(8, len(p)):]
		}
		return p[5:]
	case videoCodedFramesX:
		return p[5:]
	}
	return nil
}

// nmsVideoID is the FLV CodecID for legacy tags and codecs that have one,
// else the FourCC.
func nmsVideoID(f *Frame) uint32 {
	switch {
	case len(f.Payload) > 0 && f.Payload[0]&0x80 == 0:
		return uint32(f.Payload[0] & 0x0f)
	case f.Info.Codec == CodecH264:
		return videoCodecAVC
	case f.Info.Codec == CodecHEVC:
		return videoCodecHEVC
	}
	return f.Info.FourCC
}

// nmsAudioID is the FLV SoundFormat for legacy tags and codecs that have
// one, else the FourCC.
func nmsAudioID(f *Frame) uint32 {
	switch {
	case len(f.Payload) > 0 && f.Payload[0]>>4 != soundFormatExHeader:
		return uint32(f.Payload[0] >> 4)
	case f.Info.Codec == CodecAAC:
		return soundFormatAAC
	case f.Info.Codec == CodecMP3:
		return 2
	}
	return f.Info.FourCC
}

// parseStreamMeta reads onMetaData's numbers (FLV E.5).
func parseStreamMeta(payload []byte) streamMeta {
	vals, err := DecodeAMF0All(payload)
	if err != nil || len(vals) < 2 {
		return streamMeta{}
	}
	var a ECMAArray
	switch v := vals[1].(type) {
	case ECMAArray:
		a = v
	case Object:
		a = ECMAArray(v)
	default:
		return streamMeta{}
	}
	var m streamMeta
	m.width, _ = a.Number("width")
	m.height, _ = a.Number("height")
	if m.fps, _ = a.Number("framerate"); m.fps == 0 {
		m.fps, _ = a.Number("videoframerate")
	}
	m.sampleRate, _ = a.Number("audiosamplerate")
	m.channels, _ = a.Number("audiochannels")
	if stereo, ok := a.Get("stereo"); ok && m.channels == 0 {
		m.channels = 1
		if b, _ := stereo.(bool); b {
			m.channels = 2
		}
	}
	return m
}

// fromMeta fills what the headers did not say from onMetaData.
func (m *mediaInfo) fromMeta(meta streamMeta) {
	in := func(v, limit float64) bool { return v > 0 && v <= limit } // and not NaN
	if m.video.Width == 0 && in(meta.width, maxPictureDim) && in(meta.height, maxPictureDim) {
		m.video.Width, m.video.Height = int(meta.width), int(meta.height)
	}
	if in(meta.fps, 1000) {
		m.video.FrameRate = meta.fps
	}
	if m.audio.SampleRate == 0 && in(meta.sampleRate, 1<<20) {
		m.audio.SampleRate = int(meta.sampleRate)
	}
	if m.audio.Channels == 0 && in(meta.channels, 255) {
		m.audio.Channels = int(meta.channels)
	}
}

// ---------------------------------------------------------------------------
// HTTP: routes, the NMS envelope, the token

// registerStats adds the API, /metrics, /healthz to the HTTP mux (the
// status page at "/" is served through serveStatusPage).
func (s *Server) registerStats(mux *http.ServeMux) {
	if s.stats == nil {
		s.stats = newStatsState()
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", s.apiAuth(s.serveMetrics))
	api := map[string]http.HandlerFunc{
		"GET /api/v1/health":               s.apiHealth,
		"GET /api/v1/info":                 s.apiInfo,
		"GET /api/v1/stats":                s.apiStats,
		"GET /api/v1/streams":              s.apiStreams,
		"GET /api/v1/streams/{app}/{name}": s.apiStream,
		"GET /api/v1/sessions":             s.apiSessions,
		"DELETE /api/v1/sessions/{id}":     s.apiKick,
		"/api/":                            s.apiNotFound,
	}
	for pattern, h := range api {
		mux.HandleFunc(pattern, s.apiAuth(h))
	}
	mux.HandleFunc("OPTIONS /api/", func(w http.ResponseWriter, r *http.Request) {
		setAPICORS(w.Header())
		w.WriteHeader(http.StatusNoContent)
	})
}

// setAPICORS allows any origin, and the Authorization header a token needs
// (a "*" in Access-Control-Allow-Headers does not cover Authorization).
func setAPICORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
}

// apiAuth requires the bearer token, when one is configured.
func (s *Server) apiAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setAPICORS(w.Header())
		if tok := s.cfg.APIToken; tok != "" && !bearerOK(r.Header.Get("Authorization"), tok) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rtmphub"`)
			writeEnvelope(w, http.StatusUnauthorized, false, struct{}{}, "Unauthorized")
			return
		}
		h(w, r)
	}
}

// bearerOK compares "Bearer <token>" in constant time (of the token's
// SHA-256, so that not even its length leaks).
func bearerOK(header, token string) bool {
	const scheme = "bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(header[len(scheme):])))
	want := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// envelope is NMS's response wrapper.
type envelope struct {
	Success bool   `json:"success"`
	Data    any    `json:"data"`
	Message string `json:"message"`
}

func writeEnvelope(w http.ResponseWriter, status int, ok bool, data any, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(envelope{ok, data, msg})
}

func (s *Server) apiHealth(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, http.StatusOK, true, map[string]any{"status": "ok",
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "version": rtmphubVersion},
		"Server is healthy")
}

func (s *Server) apiInfo(w http.ResponseWriter, r *http.Request) {
	host, rtmpPort := splitAddr(s.RTMPAddr())
	_, httpPort := splitAddr(s.HTTPAddr())
	cfg := s.cfg
	auth := cfg.AuthPublish || cfg.AuthPlay || cfg.OnPublish != "" || cfg.OnPlay != ""
	data := map[string]any{
		"server": map[string]any{"name": "rtmphub", "version": rtmphubVersion,
			"homepage": "", "license": "", "author": ""},
		"config": map[string]any{"bind": host, "rtmp_port": rtmpPort, "http_port": httpPort,
			"static_enabled": false, "record_enabled": false, "auth_enabled": auth},
		"uptime":       time.Since(s.hub.started).Seconds(),
		"node_version": runtime.Version(),
	}
	writeEnvelope(w, http.StatusOK, true, data, "Server information retrieved successfully")
}

func splitAddr(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return host, n
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, http.StatusOK, true, s.snapshot().stats, "Server statistics retrieved successfully")
}

func (s *Server) apiStreams(w http.ResponseWriter, r *http.Request) {
	streams := s.snapshot().streams
	if streams == nil {
		streams = []streamView{}
	}
	writeEnvelope(w, http.StatusOK, true, map[string]any{"streams": streams, "total": len(streams)},
		"Streams retrieved successfully")
}

func (s *Server) apiStream(w http.ResponseWriter, r *http.Request) {
	key := streamPath(r.PathValue("app"), r.PathValue("name"))
	for _, v := range s.snapshot().streams {
		if v.Key == key {
			writeEnvelope(w, http.StatusOK, true, v, "Stream retrieved successfully")
			return
		}
	}
	writeEnvelope(w, http.StatusNotFound, false, struct{}{}, "Stream not found")
}

func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request) {
	sessions := s.snapshot().sessions
	if sessions == nil {
		sessions = []sessionView{}
	}
	writeEnvelope(w, http.StatusOK, true, map[string]any{"sessions": sessions, "total": len(sessions)},
		"Sessions retrieved successfully")
}

// apiKick closes the connection of a session, publisher or player.
func (s *Server) apiKick(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.hub.kick(id) {
		writeEnvelope(w, http.StatusNotFound, false, struct{}{}, "Session not found")
		return
	}
	s.log.Info("api: session kicked", "session", id, "remote", r.RemoteAddr)
	writeEnvelope(w, http.StatusOK, true, map[string]any{"id": id}, "Session closed successfully")
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, http.StatusNotFound, false, struct{}{}, "Not found")
}

// ---------------------------------------------------------------------------
// Prometheus text exposition format (version 0.0.4), written by hand

// promWriter appends metric families: a HELP and a TYPE line, then samples.
type promWriter struct{ b []byte }

func (p *promWriter) family(name, typ, help string) {
	p.b = fmt.Appendf(p.b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// sample appends `name{k="v",...} value`; labels are name, value pairs.
func (p *promWriter) sample(name string, v float64, labels ...string) {
	p.b = append(p.b, name...)
	for i := 0; i+1 < len(labels); i += 2 {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		p.b = append(p.b, sep)
		p.b = append(p.b, labels[i]...)
		p.b = append(p.b, '=')
		p.b = strconv.AppendQuote(p.b, labels[i+1])
	}
	if len(labels) > 0 {
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ' ')
	p.b = strconv.AppendFloat(p.b, v, 'g', -1, 64)
	p.b = append(p.b, '\n')
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	var p promWriter
	writeServerMetrics(&p, snap)
	writeStreamMetrics(&p, snap)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(p.b)
}

func writeServerMetrics(p *promWriter, snap *snapshot) {
	st := &snap.stats
	p.family("rtmphub_uptime_seconds", "gauge", "Seconds since the server started.")
	p.sample("rtmphub_uptime_seconds", st.Server.Uptime)
	p.family("rtmphub_in_bytes_total", "counter", "Bytes read from the sockets of all sessions (api/v1/stats network.inBytes).")
	p.sample("rtmphub_in_bytes_total", float64(st.Network.InBytes))
	p.family("rtmphub_out_bytes_total", "counter", "Bytes written to the sockets of all sessions (network.outBytes).")
	p.sample("rtmphub_out_bytes_total", float64(st.Network.OutBytes))
	p.family("rtmphub_in_bytes_per_second", "gauge", "Receive rate over the last 5 s.")
	p.sample("rtmphub_in_bytes_per_second", float64(st.Network.InBps))
	p.family("rtmphub_out_bytes_per_second", "gauge", "Send rate over the last 5 s.")
	p.sample("rtmphub_out_bytes_per_second", float64(st.Network.OutBps))
	byProto := map[string][3]int{} // sessions, publishers, players
	for _, si := range snap.sessions {
		c := byProto[si.Protocol]
		c[0]++
		if si.IsPublisher {
			c[1]++
		} else if si.Name != "" {
			c[2]++
		}
		byProto[si.Protocol] = c
	}
	for i, f := range [3][2]string{{"rtmphub_sessions", "Open sessions (connections)."},
		{"rtmphub_publishers", "Sessions publishing a stream."}, {"rtmphub_players", "Sessions playing a stream."}} {
		p.family(f[0], "gauge", f[1])
		for _, proto := range []string{"rtmp", "flv", "ws"} {
			p.sample(f[0], float64(byProto[proto][i]), "protocol", proto)
		}
	}
	p.family("rtmphub_process_cpu_seconds_total", "counter", "User and system CPU time.")
	p.sample("rtmphub_process_cpu_seconds_total", float64(st.CPU.User+st.CPU.System)/1e6)
	p.family("rtmphub_process_resident_memory_bytes", "gauge", "Resident set size.")
	p.sample("rtmphub_process_resident_memory_bytes", float64(st.Memory.RSS))
	p.family("rtmphub_go_heap_bytes", "gauge", "Go heap in use.")
	p.sample("rtmphub_go_heap_bytes", float64(st.Memory.HeapUsed))
	p.family("rtmphub_go_goroutines", "gauge", "Goroutines.")
	p.sample("rtmphub_go_goroutines", float64(st.Memory.Goroutines))
}

// streamMetric is one per-stream family and how to read it off a stream.
type streamMetric struct {
	name, typ, help string
	perProtocol     bool                                      // one sample per player protocol
	value           func(v *streamView, proto string) float64 // proto "" unless perProtocol
}

// playersOf sums f over the stream's players of proto.
func playersOf(v *streamView, proto string, f func(*playerView) float64) (sum, maxv float64) {
	for i := range v.Players {
		if v.Players[i].Protocol == proto {
			x := f(&v.Players[i])
			sum, maxv = sum+x, max(maxv, x)
		}
	}
	return sum, maxv
}

var streamMetrics = []streamMetric{
	{"rtmphub_stream_out_bytes_per_second", "gauge", "Rate to the stream's players of a protocol over the last 5 s.", true,
		func(v *streamView, proto string) float64 {
			sum, _ := playersOf(v, proto, func(p *playerView) float64 { return float64(p.OutBps) })
			return sum
		}},
	{"rtmphub_stream_players", "gauge", "Players of the stream, by protocol.", true,
		func(v *streamView, proto string) float64 {
			n, _ := playersOf(v, proto, func(*playerView) float64 { return 1 })
			return n
		}},
	{"rtmphub_stream_player_lag_max_seconds", "gauge", "The largest lag among the stream's players of a protocol.", true,
		func(v *streamView, proto string) float64 {
			_, lag := playersOf(v, proto, func(p *playerView) float64 { return float64(p.LagMs) / 1000 })
			return lag
		}},
	{"rtmphub_stream_gop_frames", "gauge", "Frames held in the stream's GOP cache.", false,
		func(v *streamView, _ string) float64 { return float64(v.GOPFrames) }},
	{"rtmphub_stream_gop_bytes", "gauge", "Payload bytes held in the stream's GOP cache.", false,
		func(v *streamView, _ string) float64 { return float64(v.GOPBytes) }},
	{"rtmphub_stream_drops_total", "counter", "Times a slow player of the stream skipped to the newest keyframe.", false,
		func(v *streamView, _ string) float64 { return float64(v.Drops) }},
}

// writeStreamMetrics writes the per-stream families. The publisher's
// families carry its protocol; the players' ones one sample per protocol.
func writeStreamMetrics(p *promWriter, snap *snapshot) {
	p.family("rtmphub_stream_in_bytes_total", "counter", "Socket bytes from the stream's publisher in this publication (protocol: the publisher's).")
	for _, v := range snap.streams {
		if v.Publisher != nil {
			p.sample("rtmphub_stream_in_bytes_total", float64(v.Publisher.InBytes), "app", v.App, "name", v.Name, "protocol", v.Publisher.Protocol)
		}
	}
	p.family("rtmphub_stream_in_bytes_per_second", "gauge", "The publisher's rate over the last 5 s.")
	for _, v := range snap.streams {
		if v.Publisher != nil {
			p.sample("rtmphub_stream_in_bytes_per_second", float64(v.InBps), "app", v.App, "name", v.Name, "protocol", v.Publisher.Protocol)
		}
	}
	for _, m := range streamMetrics {
		p.family(m.name, m.typ, m.help)
		for i := range snap.streams {
			v := &snap.streams[i]
			if !m.perProtocol {
				p.sample(m.name, m.value(v, ""), "app", v.App, "name", v.Name)
				continue
			}
			for _, proto := range []string{"rtmp", "flv", "ws"} {
				p.sample(m.name, m.value(v, proto), "app", v.App, "name", v.Name, "protocol", proto)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The status page

//go:embed status.html
var statusPage string

// statusInitialMark is replaced by the first snapshot (when no token is
// set), so that the page shows the streams before its first fetch.
const statusInitialMark = "/*INITIAL*/null"

func (s *Server) serveStatusPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	page := statusPage
	if s.cfg.APIToken == "" {
		snap := s.snapshot()
		// json.Marshal escapes <, > and &, so the JSON cannot end the script
		initial, _ := json.Marshal(map[string]any{"streams": snap.streams, "sessions": snap.sessions, "stats": snap.stats})
		page = strings.Replace(page, statusInitialMark, string(initial), 1)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:")
	io.WriteString(w, page)
}
