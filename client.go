// The rtmphub RTMP client: publish and play. Tests, relays (push to
// another server, pull from an origin) and benchmarks use it.
//
// Adobe RTMP 1.0 specification sections implemented here, client side:
//   - 7.2.1 NetConnection commands: connect (7.2.1.1) and createStream
//     (7.2.1.3), answered by _result or _error with the same transaction id
//   - 7.2.2 NetStream commands: play (7.2.2.1), deleteStream (7.2.2.3) and
//     publish (7.2.2.6), answered by onStatus
//   - 5.4 protocol control: Set Peer Bandwidth (5.4.5) answered with a
//     Window Acknowledgement Size (acknowledgements, the peer's window and
//     pings are the connection layer's, rtmpconn.go, as for the server)
//   - 6.2 / 7.1.7 user control: Set Buffer Length sent by players
//   - 7.1.6 aggregate messages, split into their sub-messages
//
// plus the commands real servers expect from an encoder although the
// specification does not name them: releaseStream, FCPublish and
// FCUnpublish, sent the way ffmpeg sends them.
//
// A publisher's conversation (a player sends play and Set Buffer Length
// instead of releaseStream, FCPublish and publish, and waits for
// NetStream.Play.Start):
//
//	Client                                         Server
//	  |--- handshake (handshake.go, digest form) ----->|
//	  |--- connect(txn 1, {app, tcUrl, ...}) --------->|
//	  |--- Set Chunk Size 4096 ----------------------->|
//	  |<-- Window Ack Size, Set Peer Bandwidth, -------|
//	  |    Set Chunk Size, _result(txn 1)              |
//	  |--- Window Ack Size (answer to the bandwidth) ->|
//	  |--- releaseStream(txn 2, name) ---------------->|  answers not awaited
//	  |--- FCPublish(txn 3, name) -------------------->|
//	  |--- createStream(txn 4) ----------------------->|
//	  |<-- _result(txn 4, null, stream id) ------------|
//	  |--- publish(txn 5, name, "live") on the stream >|
//	  |<-- StreamBegin, onStatus Publish.Start --------|
//	  |=== audio (csid 4), data (csid 5), video (6) ==>|
//	  |--- FCUnpublish, deleteStream (Close) --------->|
//
// Concurrency: one goroutine reads (DialRTMP, Publish, Play, ReadMessage:
// never two of them at once); writes (WriteMedia, WriteMetadata, and the
// acknowledgements and pongs the reader sends) are serialized by the
// connection layer's write lock,
// so a publisher may run ReadMessage in a goroutine of its own, which a
// long-lived publisher should do: it answers the server's pings and
// notices an onStatus error or a closed connection.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Chunk stream ids the client sends on, as ffmpeg numbers them. Protocol
// control messages use csidProtocolControl (2, chunk.go).
const (
	clientCSIDCommand = 3 // NetConnection commands (message stream 0)
	clientCSIDAudio   = 4
	clientCSIDData    = 5
	clientCSIDVideo   = 6
	clientCSIDStream  = 8 // NetStream commands: publish, play
)

// Client settings.
const (
	clientDefaultPort = "1935"
	clientChunkSize   = 4096 // our outgoing chunk size, announced after connect
	clientBufferMs    = 3000 // Set Buffer Length a player announces (ffmpeg's default)
	clientReadBuffer  = 64 << 10
	clientWriteBuffer = 64 << 10
	clientCloseWait   = time.Second // how long Close may spend saying goodbye
	clientMaxQueued   = 4096        // messages read ahead while waiting for an answer
	clientMaxPending  = 64          // commands sent whose answer never came
	clientFlashVer    = "FMLE/3.0 (compatible; rtmphub)"
)

// Codec support flags of the connect command object (7.2.1.1, the
// audioCodecs and videoCodecs tables), the values ffmpeg sends.
const (
	// SUPPORT_SND_* : every flag of SUPPORT_SND_ALL (0x0FFF) except the
	// unused 0x0008 (INTEL) and 0x0010 (UNUSED).
	clientAudioCodecs = 0x0FE7
	// SUPPORT_VID_SORENSON 0x04 | HOMEBREW 0x08 | VP6 0x10 | VP6ALPHA
	// 0x20 | HOMEBREWV 0x40 | H264 0x80.
	clientVideoCodecs = 0x00FC
	// SUPPORT_VID_CLIENT_SEEK: the client can seek frame-accurately.
	clientVideoFunction = 1
	// Capabilities bit field as Flash Player sends it.
	clientCapabilities = 15
)

