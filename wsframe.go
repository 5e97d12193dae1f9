// WebSocket server side, RFC 6455 "The WebSocket Protocol":
// section 1.3 and 4.2.1/4.2.2 (opening handshake, Sec-WebSocket-Accept),
// 5.2 (base framing), 5.3 (client-to-server masking), 5.4 (fragmentation),
// 5.5 (control frames: close, ping, pong), 5.6 (text must be UTF-8),
// 5.7 (examples, used by the tests) and 7.1.5/7.4 (close status codes).
//
// rtmphub uses WebSocket one way: the server streams FLV bytes to the
// browser (flv.js, mpegts.js) in binary frames. What the client sends is
// read only to keep the connection healthy: pings get pongs, a close gets
// a close, data messages are checked and thrown away. No extension
// (permessage-deflate) and no subprotocol is ever negotiated, so the RSV
// bits must be zero and the frame bytes on the wire are the message bytes.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WSOpcode is the 4-bit frame opcode (section 5.2). Opcodes with the
// high bit set (0x8-0xF) are control frames (section 5.5).
type WSOpcode uint8

const (
	WSContinuation WSOpcode = 0x0 // continues a fragmented message (5.4)
	WSText         WSOpcode = 0x1 // UTF-8 text message
	WSBinary       WSOpcode = 0x2 // binary message: FLV bytes in rtmphub
	WSClose        WSOpcode = 0x8 // connection close (5.5.1)
	WSPing         WSOpcode = 0x9 // ping (5.5.2), answered by a pong
	WSPong         WSOpcode = 0xA // pong (5.5.3)
)

func (op WSOpcode) String() string {
	switch op {
	case WSContinuation:
		return "continuation"
	case WSText:
		return "text"
	case WSBinary:
		return "binary"
	case WSClose:
		return "close"
	case WSPing:
		return "ping"
	case WSPong:
		return "pong"
	}
	return fmt.Sprintf("opcode(0x%X)", uint8(op))
}

// isControl reports whether op is a control opcode (section 5.5).
func (op WSOpcode) isControl() bool { return op&0x8 != 0 }

// known reports whether op is defined by RFC 6455; the others are
// reserved and fail the connection (section 5.2).
func (op WSOpcode) known() bool {
	return op <= WSBinary || (op >= WSClose && op <= WSPong)
}

// CloseCode is the status code at the start of a close frame's payload
// (section 7.4.1).
type CloseCode uint16

const (
	CloseNormal             CloseCode = 1000 // purpose fulfilled
	CloseGoingAway          CloseCode = 1001 // server shutting down, page left
	CloseProtocolError      CloseCode = 1002 // malformed frame or handshake rule broken
	CloseUnsupported        CloseCode = 1003 // data type the endpoint cannot accept
	CloseNoStatus           CloseCode = 1005 // reserved: "no code in the close frame"; never sent
	CloseAbnormal           CloseCode = 1006 // reserved: "connection lost without close"; never sent
	CloseInvalidData        CloseCode = 1007 // e.g. text that is not UTF-8
	ClosePolicy             CloseCode = 1008 // policy violation
	CloseTooBig             CloseCode = 1009 // message too big to process
	CloseMandatoryExtension CloseCode = 1010 // client wanted an extension we did not offer
	CloseInternalError      CloseCode = 1011 // unexpected server condition
	CloseTLSHandshake       CloseCode = 1015 // reserved: TLS failure; never sent
)

func (c CloseCode) String() string {
	switch c {
	case CloseNormal:
		return "normal closure"
	case CloseGoingAway:
		return "going away"
	case CloseProtocolError:
		return "protocol error"
	case CloseUnsupported:
		return "unsupported data"
	case CloseNoStatus:
		return "no status"
	case CloseAbnormal:
		return "abnormal closure"
	case CloseInvalidData:
		return "invalid payload data"
	case ClosePolicy:
		return "policy violation"
	case CloseTooBig:
		return "message too big"
	case CloseMandatoryExtension:
		return "mandatory extension"
	case CloseInternalError:
		return "internal error"
	case CloseTLSHandshake:
		return "TLS handshake"
	}
	return "close code " + strconv.Itoa(int(c))
}

