// HLS and Low-Latency HLS from the GOP ring: one muxer per stream cuts
// the ring's frames into fMP4 parts and segments (RFC 8216 section 3.3
// "Fragmented MPEG-4"; draft-pantos-hls-rfc8216bis-16 sections 3.1.2,
// 4.4.4.9 "EXT-X-PART", 6.2.5 "Providing Low-Latency Media"). The
// playlists are in hlsplaylist.go, the viewers and HTTP in hlssession.go.
//
// A part is one fragment (fmp4.go appendFragment): its small moof + mdat
// header, then the samples as slices of the ring's payloads, never
// copied. A segment is its parts back to back. Segments start at
// keyframes of the main video track once at least -hls-segment long
// (audio-only streams: every hlsAudioSegment), and before they would
// outgrow EXT-X-TARGETDURATION, which is fixed once for the muxer's life
// (hlsCutter.fixTarget); parts are at most
// -hls-part long (the Part Target Duration, bis 4.4.3.7 and 4.4.4.9, is
// a part's upper bound) and start at frame boundaries. Decode times run on one timeline for the muxer's whole
// life: a returning publisher continues where the last one ended.
package main

import (
	"sync"
	"time"
)

// hlsAudioSegment is the segment length of a stream without video.
const hlsAudioSegment = 2000 // ms

// hlsSample is a frame's sample waiting for its part to close.
type hlsSample struct {
	data []byte
	dts  int64 // ms on the muxer's timeline
	cto  int32 // composition offset, ms
	key  bool
}

// hlsOpenPart gathers the samples of the part being cut.
type hlsOpenPart struct {
	open        bool
	start       int64 // dts of its first sample (ms)
	independent bool  // starts with a keyframe (or is audio only)
	video       []hlsSample
	audio       []hlsSample
	ring        *gopRing
	first       uint64 // ring seq of its first frame
}

// hlsTrackClock follows one track's decode times: the newest dts and the
// delta before it, to predict the next.
type hlsTrackClock struct {
	last, delta int64
	prevDelta   int64
	seen        bool
}

func (c *hlsTrackClock) note(dts int64) {
	if c.seen && dts > c.last {
		c.prevDelta, c.delta = c.delta, dts-c.last
	}
	c.last, c.seen = dts, true
}

// next predicts the delta to the next sample: the smaller of the last
// two (millisecond timestamps of a 30 fps stream step 33, 33, 34 ms; the
// 34 must not end a part one frame early).
func (c *hlsTrackClock) next() int64 {
	if c.prevDelta > 0 {
		return min(c.delta, c.prevDelta)
	}
	return c.delta
}

// hlsCutter turns the frames of successive publications into parts and
// segments of one window. It is driven by the muxer's goroutine only.
type hlsCutter struct {
	partMs, segMs int64
	win           *hlsWindow

	hdrs     *headerSet // the headers init was made from
	init     *hlsInit   // the init segment of the segment being cut
	pending  *hlsInit   // a changed init, for the next segment
	inits    int        // init segments made so far (their ids)
	disc     bool       // the next segment follows a discontinuity
	needKey  bool       // skip until a keyframe (start, resync)
	timeline hlsTimeline

	part         hlsOpenPart
	segStart     int64
	segOpen      bool
	limitMs      int64 // no segment is longer (0: target not fixed yet)
	longest      int64 // the longest segment closed before that
	lastKey      int64 // dts of the newest video keyframe
	gopMs        int64 // the longest keyframe interval seen
	video, audio hlsTrackClock
	audioFloor   int64 // audio before this dts is dropped
}

// hlsTimeline maps a publication's RTMP timestamps (ms, wrapping at
// 2^32) onto the muxer's continuous timeline, and to wall-clock time
// for EXT-X-PROGRAM-DATE-TIME (bis 4.4.4.6).
type hlsTimeline struct {
	based      bool
	base       uint32 // timestamp of the publication's first sample
	offset     int64  // its dts
	end        int64  // dts just past the newest sample of the last publication
	anchorTS   uint32 // a timestamp whose wall time is known
	anchorWall time.Time
}

func (t *hlsTimeline) dts(ts uint32) int64 {
	if !t.based {
		t.base, t.offset, t.based = ts, t.end, true
	}
	return t.offset + int64(int32(ts-t.base))
}

func (t *hlsTimeline) wall(ts uint32) time.Time {
	return t.anchorWall.Add(time.Duration(int32(ts-t.anchorTS)) * time.Millisecond)
}

func newHLSCutter(win *hlsWindow, part, seg time.Duration) *hlsCutter {
	return &hlsCutter{win: win, partMs: part.Milliseconds(), segMs: seg.Milliseconds(), needKey: true}
}

