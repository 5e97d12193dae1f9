// The hub: live streams by path ("/app/name"), each with at most one
// publisher, its GOP ring (gop.go) and its players. Players of every
// protocol run the same loop, player.life, over the same ring and the same
// encoded bytes; only the bytes they pick (Frame.appendWire) and the
// protocol's start/end messages differ. A player that has caught up is
// written by the publication's fan-out workers (fanout, up to one per CPU) with
// one non-blocking gathered write per batch, as an event loop would, so that a
// frame costs no goroutine wake-up per player; its own goroutine takes
// over again for anything that may wait (a full socket, a slow player).
//
// What holds here: a frame is encoded once (the loop only picks ready
// bytes); the publisher never waits (append never blocks on a player; a
// player that falls off the ring or past -max-lag skips to the newest
// keyframe; a stalled socket hits the write timeout); a late joiner
// starts clean (headers, then the cached GOP from its keyframe); a stream
// has one publisher.
package main

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors for control flow between sessions and the hub.
var (
	// ErrStreamBusy: the stream already has a publisher (answered with
	// NetStream.Publish.BadName; nothing the second publisher sends is used).
	ErrStreamBusy = errors.New("stream already has a publisher")
	// ErrPlayerClosed: the player was stopped (connection closed, kicked,
	// deleteStream) while it waited or played.
	ErrPlayerClosed = errors.New("player closed")
	// ErrNoPublisher: a player gave up waiting for a publisher.
	ErrNoPublisher = errors.New("no publisher")
	// ErrServerClosing: the server is draining (Server.Shutdown): no new
	// publication, and players end with the one they play.
	ErrServerClosing = errors.New("server shutting down")
)

// Hub holds every live stream and every session, for fan-out and stats.
type Hub struct {
	cfg *Config

	mu       sync.Mutex
	streams  map[string]*Stream
	sessions map[string]*sessionInfo
	nextID   atomic.Uint64

	closing   chan struct{} // closed when the server starts to drain
	closeOnce sync.Once

	started  time.Time
	inBytes  atomic.Uint64 // all bytes read from publishers' sockets
	outBytes atomic.Uint64 // all bytes written to players' sockets
}

func newHub(cfg *Config) *Hub {
	return &Hub{
		cfg:      cfg,
		streams:  make(map[string]*Stream),
		sessions: make(map[string]*sessionInfo),
		closing:  make(chan struct{}),
		started:  time.Now(),
	}
}

// sessionInfo is what the API shows of a connection, and how to kick it.
type sessionInfo struct {
	ID         string
	Protocol   string // "rtmp", "flv", "ws"
	RemoteAddr string
	Started    time.Time
	closeFn    func()

	mu        sync.Mutex
	app, name string
	publisher bool

	inBytes  atomic.Uint64
	outBytes atomic.Uint64
	conn     *countingConn // the socket's byte counters (stats.go), nil if not a counted socket

	playerOut atomic.Pointer[atomic.Uint64] // the live socket player's own count (wireSink.sent), or nil
}

func (s *sessionInfo) setStream(app, name string, publisher bool) {
	s.mu.Lock()
	s.app, s.name, s.publisher = app, name, publisher
	s.mu.Unlock()
}

func (s *sessionInfo) stream() (app, name string, publisher bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app, s.name, s.publisher
}

// newSession registers a connection; remove it with endSession.
func (h *Hub) newSession(proto string, c net.Conn, closeFn func()) *sessionInfo {
	return h.newSessionAs(h.sessionID(proto), proto, c, closeFn)
}

// sessionID hands out the id of a session that starts later (an HTTP or
// WS player is authorized, hooks included, before its session exists).
func (h *Hub) sessionID(proto string) string { return newSessionID(proto, h.nextID.Add(1)) }

// newSessionAs is newSession with an id from sessionID.
func (h *Hub) newSessionAs(id, proto string, c net.Conn, closeFn func()) *sessionInfo {
	s := &sessionInfo{
		ID:         id,
		Protocol:   proto,
		RemoteAddr: c.RemoteAddr().String(),
		Started:    time.Now(),
		closeFn:    closeFn,
		conn:       countingOf(c),
	}
	if s.conn != nil {
		s.conn.attach(h) // its bytes count in the network totals from now on
	}
	h.mu.Lock()
	h.sessions[s.ID] = s
	h.mu.Unlock()
	return s
}

