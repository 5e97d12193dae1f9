// FLV files and tags, and what a live server needs to know about a tag.
//
// Adobe Flash Video File Format Specification 10.1, Annex E:
//   - E.2     the FLV header: Signature "FLV", Version, TypeFlagsAudio,
//     TypeFlagsVideo, DataOffset
//   - E.3     the FLV body: PreviousTagSize0, then each tag followed by its
//     PreviousTagSize (11 + DataSize)
//   - E.4.1   the FLV tag header: TagType (with the Filter bit), DataSize,
//     Timestamp, TimestampExtended, StreamID
//   - E.4.2.1 AudioTagHeader: SoundFormat, SoundRate, SoundSize, SoundType,
//     AACPacketType
//   - E.4.3.1 VideoTagHeader: FrameType, CodecID, AVCPacketType,
//     CompositionTime
//   - E.4.4   SCRIPTDATA (onMetaData): carried through, decoded by amf0.go
//
// Enhanced RTMP v2 (veovera/enhanced-rtmp, the v2 specification):
//   - ExVideoTagHeader: IsExHeader, VideoFrameType, VideoPacketType, the ModEx
//     loop, VideoCommand, Multitrack (AvMultitrackType), VideoFourCc
//   - ExVideoTagBody: per track [FourCC] trackId [sizeOfVideoTrack], then the
//     configuration record, coded frames (SI24 CompositionTime for avc1,
//     hvc1 and vvc1 CodedFrames) or AMF metadata
//   - ExAudioTagHeader / ExAudioTagBody: SoundFormat 9 (ExHeader),
//     AudioPacketType, ModEx, Multitrack, AudioFourCc
//
// An RTMP audio, video or data message payload is byte for byte an FLV tag
// body, so ClassifyTag serves RTMP ingest and FLV files alike, and a server
// turns an RTMP message into an FLV tag by adding the 11-byte tag header in
// front and the 4-byte PreviousTagSize behind (AppendFLVTag).
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// TagType is the type of an FLV tag (E.4.1). Its values equal the RTMP
// message types of the same payloads (MsgAudio, MsgVideo, MsgDataAMF0).
type TagType uint8

const (
	TagAudio  TagType = 8  // AUDIODATA (E.4.2)
	TagVideo  TagType = 9  // VIDEODATA (E.4.3)
	TagScript TagType = 18 // SCRIPTDATA (E.4.4): AMF0 name and value, e.g. onMetaData
)

func (t TagType) String() string {
	switch t {
	case TagAudio:
		return "audio"
	case TagVideo:
		return "video"
	case TagScript:
		return "script"
	}
	return fmt.Sprintf("TagType(%d)", uint8(t))
}

const (
	flvHeaderLen    = 9  // E.2: Signature(3) Version(1) TypeFlags(1) DataOffset(4)
	flvTagHeaderLen = 11 // E.4.1: TagType(1) DataSize(3) Timestamp(3) TimestampExtended(1) StreamID(3)
	flvPrevSizeLen  = 4  // E.3: PreviousTagSize, UI32

	flvMaxDataSize = 1<<24 - 1 // DataSize is a UI24

	flvTypeFlagsAudio = 0x04 // E.2 TypeFlags bit 2: audio tags are present
	flvTypeFlagsVideo = 0x01 // E.2 TypeFlags bit 0: video tags are present

	flvTagTypeMask = 0x1f // E.4.1 TagType: the low 5 bits
	flvTagFilter   = 0x20 // E.4.1 Filter bit: the tag is encrypted (not supported)
	flvTagReserved = 0xc0 // E.4.1 Reserved UB[2], "should be 0"
)

// FLVError reports a malformed FLV header, tag or tag body.
type FLVError string

func (e FLVError) Error() string { return "flv: " + string(e) }

// ErrFLVTagTooLarge is returned (wrapped, with the sizes) by FLVReader for a
// tag whose DataSize is above the reader's limit; the tag was not read.
var ErrFLVTagTooLarge = errors.New("flv: tag larger than the limit")

// ---------------------------------------------------------------------------
// E.2 and E.3: the file header and PreviousTagSize0

// FLVHeader is the decoded FLV file header (E.2).
type FLVHeader struct {
	Version            uint8 // 1 for FLV 10.1 files
	HasAudio, HasVideo bool
	DataOffset         uint32 // length of this header; 9 for version 1
}

// AppendFLVHeader appends the 9-byte FLV header (version 1) and the 4 zero
// bytes of PreviousTagSize0 that begin the FLV body.
func AppendFLVHeader(dst []byte, hasAudio, hasVideo bool) []byte {
	var flags byte
	if hasAudio {
		flags |= flvTypeFlagsAudio
	}
	if hasVideo {
		flags |= flvTypeFlagsVideo
	}
	return append(dst,
		'F', 'L', 'V', // Signature
		1,                     // Version
		flags,                 // TypeFlagsReserved UB[5], TypeFlagsAudio UB[1], TypeFlagsReserved UB[1], TypeFlagsVideo UB[1]
		0, 0, 0, flvHeaderLen, // DataOffset UI32: the header's size
		0, 0, 0, 0) // PreviousTagSize0 UI32: always 0
}