// validOnWire reports whether a peer may send code in a close frame
// (section 7.4.1 and 7.4.2): the defined codes except the three reserved
// for local use (1005, 1006, 1015), and the 3000-4999 ranges for
// libraries and applications. 1012-1014 were registered with IANA after
// RFC 6455 and are not accepted here.
func (c CloseCode) validOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1011:
		return true
	}
	return c >= 3000 && c <= 4999
}

// WSError is a WebSocket protocol error: the peer broke a rule of
// RFC 6455, and the connection must be failed with Code (section 7.1.7).
type WSError struct {
	Code   CloseCode
	Reason string
}

func (e *WSError) Error() string {
	return fmt.Sprintf("websocket: %s (%d): %s", e.Code, uint16(e.Code), e.Reason)
}

// wsFail returns a *WSError with the given code and reason.
func wsFail(code CloseCode, reason string) error {
	return &WSError{Code: code, Reason: reason}
}

// ErrWSHandshake wraps every reason wsUpgrade refuses an opening
// handshake (section 4.2.1); the HTTP error response is already written.
var ErrWSHandshake = errors.New("websocket: bad opening handshake")

// Limits and constants of the protocol.
const (
	// wsGUID is appended to the client's key to prove the server speaks
	// WebSocket (section 1.3).
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	// wsVersion is the only Sec-WebSocket-Version of RFC 6455 (4.2.1).
	wsVersion = "13"
	// wsKeyLen is the decoded size of Sec-WebSocket-Key: a 16-byte nonce.
	wsKeyLen = 16
	// wsMaxControl is the largest control frame payload (section 5.5).
	wsMaxControl = 125
	// wsLen16, wsLen64: the 7-bit payload length values announcing a
	// 16-bit or 64-bit extended payload length (section 5.2).
	wsLen16 = 126
	wsLen64 = 127
)

// wsAcceptKey is the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key (section 1.3): base64(SHA-1(key + GUID)).
func wsAcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsHasToken reports whether any of the header's values, read as a
// comma separated list, holds token (ASCII case-insensitive), as in
// "Connection: keep-alive, Upgrade".
func wsHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// isWSUpgrade reports whether r asks to switch to WebSocket: an Upgrade
// header naming "websocket" and a Connection header holding the
// "upgrade" token (section 4.2.1, items 3 and 4).
func isWSUpgrade(r *http.Request) bool {
	return wsHasToken(r.Header, "Upgrade", "websocket") &&
		wsHasToken(r.Header, "Connection", "upgrade")
}

// wsCheckRequest validates a client's opening handshake (section 4.2.1)
// and returns its Sec-WebSocket-Key, or the HTTP status to refuse with.
func wsCheckRequest(r *http.Request) (key string, status int, err error) {
	if r.Method != http.MethodGet || !r.ProtoAtLeast(1, 1) {
		return "", http.StatusBadRequest, errors.New("not an HTTP/1.1 GET")
	}
	if !isWSUpgrade(r) {
		return "", http.StatusBadRequest, errors.New("no Upgrade: websocket / Connection: upgrade")
	}
	// Section 4.4: a version we do not speak is answered 426 with the
	// versions we do speak.
	if v := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Version")); v != wsVersion {
		return "", http.StatusUpgradeRequired, fmt.Errorf("Sec-WebSocket-Version %q, want 13", v)
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return "", http.StatusBadRequest, fmt.Errorf("%d Sec-WebSocket-Key headers, want 1", len(keys))
	}
	key = strings.TrimSpace(keys[0])
	if nonce, err := base64.StdEncoding.DecodeString(key); err != nil || len(nonce) != wsKeyLen {
		return "", http.StatusBadRequest, fmt.Errorf("Sec-WebSocket-Key %q is not base64 of 16 bytes", key)
	}
	return key, 0, nil
}

// wsUpgrade completes the server's opening handshake (section 4.2.2).
// A bad request is answered with 400 (or 426 and Sec-WebSocket-Version:
// 13 for a wrong version) and an error wrapping ErrWSHandshake. On
// success it hijacks the connection and writes the 101 response; the
// returned reader (wsClientReader) starts with any bytes the client
// already sent after its request, so read frames from it, not from the
// conn. The caller owns the conn and its deadlines. No subprotocol and
// no extension is selected, even when the client offers some.
func wsUpgrade(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, error) {
	key, status, err := wsCheckRequest(r)
	if err != nil {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", wsVersion)
		}
		http.Error(w, http.StatusText(status), status)
		return nil, nil, fmt.Errorf("%w: %v", ErrWSHandshake, err)
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: cannot take over the connection", http.StatusInternalServerError)
		return nil, nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAcceptKey(key) + "\r\n\r\n"
	if _, err := io.WriteString(conn, resp); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("websocket: write 101: %w", err)
	}
	return conn, wsClientReader(conn, brw.Reader), nil
}