// startPublication begins a publication whose newest frame, stamped ts,
// arrived at about now.
func (c *hlsCutter) startPublication(now time.Time, ts uint32) {
	c.timeline.based = false
	c.timeline.anchorTS, c.timeline.anchorWall = ts, now
	c.needKey = true
	c.audioFloor = c.timeline.end
	c.win.setLive(true)
}

// endPublication closes the part and segment being cut; the next
// publication continues the timeline after them.
func (c *hlsCutter) endPublication() {
	c.flush()
	c.win.setLive(false)
}

// flush closes the open part (its end estimated from the last frame
// delta) and segment.
func (c *hlsCutter) flush() {
	end := c.audio.last + max(c.audio.delta, 1)
	if c.init != nil && c.init.mp4.Video != nil {
		end = c.video.last + max(c.video.delta, 1)
	}
	if c.part.open {
		c.closePart(end)
	}
	c.closeSegment(end)
	if c.timeline.based {
		c.timeline.end = max(c.timeline.end, c.video.last+c.video.delta, c.audio.last+c.audio.delta)
	}
	c.needKey = true
}

// feed cuts frame f (read from ring r) into the current part.
func (c *hlsCutter) feed(r *gopRing, f *Frame) {
	if f.Type != TagVideo && f.Type != TagAudio {
		return
	}
	data, cts, ok := sampleOf(f)
	if !ok {
		return
	}
	if f.headers != c.hdrs {
		c.headersChanged(f.headers)
	}
	in := c.init
	if c.pending != nil {
		in = c.pending
	}
	if in == nil || (f.Type == TagVideo && in.mp4.Video == nil) || (f.Type == TagAudio && in.mp4.Audio == nil) {
		return
	}
	videoLed := in.mp4.Video != nil
	if c.needKey && videoLed && !f.isKey() {
		return
	}
	dts := c.timeline.dts(f.Timestamp)
	s := hlsSample{data: data, dts: dts, cto: cts, key: f.isKey() || f.Type == TagAudio}
	if f.Type == TagAudio {
		c.cutAudio(r, f, s, videoLed)
		return
	}
	c.cutVideo(r, f, s)
}

// cutVideo places a video sample: a keyframe far enough into the segment
// starts a new one; a sample that would make the part overrun the part
// target (predicted from the last frame delta) starts a new part.
func (c *hlsCutter) cutVideo(r *gopRing, f *Frame, s hlsSample) {
	if c.part.open && s.dts < c.video.last {
		return // not in decode order
	}
	if s.key && c.lastKey < s.dts && !c.needKey {
		c.gopMs = max(c.gopMs, s.dts-c.lastKey)
	}
	newSeg := s.key && c.segmentDue(s.dts, c.segMs)
	forced := !newSeg && c.segOpen && c.outgrows(s.dts+c.video.next())
	if c.part.open && (newSeg || forced || c.overruns(s.dts, c.video.next())) {
		c.closePart(c.partEnd(s.dts, &c.video))
	}
	if newSeg || forced {
		c.openSegment(f, s.dts)
	}
	if s.key {
		c.lastKey = s.dts
	}
	c.needKey = false
	c.place(r, f, s, true)
	c.video.note(s.dts)
}

// cutAudio places an audio sample; it drives the cutting only when the
// stream has no video.
func (c *hlsCutter) cutAudio(r *gopRing, f *Frame, s hlsSample, videoLed bool) {
	if s.dts < c.audioFloor || (c.audio.seen && s.dts < c.audio.last) {
		return
	}
	if videoLed {
		if c.part.open {
			c.part.audio = append(c.part.audio, s)
			c.audio.note(s.dts)
		}
		return
	}
	newSeg := c.segmentDue(s.dts, max(c.segMs, hlsAudioSegment)) || c.outgrows(s.dts+c.audio.next())
	if c.part.open && (newSeg || c.overruns(s.dts, c.audio.next())) {
		c.closePart(c.partEnd(s.dts, &c.audio))
	}
	if newSeg {
		c.openSegment(f, s.dts)
	}
	c.needKey = false
	c.place(r, f, s, false)
	c.audio.note(s.dts)
}

// segmentDue reports whether a keyframe (any audio sample without
// video) at dts starts a new segment: none is open, the headers changed,
// the cutting resyncs, the segment is about segMs long, or the next
// keyframe, one GOP later, would make it outgrow the target duration
// (cut at the last keyframe before the limit).
func (c *hlsCutter) segmentDue(dts, segMs int64) bool {
	if !c.segOpen || c.pending != nil || c.needKey {
		return true
	}
	d := dts - c.segStart
	return d >= segMs*9/10 || (c.limitMs > 0 && d+c.gopMs > c.limitMs)
}

