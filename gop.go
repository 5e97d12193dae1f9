// GOP ring: the one live buffer of a publication, shared by every player of
// every protocol. A frame is encoded once, whatever the number of players;
// the publisher never waits for a player; a late joiner starts clean, with
// the headers and then the cached GOP from its keyframe.
//
// A publisher appends frames; each player keeps only a cursor (a sequence
// number) into the ring and, when woken, takes every frame from its cursor
// to the head and writes them with one gathered write. There is no
// per-player queue, so a player costs the same memory whether it keeps up
// or not.
//
// A frame's wire forms (RTMP chunks, FLV tag, WebSocket frame) are built
// once, when the frame is appended, as framing bytes around the one copy
// of its payload, and are read-only from then on: per-player work never
// encodes or copies (see Frame.appendWire).
package main

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"
)

// ringCap is the hard cap on frames held by one ring (the brief's 4096).
const ringCap = 4096

// outChunkSize is the RTMP chunk size announced to every player with Set
// Chunk Size right after connect. Media frames are chunked with it once, at
// append time, so every RTMP player can share the same bytes. It is large
// (SRS announces 60000; the specification allows up to 0x7FFFFFFF) so that
// nearly every frame is one chunk: a write hands the kernel two slices, a
// header and the payload, not two per 4 KiB.
const outChunkSize = 65536

// mediaStreamID is the message stream id every RTMP player plays on
// (createStream always answers 1), so pre-chunked bytes fit everyone.
const mediaStreamID = 1

// Chunk stream ids used for media towards players (RTMP 1.0 section 5.3.1.1
// leaves the choice to the sender; these are the values ffmpeg and nginx use).
const (
	csidData  = 5
	csidAudio = 4
	csidVideo = 6
)

// wireProto selects which encoded form of a frame a player writes.
type wireProto uint8

const (
	protoRTMP wireProto = iota // chunked RTMP message
	protoFLV                   // FLV tag + PreviousTagSize (HTTP-FLV)
	protoWS                    // RFC 6455 binary frame holding the FLV tag
	protoMP4                   // moof + mdat header and the sample (fmp4.go), built on first use
)

func (p wireProto) String() string {
	switch p {
	case protoRTMP:
		return "rtmp"
	case protoFLV:
		return "flv"
	case protoWS:
		return "ws"
	case protoMP4:
		return "mp4"
	}
	return "unknown"
}

// Frame is one audio, video or script message of a publication. Once
// appended to a ring it is never modified.
//
// Its payload is stored once. The three wire forms differ only in the few
// bytes around it, which are built when the frame is made and kept in
// wire; a player's write hands the kernel those bytes and slices of the
// payload side by side (a gathered write), so nothing is copied per
// protocol:
//
//	RTMP:    [fmt-0 header][payload 0..65535][fmt-3 header][payload 65536..]...
//	FLV:     [tag header][payload][PreviousTagSize]
//	WS-FLV:  [WS frame header + tag header][payload][PreviousTagSize]
type Frame struct {
	Seq       uint64  // position in the ring, from 0 per publication
	Type      TagType // TagAudio, TagVideo or TagScript
	Timestamp uint32  // milliseconds, as the publisher sent it
	Info      TagInfo // classification from the tag header
	Payload   []byte  // the FLV tag body == the RTMP message payload

	// headers are the decoder headers current when this frame arrived; a
	// player that starts at this frame (a keyframe) sends them first.
	headers *headerSet

	// The framing bytes of every wire form, back to back in wire, and
	// each form as the slices a write hands the kernel (framing and
	// payload side by side), by wireProto; built once, in newFrame.
	wire   [wireMax]byte
	out    [3][][]byte
	outLen [3]int

	// For a keyframe: its headers as RTMP chunks stamped with its own
	// timestamp, built on first use by an RTMP player joining here.
	joinOnce sync.Once
	joinRTMP [][]byte

	// Delta is the time in ms since the previous coded frame of the same
	// type in the ring (0 for the first): the MP4 sample duration.
	Delta uint32

	// The MP4 wire form (moof + mdat header, then the sample: fmp4.go),
	// built on first use, so streams without MP4 players pay nothing.
	mp4Once sync.Once
	mp4Out  [][]byte
	mp4Len  int
}

// wireMax bounds a frame's framing bytes: a fmt-0 chunk header with an
// extended timestamp (1+11+4), a fmt-3 one (1+4), the longest WebSocket
// header (10), the FLV tag header (11) and PreviousTagSize (4).
const wireMax = 16 + 5 + 10 + flvTagHeaderLen + 4