// wsReadBuffer is the read buffer of an upgraded connection. What a
// client sends to rtmphub is small (pongs, a close: control frames are
// at most 2+8+4+125 bytes); a bigger data message is read through it in
// pieces.
const wsReadBuffer = 256

// wsClientReader returns a small reader of the client's frames: first the
// bytes net/http's reader already holds (a client may send frames right
// after its request), then the connection. net/http's 4 KB reader is not
// kept: it would keep its connection state and write buffer alive too,
// for the whole life of the player.
func wsClientReader(conn net.Conn, held *bufio.Reader) *bufio.Reader {
	n := held.Buffered()
	if n == 0 {
		return bufio.NewReaderSize(conn, wsReadBuffer)
	}
	early, _ := held.Peek(n)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(wsReadBuffer, n))
	// the early bytes into br now (one read, the socket untouched): from
	// here on what the client sent and nobody read is in br.Buffered() or
	// in the socket, never in between (parking a socket: readypoll_linux.go)
	br.Peek(n)
	return br
}

// appendWSHeader appends the header of a server-to-client frame carrying
// n payload bytes (section 5.2). Server frames are never masked (5.1),
// and the length uses the fewest bytes possible, as 5.2 requires:
// 7 bits up to 125, else 126 + 16 bits up to 65535, else 127 + 64 bits.
func appendWSHeader(dst []byte, fin bool, op WSOpcode, n int) []byte {
	b0 := byte(op) & 0x0f
	if fin {
		b0 |= 0x80
	}
	switch {
	case n <= wsMaxControl:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, b0, wsLen16), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, b0, wsLen64), uint64(n))
}

// appendWSFrame appends a whole, unfragmented server frame.
func appendWSFrame(dst []byte, op WSOpcode, payload []byte) []byte {
	return append(appendWSHeader(dst, true, op, len(payload)), payload...)
}

// appendWSCloseBody appends a close frame's payload (section 5.5.1): the
// 2-byte big-endian status code, then a UTF-8 reason cut (at a character
// boundary) so that the payload fits a control frame. Code 0 means "no
// status": the payload is empty.
func appendWSCloseBody(dst []byte, code CloseCode, reason string) []byte {
	if code == 0 {
		return dst
	}
	for len(reason) > wsMaxControl-2 {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	return append(binary.BigEndian.AppendUint16(dst, uint16(code)), reason...)
}

// appendWSClose appends a close frame. The 7-bit length is filled in
// after the body is written.
func appendWSClose(dst []byte, code CloseCode, reason string) []byte {
	start := len(dst)
	dst = append(dst, 0x80|byte(WSClose), 0) // FIN, opcode; length below
	dst = appendWSCloseBody(dst, code, reason)
	dst[start+1] = byte(len(dst) - start - 2)
	return dst
}

// WSFrame is one decoded client frame, payload already unmasked.
type WSFrame struct {
	Fin     bool
	Opcode  WSOpcode
	Payload []byte
}

// readWSFrame reads one client-to-server frame (section 5.2) and unmasks
// it (5.3). maxPayload bounds data frames (larger: *WSError 1009);
// control frames are bounded by 125 bytes (larger: 1002). Broken rules
// give a *WSError; io.EOF means the stream ended cleanly before the frame,
// io.ErrUnexpectedEOF inside it.
func readWSFrame(r io.Reader, maxPayload int) (WSFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return WSFrame{}, err
	}
	// FIN: 1 bit, set on the final fragment of a message.
	fin := h[0]&0x80 != 0
	// RSV1, RSV2, RSV3: 1 bit each, zero as no extension was negotiated.
	rsv := h[0] & 0x70
	// Opcode: 4 bits.
	op := WSOpcode(h[0] & 0x0f)
	// MASK: 1 bit, set on every frame a client sends (5.3).
	masked := h[1]&0x80 != 0
	// Payload len: 7 bits; 126 and 127 announce an extended length.
	len7 := h[1] & 0x7f
	if err := wsCheckHeader(fin, rsv, op, masked); err != nil {
		return WSFrame{}, err
	}
	// Extended payload length: 16 or 64 bits, network byte order.
	n, err := wsReadLength(r, len7)
	if err != nil {
		return WSFrame{}, err
	}
	if err := wsCheckLength(op, n, maxPayload); err != nil {
		return WSFrame{}, err
	}
	// Masking-key: 32 bits.
	var key [4]byte
	if err := wsReadMore(r, key[:]); err != nil {
		return WSFrame{}, err
	}
	// Payload data: n bytes, masked.
	payload := make([]byte, n)
	if err := wsReadMore(r, payload); err != nil {
		return WSFrame{}, err
	}
	wsMask(payload, key)
	return WSFrame{Fin: fin, Opcode: op, Payload: payload}, nil
}

