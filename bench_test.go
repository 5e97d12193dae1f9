package main

// Throughput and per-frame cost benchmarks (BENCHMARKS.md has the figures
// and how to reproduce them). The fan-out benchmarks are in fanout_test.go.

import (
	"bytes"
	"io"
	"testing"
)

// benchVideoPayload is a delta frame of a 2.5 Mbit/s, 30 fps stream with
// keyframes 8x a delta frame (streambench's shape): 9328 bytes.
func benchVideoPayload(n int) []byte {
	p := make([]byte, n)
	p[0], p[1] = 0x27, 0x01 // AVC inter frame, NALU
	for i := 5; i < n; i++ {
		p[i] = byte(i)
	}
	return p
}

// chunkedStream is what a publisher sends: Set Chunk Size 4096, then
// frames video messages chunked at 4096 on one chunk stream.
func chunkedStream(frames, size int) []byte {
	sc := setChunkSizeMessage(4096)
	out := AppendChunks(nil, 2, &sc, 128)
	payload := benchVideoPayload(size)
	for i := 0; i < frames; i++ {
		m := Message{Type: MsgVideo, StreamID: 1, Timestamp: uint32(i * 33), Payload: payload}
		out = AppendChunks(out, 6, &m, 4096)
	}
	return out
}

// BenchmarkChunkReader: RTMP chunk stream to whole messages, MB/s of
// chunk-stream bytes.
func BenchmarkChunkReader(b *testing.B) {
	const frames = 64
	stream := chunkedStream(frames, 9328)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	rd := bytes.NewReader(stream)
	for i := 0; i < b.N; i++ {
		rd.Reset(stream)
		cr := NewChunkReader(rd, ChunkLimits{})
		for n := 0; n < frames; n++ {
			if _, err := cr.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncodeRTMP: one frame into RTMP chunks (chunk size 4096), the
// work newFrame does once per frame for all RTMP players.
func BenchmarkEncodeRTMP(b *testing.B) {
	payload := benchVideoPayload(9328)
	m := Message{Type: MsgVideo, StreamID: 1, Payload: payload}
	buf := make([]byte, 0, 16<<10)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Timestamp = uint32(i)
		buf = AppendChunks(buf[:0], csidVideo, &m, outChunkSize)
	}
}

// BenchmarkEncodeFLV: one frame into an FLV tag with its PreviousTagSize,
// once per frame for all HTTP-FLV and WS-FLV players.
func BenchmarkEncodeFLV(b *testing.B) {
	payload := benchVideoPayload(9328)
	buf := make([]byte, 0, 16<<10)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendFLVTag(buf[:0], TagVideo, uint32(i), payload)
	}
}

// BenchmarkServerHandshake is the server's side of one digest handshake
// (a Flash-style client, as ffmpeg's): what a storm of connections costs
// before the first chunk.
func BenchmarkServerHandshake(b *testing.B) {
	var c1 [handshakeSize]byte
	newHandshakePacket(&c1, hsClientVersion)
	signPacket(&c1, hsClientSchema, []byte(hsPlayerName))
	in := append(append([]byte{rtmpVersion}, c1[:]...), make([]byte, handshakeSize)...) // C0 C1 C2
	r := bytes.NewReader(in)
	rw := struct {
		io.Reader
		io.Writer
	}{r, io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		if digest, err := serverHandshake(rw); err != nil || !digest {
			b.Fatalf("handshake: digest %v, %v", digest, err)
		}
	}
}