func newSessionID(proto string, n uint64) string {
	const digits = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b [8]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[n%uint64(len(digits))]
		n /= uint64(len(digits))
	}
	return strings.ToUpper(proto) + "-" + string(b[:])
}

// newDetachedSession registers session id (from sessionID) that has no
// connection of its own (an HLS viewer, whose requests come on any
// connection; a player on an HTTP/2 stream, which shares its connection);
// its bytes are counted by whoever serves it, in outCounter.
func (h *Hub) newDetachedSession(id, proto, remote string, closeFn func()) *sessionInfo {
	s := &sessionInfo{ID: id, Protocol: proto,
		RemoteAddr: remote, Started: time.Now(), closeFn: closeFn}
	h.mu.Lock()
	h.sessions[s.ID] = s
	h.mu.Unlock()
	return s
}

func (h *Hub) endSession(s *sessionInfo) {
	h.mu.Lock()
	delete(h.sessions, s.ID)
	h.mu.Unlock()
}

// kick closes the connection of session id; false if there is none. The
// players of a kicked publisher wait for the next one, as when it leaves,
// unless -kick-ends-players.
func (h *Hub) kick(id string) bool {
	h.mu.Lock()
	s := h.sessions[id]
	h.mu.Unlock()
	if s == nil {
		return false
	}
	app, name, publisher := s.stream()
	s.closeFn()
	if publisher && h.cfg.KickEndsPlayers {
		h.closePlayers(app, name)
	}
	return true
}

// drain starts the hub's part of a graceful shutdown: no publish from now
// on, players end after the publication they play (ErrServerClosing), and
// every session that is not a player (publishers, connections that do
// not play yet) is closed, so each publication ends and its players are
// told as when a publisher leaves.
func (h *Hub) drain() {
	h.closeOnce.Do(func() { close(h.closing) })
	for _, s := range h.sessionList() {
		if app, _, pub := s.stream(); pub || app == "" {
			s.closeFn()
		}
	}
}

// closingErr is ErrServerClosing once the hub drains, else nil.
func (h *Hub) closingErr() error {
	select {
	case <-h.closing:
		return ErrServerClosing
	default:
		return nil
	}
}

// Stream is one "/app/name": its current publication and its players.
type Stream struct {
	hub       *Hub
	Path      string
	App, Name string

	mu      sync.Mutex
	ring    *gopRing      // current publication, nil when none
	pub     *sessionInfo  // its publisher
	changed chan struct{} // closed and replaced when ring changes
	players map[*player]struct{}
	pubAt   time.Time
	keepers int // holders that keep the stream between publications (keepStream)

	// the timeline across publications (pubchange.go)
	clock *pubClock                // the current publication's
	last  handoff                  // where the last ended one stopped
	live  atomic.Pointer[pubClock] // clock, for the media path

	// publication counters, reset per publish
	videoFrames atomic.Uint64
	audioFrames atomic.Uint64
	drops       atomic.Uint64 // keyframe skips of slow players, whole life
}

func streamPath(app, name string) string { return "/" + app + "/" + name }

// streamLocked returns the stream for app/name, creating it. h.mu held.
func (h *Hub) streamLocked(app, name string) *Stream {
	path := streamPath(app, name)
	s := h.streams[path]
	if s == nil {
		s = &Stream{hub: h, Path: path, App: app, Name: name,
			changed: make(chan struct{}), players: make(map[*player]struct{})}
		h.streams[path] = s
	}
	return s
}

// keepStream returns the stream app/name (creating it) and keeps it in
// the hub, with or without a publisher, until letGo: a consumer that
// outlives publications (an HLS muxer) holds it this way.
func (h *Hub) keepStream(app, name string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.streamLocked(app, name)
	s.mu.Lock()
	s.keepers++
	s.mu.Unlock()
	return s
}

// letGo undoes one keepStream.
func (s *Stream) letGo() {
	s.mu.Lock()
	s.keepers--
	s.mu.Unlock()
	s.hub.collect(s)
}

// lookup returns the stream at path or nil.
func (h *Hub) lookup(app, name string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[streamPath(app, name)]
}

