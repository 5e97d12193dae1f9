// Relays: push to other servers, edge pull from an origin, and the
// plumbing they share with recording (record.go).
//
// A relay is a hub subscriber or a hub publisher like any connection:
//   - a push relay is a hub player (hub.go) whose "socket" is an RTMP
//     client publishing to another server (client.go: RTMP 1.0 section
//     7.2.2.6, publish). It reads the GOP ring with its own cursor, so the
//     publisher never waits for it, and it follows the players' lag policy
//     (past -max-lag it skips to the newest keyframe, with its headers).
//   - an edge pull is a hub publisher whose "connection" is an RTMP client
//     playing the stream from the origin (section 7.2.2.1, play). The
//     origin starts it like any late joiner: onMetaData, both sequence
//     headers, the cached GOP from a keyframe, so the edge's own players
//     start clean too.
//   - a recorder (record.go) is a hub player whose "socket" is an FLV file.
//
// Pushes and recorders are handed the frames themselves (frameSink,
// sink.go): a push sends each frame's type, timestamp and payload as an
// RTMP message; a recorder writes each as an FLV tag.
//
//	publisher ──> origin ──pull──> edge ──> players (RTMP, HTTP-FLV, WS-FLV)
//	                 │      (one upstream connection per stream and edge)
//	                 └──push──> another server (same app/name)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Relay retry policy: the first retry after relayMinBackoff, doubling up to
// relayMaxBackoff; a connection that lasted relayStableAfter starts over.
const (
	relayMinBackoff  = 250 * time.Millisecond
	relayMaxBackoff  = 10 * time.Second
	relayStableAfter = 10 * time.Second
	relayDialTimeout = 10 * time.Second // TCP + handshake + connect + publish/play
)

// Relay kinds, as the stats show them.
const (
	relayKindPush   = "push"
	relayKindPull   = "pull"
	relayKindRecord = "record"
)

// errRelayStopped ends a relay on purpose (its publication ended, the last
// local player left, the server is closing); it is not counted as an error.
var errRelayStopped = errors.New("relay stopped")

// ---------------------------------------------------------------------------
// Configuration

// AppRelay holds the per-application rules of the config file:
//
//	"apps": {
//	  "live":  {"record": true, "push": ["rtmp://cdn.example:1935/ingest"]},
//	  "event": {"origin": "rtmp://origin.example:1935"},
//	  "test":  {"record": false, "push": []}
//	}
type AppRelay struct {
	Record    *bool    `json:"record"`    // record this app (default: when recordDir is set)
	RecordDir string   `json:"recordDir"` // this app's record directory (default: recordDir)
	Push      []string `json:"push"`      // replaces the global push list when present
	Origin    string   `json:"origin"`    // this app's origin (default: origin)
}

// relays starts and keeps the server's recordings, push relays and edge
// pulls, and reports them.
type relays struct {
	cfg   *Config
	hub   *Hub
	log   *slog.Logger
	conns *connTracker // relays are goroutines the server waits for

	mu     sync.Mutex
	all    map[*relayCounters]struct{} // every relay, for stats
	recs   map[string]*recorder        // by stream path: at most one recording each
	pulls  map[string]*edgePull        // by stream path: at most one pull each
	nextID atomic.Uint64

	alsoOnPublish func(st *Stream) // set once before serving (-hls-always: the HLS muxer starts)
}

func newRelays(cfg *Config, hub *Hub, log *slog.Logger, conns *connTracker) *relays {
	return &relays{cfg: cfg, hub: hub, log: log, conns: conns, all: make(map[*relayCounters]struct{}),
		recs: make(map[string]*recorder), pulls: make(map[string]*edgePull)}
}

// recordDirFor is where app's recordings go ("" when nowhere).
func (rl *relays) recordDirFor(app string) string {
	if d := rl.cfg.Apps[app].RecordDir; d != "" {
		return d
	}
	return rl.cfg.RecordDir
}

