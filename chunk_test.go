package main

// Chunk stream tests (RTMP 1.0 section 5.3): one table of annotated golden
// bytes drives the reader, the writer (for the forms AppendChunks makes)
// and the FuzzChunkReader seed corpus.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// b is a run of bytes: one field of a golden entry (see wire).
func b(v ...byte) []byte { return v }

type chunkGoldenRow struct {
	name    string
	wire    []byte
	want    []Message
	encodes bool // AppendChunks(chunk size 128) produces exactly wire
}

var chunkGolden = []chunkGoldenRow{
	{
		name: "fmt0, 1-byte basic header",
		wire: wire(
			b(0x03),             // fmt 0, csid 3
			b(0x00, 0x03, 0xe8), // timestamp 1000
			b(0x00, 0x00, 0x04), // message length 4
			b(0x14),             // type 20, AMF0 command
			b(0x01, 0, 0, 0),    // message stream id 1, little-endian
			b('a', 'b', 'c', 'd'),
		),
		want:    []Message{{Type: MsgCommandAMF0, StreamID: 1, Timestamp: 1000, CSID: 3, Payload: []byte("abcd")}},
		encodes: true,
	},
	{
		name: "fmt0, 2-byte basic header (csid 64..319)",
		wire: wire(
			b(0x00, 200),     // fmt 0, csid 0 marker, then csid-64 = 200
			b(0, 0, 0x21),    // timestamp 33
			b(0, 0, 2),       // length 2
			b(0x08),          // audio
			b(0x02, 0, 0, 0), // stream id 2
			b(0xaf, 0x01),
		),
		want:    []Message{{Type: MsgAudio, StreamID: 2, Timestamp: 33, CSID: 264, Payload: []byte{0xaf, 0x01}}},
		encodes: true,
	},
	{
		name: "fmt0, 3-byte basic header (csid up to 65599)",
		wire: wire(
			b(0x01, 0x34, 0x12), // fmt 0, csid 1 marker, then csid-64 = 0x1234 little-endian
			b(0, 0, 0),          // timestamp 0
			b(0, 0, 1),          // length 1
			b(0x09),             // video
			b(1, 0, 0, 0),
			b(0x17),
		),
		want:    []Message{{Type: MsgVideo, StreamID: 1, CSID: 64 + 0x1234, Payload: []byte{0x17}}},
		encodes: true,
	},
	{
		name: "fmt1, fmt2 and fmt3 reuse the previous header",
		wire: wire(
			b(0x04), b(0, 0, 10), b(0, 0, 1), b(0x08), b(1, 0, 0, 0), b('A'), // fmt 0: ts 10, len 1, audio
			b(0x44), b(0, 0, 20), b(0, 0, 2), b(0x09), b('V', 'V'), // fmt 1: delta 20, len 2, video
			b(0x84), b(0, 0, 5), b('W', 'W'), // fmt 2: delta 5, same length and type
			b(0xc4), b('X', 'X'), // fmt 3: a new message with the same delta
		),
		want: []Message{
			{Type: MsgAudio, StreamID: 1, Timestamp: 10, CSID: 4, Payload: []byte("A")},
			{Type: MsgVideo, StreamID: 1, Timestamp: 30, CSID: 4, Payload: []byte("VV")},
			{Type: MsgVideo, StreamID: 1, Timestamp: 35, CSID: 4, Payload: []byte("WW")},
			{Type: MsgVideo, StreamID: 1, Timestamp: 40, CSID: 4, Payload: []byte("XX")},
		},
	},
	{
		name: "message of 130 bytes in two chunks at chunk size 128",
		wire: wire(
			b(0x06), b(0, 0, 0), b(0, 0, 130), b(0x09), b(1, 0, 0, 0),
			bytes.Repeat([]byte{0x11}, 128), // first chunk: 128 bytes
			b(0xc6),                         // fmt 3 continuation, csid 6
			b(0x11, 0x11),                   // the last 2 bytes
		),
		want:    []Message{{Type: MsgVideo, StreamID: 1, CSID: 6, Payload: bytes.Repeat([]byte{0x11}, 130)}},
		encodes: true,
	},
	{
		name: "extended timestamp, repeated on the fmt3 continuation",
		wire: wire(
			b(0x06), b(0xff, 0xff, 0xff), b(0, 0, 129), b(0x09), b(1, 0, 0, 0), // ts field 0xFFFFFF: see extended
			b(0x01, 0x00, 0x00, 0x00), // extended timestamp 16777216
			bytes.Repeat([]byte{0x22}, 128),
			b(0xc6), b(0x01, 0x00, 0x00, 0x00), // fmt 3 repeats the extended timestamp
			b(0x22),
		),
		want:    []Message{{Type: MsgVideo, StreamID: 1, Timestamp: 1 << 24, CSID: 6, Payload: bytes.Repeat([]byte{0x22}, 129)}},
		encodes: true,
	},
	{
		name: "Set Chunk Size applies to the next chunk",
		wire: wire(
			b(0x02), b(0, 0, 0), b(0, 0, 4), b(0x01), b(0, 0, 0, 0), b(0, 0, 0x01, 0x00), // Set Chunk Size 256
			b(0x06), b(0, 0, 0), b(0, 0, 200), b(0x09), b(1, 0, 0, 0), bytes.Repeat([]byte{0x33}, 200), // one chunk
		),
		want: []Message{{Type: MsgVideo, StreamID: 1, CSID: 6, Payload: bytes.Repeat([]byte{0x33}, 200)}},
	},
	{
		name: "Abort drops the partial message",
		wire: wire(
			b(0x06), b(0, 0, 0), b(0, 0, 200), b(0x09), b(1, 0, 0, 0), bytes.Repeat([]byte{0x44}, 128), // first half
			b(0x02), b(0, 0, 0), b(0, 0, 4), b(0x02), b(0, 0, 0, 0), b(0, 0, 0, 6), // Abort csid 6
			b(0x06), b(0, 0, 0), b(0, 0, 1), b(0x09), b(1, 0, 0, 0), b(0x55), // a fresh message
		),
		want: []Message{{Type: MsgVideo, StreamID: 1, CSID: 6, Payload: []byte{0x55}}},
	},
	{
		name: "User Control PingRequest passes through",
		wire: wire(b(0x02), b(0, 0, 0), b(0, 0, 6), b(0x04), b(0, 0, 0, 0), b(0, 6), b(0, 0, 0x30, 0x39)),
		want: []Message{{Type: MsgUserControl, CSID: 2, Payload: []byte{0, 6, 0, 0, 0x30, 0x39}}},
	},
}