// newFrame classifies nothing; it builds the framing of the three wire
// forms around payload, which the frame then owns (the caller must not
// change it; a buffer much larger than its contents is copied, so the
// ring holds no slack).
func newFrame(t TagType, ts uint32, info TagInfo, payload []byte) *Frame {
	if cap(payload)-len(payload) > len(payload)/8 {
		payload = slices.Clone(payload)
		if info.Config != nil && info.DataOff+len(info.Config) <= len(payload) { // point it into the copy the frame keeps
			info.Config = payload[info.DataOff : info.DataOff+len(info.Config)]
		}
	}
	f := &Frame{Type: t, Timestamp: ts, Info: info, Payload: payload}
	m := Message{Type: MessageType(t), StreamID: mediaStreamID, Timestamp: ts, Payload: payload}
	// framing bytes: RTMP's fmt-0 and fmt-3 chunk headers; the WS frame
	// header directly before the FLV tag header; PreviousTagSize
	b := appendChunkHeader(f.wire[:0], csidFor(t), &m)
	rtmpHdr := b
	b = appendChunkContinuation(b, csidFor(t), &m)
	rtmpCont := b[len(rtmpHdr):]
	flvLen := flvTagHeaderLen + len(payload) + 4
	ws := len(b)
	b = appendWSHeader(b, true, WSBinary, flvLen)
	tag := len(b)
	b = appendFLVTagHeader(b, t, ts, len(payload))
	b = binary.BigEndian.AppendUint32(b, uint32(flvLen-4))
	prevSize := b[len(b)-4:]
	f.setWire(rtmpHdr, rtmpCont, b[ws:tag+flvTagHeaderLen], prevSize)
	return f
}

// setWire lays out the three wire forms as slices, in one array: RTMP
// chunk headers between the payload's chunks; the FLV tag header (the
// tail of wsTag), payload, PreviousTagSize; WS-FLV the same with the
// WebSocket header in front.
func (f *Frame) setWire(rtmpHdr, rtmpCont, wsTag, prevSize []byte) {
	chunks := max(1, (len(f.Payload)+outChunkSize-1)/outChunkSize)
	all := make([][]byte, 0, 2*chunks+6)
	all = append(all, rtmpHdr)
	for p := f.Payload; ; all = append(all, rtmpCont) {
		k := min(len(p), outChunkSize)
		all, p = append(all, p[:k]), p[k:]
		if len(p) == 0 {
			break
		}
	}
	f.out[protoRTMP] = all[:len(all):len(all)]
	rest := all[len(all):cap(all)]
	f.out[protoFLV] = append(rest[:0:3], wsTag[len(wsTag)-flvTagHeaderLen:], f.Payload, prevSize)
	f.out[protoWS] = append(rest[3:3:6], wsTag, f.Payload, prevSize)
	for proto, bufs := range f.out {
		for _, b := range bufs {
			f.outLen[proto] += len(b)
		}
	}
}

// joinHeaderChunks returns f's headers as RTMP chunks stamped with f's
// timestamp, built once per keyframe and shared by every RTMP player that
// joins at f. (Headers stamped 0 followed by media at the stream's current
// time make ffmpeg's RTMP reader mis-time the first frames; nginx-rtmp
// re-stamps them the same way. FLV players get the tags unchanged.)
func (f *Frame) joinHeaderChunks() [][]byte {
	f.joinOnce.Do(func() { f.joinRTMP = restampHeaders(f.headers, f.Timestamp) })
	return f.joinRTMP
}

// restampHeaders chunks every frame of h as an RTMP message, the audio and
// video headers at ts; metadata keeps its own timestamp (0, see
// rtmpSession.publishMessage, dataFrame).
func restampHeaders(h *headerSet, ts uint32) [][]byte {
	out := make([][]byte, len(h.frames))
	for i, hf := range h.frames {
		m := Message{Type: MessageType(hf.Type), StreamID: mediaStreamID, Timestamp: ts, Payload: hf.Payload}
		if hf.Type == TagScript {
			m.Timestamp = hf.Timestamp
		}
		out[i] = AppendChunks(nil, csidFor(hf.Type), &m, outChunkSize)
	}
	return out
}

func csidFor(t TagType) uint32 {
	switch t {
	case TagAudio:
		return csidAudio
	case TagVideo:
		return csidVideo
	}
	return csidData
}