// ErrNoStream is returned by WriteMedia and WriteMetadata before Publish
// has created a message stream.
var ErrNoStream = errors.New("rtmp client: no stream (call Publish first)")

// ErrClientClosed is returned by operations on a closed Client.
var ErrClientClosed = errors.New("rtmp client: closed")

// StatusError is an onStatus or _error answer of level "error", for
// example NetStream.Publish.BadName or NetConnection.Connect.Rejected.
type StatusError struct {
	Level       string // "error" (or "warning"/"status" from StatusOf)
	Code        string // e.g. "NetStream.Publish.BadName"
	Description string
}

func (e *StatusError) Error() string {
	if e.Description == "" {
		return "rtmp status " + e.Code
	}
	return "rtmp status " + e.Code + ": " + e.Description
}

// ClientProtocolError reports an answer from the server that the client
// cannot use (a createStream _result without a stream id, a malformed
// aggregate message, too many messages before an answer).
type ClientProtocolError string

func (e ClientProtocolError) Error() string { return "rtmp client: " + string(e) }

// Client is one RTMP connection that publishes or plays one stream.
type Client struct {
	conn net.Conn
	url  clientURL
	rc   *rtmpConn // chunk stream, acknowledgements, pings, the write lock

	// reading side: only the reading goroutine touches these
	queue     []Message          // read ahead while waiting for an answer
	qhead     int                // queue[qhead:] is still to be returned
	pending   map[float64]string // transaction id -> command awaiting _result/_error
	lastTxn   float64
	ourWindow uint32 // window we told the server (answer to Set Peer Bandwidth)
	hardLimit bool   // the last Set Peer Bandwidth was Hard (for Dynamic)

	// state set by Publish / Play; atomic because Close and WriteMedia
	// may run on other goroutines
	streamID   atomic.Uint32
	publishing atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// clientURL is an rtmp:// URL taken apart.
type clientURL struct {
	HostPort string // host:port to dial, port 1935 by default
	App      string // first path segment
	Name     string // rest of the path, with "?query" when there is one
	TCURL    string // rtmp://host:port/app, for connect
}

// parseClientURL splits rtmp://host[:port]/app[/...]/name[?query].
func parseClientURL(raw string) (clientURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return clientURL{}, fmt.Errorf("rtmp url: %w", err)
	}
	if u.Scheme != "rtmp" {
		return clientURL{}, fmt.Errorf("rtmp url %q: scheme %q is not rtmp", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return clientURL{}, fmt.Errorf("rtmp url %q: no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = clientDefaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return clientURL{}, fmt.Errorf("rtmp url %q: bad port %q", raw, port)
	}
	app, name, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if app == "" || name == "" || strings.HasSuffix(name, "/") {
		return clientURL{}, fmt.Errorf("rtmp url %q: want rtmp://host[:port]/app/name", raw)
	}
	if u.RawQuery != "" {
		name += "?" + u.RawQuery
	}
	hp := net.JoinHostPort(u.Hostname(), port)
	return clientURL{HostPort: hp, App: app, Name: name, TCURL: "rtmp://" + hp + "/" + app}, nil
}

// DialRTMP connects to rawURL (rtmp://host[:port]/app[/...]/name[?query]):
// TCP, handshake and the connect command. ctx bounds all three.
func DialRTMP(ctx context.Context, rawURL string) (*Client, error) {
	u, err := parseClientURL(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.HostPort)
	if err != nil {
		return nil, fmt.Errorf("rtmp dial: %w", err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // small command messages must not wait for Nagle
	}
	c := newClient(conn, u)
	if err := c.withContext(ctx, "handshake", c.handshake); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.withContext(ctx, "connect", c.connect); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func newClient(conn net.Conn, u clientURL) *Client {
	return &Client{conn: conn, url: u, pending: make(map[float64]string),
		rc: newRTMPConn(conn, clientReadBuffer, clientWriteBuffer, 0)}
}

// withContext runs step with ctx's deadline on the connection; a
// cancellation interrupts it by moving the deadline to the past.
func (c *Client) withContext(ctx context.Context, step string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rtmp %s: %w", step, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(dl)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := f()
	if !stop() {
		<-fired // let it finish before we clear the deadline
	}
	c.conn.SetDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("rtmp %s: %w", step, clientContextErr(ctx, err))
	}
	return nil
}

// clientContextErr says that err came from ctx when it did: the
// connection's deadline (ctx's own) may fire a moment before ctx notices.
func clientContextErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

// handshake runs the digest handshake; the chunk reader then shares its
// buffered reader, so nothing the server sends after S2 is lost.
func (c *Client) handshake() error {
	if err := clientHandshake(c.rc.handshakeIO(), true); err != nil {
		return err
	}
	c.rc.startReading(ChunkLimits{})
	return nil
}

// connect sends connect (7.2.1.1) and our chunk size, and waits for the
// _result (NetConnection.Connect.Success) or _error.
func (c *Client) connect() error {
	obj := Object{
		{"app", c.url.App},
		{"type", "nonprivate"},
		{"flashVer", clientFlashVer},
		{"tcUrl", c.url.TCURL},
		{"fpad", false}, // no proxy
		{"capabilities", float64(clientCapabilities)},
		{"audioCodecs", float64(clientAudioCodecs)},
		{"videoCodecs", float64(clientVideoCodecs)},
		{"videoFunction", float64(clientVideoFunction)},
		{"objectEncoding", 0.0}, // AMF0
	}
	txn, err := c.call(false, 0, "connect", obj)
	if err != nil {
		return err
	}
	if err := c.write(csidProtocolControl, setChunkSizeMessage(clientChunkSize)); err != nil {
		return err
	}
	_, err = c.awaitResult(txn)
	return err
}

// Publish announces the stream and starts publishing it (7.2.2.6):
// releaseStream, FCPublish, createStream, publish(name, "live"), then it
// waits for onStatus NetStream.Publish.Start. A refusal is a *StatusError.
func (c *Client) Publish(ctx context.Context) error {
	return c.withContext(ctx, "publish", func() error {
		name := c.url.Name
		if _, err := c.call(true, 0, "releaseStream", nil, name); err != nil {
			return err
		}
		if _, err := c.call(true, 0, "FCPublish", nil, name); err != nil {
			return err
		}
		if err := c.createStream(); err != nil {
			return err
		}
		txn, err := c.call(false, c.StreamID(), "publish", nil, name, "live")
		if err != nil {
			return err
		}
		if err := c.awaitStatus(txn, "NetStream.Publish.Start"); err != nil {
			return err
		}
		c.publishing.Store(true)
		return nil
	})
}

// Play starts playing the stream (7.2.2.1): createStream, play(name, -2
// = live or recorded), Set Buffer Length, then it waits for onStatus
// NetStream.Play.Start. What arrives meanwhile (StreamBegin, Play.Reset,
// Play.Start, early media) stays queued for ReadMessage.
func (c *Client) Play(ctx context.Context) error {
	return c.withContext(ctx, "play", func() error {
		if err := c.createStream(); err != nil {
			return err
		}
		txn, err := c.call(false, c.StreamID(), "play", nil, c.url.Name, -2.0)
		if err != nil {
			return err
		}
		err = c.write(csidProtocolControl, userControlMessage(SetBufferLength, c.StreamID(), clientBufferMs))
		if err != nil {
			return err
		}
		return c.awaitStatus(txn, "NetStream.Play.Start")
	})
}

// createStream (7.2.1.3) asks for a message stream; the _result's fourth
// value is its id.
func (c *Client) createStream() error {
	txn, err := c.call(false, 0, "createStream", nil)
	if err != nil {
		return err
	}
	vals, err := c.awaitResult(txn)
	if err != nil {
		return err
	}
	id, ok := clientArg(vals, 3).(float64)
	if !ok || id < 1 || id > 0xFFFFFF || id != float64(uint32(id)) {
		return ClientProtocolError(fmt.Sprintf("createStream result without a valid stream id: %v", clientArg(vals, 3)))
	}
	c.streamID.Store(uint32(id))
	return nil
}

// StreamID is the message stream id createStream gave (0 before).
func (c *Client) StreamID() uint32 { return c.streamID.Load() }

// SetReadDeadline and SetWriteDeadline set the connection's deadlines
// after DialRTMP, Publish or Play: relays renew them so that a stalled
// server is noticed (a zero time clears them).
func (c *Client) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Client) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// SetIdleTimeout makes a read fail once the server has sent no byte for d
// (0: no limit), for relays that must notice a stalled server. It
// replaces SetReadDeadline; only the reading goroutine may call it.
func (c *Client) SetIdleTimeout(d time.Duration) { c.rc.setIdle(d) }

// BytesRead is the number of bytes read from the server so far. Like
// ReadMessage, only the reading goroutine may call it.
func (c *Client) BytesRead() uint64 { return c.rc.bytesRead() }

// WriteMedia sends an audio (8), video (9) or data (18) message on the
// stream created by Publish, with payload as the FLV tag body.
func (c *Client) WriteMedia(t MessageType, ts uint32, payload []byte) error {
	var csid uint32
	switch t {
	case MsgAudio:
		csid = clientCSIDAudio
	case MsgVideo:
		csid = clientCSIDVideo
	case MsgDataAMF0:
		csid = clientCSIDData
	default:
		return fmt.Errorf("rtmp client: cannot write a %v message as media", t)
	}
	sid := c.streamID.Load()
	if sid == 0 {
		return ErrNoStream
	}
	return c.write(csid, Message{Type: t, StreamID: sid, Timestamp: ts, Payload: payload})
}

// WriteMetadata sends the stream's metadata the way encoders do: a data
// message "@setDataFrame", "onMetaData", meta.
func (c *Client) WriteMetadata(meta ECMAArray, ts uint32) error {
	b, err := AppendAMF0All(nil, "@setDataFrame", "onMetaData", meta)
	if err != nil {
		return fmt.Errorf("rtmp client: metadata: %w", err)
	}
	return c.WriteMedia(MsgDataAMF0, ts, b)
}

// ReadMessage returns the next message for the application: audio,
// video, data (and the sub-messages of aggregates), onStatus commands
// (type 20) and the StreamBegin / StreamEOF / StreamDry /
// StreamIsRecorded user control events. Everything else (pings, acks,
// window sizes, _result, ...) is handled here and not returned.
func (c *Client) ReadMessage() (Message, error) {
	for c.qhead == len(c.queue) {
		c.queue, c.qhead = c.queue[:0], 0 // all returned: reuse the array
		if _, err := c.pump(); err != nil {
			return Message{}, err
		}
	}
	m := c.queue[c.qhead]
	c.queue[c.qhead] = Message{} // the caller owns the payload now
	c.qhead++
	return m, nil
}

// Close ends the connection; a publisher first says FCUnpublish, and
// every client with a stream deleteStream (best effort, bounded by
// clientCloseWait).
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		// unblocks a writer stuck on a full socket, bounds our goodbye
		c.conn.SetWriteDeadline(time.Now().Add(clientCloseWait))
		watchdog := time.AfterFunc(clientCloseWait, func() { c.conn.Close() })
		defer watchdog.Stop()
		// transaction id 0: no answer wanted (and the reading goroutine
		// owns the transaction table)
		if c.publishing.Load() {
			c.send(0, "FCUnpublish", 0, nil, c.url.Name)
		}
		if sid := c.streamID.Load(); sid != 0 {
			c.send(0, "deleteStream", 0, nil, float64(sid))
		}
		c.rc.closeWrites(ErrClientClosed)
		c.closeErr = c.conn.Close()
		if errors.Is(c.closeErr, net.ErrClosed) {
			c.closeErr = nil // the watchdog below got there first
		}
	})
	return c.closeErr
}

