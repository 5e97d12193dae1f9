package main

// Fuzz targets for the parsers that had none (the others sit next to their
// golden tables: FuzzHandshake, FuzzChunkReader, FuzzAMF0, FuzzFLVTag,
// FuzzClassifyTag, FuzzWSFrame, FuzzParseClientURL, FuzzSplitAggregate), and
// TestCorpusAgainstLiveServer, which sends every committed corpus entry
// under testdata/fuzz/ to a running server while a stream plays.
//
//	go test -run XXX -fuzz FuzzChunkReassembly -fuzztime 120s
//	go test -run XXX -fuzz FuzzRTMPSession -fuzztime 120s
//	go test -run XXX -fuzz FuzzHTTPPath -fuzztime 120s
//	go test -run XXX -fuzz FuzzFLVReader -fuzztime 120s
//	go test -run XXX -fuzz FuzzUserControl -fuzztime 120s
//	go test -run XXX -fuzz FuzzCheckSign -fuzztime 120s

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// ---- chunk reader: reassembly is lossless ----

// chunkSeeds are chunk streams that reach every header form: type 0-3,
// 1-, 2- and 3-byte basic headers, extended timestamps (also repeated on
// type 3), interleaved messages, Set Chunk Size and Abort.
func chunkSeeds() [][]byte {
	cmd := amfMessage(MsgCommandAMF0, 0, "connect", 1.0, Object{{"app", "live"}})
	long := Message{Type: MsgVideo, StreamID: 1, Timestamp: 40, Payload: bytes.Repeat([]byte{0x27}, 300)}
	ext := Message{Type: MsgAudio, StreamID: 1, Timestamp: 0x1000000, Payload: bytes.Repeat([]byte{0xaf}, 200)}
	seeds := [][]byte{
		chunked(3, cmd),
		chunked(4, long),
		chunked(6, ext),
		chunked(64, long),    // 2-byte basic header
		chunked(320, long),   // 3-byte basic header
		chunked(65599, cmd),  // largest chunk stream id
		chunked(3, long)[:7], // cut inside the message header
		append(chunked(2, setChunkSizeMessage(4096)), AppendChunks(nil, 4, &long, 4096)...),
		append(chunked(2, abortMessage(4)), chunked(2, controlMessage(MsgSetChunkSize, []byte{0x7f, 0xff, 0xff, 0xff}))...),
	}
	// interleaved: A's first chunk, B whole, A's continuation (type 3)
	a := chunked(4, long)
	b := chunked(5, cmd)
	seeds = append(seeds, append(append(append([]byte{}, a[:12+128]...), b...), a[12+128:]...))
	// type 1 (new length and type), type 2 (delta only), type 3 (all as
	// before, a new message) on one chunk stream
	s := chunked(7, Message{Type: MsgAudio, Timestamp: 100, Payload: []byte{0xaf, 1, 2}})
	s = append(s, 0x47, 0, 0, 20, 0, 0, 4, byte(MsgVideo), 0x27, 1, 0, 0)
	s = append(s, 0x87, 0, 0, 20, 0x27, 1, 0, 1)
	s = append(s, 0xc7, 0x27, 1, 0, 2)
	seeds = append(seeds, s)
	// type 1 with an extended delta
	e := chunked(8, Message{Type: MsgAudio, Payload: []byte{1}})
	e = append(e, 0x48, 0xff, 0xff, 0xff, 0, 0, 1, byte(MsgAudio), 0x01, 0, 0, 0, 2)
	return append(seeds, e, append(e, 0xc8, 0x01, 0, 0, 0, 3))
}

