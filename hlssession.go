// HLS over HTTP: the URLs, the viewers (sessions) and the answers
// (RFC 8216 section 4 and draft-pantos-hls-rfc8216bis-16 sections 4,
// 6.2.5 "Providing Low-Latency Media", 6.2.5.2 "Blocking Playlist
// Reload", 6.2.6 "Preload Hints"; HTTP caching per RFC 9111).
//
//	/{app}/{name}.m3u8, /{app}/{name}/index.m3u8   Multivariant Playlist
//	/{app}/{name}/{epoch}/media.m3u8               Media Playlist
//	/{app}/{name}/{epoch}/init{n}.mp4              init segment
//	/{app}/{name}/{epoch}/seg{msn}.m4s             segment
//	/{app}/{name}/{epoch}/part{n}.m4s              part
//
// Every URI the playlists hand out carries ?session=<id>. A viewer is a
// session of the hub (protocol "hls"): the Multivariant Playlist request
// creates it, after the signed-URL check and the on_play hook, which run
// once per session; every request with its id keeps it alive; it ends
// (on_done) after hlsSessionIdle without requests. A kicked session's
// requests are refused.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HLS request kinds, counted in /metrics and the stats API.
const (
	hlsReqPlaylist = iota // multivariant or live media playlist
	hlsReqBlocking        // media playlist with _HLS_msn
	hlsReqPart
	hlsReqSegment
	hlsReqInit
	hlsReqKinds
)

var hlsReqNames = [hlsReqKinds]string{"playlist", "blocking_playlist", "part", "segment", "init"}

// hlsService holds the server's HLS muxers, by stream path.
type hlsService struct {
	reentry  *reentryListener // the plain HTTP listener, for the keep-alive loop (hlsconn.go)
	env      *serverEnv
	mu       sync.Mutex
	muxers   map[string]*hlsMuxer
	requests [hlsReqKinds]atomic.Uint64
}

func newHLSService(env *serverEnv) *hlsService {
	return &hlsService{env: env, muxers: make(map[string]*hlsMuxer)}
}

// requestCounts returns the requests served so far, by kind name.
func (h *hlsService) requestCounts() map[string]uint64 {
	out := make(map[string]uint64, hlsReqKinds)
	for i, n := range hlsReqNames {
		out[n] = h.requests[i].Load()
	}
	return out
}

// writeHLSMetrics writes the HLS request counters by kind.
func writeHLSMetrics(p *promWriter, snap *snapshot) {
	p.family("rtmphub_hls_requests_total", "counter", "HLS requests served, by kind.")
	for _, kind := range hlsReqNames {
		p.sample("rtmphub_hls_requests_total", float64(snap.stats.HLS.Requests[kind]), "kind", kind)
	}
}

// muxer returns the muxer of app/name; with start, it creates one when
// the stream is live or, on an edge, starts the pull (then the muxer
// waits for the publication the pull makes). nil: no such stream.
func (h *hlsService) muxer(app, name string, start bool) *hlsMuxer {
	h.mu.Lock()
	defer h.mu.Unlock()
	path := streamPath(app, name)
	if m := h.muxers[path]; m != nil || !start {
		return m
	}
	st := h.env.hub.keepStream(app, name)
	ring, _ := st.current()
	origin := h.env.relays.originFor(app)
	if (ring == nil && origin == "") || !h.env.conns.begin() {
		st.letGo()
		return nil
	}
	m := newHLSMuxer(h, st)
	h.muxers[path] = m
	go m.run()
	if origin != "" {
		h.env.relays.ensurePull(st, origin)
	}
	return m
}

// always starts the muxer of a publication that just started
// (-hls-always): it lives while the stream is live, viewers or not.
func (h *hlsService) always(st *Stream) {
	if m := h.muxer(st.App, st.Name, true); m != nil {
		m.keepCutting()
	}
}

// finish ends the muxer: it leaves the registry, its viewers end, the
// stream is let go.
func (m *hlsMuxer) finish() {
	h := m.svc
	h.mu.Lock()
	if h.muxers[m.stream.Path] == m {
		delete(h.muxers, m.stream.Path)
	}
	h.mu.Unlock()
	close(m.done)
	m.mu.Lock()
	sessions := m.sessions
	m.sessions = nil
	m.mu.Unlock()
	for _, s := range sessions {
		s.end(h.env)
	}
	m.stream.letGo()
}

