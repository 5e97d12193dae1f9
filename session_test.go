package main

// The RTMP command layer (RTMP 1.0 section 7.2): every command real
// clients send gets the answer they wait for.

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// nextCommand reads raw messages until a command named name arrives (the
// client's own reader drops the ones it does not wait for).
func nextCommand(t *testing.T, c *Client, name string) *clientCommand {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		m, err := c.rc.readMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		if m.Type != MsgCommandAMF0 {
			continue
		}
		vals, err := DecodeAMF0All(m.Payload)
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		if n, _ := clientArg(vals, 0).(string); n == name {
			return &clientCommand{name: n, values: vals, streamID: m.StreamID}
		}
	}
}

func dialTest(t *testing.T, url string) *Client {
	t.Helper()
	c, err := DialRTMP(ctxT(t, 5*time.Second), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSessionAnswersEveryCommand(t *testing.T) {
	srv := startServer(t, nil)
	c := dialTest(t, rtmpURL(srv, "/live/cmds"))

	// releaseStream and getStreamLength: _result (a number for the length)
	txn, _ := c.call(false, 0, "releaseStream", nil, "cmds")
	if _, err := c.awaitResult(txn); err != nil {
		t.Fatalf("releaseStream: %v", err)
	}
	txn, _ = c.call(false, 0, "getStreamLength", nil, "cmds")
	vals, err := c.awaitResult(txn)
	if n, ok := clientArg(vals, 3).(float64); err != nil || !ok || n != 0 {
		t.Fatalf("getStreamLength: %v %v", vals, err)
	}

	// FCPublish: _result, then onFCPublish with NetStream.Publish.Start
	c.call(false, 0, "FCPublish", nil, "cmds?sign=secret")
	cmd := nextCommand(t, c, "onFCPublish")
	if st := clientStatus(clientArg(cmd.values, 3), "status"); st.Code != "NetStream.Publish.Start" {
		t.Fatalf("onFCPublish: %+v", st)
	}

	// createStream: _result with stream id 1
	txn, _ = c.call(false, 0, "createStream", nil)
	vals, err = c.awaitResult(txn)
	if id, _ := clientArg(vals, 3).(float64); err != nil || id != 1 {
		t.Fatalf("createStream: %v %v", vals, err)
	}

	// an unknown command with a transaction id: _error, never silence
	txn, _ = c.call(false, 0, "noSuchCommand", nil)
	_, err = c.awaitResult(txn)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Call.Failed" {
		t.Fatalf("unknown command: %v", err)
	}

	// the connection is still usable: the same client can publish
	if err := c.Publish(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("publish after the other commands: %v", err)
	}
}

// A player can mute audio or video and pause; the session stays up and
// the answers come (receiveAudio has no reply; pause answers onStatus).
func TestSessionPlayControls(t *testing.T) {
	srv := startServer(t, nil)
	pub := testPublisher(t, rtmpURL(srv, "/live/ctl"))
	sendGOPs(t, pub, 0, 31, 30)
	p := testPlayer(t, rtmpURL(srv, "/live/ctl"))
	readMedia(t, p, 3+2)

	sid := p.StreamID()
	p.send(sid, "receiveAudio", 0, nil, false)
	p.send(sid, "pause", 0, nil, true, 0.0)
	cmd := nextCommand(t, p, "onStatus")
	if st := clientStatus(clientArg(cmd.values, 3), "status"); st.Code != "NetStream.Pause.Notify" {
		t.Fatalf("pause: %+v", st)
	}
	p.send(sid, "pause", 0, nil, false, 0.0)
	cmd = nextCommand(t, p, "onStatus")
	if st := clientStatus(clientArg(cmd.values, 3), "status"); st.Code != "NetStream.Unpause.Notify" {
		t.Fatalf("unpause: %+v", st)
	}
	// with audio muted, only video arrives
	sendGOPs(t, pub, 31, 30, 30)
	for _, m := range readMedia(t, p, 10) {
		if m.Type == MsgAudio {
			t.Fatal("audio after receiveAudio false")
		}
	}
}

// A tcUrl that is not a URL is refused with _error on connect and closes
// only that connection (Node-Media-Server 4.4.3 crashes on it).
func TestSessionBadTcUrl(t *testing.T) {
	srv := startServer(t, nil)
	pub := testPublisher(t, rtmpURL(srv, "/live/ok"))
	c, err := dialRaw(t, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	txn, _ := c.call(false, 0, "connect", Object{{"app", "live"}, {"tcUrl", "notaurl"}})
	_, err = c.awaitResult(txn)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" {
		t.Fatalf("connect with tcUrl notaurl: %v", err)
	}
	sendGOPs(t, pub, 0, 5, 30) // the other stream is untouched
}

// dialRaw returns a client that has done the handshake but not connect.
func dialRaw(t *testing.T, srv *Server) (*Client, error) {
	t.Helper()
	u, err := parseClientURL(rtmpURL(srv, "/live/x"))
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", u.HostPort, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := newClient(conn, u)
	if err := c.handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// A publisher that sends publish and its first media in one write: the
// session swaps in its big read buffer while the small one still holds
// the media's first bytes; none is lost or reordered.
func TestSessionPublishBurstAfterSwap(t *testing.T) {
	srv := startServer(t, nil)
	p := testPlayer(t, rtmpURL(srv, "/live/burst"))
	c := dialTest(t, rtmpURL(srv, "/live/burst"))
	if err := c.createStream(); err != nil {
		t.Fatal(err)
	}
	sid := c.StreamID()
	b, err := AppendAMF0All(nil, "publish", 0.0, nil, "burst", "live")
	must(t, err)
	msgs := []Message{
		{Type: MsgCommandAMF0, StreamID: sid, Payload: b},
		{Type: MsgVideo, StreamID: sid, Payload: testVideoHeader},
		{Type: MsgAudio, StreamID: sid, Payload: testAudioHeader},
	}
	const frames = 60 // well over sessionReadBuffer bytes in all
	for i := range frames {
		msgs = append(msgs, Message{Type: MsgVideo, StreamID: sid, Timestamp: uint32(i * 33), Payload: testVideoFrame(i, i%30 == 0)})
	}
	for i := range msgs {
		msgs[i].CSID = clientCSIDStream
		switch msgs[i].Type {
		case MsgVideo:
			msgs[i].CSID = clientCSIDVideo
		case MsgAudio:
			msgs[i].CSID = clientCSIDAudio
		}
	}
	must(t, c.rc.write(msgs...)) // one write: publish and media together

	media := readMedia(t, p, 2+frames)
	for i, m := range media[2:] {
		if m.Type != MsgVideo || frameNumber(m.Payload) != i {
			t.Fatalf("media %d: type %v frame %d, want video frame %d", i, m.Type, frameNumber(m.Payload), i)
		}
	}
}

// A command reply much bigger than the session's write buffer leaves in
// pieces but whole: an unknown command's _error names the command.
func TestSessionReplyBiggerThanWriteBuffer(t *testing.T) {
	srv := startServer(t, nil)
	c := dialTest(t, rtmpURL(srv, "/live/big"))
	name := strings.Repeat("n", 6*sessionWriteBuffer)
	txn, _ := c.call(false, 0, name, nil)
	_, err := c.awaitResult(txn)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Call.Failed" || !strings.Contains(se.Description, name) {
		t.Fatalf("unknown command of %d bytes: %v", len(name), err)
	}
}
