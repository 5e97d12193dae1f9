// HLS playlists: the window of parts and segments a muxer (hls.go) has
// cut, and its Media Playlist and Multivariant Playlist text
// (draft-pantos-hls-rfc8216bis-16 section 4, "Playlists"; section 6.2.2
// "Live Playlists"; 6.2.5 "Providing Low-Latency Media").
//
// Tags written, in the order 4.4 requires: EXTM3U (4.3.1.1),
// EXT-X-VERSION (4.3.1.2), EXT-X-TARGETDURATION (4.4.3.1),
// EXT-X-SERVER-CONTROL (4.4.3.8), EXT-X-PART-INF (4.4.3.7),
// EXT-X-MEDIA-SEQUENCE (4.4.3.2), EXT-X-DISCONTINUITY-SEQUENCE (4.4.3.3),
// then per segment EXT-X-DISCONTINUITY (4.4.4.3), EXT-X-MAP (4.4.4.5),
// EXT-X-PROGRAM-DATE-TIME (4.4.4.6), EXT-X-PART (4.4.4.9), EXTINF
// (4.4.4.1) and its URI, and last EXT-X-PRELOAD-HINT (4.4.5.3). The
// Multivariant Playlist has one EXT-X-STREAM-INF (4.4.6.2).
package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hlsVersion is the EXT-X-VERSION written: EXT-X-MAP without
// EXT-X-I-FRAMES-ONLY needs 6 (section 7); the LL-HLS tags need none.
const hlsVersion = 9

// hlsInit is one init segment of a muxer, URI init{id}.mp4.
type hlsInit struct {
	id  int
	mp4 *mp4Init
}

// hlsPart is one Partial Segment, URI part{id}.m4s: one fragment, its
// header and slices of the ring's payloads. It never changes once made.
type hlsPart struct {
	id          uint64 // the muxer's part number, from 0
	msn         uint64 // its segment
	index       int    // its place in the segment, from 0
	durMs       int64
	independent bool
	head        []byte   // moof + mdat header
	data        [][]byte // the samples, slices of ring payloads
	size        int      // bytes in data
	ring        *gopRing
	first       uint64 // ring seq of its first frame

	flatMu sync.Mutex
	flat   []byte // head and data in one piece, while the part is hot
	cold   bool   // flat let go for good: the part left the newest segments
}

// held reports whether the ring still holds the part's frames: a part
// whose frames left the ring is not served (404), never stale bytes.
func (p *hlsPart) held() bool { return p.ring.holds(p.first) }

func (p *hlsPart) length() int { return len(p.head) + p.size }

// appendTo appends the part's slices to bufs (no copy).
func (p *hlsPart) appendTo(bufs net.Buffers) net.Buffers {
	return append(append(bufs, p.head), p.data...)
}

// appendWire appends the part's bytes for a response. While the part
// is among the newest (hot), they are one piece, copied once on the
// first request: every Low-Latency viewer fetches the same few newest
// parts, and one piece is one write for each of them instead of one per
// sample. Older parts are served as their slices.
func (p *hlsPart) appendWire(bufs net.Buffers) net.Buffers {
	p.flatMu.Lock()
	defer p.flatMu.Unlock()
	if p.flat == nil && !p.cold {
		p.flat = make([]byte, 0, p.length())
		p.flat = append(p.flat, p.head...)
		for _, d := range p.data {
			p.flat = append(p.flat, d...)
		}
	}
	if p.flat != nil {
		return append(bufs, p.flat)
	}
	return p.appendTo(bufs)
}

// cool lets the part's one-piece copy go (see appendWire).
func (p *hlsPart) cool() {
	p.flatMu.Lock()
	p.flat, p.cold = nil, true
	p.flatMu.Unlock()
}

// hlsSegment is one Media Segment, URI seg{msn}.m4s: its parts back to back.
type hlsSegment struct {
	msn   uint64
	init  *hlsInit
	disc  bool      // EXT-X-DISCONTINUITY before it
	pdt   time.Time // EXT-X-PROGRAM-DATE-TIME
	parts []*hlsPart
	durMs int64
	done  bool // complete: EXTINF and URI listed
}

// hlsWindow is a muxer's live window: the segments a playlist lists,
// oldest first, each with at least one part.
type hlsWindow struct {
	maxSegs int   // complete segments kept (-hls-segments)
	partMs  int64 // the part target

	mu       sync.Mutex
	segs     []*hlsSegment
	opening  *hlsSegment // opened, waiting for its first part
	dropped  uint64      // EXT-X-DISCONTINUITY tags removed with their segments
	nextMSN  uint64
	nextPart uint64
	target   int64 // EXT-X-TARGETDURATION, seconds; 0 until fixed, then never changes
	guess    int64 // what it is taken to be for waits until then
	live     bool  // a publication is being cut: a preload hint is listed
	wake     chan struct{}
	version  uint64
	text     []string // the playlist of version textVer, split where the query goes
	textLen  int
	textVer  uint64
}

