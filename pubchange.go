// Publisher takeover and the timeline of a stream across publishers.
//
// No specification covers this; it is server policy, as MediaMTX's
// overridePublisher and nginx-rtmp's drop_idle_publisher are. An encoder
// that reconnects after a network blip (OBS does, within seconds) finds
// its old connection still half-open on the server: with -takeover idle
// (the default) the newcomer, once it has passed the same checks as any
// publisher (signed URL, on_publish hook), replaces a publisher that has
// sent no media for -takeover-idle; with -takeover always it replaces any
// publisher; with -takeover never it is refused (NetStream.Publish.BadName),
// as a newcomer to a publisher that is still sending always is by default.
//
// Players that stay through the change (hub.go: RTMP players wait for the
// next publisher, HTTP-FLV and WS-FLV ones for -play-wait) must see time go
// on: FLV 10.1 (E.4.1) and RTMP 1.0 (5.3.1.2) timestamps are the decoding
// timeline of one stream, and a muxer or a Media Source buffer that sees
// them jump back discards or mis-times what follows. So the timestamps of
// a publication that follows another within -play-wait while players wait
// are rebased, once per stream (frames are framed once and shared): they
// continue from the previous publication's last timestamp plus its last
// frame interval (pubClock.stamp, applied before the frame is built).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// TakeoverPolicy says when a new publisher replaces the current one of a
// stream: "idle" (it has sent no media for -takeover-idle), "always" or
// "never".
type TakeoverPolicy string

const (
	TakeoverIdle   TakeoverPolicy = "idle"
	TakeoverAlways TakeoverPolicy = "always"
	TakeoverNever  TakeoverPolicy = "never"
)

func (p *TakeoverPolicy) String() string { return string(*p) }

// Set accepts the three policy names (flag.Value).
func (p *TakeoverPolicy) Set(v string) error {
	switch TakeoverPolicy(v) {
	case TakeoverIdle, TakeoverAlways, TakeoverNever:
		*p = TakeoverPolicy(v)
		return nil
	}
	return fmt.Errorf("takeover %q: want idle, always or never", v)
}

// UnmarshalText reads the policy from the JSON config, checked as a flag.
func (p *TakeoverPolicy) UnmarshalText(b []byte) error { return p.Set(string(b)) }

// maxRebaseGap bounds the step between two publications' timelines: the
// last frame interval, unless that was a pause.
const maxRebaseGap = 100

// pubClock is the timeline of one publication: the offset applied to its
// timestamps, the newest timestamp it produced and the last step between
// two, and when it last carried media. stamp runs on the publisher's
// goroutine only; the atomics are read by whoever ends the publication.
type pubClock struct {
	ring    *gopRing
	floor   uint32 // the first timestamp of a rebased publication
	rebased bool
	started bool
	offset  uint32

	tail    atomic.Uint64 // newest timestamp << 32 | the step that led to it; 0: none yet
	mediaAt atomic.Int64  // Unix nanoseconds of the last audio or video frame (or of the start)
}

func newPubClock(ring *gopRing, now time.Time) *pubClock {
	c := &pubClock{ring: ring}
	c.mediaAt.Store(now.UnixNano())
	return c
}

// stamp maps a publisher's timestamp to the stream's timeline. A nil
// clock (a publication that ended meanwhile) keeps ts.
func (c *pubClock) stamp(ts uint32) uint32 {
	if c == nil {
		return ts
	}
	if !c.started {
		c.started = true
		if c.rebased {
			c.offset = c.floor - ts
		}
	}
	out := ts + c.offset
	if c.rebased && int32(out-c.floor) < 0 {
		out = c.floor // never before where the previous publication stopped
	}
	c.noteTimestamp(out)
	return out
}

// shift maps a data message's timestamp without moving the timeline.
func (c *pubClock) shift(ts uint32) uint32 {
	if c == nil || !c.started {
		return ts
	}
	return ts + c.offset
}

func (c *pubClock) noteTimestamp(ts uint32) {
	old := c.tail.Load()
	last := uint32(old >> 32)
	if old != 0 && int32(ts-last) <= 0 {
		return
	}
	step := uint32(0)
	if old != 0 {
		step = ts - last
	}
	c.tail.Store(uint64(ts)<<32 | uint64(step) | 1<<31) // bit 31: set, so never 0
}