// publish makes pub the publisher of app/name and returns the new ring.
// It fails with ErrStreamBusy, before anything of pub's reaches the
// stream, if the stream already has a publisher (relays use it).
func (h *Hub) publish(app, name string, pub *sessionInfo) (*Stream, *gopRing, error) {
	s, ring, _, err := h.publishOver(app, name, pub, false)
	return s, ring, err
}

// newRing makes a publication's ring, with the start window HLS needs
// (gopRing.keepStart): hlsStartSegments segments and half a segment more.
func (h *Hub) newRing() *gopRing {
	r := newGOPRing()
	seg := h.cfg.HLSSegment.Duration
	r.keepStart(time.Duration(min(hlsStartSegments, h.cfg.HLSSegments))*seg + seg/2)
	return r
}

// publishOver is publish for a publisher that may take the stream over
// from the current one, as -takeover allows (pubchange.go). It returns
// the session it replaced, if any, already being closed.
func (h *Hub) publishOver(app, name string, pub *sessionInfo, takeover bool) (*Stream, *gopRing, *sessionInfo, error) {
	h.mu.Lock()
	s := h.streamLocked(app, name)
	h.mu.Unlock()
	ring := h.newRing()
	old, err := s.startPublication(pub, takeover, ring, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if old != nil {
		old.closeFn()
	}
	pub.setStream(app, name, true)
	return s, ring, old, nil
}

// startPublication makes ring, published by pub, the publication of s,
// ending (and returning the publisher of) the current one when takeover
// allows it. clock is ring's timeline when it was made before (nil: a
// new one).
func (s *Stream) startPublication(pub *sessionInfo, takeover bool, ring *gopRing, clock *pubClock) (*sessionInfo, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.hub.closingErr(); err != nil {
		return nil, err
	}
	if ring.ended() { // a reserved one whose publisher left (pubchange.go)
		return nil, errReservationGone
	}
	var old *sessionInfo
	if s.ring != nil {
		if !takeover {
			return nil, ErrStreamBusy
		}
		var err error
		if old, err = s.takeoverVictimLocked(s.hub.cfg, now); err != nil {
			return nil, err
		}
	}
	if clock == nil {
		clock = s.newClockLocked(ring, now, s.hub.cfg.PlayWait.Duration)
	}
	s.ring, s.pub, s.pubAt = ring, pub, now
	s.ring.setFanOut(newFanout(s.hub, s.ring, s.hub.cfg.WriteDelay.Duration, s.hub.cfg.MergeWhenBusy))
	s.clock, s.last = clock, handoff{}
	s.live.Store(clock)
	s.videoFrames.Store(0)
	s.audioFrames.Store(0)
	s.notifyLocked()
	return old, nil
}

// unpublish ends ring's publication (a no-op if it is not current).
func (s *Stream) unpublish(ring *gopRing) {
	ring.close()
	s.mu.Lock()
	s.endedLocked(ring, time.Now())
	s.mu.Unlock()
	s.hub.collect(s)
}

func (s *Stream) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// collect forgets s once it has neither a publisher nor players.
func (h *Hub) collect(s *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ring == nil && len(s.players) == 0 && s.keepers == 0 && h.streams[s.Path] == s {
		delete(h.streams, s.Path)
	}
}

// addPlayer attaches p to app/name (creating the stream: players may wait
// for a publisher).
func (h *Hub) addPlayer(app, name string, p *player) *Stream {
	h.mu.Lock()
	s := h.streamLocked(app, name)
	s.mu.Lock()
	s.players[p] = struct{}{}
	if s.ring != nil {
		p.joinNow(s.ring)
	}
	s.mu.Unlock()
	h.mu.Unlock()
	p.stream = s
	return s
}

func (s *Stream) removePlayer(p *player) {
	s.mu.Lock()
	delete(s.players, p)
	s.mu.Unlock()
	s.hub.collect(s)
}

// current returns the live ring (nil if none) and the channel that closes
// when that changes.
func (s *Stream) current() (*gopRing, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring, s.changed
}

// publication returns the live ring and its publisher (nils if none).
func (s *Stream) publication() (*gopRing, *sessionInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring, s.pub
}

// playerList returns the stream's players, in no order.
func (s *Stream) playerList() []*player {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := make([]*player, 0, len(s.players))
	for p := range s.players {
		ps = append(ps, p)
	}
	return ps
}

// playerCount counts the stream's players, and the holders that keep it
// for players of their own (an HLS muxer, keepStream).
func (s *Stream) playerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.players) + s.keepers
}