// autoRecord reports whether every publish of app is recorded.
func (rl *relays) autoRecord(app string) bool {
	if r := rl.cfg.Apps[app].Record; r != nil {
		return *r && rl.recordDirFor(app) != ""
	}
	return rl.cfg.RecordDir != ""
}

func (rl *relays) pushTargets(app string) []string {
	if a, ok := rl.cfg.Apps[app]; ok && a.Push != nil {
		return a.Push
	}
	return rl.cfg.Push
}

func (rl *relays) originFor(app string) string {
	if o := rl.cfg.Apps[app].Origin; o != "" {
		return o
	}
	return rl.cfg.Origin
}

// urlList is the repeatable -push flag; one value may also hold several
// URLs separated by commas. Flags add to the config file's list.
type urlList []string

func (l *urlList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *urlList) Set(v string) error {
	for u := range strings.SplitSeq(v, ",") {
		u = strings.TrimSpace(u)
		if u == "" || slices.Contains(*l, u) {
			continue
		}
		if _, err := relayURL(u, "app", "name"); err != nil {
			return err
		}
		*l = append(*l, u)
	}
	return nil
}

// relayURL is the URL of app/name on another server, from a relay base
// rtmp://host[:port][/app]. The base's app, when it has one, replaces the
// stream's own; the stream name is always kept.
func relayURL(base, app, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("relay url: %w", err)
	}
	if u.Scheme != "rtmp" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("relay url %q: want rtmp://host[:port][/app]", base)
	}
	target := strings.Trim(u.Path, "/")
	if target == "" {
		target = app
	}
	if !validName(target) || !validName(name) {
		return "", fmt.Errorf("relay url %q: bad app or stream name %q/%q", base, target, name)
	}
	return "rtmp://" + u.Host + "/" + target + "/" + name, nil
}

// ---------------------------------------------------------------------------
// Hooks called by the sessions

// addPlayer attaches a player of any protocol to app/name. On an edge, a
// stream with no publisher starts (or joins) the pull from the origin.
func (rl *relays) addPlayer(app, name string, p *player) *Stream {
	st := rl.hub.addPlayer(app, name, p)
	if origin := rl.originFor(app); origin != "" {
		rl.ensurePull(st, origin)
	}
	return st
}

// publishStarted is called when a publication starts, before its first
// frame: recording and push relays attach here. It never blocks.
func (rl *relays) publishStarted(st *Stream, ring *gopRing) {
	if rl.autoRecord(st.App) {
		if _, err := rl.startRecording(st, ring, rl.recordDirFor(st.App), false); err != nil {
			rl.log.Warn("record: not started", "stream", st.Path, "err", err)
		}
	}
	for _, base := range rl.pushTargets(st.App) {
		rl.startPush(st, ring, base)
	}
	if rl.alsoOnPublish != nil {
		rl.alsoOnPublish(st)
	}
}

// onPublish sets a function publishStarted also calls (before serving).
func (rl *relays) onPublish(f func(st *Stream)) { rl.alsoOnPublish = f }

// whenStopping runs f if the server closes before done does; call the
// returned func (after done is closed) to wait for the watcher.
func (rl *relays) whenStopping(done <-chan struct{}, f func()) (wait func()) {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case <-rl.conns.stopping():
			f()
		case <-done:
		}
	}()
	return func() { <-ended }
}

// ---------------------------------------------------------------------------
// Bookkeeping and stats

func (rl *relays) add(c *relayCounters) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.all[c] = struct{}{}
}

func (rl *relays) remove(c *relayCounters) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	delete(rl.all, c)
}

// relayCounters is what every relay reports.
type relayCounters struct {
	kind, stream, target string
	since                time.Time

	bytes  atomic.Uint64 // bytes sent (push), read (pull) or in the file (record)
	errors atomic.Uint64 // failed connections or writes
	drops  atomic.Uint64 // keyframe skips of a lagging push or recorder

	mu      sync.Mutex
	state   string
	lastErr string
}

func newRelayCounters(kind, stream, target string) relayCounters {
	return relayCounters{kind: kind, stream: stream, target: target, since: time.Now(), state: "starting"}
}

func (c *relayCounters) setState(st string) {
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
}