// touch records media of ring's publication now.
func (c *pubClock) touch(ring *gopRing) {
	if c != nil && c.ring == ring {
		c.mediaAt.Store(time.Now().UnixNano())
	}
}

// idleFor is how long the publication has carried no media.
func (c *pubClock) idleFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, c.mediaAt.Load()))
}

// next is where a following publication's timeline starts: after the
// newest timestamp, by the last step (1 to maxRebaseGap ms). A
// publication that produced nothing hands on its own start.
func (c *pubClock) next() (uint32, bool) {
	t := c.tail.Load()
	if t == 0 {
		return c.floor, c.rebased
	}
	step := min(max(uint32(t)&^(1<<31), 1), maxRebaseGap)
	return uint32(t>>32) + step, true
}

// handoff is where the last ended publication of a stream left its
// timeline, and when.
type handoff struct {
	next  uint32
	valid bool
	at    time.Time
}

// takeoverVictimLocked decides, for a new publisher of s, what happens to
// the current publication: ErrStreamBusy keeps it; otherwise it is ended
// here (its players move on to the next one) and its publisher's session
// is returned, to be closed once s.mu is released. s.mu held.
func (s *Stream) takeoverVictimLocked(cfg *Config, now time.Time) (*sessionInfo, error) {
	switch cfg.Takeover {
	case TakeoverAlways:
	case TakeoverIdle, "":
		if s.clock == nil || s.clock.idleFor(now) < cfg.TakeoverIdle.Duration {
			return nil, ErrStreamBusy
		}
	default:
		return nil, ErrStreamBusy
	}
	old, ring := s.pub, s.ring
	ring.close()
	s.endedLocked(ring, now)
	return old, nil
}

// endedLocked records where ring's publication left the stream's
// timeline, if ring is the current one, and forgets it. s.mu held.
func (s *Stream) endedLocked(ring *gopRing, now time.Time) {
	if s.ring != ring {
		return
	}
	if s.clock != nil {
		next, ok := s.clock.next()
		s.last = handoff{next: next, valid: ok, at: now}
	}
	s.ring, s.pub, s.clock = nil, nil, nil
	s.live.Store(nil)
	s.notifyLocked()
}

// newClockLocked makes the clock of a new publication ring: rebased onto
// the previous publication's timeline when that ended within -play-wait
// and players are waiting through the change. s.mu held.
func (s *Stream) newClockLocked(ring *gopRing, now time.Time, wait time.Duration) *pubClock {
	c := newPubClock(ring, now)
	if s.last.valid && now.Sub(s.last.at) <= wait && len(s.players) > 0 {
		c.floor, c.rebased = s.last.next, true
	}
	return c
}

// clockOf returns the clock of ring's publication (nil once it ended).
func (s *Stream) clockOf(ring *gopRing) *pubClock {
	if c := s.live.Load(); c != nil && c.ring == ring {
		return c
	}
	return nil
}

// noteMedia records that ring's publication carried media now.
func (s *Stream) noteMedia(ring *gopRing) { s.live.Load().touch(ring) }

// startKind says how a player comes to a publication.
type startKind uint8

const (
	startFirst    startKind = iota // the first it plays
	startAgain                     // after it was told the previous one ended
	startHandover                  // straight after the previous one, which a takeover (or a quick return) replaced: the stream goes on, nothing is announced
)

// nextStart is how a player that has played ring to its end comes to the
// next publication: as a handover when that one is already live.
func (s *Stream) nextStart(ring *gopRing) startKind {
	if cur, _ := s.current(); cur != nil && cur != ring {
		return startHandover
	}
	return startAgain
}

// headersToSend is what a player sends of the headers hdrs when it starts
// on a publication: all of them, except when the stream goes on through a
// publisher change (every FLV player; an RTMP player that was not told of
// the change), where only those that changed are sent. An RTMP player
// told NetStream.Play.PublishNotify gets them all, as a new stream.
func (p *player) headersToSend(hdrs *headerSet, kind startKind) *headerSet {
	goesOn := kind == startHandover || kind == startAgain && p.protocol() != protoRTMP
	if !goesOn || p.cur.lastHdrs == nil {
		return hdrs
	}
	return hdrs.changedSince(p.cur.lastHdrs)
}