// waitRing waits until the stream has a publication other than prev.
func (s *Stream) waitRing(prev *gopRing, done <-chan struct{}, timeout time.Duration) (*gopRing, error) {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		ring, changed := s.current()
		if ring != nil && ring != prev {
			return ring, nil
		}
		select {
		case <-changed:
		case <-done:
			return nil, ErrPlayerClosed
		case <-s.hub.closing:
			return nil, ErrServerClosing
		case <-expire:
			return nil, ErrNoPublisher
		}
	}
}

// append classifies nothing; it counts and appends a publisher's frame.
func (s *Stream) append(ring *gopRing, f *Frame) {
	switch {
	case f.Type == TagVideo && f.Info.Flags&(FlagSeqHeader|FlagConfig|FlagSeqEnd|FlagCommand) == 0:
		s.videoFrames.Add(1)
		s.noteMedia(ring)
	case f.Type == TagAudio && f.Info.Flags&(FlagSeqHeader|FlagConfig|FlagSeqEnd) == 0:
		s.audioFrames.Add(1)
		s.noteMedia(ring)
	}
	ring.append(f)
}

// maxBatch caps the frames one write carries. A joining player's GOP
// burst (60 frames at 30 fps, 2 s GOP) takes two writes.
const maxBatch = 32

// player is one subscriber of one stream: a socket of any protocol, a
// recording or a push relay, each with its sink (sink.go). Its goroutine
// runs run: start messages, headers, catching up, slow phases; its state
// is that goroutine's. A socket player that has caught up is handed to
// the publication's fan-out (fanout.go), which writes new frames to it
// without waking a goroutine; the player's goroutine then ends, and the
// fan-out's hand-back, with the cursor (a short write, an error, a
// filter), or stop starts another (play, resume). The connection's read
// side only watches for the close, without a goroutine while nothing
// comes (readypoll_linux.go).
type player struct {
	hub    *Hub
	stream *Stream
	sess   *sessionInfo
	out    sink
	wire   *wireSink // out, for a socket player (nil: recorder, push)

	done     chan struct{} // closed by stop
	stopOnce sync.Once

	// startFn is called when the player starts on a publication, before
	// the headers are written (RTMP: StreamBegin, PublishNotify; FLV: the
	// file header). endFn is called when the publication ends and no other
	// has replaced it (pubchange.go: nextStart); a nil endFn ends the
	// player with the publication (push relays, recordings).
	startFn func(h *headerSet, republish bool) error
	endFn   func() error
	rewait  time.Duration // how long to wait for the next publication after one ended (0: for ever)
	arrival arrival       // where the player joined the publication live when it attached

	noAudio, noVideo, paused atomic.Bool
	drops                    atomic.Uint64
	lagMs                    atomic.Int64

	// owned by the goroutine that runs the player (see play)
	cur     cursor
	scratch *batchBuf // nil while the fan-out has the player
	parked  *gopRing  // the publication it was parked on, for resume

	end     func(error)              // called once when the player ends (play)
	onPanic func(v any)              // a panic in one of its goroutines (play)
	shard   atomic.Pointer[fanShard] // the shard it last attached to
}

// batchBuf is the scratch of a goroutine that writes: a batch of frames
// and their buffers. Players borrow one only while their goroutine
// writes, so an idle or fanned-out player holds none.
type batchBuf struct {
	frames []*Frame
	picked []*Frame // the frames of a batch that are written
	bufs   [][]byte
}

// batchSlices sizes a scratch's buffer list: a batch of maxBatch frames of
// a 2.5 Mbit/s stream (two or three slices a frame) fits.
const batchSlices = 4 * maxBatch

var batchPool = sync.Pool{New: func() any {
	return &batchBuf{frames: make([]*Frame, 0, maxBatch), bufs: make([][]byte, 0, batchSlices)}
}}

// newPlayer makes a socket player of proto writing to c; lock serialises
// its writes with those of its session.
func newPlayer(h *Hub, sess *sessionInfo, proto wireProto, c playerConn, lock *writeLock) *player {
	ws := newWireSink(h, sess, proto, c, lock)
	p := newSinkPlayer(h, sess, ws)
	p.wire = ws
	return p
}