// hlsQueryMark stands for a viewer's query in the cached playlist text.
const hlsQueryMark = "\x00"

func newHLSWindow(maxSegs int, part time.Duration, guess int64) *hlsWindow {
	return &hlsWindow{maxSegs: max(maxSegs, 1), partMs: part.Milliseconds(), guess: max(guess, 1),
		wake: make(chan struct{}), textVer: math.MaxUint64}
}

// changedLocked wakes every waiter. w.mu held.
func (w *hlsWindow) changedLocked() {
	w.version++
	close(w.wake)
	w.wake = make(chan struct{})
}

// fixTarget sets EXT-X-TARGETDURATION, once: a playlist's target
// duration MUST NOT change (bis 6.2.1), so the cutter (hls.go) picks it
// when it knows the stream's segment length and keeps every segment
// within it. No Media Playlist is served before (hasTarget).
func (w *hlsWindow) fixTarget(sec int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.target == 0 {
		w.target = sec
		w.changedLocked()
	}
}

// hasTarget reports whether EXT-X-TARGETDURATION is fixed.
func (w *hlsWindow) hasTarget() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.target > 0
}

// targetDuration is EXT-X-TARGETDURATION as a duration (the guess until
// it is fixed).
func (w *hlsWindow) targetDuration() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.target == 0 {
		return time.Duration(w.guess) * time.Second
	}
	return time.Duration(w.target) * time.Second
}

func (w *hlsWindow) openSegment(in *hlsInit, disc bool, pdt time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.opening = &hlsSegment{msn: w.nextMSN, init: in, disc: disc, pdt: pdt}
	w.nextMSN++
}

// addPart numbers p, builds its fragment header with build(sequence
// number) and appends it to the newest segment.
func (w *hlsWindow) addPart(p *hlsPart, build func(seq uint32) []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.opening != nil {
		w.segs = append(w.segs, w.opening)
		w.opening = nil
		w.coolLocked()
	}
	s := w.segs[len(w.segs)-1]
	p.id, p.msn, p.index = w.nextPart, s.msn, len(s.parts)
	p.head = build(uint32(p.id + 1))
	w.nextPart++
	s.parts = append(s.parts, p)
	s.durMs += p.durMs
	w.pruneLocked()
	w.changedLocked()
}

// coolLocked lets go of the one-piece copies of the parts of the third
// newest segment: players at the live edge (PART-HOLD-BACK, back to an
// independent part) fetch parts of the newest two. w.mu held.
func (w *hlsWindow) coolLocked() {
	if n := len(w.segs); n >= 3 {
		for _, p := range w.segs[n-3].parts {
			p.cool()
		}
	}
}

func (w *hlsWindow) closeSegment() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.segs) == 0 || w.segs[len(w.segs)-1].done {
		return
	}
	s := w.segs[len(w.segs)-1]
	s.done = true
	w.pruneLocked()
	w.changedLocked()
}

func (w *hlsWindow) setLive(live bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live = live
	w.changedLocked()
}

// pruneLocked drops the oldest segments beyond maxSegs complete ones,
// and those whose frames the ring no longer holds.
func (w *hlsWindow) pruneLocked() {
	for len(w.segs) > 1 {
		complete := len(w.segs)
		if !w.segs[len(w.segs)-1].done {
			complete--
		}
		if complete <= w.maxSegs && w.segs[0].parts[0].held() {
			return
		}
		if w.segs[0].disc {
			w.dropped++
		}
		w.segs[0] = nil
		w.segs = w.segs[1:]
	}
}

// hlsPosition is where the window stands: the newest part's segment and
// index, and whether that segment is complete.
type hlsPosition struct {
	msn   uint64
	part  int
	done  bool
	valid bool // the window has a part
}

func (w *hlsWindow) positionLocked() hlsPosition {
	if len(w.segs) == 0 {
		return hlsPosition{}
	}
	s := w.segs[len(w.segs)-1]
	return hlsPosition{msn: s.msn, part: len(s.parts) - 1, done: s.done, valid: true}
}

