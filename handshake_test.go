package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"
)

// digestOffsetGolden: where the digest lies for given offset bytes,
// computed by hand: base + 4 + (o0+o1+o2+o3) % 728.
var digestOffsetGolden = []struct {
	name   string
	schema digestSchema
	off    [4]byte // the four offset bytes at the schema's base
	want   int
}{
	{"s0 zero", digestSchema0, [4]byte{0, 0, 0, 0}, 12},                  // 8+4+0
	{"s0 1+2+3+4", digestSchema0, [4]byte{1, 2, 3, 4}, 22},               // 12+10
	{"s0 sum 727 (last)", digestSchema0, [4]byte{255, 255, 217, 0}, 739}, // 12+727; digest ends at 771
	{"s0 sum 728 wraps", digestSchema0, [4]byte{255, 255, 218, 0}, 12},   // 728%728 = 0
	{"s0 all 0xff", digestSchema0, [4]byte{255, 255, 255, 255}, 304},     // 1020%728 = 292
	{"s1 zero", digestSchema1, [4]byte{0, 0, 0, 0}, 776},                 // 772+4+0
	{"s1 1+2+3+4", digestSchema1, [4]byte{1, 2, 3, 4}, 786},
	{"s1 sum 727 (last)", digestSchema1, [4]byte{255, 255, 217, 0}, 1503}, // digest ends at 1535
	{"s1 all 0xff", digestSchema1, [4]byte{255, 255, 255, 255}, 1068},
}

// fixedC1 is a deterministic C1: byte i = i%256, then time 0 and version
// 9.0.124.2. Its offset bytes are 8,9,10,11 (sum 38) for schema 0 and
// 4,5,6,7 (772%256 = 4, sum 22) for schema 1.
func fixedC1() *[handshakeSize]byte {
	var p [handshakeSize]byte
	for i := range p {
		p[i] = byte(i)
	}
	binary.BigEndian.PutUint32(p[0:], 0)
	binary.BigEndian.PutUint32(p[4:], hsClientVersion)
	return &p
}

// fixedResponse is a deterministic C2/S2 body: byte i = 255 - i%256.
func fixedResponse() *[handshakeSize]byte {
	var p [handshakeSize]byte
	for i := range p {
		p[i] = 255 - byte(i)
	}
	return &p
}

// c1DigestGolden: fixedC1 signed with the 30-byte player key. The digests
// were computed once, independently, with Python's hmac module.
var c1DigestGolden = []struct {
	schema  digestSchema
	offset  int    // 8+4+38 and 772+4+22
	digest  string // hex HMAC-SHA256("Genuine Adobe Flash Player 001", C1 minus digest)
	s2Sig   string // S2 signature of fixedResponse answering this digest (server key + tail)
	c2Sig   string // C2 signature of fixedResponse answering this digest (player key + tail)
	comment string
}{
	{digestSchema0, 50,
		"847b0a67b05fc66226127cd092337f2f9d2150340f81eafde5b40988a40a60b8",
		"3a58d370d9a535accd4662edec9d30761bebcc8f27516b1e63634f5aa649fa0d", "",
		"ffmpeg/librtmp/OBS layout"},
	{digestSchema1, 798,
		"2e064d617800c563ffdb6ff67e2084be69f21576d0e3449c252dccae7bd4ce49", "",
		"8ed467026bd5fc4f8ca52e0516ad23841085cb0ab46e27931340825c83c78984",
		"RTMPE-style layout"},
}

// signedFixedC1 returns fixedC1 signed under schema s.
func signedFixedC1(s digestSchema) *[handshakeSize]byte {
	p := fixedC1()
	signPacket(p, s, []byte(hsPlayerName))
	return p
}

// rwPair is an in-memory ReadWriter: reads come from in, writes go to out.
type rwPair struct {
	io.Reader
	io.Writer
}

