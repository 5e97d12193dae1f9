// Enhanced RTMP v2 (veovera/enhanced-rtmp, the v2 specification)
// end to end, with real bitstreams: ffmpeg encodes HEVC, AV1, VP9, H.264,
// Opus, FLAC, AC-3, E-AC-3 and AAC into Matroska; a minimal Matroska reader
// (below: EBML elements, TrackEntry, Cluster, SimpleBlock/BlockGroup) takes
// out the configuration records and frames; a test-side muxer wraps them in
// ExVideoTagHeader / ExAudioTagHeader bodies (plain, Multitrack OneTrack or
// ManyTracksManyCodecs, ModEx) or in legacy FLV headers (AAC, and HEVC with
// the de-facto CodecID 12); the project's client publishes them, and RTMP,
// HTTP-FLV and WS-FLV players, early and late, must receive every tag
// byte-exact. Also here: the header cache rules (gop.go) for multitrack,
// unknown FourCCs and keyframe groups, and the connect capabilities answer.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// A minimal Matroska reader (Matroska / EBML, RFC 8794 and RFC 9559): only
// what ffmpeg's muxer writes for one short file: known element sizes, no
// lacing.

// EBML and Matroska element IDs (with their length marker, as on the wire).
const (
	mkvEBML          = 0x1A45DFA3
	mkvSegment       = 0x18538067
	mkvInfo          = 0x1549A966
	mkvTimestampUnit = 0x2AD7B1 // TimestampScale, ns per tick
	mkvTracks        = 0x1654AE6B
	mkvTrackEntry    = 0xAE
	mkvTrackNumber   = 0xD7
	mkvTrackType     = 0x83
	mkvCodecID       = 0x86
	mkvCodecPrivate  = 0x63A2
	mkvCluster       = 0x1F43B675
	mkvTimestamp     = 0xE7
	mkvSimpleBlock   = 0xA3
	mkvBlockGroup    = 0xA0
	mkvBlock         = 0xA1
	mkvReference     = 0xFB
)

// mkvTrack is one TrackEntry.
type mkvTrack struct {
	number  uint64
	video   bool   // TrackType 1
	codecID string // e.g. V_MPEGH/ISO/HEVC, A_OPUS
	private []byte // CodecPrivate: hvcC, avcC, av1C, OpusHead, ...
}

// mkvFrame is one block: a whole frame (no lacing) of one track.
type mkvFrame struct {
	track uint64
	ts    int64 // milliseconds (TimestampScale 1 ms)
	key   bool
	data  []byte
}

// ebmlVint reads a variable-length integer; keepMarker keeps the length
// marker bit (element IDs) instead of clearing it (sizes). An all-ones
// size (unknown) is refused: ffmpeg writes sizes into seekable files.
func ebmlVint(b []byte, keepMarker bool) (uint64, []byte, error) {
	if len(b) == 0 || b[0] == 0 {
		return 0, b, errors.New("ebml: bad vint")
	}
	n := 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(b) < n {
		return 0, b, errors.New("ebml: truncated vint")
	}
	v := uint64(b[0])
	if !keepMarker {
		v &^= 0x80 >> (n - 1)
	}
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	if !keepMarker && v == 1<<(7*n)-1 {
		return 0, b, errors.New("ebml: unknown size not supported")
	}
	return v, b[n:], nil
}

// ebmlElements calls fn for each element in b, in order.
func ebmlElements(b []byte, fn func(id uint64, data []byte) error) error {
	for len(b) > 0 {
		id, rest, err := ebmlVint(b, true)
		if err != nil {
			return err
		}
		size, rest, err := ebmlVint(rest, false)
		if err != nil {
			return err
		}
		if size > uint64(len(rest)) {
			return fmt.Errorf("ebml: element %x of %d bytes, %d left", id, size, len(rest))
		}
		if err := fn(id, rest[:size]); err != nil {
			return err
		}
		b = rest[size:]
	}
	return nil
}

func ebmlUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// mkvFile is what readMKV takes out of a file.
type mkvFile struct {
	tracks []mkvTrack
	frames []mkvFrame // in file order (ffmpeg interleaves by time)
}

// readMKV reads the tracks and frames of a Matroska file.
func readMKV(path string) (*mkvFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &mkvFile{}
	err = ebmlElements(b, func(id uint64, data []byte) error {
		if id == mkvSegment {
			return ebmlElements(data, f.segmentChild)
		}
		return nil // the EBML header
	})
	return f, err
}

func (f *mkvFile) segmentChild(id uint64, data []byte) error {
	switch id {
	case mkvInfo:
		return ebmlElements(data, func(id uint64, data []byte) error {
			if id == mkvTimestampUnit && ebmlUint(data) != 1000000 {
				return fmt.Errorf("mkv: TimestampScale %d, want 1 ms", ebmlUint(data))
			}
			return nil
		})
	case mkvTracks:
		return ebmlElements(data, func(id uint64, data []byte) error {
			if id != mkvTrackEntry {
				return nil
			}
			var t mkvTrack
			err := ebmlElements(data, t.field)
			f.tracks = append(f.tracks, t)
			return err
		})
	case mkvCluster:
		return f.cluster(data)
	}
	return nil
}

func (t *mkvTrack) field(id uint64, data []byte) error {
	switch id {
	case mkvTrackNumber:
		t.number = ebmlUint(data)
	case mkvTrackType:
		t.video = ebmlUint(data) == 1
	case mkvCodecID:
		t.codecID = string(data)
	case mkvCodecPrivate:
		t.private = data
	}
	return nil
}

// cluster reads a Cluster's Timestamp and its blocks.
func (f *mkvFile) cluster(data []byte) error {
	var base int64
	return ebmlElements(data, func(id uint64, data []byte) error {
		switch id {
		case mkvTimestamp:
			base = int64(ebmlUint(data))
		case mkvSimpleBlock:
			return f.block(base, data, func(flags byte) bool { return flags&0x80 != 0 })
		case mkvBlockGroup:
			var block []byte
			key := true
			ebmlElements(data, func(id uint64, data []byte) error {
				switch id {
				case mkvBlock:
					block = data
				case mkvReference: // it refers to another frame: not a keyframe
					key = false
				}
				return nil
			})
			return f.block(base, block, func(byte) bool { return key })
		}
		return nil
	})
}

// block reads a SimpleBlock or Block: track number (vint), timestamp
// relative to the cluster (SI16), flags (bits 1-2: lacing; SimpleBlock
// bit 7: keyframe, which isKey decides), then the frame.
func (f *mkvFile) block(base int64, b []byte, isKey func(flags byte) bool) error {
	track, rest, err := ebmlVint(b, false)
	if err != nil || len(rest) < 3 {
		return fmt.Errorf("mkv: bad block header (%v)", err)
	}
	ts := base + int64(int16(binary.BigEndian.Uint16(rest)))
	flags := rest[2]
	if flags&0x06 != 0 {
		return errors.New("mkv: laced block not supported")
	}
	f.frames = append(f.frames, mkvFrame{track: track, ts: ts, key: isKey(flags), data: rest[3:]})
	return nil
}