func (c *relayCounters) fail(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	c.lastErr = truncate(err.Error(), 200)
	c.mu.Unlock()
}

// RelayStatus is one relay or recording, as the stats API shows it.
type RelayStatus struct {
	Kind      string    `json:"kind"`   // "push", "pull" or "record"
	Stream    string    `json:"stream"` // "/app/name"
	Target    string    `json:"target"` // the remote URL, or the file under the record directory
	State     string    `json:"state"`  // starting, connecting, waiting, active, retrying, recording, done
	Since     time.Time `json:"since"`
	Bytes     uint64    `json:"bytes"`
	Errors    uint64    `json:"errors"`
	Drops     uint64    `json:"drops"`
	LastError string    `json:"lastError,omitempty"`
}

func (c *relayCounters) status() RelayStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return RelayStatus{Kind: c.kind, Stream: c.stream, Target: c.target, State: c.state, Since: c.since,
		Bytes: c.bytes.Load(), Errors: c.errors.Load(), Drops: c.drops.Load(), LastError: c.lastErr}
}

// status returns every push relay, edge pull and recording, sorted by
// stream then kind (for /api/v1/relays).
func (rl *relays) status() []RelayStatus {
	rl.mu.Lock()
	out := make([]RelayStatus, 0, len(rl.all))
	for c := range rl.all {
		out = append(out, c.status())
	}
	rl.mu.Unlock()
	slices.SortFunc(out, func(a, b RelayStatus) int {
		return strings.Compare(a.Stream+" "+a.Kind+" "+a.Target, b.Stream+" "+b.Kind+" "+b.Target)
	})
	return out
}

// isRecording reports whether app/name is being recorded.
func (rl *relays) isRecording(app, name string) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.recs[streamPath(app, name)] != nil
}

// session is the sessionInfo of a relay: it carries the player's byte
// counts and the publisher's identity, and is not listed among sessions.
func (rl *relays) session(kind, remote string) *sessionInfo {
	return &sessionInfo{ID: newSessionID(kind, rl.nextID.Add(1)), Protocol: "rtmp",
		RemoteAddr: remote, Started: time.Now(), closeFn: func() {}}
}

// player is a hub player on st that hands its frames to out (a
// recorder's file, a push relay's client).
func (rl *relays) player(st *Stream, sess *sessionInfo, out sink) *player {
	p := newSinkPlayer(rl.hub, sess, out)
	p.stream = st
	p.startFn = func(*headerSet, bool) error { return nil }
	return p
}

// relayDialContext bounds a relay's dial, handshake and publish or play
// by relayDialTimeout, and cancels them early when halt closes.
func relayDialContext(halt <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), relayDialTimeout)
	go func() {
		select {
		case <-halt:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// ---------------------------------------------------------------------------
// Push relay

// pushRelay forwards one publication to one remote server while it lasts.
type pushRelay struct {
	rl     *relays
	stream *Stream
	ring   *gopRing
	url    string
	log    *slog.Logger
	relayCounters
}

// startPush starts forwarding ring's publication to base.
func (rl *relays) startPush(st *Stream, ring *gopRing, base string) {
	target, err := relayURL(base, st.App, st.Name)
	if err != nil {
		rl.log.Warn("push: bad target", "stream", st.Path, "err", err)
		return
	}
	if !rl.conns.begin() {
		return
	}
	pr := &pushRelay{rl: rl, stream: st, ring: ring, url: target,
		log:           rl.log.With("relay", relayKindPush, "stream", st.Path, "target", target),
		relayCounters: newRelayCounters(relayKindPush, st.Path, target)}
	rl.add(&pr.relayCounters)
	go pr.run()
}

// run connects, forwards, and reconnects with backoff until the
// publication ends or the server closes.
func (pr *pushRelay) run() {
	defer pr.rl.conns.end()
	defer pr.rl.remove(&pr.relayCounters)
	var backoff relayBackoff
	for first := true; ; first = false {
		start := time.Now()
		err := pr.once(first)
		if pr.ended() {
			pr.log.Info("push ended")
			return
		}
		wait := backoff.next(start)
		if err != nil {
			pr.fail(err)
			pr.log.Info("push failed, retrying", "err", err, "in", wait)
		}
		pr.setState("retrying")
		if !pr.sleep(wait) {
			return
		}
	}
}

// relayBackoff is a relay's delay before it reconnects: doubling from
// relayMinBackoff up to relayMaxBackoff, and back to the minimum after a
// connection that lasted relayStableAfter.
type relayBackoff struct{ d time.Duration }

// next returns the delay after an attempt that began at start.
func (b *relayBackoff) next(start time.Time) time.Duration {
	if b.d == 0 || time.Since(start) > relayStableAfter {
		b.d = relayMinBackoff
	}
	d := b.d
	b.d = min(2*b.d, relayMaxBackoff)
	return d
}

func (pr *pushRelay) ended() bool {
	select {
	case <-pr.rl.conns.stopping():
		return true
	default:
		return pr.ring.ended()
	}
}

// sleep waits d; false if the publication ended or the server closed.
func (pr *pushRelay) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		ring, changed := pr.stream.current()
		if ring != pr.ring {
			return false
		}
		select {
		case <-t.C:
			return true
		case <-changed:
		case <-pr.rl.conns.stopping():
			return false
		}
	}
}