// hlsSession is one HLS viewer.
type hlsSession struct {
	info   *sessionInfo
	req    authRequest
	last   atomic.Int64 // unix nanoseconds of its latest request
	kicked atomic.Bool
	ended  atomic.Bool
	listed atomic.Bool // it has had a Media Playlist
}

func (s *hlsSession) touch(now time.Time) { s.last.Store(now.UnixNano()) }

// firstPlaylist reports whether the session is asking for its first
// Media Playlist, which is the one of the newest segment boundary
// (hlsWindow.boundaryPlaylist).
func (s *hlsSession) firstPlaylist() bool { return s.listed.CompareAndSwap(false, true) }

// end ends the session once: it leaves the hub, on_done is told.
func (s *hlsSession) end(env *serverEnv) {
	if s.ended.CompareAndSwap(false, true) {
		env.hub.endSession(s.info)
		env.auth.done(s.req)
	}
}

// sessionIdle is how long a viewer may go without a request: three
// target durations (a blocking reload waits that long), at least 5 s.
func (m *hlsMuxer) sessionIdle() time.Duration {
	return max(3*m.targetDuration(), 5*time.Second)
}

// housekeep ends idle sessions and forgets kicked ones; false when the
// muxer itself has idled out.
func (m *hlsMuxer) housekeep(now time.Time) bool {
	idle := m.sessionIdle()
	var ended []*hlsSession
	m.mu.Lock()
	for id, s := range m.sessions {
		quiet := now.Sub(time.Unix(0, s.last.Load()))
		switch {
		case s.kicked.Load() && quiet > hlsMuxerIdle:
			delete(m.sessions, id)
		case !s.kicked.Load() && quiet > idle:
			delete(m.sessions, id)
			ended = append(ended, s)
		}
	}
	alive := now.Sub(m.lastUse) < hlsMuxerIdle || len(m.sessions) > 0
	always := m.always
	m.mu.Unlock()
	if ring, _ := m.stream.current(); always && ring != nil {
		alive = true
	}
	for _, s := range ended {
		s.end(m.svc.env)
	}
	return alive
}

// newSession authorizes a viewer (signed URL, on_play) and registers it.
func (m *hlsMuxer) newSession(r *http.Request, app, name string) (*hlsSession, error) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	req := authRequest{Action: "play", Protocol: "hls", App: app, Name: name, Query: r.URL.RawQuery, ClientIP: host}
	if err := m.svc.env.auth.authorize(req); err != nil {
		return nil, err
	}
	s := &hlsSession{req: req}
	s.touch(time.Now())
	env := m.svc.env
	s.info = env.hub.newDetachedSession(env.hub.sessionID("hls"), "hls", r.RemoteAddr, func() {
		s.kicked.Store(true)
		s.end(env)
	})
	s.info.setStream(app, name, false)
	s.req.ID = s.info.ID
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions == nil { // the muxer ended meanwhile
		s.end(env)
		return nil, errHLSGone
	}
	m.sessions[s.info.ID] = s
	return s, nil
}

// errHLSGone: the muxer ended while a request was being answered.
var errHLSGone = &AuthError{Status: http.StatusNotFound, Reason: "stream ended"}

// session finds the viewer of a request by its session parameter and
// keeps it alive; kicked reports a session that was kicked.
func (m *hlsMuxer) session(r *http.Request) (s *hlsSession, kicked bool) {
	id, _ := queryValue(r.URL.RawQuery, "session")
	now := time.Now()
	m.mu.Lock()
	m.lastUse = now
	s = m.sessions[id]
	m.mu.Unlock()
	if s == nil {
		return nil, false
	}
	if s.kicked.Load() || s.ended.Load() {
		return nil, s.kicked.Load()
	}
	s.touch(now)
	return s, false
}

// queryValue is the first value of key in a raw query, as
// url.Values.Get of url.ParseQuery (a pair that does not unescape is
// skipped), without making the map: it runs on every HLS request.
func queryValue(raw, key string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		if err1 != nil || k != key || strings.Contains(k, ";") {
			continue
		}
		if v, err := url.QueryUnescape(v); err == nil {
			return v, true
		}
	}
	return "", false
}

// randomToken returns n random bytes in hex.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------------
// Routing

// hlsRoute is a parsed HLS URL.
type hlsRoute struct {
	app, name string
	epoch     string // "" for the Multivariant Playlist
	file      string // media.m3u8, init0.mp4, seg3.m4s, part12.m4s
	base      string // the variant URI's prefix, relative to the request
}