// newSinkPlayer makes a player that hands its frames to out.
func newSinkPlayer(h *Hub, sess *sessionInfo, out sink) *player {
	return &player{hub: h, sess: sess, out: out, done: make(chan struct{})}
}

// protocol is the wire form a socket player writes; a recorder or a push
// relay takes frames as FLV tags carry them.
func (p *player) protocol() wireProto {
	if p.wire == nil {
		return protoFLV
	}
	return p.wire.proto
}

// stop ends the player. One parked in the fan-out has no goroutine to see
// done: stop takes it out of its shard and resumes it to end.
func (p *player) stop() {
	p.stopOnce.Do(func() {
		close(p.done)
		if sh := p.shard.Load(); sh != nil {
			if s, ok := sh.detach(p); ok {
				p.resume(handBack{seq: s.seq, hdrs: s.hdrs, err: ErrPlayerClosed})
			}
		}
	})
}

// borrow takes a scratch batch for the goroutine; giveBack returns it.
func (p *player) borrow() {
	if p.scratch == nil {
		p.scratch = batchPool.Get().(*batchBuf)
	}
}

func (p *player) giveBack() {
	if p.scratch != nil {
		clear(p.scratch.bufs[:cap(p.scratch.bufs)])
		clear(p.scratch.frames[:cap(p.scratch.frames)])
		batchPool.Put(p.scratch)
		p.scratch = nil
	}
}

// run plays publications of the stream until the player stops, and
// returns why it stopped. firstWait bounds the wait for the first
// publisher (0: forever).
func (p *player) run(firstWait time.Duration) error {
	ended := make(chan error, 1)
	p.play(firstWait, func(err error) { ended <- err }, nil)
	return <-ended
}

// errPlayerPanicked ends a player whose goroutine panicked (the panic
// is logged by onPanic).
var errPlayerPanicked = errors.New("player panicked")

// errParked: the player went to the fan-out and its goroutine ends; the
// fan-out's hand-back (or stop) starts another one (resume).
var errParked = errors.New("parked in the fan-out")

// play runs the player (as run does) in goroutines of its own and calls
// end with the reason once it has stopped. A caught-up socket player
// holds no goroutine at all: its goroutine ends when the fan-out takes
// it (idle) and a new one starts when the fan-out hands it back. A
// parked goroutine costs its stack (4 KB, as the runtime sizes new
// stacks from the average), about a third of what a player holds.
// onPanic, if not nil, is told of a panic in one of them, and the
// player then ends (end is called).
func (p *player) play(firstWait time.Duration, end func(error), onPanic func(any)) {
	p.end, p.onPanic = end, onPanic
	go p.live(func() error { return p.life(nil, firstWait) })
}

// resume gives the player back to a goroutine of its own, at the cursor
// of hb, where the fan-out stopped: it finishes the frame the fan-out's
// write stopped in and goes on from there.
func (p *player) resume(hb handBack) {
	go p.live(func() error {
		p.borrow()
		p.cur.seq, p.cur.lastHdrs = hb.seq, hb.hdrs
		if hb.err != nil {
			return hb.err
		}
		if err := p.wire.finish(); err != nil {
			return err
		}
		return p.life(p.parked, p.rewait)
	})
}

// live runs part of the player's life in this goroutine; unless it
// parked, the player has ended.
func (p *player) live(part func() error) {
	if p.onPanic != nil {
		defer func() {
			if v := recover(); v != nil {
				p.onPanic(v)
				p.end(fmt.Errorf("%w: %v", errPlayerPanicked, v)) // its owner closes the connection
			}
		}()
	}
	err := part()
	if errors.Is(err, errParked) {
		return
	}
	if p.wire != nil {
		p.wire.release(p.sess)
	}
	p.giveBack()
	p.end(err)
}

// life plays publications of the stream until the player stops (or
// parks). r, when not nil, is the publication a resumed player goes on
// with; wait bounds each wait for a publisher.
func (p *player) life(r *gopRing, wait time.Duration) error {
	var prev *gopRing
	for kind := startFirst; ; {
		fresh := r == nil
		if fresh {
			ring, err := p.stream.waitRing(prev, p.done, wait)
			if err != nil {
				return err
			}
			wait, r = p.rewait, ring
			if err := p.start(r, kind); err != nil {
				return err
			}
		}
		if err := p.follow(r, fresh); err != nil {
			return err
		}
		if p.endFn == nil {
			return p.hub.closingErr()
		}
		prev, kind, r = r, p.stream.nextStart(r), nil
		if kind == startHandover {
			continue // no end message: the stream goes on
		}
		if err := p.endFn(); err != nil {
			return err
		}
		if err := p.hub.closingErr(); err != nil {
			return err // told the publisher left; nothing more comes
		}
	}
}