// appendWire appends the frame's ready-made slices for proto to bufs. No
// encoding happens here: this is the whole per-player cost of a frame.
func (f *Frame) appendWire(bufs [][]byte, proto wireProto) [][]byte {
	if proto == protoMP4 {
		return append(bufs, f.mp4Wire()...)
	}
	return append(bufs, f.out[proto]...)
}

// wireLen is the number of bytes appendWire adds.
func (f *Frame) wireLen(proto wireProto) int {
	if proto == protoMP4 {
		f.mp4Wire()
		return f.mp4Len
	}
	return f.outLen[proto]
}

func (f *Frame) isKey() bool { return f.Type == TagVideo && f.Info.Flags&FlagKeyframe != 0 }

// isHeader reports whether a frame is decoder configuration that a late
// joiner needs before the media: onMetaData (session.go flags it
// FlagConfig; other data messages are ordinary frames), sequence headers,
// other configuration.
func (f *Frame) isHeader() bool {
	return f.Info.Flags&(FlagSeqHeader|FlagConfig) != 0
}

// A header frame configures one kind of thing, its headerKind: metadata,
// or the sequence header or other configuration (video Metadata, audio
// MultichannelConfig) of some tracks of one media type. A new header
// replaces an older one of the same kind whose tracks it all covers
// (Enhanced RTMP multitrack: per track; a ManyTracks header replaces the
// one-track headers it carries, a one-track header leaves a ManyTracks
// header that also configures other tracks in place). Audio and video
// never share a kind, so an avc1 ExHeader can never replace an audio
// header (NMS 4.4.3 does that); an unknown FourCC has a kind of its own,
// so it never replaces the header of a codec that was understood.
type headerKind struct {
	typ    TagType // TagScript, TagAudio or TagVideo
	config bool    // other configuration, not the sequence header
	fourCC uint32  // an unknown FourCC; 0 for every known codec
}

func (f *Frame) headerKind() headerKind {
	k := headerKind{typ: f.Type, config: f.Info.Flags&FlagSeqHeader == 0}
	if f.Info.Codec == CodecUnknown {
		k.fourCC = f.Info.FourCC
	}
	return k
}

// replaces reports whether header f makes the older header old obsolete.
func (f *Frame) replaces(old *Frame) bool {
	return f.headerKind() == old.headerKind() && f.Info.TrackIDs().Covers(old.Info.TrackIDs())
}

// headerSet is an immutable snapshot of a publication's decoder headers, in
// late-join order: metadata first, then the other headers in arrival order
// (a replacement takes the place of the first header it replaces).
type headerSet struct {
	frames   []*Frame
	hasAudio bool // the publication carries audio (header or frame seen)
	hasVideo bool
	mp4c     *mp4Cache // the MP4 init segment of frames, built on first use (fmp4.go)
}

// with returns a copy of h with f added, replacing what it replaces.
func (h *headerSet) with(f *Frame) *headerSet {
	n := &headerSet{hasAudio: h.hasAudio, hasVideo: h.hasVideo, mp4c: &mp4Cache{}}
	n.frames = make([]*Frame, 0, len(h.frames)+1)
	placed := false
	if f.Type == TagScript {
		n.frames = append(n.frames, f)
		placed = true
	}
	for _, old := range h.frames {
		switch {
		case !f.replaces(old):
			n.frames = append(n.frames, old)
		case !placed:
			n.frames = append(n.frames, f)
			placed = true
		}
	}
	if !placed {
		n.frames = append(n.frames, f)
	}
	return n.withMedia(f.Type)
}

// withMedia returns h, or a copy with the audio/video flag for t set.
func (h *headerSet) withMedia(t TagType) *headerSet {
	if (t == TagAudio && h.hasAudio) || (t == TagVideo && h.hasVideo) || t == TagScript {
		return h
	}
	n := *h
	n.hasAudio = n.hasAudio || t == TagAudio
	n.hasVideo = n.hasVideo || t == TagVideo
	return &n
}