// FuzzChunkReassembly: the reader never panics, fails only with *ChunkError or
// an EOF, returns messages within the limits, and what it returns, chunked
// again, reads back the same (reassembly is lossless).
func FuzzChunkReassembly(f *testing.F) {
	for _, g := range chunkGolden {
		f.Add(g.wire)
	}
	for _, s := range chunkSeeds() {
		f.Add(s)
	}
	lim := ChunkLimits{MaxMessageSize: 1 << 16, MaxChunkStreams: 8}
	f.Fuzz(func(t *testing.T, in []byte) {
		msgs, err := readAllChunks(in, lim)
		var ce *ChunkError
		if !errors.As(err, &ce) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v (%T)", err, err)
		}
		var again []byte
		for i := range msgs {
			if len(msgs[i].Payload) > int(lim.MaxMessageSize) {
				t.Fatalf("message of %d bytes, limit %d", len(msgs[i].Payload), lim.MaxMessageSize)
			}
			again = AppendChunks(again, msgs[i].CSID, &msgs[i], defaultChunkSize)
		}
		back, err := readAllChunks(again, lim)
		if !errors.Is(err, io.EOF) || len(back) != len(msgs) {
			t.Fatalf("re-read: %d of %d messages, %v", len(back), len(msgs), err)
		}
		for i := range msgs {
			m, b := msgs[i], back[i]
			if m.Type != b.Type || m.StreamID != b.StreamID || m.Timestamp != b.Timestamp || !bytes.Equal(m.Payload, b.Payload) {
				t.Fatalf("message %d: %v %d %d %d bytes, re-read %v %d %d %d bytes", i,
					m.Type, m.StreamID, m.Timestamp, len(m.Payload), b.Type, b.StreamID, b.Timestamp, len(b.Payload))
			}
		}
	})
}

func readAllChunks(in []byte, lim ChunkLimits) ([]Message, error) {
	r := NewChunkReader(bytes.NewReader(in), lim)
	var msgs []Message
	for {
		m, err := r.ReadMessage()
		if err != nil {
			if r.BytesRead() > uint64(len(in)) {
				return nil, fmt.Errorf("read %d of %d bytes", r.BytesRead(), len(in))
			}
			return msgs, err
		}
		msgs = append(msgs, m)
	}
}

// ---- the RTMP session: command dispatch, media, data ----