// parseFLVHeader decodes the first 9 bytes of an FLV file; len(b) >= 9.
func parseFLVHeader(b []byte) (FLVHeader, error) {
	// Signature UI8[3]: "FLV"
	if b[0] != 'F' || b[1] != 'L' || b[2] != 'V' {
		return FLVHeader{}, FLVError(fmt.Sprintf("bad signature %q, want \"FLV\"", b[:3]))
	}
	// Version UI8
	h := FLVHeader{Version: b[3]}
	// TypeFlagsReserved UB[5], TypeFlagsAudio UB[1], TypeFlagsReserved UB[1], TypeFlagsVideo UB[1]
	h.HasAudio, h.HasVideo = b[4]&flvTypeFlagsAudio != 0, b[4]&flvTypeFlagsVideo != 0
	// DataOffset UI32: the header's length; the body starts there
	h.DataOffset = binary.BigEndian.Uint32(b[5:9])
	if h.DataOffset < flvHeaderLen {
		return FLVHeader{}, FLVError(fmt.Sprintf("DataOffset %d is shorter than the header", h.DataOffset))
	}
	return h, nil
}

// DecodeFLVHeader decodes the FLV header and PreviousTagSize0 at the start
// of b and returns the bytes after them (the first tag). Header bytes past
// the 9 defined ones (DataOffset > 9) are skipped.
func DecodeFLVHeader(b []byte) (FLVHeader, []byte, error) {
	if len(b) < flvHeaderLen {
		return FLVHeader{}, b, FLVError(fmt.Sprintf("truncated header: %d of %d bytes", len(b), flvHeaderLen))
	}
	h, err := parseFLVHeader(b)
	if err != nil {
		return FLVHeader{}, b, err
	}
	end := uint64(h.DataOffset) + flvPrevSizeLen
	if uint64(len(b)) < end {
		return FLVHeader{}, b, FLVError(fmt.Sprintf("truncated header: DataOffset %d and PreviousTagSize0 need %d bytes, have %d", h.DataOffset, end, len(b)))
	}
	// PreviousTagSize0 UI32: always 0
	if prev := binary.BigEndian.Uint32(b[h.DataOffset:]); prev != 0 {
		return FLVHeader{}, b, FLVError(fmt.Sprintf("PreviousTagSize0 is %d, want 0", prev))
	}
	return h, b[end:], nil
}

// ---------------------------------------------------------------------------
// E.4.1: tags

// FLVTag is one decoded FLV tag (E.4.1).
type FLVTag struct {
	Type      TagType
	Timestamp uint32 // milliseconds: Timestamp UI24 with TimestampExtended as the upper 8 bits
	StreamID  uint32 // UI24, always 0 in files that follow the spec
	Data      []byte // the tag body (AUDIODATA, VIDEODATA, SCRIPTDATA)
}

// AppendFLVTag appends one FLV tag: the 11-byte tag header, data, and the
// tag's PreviousTagSize (11 + len(data)), measured from what was
// appended. Only the low 5 bits of t are written (Reserved and Filter are
// 0), and StreamID is 0.
//
// len(data) must fit DataSize's 24 bits (< 16 MiB). RTMP message lengths
// are 24 bits too, so every RTMP payload fits; a larger one is a bug in
// the caller, and AppendFLVTag panics rather than write a corrupt tag.
func AppendFLVTag(dst []byte, t TagType, ts uint32, data []byte) []byte {
	start := len(dst)
	dst = append(appendFLVTagHeader(dst, t, ts, len(data)), data...)
	// PreviousTagSize UI32: the size of the tag just written, header included
	return binary.BigEndian.AppendUint32(dst, uint32(len(dst)-start))
}

// appendFLVTagHeader appends the 11-byte tag header of a tag carrying n
// bytes of data.
func appendFLVTagHeader(dst []byte, t TagType, ts uint32, n int) []byte {
	if n > flvMaxDataSize {
		panic(fmt.Sprintf("appendFLVTagHeader: %d bytes of data do not fit the UI24 DataSize", n))
	}
	return append(dst,
		byte(t)&flvTagTypeMask,           // Reserved UB[2] 0, Filter UB[1] 0, TagType UB[5]
		byte(n>>16), byte(n>>8), byte(n), // DataSize UI24
		byte(ts>>16), byte(ts>>8), byte(ts), // Timestamp UI24: the lower 24 bits
		byte(ts>>24), // TimestampExtended UI8: the upper 8 bits
		0, 0, 0)      // StreamID UI24: always 0
}

// parseFLVTagHeader decodes the fixed tag header. It returns the tag
// without its Data, and DataSize.
func parseFLVTagHeader(h *[flvTagHeaderLen]byte) (FLVTag, uint32, error) {
	// Reserved UB[2] (0), Filter UB[1] (1 = encrypted), TagType UB[5]
	if h[0]&flvTagFilter != 0 {
		return FLVTag{}, 0, FLVError("encrypted tag (Filter bit set) is not supported")
	}
	if h[0]&flvTagReserved != 0 {
		return FLVTag{}, 0, FLVError(fmt.Sprintf("reserved bits set in TagType byte 0x%02x", h[0]))
	}
	t := FLVTag{Type: TagType(h[0] & flvTagTypeMask)}
	// DataSize UI24: the body's length, after StreamID
	size := uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
	// Timestamp UI24: milliseconds, the lower 24 bits
	t.Timestamp = uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	// TimestampExtended UI8: the upper 8 bits of the timestamp
	t.Timestamp |= uint32(h[7]) << 24
	// StreamID UI24: always 0
	t.StreamID = uint32(h[8])<<16 | uint32(h[9])<<8 | uint32(h[10])
	return t, size, nil
}

// checkPrevTagSize checks the PreviousTagSize that follows a tag of size
// bytes of data.
func checkPrevTagSize(prev, size uint32) error {
	if want := size + flvTagHeaderLen; prev != want {
		return FLVError(fmt.Sprintf("PreviousTagSize %d, want %d (11 + DataSize %d)", prev, want, size))
	}
	return nil
}

