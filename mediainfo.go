// Media info: the codec parameters the stats API shows of a publication
// (publisher.videoCodec, videoWidth, audioSamplerate, ...), read from its
// sequence headers with the parsers of codecs.go, then from its frames
// (VP8, VP9 and AV1 keyframes carry their size; some audio formats have
// no configuration record), then from onMetaData (Adobe FLV 10.1, E.5).
//
// Codec ids are numbers as Node-Media-Server reports them: the FLV
// CodecID / SoundFormat (7 H.264, 12 HEVC, 10 AAC, 2 MP3, ...), also when
// the codec came in an Enhanced RTMP FourCC tag; a codec without a legacy
// id (AV1, VP9, Opus, FLAC, AC-3...) is its FourCC as a number, as
// Enhanced RTMP writes videocodecid in onMetaData ('av01' = 0x61763031).
package main

// mediaInfo is what the API's publisher object shows of the codecs.
type mediaInfo struct {
	video              VideoParams
	audio              AudioParams
	videoID, audioID   uint32 // as NMS reports them (nmsVideoID, nmsAudioID)
	hasVideo, hasAudio bool   // a codec is known
}

// complete reports whether later frames cannot add anything.
func (m *mediaInfo) complete(h *headerSet) bool {
	return (!h.hasVideo || m.hasVideo && m.video.Width > 0) && (!h.hasAudio || m.hasAudio && m.audio.SampleRate > 0)
}

// streamMeta is what onMetaData says, used where the headers are silent.
type streamMeta struct {
	width, height, fps, sampleRate, channels float64
}

// mediaCache keeps the media info of header sets once it is complete
// (a header set never changes; a new one comes with new headers). It holds
// those asked for since the last sweep and in the period before, so the
// header sets of ended publications drop out two sweeps after they were
// last asked for (the sampler sweeps every second).
type mediaCache struct {
	cur, prev map[*headerSet]mediaInfo
}

// sweep starts a new period: what was not asked for in the last two goes.
func (c *mediaCache) sweep() { c.prev, c.cur = c.cur, nil }

// of returns the media info of a publication, from the cache when its
// header set's is complete.
func (c *mediaCache) of(r *gopRing) mediaInfo {
	h := r.headers()
	if m, ok := c.cur[h]; ok {
		return m
	}
	if m, ok := c.prev[h]; ok {
		c.keep(h, m)
		return m
	}
	var m mediaInfo
	var meta streamMeta
	for _, f := range h.frames {
		switch {
		case f.Type == TagScript:
			meta = parseStreamMeta(f.Payload)
		case f.Info.Track != 0 || f.Info.Flags&FlagSeqHeader == 0 || len(f.Payload) == 0:
		case f.Type == TagVideo && !m.hasVideo:
			m.setVideo(f)
		case f.Type == TagAudio && !m.hasAudio:
			m.setAudio(f)
		}
	}
	if !m.complete(h) {
		m.fromFrames(r, h)
	}
	m.fromMeta(meta)
	if m.complete(h) {
		c.keep(h, m)
	}
	return m
}

func (c *mediaCache) keep(h *headerSet, m mediaInfo) {
	if c.cur == nil {
		c.cur = map[*headerSet]mediaInfo{}
	}
	c.cur[h] = m
}

// setVideo reads a video sequence header.
func (m *mediaInfo) setVideo(f *Frame) {
	m.hasVideo, m.videoID = true, nmsVideoID(f)
	p, err := parseVideoConfig(f.Info.Codec, f.Info.Config)
	if err != nil {
		p = VideoParams{}
	}
	p.Codec = f.Info.Codec
	m.video = p
}

func parseVideoConfig(c Codec, cfg []byte) (VideoParams, error) {
	switch c {
	case CodecH264:
		return ParseAVCConfig(cfg)
	case CodecHEVC:
		return ParseHEVCConfig(cfg)
	case CodecAV1:
		return ParseAV1Config(cfg)
	case CodecVP9, CodecVP8:
		return ParseVPCConfig(cfg, c)
	}
	return VideoParams{Codec: c}, nil
}

// setAudio reads an audio sequence header.
func (m *mediaInfo) setAudio(f *Frame) {
	m.hasAudio, m.audioID = true, nmsAudioID(f)
	var p AudioParams
	var err error
	switch f.Info.Codec {
	case CodecAAC:
		p, err = ParseAudioSpecificConfig(f.Info.Config)
	case CodecOpus:
		p, err = ParseOpusHead(f.Info.Config)
	case CodecFLAC:
		p, err = ParseFLACConfig(f.Info.Config)
	}
	if err != nil {
		p = AudioParams{}
	}
	p.Codec = f.Info.Codec
	m.audio = p
}

// fromFrames looks at the newest keyframe (VP8, VP9 and AV1 carry their
// size there, codecs without a sequence header their id) and at the first
// audio frames (formats without a configuration record).
func (m *mediaInfo) fromFrames(r *gopRing, h *headerSet) {
	seq, _, key := r.joinPoint()
	if h.hasVideo && key != nil && (!m.hasVideo || m.video.Width == 0) {
		m.fromKeyframe(key)
	}
	if !h.hasAudio || m.hasAudio && m.audio.SampleRate > 0 {
		return
	}
	if key == nil {
		seq -= uint64(r.stats().Frames) // the oldest frame held
	}
	frames, _, _, _ := r.read(seq, make([]*Frame, 0, 64), 64)
	for _, f := range frames {
		if f.Type == TagAudio && !f.isHeader() && len(f.Payload) > 0 {
			m.fromAudioFrame(f)
			return
		}
	}
}