// sessionSeeds are what clients send after the handshake: a publisher's
// and a player's whole conversation, and the odd corners.
func sessionSeeds() [][]byte {
	cmd := func(name string, txn float64, sid uint32, args ...any) []byte {
		return chunked(3, amfMessage(MsgCommandAMF0, sid, append([]any{name, txn, nil}, args...)...))
	}
	connect := chunked(3, amfMessage(MsgCommandAMF0, 0, "connect", 1.0,
		Object{{"app", "live"}, {"tcUrl", "rtmp://127.0.0.1/live"}, {"objectEncoding", 0.0}, {"fourCcList", StrictArray{"hvc1"}}}))
	var pub []byte
	pub = append(pub, chunked(2, setChunkSizeMessage(4096))...)
	pub = append(pub, connect...)
	pub = append(pub, cmd("releaseStream", 2, 0, "cam")...)
	pub = append(pub, cmd("FCPublish", 3, 0, "cam")...)
	pub = append(pub, cmd("createStream", 4, 0)...)
	pub = append(pub, cmd("publish", 5, 1, "cam?sign=1-x", "live")...)
	meta, _ := AppendAMF0All(nil, "@setDataFrame", "onMetaData", ECMAArray{{"width", 640.0}})
	pub = append(pub, chunked(4, Message{Type: MsgDataAMF0, StreamID: 1, Payload: meta})...)
	media := []Message{{Type: MsgVideo, Payload: testVideoHeader}, {Type: MsgAudio, Payload: testAudioHeader},
		{Type: MsgVideo, Timestamp: 0, Payload: testVideoFrame(0, true)}, {Type: MsgAudio, Timestamp: 0, Payload: testAudioFrame(0)},
		{Type: MsgVideo, Timestamp: 33, Payload: testVideoFrame(1, false)},
		{Type: MsgVideo, Timestamp: 66, Payload: []byte{0x9c, 'h', 'v', 'c', '1', 1, 2}}} // Enhanced RTMP
	for i := range media {
		media[i].StreamID = 1
		pub = append(pub, AppendChunks(nil, 6, &media[i], 4096)...)
	}
	pub = append(pub, cmd("FCUnpublish", 6, 0, "cam")...)
	pub = append(pub, cmd("deleteStream", 7, 0, 1.0)...)

	var play []byte
	play = append(play, connect...)
	play = append(play, cmd("createStream", 2, 0)...)
	play = append(play, cmd("getStreamLength", 3, 0, "cam")...)
	play = append(play, cmd("play", 4, 1, "cam", -2.0)...)
	play = append(play, chunked(2, userControlMessage(SetBufferLength, 1, 3000))...)
	play = append(play, chunked(2, userControlMessage(PingRequest, 7))...)
	play = append(play, chunked(2, windowAckSizeMessage(4096))...)
	play = append(play, cmd("receiveAudio", 0, 1, false)...)
	play = append(play, cmd("pause", 0, 1, true, 0.0)...)
	play = append(play, cmd("pause", 0, 1, false, 0.0)...)
	play = append(play, cmd("closeStream", 0, 1)...)

	amf3 := chunked(3, Message{Type: MsgCommandAMF3, Payload: append([]byte{0}, amfMessage(0, 0, "connect", 1.0, Object{{"app", "live"}}).Payload...)})
	return [][]byte{
		pub, play, amf3,
		append(append([]byte{}, connect...), cmd("nosuch", 9, 0)...),
		append(append([]byte{}, connect...), connect...),                      // connect twice
		chunked(3, connectMessage("live", "notaurl")),                         // NMS crash input
		cmd("play", 1, 1, "cam"),                                              // before connect
		append(append([]byte{}, connect...), cmd("publish", 2, 1, "..")...),   // bad name
		append(append([]byte{}, connect...), cmd("play", 2, 1, "a/b")...),     // bad name
		append(append([]byte{}, pub[:len(pub)/2]...), play[len(connect):]...), // publish and play
	}
}

// sessionServer is one server, not listening, whose serveRTMP runs the
// fuzzed sessions over net.Pipe.
var sessionServer = sync.OnceValue(func() *Server {
	cfg := defaultConfig()
	cfg.HandshakeTimeout.Duration, cfg.IdleTimeout.Duration, cfg.WriteTimeout.Duration = 5*time.Second, 5*time.Second, 5*time.Second
	return NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
})

// FuzzRTMPSession runs a whole server session on each input (the chunk
// stream after a handshake): command dispatch, publish, play, media and
// data handling must not panic, and when the connection ends the session
// leaves nothing behind in the hub.
func FuzzRTMPSession(f *testing.F) {
	for _, s := range sessionSeeds() {
		f.Add(s)
	}
	c0c1c2 := append([]byte{rtmpVersion}, make([]byte, 2*handshakeSize)...)
	f.Fuzz(func(t *testing.T, in []byte) {
		srv := sessionServer()
		sc, cc := net.Pipe()
		done := make(chan struct{})
		go func() { defer close(done); srv.serveRTMP(sc) }()
		drained := make(chan struct{})
		go func() { defer close(drained); io.Copy(io.Discard, cc) }()
		cc.Write(append(c0c1c2[:len(c0c1c2):len(c0c1c2)], in...))
		cc.Close()
		<-done
		<-drained
		srv.hub.mu.Lock()
		streams, sessions := len(srv.hub.streams), len(srv.hub.sessions)
		srv.hub.mu.Unlock()
		if streams != 0 || sessions != 0 {
			t.Fatalf("after the session: %d streams, %d sessions left in the hub", streams, sessions)
		}
	})
}

// ---- HTTP requests: routing and FLV path parsing ----

