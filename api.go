// The HTTP API: the Node-Media-Server 4.x JSON API, Prometheus text,
// /healthz, the status page, and the relay API (relays and recordings).
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
//	GET    /api/v1/relays               every push, pull and recording
//	POST   /api/v1/record/{app}/{name}  start recording a live stream
//	DELETE /api/v1/record/{app}/{name}  stop it (the file is finalised first)
//
// Field layout, and what goes beyond NMS:
//   - Session objects add app and name (NMS leaves them out) and, for
//     players, lagMs and drops; protocol is "rtmp", "flv" (HTTP-FLV),
//     "ws" (WebSocket-FLV, which NMS reports as "flv") or "mp4" (live
//     fragmented MP4).
//   - publisher.videoCodec / audioCodec are numbers as NMS reports them:
//     the FLV CodecID / SoundFormat (7 H.264, 12 HEVC, 10 AAC, 2 MP3, ...),
//     also when the codec came in an Enhanced RTMP FourCC tag; a codec
//     without a legacy id (AV1, VP9, Opus, FLAC, AC-3...) is its FourCC as
//     a number, as Enhanced RTMP writes videocodecid in onMetaData
//     ('av01' = 0x61763031). videoCodecName / audioCodecName always name
//     it ("H264", "HEVC", "AV1", "VP9", "AAC", "Opus", ...), next to
//     videoProfile, videoLevel and audioProfile.
//   - Sizes, sample rates and channels come from the sequence headers
//     (codecs.go, mediainfo.go), then onMetaData; the frame rate from onMetaData, then
//     the SPS timing, then the measured frame rate.
//   - Stream objects add gopFrames, gopBytes (the GOP cache), drops (times a
//     slow player skipped to the newest keyframe), players (id, protocol,
//     ip, outBytes, outBps, lagMs, drops) and inBpsHistory (the
//     publisher's bytes per second, one value a second, oldest first).
//     A stream that only has waiting players is listed with status "idle"
//     and publisher null, as NMS does.
//
// Byte counts are exact (countconn.go); rates are bytes per second over a
// sliding window of about 5 s (stats.go).
//
// With -api-token every /api/ call and /metrics need "Authorization:
// Bearer TOKEN" (401 otherwise; the token is compared in constant time);
// /healthz and the page itself stay open (the page asks for the token).
// Nothing here prints the token, the auth secret, or stream query strings.
package main

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ---------------------------------------------------------------------------
// HTTP: routes, the NMS envelope, the token

// api serves the JSON API, /metrics and the status page from the
// sampler's snapshots, and the relay API from the relays.
type api struct {
	cfg    *Config
	hub    *Hub
	log    *slog.Logger
	stats  *sampler
	relays *relays
	addrs  func() (rtmp, http string) // the bound addresses, for /api/v1/info
}

// register adds the API, /metrics, /healthz and the relay API to the HTTP
// mux (the status page at "/" is served through statusPage).
func (a *api) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", a.auth(a.metrics))
	routes := map[string]http.HandlerFunc{
		"GET /api/v1/health":               a.health,
		"GET /api/v1/info":                 a.info,
		"GET /api/v1/stats":                a.statsAPI,
		"GET /api/v1/streams":              a.streams,
		"GET /api/v1/streams/{app}/{name}": a.stream,
		"GET /api/v1/sessions":             a.sessions,
		"DELETE /api/v1/sessions/{id}":     a.kick,
		"/api/":                            a.notFound,
	}
	for pattern, h := range routes {
		mux.HandleFunc(pattern, a.auth(h))
	}
	mux.HandleFunc("OPTIONS /api/", func(w http.ResponseWriter, r *http.Request) {
		setAPICORS(w.Header())
		w.WriteHeader(http.StatusNoContent)
	})
	a.registerRelays(mux)
}

// setAPICORS allows any origin, and the Authorization header a token needs
// (a "*" in Access-Control-Allow-Headers does not cover Authorization).
func setAPICORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
}

// auth requires the bearer token, when one is configured.
func (a *api) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setAPICORS(w.Header())
		if tok := a.cfg.APIToken; tok != "" && !bearerOK(r.Header.Get("Authorization"), tok) {
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

func (a *api) health(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, http.StatusOK, true, map[string]any{"status": "ok",
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "version": rtmphubVersion},
		"Server is healthy")
}

func (a *api) info(w http.ResponseWriter, r *http.Request) {
	rtmpAddr, httpAddr := a.addrs()
	host, rtmpPort := splitAddr(rtmpAddr)
	_, httpPort := splitAddr(httpAddr)
	cfg := a.cfg
	auth := cfg.AuthPublish || cfg.AuthPlay || cfg.OnPublish != "" || cfg.OnPlay != ""
	data := map[string]any{
		"server": map[string]any{"name": "rtmphub", "version": rtmphubVersion,
			"homepage": "", "license": "", "author": ""},
		"config": map[string]any{"bind": host, "rtmp_port": rtmpPort, "http_port": httpPort,
			"static_enabled": false, "record_enabled": false, "auth_enabled": auth},
		"uptime":       time.Since(a.hub.started).Seconds(),
		"node_version": runtime.Version(),
	}
	writeEnvelope(w, http.StatusOK, true, data, "Server information retrieved successfully")
}

func splitAddr(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return host, n
}

func (a *api) statsAPI(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, http.StatusOK, true, a.stats.snapshot().stats, "Server statistics retrieved successfully")
}

