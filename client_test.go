package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ---- URL parsing ----

var clientURLTests = []struct {
	raw  string
	want clientURL // zero: must fail
}{
	// default port, app and name
	{"rtmp://h/live/x", clientURL{"h:1935", "live", "x", "rtmp://h:1935/live"}},
	// explicit port; the query stays with the name (auth signatures)
	{"rtmp://h:19350/live/x?sign=1-abc", clientURL{"h:19350", "live", "x?sign=1-abc", "rtmp://h:19350/live"}},
	// app is the first segment only, the name is the rest
	{"rtmp://h/app/sub/name", clientURL{"h:1935", "app", "sub/name", "rtmp://h:1935/app"}},
	// IPv6 literal keeps its brackets in host:port and tcUrl
	{"rtmp://[::1]:1936/live/x", clientURL{"[::1]:1936", "live", "x", "rtmp://[::1]:1936/live"}},
	// the scheme is case-insensitive (url.Parse lowercases it)
	{"RTMP://h/live/x", clientURL{"h:1935", "live", "x", "rtmp://h:1935/live"}},
	{"http://h/live/x", clientURL{}},  // not rtmp
	{"rtmps://h/live/x", clientURL{}}, // TLS is not supported
	{"h/live/x", clientURL{}},         // no scheme
	{"rtmp://h/live", clientURL{}},    // no name
	{"rtmp://h/live/", clientURL{}},   // empty name
	{"rtmp://h/live/x/", clientURL{}}, // name ending in a slash
	{"rtmp://h/", clientURL{}},        // no app
	{"rtmp://h", clientURL{}},         // no path
	{"rtmp:///live/x", clientURL{}},   // no host
	{"rtmp://h:0/live/x", clientURL{}},
	{"rtmp://h:70000/live/x", clientURL{}},
	{"rtmp://h:port/live/x", clientURL{}},
	{"rtmp://h/live/x\x7f", clientURL{}}, // control character
}