func (m *mediaInfo) fromKeyframe(key *Frame) {
	if !m.hasVideo {
		m.hasVideo, m.videoID, m.video.Codec = true, nmsVideoID(key), key.Info.Codec
	}
	data := exCodedData(key)
	var w, h int
	var err error
	switch m.video.Codec {
	case CodecVP9:
		w, h, err = ParseVP9FrameSize(data)
	case CodecVP8:
		w, h, err = ParseVP8FrameSize(data)
	case CodecAV1:
		var p VideoParams
		p, err = AV1SequenceFromOBUs(data)
		w, h = p.Width, p.Height
	default:
		return
	}
	if err == nil {
		m.video.Width, m.video.Height = w, h
	}
}

func (m *mediaInfo) fromAudioFrame(f *Frame) {
	m.hasAudio, m.audioID = true, nmsAudioID(f)
	first := f.Payload[0]
	if first>>4 != soundFormatExHeader {
		m.audio = legacyAudioParams(first, f.Info.Codec)
		return
	}
	m.audio = AudioParams{Codec: f.Info.Codec}
	if f.Info.Codec == CodecAC3 || f.Info.Codec == CodecEAC3 {
		if p, err := ParseAC3Frame(exCodedData(f)); err == nil {
			m.audio = p
		}
	}
}

// exCodedData returns the coded data of a single-track Enhanced RTMP
// CodedFrames tag: after the one-byte header and the FourCC, and after
// the SI24 CompositionTime for avc1/hvc1/vvc1 CodedFrames. Anything else
// (legacy tags, ModEx, multitrack) gives nil.
func exCodedData(f *Frame) []byte {
	p := f.Payload
	if len(p) < 5 {
		return nil
	}
	if f.Type == TagAudio {
		if p[0]>>4 == soundFormatExHeader && audioPacketType(p[0]&0x0f) == audioCodedFrames {
			return p[5:]
		}
		return nil
	}
	if p[0]&0x80 == 0 {
		return nil
	}
	switch videoPacketType(p[0] & 0x0f) {
	case videoCodedFrames:
		if f.Info.Codec == CodecH264 || f.Info.Codec == CodecHEVC || f.Info.Codec == CodecVVC {
			return p[min(8, len(p)):]
		}
		return p[5:]
	case videoCodedFramesX:
		return p[5:]
	}
	return nil
}

// nmsVideoID is the FLV CodecID for legacy tags and codecs that have one,
// else the FourCC.
func nmsVideoID(f *Frame) uint32 {
	switch {
	case len(f.Payload) > 0 && f.Payload[0]&0x80 == 0:
		return uint32(f.Payload[0] & 0x0f)
	case f.Info.Codec == CodecH264:
		return videoCodecAVC
	case f.Info.Codec == CodecHEVC:
		return videoCodecHEVC
	}
	return f.Info.FourCC
}

// nmsAudioID is the FLV SoundFormat for legacy tags and codecs that have
// one, else the FourCC.
func nmsAudioID(f *Frame) uint32 {
	switch {
	case len(f.Payload) > 0 && f.Payload[0]>>4 != soundFormatExHeader:
		return uint32(f.Payload[0] >> 4)
	case f.Info.Codec == CodecAAC:
		return soundFormatAAC
	case f.Info.Codec == CodecMP3:
		return 2
	}
	return f.Info.FourCC
}

// parseStreamMeta reads onMetaData's numbers (FLV E.5).
func parseStreamMeta(payload []byte) streamMeta {
	vals, err := DecodeAMF0All(payload)
	if err != nil || len(vals) < 2 {
		return streamMeta{}
	}
	var a ECMAArray
	switch v := vals[1].(type) {
	case ECMAArray:
		a = v
	case Object:
		a = ECMAArray(v)
	default:
		return streamMeta{}
	}
	var m streamMeta
	m.width, _ = a.Number("width")
	m.height, _ = a.Number("height")
	if m.fps, _ = a.Number("framerate"); m.fps == 0 {
		m.fps, _ = a.Number("videoframerate")
	}
	m.sampleRate, _ = a.Number("audiosamplerate")
	m.channels, _ = a.Number("audiochannels")
	if stereo, ok := a.Get("stereo"); ok && m.channels == 0 {
		m.channels = 1
		if b, _ := stereo.(bool); b {
			m.channels = 2
		}
	}
	return m
}

// fromMeta fills what the headers did not say from onMetaData.
func (m *mediaInfo) fromMeta(meta streamMeta) {
	in := func(v, limit float64) bool { return v > 0 && v <= limit } // and not NaN
	if m.video.Width == 0 && in(meta.width, maxPictureDim) && in(meta.height, maxPictureDim) {
		m.video.Width, m.video.Height = int(meta.width), int(meta.height)
	}
	if in(meta.fps, 1000) {
		m.video.FrameRate = meta.fps
	}
	if m.audio.SampleRate == 0 && in(meta.sampleRate, 1<<20) {
		m.audio.SampleRate = int(meta.sampleRate)
	}
	if m.audio.Channels == 0 && in(meta.channels, 255) {
		m.audio.Channels = int(meta.channels)
	}
}