// once is one connection: dial, publish, then play the ring into it from
// its newest keyframe (with metadata and sequence headers) until the
// publication ends or the connection fails.
func (pr *pushRelay) once(first bool) error {
	pr.setState("connecting")
	ctx, cancel := relayDialContext(pr.rl.conns.stopping())
	defer cancel()
	c, err := DialRTMP(ctx, pr.url)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Publish(ctx); err != nil {
		return err
	}
	pr.setState("active")
	pr.log.Info("push connected")
	sent := uint64(0)
	p := pr.rl.player(pr.stream, pr.rl.session(relayKindPush, pr.url), pr.sendTo(c, &sent))
	readErr := make(chan error, 1)
	go func() { readErr <- drainClient(c); p.stop() }()
	stopWait := pr.rl.whenStopping(p.done, p.stop)
	// the first connection forwards the publication from its start; a
	// retry joins at the newest keyframe
	if !first {
		p.joinNow(pr.ring)
	}
	err = p.playRing(pr.ring, startFirst)
	p.stop()
	stopWait()
	c.Close()
	rerr := <-readErr
	pr.drops.Add(p.drops.Load())
	if errors.Is(err, ErrPlayerClosed) && !pr.ended() {
		return fmt.Errorf("push connection lost after %d bytes: %w", sent, rerr)
	}
	return err
}

// drainClient reads (and so answers pings and acknowledges) until the
// connection fails; a status of level "error" ends it too.
func drainClient(c *Client) error {
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if st, ok := StatusOf(m); ok && st.Level == "error" {
			return &st
		}
	}
}

