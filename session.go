// The RTMP session: one RTMP connection, from handshake to close, and the
// command layer on top of the chunk stream.
//
// Adobe RTMP 1.0 specification sections implemented here:
//   - 5.4 protocol control: Window Acknowledgement Size and Set Peer
//     Bandwidth sent after connect (chunk.go builds them; acknowledgements
//     and pings are the connection layer's, rtmpconn.go)
//   - 6.2 / 7.1.7 user control: StreamBegin, StreamEOF
//   - 7.2.1 NetConnection commands: connect (7.2.1.1), call, createStream
//     (7.2.1.3) and the replies _result / _error
//   - 7.2.2 NetStream commands: play (7.2.2.1), deleteStream (7.2.2.3),
//     receiveAudio / receiveVideo (7.2.2.4-5), publish (7.2.2.6), pause
//     (7.2.2.8), and onStatus replies
//
// plus the commands real encoders send that the specification does not
// name: releaseStream, FCPublish / FCUnpublish, FCSubscribe / FCUnsubscribe
// (onFC), closeStream,
// getStreamLength, and "@setDataFrame" for metadata.
//
// A publisher's media goes through Stream.append into the GOP ring; a
// player gets a hub player whose goroutine writes the ring's pre-chunked
// bytes while this session's goroutine keeps reading the connection.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Window sizes announced after connect (the values nginx-rtmp and NMS use).
const (
	serverWindowAckSize = 2500000
	serverPeerBandwidth = 2500000
)

// Chunk stream ids for what the session writes itself. They differ from
// the media ones (gop.go) so that the two writers never share a chunk
// stream's header-compression state.
const (
	csidCommand = 3
	csidStatus  = 7
)

// Limits on AMF0 messages, far below the chunk layer's message limit:
// AMF0 decoding can hold up to ~16 bytes of values per input byte.
const (
	maxCommandSize = 64 << 10 // command messages (connect, publish, ...)
	maxDataSize    = 1 << 20  // data messages (onMetaData, cue points)
)

// Buffer sizes of an RTMP session. Every session reads and writes only
// small messages: a player receives acknowledgements and pings, and the
// session writes command replies (media leaves through the player's own
// gathered writes, hub.go, never through bw). A bigger message just passes
// through in more than one read or write. A publisher's media arrives in
// bulk: it gets publishReadBuffer in front of the small reader.
const (
	sessionReadBuffer  = 512
	sessionWriteBuffer = 512
	publishReadBuffer  = 16 << 10
)

// ErrSessionClosed ends a session on purpose (refused publisher, bad
// connect, deleteStream on a publisher); it is not logged as a failure.
var ErrSessionClosed = errors.New("session closed")

// CommandError reports a command that is malformed or not allowed.
type CommandError struct {
	Command string
	Reason  string
}

func (e *CommandError) Error() string { return "rtmp command " + e.Command + ": " + e.Reason }

// rtmpSession is the state of one RTMP connection. Its goroutine reads;
// writes go through rc, whose write lock the player goroutine shares.
type rtmpSession struct {
	env  serverEnv
	hub  *Hub
	conn net.Conn
	log  *slog.Logger
	info *sessionInfo
	rc   *rtmpConn

	app       string
	connected bool

	pubStream *Stream
	pubRing   *gopRing
	pubClock  *pubClock   // its timeline (pubchange.go)
	reserved  *time.Timer // a publish waiting to take the stream over (publishReserved)
	pubReq    authRequest // what publish was allowed, for on_done
	playReq   authRequest

	player   *player
	playerWG sync.WaitGroup
}

// serveRTMPSession serves one connection of the RTMP listeners; true
// when its reading side parked (see readLoop), false when it ended.
//
// A session's goroutine is parked in a read under these frames most of
// the time, and a goroutine's stack grows (to the next power of two) but
// in practice never shrinks back: so the functions from here to the read
// loop and the command handlers keep small frames, and one-time work
// (setup, handshake, building replies, logging the end) is done in calls
// that return before the loop goes on.
func serveRTMPSession(env serverEnv, c net.Conn) bool {
	return newRTMPSession(env, c).readLoop()
}