func httpSeeds() []string {
	return []string{
		"GET /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /live/cam.flv?sign=1-abc HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /live/cam.flv HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET /a.b/c.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /live/cam.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /live/%2e%2e.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /live/a%2Fb.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /live/../x.flv HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/v1/streams HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /live/cam.mp4 HTTP/1.1\r\nHost: x\r\n\r\n",
	}
}

// FuzzHTTPPath parses a request and serves it (hijacking, which the
// recorder cannot do, is where players stop): nothing panics, flvPath
// accepts only safe names that rebuild the path, and a path that is
// neither .flv nor .mp4 never gets a 2xx.
func FuzzHTTPPath(f *testing.F) {
	for _, s := range httpSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		app, name, ok := flvPath(raw)
		if ok && (!validName(app) || !validName(name) || "/"+app+"/"+name+".flv" != raw) {
			t.Fatalf("flvPath(%q) = %q, %q", raw, app, name)
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		srv := sessionServer()
		srv.http.Handler.ServeHTTP(httptest.NewRecorder(), req) // the whole router
		w := httptest.NewRecorder()
		srv.serveFLVRoute(w, req) // the FLV route alone
		_, _, flv := flvPath(req.URL.Path)
		_, _, mp4 := mediaPath(req.URL.Path, ".mp4")
		if !flv && !mp4 && req.URL.Path != "/" && w.Code < 300 {
			t.Fatalf("%s %q: %d for a path flvPath and mediaPath refuse", req.Method, req.URL.Path, w.Code)
		}
	})
}

// ---- FLV streams ----

// FuzzFLVReader reads an FLV stream (header, then tags): no panic, tags
// within the limit, errors typed or EOF, and the same tags and outcome
// whether the stream comes in one piece or one byte at a time, as the
// one-piece decoders (DecodeFLVHeader, DecodeFLVTag) read the same bytes.
func FuzzFLVReader(f *testing.F) {
	file := AppendFLVHeader(nil, true, true)
	for _, g := range flvGoldenTable {
		file = append(file, g.wire...)
	}
	f.Add(file)
	f.Add(file[:len(file)-3])
	f.Add(AppendFLVHeader(nil, false, true))
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x10extraextra\x00\x00\x00\x00"))
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, in []byte) {
		tags, err := readFLVStream(bytes.NewReader(in), limit)
		var fe FLVError
		if !errors.As(err, &fe) && !errors.Is(err, ErrFLVTagTooLarge) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v (%T)", err, err)
		}
		for _, tag := range tags {
			if len(tag.Data) > limit {
				t.Fatalf("tag of %d bytes, limit %d", len(tag.Data), limit)
			}
		}
		tags1, err1 := readFLVStream(iotest.OneByteReader(bytes.NewReader(in)), limit)
		if !sameTags(tags, tags1) || fmt.Sprint(err) != fmt.Sprint(err1) {
			t.Fatalf("one piece: %d tags, %v; one byte at a time: %d tags, %v", len(tags), err, len(tags1), err1)
		}
		checkFLVReaderAgainstDecode(t, in, tags, err, limit)
	})
}

// parseFLVHeaderPrefix parses the 9 fixed header bytes, when in has them.
func parseFLVHeaderPrefix(in []byte) (FLVHeader, error) {
	if len(in) < flvHeaderLen {
		return FLVHeader{}, io.ErrUnexpectedEOF
	}
	return parseFLVHeader(in)
}

func sameTags(a, b []FLVTag) bool {
	return slices.EqualFunc(a, b, func(x, y FLVTag) bool {
		return x.Type == y.Type && x.Timestamp == y.Timestamp && x.StreamID == y.StreamID && bytes.Equal(x.Data, y.Data)
	})
}

// readFLVStream reads the header and every tag; err is what ended it
// (io.EOF at a clean end).
func readFLVStream(r io.Reader, limit uint32) ([]FLVTag, error) {
	fr := NewFLVReader(r, limit)
	if _, err := fr.ReadHeader(); err != nil {
		return nil, err
	}
	var tags []FLVTag
	for {
		tag, err := fr.ReadTag()
		if err != nil {
			return tags, err
		}
		tags = append(tags, tag)
	}
}