// DecodeFLVTag decodes the tag at the start of b and its PreviousTagSize,
// and returns the bytes after them. tag.Data aliases b.
func DecodeFLVTag(b []byte) (FLVTag, []byte, error) {
	if len(b) < flvTagHeaderLen {
		return FLVTag{}, b, FLVError(fmt.Sprintf("truncated tag header: %d of %d bytes", len(b), flvTagHeaderLen))
	}
	t, size, err := parseFLVTagHeader((*[flvTagHeaderLen]byte)(b))
	if err != nil {
		return FLVTag{}, b, err
	}
	end := flvTagHeaderLen + int(size)
	if len(b) < end+flvPrevSizeLen {
		return FLVTag{}, b, FLVError(fmt.Sprintf("truncated tag: DataSize %d needs %d bytes, have %d", size, end+flvPrevSizeLen, len(b)))
	}
	if err := checkPrevTagSize(binary.BigEndian.Uint32(b[end:]), size); err != nil {
		return FLVTag{}, b, err
	}
	t.Data = b[flvTagHeaderLen:end:end]
	return t, b[end+flvPrevSizeLen:], nil
}

// FLVReader reads an FLV file or stream (an HTTP-FLV body, say) tag by
// tag. Each tag's data is freshly allocated, after its size was checked
// against the limit.
type FLVReader struct {
	r      io.Reader
	maxTag uint32                // largest DataSize accepted
	hdr    [flvTagHeaderLen]byte // the fixed tag header, reused
}

// NewFLVReader returns a reader that rejects tags with more than maxTag
// bytes of data (0 means no limit beyond DataSize's 16 MiB).
func NewFLVReader(r io.Reader, maxTag uint32) *FLVReader {
	if maxTag == 0 || maxTag > flvMaxDataSize {
		maxTag = flvMaxDataSize
	}
	return &FLVReader{r: r, maxTag: maxTag}
}

// ReadHeader reads the FLV header and PreviousTagSize0. Header bytes past
// the 9 defined ones are skipped (at most maxTag of them).
func (r *FLVReader) ReadHeader() (FLVHeader, error) {
	var b [flvHeaderLen]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		return FLVHeader{}, err
	}
	h, err := parseFLVHeader(b[:])
	if err != nil {
		return FLVHeader{}, err
	}
	extra := h.DataOffset - flvHeaderLen
	if extra > r.maxTag {
		return FLVHeader{}, fmt.Errorf("%w: header with DataOffset %d", ErrFLVTagTooLarge, h.DataOffset)
	}
	if _, err := io.CopyN(io.Discard, r.r, int64(extra)); err != nil {
		return FLVHeader{}, flvNoEOF(err)
	}
	var prev [flvPrevSizeLen]byte
	if _, err := io.ReadFull(r.r, prev[:]); err != nil {
		return FLVHeader{}, flvNoEOF(err)
	}
	// PreviousTagSize0 UI32: always 0
	if p := binary.BigEndian.Uint32(prev[:]); p != 0 {
		return FLVHeader{}, FLVError(fmt.Sprintf("PreviousTagSize0 is %d, want 0", p))
	}
	return h, nil
}

// ReadTag reads the next tag and checks its PreviousTagSize. At a clean
// end of the stream, between tags, it returns io.EOF; a stream that ends
// inside a tag gives io.ErrUnexpectedEOF.
func (r *FLVReader) ReadTag() (FLVTag, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return FLVTag{}, err
	}
	t, size, err := parseFLVTagHeader(&r.hdr)
	if err != nil {
		return FLVTag{}, err
	}
	if size > r.maxTag {
		return FLVTag{}, fmt.Errorf("%w: %s tag of %d bytes, limit %d", ErrFLVTagTooLarge, t.Type, size, r.maxTag)
	}
	buf := make([]byte, size+flvPrevSizeLen)
	if _, err := io.ReadFull(r.r, buf); err != nil {
		return FLVTag{}, flvNoEOF(err)
	}
	if err := checkPrevTagSize(binary.BigEndian.Uint32(buf[size:]), size); err != nil {
		return FLVTag{}, err
	}
	t.Data = buf[:size:size]
	return t, nil
}

// flvNoEOF turns io.EOF into io.ErrUnexpectedEOF: the stream ended inside a
// header or tag.
func flvNoEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ---------------------------------------------------------------------------
// Classification: what the hub needs to know about an audio or video tag.

// PacketFlags classify a media tag for the hub (a bit set).
type PacketFlags uint8

const (
	FlagSeqHeader  PacketFlags = 1 << iota // decoder configuration: AVC/HEVC sequence header, AAC AudioSpecificConfig, Ex SequenceStart, MPEG2TSSequenceStart
	FlagKeyframe                           // video coded frame with FrameType 1 (key) or 4 (generated key): a player may start here
	FlagSeqEnd                             // AVC end of sequence, Ex SequenceEnd
	FlagConfig                             // other configuration to replay to late joiners: Ex video Metadata, audio MultichannelConfig
	FlagCommand                            // video info/command frame (FrameType 5)
	FlagMultitrack                         // Enhanced RTMP multitrack message
)

var packetFlagNames = [...]string{"SeqHeader", "Keyframe", "SeqEnd", "Config", "Command", "Multitrack"}

// String lists the set flags, e.g. "Keyframe|Multitrack", or "none".
func (f PacketFlags) String() string {
	if f == 0 {
		return "none"
	}
	var names []string
	for i, name := range packetFlagNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if unknown := f &^ (1<<len(packetFlagNames) - 1); unknown != 0 {
		names = append(names, fmt.Sprintf("0x%02x", uint8(unknown)))
	}
	return strings.Join(names, "|")
}

// Codec names an audio or video codec, legacy or Enhanced RTMP.
type Codec uint8

