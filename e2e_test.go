package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// An early player gets every message in order; a late player gets
// metadata, both sequence headers, then the cached GOP from its keyframe.
func TestRTMPPublishPlay(t *testing.T) {
	srv := startServer(t, nil)
	early := testPlayer(t, rtmpURL(srv, "/live/cam"))
	pub := testPublisher(t, rtmpURL(srv, "/live/cam?sign=123-abc"))
	sendGOPs(t, pub, 0, 45, 30) // keyframes at 0 and 30

	got := readMedia(t, early, 3+90)
	checkPrologue(t, got)
	for i, m := range got[3:] {
		n := i / 2
		if frameNumber(m.Payload) != n || m.Timestamp != uint32(n*33) {
			t.Fatalf("early message %d: frame %d ts %d, want %d", i, frameNumber(m.Payload), m.Timestamp, n)
		}
	}

	late := testPlayer(t, rtmpURL(srv, "/live/cam"))
	got = readMedia(t, late, 3+30)
	checkPrologue(t, got)
	first := got[3]
	if first.Type != MsgVideo || first.Payload[0] != 0x17 || frameNumber(first.Payload) != 30 {
		t.Fatalf("late player's first frame: type %v % x", first.Type, first.Payload)
	}
}

// checkPrologue checks onMetaData (not @setDataFrame), then the video and
// audio sequence headers.
func checkPrologue(t *testing.T, got []Message) {
	t.Helper()
	meta, _, err := DecodeAMF0(got[0].Payload)
	if got[0].Type != MsgDataAMF0 || err != nil || meta != "onMetaData" {
		t.Fatalf("first message: %v %q", got[0].Type, got[0].Payload)
	}
	if !bytes.Equal(got[1].Payload, testVideoHeader) || !bytes.Equal(got[2].Payload, testAudioHeader) {
		t.Fatalf("headers: % x / % x", got[1].Payload, got[2].Payload)
	}
}

// A second publisher is refused with BadName and nothing it sends
// reaches the players of the first.
func TestSecondPublisherRefused(t *testing.T) {
	srv := startServer(t, nil)
	pub := testPublisher(t, rtmpURL(srv, "/live/one"))
	player := testPlayer(t, rtmpURL(srv, "/live/one"))

	intruder, err := DialRTMP(ctxT(t, 5*time.Second), rtmpURL(srv, "/live/one"))
	must(t, err)
	defer intruder.Close()
	err = intruder.Publish(ctxT(t, 5*time.Second))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
		t.Fatalf("second publish: %v, want NetStream.Publish.BadName", err)
	}
	// whatever the intruder still manages to send must not arrive
	intruder.WriteMedia(MsgVideo, 0, []byte{0x17, 0x00, 0, 0, 0, 0xde, 0xad})
	sendGOPs(t, pub, 0, 31, 30)
	for _, m := range readMedia(t, player, 3+62) {
		if bytes.Contains(m.Payload, []byte{0xde, 0xad}) {
			t.Fatal("the refused publisher's message reached a player")
		}
	}
}

// When the publisher leaves, an RTMP player gets StreamEOF and
// UnpublishNotify; a new publisher brings PublishNotify and new headers.
func TestRepublish(t *testing.T) {
	srv := startServer(t, nil)
	player := testPlayer(t, rtmpURL(srv, "/live/re"))
	pub := testPublisher(t, rtmpURL(srv, "/live/re"))
	sendGOPs(t, pub, 0, 5, 30)
	readMedia(t, player, 3+10)
	pub.Close()
	waitStatus(t, player, "NetStream.Play.UnpublishNotify")

	pub2 := testPublisher(t, rtmpURL(srv, "/live/re"))
	sendGOPs(t, pub2, 90, 2, 30)
	waitStatus(t, player, "NetStream.Play.PublishNotify")
	got := readMedia(t, player, 3+4)
	checkPrologue(t, got)
	if frameNumber(got[3].Payload) != 90 {
		t.Fatalf("after republish, first frame %d", frameNumber(got[3].Payload))
	}
}

// waitStatus reads until an onStatus with code arrives.
func waitStatus(t *testing.T, c *Client, code string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", code, err)
		}
		if m.Type == MsgCommandAMF0 && bytes.Contains(m.Payload, []byte(code)) {
			return
		}
	}
	t.Fatalf("no %s", code)
}

// HTTP-FLV and WS-FLV carry the same FLV: header with both flags, then
// onMetaData, headers, and the GOP from its keyframe.
func TestHTTPAndWSFLV(t *testing.T) {
	srv := startServer(t, nil)
	pub := testPublisher(t, rtmpURL(srv, "/live/f"))
	sendGOPs(t, pub, 0, 40, 30)
	time.Sleep(100 * time.Millisecond)

	body := httpGetFLV(t, httpURL(srv, "/live/f.flv?sign=1-2"))
	ws := dialWS(t, srv.HTTPAddr(), "/live/f.flv")
	for _, r := range []io.Reader{body, ws} {
		h := readFLVHeader(t, r)
		if !h.HasAudio || !h.HasVideo {
			t.Fatalf("flv header flags: %+v", h)
		}
		tags := readFLVTags(t, r, 3+20)
		if tags[0].Type != TagScript || !bytes.HasPrefix(tags[0].Data, []byte{2, 0, 10, 'o', 'n'}) {
			t.Fatalf("first tag: %v % x", tags[0].Type, tags[0].Data[:8])
		}
		if !bytes.Equal(tags[1].Data, testVideoHeader) || !bytes.Equal(tags[2].Data, testAudioHeader) {
			t.Fatal("sequence headers differ")
		}
		if tags[3].Type != TagVideo || frameNumber(tags[3].Data) != 30 || tags[3].Data[0] != 0x17 {
			t.Fatalf("first frame: % x", tags[3].Data)
		}
	}
}

// Bad requests get 4xx; bad RTMP input closes only its own connection.
func TestMalformedInputIsolated(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.HandshakeTimeout.Duration = time.Second })
	pub := testPublisher(t, rtmpURL(srv, "/live/safe"))
	player := testPlayer(t, rtmpURL(srv, "/live/safe"))

	inputs := map[string][]byte{
		"garbage":       bytes.Repeat([]byte{0xff}, 4000),
		"wrong version": append([]byte{6}, make([]byte, 1536)...),
		"truncated":     {3, 0, 0},
	}
	for name, in := range inputs {
		c, err := net.Dial("tcp", srv.RTMPAddr())
		must(t, err)
		c.Write(in)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: connection not closed", name)
		}
		c.Close()
	}
	// NMS 4.4.3 crashes on the first one; here it is a valid path whose
	// player waits for a publisher.
	for p, want := range map[string]int{"/a.b/c.flv": 200, "/x": 404, "/live/a/b.flv": 404,
		"/live/..flv": 404, "/live/%2e%2e.flv": 404, "/live/a%2Fb.flv": 404, "/live/c.mkv": 404} {
		if code, err := httpGet(srv, p); code != want {
			t.Errorf("GET %s: %d %v, want %d", p, code, err, want)
		}
	}
	sendGOPs(t, pub, 0, 31, 30)
	readMedia(t, player, 3+62)
}

func httpGet(srv *Server, path string) (int, error) {
	c, err := net.Dial("tcp", srv.HTTPAddr())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 12)
	if _, err := io.ReadFull(c, buf); err != nil {
		return 0, err
	}
	var code int
	_, err = fmt.Sscan(strings.TrimPrefix(string(buf), "HTTP/1.1 "), &code)
	return code, err
}