// setDataFrame is the AMF0 string "@setDataFrame" that encoders put
// before onMetaData so that the server keeps it for late joiners.
var setDataFrame = []byte{0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e'}

// sendTo is the push's sink: every frame through c, under the write
// timeout (the deadline renewed at most once a second: timers are not
// free), its payload bytes counted in sent.
func (pr *pushRelay) sendTo(c *Client, sent *uint64) frameSink {
	timeout := pr.rl.cfg.WriteTimeout.Duration
	var renewed time.Time
	return func(f *Frame) error {
		if now := time.Now(); now.Sub(renewed) > time.Second {
			c.SetWriteDeadline(now.Add(timeout))
			renewed = now
		}
		*sent += uint64(len(f.Payload))
		pr.bytes.Add(uint64(len(f.Payload)))
		return pushFrame(c, f)
	}
}

// pushFrame sends one frame as the RTMP message of the same type (RTMP
// message types 8, 9 and 18 are the FLV tag types); onMetaData goes out
// the way an encoder sends it.
func pushFrame(c *Client, f *Frame) error {
	switch f.Type {
	case TagAudio:
		return c.WriteMedia(MsgAudio, f.Timestamp, f.Payload)
	case TagVideo:
		return c.WriteMedia(MsgVideo, f.Timestamp, f.Payload)
	case TagScript:
		if v, _, err := DecodeAMF0(f.Payload); err == nil && v == "onMetaData" {
			b := append(append(make([]byte, 0, len(setDataFrame)+len(f.Payload)), setDataFrame...), f.Payload...)
			return c.WriteMedia(MsgDataAMF0, f.Timestamp, b)
		}
		return c.WriteMedia(MsgDataAMF0, f.Timestamp, f.Payload)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Edge pull

// edgePull plays one stream from the origin and publishes it locally while
// the edge has players for it.
type edgePull struct {
	rl        *relays
	app, name string
	url       string
	sess      *sessionInfo
	log       *slog.Logger
	relayCounters

	done     chan struct{} // closed by halt
	haltOnce sync.Once
	read     uint64 // bytes read by earlier connections (run goroutine)

	mu     sync.Mutex
	client *Client
	stream *Stream
	ring   *gopRing // the local publication, nil between publications
}

// ensurePull starts the pull of st from origin unless st has a publisher
// or a pull already runs: however many players arrive at once, one pull.
func (rl *relays) ensurePull(st *Stream, origin string) {
	if ring, _ := st.current(); ring != nil {
		return
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.pulls[st.Path] != nil {
		return
	}
	src, err := relayURL(origin, st.App, st.Name)
	if err != nil {
		rl.log.Warn("pull: bad origin", "stream", st.Path, "err", err)
		return
	}
	if !rl.conns.begin() {
		return
	}
	pl := &edgePull{rl: rl, app: st.App, name: st.Name, url: src, done: make(chan struct{}),
		sess:          rl.session(relayKindPull, src),
		log:           rl.log.With("relay", relayKindPull, "stream", st.Path, "origin", src),
		relayCounters: newRelayCounters(relayKindPull, st.Path, src)}
	rl.pulls[st.Path] = pl
	rl.all[&pl.relayCounters] = struct{}{}
	go pl.run()
}

func (pl *edgePull) run() {
	defer pl.rl.conns.end()
	idle := make(chan struct{})
	go func() { defer close(idle); pl.watchIdle() }()
	var backoff relayBackoff
	for !pl.halted() {
		start := time.Now()
		err := pl.once()
		pl.endLocal()
		if pl.halted() {
			break
		}
		if errors.Is(err, ErrStreamBusy) {
			pl.log.Info("pull stopped: the stream has a local publisher")
			pl.halt()
			break
		}
		wait := backoff.next(start)
		pl.fail(err)
		pl.log.Info("pull failed, retrying", "err", err, "in", wait)
		pl.setState("retrying")
		if !pl.sleep(wait) {
			break
		}
	}
	pl.halt()
	<-idle
	pl.log.Info("pull ended")
}

func (pl *edgePull) halted() bool {
	select {
	case <-pl.done:
		return true
	default:
		return false
	}
}

func (pl *edgePull) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-pl.done:
		return false
	}
}

// halt stops the pull for good: it leaves the registry (a new player
// starts a new pull), ends the local publication and the connection.
func (pl *edgePull) halt() {
	pl.haltOnce.Do(func() {
		rl := pl.rl
		rl.mu.Lock()
		if rl.pulls[pl.relayCounters.stream] == pl {
			delete(rl.pulls, pl.relayCounters.stream)
		}
		delete(rl.all, &pl.relayCounters)
		close(pl.done)
		pl.endLocal()
		rl.mu.Unlock()
		pl.mu.Lock()
		c := pl.client
		pl.mu.Unlock()
		if c != nil {
			c.Close()
		}
	})
}

// watchIdle halts the pull once no local player has been left for the
// grace period, or when the server closes. The check and the removal
// from the registry happen under the registry lock, and players register
// with the hub before they look for a pull, so none is left without one.
func (pl *edgePull) watchIdle() {
	grace := pl.rl.cfg.EdgeGrace.Duration
	tick := time.NewTicker(min(max(grace/4, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-pl.done:
			return
		case <-pl.rl.conns.stopping():
			pl.halt()
			return
		case now := <-tick.C:
			if pl.rl.localPlayers(pl.app, pl.name) > 0 {
				last = now
			} else if now.Sub(last) >= grace {
				pl.log.Info("pull idle: no local player left")
				pl.halt()
				return
			}
		}
	}
}

// localPlayers counts the players of app/name on this server.
func (rl *relays) localPlayers(app, name string) int {
	st := rl.hub.lookup(app, name)
	if st == nil {
		return 0
	}
	return st.playerCount()
}

// once is one upstream connection: dial, play, then publish what arrives.
func (pl *edgePull) once() error {
	pl.setState("connecting")
	ctx, cancel := relayDialContext(pl.done)
	defer cancel()
	c, err := DialRTMP(ctx, pl.url)
	if err != nil {
		return err
	}
	defer c.Close()
	if !pl.setClient(c) {
		return errRelayStopped
	}
	if err := c.Play(ctx); err != nil {
		return err
	}
	cancel()
	pl.setState("waiting")
	pl.log.Info("pull connected")
	return pl.relay(c)
}

func (pl *edgePull) setClient(c *Client) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.halted() {
		return false
	}
	pl.client = c
	return true
}

// relay reads the origin's messages into the local publication. A read
// that waits longer than -idle-timeout drops the connection (and retries).
func (pl *edgePull) relay(c *Client) error {
	c.SetIdleTimeout(pl.rl.cfg.IdleTimeout.Duration)
	var counted uint64
	defer func() { pl.read += counted }()
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return err
		}
		n := c.BytesRead()
		pl.rl.hub.inBytes.Add(n - counted)
		counted = n
		pl.bytes.Store(pl.read + n)
		pl.sess.inBytes.Store(pl.read + n)
		if err := pl.handle(m); err != nil {
			return err
		}
	}
}

