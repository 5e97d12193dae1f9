// Section 5.2 of the Adobe RTMP 1.0 specification (Handshake): 5.2.1
// handshake sequence, 5.2.2 C0 and S0 format, 5.2.3 C1 and S1 format,
// 5.2.4 C2 and S2 format, 5.2.5 handshake diagram. Plus the undocumented
// Flash Player 9 "digest" handshake, which real encoders (ffmpeg, librtmp,
// OBS, GStreamer) send and which Flash-era players insist on getting back.
//
// The exchange, as this server does it:
//
//	Client                                        Server
//	  |--- C0 (1 byte) + C1 (1536 bytes) ------------>|
//	  |<-- S0 (1 byte) + S1 (1536) + S2 (1536) -------|  one write
//	  |--- C2 (1536 bytes) -------------------------->|
//
// The spec lets the server send S0+S1 before C1 arrives, but the digest
// handshake needs C1 to build S1 and S2, so we wait for C1 and answer with
// everything at once: one write, one TCP segment burst, no Nagle delay.
//
// C0 and S0 (5.2.2) are one byte:
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|    version    |   3 = plain RTMP; 6 = RTMPE (encrypted), unsupported
//	+-+-+-+-+-+-+-+-+
//
// C1 and S1 (5.2.3) are 1536 bytes:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        time (4 bytes)                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        zero (4 bytes)                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   random bytes (1528 bytes)                   |
//	|                              ...                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// C2 and S2 (5.2.4) are 1536 bytes that echo the peer's C1 or S1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 time (4 bytes, peer's time echoed)            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 time2 (4 bytes, when we read it)              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 random echo (1528 bytes)                      |
//	|                              ...                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Our time epoch starts at 0 with the handshake, so a plain byte-for-byte
// echo of the peer's packet is also spec-correct (time2 = 0 ms).
//
// # The digest handshake
//
// A Flash-style peer puts a nonzero version in the "zero" field (bytes
// 4..7) and hides an HMAC-SHA256 digest in the random bytes. The 1528
// random bytes are split into two 764-byte halves, a "digest half" and a
// "key half" (the key half only matters for RTMPE, ignored here). Which
// half comes first is the schema:
//
//	byte   0      4       8                    772                 1536
//	       +------+-------+--------------------+-------------------+
//	       | time | vers. |  half A (764)      |  half B (764)     |
//	       +------+-------+--------------------+-------------------+
//	schema 0:               digest half          key half
//	schema 1:               key half             digest half
//
// A digest half starts with four offset bytes; their sum modulo 728 says
// where, in the 760 bytes after them, the 32-byte digest sits:
//
//	offset bytes  o0 o1 o2 o3      digest at base + 4 + (o0+o1+o2+o3) % 728
//	schema 0:     bytes 8..11      digest somewhere in 12..771
//	schema 1:     bytes 772..775   digest somewhere in 776..1535
//
// The digest is HMAC-SHA256 over the other 1504 bytes of the packet. The
// client keys it with "Genuine Adobe Flash Player 001" (30 bytes), the
// server with "Genuine Adobe Flash Media Server 001" (36 bytes). C2 and S2
// become 1504 random bytes followed by a 32-byte signature:
//
//	S2[1504:] = HMAC(key = HMAC(server key + tail, C1 digest), data = S2[:1504])
//	C2[1504:] = HMAC(key = HMAC(player key + tail, S1 digest), data = C2[:1504])
//
// where tail is a fixed 32-byte constant (68- and 62-byte full keys).
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// Sizes and field offsets of the handshake packets (5.2.2 - 5.2.4).
const (
	handshakeSize = 1536 // C1, S1, C2 and S2 are all 1536 bytes
	rtmpVersion   = 3    // C0/S0 version byte for plain RTMP
	rtmpeVersion  = 6    // C0 version byte for RTMPE (encrypted), unsupported

	hsTimeOff    = 0 // time: 4 bytes, big-endian milliseconds
	hsVersionOff = 4 // "zero" field: 0 in simple mode, a version in digest mode
	hsRandomOff  = 8 // 1528 random bytes (with the digest halves inside)

	hsDigestSize   = sha256.Size                  // 32-byte HMAC-SHA256
	hsHalfSize     = 764                          // digest half and key half
	hsDigestRange  = 728                          // = 764 - 4 offset bytes - 32 digest bytes
	hsResponseData = handshakeSize - hsDigestSize // 1504 signed bytes of C2/S2
)