// changedSince returns the headers of h that old does not hold byte for
// byte (h itself when that is all of them).
func (h *headerSet) changedSince(old *headerSet) *headerSet {
	n := &headerSet{hasAudio: h.hasAudio, hasVideo: h.hasVideo}
	for _, f := range h.frames {
		if !old.holdsSame(f) {
			n.frames = append(n.frames, f)
		}
	}
	if len(n.frames) == len(h.frames) {
		return h
	}
	return n
}

// holdsSame reports whether h has a header of f's kind with f's bytes.
func (h *headerSet) holdsSame(f *Frame) bool {
	for _, o := range h.frames {
		if o.headerKind() == f.headerKind() && bytes.Equal(o.Payload, f.Payload) {
			return true
		}
	}
	return false
}

// closePlayers closes the connections of every player of app/name
// (-kick-ends-players: a kicked publisher takes its audience with it).
func (h *Hub) closePlayers(app, name string) {
	st := h.lookup(app, name)
	if st == nil {
		return
	}
	for _, p := range st.playerList() {
		p.disconnect()
	}
}

// disconnect closes the player's connection (its session's close).
func (p *player) disconnect() { p.sess.closeFn() }

// takeoverWait is how long a new publisher of app/name waits before it
// asks: with -takeover idle, when the current publisher has been silent
// for a tenth of -takeover-idle already, until it has been silent for all
// of it (a reconnecting encoder gets in as soon as the rule lets it, not
// at its next retry; one that resumes sending keeps the stream). 0: ask
// now.
func (h *Hub) takeoverWait(app, name string, now time.Time) time.Duration {
	idle := h.cfg.TakeoverIdle.Duration
	st := h.lookup(app, name)
	if h.cfg.Takeover != TakeoverIdle || st == nil {
		return 0
	}
	silent := st.publisherSilence(now)
	if silent < idle/10 || silent >= idle {
		return 0
	}
	return idle - silent + 10*time.Millisecond
}

// publisherSilence is how long the current publication has carried no
// media (0 without one).
func (s *Stream) publisherSilence(now time.Time) time.Duration {
	c := s.live.Load() // the current publication's clock, without s.mu
	if c == nil {
		return 0
	}
	return c.idleFor(now)
}

// reserve makes a publication of app/name by pub that waits to take the
// stream over (Hub.takeoverWait): its ring fills, players do not see it
// until promote. Its clock goes on from the current publication's.
func (h *Hub) reserve(app, name string, pub *sessionInfo) (*Stream, *gopRing, *pubClock) {
	h.mu.Lock()
	s := h.streamLocked(app, name)
	h.mu.Unlock()
	ring := h.newRing()
	c := newPubClock(ring, time.Now())
	if cur := s.live.Load(); cur != nil && s.playerCount() > 0 {
		c.floor, c.rebased = cur.next()
	}
	return s, ring, c
}

// errReservationGone: a reserved publication ended before its turn.
var errReservationGone = errors.New("publisher left before the takeover")

// promote makes the reserved publication ring current, taking the stream
// over from a publisher still silent (or gone); ErrStreamBusy if that one
// sends again. It returns the publisher it replaced.
func (s *Stream) promote(ring *gopRing, clock *pubClock, pub *sessionInfo) (*sessionInfo, error) {
	old, err := s.startPublication(pub, true, ring, clock)
	if err != nil {
		return nil, err
	}
	if old != nil {
		old.closeFn()
	}
	pub.setStream(s.App, s.Name, true)
	return old, nil
}

// restamp moves a publisher's message onto the publication's timeline
// (stamp for audio and video, shift for data), before its frame is built.
func (c *pubClock) restamp(m *Message) {
	switch {
	case m.Type == MsgDataAMF0 || m.Type == MsgDataAMF3:
		m.Timestamp = c.shift(m.Timestamp)
	case len(m.Payload) > 0:
		m.Timestamp = c.stamp(m.Timestamp)
	}
}

// promoteReserved ends the wait of a reserved publish by pub (on its
// timer's goroutine): it goes live, or refused is called with the reason
// when the old publisher sent again. A reservation whose publisher left
// meanwhile ends quietly.
func promoteReserved(env serverEnv, log *slog.Logger, stream *Stream, ring *gopRing, clock *pubClock,
	pub *sessionInfo, refused func(error)) {
	old, err := stream.promote(ring, clock, pub)
	switch {
	case errors.Is(err, errReservationGone):
		return
	case err != nil:
		refused(err)
		return
	}
	logPublish(log, stream.Path, old, env.cfg.Takeover)
	env.relays.publishStarted(stream, ring)
}