// ---------------------------------------------------------------------------
// Real bitstreams: ffmpeg encodes each input once per test run.

// eCodec is one ffmpeg encode and the FourCC its Enhanced RTMP tags carry.
type eCodec struct {
	fourCC string
	video  bool
	args   []string // ffmpeg arguments between the input and the output file
}

const (
	eSeconds = "2.4" // 60 video frames at 25 fps: six GOPs of 10
	eGOP     = "10"
)

// eForceKeys makes every encoder put a keyframe on frames 0, 10, 20, ...
// so that the tracks of a multitrack stream have aligned GOPs.
var eForceKeys = []string{"-force_key_frames", "expr:eq(mod(n," + eGOP + "),0)", "-g", eGOP}

var eCodecs = map[string]eCodec{
	"hevc": {"hvc1", true, append([]string{"-s", "192x108", "-c:v", "libx265",
		"-x265-params", "bframes=0:keyint=" + eGOP + ":min-keyint=" + eGOP + ":scenecut=0:info=0:log-level=error"}, eForceKeys...)},
	"av1": {"av01", true, append([]string{"-s", "160x96", "-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8"}, eForceKeys...)},
	"vp9": {"vp09", true, append([]string{"-s", "176x144", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"}, eForceKeys...)},
	"h264": {"avc1", true, append([]string{"-s", "128x72", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0",
		"-sc_threshold", "0"}, eForceKeys...)},
	"opus": {"Opus", false, []string{"-c:a", "libopus", "-b:a", "32k"}},
	"flac": {"fLaC", false, []string{"-c:a", "flac"}},
	"ac3":  {"ac-3", false, []string{"-c:a", "ac3", "-b:a", "96k"}},
	"eac3": {"ec-3", false, []string{"-c:a", "eac3", "-b:a", "96k"}},
	"aac":  {"mp4a", false, []string{"-c:a", "aac", "-b:a", "64k"}},
}

// eEncoder runs ffmpeg into dir and keeps what it read back.
type eEncoder struct {
	dir  string
	mu   sync.Mutex
	done map[string]*mkvFile
}

// get encodes codec (once) and returns its only track and its frames.
func (e *eEncoder) get(t *testing.T, codec string) (mkvTrack, []mkvFrame) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.done[codec]
	if f == nil {
		f = e.encode(t, codec)
		e.done[codec] = f
	}
	return f.tracks[0], f.frames
}

func (e *eEncoder) encode(t *testing.T, codec string) *mkvFile {
	c, ok := eCodecs[codec]
	if !ok {
		t.Fatalf("no codec %q", codec)
	}
	src := "sine=frequency=440:sample_rate=48000"
	if c.video {
		src = "testsrc2=size=320x240:rate=25"
	}
	out := filepath.Join(e.dir, codec+".mkv")
	args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", src, "-t", eSeconds}, c.args...)
	cmd := exec.Command("ffmpeg", append(args, "-y", out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", codec, err, b)
	}
	f, err := readMKV(out)
	if err != nil || len(f.tracks) != 1 || len(f.frames) == 0 {
		t.Fatalf("%s: %v (%d tracks, %d frames)", out, err, len(f.tracks), len(f.frames))
	}
	return f
}

// ---------------------------------------------------------------------------
// A test-side Enhanced RTMP muxer: tag bodies laid out as the spec's
// pseudo-code reads them (written from the spec, not from flvmux.go).

// Spec values used below.
const (
	eFrameKey   = 1 // VideoFrameType KeyFrame
	eFrameInter = 2 // VideoFrameType InterFrame

	eSequenceStart      = 0 // Video/AudioPacketType SequenceStart
	eCodedFrames        = 1 // Video/AudioPacketType CodedFrames
	eCodedFramesX       = 3 // VideoPacketType CodedFramesX
	eMultichannelConfig = 4 // AudioPacketType MultichannelConfig
	eVideoMultitrack    = 6 // VideoPacketType Multitrack
	eAudioMultitrack    = 5 // AudioPacketType Multitrack
	eModEx              = 7 // Video/AudioPacketType ModEx

	eOneTrack             = 0 // AvMultitrackType OneTrack
	eManyTracksManyCodecs = 2 // AvMultitrackType ManyTracksManyCodecs
)

func eFrameType(key bool) byte {
	if key {
		return eFrameKey
	}
	return eFrameInter
}

// eTrackBody is one track's part of a multitrack message.
type eTrackBody struct {
	fourCC string
	id     uint8
	body   []byte
}

// exVideo: IsExHeader 1 | VideoFrameType UB[3] | VideoPacketType UB[4],
// VideoFourCc, then the body.
func exVideo(key bool, packetType byte, fourCC string, body []byte) []byte {
	b := []byte{0x80 | eFrameType(key)<<4 | packetType}
	return append(append(b, fourCC...), body...)
}

// exVideoModEx wraps the packet type in one ModEx block: VideoPacketType
// ModEx, modExDataSize - 1 (UI8), modExData (TimestampOffsetNano, UI24),
// VideoPacketModExType UB[4] (0) | VideoPacketType UB[4], FourCC, body.
func exVideoModEx(key bool, packetType byte, nanos uint32, fourCC string, body []byte) []byte {
	b := []byte{0x80 | eFrameType(key)<<4 | eModEx, 3 - 1, byte(nanos >> 16), byte(nanos >> 8), byte(nanos), 0<<4 | packetType}
	return append(append(b, fourCC...), body...)
}

// exVideoOneTrack: VideoPacketType Multitrack, AvMultitrackType OneTrack |
// the tracks' VideoPacketType, VideoFourCc, videoTrackId, body (no size).
func exVideoOneTrack(key bool, packetType byte, tr eTrackBody) []byte {
	b := []byte{0x80 | eFrameType(key)<<4 | eVideoMultitrack, eOneTrack<<4 | packetType}
	b = append(append(b, tr.fourCC...), tr.id)
	return append(b, tr.body...)
}

// exVideoMany: VideoPacketType Multitrack, AvMultitrackType
// ManyTracksManyCodecs | VideoPacketType, then per track VideoFourCc,
// videoTrackId, sizeOfVideoTrack UI24, body.
func exVideoMany(key bool, packetType byte, tracks ...eTrackBody) []byte {
	b := []byte{0x80 | eFrameType(key)<<4 | eVideoMultitrack, eManyTracksManyCodecs<<4 | packetType}
	return eAppendTracks(b, tracks)
}

func eAppendTracks(b []byte, tracks []eTrackBody) []byte {
	for _, tr := range tracks {
		n := len(tr.body)
		b = append(append(b, tr.fourCC...), tr.id, byte(n>>16), byte(n>>8), byte(n))
		b = append(b, tr.body...)
	}
	return b
}

// exAudio: SoundFormat 9 (ExHeader) | AudioPacketType, AudioFourCc, body.
func exAudio(packetType byte, fourCC string, body []byte) []byte {
	return append(append([]byte{9<<4 | packetType}, fourCC...), body...)
}

// exAudioOneTrack: AudioPacketType Multitrack, OneTrack | AudioPacketType,
// AudioFourCc, audioTrackId, body.
func exAudioOneTrack(packetType byte, tr eTrackBody) []byte {
	b := []byte{9<<4 | eAudioMultitrack, eOneTrack<<4 | packetType}
	return append(append(append(b, tr.fourCC...), tr.id), tr.body...)
}

// exAudioMany: AudioPacketType Multitrack, ManyTracksManyCodecs, tracks.
func exAudioMany(packetType byte, tracks ...eTrackBody) []byte {
	return eAppendTracks([]byte{9<<4 | eAudioMultitrack, eManyTracksManyCodecs<<4 | packetType}, tracks)
}

// legacyVideo: FrameType UB[4] | CodecID UB[4] (7 AVC, 12 HEVC),
// AVCPacketType (0 sequence header, 1 NALUs), CompositionTime SI24 0.
func legacyVideo(codecID byte, key bool, packetType byte, body []byte) []byte {
	return append([]byte{eFrameType(key)<<4 | codecID, packetType, 0, 0, 0}, body...)
}

// legacyAAC: SoundFormat 10 | SoundRate 3 | SoundSize 1 | SoundType 1
// (always so for AAC), AACPacketType (0 AudioSpecificConfig, 1 raw).
func legacyAAC(packetType byte, body []byte) []byte {
	return append([]byte{0xaf, packetType}, body...)
}

// eVPCC is a VPCodecConfigurationRecord for the 8-bit 4:2:0 profile 0
// stream libvpx-vp9 makes from yuv420p (Matroska carries none).
var eVPCC = []byte{
	0x01, 0x00, 0x00, 0x00, // version 1, flags 0 (the FullBox header)
	0x00,             // profile 0
	0x0b,             // level 1.1
	0x80,             // bitDepth 8 (UB[4]), chromaSubsampling 0 (UB[3]: 4:2:0 vertical), videoFullRangeFlag 0
	0x02, 0x02, 0x02, // colourPrimaries, transferCharacteristics, matrixCoefficients: unspecified
	0x00, 0x00, // codecInitializationDataSize 0
}

// eFLACHeader is the FlacSequenceHeader: "fLaC" and the STREAMINFO block
// only (Matroska's CodecPrivate may carry more blocks), marked last.
func eFLACHeader(t *testing.T, private []byte) []byte {
	const streamInfo = 4 + 4 + 34 // "fLaC", METADATA_BLOCK_HEADER, STREAMINFO
	if len(private) < streamInfo || string(private[:4]) != "fLaC" || private[4]&0x7f != 0 {
		t.Fatalf("FLAC CodecPrivate % x", private[:min(len(private), 8)])
	}
	h := append([]byte(nil), private[:streamInfo]...)
	h[4] |= 0x80 // last-metadata-block
	return h
}

// ---------------------------------------------------------------------------
// Test streams: the encoded tracks wrapped as a publisher would send them.

// eSpec is one track of a test stream.
type eSpec struct {
	codec  string // a key of eCodecs
	legacy bool   // legacy FLV header (AAC: SoundFormat 10; HEVC: CodecID 12) instead of Enhanced
	id     uint8  // trackId
	mt     bool   // a Multitrack message (OneTrack, or ManyTracksManyCodecs with eCase.many)
}

// eCase is one end-to-end stream.
type eCase struct {
	name   string
	tracks []eSpec // the first video track is the main one
	many   bool    // video frames of equal timestamp and all audio sequence starts in ManyTracksManyCodecs messages
	modEx  bool    // every third video frame (keyframes 0 and 30 among them) behind a ModEx TimestampOffsetNano
	// reHeader re-sends a video sequence start (the last video track's,
	// as its own message) just before the third GOP: it must replace
	// what it covers in the late joiner's headers, and nothing else.
	reHeader bool
	unknown  bool // also send a video SequenceStart of an unknown FourCC: cached in a slot of its own
}

var eCases = []eCase{
	{name: "av1-opus", tracks: []eSpec{{codec: "av1"}, {codec: "opus"}}, modEx: true, reHeader: true},
	{name: "hevc-aac", tracks: []eSpec{{codec: "hevc"}, {codec: "aac", legacy: true}}, unknown: true},
	{name: "legacy-hevc12-flac", tracks: []eSpec{{codec: "hevc", legacy: true}, {codec: "flac"}}, reHeader: true},
	{name: "vp9-ac3", tracks: []eSpec{{codec: "vp9"}, {codec: "ac3"}}},
	{name: "avc1-eac3", tracks: []eSpec{{codec: "h264"}, {codec: "eac3"}}},
	// OBS's layout: track 0 plain, track 1 Multitrack OneTrack (an avc1
	// ExHeader for video track 1, an ac-3 audio track 1)
	{name: "multitrack-onetrack", tracks: []eSpec{{codec: "hevc"}, {codec: "h264", id: 1, mt: true},
		{codec: "opus"}, {codec: "ac3", id: 1, mt: true}}},
	{name: "multitrack-many", tracks: []eSpec{{codec: "hevc", mt: true}, {codec: "vp9", id: 1, mt: true},
		{codec: "opus", mt: true}, {codec: "aac", id: 1, mt: true}}, many: true, reHeader: true},
}

// eMsg is one published message.
type eMsg struct {
	typ  TagType
	ts   uint32
	body []byte
}

// eStream is a test stream and what late joiners must get.
type eStream struct {
	meta  []byte // the onMetaData players get: "onMetaData", then the ECMA array
	metaA ECMAArray
	msgs  []eMsg
	slots map[int]string // header message index -> the header it configures ("video/seq/0", ...)
	gops  []int          // message indexes where a GOP opens (the main track's keyframes)
}

// eSource is one track's encode.
type eSource struct {
	spec   eSpec
	codec  eCodec
	track  mkvTrack
	frames []mkvFrame
}

func buildStream(t *testing.T, enc *eEncoder, c eCase) *eStream {
	s := &eStream{slots: map[int]string{}}
	var srcs []*eSource
	for _, sp := range c.tracks {
		tr, frames := enc.get(t, sp.codec)
		srcs = append(srcs, &eSource{spec: sp, codec: eCodecs[sp.codec], track: tr, frames: frames})
	}
	s.metaA = ECMAArray{{"encoder", "rtmphub enhanced_test"}, {"case", c.name}}
	var err error
	if s.meta, err = AppendAMF0All(nil, "onMetaData", s.metaA); err != nil {
		t.Fatal(err)
	}
	s.addHeaders(t, c, srcs, 0)
	s.addFrames(t, c, srcs)
	return s
}

func (s *eStream) add(typ TagType, ts uint32, body []byte, slot string) {
	if slot != "" {
		s.slots[len(s.msgs)] = slot
	}
	s.msgs = append(s.msgs, eMsg{typ, ts, body})
}

// config is the sequence start body of a track, nil when its codec has
// none (AC-3, E-AC-3 frames describe themselves).
func (src *eSource) config(t *testing.T) []byte {
	switch src.spec.codec {
	case "vp9":
		return eVPCC
	case "flac":
		return eFLACHeader(t, src.track.private)
	case "ac3", "eac3":
		return nil
	}
	if len(src.track.private) == 0 {
		t.Fatalf("%s: no CodecPrivate", src.spec.codec)
	}
	return src.track.private // hvcC, avcC, av1C, OpusHead, AudioSpecificConfig
}

func eSlot(media, kind string, ids ...uint8) string {
	s := media + "/" + kind + "/"
	for i, id := range ids {
		if i > 0 {
			s += "+"
		}
		s += fmt.Sprint(id)
	}
	return s
}

// addHeaders sends every track's sequence start (and Opus its
// MultichannelConfig) at ts.
func (s *eStream) addHeaders(t *testing.T, c eCase, srcs []*eSource, ts uint32) {
	var many, manyAudio []eTrackBody
	var manyIDs, manyAudioIDs []uint8
	for _, src := range srcs {
		cfg, sp := src.config(t), src.spec
		switch {
		case src.codec.video && c.many:
			many, manyIDs = append(many, eTrackBody{src.codec.fourCC, sp.id, cfg}), append(manyIDs, sp.id)
		case src.codec.video:
			s.add(TagVideo, ts, src.wrapVideo(true, eSequenceStart, cfg, false), eSlot("video", "seq", sp.id))
		case cfg == nil:
		case c.many:
			manyAudio, manyAudioIDs = append(manyAudio, eTrackBody{src.codec.fourCC, sp.id, cfg}), append(manyAudioIDs, sp.id)
		default:
			s.add(TagAudio, ts, src.wrapAudio(eSequenceStart, cfg), eSlot("audio", "seq", sp.id))
		}
	}
	if many != nil {
		s.add(TagVideo, ts, exVideoMany(true, eSequenceStart, many...), eSlot("video", "seq", manyIDs...))
	}
	if manyAudio != nil {
		s.add(TagAudio, ts, exAudioMany(eSequenceStart, manyAudio...), eSlot("audio", "seq", manyAudioIDs...))
	}
	for _, src := range srcs {
		if src.spec.codec == "opus" {
			// AudioChannelOrder 0 (Unspecified), channelCount 1
			s.add(TagAudio, ts, src.wrapAudio(eMultichannelConfig, []byte{0, 1}), eSlot("audio", "config", src.spec.id))
		}
	}
	if c.unknown {
		s.add(TagVideo, ts, exVideo(true, eSequenceStart, "xyz1", []byte{1, 2, 3}), "video/seq/xyz1")
	}
}

// wrapVideo wraps a sequence start or coded frame of one track.
func (src *eSource) wrapVideo(key bool, packetType byte, body []byte, modEx bool) []byte {
	sp, fourCC := src.spec, src.codec.fourCC
	if sp.legacy {
		id := map[string]byte{"hevc": 12, "h264": 7}[sp.codec]
		return legacyVideo(id, key, packetType, body) // AVCPacketType 0 / 1 == Sequence Start / CodedFrames
	}
	if packetType == eCodedFrames && (fourCC == "hvc1" || fourCC == "avc1") {
		if sp.mt && fourCC == "hvc1" {
			packetType = eCodedFramesX // CompositionTime 0 left out
		} else {
			body = append([]byte{0, 0, 0}, body...) // CompositionTime SI24 0
		}
	}
	switch {
	case sp.mt:
		return exVideoOneTrack(key, packetType, eTrackBody{fourCC, sp.id, body})
	case modEx:
		return exVideoModEx(key, packetType, 250000, fourCC, body)
	}
	return exVideo(key, packetType, fourCC, body)
}

// wrapAudio wraps a sequence start, coded frame or MultichannelConfig.
func (src *eSource) wrapAudio(packetType byte, body []byte) []byte {
	sp := src.spec
	switch {
	case sp.legacy:
		return legacyAAC(packetType, body) // AACPacketType 0 / 1 == SequenceStart / CodedFrames
	case sp.mt:
		return exAudioOneTrack(packetType, eTrackBody{src.codec.fourCC, sp.id, body})
	}
	return exAudio(packetType, src.codec.fourCC, body)
}

// eEntry is one frame of one source, for interleaving.
type eEntry struct {
	src   int
	frame mkvFrame
	n     int // frame number within its source
}

// addFrames interleaves the frames of all sources by timestamp (video
// first, then in track order) and wraps them.
func (s *eStream) addFrames(t *testing.T, c eCase, srcs []*eSource) {
	var all []eEntry
	var minTS int64
	for i, src := range srcs {
		for n, f := range src.frames {
			all = append(all, eEntry{i, f, n})
			minTS = min(minTS, f.ts)
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if x.frame.ts != y.frame.ts {
			return x.frame.ts < y.frame.ts
		}
		return x.src < y.src // the tracks are listed video first
	})
	mainVideo := -1
	for i, src := range srcs {
		if src.codec.video && mainVideo < 0 {
			mainVideo = i
		}
	}
	for i := 0; i < len(all); i++ {
		e := all[i]
		src := srcs[e.src]
		ts := uint32(e.frame.ts - minTS)
		if !src.codec.video {
			s.add(TagAudio, ts, src.wrapAudio(eCodedFrames, e.frame.data), "")
			continue
		}
		if e.src == mainVideo && e.frame.key {
			s.gops = append(s.gops, len(s.msgs))
			if len(s.gops) == 3 && c.reHeader {
				s.addReHeader(t, c, srcs, ts)
				s.gops[2] = len(s.msgs)
			}
		}
		if c.many {
			i = s.addMany(t, srcs, all, i, ts) - 1
			continue
		}
		s.add(TagVideo, ts, src.wrapVideo(e.frame.key, eCodedFrames, e.frame.data, c.modEx && e.n%3 == 0), "")
	}
}

// addMany sends the video frames of all tracks at all[i]'s timestamp as
// one ManyTracksManyCodecs CodedFrames message (each avc1 / hvc1 track
// with its CompositionTime) and returns the index after them.
func (s *eStream) addMany(t *testing.T, srcs []*eSource, all []eEntry, i int, ts uint32) int {
	var tracks []eTrackBody
	start := i
	for ; i < len(all) && srcs[all[i].src].codec.video && all[i].frame.ts == all[start].frame.ts; i++ {
		src, f := srcs[all[i].src], all[i].frame
		if f.key != all[start].frame.key {
			t.Fatalf("frame at %d ms: a keyframe on one track only (-force_key_frames not honoured)", f.ts)
		}
		body := f.data
		if fc := src.codec.fourCC; fc == "hvc1" || fc == "avc1" {
			body = append([]byte{0, 0, 0}, body...) // CompositionTime SI24 0
		}
		tracks = append(tracks, eTrackBody{src.codec.fourCC, src.spec.id, body})
	}
	s.add(TagVideo, ts, exVideoMany(all[start].frame.key, eCodedFrames, tracks...), "")
	return i
}

// addReHeader re-sends the last video track's sequence start on its own.
func (s *eStream) addReHeader(t *testing.T, c eCase, srcs []*eSource, ts uint32) {
	var last *eSource
	for _, src := range srcs {
		if src.codec.video {
			last = src
		}
	}
	s.add(TagVideo, ts, last.wrapVideo(true, eSequenceStart, last.config(t), false), eSlot("video", "seq", last.spec.id))
}

// prologue is what a player joining at GOP start k must get first:
// onMetaData, then every header sent before k, a later one of the same
// slot in the place of the one it replaces.
func (s *eStream) prologue(k int) []eMsg {
	out := []eMsg{{TagScript, 0, s.meta}}
	where := map[string]int{}
	for i, m := range s.msgs[:k] {
		slot, ok := s.slots[i]
		if !ok {
			continue
		}
		if j, seen := where[slot]; seen {
			out[j] = m
			continue
		}
		where[slot] = len(out)
		out = append(out, m)
	}
	return out
}

// audioHeader reports whether the stream sends an audio sequence start
// before its first keyframe.
func (s *eStream) audioHeader() bool {
	for _, m := range s.msgs[:s.gops[0]] {
		if m.typ == TagAudio {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Players: each one records every tag it receives.

// eCapture is what one player received.
type eCapture struct {
	name      string
	rtmp      bool
	audioRace bool   // HTTP/WS-FLV: it may have started before any audio (checkFLVHeader)
	want      []eMsg // what it must receive
	mu        sync.Mutex
	got       []eMsg
	end       bool  // the player saw the publication end
	err       error // a read error before that
	flv       FLVHeader
}

func (c *eCapture) add(m eMsg) {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.mu.Unlock()
}

func (c *eCapture) finish(err error) {
	c.mu.Lock()
	c.end, c.err = true, err
	c.mu.Unlock()
}

// waitFor waits until the player has n messages (or has ended).
func (c *eCapture) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got, end, err := len(c.got), c.end, c.err
		c.mu.Unlock()
		switch {
		case got >= n:
			return
		case end || time.Now().After(deadline):
			c.mu.Lock()
			for i, m := range c.got[max(0, len(c.got)-3):] {
				t.Logf("%s: last messages %d: %v ts %d, %d bytes % x", c.name, i, m.typ, m.ts, len(m.body), m.body[:min(8, len(m.body))])
			}
			c.mu.Unlock()
			t.Fatalf("%s: %d of %d messages (ended %v, %v)", c.name, got, n, end, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitEnd waits until the player saw the end of the publication.
func (c *eCapture) waitEnd(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		end, err := c.end, c.err
		c.mu.Unlock()
		if end {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the end of the publication never arrived", c.name)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// captureRTMP plays url with the project's client, until UnpublishNotify.
func captureRTMP(t *testing.T, wg *sync.WaitGroup, name, url string) *eCapture {
	c := &eCapture{name: name, rtmp: true}
	pl := testPlayer(t, url)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := pl.ReadMessage()
			switch {
			case err != nil:
				c.finish(err)
				return
			case m.Type == MsgAudio || m.Type == MsgVideo:
				c.add(eMsg{TagType(m.Type), m.Timestamp, m.Payload})
			case m.Type == MsgDataAMF0 && !bytes.Contains(m.Payload, []byte("|RtmpSampleAccess")):
				c.add(eMsg{TagScript, m.Timestamp, m.Payload})
			case m.Type == MsgCommandAMF0 && bytes.Contains(m.Payload, []byte("NetStream.Play.UnpublishNotify")):
				c.finish(nil)
				return
			}
		}
	}()
	return c
}

// captureFLV reads FLV tags from r (an HTTP-FLV body or WS-FLV messages)
// until the server ends the stream.
func captureFLV(wg *sync.WaitGroup, name string, r io.Reader) *eCapture {
	c := &eCapture{name: name}
	wg.Add(1)
	go func() {
		defer wg.Done()
		fr := NewFLVReader(r, 1<<20)
		h, err := fr.ReadHeader()
		if err != nil {
			c.finish(fmt.Errorf("FLV header: %w", err))
			return
		}
		c.mu.Lock()
		c.flv = h
		c.mu.Unlock()
		for {
			tag, err := fr.ReadTag()
			if err == io.EOF {
				c.finish(nil)
				return
			}
			if err != nil {
				c.finish(err)
				return
			}
			c.add(eMsg{tag.Type, tag.Timestamp, tag.Data})
		}
	}()
	return c
}

// ePlayers connects one player per protocol.
func ePlayers(t *testing.T, wg *sync.WaitGroup, srv *Server, path, tag string) []*eCapture {
	rtmp := captureRTMP(t, wg, "rtmp"+tag, rtmpURL(srv, path))
	flv := captureFLV(wg, "http-flv"+tag, httpGetFLV(t, httpURL(srv, path+".flv")))
	ws := captureFLV(wg, "ws-flv"+tag, dialWS(t, srv.HTTPAddr(), path+".flv"))
	return []*eCapture{rtmp, flv, ws}
}

// ePublish sends msgs in order.
func ePublish(t *testing.T, pub *Client, msgs []eMsg) {
	t.Helper()
	for _, m := range msgs {
		must(t, pub.WriteMedia(MessageType(m.typ), m.ts, m.body))
	}
}

// checkSame compares received messages with the expected ones, tag by
// tag: type, timestamp and every payload byte.
func checkSame(t *testing.T, who string, got, want []eMsg) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", who, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.typ != w.typ || g.ts != w.ts || !bytes.Equal(g.body, w.body) {
			t.Fatalf("%s: message %d is %v ts %d (%d bytes % x...), want %v ts %d (%d bytes % x...)", who, i,
				g.typ, g.ts, len(g.body), g.body[:min(len(g.body), 12)], w.typ, w.ts, len(w.body), w.body[:min(len(w.body), 12)])
		}
	}
}

// runEnhancedCase publishes s, with players of every protocol joining
// three times: before the publication, at the end of the first GOP (they
// start at its keyframe, so they get every frame too) and in the middle of
// the fourth (they start at its keyframe), and checks what each one
// received. The publisher sends a GOP
// at a time and waits for every player to have it: a player that falls
// more than a GOP behind is moved to the newest keyframe (-max-lag; hub.go),
// which is not under test here.
func runEnhancedCase(t *testing.T, s *eStream) {
	if len(s.gops) < 5 {
		t.Fatalf("%d GOPs, want at least 5", len(s.gops))
	}
	// FLV players wait -play-wait for a returning publisher before their
	// response ends; a short wait lets the test see that end.
	srv := startServer(t, func(c *Config) { c.PlayWait = Duration{2 * time.Second} })
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // runs after the players' connections are closed
	const path = "/live/enhanced"
	// players waiting before the publication get it from its first message
	players := ePlayers(t, &wg, srv, path, "-before")
	for _, c := range players {
		c.want = append([]eMsg{{TagScript, 0, s.meta}}, s.msgs...)
		c.audioRace = !s.audioHeader()
	}
	pub, err := DialRTMP(ctxT(t, 5*time.Second), rtmpURL(srv, path))
	must(t, err)
	t.Cleanup(func() { pub.Close() })
	must(t, pub.Publish(ctxT(t, 5*time.Second)))
	must(t, pub.WriteMetadata(s.metaA, 0))

	sent := 0
	sendTo := func(end int) {
		ePublish(t, pub, s.msgs[sent:end])
		sent = end
		for _, c := range players {
			c.waitFor(t, len(c.want)-(len(s.msgs)-end))
		}
	}
	join := func(gop int, tag string) {
		k := s.gops[gop]
		prologue := s.prologue(k)
		for _, c := range ePlayers(t, &wg, srv, path, tag) {
			c.want = append(append([]eMsg(nil), prologue...), s.msgs[k:]...)
			if c.rtmp { // RTMP players get the audio and video headers stamped with the keyframe's time (gop.go)
				for i, m := range prologue {
					if m.typ != TagScript {
						c.want[i].ts = s.msgs[k].ts
					}
				}
			}
			c.waitFor(t, len(c.want)-(len(s.msgs)-sent))
			players = append(players, c)
		}
	}
	sendTo(s.gops[1])
	join(0, "")
	sendTo(s.gops[2])
	sendTo(s.gops[3])
	sendTo((s.gops[3] + s.gops[4]) / 2)
	join(3, "-late")
	for _, g := range append(s.gops[4:], len(s.msgs)) {
		sendTo(g)
	}
	pub.Close()
	for _, c := range players {
		c.waitEnd(t)
		c.mu.Lock()
		checkSame(t, c.name, c.got, c.want)
		c.mu.Unlock()
		checkFLVHeader(t, c)
	}
}

// checkFLVHeader: HTTP-FLV and WS-FLV start with an FLV header that says
// video, and audio when the player has seen an audio sequence header by its
// first keyframe. (The header is written then: for a player waiting before
// a publication whose audio has no sequence header, AC-3 and E-AC-3, its
// TypeFlagsAudio depends on whether the first audio frame came before the
// header was written; reported, not fixed here.)
func checkFLVHeader(t *testing.T, c *eCapture) {
	if !c.rtmp && (!c.flv.HasAudio && !c.audioRace || !c.flv.HasVideo || c.flv.Version != 1) {
		t.Errorf("%s: FLV header %+v, want audio and video", c.name, c.flv)
	}
}

// Every Enhanced RTMP form, and legacy HEVC, reaches RTMP, HTTP-FLV and
// WS-FLV players byte-exact; late joiners start at the main track's
// keyframe with onMetaData and every current header first.
func TestEnhancedEndToEnd(t *testing.T) {
	requireFFmpeg(t)
	enc := &eEncoder{dir: t.TempDir(), done: map[string]*mkvFile{}}
	for _, c := range eCases {
		t.Run(c.name, func(t *testing.T) {
			runEnhancedCase(t, buildStream(t, enc, c))
		})
	}
}

// ---------------------------------------------------------------------------
// The header cache (gop.go): per type, per track, per kind; unknown FourCCs
// apart; ManyTracks headers replace what they cover.

// eHeaderCase is one step: append body as typ, then the late-join headers
// must be exactly want (names of earlier steps, in order).
type eHeaderStep struct {
	name string
	typ  TagType
	body []byte
	want []string
}

var eASC = []byte{0x12, 0x10}

var eHeaderSteps = []eHeaderStep{
	{"aac", TagAudio, legacyAAC(0, eASC), []string{"aac"}},
	{"hvc1", TagVideo, exVideo(true, eSequenceStart, "hvc1", []byte{1, 1, 0x60}), []string{"aac", "hvc1"}},
	// an avc1 ExHeader (track 1) is video track 1's: it replaces neither
	// the audio header (NMS 4.4.3 files it there) nor video track 0's
	{"avc1 t1", TagVideo, exVideoOneTrack(true, eSequenceStart, eTrackBody{"avc1", 1, []byte{1, 0x42, 0, 0x1e}}),
		[]string{"aac", "hvc1", "avc1 t1"}},
	{"opus t1", TagAudio, exAudioOneTrack(eSequenceStart, eTrackBody{"Opus", 1, []byte("OpusHead")}),
		[]string{"aac", "hvc1", "avc1 t1", "opus t1"}},
	{"mcc t1", TagAudio, exAudioOneTrack(eMultichannelConfig, eTrackBody{"Opus", 1, []byte{0, 2}}),
		[]string{"aac", "hvc1", "avc1 t1", "opus t1", "mcc t1"}},
	// unknown FourCCs, and an audio FourCC in a video tag, have slots of their own
	{"xyz1", TagVideo, exVideo(true, eSequenceStart, "xyz1", []byte{9}),
		[]string{"aac", "hvc1", "avc1 t1", "opus t1", "mcc t1", "xyz1"}},
	{"Opus in video", TagVideo, exVideo(true, eSequenceStart, "Opus", []byte{9}),
		[]string{"aac", "hvc1", "avc1 t1", "opus t1", "mcc t1", "xyz1", "Opus in video"}},
	{"xyz1 again", TagVideo, exVideo(true, eSequenceStart, "xyz1", []byte{8}),
		[]string{"aac", "hvc1", "avc1 t1", "opus t1", "mcc t1", "xyz1 again", "Opus in video"}},
	// video Metadata (colorInfo) is configuration of its own kind
	{"colorInfo", TagVideo, exVideo(false, 4, "hvc1", []byte{2, 0, 9, 'c', 'o', 'l', 'o', 'r', 'I', 'n', 'f', 'o', 5}),
		[]string{"aac", "hvc1", "avc1 t1", "opus t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo"}},
	// a known codec replaces a known codec of the same track (hvc1 -> av01)
	{"av01", TagVideo, exVideoModEx(true, eSequenceStart, 100, "av01", []byte{0x81, 0, 0x0c, 0}),
		[]string{"aac", "av01", "avc1 t1", "opus t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo"}},
	{"mp4a", TagAudio, exAudio(eSequenceStart, "mp4a", eASC),
		[]string{"mp4a", "av01", "avc1 t1", "opus t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo"}},
	// a ManyTracks header replaces the headers of every track it carries
	{"many t0+t1", TagVideo, exVideoMany(true, eSequenceStart, eTrackBody{"hvc1", 0, []byte{1}}, eTrackBody{"vp09", 1, eVPCC}),
		[]string{"mp4a", "many t0+t1", "opus t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo"}},
	// one that covers part of it only is added after it
	{"vp09 t1", TagVideo, exVideoOneTrack(true, eSequenceStart, eTrackBody{"vp09", 1, eVPCC}),
		[]string{"mp4a", "many t0+t1", "opus t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo", "vp09 t1"}},
	{"audio many", TagAudio, exAudioMany(eSequenceStart, eTrackBody{"mp4a", 0, eASC}, eTrackBody{"fLaC", 1, []byte("fLaC")}),
		[]string{"audio many", "many t0+t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo", "vp09 t1"}},
	// legacy HEVC (CodecID 12) is video track 0's sequence header too
	{"hevc 12", TagVideo, legacyVideo(12, true, 0, []byte{1, 1, 0x60}),
		[]string{"audio many", "many t0+t1", "mcc t1", "xyz1 again", "Opus in video", "colorInfo", "vp09 t1", "hevc 12"}},
}

func TestEnhancedHeaderCache(t *testing.T) {
	r := newGOPRing()
	names := map[*Frame]string{}
	for _, st := range eHeaderSteps {
		f := ringFrame(st.typ, 0, st.body)
		if !f.isHeader() {
			t.Fatalf("%s: not classified as a header: %+v", st.name, f.Info)
		}
		names[f] = st.name
		r.append(f)
		var got []string
		for _, h := range r.headers().frames {
			got = append(got, names[h])
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Fatalf("after %s: headers %q, want %q", st.name, got, st.want)
		}
	}
}

// Keyframes of every codec open a GOP, coded frames of any kind do not.
func TestEnhancedKeyframesOpenGOPs(t *testing.T) {
	keys := map[string][]byte{
		"AVC":              legacyVideo(7, true, 1, []byte{0, 0, 0, 1, 0x65}),
		"HEVC CodecID 12":  legacyVideo(12, true, 1, []byte{0, 0, 0, 1, 0x26}),
		"hvc1 CodedFrames": exVideo(true, eCodedFrames, "hvc1", []byte{0, 0, 0, 0, 0, 0, 1, 0x26}),
		"hvc1 X":           exVideo(true, eCodedFramesX, "hvc1", []byte{0, 0, 0, 1, 0x26}),
		"avc1":             exVideo(true, eCodedFrames, "avc1", []byte{0, 0, 0, 0, 0, 0, 1, 0x65}),
		"av01":             exVideo(true, eCodedFrames, "av01", []byte{0x12, 0}),
		"av01 ModEx":       exVideoModEx(true, eCodedFrames, 500, "av01", []byte{0x12, 0}),
		"vp09":             exVideo(true, eCodedFrames, "vp09", []byte{0x82}),
		"vp08":             exVideo(true, eCodedFrames, "vp08", []byte{0x10}),
		"vvc1":             exVideo(true, eCodedFramesX, "vvc1", []byte{0}),
		"unknown FourCC":   exVideo(true, eCodedFrames, "xyz1", []byte{0}),
		"generated key":    {0x80 | 4<<4 | eCodedFrames, 'a', 'v', '0', '1', 0x12, 0},
		"OneTrack t0":      exVideoOneTrack(true, eCodedFrames, eTrackBody{"av01", 0, []byte{0x12, 0}}),
		"ManyTracks":       exVideoMany(true, eCodedFrames, eTrackBody{"av01", 0, []byte{1}}, eTrackBody{"vp09", 1, []byte{2}}),
		"H.263":            {0x12, 0},
		"VP6":              {0x14, 0, 0},
	}
	for name, body := range keys {
		r := newGOPRing()
		r.append(ringFrame(TagVideo, 0, exVideo(true, eSequenceStart, "av01", []byte{0x81})))
		r.append(ringFrame(TagVideo, 40, body))
		inter := append([]byte(nil), body...)
		inter[0] = inter[0]&^0x70 | eFrameInter<<4 // same header, FrameType 2
		r.append(ringFrame(TagVideo, 80, inter))
		if seq, hdrs, key := r.joinPoint(); key == nil || seq != 1 || len(hdrs.frames) != 1 {
			t.Errorf("%s: join point %d (key %v), want the keyframe 1 with its header", name, seq, key != nil)
		}
	}
}

// Multitrack: a player starting at a GOP must get every track's keyframe
// first, so only keyframes of the main track (the first keyframe's lowest
// trackId) open GOPs, at the first of the keyframes sent with it.
func TestEnhancedMultitrackGOPs(t *testing.T) {
	r := newGOPRing()
	key := func(id uint8) []byte {
		return exVideoOneTrack(true, eCodedFrames, eTrackBody{"av01", id, []byte{0x12, 0}})
	}
	inter := func(id uint8) []byte {
		return exVideoOneTrack(false, eCodedFrames, eTrackBody{"av01", id, []byte{0x12, 0}})
	}
	audio := exAudio(eCodedFrames, "Opus", []byte{0xfc}) // an audio tag: the only one below
	steps := []struct {
		body     []byte
		ts       uint32
		wantJoin int // the join point after this frame, -1: none
	}{
		{key(0), 0, 0},    // 0: the main track (0) opens the first GOP
		{key(1), 0, 0},    // 1: track 1's keyframe joins it
		{inter(0), 40, 0}, // 2
		{inter(1), 40, 0}, // 3
		{key(1), 80, 0},   // 4: track 1 alone: no GOP (track 0 is mid-GOP)
		{inter(0), 80, 0}, // 5
		{audio, 100, 0},   // 6
		{key(1), 120, 0},  // 7: track 1 first this time ...
		{audio, 120, 0},   // 8
		{key(0), 120, 7},  // 9: ... so the GOP opens at its keyframe
		{inter(1), 160, 7},
		{key(0), 200, 11}, // 11: track 0 alone opens a GOP
	}
	for i, st := range steps {
		typ := TagVideo
		if bytes.Equal(st.body, audio) {
			typ = TagAudio
		}
		r.append(ringFrame(typ, st.ts, st.body))
		if seq, _, k := r.joinPoint(); k == nil || int(seq) != st.wantJoin {
			t.Fatalf("after frame %d: join point %d (key %v), want %d", i, seq, k != nil, st.wantJoin)
		}
	}
}

// ---------------------------------------------------------------------------
// "Enhancing NetConnection connect Command": the server states in connect's
// _result what it handles: fourCcList, videoFourCcInfoMap /
// audioFourCcInfoMap (FourCcInfoMask, an Object), capsEx (CapsExMask).

// eConnect sends connect with the extra properties and returns the
// properties Object of the _result.
func eConnect(t *testing.T, srv *Server, extra ...Property) Object {
	t.Helper()
	conn, err := net.Dial("tcp", srv.RTMPAddr())
	must(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	must(t, clientHandshake(conn, false))
	obj := Object{{"app", "live"}, {"type", "nonprivate"}, {"tcUrl", rtmpURL(srv, "/live")}}
	payload, err := AppendAMF0All(nil, "connect", 1.0, append(obj, extra...))
	must(t, err)
	must(t, NewChunkWriter(conn).WriteMessage(3, &Message{Type: MsgCommandAMF0, Payload: payload}))
	cr := NewChunkReader(conn, ChunkLimits{})
	for {
		m, err := cr.ReadMessage()
		must(t, err)
		if m.Type != MsgCommandAMF0 {
			continue
		}
		vs, err := DecodeAMF0All(m.Payload)
		must(t, err)
		if len(vs) < 3 || vs[0] != "_result" || vs[1] != 1.0 {
			t.Fatalf("connect answered %v", vs)
		}
		props, ok := vs[2].(Object)
		if !ok {
			t.Fatalf("connect _result properties: %T", vs[2])
		}
		return props
	}
}

func TestEnhancedConnectCapabilities(t *testing.T) {
	srv := startServer(t, nil)
	for name, extra := range map[string][]Property{
		"fourCcList":         {{"fourCcList", StrictArray{"hvc1", "av01", "Opus"}}},
		"videoFourCcInfoMap": {{"videoFourCcInfoMap", Object{{"*", 4.0}}}, {"audioFourCcInfoMap", Object{{"Opus", 1.0}}}},
		"capsEx":             {{"capsEx", 2.0}},
	} {
		props := eConnect(t, srv, extra...)
		list, _ := props.Get("fourCcList")
		fourCCs, ok := list.(StrictArray)
		if !ok {
			t.Fatalf("%s: fourCcList is %T %v", name, list, list)
		}
		for _, want := range []string{"av01", "vp09", "vp08", "hvc1", "avc1", "ac-3", "ec-3", "Opus", ".mp3", "fLaC", "mp4a"} {
			if !bytes.Contains([]byte(fmt.Sprint(fourCCs)), []byte(want)) {
				t.Errorf("%s: fourCcList %v lacks %s", name, fourCCs, want)
			}
		}
		for _, key := range []string{"videoFourCcInfoMap", "audioFourCcInfoMap"} {
			v, _ := props.Get(key)
			m, ok := v.(Object)
			if fwd, _ := m.Number("*"); !ok || fwd != 4 { // FourCcInfoMask.CanForward, for every codec
				t.Errorf("%s: %s = %T %v, want the Object {\"*\": CanForward}", name, key, v, v)
			}
		}
		// CapsExMask: Multitrack 0x02 and ModEx 0x04; not Reconnect (rtmphub
		// sends no reconnect request) nor TimestampNanoOffset
		if caps, _ := props.Number("capsEx"); caps != 0x02|0x04 {
			t.Errorf("%s: capsEx %v, want Multitrack|ModEx", name, caps)
		}
	}
	legacy := eConnect(t, srv)
	for _, key := range []string{"fourCcList", "videoFourCcInfoMap", "audioFourCcInfoMap", "capsEx"} {
		if _, ok := legacy.Get(key); ok {
			t.Errorf("legacy connect answered %s", key)
		}
	}
}

// FuzzEnhancedHeaderCache appends a stream of arbitrary audio/video
// messages (records: type bit, UI8 length, body) to a ring. The header set
// stays minimal (no header an older one of it replaces), holds the newest
// header, never files a header of a known codec under the other media
// type, and a join point is always a video keyframe.
func FuzzEnhancedHeaderCache(f *testing.F) {
	var all []byte
	for _, st := range eHeaderSteps {
		rec := eFuzzRecord(st.typ, st.body)
		f.Add(rec)
		all = append(all, rec...)
	}
	f.Add(all)
	for _, g := range flvGoldenTags() {
		f.Add(eFuzzRecord(g.typ, g.body()))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newGOPRing()
		for ts := uint32(0); len(in) >= 2; ts += 10 {
			typ, n := TagAudio, int(in[1])
			if in[0]&1 == 1 {
				typ = TagVideo
			}
			body := in[2:min(len(in), 2+n)]
			in = in[2+len(body):]
			fr := ringFrame(typ, ts, body)
			r.append(fr)
			eCheckHeaders(t, r, fr)
		}
	})
}

func eFuzzRecord(typ TagType, body []byte) []byte {
	b := []byte{0, byte(min(len(body), 255))}
	if typ == TagVideo {
		b[0] = 1
	}
	return append(b, body[:b[1]]...)
}

// eCheckHeaders checks the invariants of FuzzEnhancedHeaderCache after
// last was appended.
func eCheckHeaders(t *testing.T, r *gopRing, last *Frame) {
	hdrs := r.headers().frames
	found := false
	for i, h := range hdrs {
		found = found || h == last
		if c := h.Info.Codec; c != CodecUnknown && c.IsVideo() != (h.Type == TagVideo) {
			t.Fatalf("%v header classified %v", h.Type, c)
		}
		for _, later := range hdrs[i+1:] {
			if later.replaces(h) {
				t.Fatalf("header set holds %+v and its replacement %+v", h.Info, later.Info)
			}
		}
	}
	if last.isHeader() && !found {
		t.Fatalf("the newest header %+v is not in the set", last.Info)
	}
	if _, _, key := r.joinPoint(); key != nil && (key.Type != TagVideo || !key.isKey()) {
		t.Fatalf("join point %v %+v is not a video keyframe", key.Type, key.Info)
	}
}