// readLoop runs the handshake, then reads messages until the connection
// ends (it then ends the session) or, for a player with nothing to read,
// until its socket is parked (readypoll_linux.go): its goroutine then
// returns true, and resume goes on in a new one when the player sends
// something.
func (s *rtmpSession) readLoop() (parked bool) {
	err := s.read()
	if err == errReadParked {
		return true
	}
	defer s.cleanup()
	logSessionEnd(s.log, err)
	return false
}

func newRTMPSession(env serverEnv, c net.Conn) *rtmpSession {
	sess := &rtmpSession{env: env, hub: env.hub, conn: c,
		rc: newRTMPConn(c, sessionReadBuffer, sessionWriteBuffer, env.cfg.WriteTimeout.Duration)}
	sess.info = env.hub.newSession("rtmp", c, func() { c.Close() })
	sess.log = env.log.With("session", sess.info.ID, "remote", sess.info.RemoteAddr)
	return sess
}

// resume is a parked session's reading side, started again.
func (s *rtmpSession) resume() { s.env.conns.resume(s.conn, s.readLoop) }

// logSessionEnd logs why a session ended: at debug level when it ended as
// sessions do.
func logSessionEnd(log *slog.Logger, err error) {
	switch {
	case err == nil, errors.Is(err, ErrSessionClosed), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		log.Debug("rtmp session ended", "err", err)
	default:
		log.Info("rtmp session closed", "reason", err)
	}
}

// errReadParked: read returned because the session's socket is parked.
var errReadParked = errors.New("reading side parked")

// read runs the handshake (once), then reads and handles messages until
// one fails, or the session parks.
func (s *rtmpSession) read() error {
	if !s.rc.started() {
		if err := s.handshake(); err != nil {
			return err
		}
	}
	for {
		s.extendReadDeadline()
		m, err := s.rc.readMessage()
		if err != nil {
			return err
		}
		if err := s.handle(&m); err != nil {
			return err
		}
		if err := s.rc.acknowledge(); err != nil {
			return err
		}
		// After a message, not before: a resumed session reads what woke
		// it. A session that only plays, between messages, waits for
		// nothing but its player's next message: it parks.
		s.extendReadDeadline()
		if s.player != nil && s.pubRing == nil && s.reserved == nil && s.rc.drained() &&
			parkReads(s.conn, s.resume) {
			return errReadParked
		}
	}
}

// handshake runs the RTMP handshake and sets up the chunk reader.
func (s *rtmpSession) handshake() error {
	end := time.Now().Add(s.env.cfg.HandshakeTimeout.Duration)
	s.conn.SetWriteDeadline(end)
	s.rc.setReadUntil(end)
	s.rc.setIdle(s.env.cfg.IdleTimeout.Duration)
	digest, err := serverHandshake(s.rc.handshakeIO())
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	s.log.Debug("handshake done", "digest", digest)
	s.rc.startReading(ChunkLimits{
		MaxMessageSize:  uint32(s.env.cfg.MaxMessageSize),
		MaxChunkStreams: s.env.cfg.MaxChunkStreams,
	})
	return nil
}

// extendReadDeadline keeps the read limits: the handshake timeout until
// connect, and the idle timeout from the first byte on (idleReader moves
// the deadline). Players may be silent (they only read), so once a
// session plays it has no idle limit.
func (s *rtmpSession) extendReadDeadline() {
	want := s.env.cfg.IdleTimeout.Duration
	if s.player != nil {
		want = 0
	}
	if s.rc.idleLimit() != want {
		s.rc.setIdle(want)
	}
}

// cleanup ends whatever the session was doing.
func (s *rtmpSession) cleanup() {
	s.endPublish()
	s.stopPlayer()
	s.conn.Close()
	s.hub.endSession(s.info)
}

// handle dispatches one message by type, after the connection layer's
// control messages (Window Acknowledgement Size, ping).
func (s *rtmpSession) handle(m *Message) error {
	if handled, err := s.rc.control(m); handled {
		return err
	}
	switch m.Type {
	case MsgCommandAMF0:
		return s.handleCommand(m, m.Payload)
	case MsgCommandAMF3:
		// An AMF3 command is AMF0 after one format byte (section 7.1.1).
		if len(m.Payload) == 0 {
			return &CommandError{"amf3", "empty payload"}
		}
		return s.handleCommand(m, m.Payload[1:])
	case MsgAudio, MsgVideo, MsgDataAMF0, MsgDataAMF3:
		return s.publishMessage(m)
	}
	// Acknowledgement, Set Peer Bandwidth, other user control events,
	// shared objects, aggregates: nothing to do for a live server.
	return nil
}