func readAll(r *ChunkReader) ([]Message, error) {
	var out []Message
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

func sameMessages(a, b []Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Type != y.Type || x.StreamID != y.StreamID || x.Timestamp != y.Timestamp ||
			x.CSID != y.CSID || !bytes.Equal(x.Payload, y.Payload) {
			return false
		}
	}
	return true
}

func TestChunkGoldenDecode(t *testing.T) {
	for _, tc := range chunkGolden {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(tc.wire)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			r := NewChunkReader(src, ChunkLimits{})
			got, err := readAll(r)
			if err != io.EOF {
				t.Errorf("%s: ended with %v, want io.EOF", tc.name, err)
			}
			if !sameMessages(got, tc.want) {
				t.Errorf("%s (one byte %v):\n got %+v\nwant %+v", tc.name, oneByte, got, tc.want)
			}
			if r.BytesRead() != uint64(len(tc.wire)) {
				t.Errorf("%s: BytesRead %d, want %d", tc.name, r.BytesRead(), len(tc.wire))
			}
		}
	}
}

func TestChunkGoldenEncode(t *testing.T) {
	for _, tc := range chunkGolden {
		if !tc.encodes {
			continue
		}
		m := tc.want[0]
		got := AppendChunks(nil, m.CSID, &m, defaultChunkSize)
		if !bytes.Equal(got, tc.wire) {
			t.Errorf("%s:\n got % x\nwant % x", tc.name, got, tc.wire)
		}
	}
}