// playRing sends one publication: start messages, headers, then frames
// from the start point until the publication ends.
func (p *player) playRing(r *gopRing, kind startKind) error {
	if err := p.start(r, kind); err != nil {
		return err
	}
	return p.follow(r, true)
}

// follow sends r's frames from the cursor on until the publication ends.
// fresh: the player has just started on r and sent no frame yet.
func (p *player) follow(r *gopRing, fresh bool) error {
	for {
		// a player behind never idles: it sees a stop here (a kicked
		// player on an HTTP/2 stream has no socket to close under it)
		select {
		case <-p.done:
			return ErrPlayerClosed
		default:
		}
		frames, _, wake, res := r.read(p.cur.seq, p.scratch.frames[:0], maxBatch)
		switch {
		case res == readClosed:
			return nil
		case res == readBehind && fresh:
			// a burst released the start point before the first read:
			// start again at the oldest keyframe held, losing only what
			// the ring no longer has (not a drop)
			if err := p.rewind(r); err != nil {
				return err
			}
			continue
		case res == readBehind || p.tooFarBehind(r, frames):
			clear(frames)
			if err := p.resync(r); err != nil {
				return err
			}
			continue
		case len(frames) == 0:
			if err := p.idle(r, wake); err != nil {
				return err
			}
			continue
		}
		sent, err := p.writeFrames(frames)
		clear(frames) // do not keep old frames alive through the batch
		if err != nil {
			return err
		}
		p.cur.seq += uint64(sent)
		fresh = fresh && sent == 0
	}
}

// start puts the player at its start point on r (waiting for a keyframe
// when there is none yet) and sends the start messages and the headers.
func (p *player) start(r *gopRing, kind startKind) error {
	seq, hdrs, key := p.arrival.startPoint(r)
	// an MP4 player starts at the keyframe before the newest, with its
	// headers (its init segment): a browser's progressive player gets a
	// GOP or two of buffer
	mp4 := p.protocol() == protoMP4 && kind != startHandover
	if key == nil || mp4 {
		if err := p.waitReady(r); err != nil {
			return err
		}
		switch {
		case kind == startHandover: // the stream goes on from its newest keyframe
			seq, hdrs, key = r.joinPoint()
		case kind == startAgain || !r.holds(seq): // a burst outran the wake-up
			seq, hdrs, key = r.oldestKey()
		case mp4:
			seq, hdrs, key = r.slackKey()
		}
	}
	p.borrow()
	if kind != startHandover {
		if err := p.startFn(r.headers(), kind == startAgain); err != nil {
			return err
		}
	}
	send := p.headersToSend(hdrs, kind)
	p.cur.join(seq, key)
	if err := p.writeHeaders(send, key, r.newestTimestamp()); err != nil {
		return err
	}
	p.cur.lastHdrs = hdrs
	return nil
}

// joinNow makes the player join r (live now) at its join point of this
// moment (see arrival). A player that never joins a publication this way
// plays it from its start.
func (p *player) joinNow(r *gopRing) { p.arrival.take(r) }

func (p *player) waitReady(r *gopRing) error {
	for {
		ok, wake := r.ready()
		if ok {
			return nil
		}
		select {
		case <-wake:
		case <-p.done:
			return ErrPlayerClosed
		}
	}
}

// idle is where a player that has sent everything up to the head waits
// for more: in the fan-out when it can (its goroutine then ends, with
// errParked, and resume starts another one when the fan-out hands it
// back), else on the ring's wake channel. Once attached, the player is
// the fan-out's: this goroutine touches it again only if it takes it
// out of the shard itself (stopped meanwhile).
func (p *player) idle(r *gopRing, wake <-chan struct{}) error {
	fo := r.fanOut()
	if fo == nil || p.wire == nil || !p.wire.direct || p.cur.needKey || p.filtering() || p.end == nil {
		return p.wait(wake)
	}
	p.lagMs.Store(0)
	p.parked = r
	p.giveBack()
	sh := fo.attach(p, p.cur)
	if sh == nil { // frames arrived meanwhile, or the ring closed
		p.borrow()
		return nil
	}
	p.shard.Store(sh) // before looking at done: see stop
	select {
	case <-p.done:
		if _, ok := sh.detach(p); ok {
			p.borrow()
			return ErrPlayerClosed
		}
	default:
	}
	return errParked
}