// checkFLVReaderAgainstDecode: the one-piece decoders read the same tags
// from in, and then fail as the reader did: truncated where it met an
// early end, the same FLVError, or a header or tag above the limit.
func checkFLVReaderAgainstDecode(t *testing.T, in []byte, got []FLVTag, errReader error, limit uint32) {
	var rest []byte
	var err error
	if h, e := parseFLVHeaderPrefix(in); e == nil && h.DataOffset-flvHeaderLen > limit {
		err = ErrFLVTagTooLarge // the reader checks the limit before skipping
	} else {
		_, rest, err = DecodeFLVHeader(in)
	}
	var want []FLVTag
	for err == nil && len(rest) > 0 && len(want) < len(got)+1 {
		if len(rest) >= flvTagHeaderLen && rest[0]&(flvTagFilter|flvTagReserved) == 0 &&
			uint32(rest[1])<<16|uint32(rest[2])<<8|uint32(rest[3]) > limit {
			err = ErrFLVTagTooLarge // the reader checks the limit before reading the data
			break
		}
		var tag FLVTag
		if tag, rest, err = DecodeFLVTag(rest); err == nil {
			want = append(want, tag)
		}
	}
	if err == nil {
		err = io.EOF
	}
	truncated := strings.Contains(err.Error(), "truncated")
	early := errors.Is(errReader, io.EOF) || errors.Is(errReader, io.ErrUnexpectedEOF)
	sameErr := truncated && early || errors.Is(err, io.EOF) && errors.Is(errReader, io.EOF) ||
		errors.Is(err, ErrFLVTagTooLarge) && errors.Is(errReader, ErrFLVTagTooLarge) ||
		!truncated && err.Error() == errReader.Error()
	if !sameTags(got, want) || !sameErr {
		t.Fatalf("reader: %d tags, %v; decoders: %d tags, %v", len(got), errReader, len(want), err)
	}
}

// ---- user control messages ----

// FuzzUserControl: an event parses only when it re-encodes to the same
// bytes; failures are *ChunkError. Seeds: the chunk golden table's User
// Control row, and one message of each event.
func FuzzUserControl(f *testing.F) {
	f.Add(chunkRow(f, "User Control PingRequest passes through").want[0].Payload)
	for _, m := range []Message{userControlMessage(StreamBegin, 1), userControlMessage(SetBufferLength, 1, 3000),
		userControlMessage(PingRequest, 0xdeadbeef), userControlMessage(PingResponse, 1), userControlMessage(StreamEOF, 1)} {
		f.Add(m.Payload)
	}
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, p []byte) {
		ev, args, err := parseUserControl(p)
		if err != nil {
			var ce *ChunkError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T)", err, err)
			}
			return
		}
		if back := userControlMessage(ev, args...); !bytes.Equal(back.Payload, p) {
			t.Fatalf("% x re-encoded as % x", p, back.Payload)
		}
	})
}

// ---- signed URLs ----

// FuzzCheckSign: any query either fails with a sentinel or carries the
// very sign SignURL makes for the path.
func FuzzCheckSign(f *testing.F) {
	f.Add("/live/stream", "sign="+nmsSign)
	f.Add("/live/stream", "a=1&sign="+nmsSign+"&b=2")
	f.Add("/live/stream", "sign=01700000000-5A3594BC9BBC63AB69BAE153EA648E0C")
	f.Add("/live/stream", "sign=1700000000")
	f.Add("/live/stream", "sign=%zz&sign=1")
	f.Add("/x/y", "")
	now := time.Unix(1699999000, 0)
	f.Fuzz(func(t *testing.T, path, query string) {
		err := checkSign(path, query, nmsSecret, now)
		if err != nil {
			if !errors.Is(err, ErrSignMissing) && !errors.Is(err, ErrSignInvalid) && !errors.Is(err, ErrSignExpired) {
				t.Fatalf("error %v", err)
			}
			return
		}
		exp, hash, _ := strings.Cut(signParam(query), "-")
		n, _ := strconv.ParseInt(exp, 10, 64)
		if n < now.Unix() || !strings.EqualFold(SignURL(path, n, nmsSecret), strconv.FormatInt(n, 10)+"-"+hash) {
			t.Fatalf("accepted %q for %q", query, path)
		}
		if red := redactSign(query); signParam(red) != "REDACTED" {
			t.Fatalf("redactSign(%q) = %q", query, red)
		}
	})
}