// ---- writing ----

// write sends one message on chunk stream csid and flushes it.
func (c *Client) write(csid uint32, m Message) error {
	err := c.rc.write(withCSID(csid, m))
	if err != nil && !errors.Is(err, ErrClientClosed) {
		return fmt.Errorf("rtmp client: write: %w", err)
	}
	return err
}

// call sends command name with the next transaction id (the reading
// goroutine's business) and records it as pending. With noWait nobody
// waits for the answer: it is dropped when it comes.
func (c *Client) call(noWait bool, sid uint32, name string, args ...any) (float64, error) {
	c.lastTxn++
	txn := c.lastTxn
	if !noWait || len(c.pending) < clientMaxPending {
		c.pending[txn] = name
	}
	return txn, c.send(sid, name, txn, args...)
}

// send writes a command message (7.1.1: name, transaction id, command
// object, arguments) on message stream sid. NetConnection commands go on
// csid 3, NetStream ones on csid 8.
func (c *Client) send(sid uint32, name string, txn float64, args ...any) error {
	b, err := AppendAMF0All(nil, append([]any{name, txn}, args...)...)
	if err != nil {
		return fmt.Errorf("rtmp client: encoding %s: %w", name, err)
	}
	csid := uint32(clientCSIDCommand)
	if sid != 0 {
		csid = clientCSIDStream
	}
	return c.write(csid, Message{Type: MsgCommandAMF0, StreamID: sid, Payload: b})
}