const (
	CodecUnknown    Codec = iota
	CodecH264             // legacy CodecID 7, FourCC avc1
	CodecHEVC             // legacy CodecID 12 (de-facto), FourCC hvc1
	CodecAV1              // FourCC av01
	CodecVP9              // FourCC vp09
	CodecVP8              // FourCC vp08
	CodecAAC              // legacy SoundFormat 10, FourCC mp4a
	CodecMP3              // legacy SoundFormat 2 and 14 (8 kHz), FourCC .mp3
	CodecOpus             // FourCC Opus
	CodecFLAC             // FourCC fLaC
	CodecAC3              // FourCC ac-3
	CodecEAC3             // FourCC ec-3
	CodecPCM              // legacy SoundFormat 0 (platform endian) and 3 (little endian)
	CodecSpeex            // legacy SoundFormat 11
	CodecNellymoser       // legacy SoundFormat 4 (16 kHz mono), 5 (8 kHz mono), 6
	CodecG711A            // legacy SoundFormat 7
	CodecG711U            // legacy SoundFormat 8
	CodecVVC              // FourCC vvc1
	CodecH263             // legacy CodecID 2, Sorenson H.263
	CodecScreen           // legacy CodecID 3 and 6, Screen video (v2)
	CodecVP6              // legacy CodecID 4 and 5 (with alpha), On2 VP6
	CodecADPCM            // legacy SoundFormat 1
)

var codecNames = [...]string{
	CodecUnknown: "Unknown", CodecH264: "H264", CodecHEVC: "HEVC", CodecAV1: "AV1",
	CodecVP9: "VP9", CodecVP8: "VP8", CodecAAC: "AAC", CodecMP3: "MP3", CodecOpus: "Opus",
	CodecFLAC: "FLAC", CodecAC3: "AC3", CodecEAC3: "EAC3", CodecPCM: "PCM", CodecSpeex: "Speex",
	CodecNellymoser: "Nellymoser", CodecG711A: "G711A", CodecG711U: "G711U", CodecVVC: "VVC",
	CodecH263: "H263", CodecScreen: "Screen", CodecVP6: "VP6", CodecADPCM: "ADPCM",
}

func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool {
	switch c {
	case CodecH264, CodecHEVC, CodecAV1, CodecVP9, CodecVP8, CodecVVC, CodecH263, CodecScreen, CodecVP6:
		return true
	}
	return false
}

// TagInfo is what ClassifyTag finds in an audio or video tag body.
type TagInfo struct {
	Flags  PacketFlags
	Codec  Codec    // CodecUnknown for an unknown FourCC (flags are still set)
	FourCC uint32   // Enhanced RTMP FourCC, e.g. 'a'<<24|'v'<<16|'0'<<8|'1'; 0 for legacy tags
	Track  uint8    // multitrack trackId; for ManyTracks the first track's (0 otherwise)
	Tracks TrackSet // every trackId of a multitrack message; empty otherwise (then the message is the default track 0)
	CTS    int32    // composition time offset in ms (legacy AVC/HEVC NALU; Ex CodedFrames of avc1, hvc1, vvc1)
	Config []byte   // sequence headers: the configuration record (avcC, hvcC, av1C, vpcC, AudioSpecificConfig, OpusHead, "fLaC"+STREAMINFO...), a sub-slice of the data
	// DataOff is where the first track's coded data (or Config) starts in
	// the tag body: after the (Ex)TagHeader, FourCC, track header, ModEx
	// blocks and the SI24 CompositionTime of avc1/hvc1/vvc1 CodedFrames.
	// An offset, not a slice, so that it survives a copy of the payload.
	DataOff int
}

// TrackSet is a set of Enhanced RTMP trackIds (UI8): a 256-bit bitmap, so
// it costs no allocation.
type TrackSet [4]uint64

// trackSetOf returns the set holding only id.
func trackSetOf(id uint8) TrackSet {
	var s TrackSet
	s.add(id)
	return s
}

func (s *TrackSet) add(id uint8) { s[id>>6] |= 1 << (id & 63) }

// Has reports whether id is in s.
func (s TrackSet) Has(id uint8) bool { return s[id>>6]&(1<<(id&63)) != 0 }

// Covers reports whether every track of o is in s.
func (s TrackSet) Covers(o TrackSet) bool {
	return o[0]&^s[0] == 0 && o[1]&^s[1] == 0 && o[2]&^s[2] == 0 && o[3]&^s[3] == 0
}