// wait blocks until the ring changes, then optionally lingers for
// -write-delay so that more frames go out in one write.
func (p *player) wait(wake <-chan struct{}) error {
	select {
	case <-wake:
	case <-p.done:
		return ErrPlayerClosed
	}
	if d := p.hub.cfg.WriteDelay.Duration; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.done:
			return ErrPlayerClosed
		}
	}
	return nil
}

// tooFarBehind applies the lag policy (cursor.tooFarBehind) to the
// frames read, and records the player's lag.
func (p *player) tooFarBehind(r *gopRing, frames []*Frame) bool {
	lag, measured, skip := p.cur.tooFarBehind(r, frames, p.hub.cfg.MaxLag.Duration.Milliseconds())
	if measured {
		p.lagMs.Store(lag)
	}
	return skip
}

// resync moves a player that fell behind to the newest keyframe, sending
// the headers of that point if they differ from what it last sent.
func (p *player) resync(r *gopRing) error {
	hdrs, key, resend := p.cur.resync(r)
	p.drops.Add(1)
	p.stream.drops.Add(1)
	if !resend {
		return nil
	}
	return p.writeHeaders(hdrs, key, r.newestTimestamp())
}

// rewind moves a player that has sent nothing of r yet to the oldest
// keyframe r holds, with the headers of that point.
func (p *player) rewind(r *gopRing) error {
	hdrs, key, resend := p.cur.rewind(r)
	if !resend {
		return nil
	}
	return p.writeHeaders(hdrs, key, r.newestTimestamp())
}

// writeHeaders sends the decoder headers h before the frames from key (nil:
// the player starts live, at about timestamp ts).
func (p *player) writeHeaders(h *headerSet, key *Frame, ts uint32) error {
	p.cur.lastHdrs = h
	return p.out.sendHeaders(h, key, ts, p.filtered, p.scratch)
}

// writeFrames sends a batch and returns how many of frames it has dealt
// with (sent, or skipped by the keyframe rule and the player's filters).
// Nothing here encodes or allocates. When the sink sends only part of the
// batch (sink.sendFrames), the rest is left to the next read of the ring;
// a player that was waiting for a keyframe, and found it among those,
// waits for it again.
func (p *player) writeFrames(frames []*Frame) (int, error) {
	picked := p.scratch.picked[:0]
	keyAt := -1 // where a player waiting for a keyframe found it
	for i, f := range frames {
		waiting := p.cur.needKey
		if p.cur.admit(f) && !p.filtered(f) {
			picked = append(picked, f)
		}
		if waiting && !p.cur.needKey {
			keyAt = i
		}
	}
	p.scratch.picked = picked[:0] // keep what append grew
	defer clear(picked)
	if len(picked) == 0 {
		return len(frames), nil
	}
	n, err := p.out.sendFrames(picked, p.scratch)
	if n == 0 {
		return 0, err
	}
	last := picked[n-1]
	p.cur.lastHdrs = last.headers
	if n == len(picked) {
		return len(frames), err
	}
	done := slices.Index(frames, last) + 1
	if keyAt >= done {
		p.cur.needKey = true // the keyframe is among the frames read again
	}
	return done, err
}

func (p *player) filtered(f *Frame) bool {
	switch f.Type {
	case TagAudio:
		return p.noAudio.Load() || p.paused.Load()
	case TagVideo:
		return p.noVideo.Load() || p.paused.Load()
	}
	return false
}

// filtering reports whether some media is muted or paused: such a player
// picks frames one by one in its goroutine, not in the fan-out.
func (p *player) filtering() bool {
	return p.noAudio.Load() || p.noVideo.Load() || p.paused.Load()
}

// writeBufs writes bufs (a socket player's start messages) under the
// connection's write lock.
func (p *player) writeBufs(bufs [][]byte) error { return p.wire.writeBufs(bufs) }
