package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// A fan-out write that stops in the middle of a frame leaves the rest in
// the connection's write lock; the session's next message (or the
// player's next write) finishes it first, so the peer gets the whole
// frame, then the message, never one inside the other.
func TestWriteLockFinishesRest(t *testing.T) {
	server, client := tcpPair(t)
	server.(*net.TCPConn).SetWriteBuffer(4 << 10)
	h := newHub(defaultConfig())
	var lock writeLock
	ws := newWireSink(h, &sessionInfo{}, protoFLV, server, &lock)
	if !ws.direct {
		t.Skip("no gathered writes on this platform")
	}
	f := ringFrame(TagAudio, 0, append([]byte{0xAF, 0x01}, bytes.Repeat([]byte{7}, 4<<20)...))
	var scratch [][]byte
	n, sent, err := ws.tryFrames([]*Frame{f}, &scratch)
	if !errors.Is(err, errWouldBlock) || sent != 1 || n == 0 || n >= f.wireLen(protoFLV) {
		t.Fatalf("tryFrames: %d bytes, %d frames, %v; want part of the frame, counted as sent", n, sent, err)
	}
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(client); got <- b }()
	lock.Lock() // the session's own message
	server.Write([]byte("after"))
	lock.Unlock()
	server.Close()
	want := append(f.appendWire(nil, protoFLV)[0], f.Payload...)
	want = append(append(want, f.appendWire(nil, protoFLV)[2]...), "after"...)
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer got %d bytes (ends %q), want the frame (%d bytes) then \"after\"", len(b), b[max(0, len(b)-5):], len(want)-5)
	}
	if ws.sent.Load() != uint64(f.wireLen(protoFLV)) {
		t.Errorf("counted %d bytes, want %d", ws.sent.Load(), f.wireLen(protoFLV))
	}
}