// ---- reading ----

// clientCommand is a decoded command message.
type clientCommand struct {
	name     string
	txn      float64
	streamID uint32
	values   []any // name, txn, command object, arguments
}

// clientArg returns vals[i], or nil.
func clientArg(vals []any, i int) any {
	if i < len(vals) {
		return vals[i]
	}
	return nil
}

// awaitResult reads until the _result or _error of transaction txn.
func (c *Client) awaitResult(txn float64) ([]any, error) {
	for {
		cmd, err := c.pump()
		if err != nil {
			return nil, err
		}
		if cmd == nil || cmd.txn != txn {
			continue
		}
		switch cmd.name {
		case "_result":
			return cmd.values, nil
		case "_error":
			return nil, clientStatus(clientArg(cmd.values, 3), "error")
		}
	}
}

// awaitStatus reads until the onStatus that settles a publish or play:
// the success code, or any status of level "error" on our stream (or an
// _error for the command's transaction txn).
func (c *Client) awaitStatus(txn float64, success string) error {
	for {
		cmd, err := c.pump()
		if err != nil {
			return err
		}
		if cmd == nil {
			continue
		}
		if cmd.name == "_error" && cmd.txn == txn {
			return clientStatus(clientArg(cmd.values, 3), "error")
		}
		if cmd.name != "onStatus" || (cmd.streamID != c.StreamID() && cmd.streamID != 0) {
			continue
		}
		st := clientStatus(clientArg(cmd.values, 3), "")
		if st.Level == "error" {
			return st
		}
		if st.Code == success {
			return nil
		}
	}
}

