package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// wsGolden is the examples of RFC 6455 section 5.7, byte for byte. The
// RFC leaves the binary payloads unspecified; wsPattern fills them.
var wsGolden = []struct {
	name    string
	wire    []byte // exactly as in the RFC
	masked  bool   // MASK bit set in wire
	fin     bool
	op      WSOpcode
	payload []byte
}{
	{
		name: "single-frame unmasked text",
		wire: []byte{
			0x81,                         // FIN, opcode 1 (text)
			0x05,                         // MASK 0, length 5
			0x48, 0x65, 0x6c, 0x6c, 0x6f, // "Hello"
		},
		fin: true, op: WSText, payload: []byte("Hello"),
	},
	{
		name: "single-frame masked text",
		wire: []byte{
			0x81,                   // FIN, opcode 1 (text)
			0x85,                   // MASK 1, length 5
			0x37, 0xfa, 0x21, 0x3d, // masking key
			0x7f, 0x9f, 0x4d, 0x51, 0x58, // "Hello" XOR key
		},
		masked: true, fin: true, op: WSText, payload: []byte("Hello"),
	},
	{
		name: "fragmented unmasked text, first fragment",
		wire: []byte{
			0x01,             // FIN 0, opcode 1 (text)
			0x03,             // MASK 0, length 3
			0x48, 0x65, 0x6c, // "Hel"
		},
		fin: false, op: WSText, payload: []byte("Hel"),
	},
	{
		name: "fragmented unmasked text, last fragment",
		wire: []byte{
			0x80,       // FIN, opcode 0 (continuation)
			0x02,       // MASK 0, length 2
			0x6c, 0x6f, // "lo"
		},
		fin: true, op: WSContinuation, payload: []byte("lo"),
	},
	{
		name: "unmasked ping",
		wire: []byte{
			0x89,                         // FIN, opcode 9 (ping)
			0x05,                         // MASK 0, length 5
			0x48, 0x65, 0x6c, 0x6c, 0x6f, // "Hello"
		},
		fin: true, op: WSPing, payload: []byte("Hello"),
	},
	{
		name: "masked pong",
		wire: []byte{
			0x8a,                   // FIN, opcode 10 (pong)
			0x85,                   // MASK 1, length 5
			0x37, 0xfa, 0x21, 0x3d, // masking key
			0x7f, 0x9f, 0x4d, 0x51, 0x58, // "Hello" XOR key
		},
		masked: true, fin: true, op: WSPong, payload: []byte("Hello"),
	},
	{
		name: "256 bytes binary, 16-bit length",
		wire: append([]byte{
			0x82,       // FIN, opcode 2 (binary)
			0x7E,       // MASK 0, length 126: 16-bit length follows
			0x01, 0x00, // 256
		}, wsPattern(256)...),
		fin: true, op: WSBinary, payload: wsPattern(256),
	},
	{
		name: "64 KiB binary, 64-bit length",
		wire: append([]byte{
			0x82,                                           // FIN, opcode 2 (binary)
			0x7F,                                           // MASK 0, length 127: 64-bit length follows
			0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // 65536
		}, wsPattern(65536)...),
		fin: true, op: WSBinary, payload: wsPattern(65536),
	},
}