// write sends messages from the session in one flush, each on the chunk
// stream of its kind.
func (s *rtmpSession) write(msgs ...Message) error {
	for i := range msgs {
		msgs[i].CSID = csidCommand
		switch msgs[i].Type {
		case MsgSetChunkSize, MsgAbort, MsgAck, MsgUserControl, MsgWindowAckSize, MsgSetPeerBandwidth:
			msgs[i].CSID = csidProtocolControl
		case MsgDataAMF0:
			msgs[i].CSID = csidStatus
		}
	}
	return s.rc.write(msgs...)
}

// amfMessage builds a command (or data) message from AMF0 values.
func amfMessage(t MessageType, streamID uint32, values ...any) Message {
	b, err := AppendAMF0All(nil, values...)
	if err != nil {
		panic("rtmphub: encoding a reply: " + err.Error()) // our own values: a bug
	}
	return Message{Type: t, StreamID: streamID, Payload: b}
}

// statusObject is the info object of onStatus, _result and _error.
func statusObject(level, code, desc string) Object {
	return Object{{"level", level}, {"code", code}, {"description", desc}}
}

func onStatus(streamID uint32, level, code, desc string) Message {
	return amfMessage(MsgCommandAMF0, streamID, "onStatus", 0.0, nil, statusObject(level, code, desc))
}

// handleCommand decodes "name, transaction id, command object, args..."
// (section 7.1.1) and dispatches it.
func (s *rtmpSession) handleCommand(m *Message, payload []byte) error {
	cmd, err := s.decodeCommand(m.StreamID, payload)
	if err != nil {
		return err
	}
	if !s.connected && cmd.name != "connect" {
		return &CommandError{cmd.name, "before connect"}
	}
	return s.dispatch(cmd)
}

func (s *rtmpSession) decodeCommand(streamID uint32, payload []byte) (*rtmpCommand, error) {
	if len(payload) > maxCommandSize {
		return nil, &CommandError{"?", fmt.Sprintf("%d bytes, limit %d", len(payload), maxCommandSize)}
	}
	vals, err := DecodeAMF0All(payload)
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	if len(vals) < 2 {
		return nil, &CommandError{"?", "fewer than two values"}
	}
	name, ok1 := vals[0].(string)
	txn, ok2 := vals[1].(float64)
	if !ok1 || !ok2 {
		return nil, &CommandError{"?", "name or transaction id of the wrong type"}
	}
	s.log.Debug("command", "name", name, "txn", txn)
	return &rtmpCommand{name: name, txn: txn, streamID: streamID, values: vals}, nil
}

// rtmpCommand is a decoded command message.
type rtmpCommand struct {
	name     string
	txn      float64
	streamID uint32
	values   []any // name, txn, command object, optional arguments
}

// arg returns the i-th optional argument (after the command object).
func (c *rtmpCommand) arg(i int) any {
	if len(c.values) <= 3+i {
		return nil
	}
	return c.values[3+i]
}

func (c *rtmpCommand) stringArg(i int) string {
	s, _ := c.arg(i).(string)
	return s
}

func (s *rtmpSession) dispatch(c *rtmpCommand) error {
	switch c.name {
	case "connect":
		return s.onConnect(c)
	case "createStream":
		return s.onCreateStream(c)
	case "releaseStream":
		return s.reply(c, nil)
	case "getStreamLength":
		// A live stream has no length: answer 0 (ffmpeg wants a number).
		return s.reply(c, 0.0)
	case "FCPublish":
		return s.onFC(c, "onFCPublish", "NetStream.Publish.Start")
	case "FCSubscribe":
		return s.onFC(c, "onFCSubscribe", "NetStream.Play.Start")
	case "FCUnsubscribe":
		return s.reply(c, nil)
	case "publish":
		return s.onPublish(c)
	case "play":
		return s.onPlay(c)
	case "FCUnpublish", "deleteStream", "closeStream":
		return s.onStop(c)
	case "receiveAudio", "receiveVideo", "pause":
		return s.onPlayerControl(c)
	case "_result", "_error", "onStatus", "_checkbw", "onBWDone":
		return nil
	}
	return s.onUnknown(c)
}