// clientStatus reads the info object of onStatus / _result / _error.
func clientStatus(info any, defaultLevel string) *StatusError {
	var o Object
	switch v := info.(type) {
	case Object:
		o = v
	case ECMAArray:
		o = Object(v)
	}
	st := &StatusError{Level: o.String("level"), Code: o.String("code"), Description: o.String("description")}
	if st.Level == "" {
		st.Level = defaultLevel
	}
	return st
}

// StatusOf returns the info object (level, code, description) of an
// onStatus message that ReadMessage returned; ok is false for any other
// message.
func StatusOf(m Message) (st StatusError, ok bool) {
	if m.Type != MsgCommandAMF0 {
		return StatusError{}, false
	}
	vals, err := DecodeAMF0All(m.Payload)
	if err != nil || clientArg(vals, 0) != "onStatus" {
		return StatusError{}, false
	}
	return *clientStatus(clientArg(vals, 3), ""), true
}

// pump reads one message, handles what the client handles itself, queues
// what ReadMessage returns, and hands back a decoded command (or nil).
func (c *Client) pump() (*clientCommand, error) {
	if !c.rc.started() {
		return nil, ErrClientClosed
	}
	m, err := c.rc.readMessage()
	if err != nil {
		return nil, err
	}
	if err := c.rc.acknowledge(); err != nil {
		return nil, err
	}
	if handled, err := c.rc.control(&m); handled {
		return nil, err
	}
	switch m.Type {
	case MsgAudio, MsgVideo, MsgDataAMF0, MsgDataAMF3:
		return nil, c.enqueue(m)
	case MsgAggregate:
		return nil, c.enqueueAggregate(m)
	case MsgCommandAMF0, MsgCommandAMF3:
		return c.command(m)
	case MsgUserControl:
		return nil, c.userControl(m)
	case MsgSetPeerBandwidth:
		return nil, c.peerBandwidth(m.Payload)
	}
	// Acknowledgement, shared objects: nothing to do for a client.
	return nil, nil
}

func (c *Client) enqueue(msgs ...Message) error {
	if len(c.queue)-c.qhead+len(msgs) > clientMaxQueued {
		return ClientProtocolError("too many messages before the expected answer")
	}
	c.queue = append(c.queue, msgs...)
	return nil
}