// reach answers a blocking playlist request for part of segment msn
// (part < 0: the whole segment): whether the playlist has it (or
// something later) now, and whether it is too far ahead to wait for
// (bis 6.2.5.2: more than two segments ahead, or more parts ahead than
// the Advance Part Limit).
func (w *hlsWindow) reach(msn uint64, part int) (ready, tooFar bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pos := w.positionLocked()
	if !pos.valid {
		return false, msn > w.nextMSN+2
	}
	limit := 3
	if w.partMs < 1000 {
		limit = int(3000 / max(w.partMs, 1))
	}
	if msn > pos.msn+2 || (part >= 0 && msn == pos.msn && part > pos.part+limit) {
		return false, true
	}
	if part >= 0 {
		return msn < pos.msn || (msn == pos.msn && part <= pos.part), false
	}
	return msn < pos.msn || (msn == pos.msn && pos.done), false
}

// changed returns the channel closed at the next change, and whether a
// publication is being cut.
func (w *hlsWindow) changed() (<-chan struct{}, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wake, w.live
}

// started reports whether the window lists a part (and its target
// duration is fixed), and how many complete segments.
func (w *hlsWindow) started() (part bool, segments int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.segs {
		if s.done {
			segments++
		}
	}
	return len(w.segs) > 0 && w.target > 0, segments
}

// part finds part id: the part (held by the ring), or whether it may
// still come (the next part of a live publication, or the one after).
func (w *hlsWindow) part(id uint64) (p *hlsPart, coming bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id >= w.nextPart {
		return nil, w.live && id <= w.nextPart+1
	}
	for _, s := range w.segs {
		if n := len(s.parts); n > 0 && id >= s.parts[0].id && id <= s.parts[n-1].id {
			p = s.parts[id-s.parts[0].id]
		}
	}
	if p != nil && !p.held() {
		p = nil
	}
	return p, false
}

// segment returns the parts of complete segment msn, if all are held.
func (w *hlsWindow) segment(msn uint64) []*hlsPart {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.segs {
		if s.msn == msn && s.done && s.parts[0].held() {
			return s.parts
		}
	}
	return nil
}

// init returns init segment id if a listed segment uses it.
func (w *hlsWindow) init(id int) *hlsInit {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.segs {
		if s.init.id == id {
			return s.init
		}
	}
	return nil
}

// variant is what the Multivariant Playlist says of the stream: the
// newest init segment and the peak segment bit rate (4.4.6.2 BANDWIDTH).
func (w *hlsWindow) variant() (*hlsInit, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.segs) == 0 {
		return nil, 0
	}
	var peak int64
	for _, s := range w.segs {
		size := 0
		for _, p := range s.parts {
			size += p.length()
		}
		if s.durMs > 0 {
			peak = max(peak, int64(size)*8000/s.durMs)
		}
	}
	return w.segs[len(w.segs)-1].init, peak
}

// playlist returns the Media Playlist with query after every URI.
func (w *hlsWindow) playlist(query string) hlsText {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.playlistLocked(query)
}

// playlistLocked is playlist with w.mu held: the text is rendered once
// per version of the window.
func (w *hlsWindow) playlistLocked(query string) hlsText {
	if w.textVer != w.version {
		text := string(w.renderLocked(make([]byte, 0, w.textLen+256), len(w.segs), w.nextPart))
		w.text, w.textLen, w.textVer = strings.Split(text, hlsQueryMark), len(text), w.version
	}
	return hlsText{pieces: w.text, query: query}
}

// boundaryPlaylist returns the Media Playlist as it stood when its
// newest complete segment was closed: without the parts of the segment
// being cut, whose first part is the preload hint. It is a viewer's
// first playlist (hlssession.go), so that a player starts in a segment
// that no longer changes. A player starts PART-HOLD-BACK before the end
// of what it is given, back to an independent part; started inside the
// segment being cut, hls.js 1.7 fetches that segment's parts while its
// demuxer is still starting, and if the segment is completed meanwhile
// it books the parts it has as the whole segment and never fetches the
// last one: a stall, a skipped hole and a second more latency. When the
// newest segment is complete, or none is yet, it is the current playlist.
func (w *hlsWindow) boundaryPlaylist(query string) hlsText {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.segs)
	if n < 2 || w.segs[n-1].done {
		return w.playlistLocked(query)
	}
	text := string(w.renderLocked(make([]byte, 0, w.textLen+256), n-1, w.segs[n-1].parts[0].id))
	return hlsText{pieces: strings.Split(text, hlsQueryMark), query: query}
}

// hlsText is a playlist for one viewer: the cached text's pieces, with
// the viewer's query between them, written without joining them.
type hlsText struct {
	pieces []string
	query  string
}