// Malformed chunk streams end with a *ChunkError (or io.ErrUnexpectedEOF
// when truncated), never a panic.
func TestChunkErrors(t *testing.T) {
	big := wire(b(0x06), b(0, 0, 0), b(0x01, 0x00, 0x01), b(0x09), b(1, 0, 0, 0)) // length 65537
	cases := []struct {
		name string
		wire []byte
		lim  ChunkLimits
	}{
		{"fmt1 with no previous header", wire(b(0x44), b(0, 0, 1), b(0, 0, 1), b(0x08), b(0)), ChunkLimits{}},
		{"fmt3 with no previous header", b(0xc5, 0), ChunkLimits{}},
		{"message over the limit", big, ChunkLimits{MaxMessageSize: 65536}},
		{"chunk size 0", wire(b(0x02), b(0, 0, 0), b(0, 0, 4), b(0x01), b(0, 0, 0, 0), b(0, 0, 0, 0)), ChunkLimits{}},
		{"chunk size over 16 MiB", wire(b(0x02), b(0, 0, 0), b(0, 0, 4), b(0x01), b(0, 0, 0, 0), b(0x02, 0, 0, 0)), ChunkLimits{}},
		{"short Set Chunk Size", wire(b(0x02), b(0, 0, 0), b(0, 0, 2), b(0x01), b(0, 0, 0, 0), b(0, 1)), ChunkLimits{}},
		{"fmt0 inside an unfinished message", wire(
			b(0x06), b(0, 0, 0), b(0, 0, 200), b(0x09), b(1, 0, 0, 0), bytes.Repeat([]byte{1}, 128),
			b(0x06), b(0, 0, 0), b(0, 0, 1), b(0x09), b(1, 0, 0, 0), b(1)), ChunkLimits{}},
		{"chunk stream flood", chunkFlood(5), ChunkLimits{MaxChunkStreams: 4}},
	}
	for _, tc := range cases {
		_, err := readAll(NewChunkReader(bytes.NewReader(tc.wire), tc.lim))
		var ce *ChunkError
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a *ChunkError", tc.name, err)
		}
	}
	// every truncation of a valid stream ends in an unexpected EOF
	wire := chunkRow(t, "extended timestamp, repeated on the fmt3 continuation").wire
	for n := 1; n < len(wire); n++ {
		_, err := readAll(NewChunkReader(bytes.NewReader(wire[:n]), ChunkLimits{}))
		if err != io.ErrUnexpectedEOF && err != io.EOF {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
}

// chunkFlood opens n chunk streams with one one-byte message each.
func chunkFlood(n int) []byte {
	var w []byte
	for i := 0; i < n; i++ {
		m := Message{Type: MsgAudio, StreamID: 1, Payload: []byte{0xaf}}
		w = AppendChunks(w, uint32(3+i), &m, defaultChunkSize)
	}
	return w
}

// An announced message costs memory only as its bytes arrive.
func TestChunkAllocatesWithData(t *testing.T) {
	wire := wire(b(0x06), b(0, 0, 0), b(0xff, 0xff, 0xff), b(0x09), b(1, 0, 0, 0), b(1, 2, 3)) // 16 MiB announced, 3 bytes sent
	r := NewChunkReader(bytes.NewReader(wire), ChunkLimits{MaxMessageSize: 1 << 24})
	r.ReadMessage()
	if c := cap(r.streams[6].payload); c > 1024 {
		t.Fatalf("buffer of %d bytes for 3 bytes received", c)
	}
}

// interleave chunks msgs (alternating chunk streams) at chunkSize and
// interleaves their chunks one by one, as a publisher sending audio and
// video at once does. It starts with Set Chunk Size when chunkSize is not
// the default.
func interleave(msgs []Message, chunkSize uint32) []byte {
	var w []byte
	if chunkSize != defaultChunkSize {
		m := setChunkSizeMessage(chunkSize)
		w = AppendChunks(w, csidProtocolControl, &m, defaultChunkSize)
	}
	pending := make([][][]byte, 2) // per chunk stream: chunks of queued messages
	for i := range msgs {
		pending[i%2] = append(pending[i%2], splitChunks(&msgs[i], chunkSize)...)
	}
	for len(pending[0])+len(pending[1]) > 0 {
		for k := range pending {
			if len(pending[k]) > 0 {
				w = append(w, pending[k][0]...)
				pending[k] = pending[k][1:]
			}
		}
	}
	return w
}

// splitChunks cuts one message into its chunks, written here from section
// 5.3.1 independently of AppendChunks.
func splitChunks(m *Message, chunkSize uint32) [][]byte {
	var out [][]byte
	ts := min(m.Timestamp, extendedTSMarker)
	first := []byte{byte(m.CSID), byte(ts >> 16), byte(ts >> 8), byte(ts),
		byte(len(m.Payload) >> 16), byte(len(m.Payload) >> 8), byte(len(m.Payload)), byte(m.Type)}
	first = binary.LittleEndian.AppendUint32(first, m.StreamID)
	p := m.Payload
	for hdr := first; ; hdr = []byte{0xc0 | byte(m.CSID)} {
		if m.Timestamp >= extendedTSMarker {
			hdr = binary.BigEndian.AppendUint32(hdr, m.Timestamp)
		}
		n := min(len(p), int(chunkSize))
		out = append(out, append(hdr, p[:n]...))
		if p = p[n:]; len(p) == 0 {
			return out
		}
	}
}

// Interleaved audio (csid 4) and video (csid 6) messages reassemble under
// a one-byte-at-a-time reader, at chunk sizes 128, 4096 and 65536, with
// timestamps crossing the extended-timestamp boundary.
func TestChunkReassemblyInterleaved(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var msgs []Message
	for i := 0; i < 60; i++ {
		m := Message{Type: MsgAudio, CSID: 4, StreamID: 1, Timestamp: 0xFFFF00 + uint32(i*23)}
		if i%2 == 1 {
			m.Type, m.CSID = MsgVideo, 6
		}
		m.Payload = make([]byte, rng.IntN(150000))
		for j := range m.Payload {
			m.Payload[j] = byte(i + j)
		}
		msgs = append(msgs, m)
	}
	for _, cs := range []uint32{128, 4096, 65536} {
		t.Run(fmt.Sprint(cs), func(t *testing.T) {
			wire := interleave(msgs, cs)
			got, err := readAll(NewChunkReader(iotest.OneByteReader(bytes.NewReader(wire)), ChunkLimits{}))
			if err != io.EOF {
				t.Fatalf("ended with %v", err)
			}
			if len(got) != len(msgs) {
				t.Fatalf("got %d messages, want %d", len(got), len(msgs))
			}
			// messages complete in interleaved order: compare per chunk stream
			for _, csid := range []uint32{4, 6} {
				if !sameMessages(filterCSID(got, csid), filterCSID(msgs, csid)) {
					t.Fatalf("chunk stream %d differs", csid)
				}
			}
		})
	}
}

func filterCSID(ms []Message, csid uint32) []Message {
	var out []Message
	for _, m := range ms {
		if m.CSID == csid {
			out = append(out, m)
		}
	}
	return out
}

// What AppendChunks writes, ChunkReader reads back, at any chunk size.
func TestChunkRoundTrip(t *testing.T) {
	for _, cs := range []uint32{1, 128, 4096} {
		for _, ts := range []uint32{0, 0xFFFFFE, 0xFFFFFF, 0xFFFFFFFF} {
			m := Message{Type: MsgVideo, StreamID: 1, Timestamp: ts, CSID: 65599, Payload: bytes.Repeat([]byte{7}, 300)}
			wire := AppendChunks(nil, m.CSID, &m, cs)
			r := NewChunkReader(bytes.NewReader(wire), ChunkLimits{})
			r.chunkSize = cs
			got, err := readAll(r)
			if err != io.EOF || !sameMessages(got, []Message{m}) {
				t.Fatalf("chunk size %d ts %d: %v %+v", cs, ts, err, got)
			}
		}
	}
}

func TestChunkStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{MsgVideo.String(), "Video"},
		{MessageType(99).String(), "MessageType(99)"},
		{PingRequest.String(), "PingRequest"},
		{UserControlEvent(5).String(), "UserControlEvent(5)"},
		{BandwidthDynamic.String(), "Dynamic"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// FuzzChunkReader: any input ends in an error (EOF at the end), never a
// panic; the reader never consumes more than it was given, returns no
// message above the limit, and reads the same messages and the same error
// whether the bytes come in one piece or one byte at a time.
func FuzzChunkReader(f *testing.F) {
	for _, tc := range chunkGolden {
		f.Add(tc.wire)
	}
	f.Add(chunkRow(f, "fmt1, fmt2 and fmt3 reuse the previous header").wire[:9]) // cut inside a header
	f.Add(chunkFlood(70))
	lim := ChunkLimits{MaxMessageSize: 1 << 16, MaxChunkStreams: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewChunkReader(bytes.NewReader(data), lim)
		whole, err := readAll(r)
		if r.BytesRead() > uint64(len(data)) {
			t.Fatalf("read %d bytes of %d", r.BytesRead(), len(data))
		}
		for _, m := range whole {
			if len(m.Payload) > int(lim.MaxMessageSize) || len(m.Payload) > len(data) {
				t.Fatalf("message of %d bytes from %d bytes of input, limit %d", len(m.Payload), len(data), lim.MaxMessageSize)
			}
		}
		r1 := NewChunkReader(iotest.OneByteReader(bytes.NewReader(data)), lim)
		split, err1 := readAll(r1)
		if !sameMessages(whole, split) || fmt.Sprint(err) != fmt.Sprint(err1) || r.BytesRead() != r1.BytesRead() {
			t.Fatalf("one piece: %d messages, %v; one byte at a time: %d messages, %v", len(whole), err, len(split), err1)
		}
	})
}

// chunkRow is the chunkGolden row named name.
func chunkRow(t testing.TB, name string) *chunkGoldenRow {
	t.Helper()
	return goldenRow(t, chunkGolden, func(r *chunkGoldenRow) string { return r.name }, name)
}
