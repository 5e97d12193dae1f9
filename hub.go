// The hub: live streams by path ("/app/name"), each with at most one
// publisher, its GOP ring (gop.go) and its players. Players of every
// protocol run the same loop, player.run, over the same ring and the same
// encoded bytes; only the bytes they pick (Frame.appendWire) and the
// protocol's start/end messages differ. A player that has caught up is
// written by the publication's fan-out workers (fanout, one per CPU) with
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
	"io"
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

	playerOut atomic.Pointer[atomic.Uint64] // the live player's own count (player.sent), or nil
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
	s := &sessionInfo{
		ID:         newSessionID(proto, h.nextID.Add(1)),
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

func (h *Hub) endSession(s *sessionInfo) {
	h.mu.Lock()
	delete(h.sessions, s.ID)
	h.mu.Unlock()
}

// kick closes the connection of session id; false if there is none.
func (h *Hub) kick(id string) bool {
	h.mu.Lock()
	s := h.sessions[id]
	h.mu.Unlock()
	if s == nil {
		return false
	}
	s.closeFn()
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

// lookup returns the stream at path or nil.
func (h *Hub) lookup(app, name string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[streamPath(app, name)]
}

// publish makes pub the publisher of app/name and returns the new ring.
// It fails with ErrStreamBusy, before anything of pub's reaches the
// stream, if the stream already has a publisher.
func (h *Hub) publish(app, name string, pub *sessionInfo) (*Stream, *gopRing, error) {
	h.mu.Lock()
	s := h.streamLocked(app, name)
	h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := h.closingErr(); err != nil {
		return nil, nil, err
	}
	if s.ring != nil {
		return nil, nil, ErrStreamBusy
	}
	s.ring, s.pub, s.pubAt = newGOPRing(), pub, time.Now()
	s.ring.fan = newFanout(h, s.ring, h.cfg.WriteDelay.Duration)
	s.videoFrames.Store(0)
	s.audioFrames.Store(0)
	s.notifyLocked()
	pub.setStream(app, name, true)
	return s, s.ring, nil
}

// unpublish ends ring's publication (a no-op if it is not current).
func (s *Stream) unpublish(ring *gopRing) {
	ring.close()
	s.mu.Lock()
	if s.ring == ring {
		s.ring, s.pub = nil, nil
		s.notifyLocked()
	}
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
	if s.ring == nil && len(s.players) == 0 && h.streams[s.Path] == s {
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
	p.attachedTo = s.ring
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

func (s *Stream) playerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.players)
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
	case f.Type == TagAudio && f.Info.Flags&(FlagSeqHeader|FlagConfig|FlagSeqEnd) == 0:
		s.audioFrames.Add(1)
	}
	ring.append(f)
}

// maxBatch caps the frames one write carries. A joining player's GOP
// burst (60 frames at 30 fps, 2 s GOP) takes two writes.
const maxBatch = 32

// player is one subscriber of one stream, of any protocol. Its goroutine
// runs run: start messages, headers, catching up, slow phases. A player
// that has caught up is handed to the stream's fan-out (fanout below),
// which writes new frames to it without waking its goroutine; the
// goroutine then sleeps until the fan-out hands it back (a short write,
// an error, a filter) or the player stops. The connection's reader
// goroutine only watches for the close.
type player struct {
	hub    *Hub
	stream *Stream
	sess   *sessionInfo
	proto  wireProto
	conn   playerConn
	wmu    *sync.Mutex // serialises writes with the session's own messages

	done     chan struct{} // closed by stop
	stopOnce sync.Once

	// startFn is called when the player starts on a publication, before
	// the headers are written (RTMP: StreamBegin, PublishNotify; FLV: the
	// file header). endFn is called when the publication ends; a nil endFn
	// ends the player with the publication (HTTP-FLV, WS-FLV).
	attachedTo *gopRing // the publication live when the player attached (nil: none)
	arrival    struct { // attachedTo's join point when the player attached
		seq  uint64
		hdrs *headerSet
		key  *Frame
	}

	startFn func(h *headerSet, republish bool) error
	endFn   func() error

	noAudio, noVideo, paused atomic.Bool
	drops                    atomic.Uint64
	lagMs                    atomic.Int64

	// sent counts the bytes written past the connection's own Write
	// (nbwrite_linux.go), here in the player, whose memory a write
	// touches anyway, not in the session's counters; the session reads it
	// while the player lives (sessionInfo.bytesOut) and takes it over when
	// it ends (player.release).
	sent atomic.Uint64

	// owned by the run goroutine (by the fan-out while attached)
	needKey      bool
	lastHdrs     *headerSet
	scratch      *batchBuf // nil while the fan-out has the player
	lastDeadline time.Time

	// fan-out fast path: nb is nil when the connection cannot take
	// non-blocking writes (TLS, files); kick hands the player back.
	nb      *nbWriter
	kick    chan struct{}
	cursor  uint64      // next frame to send, while attached
	pending net.Buffers // the unsent rest of a short fast write
	fastErr error       // the error that ended a fast write
}

// batchBuf is the scratch of a goroutine that writes: a batch of frames
// and their buffers. Players borrow one only while their goroutine
// writes, so an idle or fanned-out player holds none.
type batchBuf struct {
	frames []*Frame
	picked []*Frame // the frames of a batch that are written
	bufs   [][]byte
	iov    iovScratch
	flat   []byte // small slices gathered into one buffer, for writers without sendmsg
}

// batchSlices sizes a scratch's buffer list: a batch of maxBatch frames of
// a 2.5 Mbit/s stream (two or three slices a frame) fits.
const batchSlices = 4 * maxBatch

var batchPool = sync.Pool{New: func() any {
	return &batchBuf{frames: make([]*Frame, 0, maxBatch), bufs: make([][]byte, 0, batchSlices)}
}}

// playerConn is where a player writes: a socket, or a file for recording.
type playerConn interface {
	io.Writer
	SetWriteDeadline(time.Time) error
}

// playerSendBuffer caps a player socket's kernel send buffer (SO_SNDBUF;
// Linux doubles the value). A player that reads slowly then falls behind
// in the ring, where the slow-player policy sees it and skips it to the
// newest keyframe, instead of piling up to tcp_wmem's 4 MiB (13 s of a
// 2.5 Mbit/s stream) of kernel memory per socket out of the policy's
// sight.
const playerSendBuffer = 256 << 10

// capSendBuffer applies playerSendBuffer to the TCP socket under c
// (through the byte counter and TLS); other writers are left alone.
func capSendBuffer(c any) {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			v.SetWriteBuffer(playerSendBuffer)
			return
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return
		}
	}
}