// Keys of the digest handshake. The short names sign C1 and S1; name+tail
// (62 and 68 bytes) derive the keys that sign C2 and S2.
const (
	hsPlayerName = "Genuine Adobe Flash Player 001"       // 30 bytes
	hsServerName = "Genuine Adobe Flash Media Server 001" // 36 bytes
	hsKeyTail    = "\xf0\xee\xc2\x4a\x80\x68\xbe\xe8\x2e\x00\xd0\xd1\x02\x9e\x7e\x57" +
		"\x6e\xec\x5d\x2d\x29\x80\x6f\xab\x93\xb8\xe6\x36\xcf\xeb\x31\xae"
)

// Values we put in the version field (bytes 4..7) in digest mode. Any
// nonzero value means "digest"; these mimic what real peers send.
const (
	hsServerVersion = 0x04050001 // Flash Media Server 4.5.0.1
	hsClientVersion = 0x09007c02 // Flash Player 9.0.124.2, as ffmpeg sends
)

// hsClientSchema is where our client puts its C1 digest: schema 0, like
// ffmpeg, librtmp and OBS in unencrypted mode (schema 1 is their RTMPE form).
const hsClientSchema = digestSchema0

// HandshakeError reports a handshake the peer got wrong: a version byte
// other than 3, or a digest that does not verify.
type HandshakeError string

func (e HandshakeError) Error() string { return "rtmp handshake: " + string(e) }

// digestSchema says which 764-byte half of C1/S1 carries the digest.
type digestSchema uint8

const (
	digestSchema0 digestSchema = iota // digest half at bytes 8..771
	digestSchema1                     // digest half at bytes 772..1535
)

func (s digestSchema) String() string {
	switch s {
	case digestSchema0:
		return "schema0"
	case digestSchema1:
		return "schema1"
	}
	return fmt.Sprintf("digestSchema(%d)", uint8(s))
}

// base is the first byte of the schema's digest half (its offset bytes).
func (s digestSchema) base() int {
	if s == digestSchema1 {
		return hsRandomOff + hsHalfSize // 772
	}
	return hsRandomOff // 8
}

// serverHandshake runs the server side: read C0+C1, write S0+S1+S2, read C2.
// It answers in digest form when C1 carries a valid Flash Player digest
// (schema 0 or 1), else in the simple form of the spec. Deadlines are the
// caller's business.
func serverHandshake(rw io.ReadWriter) (digest bool, err error) {
	if err := readVersion(rw, "C0"); err != nil {
		return false, err
	}
	b := handshakeBufs.Get().(*serverPackets)
	defer handshakeBufs.Put(b)
	c1 := &b.in // time(4) zero(4) random(1528)
	if _, err := io.ReadFull(rw, c1[:]); err != nil {
		return false, fmt.Errorf("rtmp handshake: reading C1: %w", err)
	}
	digest = serverReply(&b.reply, c1)
	if _, err := rw.Write(b.reply[:]); err != nil {
		return false, fmt.Errorf("rtmp handshake: writing S0+S1+S2: %w", err)
	}
	// C2 should echo S1 (or sign it, in digest mode). Like other servers we
	// do not check it: it tells us nothing, and clients differ in how they
	// fill it. We only need it off the wire before the first chunk (into
	// C1's buffer: S2 already holds what it needed of C1).
	if _, err := io.ReadFull(rw, b.in[:]); err != nil {
		return false, fmt.Errorf("rtmp handshake: reading C2: %w", err)
	}
	return digest, nil
}