// countingWriter counts Write calls.
type countingWriter struct {
	w      io.Writer
	writes []int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.w.Write(p)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDigestOffsetGolden(t *testing.T) {
	for _, tc := range digestOffsetGolden {
		var p [handshakeSize]byte
		copy(p[tc.schema.base():], tc.off[:])
		if got := digestOffset(&p, tc.schema); got != tc.want {
			t.Errorf("%s: digestOffset = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestDigestGolden(t *testing.T) {
	for _, tc := range c1DigestGolden {
		p := signedFixedC1(tc.schema)
		if got := digestOffset(p, tc.schema); got != tc.offset {
			t.Fatalf("%v: offset %d, want %d", tc.schema, got, tc.offset)
		}
		want := mustHex(t, tc.digest)
		if got := p[tc.offset : tc.offset+hsDigestSize]; !bytes.Equal(got, want) {
			t.Errorf("%v: digest %x, want %x", tc.schema, got, want)
		}
		s, d, ok := findDigest(p, []byte(hsPlayerName))
		if !ok || s != tc.schema || !bytes.Equal(d, want) {
			t.Errorf("%v: findDigest = %v %x %v", tc.schema, s, d, ok)
		}
		if _, _, ok := findDigest(p, []byte(hsServerName)); ok {
			t.Errorf("%v: C1 digest verified under the server key", tc.schema)
		}
		p[tc.offset+hsDigestSize]++ // tamper with a signed byte
		if _, _, ok := findDigest(p, []byte(hsPlayerName)); ok {
			t.Errorf("%v: tampered C1 still verifies", tc.schema)
		}
	}
}

func TestResponseGolden(t *testing.T) {
	for _, tc := range c1DigestGolden {
		peer := mustHex(t, tc.digest)
		for _, k := range []struct{ key, sig string }{
			{hsServerName + hsKeyTail, tc.s2Sig},
			{hsPlayerName + hsKeyTail, tc.c2Sig},
		} {
			if k.sig == "" {
				continue
			}
			p := fixedResponse()
			signResponse(p, []byte(k.key), peer)
			if got, want := p[hsResponseData:], mustHex(t, k.sig); !bytes.Equal(got, want) {
				t.Errorf("%v: signature %x, want %x", tc.schema, got, want)
			}
			if !checkResponse(p, []byte(k.key), peer) {
				t.Errorf("%v: checkResponse rejects its own signature", tc.schema)
			}
			p[0] ^= 1
			if checkResponse(p, []byte(k.key), peer) {
				t.Errorf("%v: checkResponse accepts tampered data", tc.schema)
			}
		}
	}
}

func TestKeysAndStrings(t *testing.T) {
	if n := len(hsPlayerName); n != 30 {
		t.Errorf("player key name %d bytes, want 30", n)
	}
	if n := len(hsServerName + hsKeyTail); n != 68 {
		t.Errorf("full server key %d bytes, want 68", n)
	}
	if n := len(hsPlayerName + hsKeyTail); n != 62 {
		t.Errorf("full player key %d bytes, want 62", n)
	}
	for s, want := range map[digestSchema]string{0: "schema0", 1: "schema1", 7: "digestSchema(7)"} {
		if got := s.String(); got != want {
			t.Errorf("String(%d) = %q, want %q", uint8(s), got, want)
		}
	}
}

// serverTranscript runs serverHandshake over in-memory input and returns
// what it wrote and how many Write calls it made.
func serverTranscript(in []byte) (out []byte, writes []int, digest bool, err error) {
	var buf bytes.Buffer
	cw := &countingWriter{w: &buf}
	digest, err = serverHandshake(rwPair{bytes.NewReader(in), cw})
	return buf.Bytes(), cw.writes, digest, err
}

// clientInput is C0 + c1 + a zero C2.
func clientInput(c1 *[handshakeSize]byte) []byte {
	in := append([]byte{rtmpVersion}, c1[:]...)
	return append(in, make([]byte, handshakeSize)...)
}

func TestServerDigestReply(t *testing.T) {
	for _, tc := range c1DigestGolden {
		c1 := signedFixedC1(tc.schema)
		out, writes, digest, err := serverTranscript(clientInput(c1))
		if err != nil || !digest {
			t.Fatalf("%v: digest=%v err=%v", tc.schema, digest, err)
		}
		if len(writes) != 1 || writes[0] != 1+2*handshakeSize {
			t.Errorf("%v: writes %v, want one write of %d", tc.schema, writes, 1+2*handshakeSize)
		}
		if out[0] != rtmpVersion {
			t.Errorf("%v: S0 = %d", tc.schema, out[0])
		}
		s1 := (*[handshakeSize]byte)(out[1 : 1+handshakeSize])
		s2 := (*[handshakeSize]byte)(out[1+handshakeSize:])
		if v := binary.BigEndian.Uint32(s1[4:]); v != hsServerVersion {
			t.Errorf("%v: S1 version %#x, want %#x", tc.schema, v, hsServerVersion)
		}
		if s, _, ok := findDigest(s1, []byte(hsServerName)); !ok || s != tc.schema {
			t.Errorf("%v: S1 digest schema %v ok=%v, want the client's", tc.schema, s, ok)
		}
		if !checkResponse(s2, []byte(hsServerName+hsKeyTail), mustHex(t, tc.digest)) {
			t.Errorf("%v: S2 does not answer the C1 digest", tc.schema)
		}
	}
}

func TestServerSimpleReply(t *testing.T) {
	c1 := fixedC1() // unsigned, zero field 0: a spec-style simple C1
	binary.BigEndian.PutUint32(c1[4:], 0)
	out, writes, digest, err := serverTranscript(clientInput(c1))
	if err != nil || digest {
		t.Fatalf("digest=%v err=%v", digest, err)
	}
	if len(writes) != 1 {
		t.Errorf("writes %v, want one", writes)
	}
	if v := binary.BigEndian.Uint32(out[1+4:]); v != 0 {
		t.Errorf("simple S1 zero field = %#x", v)
	}
	if !bytes.Equal(out[1+handshakeSize:], c1[:]) {
		t.Error("simple S2 is not an echo of C1")
	}
}

func TestServerBadVersion(t *testing.T) {
	for _, v := range []byte{0, 6, 'G', 0xff} {
		in := clientInput(fixedC1())
		in[0] = v
		out, _, _, err := serverTranscript(in)
		var he HandshakeError
		if !errors.As(err, &he) {
			t.Errorf("version %d: err %v, want HandshakeError", v, err)
		}
		if len(out) != 0 {
			t.Errorf("version %d: server wrote %d bytes", v, len(out))
		}
	}
	_, _, _, err := serverTranscript([]byte("GET / HTTP/1.1\r\n"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("HTTP")) {
		t.Errorf("HTTP request: err %v, want a hint about HTTP", err)
	}
}

func TestServerTruncated(t *testing.T) {
	full := clientInput(signedFixedC1(digestSchema0))
	for _, n := range []int{0, 1, 2, 1536, 1537, 1538, 2000, len(full) - 1} {
		_, _, _, err := serverTranscript(full[:n])
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("len %d: err %v, want EOF or ErrUnexpectedEOF", n, err)
		}
	}
}

// pipeHandshake runs server and client over net.Pipe, optionally wrapping
// each side's reader (e.g. iotest.OneByteReader).
func pipeHandshake(t *testing.T, digest bool, wrap func(io.Reader) io.Reader) (serverDigest bool, serverErr, clientErr error) {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	deadline := time.Now().Add(5 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	type result struct {
		digest bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		d, err := serverHandshake(rwPair{wrap(sc), sc})
		done <- result{d, err}
	}()
	cerr := clientHandshake(rwPair{wrap(cc), cc}, digest)
	r := <-done
	return r.digest, r.err, cerr
}

func TestRoundTrip(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for name, wrap := range readers {
		for _, digest := range []bool{false, true} {
			got, serr, cerr := pipeHandshake(t, digest, wrap)
			if serr != nil || cerr != nil {
				t.Errorf("%s digest=%v: server %v, client %v", name, digest, serr, cerr)
			}
			if got != digest {
				t.Errorf("%s: client digest=%v but server chose %v", name, digest, got)
			}
		}
	}
}

// fakeServer answers a client over net.Pipe with reply(c1) and returns
// the client's error and the C2 it sent.
// A reply shorter than S0+S1+S2 is followed by EOF.
func fakeServer(t *testing.T, digest bool, reply func(c1 *[handshakeSize]byte) []byte) ([]byte, error) {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	deadline := time.Now().Add(5 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	c2 := make(chan []byte, 1)
	go func() {
		defer close(c2)
		var c0c1 [1 + handshakeSize]byte
		if _, err := io.ReadFull(sc, c0c1[:]); err != nil {
			return
		}
		out := reply((*[handshakeSize]byte)(c0c1[1:]))
		sc.Write(out)
		if len(out) < 1+2*handshakeSize {
			sc.Close()
			return
		}
		b, _ := io.ReadAll(io.LimitReader(sc, handshakeSize))
		c2 <- b
	}()
	err := clientHandshake(cc, digest)
	cc.Close()
	return <-c2, err
}

func TestClientAgainstSimpleServer(t *testing.T) {
	for _, digest := range []bool{false, true} {
		var s1 [handshakeSize]byte
		newHandshakePacket(&s1, 0)
		c2, err := fakeServer(t, digest, func(c1 *[handshakeSize]byte) []byte {
			out := append([]byte{rtmpVersion}, s1[:]...)
			return append(out, c1[:]...)
		})
		if err != nil {
			t.Errorf("digest=%v: %v", digest, err)
		}
		if !bytes.Equal(c2, s1[:]) {
			t.Errorf("digest=%v: C2 is not an echo of S1", digest)
		}
	}
}

func TestClientC1(t *testing.T) {
	var c1 *[handshakeSize]byte
	fakeServer(t, true, func(p *[handshakeSize]byte) []byte {
		c1 = new([handshakeSize]byte)
		*c1 = *p
		return []byte{rtmpVersion} // then EOF
	})
	if c1 == nil {
		t.Fatal("no C1")
	}
	if v := binary.BigEndian.Uint32(c1[4:]); v != hsClientVersion {
		t.Errorf("C1 version %#x", v)
	}
	if s, _, ok := findDigest(c1, []byte(hsPlayerName)); !ok || s != hsClientSchema {
		t.Errorf("C1 digest: schema %v ok %v", s, ok)
	}
}

func TestClientRejects(t *testing.T) {
	cases := []struct {
		name  string
		reply func(c1 *[handshakeSize]byte) []byte
	}{
		{"S0 version 6", func(c1 *[handshakeSize]byte) []byte {
			return []byte{rtmpeVersion}
		}},
		{"S1 versioned, no digest", func(c1 *[handshakeSize]byte) []byte {
			var s1 [handshakeSize]byte
			newHandshakePacket(&s1, hsServerVersion)
			out := append([]byte{rtmpVersion}, s1[:]...)
			return append(out, c1[:]...)
		}},
		{"S2 bad signature", func(c1 *[handshakeSize]byte) []byte {
			var reply [1 + 2*handshakeSize]byte
			serverReply(&reply, c1)
			reply[len(reply)-1] ^= 1
			return reply[:]
		}},
	}
	for _, tc := range cases {
		_, err := fakeServer(t, true, tc.reply)
		var he HandshakeError
		if !errors.As(err, &he) {
			t.Errorf("%s: err %v, want HandshakeError", tc.name, err)
		}
	}
}

func TestClientTruncated(t *testing.T) {
	_, err := fakeServer(t, true, func(c1 *[handshakeSize]byte) []byte {
		out := make([]byte, 1+handshakeSize) // S0 + S1, no S2
		out[0] = rtmpVersion
		return out
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err %v, want ErrUnexpectedEOF", err)
	}
}

// FuzzHandshake feeds arbitrary bytes as C0+C1+C2 to serverHandshake.
// The seeds come from the golden tables and reach every path, so that the
// fuzzer starts with full coverage: minimizing a new 3 KB input is slow
// (quadratic in its length).
func FuzzHandshake(f *testing.F) {
	c1s := []*[handshakeSize]byte{fixedC1()} // unsigned: simple reply
	for _, tc := range c1DigestGolden {
		c1s = append(c1s, signedFixedC1(tc.schema))
	}
	for _, c1 := range c1s {
		in := clientInput(c1)
		f.Add(in)
		f.Add(in[:len(in)-1])   // C2 cut short after the reply
		f.Add(append(in, 0x03)) // trailing bytes (the first chunk)
	}
	for _, tc := range digestOffsetGolden {
		c1 := fixedC1()
		copy(c1[tc.schema.base():], tc.off[:])
		signPacket(c1, tc.schema, []byte(hsPlayerName))
		f.Add(clientInput(c1))
	}
	full := clientInput(fixedC1())
	for _, n := range []int{0, 1, 2, 1 + handshakeSize, 2 + handshakeSize} {
		f.Add(full[:n]) // EOF / unexpected EOF in C0, C1 and C2
	}
	for _, v := range []byte{0, rtmpeVersion, 'G', 'x'} {
		f.Add(append([]byte{v}, full[1:]...)) // bad versions, with and without hints
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, writes, digest, err := serverTranscript(in)
		if len(in) > 0 && in[0] != rtmpVersion {
			var he HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("version %d: err %v, want HandshakeError", in[0], err)
			}
			return
		}
		if len(in) < 1+2*handshakeSize {
			if err == nil {
				t.Fatalf("%d bytes accepted", len(in))
			}
			return
		}
		if err != nil || len(writes) != 1 || len(out) != 1+2*handshakeSize {
			t.Fatalf("err %v, writes %v", err, writes)
		}
		checkServerReply(t, (*[handshakeSize]byte)(in[1:]), out, digest)
	})
}

// checkServerReply checks S0+S1+S2 in out against c1.
func checkServerReply(t *testing.T, c1 *[handshakeSize]byte, out []byte, digest bool) {
	schema, c1Digest, ok := findDigest(c1, []byte(hsPlayerName))
	if ok != digest {
		t.Fatalf("digest %v, but C1 verifies: %v", digest, ok)
	}
	s1 := (*[handshakeSize]byte)(out[1 : 1+handshakeSize])
	s2 := (*[handshakeSize]byte)(out[1+handshakeSize:])
	if !digest {
		if !bytes.Equal(s2[:], c1[:]) {
			t.Fatal("simple S2 is not an echo of C1")
		}
		return
	}
	if s, _, ok := findDigest(s1, []byte(hsServerName)); !ok || s != schema {
		t.Fatalf("S1 schema %v ok %v, want %v", s, ok, schema)
	}
	if !checkResponse(s2, []byte(hsServerName+hsKeyTail), c1Digest) {
		t.Fatal("S2 does not answer C1")
	}
}