// gopRing is the live buffer of one publication.
//
// Sequence numbers grow forever; slot = seq % len(buf). The ring holds frames
// tail..head-1 and remembers its newest keyframes (keys, oldest first; key
// is the newest). When a keyframe arrives, the GOPs before the ones kept
// are released: by default the current GOP and the one before it, so
// memory is about two GOPs whatever the number of players:
//
//	seq:    tail          keys[0]              key                head
//	         |               |                  |                  |
//	         v               v                  v                  v
//	        [K  p  p  p  p  p K  p  p  p  p  p  p K  p  p  p  p  p  ] -> appends
//	         \__ released at the next keyframe __/\__ current GOP __/
//
// Two consumers keep more: short GOPs (an LL-HLS encoder's) are kept
// three deep, so that a first HLS viewer finds the three segments it
// starts with (keepStart), and a running HLS muxer keeps its playlist
// window (retainGOPs).
//
// A player's cursor is somewhere in tail..head:
//
//	cursor == head          caught up; waits on the wake channel
//	tail <= cursor < head   behind; takes frames cursor..head-1 in one batch
//	cursor < tail           fell off the ring (or past -max-lag): skips to
//	                        key with its headers, and the drop is counted
//
// When more than ringCap frames arrive without a keyframe the oldest are
// released one by one; if that releases key itself, late joiners start live
// and wait for the next keyframe.
type gopRing struct {
	mu     sync.Mutex
	buf    []*Frame // a power of two long, grown up to ringCap (at)
	head   uint64   // seq of the next frame to append
	tail   uint64   // seq of the oldest frame still held
	key    uint64   // seq of the newest keyframe, valid when hasKey
	hasKey bool
	bytes  int // payload bytes held, for stats
	hdrs   *headerSet
	lastTS [2]uint32 // timestamp of the last coded audio [0] and video [1] frame
	hasTS  [2]bool
	// Multitrack: only keyframes of the main video track (the lowest
	// trackId of the first keyframe) open GOPs; keyframes of other tracks
	// at the same timestamp just before one join its GOP (keyGroup).
	mainTrack uint8
	hasMain   bool
	keyGroup  uint64        // seq of the first keyframe of the current run
	groupTS   uint32        // its timestamp
	inGroup   bool          // no coded non-key video frame since keyGroup
	wake      chan struct{} // closed and replaced on every append and on close
	closed    bool
	fan       *fanout  // writes to caught-up players (fanout.go); nil in tests
	keys      []uint64 // the newest keyframes, oldest first (some may be released)
	retain    int      // > 2: keep that many GOPs (an HLS playlist window, hls.go)
	startSpan uint32   // keepStart: milliseconds of whole GOPs kept
}

func newGOPRing() *gopRing {
	return &gopRing{hdrs: &headerSet{}, wake: make(chan struct{}), buf: make([]*Frame, ringStart)}
}

// setFanOut gives the ring the fan-out that writes to its caught-up
// players; set before the ring is shared.
func (r *gopRing) setFanOut(fo *fanout) { r.fan = fo }

// fanOut is the ring's fan-out, nil for a ring without one (tests).
func (r *gopRing) fanOut() *fanout { return r.fan }

// append adds f to the ring and wakes every waiting player. Header frames
// update the header set; keyframes remember it and release old GOPs.
func (r *gopRing) append(f *Frame) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	f.Seq = r.head
	r.updateHeaders(f)
	f.headers = r.hdrs
	if r.head-r.tail == uint64(len(r.buf)) {
		r.grow()
	}
	if r.head-r.tail == ringCap {
		r.release(r.tail + 1)
	}
	*r.at(f.Seq) = f
	r.head++
	r.noteDelta(f)
	r.bytes += len(f.Payload)
	r.noteVideo(f)
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
}

// ringStart is the slot count a ring starts with: two 2 s GOPs at 30
// fps with audio (about 300 frames) take one doubling. A ring of the full
// ringCap would cost every publication 32 KB of pointers, most of them
// never used: at 200 streams, 6.4 MB.
const ringStart = 256

// at is the slot of seq.
func (r *gopRing) at(seq uint64) **Frame { return &r.buf[seq&uint64(len(r.buf)-1)] }

// grow doubles the slots (up to ringCap), moving the frames held to
// their slots in the longer ring.
func (r *gopRing) grow() {
	if len(r.buf) >= ringCap {
		return
	}
	old := r.buf
	r.buf = make([]*Frame, 2*len(old))
	for seq := r.tail; seq < r.head; seq++ {
		*r.at(seq) = old[seq&uint64(len(old)-1)]
	}
}

func (r *gopRing) updateHeaders(f *Frame) {
	if f.isHeader() {
		r.hdrs = r.hdrs.with(f)
	} else {
		r.hdrs = r.hdrs.withMedia(f.Type)
	}
}