// parseHLSPath recognises the HLS URLs; ok is false for any other path.
func parseHLSPath(p string) (rt hlsRoute, ok bool) {
	var parts [4]string
	n, rest := 0, strings.TrimPrefix(p, "/")
	for more := true; more; n++ {
		if n == len(parts) {
			return rt, false
		}
		parts[n], rest, more = strings.Cut(rest, "/")
	}
	switch {
	case n == 2 && strings.HasSuffix(parts[1], ".m3u8"):
		rt = hlsRoute{app: parts[0], name: strings.TrimSuffix(parts[1], ".m3u8")}
		rt.base = rt.name + "/"
	case n == 3 && parts[2] == "index.m3u8":
		rt = hlsRoute{app: parts[0], name: parts[1]}
	case n == 4:
		rt = hlsRoute{app: parts[0], name: parts[1], epoch: parts[2], file: parts[3]}
	default:
		return rt, false
	}
	return rt, validName(rt.app) && validName(rt.name)
}

// route answers r if it is an HLS URL (false: not one).
func (h *hlsService) route(w http.ResponseWriter, r *http.Request) bool {
	rt, ok := parseHLSPath(r.URL.Path)
	if !ok {
		return false
	}
	setCORS(w.Header())
	switch r.Method {
	case http.MethodOptions:
		setPreflight(w.Header(), r)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet, http.MethodHead:
		switch {
		case rt.epoch == "":
			h.serveMultivariant(w, r, rt)
		case !h.keepAlive(w, r):
			h.serveMedia(w, r, rt)
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
	return true
}

// A new viewer's Multivariant Playlist waits until the Media Playlist
// lists hlsStartSegments complete segments: a player that knows nothing
// of parts needs segments, and Chromium's own HLS player fails to start
// (DEMUXER_ERROR_COULD_NOT_PARSE) on fewer. A stream with short GOPs has
// them in its ring when the muxer starts (Hub.newRing), so its first
// viewer does not wait. The wait lasts at most hlsFirstWait (a publisher
// that just started, an edge's pull: the first answer comes within 3 s);
// then one part is enough. Either way the target duration must be fixed
// (the first segment cut), which a stream with a very long GOP gets only
// after hlsFirstWait: it is waited for until hlsLongestWait.
const (
	hlsStartSegments = 3
	hlsFirstWait     = 2500 * time.Millisecond
	hlsLongestWait   = 15 * time.Second
)

// serveMultivariant authorizes a new viewer and hands it the Media
// Playlist's URI, once the stream has a first part.
func (h *hlsService) serveMultivariant(w http.ResponseWriter, r *http.Request, rt hlsRoute) {
	h.requests[hlsReqPlaylist].Add(1)
	env := h.env
	if env.auth.signRequired("play") {
		if err := checkSign(streamPath(rt.app, rt.name), r.URL.RawQuery, env.cfg.AuthSecret, time.Now()); err != nil {
			hlsError(w, signRefusal(err).Status, "forbidden")
			return
		}
	}
	m := h.muxer(rt.app, rt.name, true)
	if m == nil {
		hlsError(w, http.StatusNotFound, "no such stream")
		return
	}
	if !m.waitStart(r.Context()) {
		hlsError(w, http.StatusNotFound, "stream not ready")
		return
	}
	s, err := m.newSession(r, rt.app, rt.name)
	if err != nil {
		env.log.Info("hls: play refused", "stream", streamPath(rt.app, rt.name), "reason", err, "remote", r.RemoteAddr)
		hlsError(w, authStatus(err), "forbidden")
		return
	}
	env.log.Info("play", "protocol", "hls", "session", s.info.ID, "stream", streamPath(rt.app, rt.name), "remote", r.RemoteAddr)
	in, bw := m.win.variant()
	uri := rt.base + m.epoch + "/media.m3u8?session=" + s.info.ID
	if sign := signParam(r.URL.RawQuery); sign != "" {
		uri += "&sign=" + sign
	}
	h.writeText(w, r, hlsText{pieces: []string{multivariantPlaylist(in, bw, uri)}}, hdrNoCache, s)
}

// waitStart waits until the window lists enough to start with (see
// hlsStartSegments); false when it lists nothing in time.
func (m *hlsMuxer) waitStart(ctx context.Context) bool {
	t := time.NewTimer(hlsFirstWait)
	defer t.Stop()
	late := false
	for {
		wake, _ := m.win.changed()
		ready, segments := m.win.started()
		if ready && (late || segments >= min(hlsStartSegments, m.svc.env.cfg.HLSSegments)) {
			return true
		}
		select {
		case <-wake:
		case <-t.C:
			if late {
				return false
			}
			late = true
			t.Reset(hlsLongestWait - hlsFirstWait)
		case <-ctx.Done():
			return false
		case <-m.done:
			return false
		}
	}
}

// hlsError answers an error no cache keeps.
func hlsError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}

// Response header values, shared by every response (net/http only
// reads them).
var (
	hdrPlaylistType = []string{"application/vnd.apple.mpegurl"}
	hdrMP4Type      = []string{"video/mp4"}
	hdrNoCache      = []string{"no-cache"}
	hdrBlocking     = []string{"public, max-age=3"}
	hdrImmutable    = []string{"public, max-age=60, immutable"}
)

// writeText answers a playlist (RFC 8216 section 4: its Content-Type),
// counting its bytes for s (may be nil).
func (h *hlsService) writeText(w http.ResponseWriter, r *http.Request, text hlsText, cache []string, s *hlsSession) {
	hd := w.Header()
	hd["Content-Type"] = hdrPlaylistType
	hd["Cache-Control"] = cache
	hd["Content-Length"] = []string{strconv.Itoa(text.size())}
	if r.Method == http.MethodHead {
		return
	}
	n, _ := text.writeTo(w)
	h.count(s, n)
}

// writeMedia answers an init segment, part or segment: bufs as they are,
// cacheable for good since its URI never names other bytes.
func (h *hlsService) writeMedia(w http.ResponseWriter, r *http.Request, bufs net.Buffers, s *hlsSession) {
	size := 0
	for _, b := range bufs {
		size += len(b)
	}
	hd := w.Header()
	hd["Content-Type"] = hdrMP4Type
	hd["Cache-Control"] = hdrImmutable
	kw, inLoop := w.(*hlsWire)
	if inLoop && r.Method != http.MethodHead { // the keep-alive loop (hlsconn.go) writes them as they are, and their length
		h.count(s, kw.sendBuffers(bufs))
		return
	}
	hd["Content-Length"] = []string{strconv.Itoa(size)}
	if r.Method == http.MethodHead {
		return
	}
	n, _ := bufs.WriteTo(w)
	h.count(s, int(n))
}

// count adds n bytes sent to the network totals and to viewer s (nil:
// none known).
func (h *hlsService) count(s *hlsSession, n int) {
	if n <= 0 {
		return
	}
	h.env.hub.outBytes.Add(uint64(n))
	if s != nil {
		s.info.outCounter().Add(uint64(n))
	}
}

// serveMedia answers the URIs under an epoch: Media Playlist, init,
// segments and parts. A kicked viewer is refused; with -auth-play so is
// a request without a live session.
func (h *hlsService) serveMedia(w http.ResponseWriter, r *http.Request, rt hlsRoute) {
	m := h.muxer(rt.app, rt.name, false)
	if m == nil || m.epoch != rt.epoch {
		hlsError(w, http.StatusNotFound, "no such stream or epoch")
		return
	}
	s, kicked := m.session(r)
	if kicked || (s == nil && h.env.auth.signRequired("play")) {
		hlsError(w, http.StatusForbidden, "forbidden")
		return
	}
	if s != nil {
		defer s.touch(time.Now())
	}
	file := rt.file
	switch {
	case file == "media.m3u8":
		h.serveMediaPlaylist(w, r, m, s)
	case strings.HasPrefix(file, "init") && strings.HasSuffix(file, ".mp4"):
		h.requests[hlsReqInit].Add(1)
		id, err := strconv.Atoi(file[len("init") : len(file)-len(".mp4")])
		in := m.win.init(id)
		if err != nil || in == nil {
			hlsError(w, http.StatusNotFound, "no such init segment")
			return
		}
		h.writeMedia(w, r, net.Buffers{in.mp4.Bytes}, s)
	case strings.HasPrefix(file, "seg") && strings.HasSuffix(file, ".m4s"):
		h.serveSegment(w, r, m, s, file[len("seg"):len(file)-len(".m4s")])
	case strings.HasPrefix(file, "part") && strings.HasSuffix(file, ".m4s"):
		h.servePart(w, r, m, s, file[len("part"):len(file)-len(".m4s")])
	default:
		hlsError(w, http.StatusNotFound, "not found")
	}
}

func (h *hlsService) serveSegment(w http.ResponseWriter, r *http.Request, m *hlsMuxer, s *hlsSession, num string) {
	h.requests[hlsReqSegment].Add(1)
	msn, err := strconv.ParseUint(num, 10, 64)
	parts := m.win.segment(msn)
	if err != nil || parts == nil {
		hlsError(w, http.StatusNotFound, "no such segment")
		return
	}
	var bufs net.Buffers
	for _, p := range parts {
		bufs = p.appendWire(bufs)
	}
	h.writeMedia(w, r, bufs, s)
}

// servePart answers a part; the next one (the preload hint, bis 6.2.6)
// is waited for, up to three target durations.
func (h *hlsService) servePart(w http.ResponseWriter, r *http.Request, m *hlsMuxer, s *hlsSession, num string) {
	h.requests[hlsReqPart].Add(1)
	id, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		hlsError(w, http.StatusNotFound, "no such part")
		return
	}
	p, coming := m.win.part(id)
	if p == nil && coming {
		m.wait(r.Context(), func() bool { p, coming = m.win.part(id); return p != nil || !coming })
	}
	if p == nil {
		hlsError(w, http.StatusNotFound, "no such part")
		return
	}
	h.writeMedia(w, r, p.appendWire(make(net.Buffers, 0, len(p.data)+1)), s)
}