// wsReadMore reads the rest of a frame already started: an end of
// stream there is always unexpected.
func wsReadMore(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// wsCheckHeader applies the rules of the first two header bytes.
func wsCheckHeader(fin bool, rsv byte, op WSOpcode, masked bool) error {
	switch {
	case rsv != 0:
		return wsFail(CloseProtocolError, "RSV bits set without a negotiated extension")
	case !op.known():
		return wsFail(CloseProtocolError, "reserved "+op.String())
	case op.isControl() && !fin:
		return wsFail(CloseProtocolError, "fragmented "+op.String()+" frame")
	case !masked:
		return wsFail(CloseProtocolError, "client frame is not masked")
	}
	return nil
}

// wsReadLength reads the extended payload length that len7 announces,
// or returns len7 itself when it is the length (0-125).
func wsReadLength(r io.Reader, len7 byte) (uint64, error) {
	switch len7 {
	case wsLen16:
		var ext [2]byte
		err := wsReadMore(r, ext[:])
		return uint64(binary.BigEndian.Uint16(ext[:])), err
	case wsLen64:
		var ext [8]byte
		if err := wsReadMore(r, ext[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint64(ext[:])
		if n>>63 != 0 { // "the most significant bit MUST be 0"
			return 0, wsFail(CloseProtocolError, "64-bit payload length with its top bit set")
		}
		return n, nil
	}
	return uint64(len7), nil
}

// wsCheckLength bounds a frame's payload length before it is allocated.
func wsCheckLength(op WSOpcode, n uint64, maxPayload int) error {
	if op.isControl() {
		if n > wsMaxControl {
			return wsFail(CloseProtocolError, op.String()+" payload over 125 bytes")
		}
		return nil
	}
	if maxPayload < 0 || n > uint64(maxPayload) {
		return wsFail(CloseTooBig, fmt.Sprintf("message over %d bytes", max(maxPayload, 0)))
	}
	return nil
}

// wsMask applies (or removes: XOR is its own inverse) the masking key,
// octet i with key octet i mod 4 (section 5.3).
func wsMask(b []byte, key [4]byte) {
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// decodeWSFrame decodes one client frame from the start of b, with the
// rules of readWSFrame, and returns the bytes after it. b is not
// modified: the payload is a fresh unmasked copy. A b that holds less
// than one whole frame (even empty) gives io.ErrUnexpectedEOF.
func decodeWSFrame(b []byte, maxPayload int) (WSFrame, []byte, error) {
	r := &wsByteReader{b: b}
	f, err := readWSFrame(r, maxPayload)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return WSFrame{}, b, err
	}
	return f, r.b, nil
}

// wsByteReader reads from a slice, keeping the unread rest available.
type wsByteReader struct{ b []byte }

func (r *wsByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// wsMessage tracks the data message being received, maybe fragmented
// (section 5.4). Binary data is only counted; text is kept to check that
// the whole message is UTF-8 (a character may span fragments).
type wsMessage struct {
	active bool
	op     WSOpcode
	size   int
	text   []byte
}

// addData applies the fragmentation rules to a data frame.
func (m *wsMessage) addData(f WSFrame) error {
	switch {
	case f.Opcode == WSContinuation && !m.active:
		return wsFail(CloseProtocolError, "continuation frame without a message to continue")
	case f.Opcode != WSContinuation && m.active:
		return wsFail(CloseProtocolError, "new "+f.Opcode.String()+" message inside a fragmented one")
	case f.Opcode != WSContinuation:
		*m = wsMessage{active: true, op: f.Opcode}
	}
	m.size += len(f.Payload)
	if m.op == WSText {
		m.text = append(m.text, f.Payload...)
	}
	if !f.Fin {
		return nil
	}
	text := m.op == WSText
	valid := !text || utf8.Valid(m.text)
	*m = wsMessage{}
	if !valid {
		return wsFail(CloseInvalidData, "text message is not UTF-8")
	}
	return nil
}

// parseWSClose reads a close frame's payload (section 5.5.1): empty, or a
// status code and a UTF-8 reason. An empty payload gives CloseNoStatus.
func parseWSClose(p []byte) (CloseCode, string, error) {
	if len(p) == 0 {
		return CloseNoStatus, "", nil
	}
	if len(p) < 2 {
		return 0, "", wsFail(CloseProtocolError, "1-byte close payload")
	}
	// Status code: 16 bits, network byte order.
	code := CloseCode(binary.BigEndian.Uint16(p))
	if !code.validOnWire() {
		return 0, "", wsFail(CloseProtocolError, "invalid close code "+strconv.Itoa(int(code)))
	}
	// Reason: the rest, UTF-8 (section 5.5.1).
	if !utf8.Valid(p[2:]) {
		return 0, "", wsFail(CloseInvalidData, "close reason is not UTF-8")
	}
	return code, string(p[2:]), nil
}

// wsServeReads reads client frames from r until the close handshake or
// an error. It answers a ping with a pong carrying the same payload, and
// a close with a close echoing its code (1000 when it had none), then
// returns nil. Data messages are checked (5.4 fragmentation, maxMessage
// bytes, UTF-8 text) and discarded. A protocol error is answered with a
// close frame carrying its code and returned as *WSError; a read error
// (the client went away) is returned as is, with nothing sent. send must
// write one whole frame; it is called from this goroutine only.
func wsServeReads(r io.Reader, send func(op WSOpcode, payload []byte) error, maxMessage int) error {
	rs := wsReadSide{r: r, send: send, max: maxMessage}
	return rs.serve(nil)
}

// wsReadSide is wsServeReads that can stop between frames and go on
// later: what it knows of a fragmented message stays in it.
type wsReadSide struct {
	r    io.Reader
	send func(op WSOpcode, payload []byte) error
	max  int
	m    wsMessage
}

// errWSPaused: serve stopped between frames because pause said so.
var errWSPaused = errors.New("websocket: read side paused")

// serve is wsServeReads; after each frame pause (if not nil) may stop it
// (errWSPaused), and a later serve goes on where it stopped.
func (rs *wsReadSide) serve(pause func() bool) error {
	for {
		f, err := readWSFrame(rs.r, rs.max-rs.m.size)
		if err == nil {
			var done bool
			done, err = wsHandleFrame(&rs.m, f, rs.send)
			if done {
				return err
			}
		}
		if err != nil {
			return wsAbort(err, rs.send)
		}
		if pause != nil && pause() {
			return errWSPaused
		}
	}
}

// wsHandleFrame acts on one frame; done is true after a close.
func wsHandleFrame(m *wsMessage, f WSFrame, send func(WSOpcode, []byte) error) (done bool, err error) {
	switch f.Opcode {
	case WSPing:
		return false, send(WSPong, f.Payload)
	case WSPong: // unsolicited pongs are allowed (5.5.3)
		return false, nil
	case WSClose:
		code, _, err := parseWSClose(f.Payload)
		if err != nil {
			return false, err
		}
		if code == CloseNoStatus {
			code = CloseNormal
		}
		return true, send(WSClose, appendWSCloseBody(nil, code, ""))
	}
	return false, m.addData(f)
}

// wsAbort fails the connection (section 7.1.7): a protocol error is
// reported to the client in a close frame before it is returned.
func wsAbort(err error, send func(WSOpcode, []byte) error) error {
	var we *WSError
	if errors.As(err, &we) {
		send(WSClose, appendWSCloseBody(nil, we.Code, we.Reason))
	}
	return err
}