// outgrows reports whether the open segment, grown to end, would be
// longer than the target duration allows. A segment is then cut without
// a keyframe (its first part is not INDEPENDENT): only a publisher whose
// GOP grew past the target after it was fixed gets such segments.
func (c *hlsCutter) outgrows(end int64) bool {
	return c.segOpen && c.limitMs > 0 && end-c.segStart > c.limitMs
}

// fixTarget fixes EXT-X-TARGETDURATION once the first segment is cut at
// a keyframe: the rounded longest of the segment length asked for (segMs,
// or hlsAudioSegment without video), the segments so far and the longest
// GOP seen. limitMs is then the longest EXTINF that still rounds to it
// (bis 4.4.3.1: EXTINF rounded to the nearest integer <= target).
func (c *hlsCutter) fixTarget(segMs int64) {
	if c.limitMs > 0 {
		return
	}
	sec := max((max(segMs, c.longest, c.gopMs)+500)/1000, 1)
	c.limitMs = sec*1000 + 499
	c.win.fixTarget(sec)
}

// overruns reports whether a part that took a sample at dts would end
// past the part target: it already does, or the next sample, one delta
// later, would.
func (c *hlsCutter) overruns(dts, delta int64) bool {
	return dts-c.part.start >= c.partMs || dts+delta-c.part.start > c.partMs
}

// partEnd is where the open part ends when the track's next sample is at
// dts: there, unless the stream jumps past the part target (a gap in its
// timestamps: an encoder that dropped frames, a publisher's pause). Then
// the part's last sample lasts the track's usual delta, the part stays
// within the part target, and the next part starts at dts.
func (c *hlsCutter) partEnd(dts int64, clk *hlsTrackClock) int64 {
	if dts-c.part.start <= c.partMs {
		return dts
	}
	return max(min(clk.last+clk.next(), c.part.start+c.partMs), clk.last+1)
}

// place adds s to the open part, opening one at s.
func (c *hlsCutter) place(r *gopRing, f *Frame, s hlsSample, video bool) {
	if !c.part.open {
		c.part = hlsOpenPart{open: true, start: s.dts, independent: s.key, ring: r, first: f.Seq,
			video: c.part.video[:0], audio: c.part.audio[:0]}
	}
	if video {
		c.part.video = append(c.part.video, s)
	} else {
		c.part.audio = append(c.part.audio, s)
	}
}

// headersChanged makes the init segment for new headers; a different one
// takes effect at the next segment, after a discontinuity.
func (c *hlsCutter) headersChanged(h *headerSet) {
	c.hdrs = h
	m, err := h.mp4()
	if err != nil {
		return
	}
	cur := c.init
	if c.pending != nil {
		cur = c.pending
	}
	if cur != nil && string(cur.mp4.Bytes) == string(m.Bytes) {
		return
	}
	c.inits++
	c.pending = &hlsInit{id: c.inits - 1, mp4: m}
}

// openSegment closes the segment being cut, fixing the target duration
// with the first one, and starts one at frame f.
func (c *hlsCutter) openSegment(f *Frame, dts int64) {
	if c.segOpen {
		c.closeSegment(dts)
		segMs := c.segMs
		if c.init.mp4.Video == nil {
			segMs = max(segMs, hlsAudioSegment)
		}
		c.fixTarget(segMs)
	}
	disc := false
	if c.pending != nil {
		disc = c.init != nil
		c.init, c.pending = c.pending, nil
	}
	c.segOpen, c.segStart = true, dts
	c.win.openSegment(c.init, disc, c.timeline.wall(f.Timestamp))
}

// closeSegment closes the open segment, which ends at end.
func (c *hlsCutter) closeSegment(end int64) {
	if !c.segOpen {
		return
	}
	c.segOpen = false
	c.longest = max(c.longest, end-c.segStart)
	c.win.closeSegment()
}

// closePart makes the open part, which ends at end (the dts of the
// sample after it), into a fragment and adds it to the window.
func (c *hlsCutter) closePart(end int64) {
	p := &c.part
	p.open = false
	in := c.init.mp4
	var runs []mp4Run
	if len(p.video) > 0 {
		runs = append(runs, sampleRun(in.Video, p.video, end, 0))
	}
	if len(p.audio) > 0 {
		audioEnd := int64(-1) // the next audio sample is not known yet
		if in.Video == nil {
			audioEnd = end
		}
		runs = append(runs, sampleRun(in.Audio, p.audio, audioEnd, c.audio.delta))
	}
	part := &hlsPart{durMs: end - p.start, independent: p.independent, ring: p.ring, first: p.first}
	for _, r := range runs {
		for _, s := range r.Samples {
			part.data = append(part.data, s.Data)
			part.size += len(s.Data)
		}
	}
	c.win.addPart(part, func(seq uint32) []byte { return appendFragment(nil, seq, runs) })
	clear(p.video)
	clear(p.audio)
}