// ---- the committed corpus against a live server ----

// corpusEntry is one file of testdata/fuzz/<Target>/: its values.
type corpusEntry struct {
	target, file string
	values       []any // []byte, string, or uint8
}

// loadCorpus reads every committed corpus file ("go test fuzz v1").
func loadCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	must(t, err)
	var out []corpusEntry
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		e := corpusEntry{target: filepath.Base(filepath.Dir(f)), file: filepath.Base(f)}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) == 0 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a corpus file", f)
		}
		for _, l := range lines[1:] {
			v, err := parseCorpusValue(l)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			e.values = append(e.values, v)
		}
		out = append(out, e)
	}
	return out
}

// parseCorpusValue reads one line: []byte("..."), string("..."), a
// byte('c'), or an integer, bool or float (returned as their text, which
// no delivery here needs).
func parseCorpusValue(l string) (any, error) {
	typ, rest, ok := strings.Cut(l, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return nil, fmt.Errorf("bad line %q", l)
	}
	arg := rest[:len(rest)-1]
	switch typ {
	case "[]byte", "string":
		s, err := strconv.Unquote(arg)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", l, err)
		}
		if typ == "string" {
			return s, nil
		}
		return []byte(s), nil
	case "uint8", "byte":
		if strings.HasPrefix(arg, "'") {
			s, err := strconv.Unquote(arg)
			if err != nil || len(s) != 1 {
				return nil, fmt.Errorf("%q: %v", l, err)
			}
			return s[0], nil
		}
		n, err := strconv.ParseUint(arg, 0, 8)
		return uint8(n), err
	}
	return arg, nil
}