// serveMediaPlaylist answers the Media Playlist, at once (a viewer's first:
// the one of the newest segment boundary), or for a
// blocking reload (bis 6.2.5.2) once it has the part asked for.
func (h *hlsService) serveMediaPlaylist(w http.ResponseWriter, r *http.Request, m *hlsMuxer, s *hlsSession) {
	if !m.win.hasTarget() && !m.wait(r.Context(), m.win.hasTarget) {
		hlsError(w, http.StatusServiceUnavailable, "the stream's first segment is not cut yet")
		return
	}
	first := s != nil && s.firstPlaylist()
	raw := r.URL.RawQuery
	session, _ := queryValue(raw, "session")
	query := "?session=" + session
	msnText, hasMSN := queryValue(raw, "_HLS_msn")
	partText, hasPart := queryValue(raw, "_HLS_part")
	if !hasMSN {
		if hasPart {
			hlsError(w, http.StatusBadRequest, "_HLS_part without _HLS_msn")
			return
		}
		h.requests[hlsReqPlaylist].Add(1)
		if first {
			h.writeText(w, r, m.win.boundaryPlaylist(query), hdrNoCache, s)
			return
		}
		h.writeText(w, r, m.win.playlist(query), hdrNoCache, s)
		return
	}
	h.requests[hlsReqBlocking].Add(1)
	msn, err1 := strconv.ParseUint(msnText, 10, 64)
	part := int64(-1)
	var err2 error
	if hasPart {
		part, err2 = strconv.ParseInt(partText, 10, 32)
	}
	if err1 != nil || err2 != nil || part < -1 {
		hlsError(w, http.StatusBadRequest, "bad _HLS_msn or _HLS_part")
		return
	}
	if _, tooFar := m.win.reach(msn, int(part)); tooFar {
		hlsError(w, http.StatusBadRequest, "_HLS_msn or _HLS_part too far ahead")
		return
	}
	ok := m.wait(r.Context(), func() bool { ready, _ := m.win.reach(msn, int(part)); return ready })
	if !ok {
		hlsError(w, http.StatusServiceUnavailable, "the part asked for did not come in time")
		return
	}
	h.writeText(w, r, m.win.playlist(query), hdrBlocking, s)
}

// wait waits until cond holds, for at most three target durations
// (bis 6.2.5.2), re-checking it after every change of the window.
func (m *hlsMuxer) wait(ctx context.Context, cond func() bool) bool {
	if cond() { // already there (most part requests of a viewer that lags a little): no timer
		return true
	}
	t := time.NewTimer(3 * m.targetDuration())
	defer t.Stop()
	for {
		wake, _ := m.win.changed()
		if cond() {
			return true
		}
		select {
		case <-wake:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		case <-m.done:
			return cond()
		}
	}
}

// targetDuration is the playlist's target duration.
func (m *hlsMuxer) targetDuration() time.Duration { return m.win.targetDuration() }