func TestRTMPClientParseURL(t *testing.T) {
	for _, tt := range clientURLTests {
		got, err := parseClientURL(tt.raw)
		if tt.want == (clientURL{}) {
			if err == nil {
				t.Errorf("%q: parsed as %+v, want an error", tt.raw, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

func FuzzParseClientURL(f *testing.F) {
	for _, tt := range clientURLTests {
		f.Add(tt.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseClientURL(raw)
		if err != nil {
			return
		}
		if u.App == "" || u.Name == "" || u.TCURL != "rtmp://"+u.HostPort+"/"+u.App {
			t.Fatalf("%q: inconsistent %+v", raw, u)
		}
	})
}

// ---- aggregate messages ----

// clAggSub builds one sub-message of an aggregate: FLV-style header,
// data, back pointer.
func clAggSub(t MessageType, ts uint32, data string) []byte {
	b := []byte{byte(t)}                                                    // type
	b = append(b, byte(len(data)>>16), byte(len(data)>>8), byte(len(data))) // length
	b = append(b, byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24))        // timestamp, high byte last
	b = append(b, 0, 0, 0)                                                  // stream id
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, uint32(11+len(data))) // back pointer
}

var clientAggTests = []struct {
	name    string
	ts      uint32
	payload []byte
	want    []Message // nil: must fail
}{
	{"empty", 5, nil, []Message{}},
	{"one sub-message keeps the aggregate's timestamp", 2000,
		clAggSub(MsgVideo, 1000, "v1"),
		[]Message{{Type: MsgVideo, Timestamp: 2000, StreamID: 1, CSID: 6, Payload: []byte("v1")}}},
	{"offsets are kept", 2000,
		append(clAggSub(MsgVideo, 1000, "v1"), clAggSub(MsgAudio, 1033, "a1")...),
		[]Message{
			{Type: MsgVideo, Timestamp: 2000, StreamID: 1, CSID: 6, Payload: []byte("v1")},
			{Type: MsgAudio, Timestamp: 2033, StreamID: 1, CSID: 6, Payload: []byte("a1")}}},
	{"timestamp high byte", 0x01000000,
		clAggSub(MsgAudio, 0x01000000, ""),
		[]Message{{Type: MsgAudio, Timestamp: 0x01000000, StreamID: 1, CSID: 6, Payload: []byte{}}}},
	{"truncated header", 0, []byte{9, 0, 0}, nil},
	{"data longer than the aggregate", 0, clAggSub(MsgVideo, 0, "abc")[:14], nil},
	{"back pointer missing", 0, clAggSub(MsgVideo, 0, "abc")[:14+1], nil},
}

func TestRTMPClientSplitAggregate(t *testing.T) {
	for _, tt := range clientAggTests {
		got, err := splitAggregate(Message{Type: MsgAggregate, Timestamp: tt.ts, StreamID: 1, CSID: 6, Payload: tt.payload})
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: got %v, want an error", tt.name, got)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func FuzzSplitAggregate(f *testing.F) {
	for _, tt := range clientAggTests {
		f.Add(tt.ts, tt.payload)
	}
	f.Fuzz(func(t *testing.T, ts uint32, p []byte) {
		msgs, err := splitAggregate(Message{Type: MsgAggregate, Timestamp: ts, Payload: p})
		if err != nil {
			return
		}
		n := 0
		for _, m := range msgs {
			n += clientAggHeaderLen + len(m.Payload) + 4
		}
		if n != len(p) || (len(msgs) > 0 && msgs[0].Timestamp != ts) {
			t.Fatalf("%d sub-messages of %d bytes from %d bytes", len(msgs), n, len(p))
		}
	})
}

// ---- a scripted server ----

// clPeer is the server side of one test connection: the real server
// handshake and chunk layer, and a script that plays the server's part.
type clPeer struct {
	conn  net.Conn
	rec   bytes.Buffer // every byte read after the handshake
	sent  int          // bytes written after the handshake
	cr    *ChunkReader
	cw    *ChunkWriter
	other []Message // non-command messages skipped by expectCmd
}

func (p *clPeer) Write(b []byte) (int, error) {
	n, err := p.conn.Write(b)
	p.sent += n
	return n, err
}

// clFake starts a one-connection server running script and returns the
// URL to dial (path appended) and the script's result.
func clFake(t *testing.T, path string, script func(p *clPeer) error) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		p := &clPeer{conn: conn}
		digest, err := serverHandshake(conn)
		if err == nil && !digest {
			err = errors.New("client did not send a digest handshake")
		}
		if err != nil {
			done <- err
			return
		}
		p.cr = NewChunkReader(io.TeeReader(conn, &p.rec), ChunkLimits{})
		p.cw = NewChunkWriter(p)
		done <- script(p)
	}()
	return "rtmp://" + ln.Addr().String() + path, done
}

// clWait returns the script's result, failing the test on error.
func clWait(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server script: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server script did not finish")
	}
}

func clCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// send writes messages on the chunk stream their type suggests.
func (p *clPeer) send(msgs ...Message) error {
	for i := range msgs {
		csid := uint32(3)
		switch msgs[i].Type {
		case MsgSetChunkSize, MsgAck, MsgUserControl, MsgWindowAckSize, MsgSetPeerBandwidth:
			csid = csidProtocolControl
		case MsgAudio:
			csid = 4
		case MsgVideo, MsgAggregate:
			csid = 6
		case MsgDataAMF0:
			csid = 5
		}
		if err := p.cw.WriteMessage(csid, &msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

// expectCmd reads until a command message, which must be name.
func (p *clPeer) expectCmd(name string) ([]any, Message, error) {
	for {
		m, err := p.cr.ReadMessage()
		if err != nil {
			return nil, m, fmt.Errorf("waiting for %s: %w", name, err)
		}
		if m.Type != MsgCommandAMF0 {
			p.other = append(p.other, m)
			continue
		}
		vals, err := DecodeAMF0All(m.Payload)
		if err != nil {
			return nil, m, err
		}
		if vals[0] != name {
			return nil, m, fmt.Errorf("got command %v, want %s", vals, name)
		}
		return vals, m, nil
	}
}

// expectArgs checks a command's values after the command object.
func (p *clPeer) expectArgs(name string, txn float64, args ...any) (Message, error) {
	vals, m, err := p.expectCmd(name)
	if err != nil {
		return m, err
	}
	want := append([]any{name, txn, nil}, args...)
	if !reflect.DeepEqual(vals, want) {
		return m, fmt.Errorf("got %#v, want %#v", vals, want)
	}
	return m, nil
}

func clCmd(sid uint32, vals ...any) Message {
	b, err := AppendAMF0All(nil, vals...)
	if err != nil {
		panic(err)
	}
	return Message{Type: MsgCommandAMF0, StreamID: sid, Payload: b}
}

func clOnStatus(sid uint32, level, code string) Message {
	return clCmd(sid, "onStatus", 0.0, nil, Object{{"level", level}, {"code", code}, {"description", "d:" + code}})
}

// acceptConnect checks connect and answers it the way servers do.
func (p *clPeer) acceptConnect(app, tcURL string, window uint32) error {
	vals, m, err := p.expectCmd("connect")
	if err != nil {
		return err
	}
	obj, _ := vals[2].(Object)
	want := Object{{"app", app}, {"type", "nonprivate"}, {"flashVer", "FMLE/3.0 (compatible; rtmphub)"},
		{"tcUrl", tcURL}, {"fpad", false}, {"capabilities", 15.0}, {"audioCodecs", 4071.0},
		{"videoCodecs", 252.0}, {"videoFunction", 1.0}, {"objectEncoding", 0.0}}
	if vals[1] != 1.0 || m.StreamID != 0 || !reflect.DeepEqual(obj, want) {
		return fmt.Errorf("connect: %#v on stream %d", vals, m.StreamID)
	}
	if err := p.send(windowAckSizeMessage(window), setPeerBandwidthMessage(2500000, BandwidthDynamic)); err != nil {
		return err
	}
	if err := p.cw.SetChunkSize(4096); err != nil {
		return err
	}
	return p.send(clCmd(0, "_result", 1.0, Object{{"fmsVer", "FMS/3,0,1,123"}},
		Object{{"level", "status"}, {"code", "NetConnection.Connect.Success"}}))
}

// createStream answers createStream (transaction txn) with stream id 1.
func (p *clPeer) createStream(txn float64) error {
	if _, err := p.expectArgs("createStream", txn); err != nil {
		return err
	}
	return p.send(clCmd(0, "_result", txn, nil, 1.0))
}

// hasControl reports whether a control message with payload was read.
func (p *clPeer) hasControl(t MessageType, payload []byte) bool {
	for _, m := range p.other {
		if m.Type == t && bytes.Equal(m.Payload, payload) {
			return true
		}
	}
	return false
}

// The Set Chunk Size the client sends after connect, as golden bytes:
// fmt 0 on csid 2, timestamp 0, length 4, type 1, stream 0, 4096.
var clSetChunkSize4096 = []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0}

// ---- publish ----

func TestRTMPClientPublish(t *testing.T) {
	const name = "x?sign=1-abc"
	url, done := clFake(t, "/live/"+name, func(p *clPeer) error {
		tcURL := "rtmp://" + p.conn.LocalAddr().String() + "/live"
		if err := p.acceptConnect("live", tcURL, 2500000); err != nil {
			return err
		}
		if _, err := p.expectArgs("releaseStream", 2, name); err != nil {
			return err
		}
		if err := p.send(clCmd(0, "_result", 2.0, nil, Undefined{})); err != nil {
			return err
		}
		if _, err := p.expectArgs("FCPublish", 3, name); err != nil {
			return err
		}
		// a ping and the FCPublish answers, before createStream's
		err := p.send(userControlMessage(PingRequest, 12345), clCmd(0, "_result", 3.0, nil, Undefined{}),
			clCmd(0, "onFCPublish", 0.0, nil, Object{{"code", "NetStream.Publish.Start"}}))
		if err != nil {
			return err
		}
		if err := p.createStream(4); err != nil {
			return err
		}
		m, err := p.expectArgs("publish", 5, name, "live")
		if err != nil {
			return err
		}
		if m.StreamID != 1 || m.CSID != clientCSIDStream {
			return fmt.Errorf("publish on stream %d csid %d", m.StreamID, m.CSID)
		}
		err = p.send(userControlMessage(StreamBegin, 1), clOnStatus(1, "status", "NetStream.Publish.Start"))
		if err != nil {
			return err
		}
		if err := p.expectPublished(); err != nil {
			return err
		}
		if _, err := p.expectArgs("FCUnpublish", 0, name); err != nil {
			return err
		}
		if _, err := p.expectArgs("deleteStream", 0, 1.0); err != nil {
			return err
		}
		if m, err := p.cr.ReadMessage(); err != io.EOF {
			return fmt.Errorf("after deleteStream: %v, %v; want EOF", m, err)
		}
		// what the client said besides commands
		if !bytes.Contains(p.rec.Bytes(), clSetChunkSize4096) {
			return errors.New("no Set Chunk Size 4096 from the client")
		}
		if !p.hasControl(MsgUserControl, userControlMessage(PingResponse, 12345).Payload) {
			return errors.New("no Ping Response")
		}
		if !p.hasControl(MsgWindowAckSize, windowAckSizeMessage(2500000).Payload) {
			return errors.New("no Window Acknowledgement Size answering Set Peer Bandwidth")
		}
		return nil
	})
	c, err := DialRTMP(clCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMedia(MsgVideo, 0, []byte{0x17}); !errors.Is(err, ErrNoStream) {
		t.Errorf("WriteMedia before Publish: %v, want ErrNoStream", err)
	}
	if err := c.Publish(clCtx(t)); err != nil {
		t.Fatal(err)
	}
	if c.StreamID() != 1 {
		t.Errorf("StreamID %d, want 1", c.StreamID())
	}
	if err := c.WriteMedia(MsgCommandAMF0, 0, nil); err == nil {
		t.Error("WriteMedia accepted a command message")
	}
	must2(t, c.WriteMetadata(ECMAArray{{"width", 640.0}}, 0))
	must2(t, c.WriteMedia(MsgVideo, 40, bytes.Repeat([]byte{0x27}, 10000)))
	must2(t, c.WriteMedia(MsgAudio, 0xFFFFFF+5, []byte{0xaf, 1, 2}))
	must2(t, c.Close())
	clWait(t, done)
}

func must2(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// expectPublished checks the media the publish test sends.
func (p *clPeer) expectPublished() error {
	meta, _ := AppendAMF0All(nil, "@setDataFrame", "onMetaData", ECMAArray{{"width", 640.0}})
	want := []Message{
		{Type: MsgDataAMF0, StreamID: 1, Timestamp: 0, CSID: 5, Payload: meta},
		{Type: MsgVideo, StreamID: 1, Timestamp: 40, CSID: 6, Payload: bytes.Repeat([]byte{0x27}, 10000)},
		{Type: MsgAudio, StreamID: 1, Timestamp: 0xFFFFFF + 5, CSID: 4, Payload: []byte{0xaf, 1, 2}},
	}
	for i, w := range want {
		m, err := p.cr.ReadMessage()
		if err != nil {
			return fmt.Errorf("media %d: %w", i, err)
		}
		if !reflect.DeepEqual(m, w) {
			return fmt.Errorf("media %d: got %v %d %d %d (%d bytes), want %v %d %d %d", i,
				m.Type, m.StreamID, m.Timestamp, m.CSID, len(m.Payload), w.Type, w.StreamID, w.Timestamp, w.CSID)
		}
	}
	return nil
}

// A refused publish is a *StatusError with the server's code.
func TestRTMPClientPublishBadName(t *testing.T) {
	url, done := clFake(t, "/live/taken", func(p *clPeer) error {
		if err := p.acceptConnect("live", "rtmp://"+p.conn.LocalAddr().String()+"/live", 2500000); err != nil {
			return err
		}
		// releaseStream and FCPublish get no answer: the client must not wait
		if _, err := p.expectArgs("releaseStream", 2, "taken"); err != nil {
			return err
		}
		if _, err := p.expectArgs("FCPublish", 3, "taken"); err != nil {
			return err
		}
		if err := p.createStream(4); err != nil {
			return err
		}
		if _, err := p.expectArgs("publish", 5, "taken", "live"); err != nil {
			return err
		}
		return p.send(clOnStatus(1, "error", "NetStream.Publish.BadName"))
	})
	c, err := DialRTMP(clCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Publish(clCtx(t))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" || se.Level != "error" ||
		se.Description != "d:NetStream.Publish.BadName" {
		t.Fatalf("Publish: %v, want a StatusError NetStream.Publish.BadName", err)
	}
	if !strings.Contains(err.Error(), "NetStream.Publish.BadName") {
		t.Errorf("error text %q lacks the code", err)
	}
	clWait(t, done)
}

// A rejected connect is a *StatusError too.
func TestRTMPClientConnectRejected(t *testing.T) {
	url, done := clFake(t, "/bad/x", func(p *clPeer) error {
		if _, _, err := p.expectCmd("connect"); err != nil {
			return err
		}
		return p.send(clCmd(0, "_error", 1.0, nil,
			Object{{"level", "error"}, {"code", "NetConnection.Connect.Rejected"}, {"description", "no"}}))
	})
	_, err := DialRTMP(clCtx(t), url)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" {
		t.Fatalf("DialRTMP: %v, want NetConnection.Connect.Rejected", err)
	}
	clWait(t, done)
}

// The context bounds connect: a server that never answers costs the
// deadline, not forever.
func TestRTMPClientConnectDeadline(t *testing.T) {
	url, _ := clFake(t, "/live/x", func(p *clPeer) error {
		for {
			if _, err := p.cr.ReadMessage(); err != nil {
				return nil
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := DialRTMP(ctx, url)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialRTMP: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// Cancelling the context interrupts a Play that gets no answer.
func TestRTMPClientPlayCancel(t *testing.T) {
	url, _ := clFake(t, "/live/x", func(p *clPeer) error {
		if err := p.acceptConnect("live", "rtmp://"+p.conn.LocalAddr().String()+"/live", 2500000); err != nil {
			return err
		}
		for {
			if _, err := p.cr.ReadMessage(); err != nil {
				return nil
			}
		}
	})
	c, err := DialRTMP(clCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := c.Play(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Play: %v, want context.Canceled", err)
	}
}

// ---- play ----

// clPlayTranscript is what the play test's server sends after play, and
// what ReadMessage must return (aggregates split; the ping answered, not
// returned). Media carries 6000 bytes so that the 5000-byte window is
// crossed and the client must acknowledge.
func clPlayTranscript() (sent, want []Message) {
	big := bytes.Repeat([]byte{0x17}, 6000)
	access := clCmd(1, "|RtmpSampleAccess", true, true)
	access.Type = MsgDataAMF0
	meta, _ := AppendAMF0All(nil, "onMetaData", ECMAArray{{"width", 640.0}})
	agg := append(clAggSub(MsgVideo, 1000, "v1"), clAggSub(MsgVideo, 1033, "v2")...)
	sent = []Message{
		userControlMessage(StreamBegin, 1),
		clOnStatus(1, "status", "NetStream.Play.Reset"),
		clOnStatus(1, "status", "NetStream.Play.Start"),
		access,
		{Type: MsgDataAMF0, StreamID: 1, Payload: meta},
		{Type: MsgVideo, StreamID: 1, Timestamp: 0, Payload: big},
		userControlMessage(PingRequest, 7),
		{Type: MsgAudio, StreamID: 1, Timestamp: 10, Payload: []byte{0xaf, 1}},
		{Type: MsgAggregate, StreamID: 1, Timestamp: 2000, Payload: agg},
		userControlMessage(StreamEOF, 1),
		clOnStatus(1, "status", "NetStream.Play.UnpublishNotify"),
	}
	want = append([]Message{}, sent[:6]...)
	want = append(want, sent[7],
		Message{Type: MsgVideo, StreamID: 1, Timestamp: 2000, Payload: []byte("v1")},
		Message{Type: MsgVideo, StreamID: 1, Timestamp: 2033, Payload: []byte("v2")},
		sent[9], sent[10])
	return sent, want
}

func TestRTMPClientPlay(t *testing.T) {
	sent, want := clPlayTranscript()
	url, done := clFake(t, "/live/x", func(p *clPeer) error {
		if err := p.acceptConnect("live", "rtmp://"+p.conn.LocalAddr().String()+"/live", 5000); err != nil {
			return err
		}
		if err := p.createStream(2); err != nil {
			return err
		}
		m, err := p.expectArgs("play", 3, "x", -2.0)
		if err != nil {
			return err
		}
		if m.StreamID != 1 {
			return fmt.Errorf("play on stream %d", m.StreamID)
		}
		if err := p.send(sent...); err != nil {
			return err
		}
		return p.expectPlayerReplies()
	})
	c, err := DialRTMP(clCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Play(clCtx(t)); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Type != w.Type || m.StreamID != w.StreamID || m.Timestamp != w.Timestamp || !bytes.Equal(m.Payload, w.Payload) {
			t.Fatalf("message %d: got %v sid %d ts %d %q, want %v sid %d ts %d %q", i,
				m.Type, m.StreamID, m.Timestamp, clShort(m.Payload), w.Type, w.StreamID, w.Timestamp, clShort(w.Payload))
		}
	}
	if st, ok := StatusOf(want[len(want)-1]); !ok || st.Code != "NetStream.Play.UnpublishNotify" || st.Level != "status" {
		t.Errorf("StatusOf: %+v %v", st, ok)
	}
	if _, ok := StatusOf(want[5]); ok {
		t.Error("StatusOf accepted a video message")
	}
	must2(t, c.Close())
	clWait(t, done)
}

func clShort(b []byte) []byte { return b[:min(len(b), 24)] }

// expectPlayerReplies reads Set Buffer Length, the Acknowledgement, the
// Ping Response and, at Close, deleteStream.
func (p *clPeer) expectPlayerReplies() error {
	if _, err := p.expectArgs("deleteStream", 0, 1.0); err != nil {
		return err
	}
	if !p.hasControl(MsgUserControl, userControlMessage(SetBufferLength, 1, 3000).Payload) {
		return errors.New("no Set Buffer Length")
	}
	if !p.hasControl(MsgUserControl, userControlMessage(PingResponse, 7).Payload) {
		return errors.New("no Ping Response")
	}
	for _, m := range p.other {
		if m.Type != MsgAck {
			continue
		}
		if seq := int(binary.BigEndian.Uint32(m.Payload)); seq < 5000 || seq > p.sent {
			return fmt.Errorf("acknowledged %d bytes; sent %d, window 5000", seq, p.sent)
		}
		return nil
	}
	return errors.New("no Acknowledgement")
}