// handle turns one message from the origin into a frame of the local
// publication, or ends the publication on UnpublishNotify.
func (pl *edgePull) handle(m Message) error {
	switch m.Type {
	case MsgAudio, MsgVideo, MsgDataAMF0, MsgDataAMF3:
		// the session's path from a message to a frame (session.go)
		f, err := messageFrame(&m, pl.log)
		if err != nil {
			return fmt.Errorf("pull: %w", err)
		}
		if f == nil {
			return nil
		}
		return pl.append(f)
	case MsgCommandAMF0, MsgCommandAMF3:
		st, ok := StatusOf(m)
		switch {
		case !ok:
		case st.Code == "NetStream.Play.UnpublishNotify":
			pl.endLocal()
		case st.Level == "error":
			return &st
		}
	}
	return nil
}

// append adds f to the local publication, starting one if there is none.
func (pl *edgePull) append(f *Frame) error {
	pl.mu.Lock()
	st, ring := pl.stream, pl.ring
	pl.mu.Unlock()
	if ring == nil {
		var err error
		if st, ring, err = pl.publish(); err != nil {
			return err
		}
	}
	st.append(ring, f)
	return nil
}

// publish makes the pull the local publisher of its stream.
func (pl *edgePull) publish() (*Stream, *gopRing, error) {
	st, ring, err := pl.rl.hub.publish(pl.app, pl.name, pl.sess)
	if err != nil {
		return nil, nil, err
	}
	pl.mu.Lock()
	if pl.halted() {
		pl.mu.Unlock()
		st.unpublish(ring)
		return nil, nil, errRelayStopped
	}
	pl.stream, pl.ring = st, ring
	pl.mu.Unlock()
	pl.setState("active")
	pl.log.Info("pull publishing locally")
	pl.rl.publishStarted(st, ring)
	return st, ring, nil
}

// endLocal ends the local publication, if any.
func (pl *edgePull) endLocal() {
	pl.mu.Lock()
	st, ring := pl.stream, pl.ring
	pl.stream, pl.ring = nil, nil
	pl.mu.Unlock()
	if ring != nil {
		st.unpublish(ring)
	}
}