// sampleRun is one track's samples as an mp4 run. A sample lasts until
// the next one; the last until end, or (end < 0) for the track's last
// delta.
func sampleRun(t *mp4Track, ss []hlsSample, end, delta int64) mp4Run {
	r := mp4Run{Track: t, BaseDecodeTime: uint64(t.ticks(ss[0].dts)), Samples: make([]mp4Sample, len(ss))}
	for i, s := range ss {
		next := end
		switch {
		case i+1 < len(ss):
			next = ss[i+1].dts
		case end < 0:
			next = s.dts + max(delta, 1)
		}
		r.Samples[i] = mp4Sample{Data: s.data, Duration: uint32(max(t.ticks(next)-t.ticks(s.dts), 1)),
			CTO: int32(t.ticks(int64(s.cto))), Key: s.key}
	}
	return r
}

// hlsMuxer is the HLS side of one stream: created on the first HLS
// request, it reads every publication of the stream, as a player does,
// from the oldest keyframe the ring holds, and lives until no viewer has
// asked for anything for hlsMuxerIdle. It holds the stream (keepStream)
// so that a returning publisher continues its window.
type hlsMuxer struct {
	svc    *hlsService
	stream *Stream
	epoch  string // random, in every URI: cached URIs never outlive the muxer
	win    *hlsWindow
	cut    *hlsCutter
	keep   int           // GOPs the ring keeps while the muxer reads it
	done   chan struct{} // closed when the muxer ends

	mu       sync.Mutex
	sessions map[string]*hlsSession
	lastUse  time.Time
	always   bool // -hls-always: lives while the stream is live
}

// keepCutting keeps the muxer alive while its stream is live, viewers or
// not (-hls-always).
func (m *hlsMuxer) keepCutting() {
	m.mu.Lock()
	m.always = true
	m.mu.Unlock()
}

// hlsMuxerIdle ends a muxer nobody has asked for anything for this long.
const hlsMuxerIdle = 30 * time.Second

func newHLSMuxer(svc *hlsService, st *Stream) *hlsMuxer {
	cfg := svc.env.cfg
	win := newHLSWindow(cfg.HLSSegments, cfg.HLSPart.Duration, (cfg.HLSSegment.Milliseconds()+500)/1000)
	return &hlsMuxer{svc: svc, stream: st, epoch: randomToken(6), win: win,
		cut:  newHLSCutter(win, cfg.HLSPart.Duration, cfg.HLSSegment.Duration),
		keep: cfg.HLSSegments + 2, done: make(chan struct{}),
		sessions: make(map[string]*hlsSession), lastUse: time.Now()}
}

// run reads publication after publication until the muxer idles out or
// the server closes.
func (m *hlsMuxer) run() {
	defer m.svc.env.conns.end()
	defer m.finish()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var prev *gopRing
	for {
		ring, changed := m.stream.current()
		if ring != nil && ring != prev {
			more := m.consume(ring, tick.C)
			if !more {
				ring.retainGOPs(0)
				return
			}
			prev = ring
			continue
		}
		select {
		case <-changed:
		case <-tick.C:
			if !m.housekeep(time.Now()) {
				return
			}
		case <-m.svc.env.conns.stopping():
			return
		}
	}
}

// consume cuts one publication from its oldest held keyframe; false
// when the muxer is to end.
func (m *hlsMuxer) consume(r *gopRing, tick <-chan time.Time) bool {
	r.retainGOPs(m.keep)
	cursor, _, _ := r.oldestKey()
	m.cut.startPublication(time.Now(), r.newestTimestamp())
	buf := make([]*Frame, 0, maxBatch)
	for {
		frames, next, wake, res := r.read(cursor, buf[:0], cap(buf))
		switch res {
		case readClosed:
			m.cut.endPublication()
			return true
		case readBehind: // the ring cap released frames not yet cut
			m.cut.flush()
			cursor, _, _ = r.joinPoint()
			continue
		}
		for _, f := range frames {
			m.cut.feed(r, f)
		}
		clear(frames)
		cursor = next
		if len(frames) > 0 {
			continue
		}
		select {
		case <-wake:
		case <-tick:
			if !m.housekeep(time.Now()) {
				m.cut.endPublication()
				return false
			}
		case <-m.svc.env.conns.stopping():
			m.cut.endPublication()
			return false
		}
	}
}