func newPlayer(h *Hub, sess *sessionInfo, proto wireProto, c playerConn, wmu *sync.Mutex) *player {
	capSendBuffer(c)
	p := &player{hub: h, sess: sess, proto: proto, conn: c, wmu: wmu,
		done: make(chan struct{}),
		kick: make(chan struct{}, 1),
		nb:   newNBWriter(c, h.cfg.WriteTimeout.Duration),
	}
	sess.playerOut.Store(&p.sent)
	return p
}

// release hands the player's byte count over to its session, once it
// writes no more. (In between, a reader may count those bytes twice; it
// never counts fewer than were sent.)
func (p *player) release() {
	p.sess.outCounter().Add(p.sent.Load())
	p.sess.playerOut.CompareAndSwap(&p.sent, nil)
}

func (p *player) stop() { p.stopOnce.Do(func() { close(p.done) }) }

// countOut counts bytes written past the connection's own Write (the
// counted socket of stats.go does not see them). The hub's total is added
// by the caller: once per pass for the fan-out.
func (p *player) countOut(n int) {
	if n > 0 {
		p.sent.Add(uint64(n))
	}
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

// run plays publications of the stream until the player stops. firstWait
// bounds the wait for the first publisher (0: forever).
func (p *player) run(firstWait time.Duration) error {
	defer p.release()
	defer p.giveBack()
	var prev *gopRing
	for republish := false; ; republish = true {
		ring, err := p.stream.waitRing(prev, p.done, firstWait)
		if err != nil {
			return err
		}
		firstWait = 0
		if err := p.playRing(ring, republish); err != nil {
			return err
		}
		if p.endFn == nil {
			return p.hub.closingErr()
		}
		if err := p.endFn(); err != nil {
			return err
		}
		if err := p.hub.closingErr(); err != nil {
			return err // told the publisher left; nothing more comes
		}
		prev = ring
	}
}

// playRing sends one publication: start messages, headers, then frames
// from the start point until the publication ends.
func (p *player) playRing(r *gopRing, republish bool) error {
	cursor, hdrs, key := p.startPoint(r)
	if key == nil {
		if err := p.waitReady(r); err != nil {
			return err
		}
		if !r.holds(cursor) { // a burst outran the wake-up
			cursor, hdrs, key = r.oldestKey()
		}
	}
	p.borrow()
	if err := p.startFn(r.headers(), republish); err != nil {
		return err
	}
	p.needKey = key == nil
	if err := p.writeHeaders(hdrs, key, r.newestTimestamp()); err != nil {
		return err
	}
	for {
		frames, _, wake, res := r.read(cursor, p.scratch.frames[:0], maxBatch)
		switch {
		case res == readClosed:
			return nil
		case res == readBehind || p.tooFarBehind(r, frames, cursor):
			clear(frames)
			c, err := p.resync(r)
			if err != nil {
				return err
			}
			cursor = c
			continue
		case len(frames) == 0:
			c, err := p.idle(r, cursor, wake)
			if err != nil {
				return err
			}
			cursor = c
			continue
		}
		sent, err := p.writeFrames(frames)
		clear(frames) // do not keep old frames alive through the batch
		if err != nil {
			return err
		}
		cursor += uint64(sent)
	}
}

// joinNow makes the player join r (live now) at its join point of this
// moment, not of when the player's goroutine first runs: frames that come
// in between are its own. A player that never joins a publication this
// way plays it from its start (see startPoint).
func (p *player) joinNow(r *gopRing) {
	p.attachedTo = r
	p.arrival.seq, p.arrival.hdrs, p.arrival.key = r.joinPoint()
}

// startPoint is where the player starts on r. One that was there before
// the publication began plays it from its first frame (or the oldest GOP
// still held), however fast the first frames came; one that arrived
// during it starts at the join point of its arrival (the newest keyframe
// then, or, before the first keyframe, where it arrived: it waits there).
func (p *player) startPoint(r *gopRing) (uint64, *headerSet, *Frame) {
	switch {
	case r == p.attachedTo && p.arrival.hdrs != nil && r.holds(p.arrival.seq):
		return p.arrival.seq, p.arrival.hdrs, p.arrival.key
	case r == p.attachedTo:
		return r.joinPoint()
	case r.holds(0):
		return 0, &headerSet{}, nil
	}
	return r.oldestKey() // its first frames were released
}

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
// for more: in the fan-out when it can (its goroutine then sleeps until
// handed back), else on the ring's wake channel. It returns the cursor to
// continue from.
func (p *player) idle(r *gopRing, cursor uint64, wake <-chan struct{}) (uint64, error) {
	if r.fan == nil || p.nb == nil || p.needKey || p.filtering() {
		return cursor, p.wait(wake)
	}
	sh := r.fan.attach(p, cursor)
	if sh == nil { // frames arrived meanwhile, or the ring closed
		return cursor, nil
	}
	p.lagMs.Store(0)
	p.giveBack()
	select {
	case <-p.kick:
	case <-p.done:
		sh.detach(p)
		p.dropHandBack()
		return 0, ErrPlayerClosed
	}
	p.borrow()
	if p.fastErr != nil {
		return 0, p.fastErr
	}
	if len(p.pending) > 0 {
		// the fan-out kept the write lock: nothing may come between the
		// two parts of a message
		pending := append(p.scratch.bufs[:0], p.pending...)
		clear(p.pending)
		p.pending = p.pending[:0]
		err := p.writeLocked(pending)
		p.wmu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	return p.cursor, nil
}

// dropHandBack undoes a hand-back that raced with stop: after detach the
// fan-out cannot send another, so the kick (if any) is already queued.
func (p *player) dropHandBack() {
	select {
	case <-p.kick:
		if len(p.pending) > 0 {
			clear(p.pending)
			p.pending = p.pending[:0]
			p.wmu.Unlock()
		}
	default:
	}
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

// tooFarBehind reports whether the player's next frame is more than
// -max-lag older than the newest one and a newer keyframe exists to skip
// to. It records the player's lag. (The lag is measured to the head, not
// across the batch: a batch is capped at maxBatch frames, about a second.)
func (p *player) tooFarBehind(r *gopRing, frames []*Frame, cursor uint64) bool {
	first := firstMedia(frames)
	if first == nil {
		return false
	}
	lag := int64(int32(r.newestTimestamp() - first.Timestamp))
	p.lagMs.Store(lag)
	maxLag := p.hub.cfg.MaxLag.Duration.Milliseconds()
	if maxLag <= 0 || lag <= maxLag {
		return false
	}
	key, _, keyFrame := r.joinPoint()
	return keyFrame != nil && key > cursor
}

// firstMedia is the first audio or video frame of frames, or nil: data
// messages carry no stream time (onMetaData is stamped 0, session.go).
func firstMedia(frames []*Frame) *Frame {
	for _, f := range frames {
		if f.Type != TagScript {
			return f
		}
	}
	return nil
}

// resync moves a player that fell behind to the newest keyframe, sending
// the headers of that point if they differ from what it last sent.
func (p *player) resync(r *gopRing) (uint64, error) {
	cursor, hdrs, key := r.joinPoint()
	p.drops.Add(1)
	p.stream.drops.Add(1)
	p.needKey = key == nil
	if hdrs != p.lastHdrs {
		if err := p.writeHeaders(hdrs, key, r.newestTimestamp()); err != nil {
			return 0, err
		}
	}
	return cursor, nil
}

// writeHeaders sends the decoder headers h before the frames from key (nil:
// the player starts live, at about timestamp ts). RTMP players get them
// re-stamped with the join timestamp (Frame.joinHeaderChunks), shared per
// keyframe; only a join without a keyframe encodes its own, once.
func (p *player) writeHeaders(h *headerSet, key *Frame, ts uint32) error {
	p.lastHdrs = h
	if len(h.frames) == 0 {
		return nil
	}
	var rtmp [][]byte
	if p.proto == protoRTMP {
		if key != nil && key.headers == h {
			rtmp = key.joinHeaderChunks()
		} else {
			rtmp = restampHeaders(h, ts)
		}
	}
	bufs := p.scratch.bufs[:0]
	for i, f := range h.frames {
		switch {
		case p.filtered(f):
		case rtmp != nil:
			bufs = append(bufs, rtmp[i])
		default:
			bufs = f.appendWire(bufs, p.proto)
		}
	}
	return p.writeBufs(bufs)
}

// writeFrames writes a batch with one gathered write and returns how many
// of frames it has dealt with (sent, or skipped by the player's filters).
// Nothing here encodes or allocates.
//
// A socket that takes only part of the batch gets the rest of the frame
// it is in the middle of (a message cannot be cut short), with the
// goroutine sleeping until it does; the frames after it are dropped from
// the batch, and the next read of the ring decides about them, so that a
// slow player keeps at most one frame alive that the ring has let go, and
// its lag is checked again after every frame.
func (p *player) writeFrames(frames []*Frame) (int, error) {
	bufs, picked := p.scratch.bufs[:0], p.scratch.picked[:0]
	keyAt := -1 // where a player waiting for a keyframe found it
	for i, f := range frames {
		waiting := p.needKey
		if !p.skip(f) {
			bufs = f.appendWire(bufs, p.proto)
			picked = append(picked, f)
		}
		if waiting && !p.needKey {
			keyAt = i
		}
	}
	p.scratch.bufs, p.scratch.picked = bufs[:0], picked[:0] // keep what append grew
	defer clear(picked)
	if len(bufs) == 0 {
		return len(frames), nil
	}
	p.lastHdrs = picked[len(picked)-1].headers
	if p.nb == nil {
		return len(frames), p.writeBufs(bufs)
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	n, err := p.nb.try(bufs, &p.scratch.iov)
	p.countOut(n)
	p.hub.outBytes.Add(uint64(n))
	if !errors.Is(err, errWouldBlock) {
		return len(frames), err
	}
	k, off := splitAt(picked, p.proto, n)
	last := picked[k] // the frame to finish: everything after it waits for the ring
	done := slices.Index(frames, last) + 1
	if keyAt >= done {
		p.needKey = true // the keyframe is among the frames read again
	}
	p.lastHdrs = last.headers
	clear(bufs)
	return done, p.writeLocked(skipBytes(last.appendWire(bufs[:0], p.proto), off))
}

// splitAt finds where byte n of frames' wire forms falls: in frame k, off
// bytes into it. n is less than their total length.
func splitAt(frames []*Frame, proto wireProto, n int) (k, off int) {
	for k, f := range frames {
		l := f.wireLen(proto)
		if n < l {
			return k, n
		}
		n -= l
	}
	panic("splitAt: n past the end of the frames")
}

// skip reports whether f is not for this player: video before the first
// keyframe after a start without one, muted or paused media.
func (p *player) skip(f *Frame) bool {
	if p.needKey && f.Type == TagVideo && !f.isHeader() {
		if !f.isKey() {
			return true
		}
		p.needKey = false
	}
	return p.filtered(f)
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

// writeBufs writes bufs under the connection's write lock.
func (p *player) writeBufs(bufs [][]byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.writeLocked(bufs)
}

// writeLocked is writeBufs with the write lock already held. On a TCP
// socket it is one gathered write that may sleep while the socket is
// full, for as long as the socket keeps taking data (nbWriter.wait);
// other writers (TLS, files) get the batch in one buffer, so that a frame
// is one TLS record, not one per slice.
func (p *player) writeLocked(bufs [][]byte) error {
	p.borrow()
	if g, ok := p.conn.(gatherWriter); ok {
		return g.writeGather(bufs)
	}
	if p.nb != nil {
		n, err := p.nb.wait(bufs, &p.scratch.iov)
		p.countOut(n)
		p.hub.outBytes.Add(uint64(n))
		return err
	}
	if now := time.Now(); now.Sub(p.lastDeadline) > time.Second {
		// renewed at most once a second: timers are not free
		p.conn.SetWriteDeadline(now.Add(p.hub.cfg.WriteTimeout.Duration))
		p.lastDeadline = now
	}
	return p.writeFlat(bufs)
}

// gatherWriter is a playerConn that takes a batch as it is, slices and
// all (the test double that checks that players write the frames' own
// bytes, not copies).
type gatherWriter interface {
	writeGather(bufs [][]byte) error
}

// writeFlat writes bufs with few Writes: small slices are gathered in the
// scratch's flat buffer (up to flatPiece), large ones go as they are.
// Bytes are counted by the counted socket (stats.go).
func (p *player) writeFlat(bufs [][]byte) error {
	const flatPiece = 32 << 10
	flat := p.scratch.flat[:0]
	defer func() { p.scratch.flat = flat[:0] }()
	for _, b := range bufs {
		if len(flat) > 0 && len(flat)+len(b) > flatPiece {
			if _, err := p.conn.Write(flat); err != nil {
				return err
			}
			flat = flat[:0]
		}
		if len(b) < flatPiece {
			flat = append(flat, b...)
		} else if _, err := p.conn.Write(b); err != nil {
			return err
		}
	}
	if len(flat) > 0 {
		_, err := p.conn.Write(flat)
		return err
	}
	return nil
}
