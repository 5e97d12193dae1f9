// Stats: the sampler that turns the hub's byte and frame counters into
// rates, and the views the stats API returns (api.go serves them; their
// fields are Node-Media-Server 4.4.3's, described there).
//
// Rates are bytes per second over a sliding window of about 5 s
// (sampleEvery samples; the window ends at the request). Media info comes
// from the publication's headers (mediainfo.go).
package main

import (
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

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

// sampler samples the hub's counters every second and builds the views
// of the API from them.
type sampler struct {
	hub *Hub
	// hlsRequests reads the HLS request counters (hlssession.go); nil in tests
	hlsRequests func() map[string]uint64

	mu       sync.Mutex
	global   rateWindow
	sessions map[string]*rateWindow // by session id: a in, b out
	streams  map[string]*streamSamples
	media    mediaCache // parsed headers (mediainfo.go)
}

func newSampler(hub *Hub) *sampler {
	return &sampler{hub: hub, sessions: map[string]*rateWindow{}, streams: map[string]*streamSamples{},
		media: mediaCache{}}
}

// run samples the counters every second until stop closes.
func (st *sampler) run(stop <-chan struct{}) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	st.sample(time.Now())
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			st.sample(now)
		}
	}
}

func (st *sampler) sample(now time.Time) {
	sessions, streams := st.hub.sessionList(), st.hub.streamList()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.global.add(rateSample{now, st.hub.inBytes.Load(), st.hub.outBytes.Load()})
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
func (st *sampler) sampleStreams(now time.Time, streams []*Stream) {
	for _, ss := range st.streams {
		ss.seen = false
	}
	for _, str := range streams {
		_, pub := str.publication()
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
	st.media.sweep()
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
	HLS struct {
		Requests map[string]uint64 `json:"requests"` // HLS requests served, by kind (hlssession.go)
	} `json:"hls"`
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

func (st *sampler) snapshot() *snapshot {
	now := time.Now()
	snap := &snapshot{at: now}
	players := map[string]*player{}
	for _, str := range st.hub.streamList() {
		if v, ok := st.streamView(str, now, players); ok {
			snap.streams = append(snap.streams, v)
		}
	}
	st.mu.Lock()
	for _, si := range st.hub.sessionList() {
		snap.sessions = append(snap.sessions, st.sessionView(si, players[si.ID], now))
	}
	st.mu.Unlock()
	st.fillStats(snap)
	return snap
}

func (st *sampler) sessionView(si *sessionInfo, p *player, now time.Time) sessionView {
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
func (st *sampler) streamView(str *Stream, now time.Time, players map[string]*player) (streamView, bool) {
	ring, pub := str.publication()
	ps := str.playerList()
	if ring == nil && len(ps) == 0 {
		return streamView{}, false
	}
	v := streamView{Key: str.Path, App: str.App, Name: str.Name, Status: "idle", Subscribers: len(ps),
		Drops: str.drops.Load(), Players: []playerView{}, InBpsHistory: []uint64{}}
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

func (st *sampler) playerView(p *player, now time.Time) playerView {
	si := p.sess
	pv := playerView{ID: si.ID, Protocol: si.Protocol, IP: si.RemoteAddr, OutBytes: si.bytesOut(),
		LagMs: p.lagMs.Load(), Drops: p.drops.Load()}
	if w := st.sessions[si.ID]; w != nil {
		_, out := w.rate(rateSample{now, si.bytesIn(), pv.OutBytes})
		pv.OutBps = uint64(out)
	}
	return pv
}

func (st *sampler) history(path, pubID string) []uint64 {
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
func (st *sampler) publisherView(str *Stream, ring *gopRing, pub *sessionInfo, now time.Time) *publisherView {
	m := st.media.of(ring)
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
func (st *sampler) fillStats(snap *snapshot) {
	v := &snap.stats
	v.Server.Uptime = snap.at.Sub(st.hub.started).Seconds()
	v.Server.NodeVersion, v.Server.GoVersion = runtime.Version(), runtime.Version()
	v.Server.Platform, v.Server.Arch, v.Server.PID = runtime.GOOS, runtime.GOARCH, os.Getpid()
	v.CPU.User, v.CPU.System = processCPU()
	if st.hlsRequests != nil {
		v.HLS.Requests = st.hlsRequests()
	}
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
	v.Network.InBytes, v.Network.OutBytes = st.hub.inBytes.Load(), st.hub.outBytes.Load()
	st.mu.Lock()
	in, out := st.global.rate(rateSample{snap.at, v.Network.InBytes, v.Network.OutBytes})
	st.mu.Unlock()
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