func (a *api) streams(w http.ResponseWriter, r *http.Request) {
	streams := a.stats.snapshot().streams
	if streams == nil {
		streams = []streamView{}
	}
	writeEnvelope(w, http.StatusOK, true, map[string]any{"streams": streams, "total": len(streams)},
		"Streams retrieved successfully")
}

func (a *api) stream(w http.ResponseWriter, r *http.Request) {
	key := streamPath(r.PathValue("app"), r.PathValue("name"))
	for _, v := range a.stats.snapshot().streams {
		if v.Key == key {
			writeEnvelope(w, http.StatusOK, true, v, "Stream retrieved successfully")
			return
		}
	}
	writeEnvelope(w, http.StatusNotFound, false, struct{}{}, "Stream not found")
}

func (a *api) sessions(w http.ResponseWriter, r *http.Request) {
	sessions := a.stats.snapshot().sessions
	if sessions == nil {
		sessions = []sessionView{}
	}
	writeEnvelope(w, http.StatusOK, true, map[string]any{"sessions": sessions, "total": len(sessions)},
		"Sessions retrieved successfully")
}

// kick closes the connection of a session, publisher or player.
func (a *api) kick(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.hub.kick(id) {
		writeEnvelope(w, http.StatusNotFound, false, struct{}{}, "Session not found")
		return
	}
	a.log.Info("api: session kicked", "session", id, "remote", r.RemoteAddr)
	writeEnvelope(w, http.StatusOK, true, map[string]any{"id": id}, "Session closed successfully")
}

func (a *api) notFound(w http.ResponseWriter, r *http.Request) {
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

func (a *api) metrics(w http.ResponseWriter, r *http.Request) {
	snap := a.stats.snapshot()
	var p promWriter
	writeServerMetrics(&p, snap)
	writeHLSMetrics(&p, snap)
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
		for _, proto := range playerProtocols {
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
			for _, proto := range playerProtocols {
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

// statusRTMPPortMark is replaced by the RTMP port, for the play URLs.
const statusRTMPPortMark = "/*RTMPPORT*/1935"

// playerProtocols are the protocols the metrics count players of.
var playerProtocols = []string{"rtmp", "flv", "ws", "mp4", "hls"}

func (a *api) statusPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	page := statusPage
	if a.cfg.APIToken == "" {
		snap := a.stats.snapshot()
		// json.Marshal escapes <, > and &, so the JSON cannot end the script
		initial, _ := json.Marshal(map[string]any{"streams": snap.streams, "sessions": snap.sessions, "stats": snap.stats})
		page = strings.Replace(page, statusInitialMark, string(initial), 1)
	}
	if rtmp, _ := a.addrs(); rtmp != "" {
		if _, port, err := net.SplitHostPort(rtmp); err == nil {
			page = strings.Replace(page, statusRTMPPortMark, port, 1)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:")
	io.WriteString(w, page)
}

// ---------------------------------------------------------------------------
// HTTP API: relays and recordings

// registerRelays adds the relay routes to the HTTP mux:
//
//	GET    /api/v1/relays               every push, pull and recording
//	POST   /api/v1/record/{app}/{name}  start recording a live stream
//	DELETE /api/v1/record/{app}/{name}  stop it (the file is finalised first)
func (a *api) registerRelays(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/relays", a.relayHandler(a.relayList))
	mux.HandleFunc("POST /api/v1/record/{app}/{name}", a.relayHandler(a.recordStart))
	mux.HandleFunc("DELETE /api/v1/record/{app}/{name}", a.relayHandler(a.recordStop))
}

// relayHandler wraps a relay API handler with CORS and the -api-token
// check.
func (a *api) relayHandler(h func(*http.Request) (int, any, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		status, data, msg := http.StatusUnauthorized, any(struct{}{}), "unauthorized"
		if tok := a.cfg.APIToken; tok == "" ||
			subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+tok)) == 1 {
			status, data, msg = h(r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(struct {
			Success bool   `json:"success"`
			Data    any    `json:"data"`
			Message string `json:"message"`
		}{status < 300, data, msg})
	}
}

func (a *api) relayList(*http.Request) (int, any, string) {
	return http.StatusOK, map[string]any{"relays": a.relays.status()}, "Relays retrieved successfully"
}

func (a *api) recordStart(r *http.Request) (int, any, string) {
	app, name := r.PathValue("app"), r.PathValue("name")
	st := a.hub.lookup(app, name)
	var ring *gopRing
	if st != nil {
		ring, _ = st.current()
	}
	if ring == nil {
		return http.StatusNotFound, struct{}{}, "Stream not found"
	}
	dir := a.relays.recordDirFor(app)
	if dir == "" {
		return http.StatusConflict, struct{}{}, "No record directory configured (-record-dir)"
	}
	rec, err := a.relays.startRecording(st, ring, dir, true)
	if errors.Is(err, errAlreadyRecording) {
		return http.StatusOK, rec.status(), "Already recording"
	}
	if err != nil {
		a.log.Warn("record: api start failed", "stream", st.Path, "err", err)
		return http.StatusInternalServerError, struct{}{}, "Recording failed to start"
	}
	return http.StatusOK, rec.status(), "Recording started"
}

func (a *api) recordStop(r *http.Request) (int, any, string) {
	app, name := r.PathValue("app"), r.PathValue("name")
	rec := a.relays.stopRecording(streamPath(app, name))
	if rec == nil {
		return http.StatusNotFound, struct{}{}, "Not recording"
	}
	select {
	case <-rec.finished:
	case <-time.After(5 * time.Second):
	}
	return http.StatusOK, rec.status(), "Recording stopped"
}