// noteDelta records in f the time since the previous coded frame of its
// type (main track only: the frames an MP4 player gets).
func (r *gopRing) noteDelta(f *Frame) {
	i := 0
	switch {
	case f.isHeader() || f.Info.Flags&(FlagSeqEnd|FlagCommand|FlagMultitrack) != 0 || f.Type == TagScript:
		return
	case f.Type == TagVideo:
		i = 1
	}
	if r.hasTS[i] {
		f.Delta = f.Timestamp - r.lastTS[i]
	}
	r.lastTS[i], r.hasTS[i] = f.Timestamp, true
}

// noteVideo opens a GOP at a keyframe of the main video track, or at the
// keyframes of other tracks sent just before it with the same timestamp
// (a multitrack publisher sends one keyframe per track: a player starting
// at the first of them gets every track's keyframe). Keyframes of other
// tracks alone do not open GOPs: a player starting there would get the
// main track's inter frames first.
func (r *gopRing) noteVideo(f *Frame) {
	switch {
	case f.Type != TagVideo || f.isHeader() || f.Info.Flags&FlagCommand != 0:
		return
	case !f.isKey():
		r.inGroup = false
		return
	}
	if !r.inGroup || r.groupTS != f.Timestamp {
		r.keyGroup, r.groupTS, r.inGroup = f.Seq, f.Timestamp, true
	}
	tracks := f.Info.TrackIDs()
	if !r.hasMain {
		r.mainTrack, r.hasMain = lowestTrack(tracks), true
	}
	if r.keyGroup < r.tail { // the ring cap released its start
		r.keyGroup = f.Seq
	}
	if tracks.Has(r.mainTrack) && !(r.hasKey && r.key == r.keyGroup) {
		r.markKey(r.keyGroup)
	}
}

// lowestTrack returns the smallest trackId in s (0 for the empty set).
func lowestTrack(s TrackSet) uint8 {
	for id := range 256 {
		if s.Has(uint8(id)) {
			return uint8(id)
		}
	}
	return 0
}

// markKey records a new keyframe and releases the GOPs before the ones
// the ring keeps (kept).
func (r *gopRing) markKey(seq uint64) {
	r.key, r.hasKey = seq, true
	drop := 0
	for drop < len(r.keys) && r.keys[drop] < r.tail {
		drop++ // released by the ring cap
	}
	r.keys = append(r.keys[:copy(r.keys, r.keys[drop:])], seq)
	if n := len(r.keys) - r.kept(); n > 0 {
		r.release(r.keys[n])
		r.keys = r.keys[:copy(r.keys, r.keys[n:])]
	}
}

// kept is how many of the newest keyframes the ring keeps GOPs from: the
// HLS muxer's window, or as many as the start window holds, or at least
// two (the current GOP and a slack one for players just behind).
func (r *gopRing) kept() int {
	if r.retain > 2 {
		return r.retain
	}
	n := 2
	for n < len(r.keys) && r.span(n+1) <= r.startSpan {
		n++
	}
	return n
}

// span is how long the GOPs between the n newest keyframes last, in
// milliseconds.
func (r *gopRing) span(n int) uint32 {
	oldest := (*r.at(r.keys[len(r.keys)-n])).Timestamp
	return (*r.at(r.key)).Timestamp - oldest
}

// keepStart makes the ring keep, before the current GOP, the whole GOPs
// that fit in span: with span a little over three HLS segments, a stream
// whose GOPs are about a segment long (an LL-HLS encoder's) holds, before
// anyone asks, the segments a first HLS viewer starts with
// (hlsStartSegments). A stream with longer GOPs keeps the default two.
func (r *gopRing) keepStart(span time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startSpan = uint32(span.Milliseconds())
}

// retainGOPs makes the ring keep the n newest GOPs (n <= 2: the default)
// while a consumer needs a longer window; the ring cap still bounds what
// is held.
func (r *gopRing) retainGOPs(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retain = n
}

// release drops frames before seq (seq must be <= head).
func (r *gopRing) release(seq uint64) {
	for ; r.tail < seq; r.tail++ {
		slot := r.at(r.tail)
		r.bytes -= len((*slot).Payload)
		*slot = nil
	}
}

// readResult says what a read found.
type readResult uint8

const (
	readOK     readResult = iota // frames (possibly none: wait on wake)
	readBehind                   // the cursor fell off the tail: resync
	readClosed                   // the publication ended and all was read
)