// onUnknown answers a command rtmphub does not know with _error, unless
// it expects no answer (transaction id 0).
func (s *rtmpSession) onUnknown(c *rtmpCommand) error {
	if c.txn == 0 {
		return nil
	}
	return s.write(amfMessage(MsgCommandAMF0, 0, "_error", c.txn, nil,
		statusObject("error", "NetConnection.Call.Failed", "unknown command "+c.name)))
}

// onCreateStream answers createStream with the one message stream id
// rtmphub gives (section 7.2.1.3), even when the transaction id is 0.
func (s *rtmpSession) onCreateStream(c *rtmpCommand) error {
	return s.write(amfMessage(MsgCommandAMF0, 0, "_result", c.txn, nil, float64(mediaStreamID)))
}

// reply answers a command that expects a transaction result.
func (s *rtmpSession) reply(c *rtmpCommand, v any) error {
	if c.txn == 0 {
		return nil
	}
	return s.write(amfMessage(MsgCommandAMF0, 0, "_result", c.txn, nil, v))
}

// onConnect validates app and tcUrl, then sends Window Acknowledgement
// Size, Set Peer Bandwidth, Set Chunk Size and the _result, in one write.
func (s *rtmpSession) onConnect(c *rtmpCommand) error {
	if s.connected {
		return &CommandError{"connect", "sent twice"}
	}
	var obj Object
	if len(c.values) >= 3 {
		obj, _ = c.values[2].(Object)
	}
	if obj == nil {
		return &CommandError{"connect", "no command object"}
	}
	app, err := connectApp(obj)
	if err != nil {
		return s.rejectConnect(c, err)
	}
	s.app, s.connected = app, true
	s.rc.setReadUntil(time.Time{})
	s.log.Debug("connect", "app", app)
	return s.write(connectReply(c.txn, obj)...)
}

// connectReply is the answer to a connect: Window Acknowledgement Size,
// Set Peer Bandwidth, Set Chunk Size and the _result.
func connectReply(txn float64, req Object) []Message {
	info := statusObject("status", "NetConnection.Connect.Success", "Connection succeeded.")
	info = append(info, Property{"objectEncoding", objectEncoding(req)})
	return []Message{
		windowAckSizeMessage(serverWindowAckSize),
		setPeerBandwidthMessage(serverPeerBandwidth, BandwidthDynamic),
		setChunkSizeMessage(outChunkSize),
		amfMessage(MsgCommandAMF0, 0, "_result", txn, connectProperties(req), info),
	}
}

// rejectConnect answers connect with _error and ends the session.
func (s *rtmpSession) rejectConnect(c *rtmpCommand, reason error) error {
	s.write(amfMessage(MsgCommandAMF0, 0, "_error", c.txn, nil,
		statusObject("error", "NetConnection.Connect.Rejected", reason.Error())))
	return fmt.Errorf("%w: %v", ErrSessionClosed, reason)
}

// connectProperties is the first _result object of connect: server
// version and capabilities, plus the Enhanced RTMP answers
// (enhancedConnectReply, at the end of this file).
func connectProperties(req Object) Object {
	props := Object{{"fmsVer", "FMS/3,0,1,123"}, {"capabilities", 31.0}, {"mode", 1.0}}
	return append(props, enhancedConnectReply(req)...)
}

func objectEncoding(obj Object) float64 {
	v, _ := obj.Number("objectEncoding")
	return v
}