// serverPackets are the server's handshake buffers: C1 then C2 in, S0,
// S1 and S2 back to back out. They are lent for the handshake only
// (handshakeBufs): a storm of connections then allocates none.
type serverPackets struct {
	in    [handshakeSize]byte
	reply [1 + 2*handshakeSize]byte
}

var handshakeBufs = sync.Pool{New: func() any { return new(serverPackets) }}

// serverReply fills S0, S1 and S2 in answer to c1 and reports whether it
// chose the digest form.
func serverReply(reply *[1 + 2*handshakeSize]byte, c1 *[handshakeSize]byte) bool {
	reply[0] = rtmpVersion // S0
	s1 := (*[handshakeSize]byte)(reply[1 : 1+handshakeSize])
	s2 := (*[handshakeSize]byte)(reply[1+handshakeSize:])
	schema, c1Digest, ok := findDigest(c1, []byte(hsPlayerName))
	if !ok {
		newHandshakePacket(s1, 0) // simple: time 0, zero 0, random
		*s2 = *c1                 // S2 echoes C1
		return false
	}
	newHandshakePacket(s1, hsServerVersion)
	signPacket(s1, schema, []byte(hsServerName)) // same schema as the client
	newHandshakePacket(s2, 0)
	signResponse(s2, []byte(hsServerName+hsKeyTail), c1Digest)
	return true
}

// clientHandshake runs the client side: write C0+C1, read S0+S1+S2, write C2.
// With digest set, C1 carries a Flash Player digest (schema 0); if the
// server answers in digest form (S1 version nonzero) its S1 and S2 digests
// must verify. A server answering in simple form is accepted either way.
func clientHandshake(rw io.ReadWriter, digest bool) error {
	var c0c1 [1 + handshakeSize]byte
	c0c1[0] = rtmpVersion // C0
	c1 := (*[handshakeSize]byte)(c0c1[1:])
	if digest {
		newHandshakePacket(c1, hsClientVersion)
		signPacket(c1, hsClientSchema, []byte(hsPlayerName))
	} else {
		newHandshakePacket(c1, 0)
	}
	if _, err := rw.Write(c0c1[:]); err != nil {
		return fmt.Errorf("rtmp handshake: writing C0+C1: %w", err)
	}
	if err := readVersion(rw, "S0"); err != nil {
		return err
	}
	var s1s2 [2 * handshakeSize]byte
	if _, err := io.ReadFull(rw, s1s2[:]); err != nil {
		return fmt.Errorf("rtmp handshake: reading S1+S2: %w", err)
	}
	s1 := (*[handshakeSize]byte)(s1s2[:handshakeSize])
	s2 := (*[handshakeSize]byte)(s1s2[handshakeSize:])
	var c2 [handshakeSize]byte
	if err := clientC2(&c2, c1, s1, s2, digest); err != nil {
		return err
	}
	if _, err := rw.Write(c2[:]); err != nil {
		return fmt.Errorf("rtmp handshake: writing C2: %w", err)
	}
	return nil
}

// clientC2 checks the server's S1 and S2 where it can and builds C2.
func clientC2(c2, c1, s1, s2 *[handshakeSize]byte, digest bool) error {
	// Version field 0: the server speaks the simple handshake. In simple
	// mode the client does not check S2 either; servers fill it loosely.
	if !digest || binary.BigEndian.Uint32(s1[hsVersionOff:]) == 0 {
		*c2 = *s1 // C2 echoes S1
		return nil
	}
	_, s1Digest, ok := findDigest(s1, []byte(hsServerName))
	if !ok {
		return HandshakeError("S1 has a version but no valid server digest")
	}
	off := digestOffset(c1, hsClientSchema)
	if !checkResponse(s2, []byte(hsServerName+hsKeyTail), c1[off:off+hsDigestSize]) {
		return HandshakeError("S2 signature does not match our C1 digest")
	}
	newHandshakePacket(c2, 0)
	signResponse(c2, []byte(hsPlayerName+hsKeyTail), s1Digest)
	return nil
}