// read appends to dst the frames from cursor to the head (at most max) and
// returns them with the next cursor and the channel that closes on the next
// append. It allocates nothing when dst has room.
func (r *gopRing) read(cursor uint64, dst []*Frame, max int) ([]*Frame, uint64, <-chan struct{}, readResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cursor < r.tail {
		return dst, cursor, r.wake, readBehind
	}
	for ; cursor < r.head && len(dst) < max; cursor++ {
		dst = append(dst, *r.at(cursor))
	}
	if len(dst) == 0 && r.closed {
		return dst, cursor, r.wake, readClosed
	}
	return dst, cursor, r.wake, readOK
}

// window is a run of consecutive ring frames starting at seq base.
type window struct {
	base   uint64
	frames []*Frame
}

func (w window) end() uint64 { return w.base + uint64(len(w.frames)) }

// window appends to dst up to n frames from seq lo on (from the tail if
// lo is gone), and returns them with the tail and the head, all read
// under one lock: what a fan-out pass needs for all its players.
func (r *gopRing) window(lo uint64, dst []*Frame, n int) (w window, tail, head uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w = window{base: max(lo, r.tail), frames: dst}
	for seq := w.base; seq < r.head && len(w.frames) < n; seq++ {
		w.frames = append(w.frames, *r.at(seq))
	}
	return w, r.tail, r.head
}

// joinPoint is where a new (or resyncing) player starts: the newest held
// keyframe with the headers current when it arrived, or, when the ring
// holds no keyframe, the head with the current headers (the player then
// waits for a keyframe before sending video).
// key is that keyframe, nil when there is none.
func (r *gopRing) joinPoint() (seq uint64, hdrs *headerSet, key *Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hasKey && r.key >= r.tail {
		f := *r.at(r.key)
		return r.key, f.headers, f
	}
	return r.head, r.hdrs, nil
}

// oldestKey is like joinPoint but picks the oldest keyframe held (a slack
// GOP), for a player that should lose as little as possible.
func (r *gopRing) oldestKey() (uint64, *headerSet, *Frame) {
	r.mu.Lock()
	for _, k := range r.keys {
		if k >= r.tail {
			defer r.mu.Unlock()
			f := *r.at(k)
			return k, f.headers, f
		}
	}
	r.mu.Unlock()
	return r.joinPoint()
}

// slackKey is like joinPoint but picks the keyframe before the newest
// when the ring holds it (the slack GOP): a player that starts there has
// a GOP or two of frames at once.
func (r *gopRing) slackKey() (uint64, *headerSet, *Frame) {
	r.mu.Lock()
	if n := len(r.keys); n >= 2 && r.keys[n-2] >= r.tail {
		defer r.mu.Unlock()
		f := *r.at(r.keys[n-2])
		return r.keys[n-2], f.headers, f
	}
	r.mu.Unlock()
	return r.joinPoint()
}

// holds reports whether seq is still in the ring (or is the head).
func (r *gopRing) holds(seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return seq >= r.tail && seq <= r.head
}

// ready reports whether a player can start: a keyframe is held, or the
// stream is audio only so far (audio frames start live).
func (r *gopRing) ready() (bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok := (r.hasKey && r.key >= r.tail) || (r.hdrs.hasAudio && !r.hdrs.hasVideo && r.head > 0) || r.closed
	return ok, r.wake
}

// newestTimestamp is the timestamp of the newest frame (for lag checks).
func (r *gopRing) newestTimestamp() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.head == r.tail {
		return 0
	}
	return (*r.at(r.head - 1)).Timestamp
}

// close ends the publication: players drain what is left, then see
// readClosed.
func (r *gopRing) close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.wake)
	}
	r.mu.Unlock()
}

// ended reports whether the publication is over.
func (r *gopRing) ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// caughtUp reports whether cursor is the head of a live ring.
func (r *gopRing) caughtUp(cursor uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cursor == r.head && !r.closed
}

// wakeState returns the channel that closes on the next change, and
// whether the ring is closed.
func (r *gopRing) wakeState() (<-chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wake, r.closed
}

// ringStats is a snapshot for the stats API.
type ringStats struct {
	Frames int
	Bytes  int
}

func (r *gopRing) stats() ringStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ringStats{Frames: int(r.head - r.tail), Bytes: r.bytes}
}

func (r *gopRing) headers() *headerSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hdrs
}