// deliverCorpus sends one entry to the server the way its parser meets
// such bytes in production: raw on a port, after an RTMP handshake, as a
// message, or as the media of a publisher (which an HTTP-FLV player reads).
func deliverCorpus(t *testing.T, srv *Server, fuzzPub *Client, e corpusEntry) {
	first := func() []byte {
		switch v := e.values[0].(type) {
		case []byte:
			return v
		case string:
			return []byte(v)
		}
		return nil
	}
	switch e.target {
	case "FuzzHandshake":
		sendRaw(t, srv.RTMPAddr(), false, first())
	case "FuzzChunkReader", "FuzzChunkReassembly", "FuzzRTMPSession":
		sendRaw(t, srv.RTMPAddr(), true, first())
	case "FuzzAMF0":
		sendRaw(t, srv.RTMPAddr(), true, chunked(3, Message{Type: MsgCommandAMF0, Payload: first()}))
	case "FuzzUserControl":
		sendRaw(t, srv.RTMPAddr(), true, chunked(2, controlMessage(MsgUserControl, first())))
	case "FuzzHTTPPath", "FuzzHTTPRequest":
		sendRaw(t, srv.HTTPAddr(), false, first())
	case "FuzzWSFrame":
		up := "GET /live/fuzzws.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		sendRaw(t, srv.HTTPAddr(), false, append([]byte(up), first()...))
	case "FuzzFLVTag", "FuzzFLVReader":
		// the tag bytes as the media of a publisher, video and audio
		fuzzPub.WriteMedia(MsgVideo, 0, first())
		fuzzPub.WriteMedia(MsgAudio, 0, first())
	case "FuzzClassifyTag":
		typ, _ := e.values[0].(uint8)
		data, _ := e.values[1].([]byte)
		if typ != uint8(MsgAudio) && typ != uint8(MsgVideo) {
			typ = uint8(MsgVideo)
		}
		fuzzPub.WriteMedia(MessageType(typ), 0, data)
	case "FuzzCheckSign":
		path, _ := e.values[0].(string)
		query, _ := e.values[1].(string)
		sendRaw(t, srv.HTTPAddr(), false, []byte("GET /live/cam.flv?"+url8(query)+" HTTP/1.1\r\nHost: x\r\n\r\n"))
		sendRaw(t, srv.RTMPAddr(), true, append(chunked(3, connectMessage("live", "rtmp://x"+url8(path))),
			chunked(3, amfMessage(MsgCommandAMF0, 1, "publish", 2.0, nil, "cam?"+query))...))
	case "FuzzSplitAggregate":
		fuzzPub.WriteMedia(MsgAggregate, 0, first())
	case "FuzzParseClientURL": // a client parser: its strings as tcUrl
		s, _ := e.values[0].(string)
		sendRaw(t, srv.RTMPAddr(), true, chunked(3, connectMessage("live", s)))
	default: // other parsers of peer bytes (codec configurations, ...): as media
		for _, v := range e.values {
			if b, ok := v.([]byte); ok {
				fuzzPub.WriteMedia(MsgVideo, 0, b)
				fuzzPub.WriteMedia(MsgAudio, 0, b)
			}
		}
	}
}

// url8 keeps a fuzzed string on one request line.
func url8(s string) string {
	return strings.NewReplacer("\r", "%0D", "\n", "%0A", " ", "%20").Replace(s)
}

// sendRaw writes b on a fresh connection (after a client handshake when
// handshake is set) and reads what comes back until the server closes or
// 300 ms pass without a close.
func sendRaw(t *testing.T, addr string, handshake bool, b []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var r io.Reader = c
	if handshake {
		br := bufio.NewReader(c)
		if err := clientHandshake(struct {
			io.Reader
			io.Writer
		}{br, c}, false); err != nil {
			t.Errorf("handshake: %v", err)
			return
		}
		r = br
	}
	go c.Write(b)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	io.Copy(io.Discard, r)
}

// Every committed corpus entry, sent to a live server over a
// socket, leaves it serving: a stream played meanwhile gets every frame,
// and new publishers and players still work afterwards.
func TestCorpusAgainstLiveServer(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) == 0 {
		t.Fatal("no corpus under testdata/fuzz")
	}
	srv := startServer(t, func(c *Config) {
		c.HandshakeTimeout.Duration = time.Second
		c.PlayWait.Duration = 200 * time.Millisecond
	})
	lc := startLive(t, srv, "/live/corpus")
	fuzzPub := testPublisher(t, rtmpURL(srv, "/live/fuzzmedia"))
	fuzzPlayer := httpGetFLV(t, httpURL(srv, "/live/fuzzmedia.flv"))
	go io.Copy(io.Discard, fuzzPlayer)

	targets := map[string]int{}
	sem := make(chan struct{}, 16) // most of the time is waiting for a close
	var wg sync.WaitGroup
	for _, e := range corpus {
		targets[e.target]++
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			deliverCorpus(t, srv, fuzzPub, e)
		}()
	}
	wg.Wait()
	t.Logf("%d corpus entries sent: %v", len(corpus), targets)
	lc.check(t, 10)

	// the server still takes new publishers and players
	pub := testPublisher(t, rtmpURL(srv, "/live/after"))
	sendGOPs(t, pub, 0, 31, 30)
	waitLive(t, srv, "live", "after")
	checkPrologue(t, readMedia(t, testPlayer(t, rtmpURL(srv, "/live/after")), 4))
}