// connectApp extracts the application name from connect's "app" (which
// may carry a query or a trailing slash) and checks that tcUrl, when
// present, is a URL.
func connectApp(obj Object) (string, error) {
	if tc, ok := obj.Get("tcUrl"); ok {
		s, isStr := tc.(string)
		u, err := url.Parse(s)
		if !isStr || err != nil || u.Scheme == "" || u.Host == "" {
			// the reason is logged and sent back: without any query, which
			// may carry a sign
			shown, _, _ := strings.Cut(fmt.Sprint(tc), "?")
			return "", fmt.Errorf("invalid tcUrl %q", truncate(shown, 64))
		}
	}
	app, _, _ := strings.Cut(obj.String("app"), "?")
	app = strings.Trim(app, "/")
	if !validName(app) {
		return "", fmt.Errorf("invalid app %q", truncate(app, 64))
	}
	return app, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// splitStreamKey splits "name?query" into the stream name and its query.
func splitStreamKey(key string) (name, query string) {
	name, query, _ = strings.Cut(key, "?")
	return name, query
}

// onFC answers FCPublish and FCSubscribe as nginx-rtmp and SRS do: a
// _result, then the notice event ("onFCPublish" with Publish.Start,
// "onFCSubscribe" with Play.Start, which a live reader such as ffmpeg
// with -rtmp_live live waits for). The publish or play that follows does
// the work.
func (s *rtmpSession) onFC(c *rtmpCommand, event, code string) error {
	name, _ := splitStreamKey(c.stringArg(0))
	if err := s.reply(c, nil); err != nil {
		return err
	}
	return s.write(amfMessage(MsgCommandAMF0, 0, event, 0.0, nil, statusObject("status", code, name)))
}

// onPublish makes this session the stream's publisher. A refused
// publisher gets NetStream.Publish.BadName (or .Unauthorized) and its
// connection is closed before any of its media is read: nothing a refused
// publisher sends reaches the ring, and the stream's current publisher
// and players never notice the attempt.
func (s *rtmpSession) onPublish(c *rtmpCommand) error {
	name, query := splitStreamKey(c.stringArg(0))
	sid := c.streamID
	if s.pubRing != nil || s.player != nil {
		return s.refusePublish(sid, "NetStream.Publish.BadName", "state", name, "already publishing or playing")
	}
	if !validName(name) {
		return s.refusePublish(sid, "NetStream.Publish.BadName", "bad name", name, "invalid stream name")
	}
	req := s.authRequest("publish", name, query)
	if err := s.env.auth.authorize(req); err != nil {
		return s.refusePublish(sid, "NetStream.Publish.Unauthorized", refusalReason(err), name, err.Error())
	}
	if d := s.hub.takeoverWait(s.app, name, time.Now()); d > 0 {
		return s.publishReserved(sid, name, req, d)
	}
	stream, ring, old, err := s.hub.publishOver(s.app, name, s.info, true)
	if err != nil {
		return s.refusePublish(sid, "NetStream.Publish.BadName", refusalReason(err), name, err.Error())
	}
	s.pubStream, s.pubRing, s.pubReq = stream, ring, req
	s.pubClock = stream.clockOf(ring)
	s.rc.growReadBuffer(publishReadBuffer) // once: a session may publish again after FCUnpublish
	logPublish(s.log, stream.Path, old, s.env.cfg.Takeover)
	s.env.relays.publishStarted(stream, ring)
	return s.write(userControlMessage(StreamBegin, sid),
		onStatus(sid, "status", "NetStream.Publish.Start", stream.Path+" is now published."))
}

// publishReserved starts a publish that waits d to take the stream over
// from a publisher that went silent (pubchange.go): the publisher is told
// Publish.Start and sends at once, its frames are held, and when d is
// over it either goes live with them or, if the old publisher sent again,
// gets NetStream.Publish.BadName and is closed.
func (s *rtmpSession) publishReserved(sid uint32, name string, req authRequest, d time.Duration) error {
	stream, ring, clock := s.hub.reserve(s.app, name, s.info)
	s.pubStream, s.pubRing, s.pubClock, s.pubReq = stream, ring, clock, req
	s.rc.growReadBuffer(publishReadBuffer)
	s.log.Info("publish: waiting to take the stream over", "stream", stream.Path, "in", d)
	refused := func(err error) {
		s.env.refuse.note("publish", refusalReason(err), s.info.RemoteAddr, stream.Path, err)
		s.write(onStatus(sid, "error", "NetStream.Publish.BadName", err.Error()))
		s.conn.Close()
	}
	s.reserved = time.AfterFunc(d, func() { promoteReserved(s.env, s.log, stream, ring, clock, s.info, refused) })
	return s.write(userControlMessage(StreamBegin, sid),
		onStatus(sid, "status", "NetStream.Publish.Start", stream.Path+" is now published."))
}

// logPublish logs a publish, and the publisher it took the stream over
// from, if any.
func logPublish(log *slog.Logger, path string, old *sessionInfo, policy TakeoverPolicy) {
	if old == nil {
		log.Info("publish", "stream", path)
		return
	}
	log.Info("publish: took the stream over", "stream", path, "replaced", old.ID,
		"replaced_remote", old.RemoteAddr, "takeover", policy)
}

// refusePublish answers a refused publish with code and logs why
// (reason, rate-limited: refusals.go).
func (s *rtmpSession) refusePublish(sid uint32, code, reason, name, desc string) error {
	s.env.refuse.note("publish", reason, s.info.RemoteAddr, streamLabel(s.app, name), errors.New(desc))
	s.write(onStatus(sid, "error", code, desc))
	return fmt.Errorf("%w: publish refused: %s (%s)", ErrSessionClosed, code, desc)
}

// publishMessage appends a publisher's audio, video or data message to
// its stream (see messageFrame). Media from a connection that is not
// publishing is dropped.
func (s *rtmpSession) publishMessage(m *Message) error {
	if s.pubRing == nil {
		return nil
	}
	s.pubClock.restamp(m)
	f, err := messageFrame(m, s.log)
	if f == nil || err != nil {
		return err
	}
	s.pubStream.append(s.pubRing, f)
	return nil
}

// messageFrame turns a publisher's audio, video or data message into the
// frame of the hub its players get: the one path from an RTMP message to
// the GOP ring, for sessions and edge pulls alike. Audio and video are
// classified from their tag header (flvmux.go) and pass through even when
// the classifier does not know them; an empty one is no frame (nil). Data
// messages: see dataFrame.
func messageFrame(m *Message, log *slog.Logger) (*Frame, error) {
	if m.Type == MsgDataAMF0 || m.Type == MsgDataAMF3 {
		return dataFrame(m)
	}
	if len(m.Payload) == 0 {
		return nil, nil
	}
	info, err := ClassifyTag(TagType(m.Type), m.Payload)
	if err != nil {
		log.Debug("unclassified media passed through", "err", err)
	}
	return newFrame(TagType(m.Type), m.Timestamp, info, m.Payload), nil
}

// dataFrame turns a data message into the frame players get:
// "@setDataFrame onMetaData {...}" becomes the metadata frame
// "onMetaData {...}" (the bytes after the first value, unchanged); other
// data messages pass through as they are; "|RtmpSampleAccess" is not
// stream data (nil frame). Relays use it for what they play, too.
func dataFrame(m *Message) (*Frame, error) {
	if len(m.Payload) > maxDataSize {
		return nil, &CommandError{"data", fmt.Sprintf("%d bytes, limit %d", len(m.Payload), maxDataSize)}
	}
	payload := m.Payload
	if m.Type == MsgDataAMF3 && len(payload) > 0 {
		payload = payload[1:]
	}
	v, rest, err := DecodeAMF0(payload)
	if err != nil {
		return nil, fmt.Errorf("data message: %w", err)
	}
	var info TagInfo
	switch v {
	case "@setDataFrame":
		payload = rest
		info.Flags = FlagConfig
	case "onMetaData":
		info.Flags = FlagConfig
	case "|RtmpSampleAccess":
		return nil, nil
	}
	ts := m.Timestamp
	if info.Flags&FlagConfig != 0 {
		// Stream metadata is stamped 0 for every player: ffmpeg's FLV
		// reader turns an onMetaData with any other timestamp into a
		// spurious data stream (GStreamer publishes it at its running
		// time). The payload is passed through unchanged.
		ts = 0
	}
	return newFrame(TagScript, ts, info, payload), nil
}

// endPublish ends this session's publication, if any.
func (s *rtmpSession) endPublish() {
	if s.pubRing == nil {
		return
	}
	if s.reserved != nil {
		s.reserved.Stop()
		s.reserved = nil
	}
	s.pubStream.unpublish(s.pubRing)
	s.log.Info("unpublished", "stream", s.pubStream.Path)
	s.pubStream, s.pubRing, s.pubClock = nil, nil, nil
	s.info.setStream("", "", false)
	s.env.auth.done(s.pubReq)
}

func (s *rtmpSession) authRequest(action, name, query string) authRequest {
	return authRequest{Action: action, Protocol: "rtmp", App: s.app, Name: name, Query: query,
		ClientIP: remoteIP(s.conn), ID: s.info.ID}
}

// onStop handles FCUnpublish, deleteStream and closeStream: the stream
// stops, the connection stays.
func (s *rtmpSession) onStop(c *rtmpCommand) error {
	s.endPublish()
	if c.name == "closeStream" || c.name == "deleteStream" {
		s.stopPlayer()
	}
	if c.name == "FCUnpublish" {
		return s.reply(c, nil)
	}
	return nil
}

// onPlay starts a player: StreamBegin, Play.Reset, Play.Start and
// |RtmpSampleAccess at once, then the media from the player goroutine.
func (s *rtmpSession) onPlay(c *rtmpCommand) error {
	sid := c.streamID
	if s.player != nil || s.pubRing != nil {
		s.env.refuse.note("play", "state", s.info.RemoteAddr, "", nil)
		return s.write(onStatus(sid, "error", "NetStream.Play.Failed", "already playing or publishing"))
	}
	path, err := s.addPlayer(c)
	if err != nil {
		return err
	}
	if err := s.write(playReply(sid, path)...); err != nil {
		return err
	}
	s.log.Info("play", "stream", path)
	s.playerWG.Add(1)
	s.player.play(0, s.playerEnded, func(v any) { s.env.conns.panicked(s.info.RemoteAddr, v) })
	return nil
}

// addPlayer checks and authorizes a play, then adds the session's player
// to its stream; it returns the stream's path.
func (s *rtmpSession) addPlayer(c *rtmpCommand) (string, error) {
	name, query := splitStreamKey(c.stringArg(0))
	sid := c.streamID
	if !validName(name) {
		s.env.refuse.note("play", "bad name", s.info.RemoteAddr, streamLabel(s.app, name), nil)
		s.write(onStatus(sid, "error", "NetStream.Play.StreamNotFound", "invalid stream name"))
		return "", fmt.Errorf("%w: invalid stream name", ErrSessionClosed)
	}
	req := s.authRequest("play", name, query)
	if err := s.env.auth.authorize(req); err != nil {
		s.env.refuse.note("play", refusalReason(err), s.info.RemoteAddr, streamLabel(s.app, name), err)
		s.write(onStatus(sid, "error", "NetStream.Play.Failed", err.Error()))
		return "", fmt.Errorf("%w: play refused: %v", ErrSessionClosed, err)
	}
	p := newPlayer(s.hub, s.info, protoRTMP, s.conn, s.rc.writeLock())
	stream := s.env.relays.addPlayer(s.app, name, p)
	s.info.setStream(s.app, name, false)
	ring, _ := stream.current()
	p.startFn, p.endFn = s.playNotices(sid, stream.Path, ring == nil)
	s.player, s.playReq = p, req
	return stream.Path, nil
}

// playReply is the answer to a play: StreamBegin, Play.Reset, Play.Start
// and |RtmpSampleAccess.
func playReply(sid uint32, path string) []Message {
	return []Message{
		userControlMessage(StreamBegin, sid),
		onStatus(sid, "status", "NetStream.Play.Reset", "Playing and resetting "+path+"."),
		onStatus(sid, "status", "NetStream.Play.Start", "Started playing "+path+"."),
		amfMessage(MsgDataAMF0, sid, "|RtmpSampleAccess", true, true),
	}
}

// streamLabel names app/name for a log line, a bad name cut short.
func streamLabel(app, name string) string {
	return truncate(streamPath(app, name), 80)
}

// playerEnded is told when the player's goroutines are done (it has
// none while caught up: player.play); a write failure closes the
// connection so that the reading side ends too.
func (s *rtmpSession) playerEnded(err error) {
	defer s.playerWG.Done()
	switch {
	case errors.Is(err, ErrServerClosing):
		// told (StreamEOF, UnpublishNotify); the reading side ends when
		// the client closes its half, or after closeWait
		endGracefully(s.conn, closeWait)
	case !errors.Is(err, ErrPlayerClosed):
		s.log.Info("player stopped", "reason", err)
		s.conn.Close()
	}
}

// playNotices are what an RTMP player is told as publishers come and go.
// start sends, when a publisher (re)appears, StreamBegin and
// NetStream.Play.PublishNotify; the first publication of a player that
// did not wait needs nothing (play already said Play.Start). end sends,
// when the publisher left, StreamEOF and NetStream.Play.UnpublishNotify;
// the player then waits for the next one.
func (s *rtmpSession) playNotices(sid uint32, path string, waited bool) (start func(*headerSet, bool) error, end func() error) {
	start = func(_ *headerSet, republish bool) error {
		if !republish && !waited {
			return nil
		}
		return s.write(userControlMessage(StreamBegin, sid),
			onStatus(sid, "status", "NetStream.Play.PublishNotify", path+" is now published."))
	}
	end = func() error {
		return s.write(userControlMessage(StreamEOF, sid),
			onStatus(sid, "status", "NetStream.Play.UnpublishNotify", path+" is now unpublished."))
	}
	return start, end
}

func (s *rtmpSession) stopPlayer() {
	if s.player == nil {
		return
	}
	s.player.stop()
	s.playerWG.Wait()
	s.player.stream.removePlayer(s.player)
	s.player = nil
	s.env.auth.done(s.playReq)
}

// onPlayerControl handles receiveAudio / receiveVideo (bool argument),
// and pause(flag, milliseconds): a live stream skips what arrives while
// paused.
func (s *rtmpSession) onPlayerControl(c *rtmpCommand) error {
	on, _ := c.arg(0).(bool)
	if s.player == nil {
		return nil
	}
	switch c.name {
	case "receiveAudio":
		s.player.noAudio.Store(!on)
		return nil
	case "receiveVideo":
		s.player.noVideo.Store(!on)
		return nil
	}
	s.player.paused.Store(on)
	code := "NetStream.Unpause.Notify"
	if on {
		code = "NetStream.Pause.Notify"
	}
	return s.write(onStatus(c.streamID, "status", code, s.player.stream.Path))
}

// Enhanced RTMP v2 ("Enhancing NetConnection connect Command"): a client
// lists the FourCCs it handles in connect (fourCcList, or the
// videoFourCcInfoMap / audioFourCcInfoMap capability maps) and its extended
// capabilities (capsEx); the server answers in the same properties of its
// _result. rtmphub forwards every codec byte-exact, so it answers
// CanForward for all ("*"), and supports multitrack and ModEx pass-through.
const (
	fourCcCanDecode  = 0x01
	fourCcCanEncode  = 0x02
	fourCcCanForward = 0x04

	capsExReconnect  = 0x01
	capsExMultitrack = 0x02
	capsExModEx      = 0x04
	capsExNanoOffset = 0x08
)

// supportedFourCCs are the FourCCs rtmphub classifies (flvmux.go); others
// still pass through unchanged.
var supportedFourCCs = []any{"av01", "vp09", "vp08", "hvc1", "avc1", "vvc1", "ac-3", "ec-3", "Opus", ".mp3", "fLaC", "mp4a"}

// enhancedConnectReply returns the Enhanced RTMP properties for connect's
// _result, or nothing for a legacy client.
func enhancedConnectReply(req Object) []Property {
	_, list := req.Get("fourCcList")
	_, vmap := req.Get("videoFourCcInfoMap")
	_, amap := req.Get("audioFourCcInfoMap")
	_, caps := req.Get("capsEx")
	if !list && !vmap && !amap && !caps {
		return nil
	}
	// the spec types the maps as Object (AMF0 object marker), not ECMA array
	all := Object{{"*", float64(fourCcCanForward)}}
	return []Property{
		{"fourCcList", StrictArray(supportedFourCCs)},
		{"videoFourCcInfoMap", all},
		{"audioFourCcInfoMap", all},
		{"capsEx", float64(capsExMultitrack | capsExModEx)},
	}
}