// peerBandwidth handles Set Peer Bandwidth (5.4.5): window size (4 bytes)
// and limit type (1 byte). Hard sets our window, Soft lowers it, Dynamic
// acts as Hard if the previous limit was Hard. When the window changes we
// tell the server with a Window Acknowledgement Size.
func (c *Client) peerBandwidth(p []byte) error {
	if len(p) < 5 {
		return ClientProtocolError("short Set Peer Bandwidth")
	}
	// window size: 4 bytes
	n := binary.BigEndian.Uint32(p)
	// limit type: 1 byte
	limit := BandwidthLimit(p[4])
	window := c.ourWindow
	switch {
	case limit == BandwidthHard, limit == BandwidthDynamic && c.hardLimit, c.ourWindow == 0:
		window = n
	case limit == BandwidthSoft && n < window:
		window = n
	}
	if limit != BandwidthDynamic {
		c.hardLimit = limit == BandwidthHard
	}
	if window == c.ourWindow {
		return nil
	}
	c.ourWindow = window
	return c.write(csidProtocolControl, windowAckSizeMessage(window))
}

// userControl queues the stream events (6.2) for ReadMessage (the
// connection layer answered pings already).
func (c *Client) userControl(m Message) error {
	ev, _, err := parseUserControl(m.Payload)
	if err != nil {
		return err
	}
	switch ev {
	case StreamBegin, StreamEOF, StreamDry, StreamIsRecorded:
		return c.enqueue(m)
	}
	return nil
}

// command decodes a command message (7.1.1). onStatus is queued for
// ReadMessage too; answers to transactions nobody waits for are dropped.
func (c *Client) command(m Message) (*clientCommand, error) {
	payload := m.Payload
	if m.Type == MsgCommandAMF3 && len(payload) > 0 {
		payload = payload[1:] // AMF3 command: a format byte, then AMF0
	}
	vals, err := DecodeAMF0All(payload)
	if err != nil {
		return nil, fmt.Errorf("rtmp client: command: %w", err)
	}
	name, _ := clientArg(vals, 0).(string)
	txn, _ := clientArg(vals, 1).(float64)
	cmd := &clientCommand{name: name, txn: txn, streamID: m.StreamID, values: vals}
	switch name {
	case "onStatus":
		return cmd, c.enqueue(m)
	case "_result", "_error":
		if _, ok := c.pending[txn]; !ok {
			return nil, nil // an answer to nothing we asked
		}
		delete(c.pending, txn)
		return cmd, nil
	}
	return nil, nil // onBWDone, onFCPublish, _checkbw, close, ...
}

// enqueueAggregate splits an aggregate message (7.1.6) and queues its
// sub-messages. The body is a series of
//
//	header (11 bytes) | message data | back pointer (4 bytes)
//
// where the header is laid out like an FLV tag header:
//
//	type (1) | payload length (3) | timestamp (3) | timestamp high byte (1) | stream id (3)
//
// and the back pointer is the size of the header plus data. The
// sub-messages' timestamps are shifted so that the first one has the
// aggregate's timestamp.
func (c *Client) enqueueAggregate(m Message) error {
	msgs, err := splitAggregate(m)
	if err != nil {
		return err
	}
	return c.enqueue(msgs...)
}

const clientAggHeaderLen = 11

// splitAggregate is the pure parser behind enqueueAggregate.
func splitAggregate(m Message) ([]Message, error) {
	var out []Message
	b := m.Payload
	var delta uint32
	for len(b) > 0 {
		if len(b) < clientAggHeaderLen {
			return nil, ClientProtocolError("aggregate: truncated sub-message header")
		}
		// type: 1 byte
		t := MessageType(b[0])
		// payload length: 3 bytes
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		// timestamp: 3 bytes, then its high byte
		ts := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6]) | uint32(b[7])<<24
		// stream id: 3 bytes, ignored: the aggregate's stream id applies
		if len(b)-clientAggHeaderLen < n+4 {
			return nil, ClientProtocolError("aggregate: sub-message longer than the aggregate")
		}
		if len(out) == 0 {
			delta = m.Timestamp - ts
		}
		payload := make([]byte, n)
		copy(payload, b[clientAggHeaderLen:])
		out = append(out, Message{Type: t, StreamID: m.StreamID, Timestamp: ts + delta, CSID: m.CSID, Payload: payload})
		// back pointer: 4 bytes, not checked (writers disagree on it)
		b = b[clientAggHeaderLen+n+4:]
	}
	return out, nil
}