// String lists the trackIds, e.g. "{0,1}".
func (s TrackSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for id := range 256 {
		if s.Has(uint8(id)) {
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, id)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// TrackIDs is the set of tracks a message carries: Tracks for multitrack,
// else the default track 0.
func (i *TagInfo) TrackIDs() TrackSet {
	if i.Flags&FlagMultitrack == 0 {
		return trackSetOf(0)
	}
	return i.Tracks
}

// Enhanced RTMP FourCCs (makeFourCc: the four characters, big-endian).
const (
	fourCCAVC  uint32 = 'a'<<24 | 'v'<<16 | 'c'<<8 | '1'
	fourCCHEVC uint32 = 'h'<<24 | 'v'<<16 | 'c'<<8 | '1'
	fourCCVVC  uint32 = 'v'<<24 | 'v'<<16 | 'c'<<8 | '1'
	fourCCAV1  uint32 = 'a'<<24 | 'v'<<16 | '0'<<8 | '1'
	fourCCVP9  uint32 = 'v'<<24 | 'p'<<16 | '0'<<8 | '9'
	fourCCVP8  uint32 = 'v'<<24 | 'p'<<16 | '0'<<8 | '8'
	fourCCAAC  uint32 = 'm'<<24 | 'p'<<16 | '4'<<8 | 'a'
	fourCCMP3  uint32 = '.'<<24 | 'm'<<16 | 'p'<<8 | '3'
	fourCCOpus uint32 = 'O'<<24 | 'p'<<16 | 'u'<<8 | 's'
	fourCCFLAC uint32 = 'f'<<24 | 'L'<<16 | 'a'<<8 | 'C'
	fourCCAC3  uint32 = 'a'<<24 | 'c'<<16 | '-'<<8 | '3'
	fourCCEAC3 uint32 = 'e'<<24 | 'c'<<16 | '-'<<8 | '3'
)

// videoCodecOf maps a VideoFourCc; audio FourCCs in a video tag are unknown.
func videoCodecOf(fourCC uint32) Codec {
	switch fourCC {
	case fourCCAVC:
		return CodecH264
	case fourCCHEVC:
		return CodecHEVC
	case fourCCVVC:
		return CodecVVC
	case fourCCAV1:
		return CodecAV1
	case fourCCVP9:
		return CodecVP9
	case fourCCVP8:
		return CodecVP8
	}
	return CodecUnknown
}

// audioCodecOf maps an AudioFourCc; video FourCCs in an audio tag are unknown.
func audioCodecOf(fourCC uint32) Codec {
	switch fourCC {
	case fourCCAAC:
		return CodecAAC
	case fourCCMP3:
		return CodecMP3
	case fourCCOpus:
		return CodecOpus
	case fourCCFLAC:
		return CodecFLAC
	case fourCCAC3:
		return CodecAC3
	case fourCCEAC3:
		return CodecEAC3
	}
	return CodecUnknown
}

// Legacy codec ids: E.4.2.1 SoundFormat and E.4.3.1 CodecID.
const (
	soundFormatExHeader = 9  // Enhanced RTMP: ExAudioTagHeader follows
	soundFormatAAC      = 10 // AACPacketType follows
	videoCodecAVC       = 7  // AVCPacketType and CompositionTime follow
	videoCodecHEVC      = 12 // not in FLV 10.1: the de-facto id of pre-Enhanced HEVC, laid out like AVC
)

// legacySoundFormats maps SoundFormat; 9 is ExHeader, 12 and 13 are
// reserved, 15 is device-specific: all CodecUnknown.
var legacySoundFormats = [16]Codec{
	0: CodecPCM, 1: CodecADPCM, 2: CodecMP3, 3: CodecPCM, 4: CodecNellymoser, 5: CodecNellymoser,
	6: CodecNellymoser, 7: CodecG711A, 8: CodecG711U, 10: CodecAAC, 11: CodecSpeex, 14: CodecMP3,
}

// legacyVideoCodecs maps CodecID; 0, 1, 8-11 and 13-15 are reserved.
var legacyVideoCodecs = [16]Codec{
	2: CodecH263, 3: CodecScreen, 4: CodecVP6, 5: CodecVP6, 6: CodecScreen,
	videoCodecAVC: CodecH264, videoCodecHEVC: CodecHEVC,
}

// AACPacketType (E.4.2.1) and AVCPacketType (E.4.3.1).
const (
	aacSequenceHeader = 0 // AudioSpecificConfig
	aacRaw            = 1 // raw AAC frame data
	avcSequenceHeader = 0 // AVCDecoderConfigurationRecord (HEVC: HEVCDecoderConfigurationRecord)
	avcNALU           = 1 // one or more NALUs
	avcEndOfSequence  = 2 // end of sequence
)

// videoFrameType is FrameType (E.4.3.1, UB[4]) or VideoFrameType (Ex, UB[3]).
type videoFrameType uint8

const (
	frameTypeKey          videoFrameType = 1 // a seekable frame
	frameTypeInter        videoFrameType = 2 // a non-seekable frame
	frameTypeDisposable   videoFrameType = 3 // disposable inter frame (H.263 only)
	frameTypeGeneratedKey videoFrameType = 4 // generated key frame (reserved for server use)
	frameTypeCommand      videoFrameType = 5 // video info/command frame: a command byte, no video
)

var videoFrameTypeNames = [...]string{1: "KeyFrame", 2: "InterFrame", 3: "DisposableInterFrame", 4: "GeneratedKeyFrame", 5: "Command"}

func (t videoFrameType) String() string {
	if int(t) < len(videoFrameTypeNames) && videoFrameTypeNames[t] != "" {
		return videoFrameTypeNames[t]
	}
	return fmt.Sprintf("VideoFrameType(%d)", uint8(t))
}

// checkCoded checks the frame type of coded video data: a key or inter frame.
func (t videoFrameType) checkCoded() error {
	if t < frameTypeKey || t > frameTypeGeneratedKey {
		return FLVError(fmt.Sprintf("reserved %v on coded video", t))
	}
	return nil
}

// isKey reports a frame a player can start decoding at.
func (t videoFrameType) isKey() bool { return t == frameTypeKey || t == frameTypeGeneratedKey }

// videoPacketType is the Enhanced RTMP VideoPacketType (UB[4]).
type videoPacketType uint8

const (
	videoSequenceStart        videoPacketType = 0 // body: the codec configuration record
	videoCodedFrames          videoPacketType = 1 // body: [CompositionTime SI24 for avc1/hvc1/vvc1] coded frame
	videoSequenceEnd          videoPacketType = 2 // end of sequence
	videoCodedFramesX         videoPacketType = 3 // CodedFrames with CompositionTime 0 left out
	videoMetadata             videoPacketType = 4 // body: AMF metadata (colorInfo); FrameType ignored
	videoMPEG2TSSequenceStart videoPacketType = 5 // body: MPEG-2 TS descriptor (AV1)
	videoMultitrack           videoPacketType = 6 // AvMultitrackType and the tracks' packet type follow
	videoModEx                videoPacketType = 7 // a ModEx block, then the next packet type
)

var videoPacketTypeNames = [...]string{"SequenceStart", "CodedFrames", "SequenceEnd", "CodedFramesX",
	"Metadata", "MPEG2TSSequenceStart", "Multitrack", "ModEx"}

func (t videoPacketType) String() string {
	if int(t) < len(videoPacketTypeNames) {
		return videoPacketTypeNames[t]
	}
	return fmt.Sprintf("VideoPacketType(%d)", uint8(t))
}

// audioPacketType is the Enhanced RTMP AudioPacketType (UB[4]).
type audioPacketType uint8

const (
	audioSequenceStart      audioPacketType = 0 // body: AudioSpecificConfig, OpusHead, "fLaC" + STREAMINFO...
	audioCodedFrames        audioPacketType = 1 // body: coded audio
	audioSequenceEnd        audioPacketType = 2 // end of sequence
	audioMultichannelConfig audioPacketType = 4 // body: AudioChannelOrder, channelCount, mapping or flags
	audioMultitrack         audioPacketType = 5 // AvMultitrackType and the tracks' packet type follow
	audioModEx              audioPacketType = 7 // a ModEx block, then the next packet type
)

var audioPacketTypeNames = [...]string{0: "SequenceStart", 1: "CodedFrames", 2: "SequenceEnd",
	4: "MultichannelConfig", 5: "Multitrack", 7: "ModEx"}

func (t audioPacketType) String() string {
	if int(t) < len(audioPacketTypeNames) && audioPacketTypeNames[t] != "" {
		return audioPacketTypeNames[t]
	}
	return fmt.Sprintf("AudioPacketType(%d)", uint8(t))
}

// packetTypeModEx is ModEx in both VideoPacketType and AudioPacketType.
const packetTypeModEx = 7

// avMultitrackType is AvMultitrackType (UB[4]), shared by audio and video.
type avMultitrackType uint8

const (
	avOneTrack             avMultitrackType = 0 // one track: trackId, data (no size)
	avManyTracks           avMultitrackType = 1 // tracks of one FourCC: trackId, size UI24, data
	avManyTracksManyCodecs avMultitrackType = 2 // each track: FourCC, trackId, size UI24, data
)

var avMultitrackTypeNames = [...]string{"OneTrack", "ManyTracks", "ManyTracksManyCodecs"}

func (t avMultitrackType) String() string {
	if int(t) < len(avMultitrackTypeNames) {
		return avMultitrackTypeNames[t]
	}
	return fmt.Sprintf("AvMultitrackType(%d)", uint8(t))
}

// flvCursor reads the fields of a tag body in order, as the spec's
// pseudo-code does. Every read checks the length first. The first
// shortfall is kept in err and later reads return zero values, so a parser
// reads a run of fields and checks err once.
type flvCursor struct {
	b    []byte
	err  error
	size int // length of the whole body, for offset
}

// offset is how many bytes of the body have been read.
func (c *flvCursor) offset() int { return c.size - len(c.b) }

// take returns the next n bytes (capacity n, so appends cannot spill).
func (c *flvCursor) take(n int, field string) []byte {
	if c.err != nil {
		return nil
	}
	if n > len(c.b) {
		c.fail("truncated %s: need %d bytes, have %d", field, n, len(c.b))
		return nil
	}
	p := c.b[:n:n]
	c.b = c.b[n:]
	return p
}

// fail records a malformed field unless an error is already recorded.
func (c *flvCursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err, c.b = FLVError(fmt.Sprintf(format, args...)), nil
	}
}

func (c *flvCursor) u8(field string) uint8 {
	if p := c.take(1, field); p != nil {
		return p[0]
	}
	return 0
}

func (c *flvCursor) u16(field string) uint16 {
	if p := c.take(2, field); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (c *flvCursor) u24(field string) uint32 {
	if p := c.take(3, field); p != nil {
		return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
	}
	return 0
}

func (c *flvCursor) u32(field string) uint32 {
	if p := c.take(4, field); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// si24 reads a signed 24-bit big-endian integer (CompositionTime).
func (c *flvCursor) si24(field string) int32 {
	return int32(c.u24(field)<<8) >> 8 // sign-extend bit 23
}

// rest returns all unread bytes.
func (c *flvCursor) rest() []byte { return c.take(len(c.b), "") }

// ClassifyTag reads the (Ex)AudioTagHeader or (Ex)VideoTagHeader of a tag
// body (an RTMP audio or video message payload) and reports what it is. It
// never panics, and does not allocate for a well-formed tag. A truncated
// header, a track that overruns the body, or a reserved value in a field
// the classification depends on gives an FLVError and the zero TagInfo: the
// caller passes such a tag through as an ordinary frame.
// An empty audio body is the RTMP "silence" message: zero TagInfo, no error.
// Script and other tag types are not classified (zero TagInfo, no error).
func ClassifyTag(t TagType, data []byte) (TagInfo, error) {
	c := &flvCursor{b: data, size: len(data)}
	switch {
	case t == TagVideo && len(data) > 0 && data[0]&0x80 != 0: // IsExHeader UB[1]
		return classifyExVideo(c)
	case t == TagVideo:
		return classifyVideo(c)
	case t == TagAudio && len(data) == 0:
		return TagInfo{}, nil
	case t == TagAudio && data[0]>>4 == soundFormatExHeader:
		return classifyExAudio(c)
	case t == TagAudio:
		return classifyAudio(c)
	}
	return TagInfo{}, nil
}

// classifyAudio reads a legacy AudioTagHeader (E.4.2.1).
func classifyAudio(c *flvCursor) (TagInfo, error) {
	b := c.u8("AudioTagHeader")
	// SoundFormat UB[4]: 2 MP3, 10 AAC, ... (9 ExHeader handled elsewhere)
	format := b >> 4
	// SoundRate UB[2], SoundSize UB[1], SoundType UB[1]: rate, bits, mono or
	// stereo; nothing a relay needs (for AAC, the AudioSpecificConfig rules)
	if format == 12 || format == 13 {
		return TagInfo{}, FLVError(fmt.Sprintf("reserved SoundFormat %d", format))
	}
	info := TagInfo{Codec: legacySoundFormats[format], DataOff: c.offset()}
	if format != soundFormatAAC {
		return info, nil
	}
	// AACPacketType UI8: 0 AudioSpecificConfig, 1 raw AAC frame
	switch pt := c.u8("AACPacketType"); {
	case c.err != nil:
		return TagInfo{}, c.err
	case pt == aacSequenceHeader:
		info.DataOff = c.offset()
		info.Flags, info.Config = FlagSeqHeader, c.rest()
	case pt != aacRaw:
		return TagInfo{}, FLVError(fmt.Sprintf("reserved AACPacketType %d", pt))
	}
	info.DataOff = c.offset()
	return info, nil
}

// classifyVideo reads a legacy VideoTagHeader (E.4.3.1).
func classifyVideo(c *flvCursor) (TagInfo, error) {
	b := c.u8("VideoTagHeader")
	if c.err != nil {
		return TagInfo{}, c.err
	}
	// FrameType UB[4]: 1 key, 2 inter, 3 disposable, 4 generated key, 5 command
	ft := videoFrameType(b >> 4)
	// CodecID UB[4]: 2 H.263, 3 screen, 4 VP6, 5 VP6 alpha, 6 screen v2, 7 AVC, 12 HEVC
	id := b & 0x0f
	info := TagInfo{Codec: legacyVideoCodecs[id], DataOff: c.offset()}
	switch {
	case info.Codec == CodecUnknown:
		return TagInfo{}, FLVError(fmt.Sprintf("reserved CodecID %d", id))
	case ft == frameTypeCommand:
		// the body is a command byte (0 start / 1 end of client-side seeking)
		info.Flags = FlagCommand
		return info, nil
	case id == videoCodecAVC || id == videoCodecHEVC:
		return classifyAVC(c, ft, info)
	}
	if err := ft.checkCoded(); err != nil {
		return TagInfo{}, err
	}
	if ft.isKey() {
		info.Flags = FlagKeyframe
	}
	return info, nil
}

// classifyAVC reads the rest of an AVC (or legacy HEVC) VideoTagHeader.
func classifyAVC(c *flvCursor, ft videoFrameType, info TagInfo) (TagInfo, error) {
	// AVCPacketType UI8: 0 sequence header, 1 NALU, 2 end of sequence
	pt := c.u8("AVCPacketType")
	// CompositionTime SI24: the offset for NALUs, else 0
	cts := c.si24("CompositionTime")
	if c.err != nil {
		return TagInfo{}, c.err
	}
	info.DataOff = c.offset()
	switch pt {
	case avcSequenceHeader:
		info.Flags, info.Config = FlagSeqHeader, c.rest()
	case avcNALU:
		if err := ft.checkCoded(); err != nil {
			return TagInfo{}, err
		}
		if info.CTS = cts; ft.isKey() {
			info.Flags = FlagKeyframe
		}
	case avcEndOfSequence:
		info.Flags = FlagSeqEnd
	default:
		return TagInfo{}, FLVError(fmt.Sprintf("reserved AVCPacketType %d", pt))
	}
	return info, nil
}

// modEx consumes ModEx blocks while the packet type is ModEx and returns
// the packet type that follows them.
func (c *flvCursor) modEx(packetType uint8) uint8 {
	for packetType == packetTypeModEx && c.err == nil {
		// modExDataSize: UI8 + 1; when that gives 256, UI16 + 1 instead
		size := int(c.u8("modExDataSize")) + 1
		if size == 256 {
			size = int(c.u16("modExDataSize")) + 1
		}
		// modExData UI8[modExDataSize], e.g. TimestampOffsetNano as UI24
		c.take(size, "modExData")
		// PacketModExType UB[4], then the next PacketType UB[4]
		packetType = c.u8("PacketModExType") & 0x0f
	}
	return packetType
}

// exHeader is what an Ex(Audio|Video)TagHeader says about the body, once
// the ModEx blocks and a command frame are dealt with.
type exHeader struct {
	packetType uint8            // VideoPacketType or AudioPacketType of every track
	multitrack bool             // the packet type was Multitrack
	tracks     avMultitrackType // the AvMultitrackType, when multitrack
	fourCC     uint32           // every track's FourCC, unless ManyTracksManyCodecs
	ids        TrackSet         // the trackIds read so far (multitrack)
}

// readExHeader reads the multitrack header (when packetType ==
// multitrack) and the FourCC (unless each track has its own).
func (c *flvCursor) readExHeader(packetType, multitrack uint8) exHeader {
	h := exHeader{packetType: packetType}
	if packetType == multitrack {
		b := c.u8("AvMultitrackType")
		// AvMultitrackType UB[4], then the PacketType UB[4] of all tracks
		h.multitrack, h.tracks, h.packetType = true, avMultitrackType(b>>4), b&0x0f
		switch {
		case c.err != nil:
		case h.tracks > avManyTracksManyCodecs:
			c.fail("reserved %v", h.tracks)
		case h.packetType == multitrack || h.packetType == packetTypeModEx:
			c.fail("packet type %d inside a Multitrack header", h.packetType)
		case h.tracks == avManyTracksManyCodecs:
			return h
		}
	}
	// VideoFourCc or AudioFourCc
	h.fourCC = c.u32("FourCC")
	return h
}

// exTrack is one track of an ExVideoTagBody or ExAudioTagBody.
type exTrack struct {
	id     uint8
	fourCC uint32
	data   []byte
	off    int // where data starts in the tag body
}

// readTrack reads one track: [FourCC (ManyTracksManyCodecs)] trackId UI8
// [sizeOfTrack UI24 (not OneTrack)] data. Without multitrack the whole
// body is the only track.
func (c *flvCursor) readTrack(h *exHeader) exTrack {
	t := exTrack{fourCC: h.fourCC}
	if !h.multitrack {
		t.off, t.data = c.offset(), c.rest()
		return t
	}
	if h.tracks == avManyTracksManyCodecs {
		t.fourCC = c.u32("track FourCC")
	}
	t.id = c.u8("trackId")
	h.ids.add(t.id)
	if h.tracks == avOneTrack {
		t.off, t.data = c.offset(), c.rest()
		return t
	}
	// sizeOfTrack counts the bytes after itself, up to the next track
	size := int(c.u24("sizeOfTrack"))
	t.off, t.data = c.offset(), c.take(size, "track data")
	return t
}

// firstTrack walks all tracks of the body, checking their sizes, and
// returns the first. The packet and frame types are the message's, so the
// first track's classification holds for every track.
func (c *flvCursor) firstTrack(h *exHeader) exTrack {
	first := c.readTrack(h)
	for h.multitrack && h.tracks != avOneTrack && len(c.b) > 0 && c.err == nil {
		c.readTrack(h)
	}
	return first
}

// classifyExVideo reads an ExVideoTagHeader and the track headers of its
// ExVideoTagBody.
func classifyExVideo(c *flvCursor) (TagInfo, error) {
	b := c.u8("ExVideoTagHeader")
	// IsExHeader UB[1] (set), VideoFrameType UB[3], VideoPacketType UB[4]
	ft, pt := videoFrameType(b>>4&0x07), videoPacketType(c.modEx(b&0x0f))
	if pt != videoMetadata && ft == frameTypeCommand {
		// VideoCommand UI8 (0 StartSeek, 1 EndSeek): no FourCC, no body
		c.u8("VideoCommand")
		if c.err != nil {
			return TagInfo{}, c.err
		}
		return TagInfo{Flags: FlagCommand}, nil
	}
	h := c.readExHeader(uint8(pt), uint8(videoMultitrack))
	t := c.firstTrack(&h)
	if c.err != nil {
		return TagInfo{}, c.err
	}
	return exVideoInfo(ft, &h, t)
}

// exVideoInfo classifies an Ex video message from its first track.
func exVideoInfo(ft videoFrameType, h *exHeader, t exTrack) (TagInfo, error) {
	info := TagInfo{Codec: videoCodecOf(t.fourCC), FourCC: t.fourCC, Track: t.id, DataOff: t.off}
	if h.multitrack {
		info.Flags, info.Tracks = FlagMultitrack, h.ids
	}
	switch pt := videoPacketType(h.packetType); pt {
	case videoSequenceStart, videoMPEG2TSSequenceStart:
		info.Flags, info.Config = info.Flags|FlagSeqHeader, t.data
	case videoCodedFrames, videoCodedFramesX:
		if err := ft.checkCoded(); err != nil {
			return TagInfo{}, err
		}
		if ft.isKey() {
			info.Flags |= FlagKeyframe
		}
		if pt == videoCodedFrames && hasCompositionTime(info.Codec) {
			// CompositionTime SI24 (avc1, hvc1, vvc1 only), then the NALUs
			c := flvCursor{b: t.data}
			if info.CTS = c.si24("CompositionTime"); c.err != nil {
				return TagInfo{}, c.err
			}
			info.DataOff += 3
		}
	case videoSequenceEnd:
		info.Flags |= FlagSeqEnd
	case videoMetadata:
		info.Flags |= FlagConfig
	default:
		return TagInfo{}, FLVError(fmt.Sprintf("reserved %v", pt))
	}
	return info, nil
}

// hasCompositionTime reports the codecs whose CodedFrames start with SI24.
func hasCompositionTime(c Codec) bool {
	return c == CodecH264 || c == CodecHEVC || c == CodecVVC
}

// classifyExAudio reads an ExAudioTagHeader and the track headers of its
// ExAudioTagBody.
func classifyExAudio(c *flvCursor) (TagInfo, error) {
	b := c.u8("ExAudioTagHeader")
	// SoundFormat UB[4] (9, ExHeader), AudioPacketType UB[4]
	h := c.readExHeader(c.modEx(b&0x0f), uint8(audioMultitrack))
	t := c.firstTrack(&h)
	if c.err != nil {
		return TagInfo{}, c.err
	}
	info := TagInfo{Codec: audioCodecOf(t.fourCC), FourCC: t.fourCC, Track: t.id, DataOff: t.off}
	if h.multitrack {
		info.Flags, info.Tracks = FlagMultitrack, h.ids
	}
	switch pt := audioPacketType(h.packetType); pt {
	case audioSequenceStart:
		info.Flags, info.Config = info.Flags|FlagSeqHeader, t.data
	case audioCodedFrames: // coded audio: nothing to flag
	case audioSequenceEnd:
		info.Flags |= FlagSeqEnd
	case audioMultichannelConfig:
		info.Flags |= FlagConfig
	default:
		return TagInfo{}, FLVError(fmt.Sprintf("reserved %v", pt))
	}
	return info, nil
}