// wsPattern is n deterministic payload bytes.
func wsPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// wsHeaderLen is the size of a frame header (with masking key, if any).
func wsHeaderLen(wire []byte) int {
	n := 2
	switch wire[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if wire[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// wsMaskWire turns an unmasked frame into the masked frame a client
// would send with key.
func wsMaskWire(wire []byte, key [4]byte) []byte {
	h := wsHeaderLen(wire)
	out := append([]byte{}, wire[:h]...)
	out[1] |= 0x80
	out = append(out, key[:]...)
	payload := append([]byte{}, wire[h:]...)
	wsMask(payload, key)
	return append(out, payload...)
}

// wsUnmaskWire turns a masked frame into its unmasked (server) form.
func wsUnmaskWire(wire []byte) []byte {
	h := wsHeaderLen(wire)
	out := append([]byte{}, wire[:h-4]...)
	out[1] &^= 0x80
	payload := append([]byte{}, wire[h:]...)
	wsMask(payload, [4]byte(wire[h-4:h]))
	return append(out, payload...)
}

var wsTestKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func TestWSGoldenDecode(t *testing.T) {
	for _, g := range wsGolden {
		t.Run(g.name, func(t *testing.T) {
			client := g.wire
			if !g.masked {
				// a server must refuse an unmasked client frame
				_, _, err := decodeWSFrame(g.wire, 1<<20)
				wantWSCode(t, err, CloseProtocolError)
				client = wsMaskWire(g.wire, wsTestKey)
			}
			in := append(append([]byte{}, client...), 0xAB, 0xCD)
			f, rest, err := decodeWSFrame(in, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if f.Fin != g.fin || f.Opcode != g.op || !bytes.Equal(f.Payload, g.payload) {
				t.Errorf("got fin=%v %v %d bytes, want fin=%v %v %d bytes",
					f.Fin, f.Opcode, len(f.Payload), g.fin, g.op, len(g.payload))
			}
			if !bytes.Equal(rest, []byte{0xAB, 0xCD}) {
				t.Errorf("rest %x", rest)
			}
			if !bytes.Equal(in[:len(client)], client) {
				t.Error("decodeWSFrame modified its input")
			}
			for cut := range min(len(client), 20) {
				if _, _, err := decodeWSFrame(client[:cut], 1<<20); err != io.ErrUnexpectedEOF {
					t.Errorf("%d of %d bytes: err %v, want io.ErrUnexpectedEOF", cut, len(client), err)
				}
			}
		})
	}
}

func TestWSGoldenEncode(t *testing.T) {
	for _, g := range wsGolden {
		t.Run(g.name, func(t *testing.T) {
			server := g.wire
			if g.masked {
				server = wsUnmaskWire(g.wire)
			}
			prefix := []byte("pre")
			got := appendWSHeader(append([]byte{}, prefix...), g.fin, g.op, len(g.payload))
			got = append(got, g.payload...)
			if !bytes.Equal(got, append(prefix, server...)) {
				t.Errorf("appendWSHeader+payload:\n got % x\nwant % x", wsHead(got[3:]), wsHead(server))
			}
			if g.fin {
				if got := appendWSFrame(nil, g.op, g.payload); !bytes.Equal(got, server) {
					t.Errorf("appendWSFrame:\n got % x\nwant % x", wsHead(got), wsHead(server))
				}
			}
		})
	}
}

// wsHead shortens long frames in failure messages.
func wsHead(b []byte) []byte { return b[:min(len(b), 16)] }

func TestWSAcceptKey(t *testing.T) {
	// Section 1.3's example key and accept value.
	if got := wsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("wsAcceptKey = %q", got)
	}
}

func TestWSLengthBoundaries(t *testing.T) {
	for _, c := range []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x82, 0x00}},
		{125, []byte{0x82, 125}},
		{126, []byte{0x82, 126, 0x00, 126}},
		{65535, []byte{0x82, 126, 0xff, 0xff}},
		{65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		if got := appendWSHeader(nil, true, WSBinary, c.n); !bytes.Equal(got, c.head) {
			t.Errorf("n=%d: % x, want % x", c.n, got, c.head)
		}
	}
}

func TestWSClose(t *testing.T) {
	if got, want := appendWSClose([]byte{1}, CloseGoingAway, "bye"), []byte{1, 0x88, 5, 0x03, 0xe9, 'b', 'y', 'e'}; !bytes.Equal(got, want) {
		t.Errorf("appendWSClose = % x, want % x", got, want)
	}
	if got := appendWSClose(nil, 0, "ignored"); !bytes.Equal(got, []byte{0x88, 0}) {
		t.Errorf("no-status close = % x", got)
	}
	// a long reason is cut to fit 125 bytes without splitting a character
	f := appendWSClose(nil, CloseNormal, strings.Repeat("é", 100))
	if f[1] != 124 || len(f) != 126 {
		t.Fatalf("long reason: length byte %d, frame %d bytes", f[1], len(f))
	}
	code, reason, err := parseWSClose(f[2:])
	if err != nil || code != CloseNormal || reason != strings.Repeat("é", 61) {
		t.Errorf("parse back: %v %q %v", code, reason, err)
	}
}

func TestWSStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{WSBinary.String(), "binary"},
		{WSOpcode(3).String(), "opcode(0x3)"},
		{CloseTooBig.String(), "message too big"},
		{CloseCode(4000).String(), "close code 4000"},
		{(&WSError{CloseProtocolError, "x"}).Error(), "websocket: protocol error (1002): x"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

// wantWSCode fails unless err is a *WSError with the given code.
func wantWSCode(t testing.TB, err error, code CloseCode) {
	t.Helper()
	var we *WSError
	if !errors.As(err, &we) || we.Code != code {
		t.Fatalf("err %v, want WSError %d", err, code)
	}
}

// wsClientFrame builds a masked client frame.
func wsClientFrame(fin bool, op WSOpcode, payload []byte) []byte {
	return wsMaskWire(append(appendWSHeader(nil, fin, op, len(payload)), payload...), [4]byte{1, 2, 3, 4})
}

// wsTestCloseBody is a close payload: code and reason.
func wsTestCloseBody(code CloseCode, reason string) []byte {
	return appendWSCloseBody(nil, code, reason)
}

// wsSent is one frame wsServeReads asked to send.
type wsSent struct {
	op      WSOpcode
	payload string
}

func TestWSServeReads(t *testing.T) {
	hello := []byte("Hello")
	closeOK := wsClientFrame(true, WSClose, wsTestCloseBody(CloseNormal, ""))
	echoOK := wsSent{WSClose, string(wsTestCloseBody(CloseNormal, ""))}
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	for _, c := range []struct {
		name string
		in   []byte
		max  int
		want []wsSent
		code CloseCode // 0: returns nil; 1: io.EOF; 2: io.ErrUnexpectedEOF
	}{
		{"ping gets pong", cat(wsClientFrame(true, WSPing, []byte("hi")), closeOK), 100,
			[]wsSent{{WSPong, "hi"}, echoOK}, 0},
		{"close echoes its code", wsClientFrame(true, WSClose, wsTestCloseBody(CloseGoingAway, "bye")), 100,
			[]wsSent{{WSClose, "\x03\xe9"}}, 0},
		{"empty close gets 1000", wsClientFrame(true, WSClose, nil), 100, []wsSent{echoOK}, 0},
		{"fragmented text with ping inside", cat(wsClientFrame(false, WSText, []byte("Hel")), wsClientFrame(true, WSPing, []byte("p")),
			wsClientFrame(false, WSContinuation, []byte("l")), wsClientFrame(true, WSContinuation, []byte("o")), closeOK), 100,
			[]wsSent{{WSPong, "p"}, echoOK}, 0},
		{"UTF-8 split across fragments", cat(wsClientFrame(false, WSText, []byte("\xc3")), wsClientFrame(true, WSContinuation, []byte("\xa9")), closeOK), 100,
			[]wsSent{echoOK}, 0},
		{"pong and binary ignored", cat(wsClientFrame(true, WSPong, nil), wsClientFrame(true, WSBinary, make([]byte, 100)), closeOK), 100,
			[]wsSent{echoOK}, 0},
		{"message at the limit", cat(wsClientFrame(false, WSBinary, make([]byte, 60)), wsClientFrame(true, WSContinuation, make([]byte, 40)), closeOK), 100,
			[]wsSent{echoOK}, 0},
		{"oversized frame", wsClientFrame(true, WSBinary, make([]byte, 101)), 100, nil, CloseTooBig},
		{"oversized fragmented message", cat(wsClientFrame(false, WSBinary, make([]byte, 60)), wsClientFrame(true, WSContinuation, make([]byte, 41))), 100, nil, CloseTooBig},
		{"bad opcode", wsClientFrame(true, WSOpcode(3), nil), 100, nil, CloseProtocolError},
		{"bad control opcode", wsClientFrame(true, WSOpcode(0xB), nil), 100, nil, CloseProtocolError},
		{"RSV1 set", func() []byte { b := wsClientFrame(true, WSBinary, hello); b[0] |= 0x40; return b }(), 100, nil, CloseProtocolError},
		{"unmasked", appendWSFrame(nil, WSBinary, hello), 100, nil, CloseProtocolError},
		{"64-bit length top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, 100, nil, CloseProtocolError},
		{"continuation without message", wsClientFrame(true, WSContinuation, hello), 100, nil, CloseProtocolError},
		{"new message inside fragmented", cat(wsClientFrame(false, WSText, hello), wsClientFrame(true, WSBinary, hello)), 100, nil, CloseProtocolError},
		{"fragmented ping", wsClientFrame(false, WSPing, hello), 100, nil, CloseProtocolError},
		{"126-byte ping", wsClientFrame(true, WSPing, make([]byte, 126)), 1000, nil, CloseProtocolError},
		{"1-byte close", wsClientFrame(true, WSClose, []byte{3}), 100, nil, CloseProtocolError},
		{"close code 1005 on the wire", wsClientFrame(true, WSClose, wsTestCloseBody(CloseNoStatus, "")), 100, nil, CloseProtocolError},
		{"close code 999", wsClientFrame(true, WSClose, wsTestCloseBody(999, "")), 100, nil, CloseProtocolError},
		{"close code 5000", wsClientFrame(true, WSClose, wsTestCloseBody(5000, "")), 100, nil, CloseProtocolError},
		{"close reason not UTF-8", wsClientFrame(true, WSClose, wsTestCloseBody(CloseNormal, "\xff")), 100, nil, CloseInvalidData},
		{"text not UTF-8", wsClientFrame(true, WSText, []byte("a\xc3")), 100, nil, CloseInvalidData},
		{"end of stream", wsClientFrame(true, WSPing, nil), 100, []wsSent{{WSPong, ""}}, 1},
		{"end after a header", wsClientFrame(true, WSPing, hello)[:2], 100, nil, 2},
		{"end inside a payload", wsClientFrame(true, WSPing, hello)[:8], 100, nil, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sent []wsSent
			send := func(op WSOpcode, p []byte) error {
				sent = append(sent, wsSent{op, string(p)})
				return nil
			}
			err := wsServeReads(bytes.NewReader(c.in), send, c.max)
			want := c.want
			switch c.code {
			case 0:
				if err != nil {
					t.Fatalf("err %v", err)
				}
			case 1, 2:
				if want := []error{io.EOF, io.ErrUnexpectedEOF}[c.code-1]; err != want {
					t.Fatalf("err %v, want %v", err, want)
				}
			default:
				wantWSCode(t, err, c.code)
				var we *WSError
				errors.As(err, &we)
				want = append(want, wsSent{WSClose, string(wsTestCloseBody(c.code, we.Reason))})
			}
			if fmt.Sprint(sent) != fmt.Sprint(want) {
				t.Errorf("sent %v\nwant %v", sent, want)
			}
		})
	}
}

func TestWSServeReadsSendError(t *testing.T) {
	boom := errors.New("boom")
	err := wsServeReads(bytes.NewReader(wsClientFrame(true, WSPing, nil)), func(WSOpcode, []byte) error { return boom }, 100)
	if err != boom {
		t.Errorf("err %v, want the send error", err)
	}
}

// wsHandshake sends a raw request (plus extra bytes) to srv and returns
// the response and the connection's reader. line "" is a GET.
func wsHandshake(t *testing.T, srv *httptest.Server, line, headers string, extra []byte) (*http.Response, *bufio.Reader, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if line == "" {
		line = "GET /live/cam.flv HTTP/1.1"
	}
	req := line + "\r\nHost: example\r\n" + headers + "\r\n"
	if _, err := conn.Write(append([]byte(req), extra...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, br, conn
}

const wsGoodHeaders = "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

func TestWSUpgrade(t *testing.T) {
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, br, err := wsUpgrade(w, r)
		errc <- err
		if err != nil {
			return
		}
		defer conn.Close()
		// the ping the client sent with its request must not be lost
		f, err := readWSFrame(br, 125)
		if err != nil || f.Opcode != WSPing {
			t.Errorf("frame after upgrade: %v %v", f.Opcode, err)
			return
		}
		conn.Write(appendWSFrame(nil, WSPong, f.Payload))
	}))
	defer srv.Close()

	t.Run("good", func(t *testing.T) {
		hdrs := strings.Replace(wsGoodHeaders, "Connection: Upgrade", "Connection: keep-alive, UPGRADE", 1) +
			"Sec-WebSocket-Protocol: chat\r\n"
		resp, br, _ := wsHandshake(t, srv, "", hdrs, wsClientFrame(true, WSPing, []byte("early")))
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
			!strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
			!strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
			t.Fatalf("response %s %v", resp.Status, resp.Header)
		}
		if p := resp.Header.Values("Sec-WebSocket-Protocol"); len(p) != 0 {
			t.Errorf("selected subprotocol %q", p)
		}
		want := appendWSFrame(nil, WSPong, []byte("early"))
		got := make([]byte, len(want))
		if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, want) {
			t.Errorf("pong % x (%v), want % x", got, err, want)
		}
	})

	for _, c := range []struct {
		name    string
		line    string
		headers string
		status  int
	}{
		{"missing key", "", strings.Replace(wsGoodHeaders, "Sec-WebSocket-Key", "X-Key", 1), 400},
		{"key not 16 bytes", "", strings.Replace(wsGoodHeaders, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ==", 1), 400},
		{"key not base64", "", strings.Replace(wsGoodHeaders, "dGhlIHNhbXBsZSBub25jZQ==", "!!!!", 1), 400},
		{"version 8", "", strings.Replace(wsGoodHeaders, "Version: 13", "Version: 8", 1), 426},
		{"not an upgrade", "", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", 400},
		{"upgrade to h2c", "", strings.Replace(wsGoodHeaders, "Upgrade: websocket", "Upgrade: h2c", 1), 400},
		{"two keys", "", wsGoodHeaders + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n", 400},
		{"POST", "POST /live/cam.flv HTTP/1.1", wsGoodHeaders + "Content-Length: 0\r\n", 400},
		{"HTTP/1.0", "GET /live/cam.flv HTTP/1.0", wsGoodHeaders, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, _, _ := wsHandshake(t, srv, c.line, c.headers, nil)
			if err := <-errc; !errors.Is(err, ErrWSHandshake) {
				t.Errorf("err %v, want ErrWSHandshake", err)
			}
			if resp.StatusCode != c.status {
				t.Errorf("status %s, want %d", resp.Status, c.status)
			}
			if v := resp.Header.Get("Sec-WebSocket-Version"); (c.status == 426) != (v == "13") {
				t.Errorf("Sec-WebSocket-Version %q with status %d", v, c.status)
			}
		})
	}
}

func TestWSUpgradeNoHijack(t *testing.T) {
	r := httptest.NewRequest("GET", "/live/x.flv", nil)
	for _, kv := range strings.Split(strings.TrimSpace(wsGoodHeaders), "\r\n") {
		k, v, _ := strings.Cut(kv, ": ")
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder() // cannot be hijacked
	if _, _, err := wsUpgrade(w, r); err == nil || w.Code != 500 {
		t.Errorf("err %v, status %d", err, w.Code)
	}
}

func TestIsWSUpgrade(t *testing.T) {
	for _, c := range []struct {
		upgrade, connection []string
		want                bool
	}{
		{[]string{"websocket"}, []string{"Upgrade"}, true},
		{[]string{"WebSocket"}, []string{"keep-alive,upgrade"}, true},
		{[]string{"h2c", "websocket"}, []string{"keep-alive", "Upgrade"}, true},
		{[]string{"websocket"}, []string{"keep-alive"}, false},
		{[]string{"websocket"}, []string{"upgraded"}, false},
		{nil, []string{"Upgrade"}, false},
		{[]string{"websockets"}, []string{"Upgrade"}, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Upgrade"] = c.upgrade
		r.Header["Connection"] = c.connection
		if got := isWSUpgrade(r); got != c.want {
			t.Errorf("Upgrade %q Connection %q: %v", c.upgrade, c.connection, got)
		}
	}
}

func FuzzWSFrame(f *testing.F) {
	for _, g := range wsGolden {
		f.Add(g.wire)
		if !g.masked {
			f.Add(wsMaskWire(g.wire, wsTestKey))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, rest, err := decodeWSFrame(b, 1<<17)
		if err == nil {
			wsCheckReencode(t, b[:len(b)-len(rest)], fr)
		}
		// the read loop must not panic either, must report any protocol
		// error in a close frame, and must answer the same whether the
		// bytes come in one piece or one byte at a time
		sent, err := wsServeTranscript(bytes.NewReader(b))
		var we *WSError
		if errors.As(err, &we) && (len(sent) == 0 || !bytes.Equal(sent[len(sent)-1], appendWSClose(nil, we.Code, we.Reason))) {
			t.Fatalf("error %v, %d frames sent", err, len(sent))
		}
		sent1, err1 := wsServeTranscript(iotest.OneByteReader(bytes.NewReader(b)))
		if fmt.Sprint(err) != fmt.Sprint(err1) || !slices.EqualFunc(sent, sent1, bytes.Equal) {
			t.Fatalf("one piece: %d frames sent, %v; one byte at a time: %d, %v", len(sent), err, len(sent1), err1)
		}
	})
}

// wsServeTranscript runs the read loop over r and returns every frame it
// sent back (pongs, the close answer) and how it ended.
func wsServeTranscript(r io.Reader) ([][]byte, error) {
	var sent [][]byte
	err := wsServeReads(r, func(op WSOpcode, p []byte) error {
		sent = append(sent, appendWSFrame(nil, op, p))
		return nil
	}, 1<<10)
	return sent, err
}

// wsCheckReencode checks that a decoded frame, encoded again and masked
// with the same key, gives the consumed bytes (when they used the
// minimal length encoding) and decodes to the same frame.
func wsCheckReencode(t *testing.T, consumed []byte, fr WSFrame) {
	enc := append(appendWSHeader(nil, fr.Fin, fr.Opcode, len(fr.Payload)), fr.Payload...)
	keyAt := len(consumed) - len(fr.Payload) - 4
	masked := wsMaskWire(enc, [4]byte(consumed[keyAt:keyAt+4]))
	if len(masked) > len(consumed) || len(masked) == len(consumed) && !bytes.Equal(masked, consumed) {
		t.Fatalf("re-encoded % x\nconsumed    % x", wsHead(masked), wsHead(consumed))
	}
	fr2, rest, err := decodeWSFrame(masked, 1<<17)
	if err != nil || len(rest) != 0 || fr2.Fin != fr.Fin || fr2.Opcode != fr.Opcode || !bytes.Equal(fr2.Payload, fr.Payload) {
		t.Fatalf("re-decoded %v %v %d bytes, %v", fr2.Fin, fr2.Opcode, len(fr2.Payload), err)
	}
}