// readVersion reads C0 or S0 (named by which) and checks it is version 3.
func readVersion(r io.Reader, which string) error {
	var b [1]byte // version
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Errorf("rtmp handshake: reading %s: %w", which, err)
	}
	if b[0] != rtmpVersion {
		return HandshakeError(fmt.Sprintf("%s version %d, want %d%s",
			which, b[0], rtmpVersion, versionHint(b[0])))
	}
	return nil
}

// versionHint explains the usual wrong version bytes for the log.
func versionHint(v byte) string {
	switch {
	case v == rtmpeVersion:
		return " (RTMPE encryption is not supported)"
	case v >= 'A' && v <= 'Z':
		return fmt.Sprintf(" (%q: a text protocol such as HTTP?)", rune(v))
	}
	return ""
}

// newHandshakePacket fills p as a fresh C1/S1: time 0 (our epoch starts
// now), the version field, and 1528 random bytes. C2/S2 in digest mode
// start the same way and get their signature afterwards.
func newHandshakePacket(p *[handshakeSize]byte, version uint32) {
	binary.BigEndian.PutUint32(p[hsTimeOff:], 0)
	binary.BigEndian.PutUint32(p[hsVersionOff:], version)
	rand.Read(p[hsRandomOff:]) // never fails since Go 1.24
}

// digestOffset returns where the 32-byte digest of p starts under schema s.
func digestOffset(p *[handshakeSize]byte, s digestSchema) int {
	b := s.base()
	sum := int(p[b]) + int(p[b+1]) + int(p[b+2]) + int(p[b+3])
	return b + 4 + sum%hsDigestRange
}

// packetDigest is HMAC-SHA256(key) over the 1504 bytes of p around the
// 32 bytes at off: p[:off] followed by p[off+32:].
func packetDigest(p *[handshakeSize]byte, off int, key []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(p[:off]) // the packet without its digest, in two writes
	h.Write(p[off+hsDigestSize:])
	return h.Sum(nil)
}

// signPacket writes p's digest under schema s and key into p.
func signPacket(p *[handshakeSize]byte, s digestSchema, key []byte) {
	off := digestOffset(p, s)
	copy(p[off:], packetDigest(p, off, key))
}

// findDigest looks for a valid digest under key in schema 0, then schema 1.
// It returns the schema and the digest bytes (a sub-slice of p).
func findDigest(p *[handshakeSize]byte, key []byte) (digestSchema, []byte, bool) {
	for _, s := range [...]digestSchema{digestSchema0, digestSchema1} {
		off := digestOffset(p, s)
		d := p[off : off+hsDigestSize]
		if hmac.Equal(d, packetDigest(p, off, key)) {
			return s, d, true
		}
	}
	return 0, nil, false
}

// responseSignature is the last 32 bytes of a digest-mode C2/S2:
// HMAC(key = HMAC(fullKey, peerDigest), data = p[:1504]).
func responseSignature(p *[handshakeSize]byte, fullKey, peerDigest []byte) []byte {
	k := hmac.New(sha256.New, fullKey)
	k.Write(peerDigest)
	h := hmac.New(sha256.New, k.Sum(nil))
	h.Write(p[:hsResponseData])
	return h.Sum(nil)
}

// signResponse writes the C2/S2 signature answering peerDigest into p.
func signResponse(p *[handshakeSize]byte, fullKey, peerDigest []byte) {
	copy(p[hsResponseData:], responseSignature(p, fullKey, peerDigest))
}

// checkResponse reports whether p carries the signature answering peerDigest.
func checkResponse(p *[handshakeSize]byte, fullKey, peerDigest []byte) bool {
	return hmac.Equal(p[hsResponseData:], responseSignature(p, fullKey, peerDigest))
}