func (t hlsText) size() int {
	n := len(t.query) * (len(t.pieces) - 1)
	for _, p := range t.pieces {
		n += len(p)
	}
	return n
}

func (t hlsText) writeTo(w io.Writer) (n int, err error) {
	for i, p := range t.pieces {
		if i > 0 {
			m, err := io.WriteString(w, t.query)
			if n += m; err != nil {
				return n, err
			}
		}
		m, err := io.WriteString(w, p)
		if n += m; err != nil {
			return n, err
		}
	}
	return n, nil
}

func (t hlsText) String() string { return strings.Join(t.pieces, t.query) }

// secs writes ms as decimal seconds (decimal-floating-point, 4.2).
func secs(b []byte, ms int64) []byte {
	return strconv.AppendFloat(b, float64(ms)/1000, 'f', 3, 64)
}

// renderLocked writes the Media Playlist of the oldest n segments, with
// part hint as its preload hint. w.mu held.
func (w *hlsWindow) renderLocked(b []byte, n int, hint uint64) []byte {
	b = fmt.Appendf(b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n", hlsVersion, w.target)
	b = append(b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = secs(b, 3*w.partMs)
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = secs(b, w.partMs)
	b = append(b, '\n')
	if len(w.segs) == 0 {
		return b
	}
	b = fmt.Appendf(b, "#EXT-X-MEDIA-SEQUENCE:%d\n", w.segs[0].msn)
	if d := w.discSequenceLocked(); d > 0 {
		b = fmt.Appendf(b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", d)
	}
	segs := w.segs[:n]
	from := partsFrom(segs, w.target)
	for i, s := range segs {
		b = w.renderSegment(b, s, i, i >= from)
	}
	if w.live {
		b = fmt.Appendf(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part%d.m4s%s\"\n", hint, hlsQueryMark)
	}
	return b
}

// discSequenceLocked is the Discontinuity Sequence Number of the first
// segment: the discontinuities removed before it, and its own (whose tag
// is not written on a first segment).
func (w *hlsWindow) discSequenceLocked() uint64 {
	d := w.dropped
	if w.segs[0].disc {
		d++
	}
	return d
}

// partsFrom is the first of segs whose parts are listed: those within
// three target durations (seconds) of the live edge (bis 4.4.4.9: parts
// older than that SHOULD be removed).
func partsFrom(segs []*hlsSegment, target int64) int {
	from, acc := len(segs), int64(0)
	for i := len(segs) - 1; i >= 0 && acc < 3*target*1000; i-- {
		from, acc = i, acc+segs[i].durMs
	}
	return from
}

func (w *hlsWindow) renderSegment(b []byte, s *hlsSegment, i int, parts bool) []byte {
	if s.disc && i > 0 {
		b = append(b, "#EXT-X-DISCONTINUITY\n"...)
	}
	if i == 0 || s.init != w.segs[i-1].init {
		b = fmt.Appendf(b, "#EXT-X-MAP:URI=\"init%d.mp4%s\"\n", s.init.id, hlsQueryMark)
	}
	b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
	b = s.pdt.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '\n')
	for _, p := range s.parts {
		if !parts {
			break
		}
		b = append(b, "#EXT-X-PART:DURATION="...)
		b = secs(b, p.durMs)
		b = fmt.Appendf(b, ",URI=\"part%d.m4s%s\"", p.id, hlsQueryMark)
		if p.independent {
			b = append(b, ",INDEPENDENT=YES"...)
		}
		b = append(b, '\n')
	}
	if s.done {
		b = append(b, "#EXTINF:"...)
		b = secs(b, s.durMs)
		b = fmt.Appendf(b, ",\nseg%d.m4s%s\n", s.msn, hlsQueryMark)
	}
	return b
}

// multivariantPlaylist is the Multivariant Playlist of one variant at
// uri (4.4.6.2: BANDWIDTH, CODECS, RESOLUTION). It does not say
// EXT-X-INDEPENDENT-SEGMENTS (4.4.2.1): a segment that a GOP longer than
// the target duration forces to be cut starts without a keyframe.
func multivariantPlaylist(in *hlsInit, bandwidth int64, uri string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n", hlsVersion)
	fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,CODECS=\"%s\"", max(bandwidth, 1), in.mp4.Codecs)
	if in.mp4.Width > 0 && in.mp4.Height > 0 {
		fmt.Fprintf(&b, ",RESOLUTION=%dx%d", in.mp4.Width, in.mp4.Height)
	}
	fmt.Fprintf(&b, "\n%s\n", uri)
	return b.String()
}
