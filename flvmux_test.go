package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// fc is makeFourCc of Enhanced RTMP, written independently of flvmux.go.
func flvFC(s string) uint32 { return binary.BigEndian.Uint32([]byte(s)) }

// flvTracks is the TrackSet of ids, built bit by bit without TrackSet's methods.
func flvTracks(ids ...uint8) TrackSet {
	var s TrackSet
	for _, id := range ids {
		s[id/64] |= 1 << (id % 64)
	}
	return s
}

// Codec configuration records used in the golden table. ClassifyTag does
// not parse them (codecs.go does); it only hands them out as TagInfo.Config.
var (
	// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1), shortened SPS.
	flvTestAVCC = wire(
		0x01,             // configurationVersion 1
		0x64, 0x00, 0x1f, // AVCProfileIndication 100 (High), profile_compatibility 0, AVCLevelIndication 31
		0xff,       // reserved 111111, lengthSizeMinusOne 3
		0xe1,       // reserved 111, numOfSequenceParameterSets 1
		0x00, 0x04, // sequenceParameterSetLength 4
		0x67, 0x64, 0x00, 0x1f, // SPS NAL unit (header 0x67), shortened
		0x01,       // numOfPictureParameterSets 1
		0x00, 0x02, // pictureParameterSetLength 2
		0x68, 0xee, // PPS NAL unit
	) // 17 bytes
	// HEVCDecoderConfigurationRecord, its first 6 bytes only.
	flvTestHVCC = wire(
		0x01,                   // configurationVersion 1
		0x01,                   // general_profile_space 0, general_tier_flag 0, general_profile_idc 1 (Main)
		0x60, 0x00, 0x00, 0x00, // general_profile_compatibility_flags
	) // 6 bytes
	// AV1CodecConfigurationRecord (av1C).
	flvTestAV1C = wire(
		0x81, // marker 1, version 1
		0x08, // seq_profile 0, seq_level_idx_0 8
		0x0c, // tier 0, high_bitdepth 0, twelve_bit 0, monochrome 0, chroma_subsampling_x 1, _y 1, position 0
		0x00, // reserved, initial_presentation_delay_present 0
	) // 4 bytes
	// VPCodecConfigurationRecord (vpcC, with its FullBox version and flags).
	flvTestVPCC = wire(
		0x01, 0x00, 0x00, 0x00, // version 1, flags 0
		0x00,             // profile 0
		0x1f,             // level 31
		0x82,             // bitDepth 8, chromaSubsampling 1 (4:2:0 colocated), videoFullRangeFlag 0
		0x01, 0x01, 0x01, // colourPrimaries, transferCharacteristics, matrixCoefficients: BT.709
		0x00, 0x00, // codecInitializationDataSize 0
	) // 12 bytes
	// AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1).
	flvTestASC = wire(
		0x12, 0x10, // audioObjectType 2 (LC), samplingFrequencyIndex 4 (44100), channelConfiguration 2
	)
	// OpusHead, the ID header of RFC 7845 5.1.
	flvTestOpusHead = wire(
		"OpusHead", // Magic Signature
		0x01,       // Version 1
		0x02,       // Output Channel Count 2
		0x38, 0x01, // Pre-skip 312 (little-endian)
		0x80, 0xbb, 0x00, 0x00, // Input Sample Rate 48000 (little-endian)
		0x00, 0x00, // Output Gain 0
		0x00, // Channel Mapping Family 0
	) // 19 bytes
	// FlacSequenceHeader: "fLaC" and the STREAMINFO metadata block.
	flvTestFLACHeader = wire(
		"fLaC",           // signature
		0x80,             // METADATA_BLOCK_HEADER: last-metadata-block 1, BLOCK_TYPE 0 (STREAMINFO)
		0x00, 0x00, 0x22, // length 34
		0x10, 0x00, // minimum block size 4096
		0x10, 0x00, // maximum block size 4096
		0x00, 0x00, 0x00, // minimum frame size (unknown)
		0x00, 0x00, 0x00, // maximum frame size (unknown)
		0x0a, 0xc4, 0x42, 0xf0, 0x00, 0x00, 0x00, 0x00, // sample rate 44100 (20 bits), channels-1 1 (3), bps-1 15 (5), total samples 0 (36)
		make([]byte, 16), // MD5 signature (unknown)
	) // 42 bytes
)

// flvGolden is one row of the golden table. It drives TestFLVGoldenDecode,
// TestFLVGoldenEncode, TestFLVReaderGolden, TestClassifyTagGolden and the
// seed corpora of FuzzFLVTag and FuzzClassifyTag.
type flvGolden struct {
	name string
	wire []byte // header rows: header + PreviousTagSize0; tag rows: tag header, body, PreviousTagSize

	header *FLVHeader // header rows: the decoded header (nil for tag rows)

	typ  TagType // tag rows: TagType and Timestamp; the body is wire[11:len-4]
	ts   uint32
	info TagInfo // ClassifyTag(typ, body)

	// decodeOnly marks a valid but non-canonical form: the encoder writes
	// different bytes for the same value.
	decodeOnly bool
}

var flvGoldenTable = []flvGolden{
	// E.2 FLV header, then PreviousTagSize0 (E.3).
	{name: "header audio+video", header: &FLVHeader{Version: 1, HasAudio: true, HasVideo: true, DataOffset: 9}, wire: wire(
		"FLV",                  // Signature
		0x01,                   // Version 1
		0x05,                   // TypeFlags: reserved 00000, audio 1, reserved 0, video 1
		0x00, 0x00, 0x00, 0x09, // DataOffset 9
		0x00, 0x00, 0x00, 0x00, // PreviousTagSize0
	)},
	{name: "header video only", header: &FLVHeader{Version: 1, HasVideo: true, DataOffset: 9}, wire: wire(
		"FLV", 0x01, // Signature, Version 1
		0x01,                   // TypeFlags: video only
		0x00, 0x00, 0x00, 0x09, // DataOffset 9
		0x00, 0x00, 0x00, 0x00, // PreviousTagSize0
	)},
	{name: "header with DataOffset 12", decodeOnly: true, header: &FLVHeader{Version: 1, HasAudio: true, DataOffset: 12}, wire: wire(
		"FLV", 0x01, // Signature, Version 1
		0x04,                   // TypeFlags: audio only
		0x00, 0x00, 0x00, 0x0c, // DataOffset 12: 3 more header bytes
		0xaa, 0xbb, 0xcc, // header bytes this version does not define: skipped
		0x00, 0x00, 0x00, 0x00, // PreviousTagSize0
	)},

	// E.4.4 script tag: not classified.
	{name: "script onMetaData", typ: TagScript, wire: wire(
		0x12, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // TagType 18 script, DataSize 40, Timestamp 0, StreamID 0
		0x02, 0x00, 0x0a, "onMetaData", // Name: AMF0 string "onMetaData"
		0x08, 0x00, 0x00, 0x00, 0x01, // Value: AMF0 ECMA array, 1 entry
		0x00, 0x08, "duration", // key "duration"
		0x00, 0x40, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // number 10.0
		0x00, 0x00, 0x09, // object end
		0x00, 0x00, 0x00, 0x33, // PreviousTagSize 51 = 11 + 40
	)},

	// E.4.3.1 legacy AVC (CodecID 7).
	{name: "AVC sequence header", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecH264, Config: flvTestAVCC}, wire: wire(
		0x09, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // TagType 9 video, DataSize 22, Timestamp 0, StreamID 0
		0x17,             // FrameType 1 (key), CodecID 7 (AVC)
		0x00,             // AVCPacketType 0: sequence header
		0x00, 0x00, 0x00, // CompositionTime 0
		flvTestAVCC,            // AVCDecoderConfigurationRecord
		0x00, 0x00, 0x00, 0x21, // PreviousTagSize 33
	)},
	{name: "AVC keyframe", typ: TagVideo, info: TagInfo{Flags: FlagKeyframe, Codec: CodecH264, CTS: 66}, wire: wire(
		0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 14, Timestamp 0
		0x17,             // FrameType 1 (key), CodecID 7 (AVC)
		0x01,             // AVCPacketType 1: NALU
		0x00, 0x00, 0x42, // CompositionTime 66
		0x00, 0x00, 0x00, 0x05, // NALU length 5
		0x65, 0x88, 0x84, 0x00, 0x33, // IDR slice NALU
		0x00, 0x00, 0x00, 0x19, // PreviousTagSize 25
	)},
	{name: "AVC inter frame, negative CTS", typ: TagVideo, ts: 33, info: TagInfo{Codec: CodecH264, CTS: -33}, wire: wire(
		0x09, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 12, Timestamp 33
		0x27,             // FrameType 2 (inter), CodecID 7 (AVC)
		0x01,             // AVCPacketType 1: NALU
		0xff, 0xff, 0xdf, // CompositionTime -33 (SI24)
		0x00, 0x00, 0x00, 0x03, // NALU length 3
		0x41, 0x9a, 0x02, // non-IDR slice NALU
		0x00, 0x00, 0x00, 0x17, // PreviousTagSize 23
	)},
	{name: "AVC end of sequence", typ: TagVideo, ts: 1000, info: TagInfo{Flags: FlagSeqEnd, Codec: CodecH264}, wire: wire(
		0x09, 0x00, 0x00, 0x05, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, // video, DataSize 5, Timestamp 1000
		0x17,             // FrameType 1, CodecID 7 (AVC)
		0x02,             // AVCPacketType 2: end of sequence
		0x00, 0x00, 0x00, // CompositionTime 0
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "AVC inter frame at ts 0x12345678", typ: TagVideo, ts: 0x12345678, info: TagInfo{Codec: CodecH264}, wire: wire(
		0x09,             // TagType 9 video
		0x00, 0x00, 0x0b, // DataSize 11
		0x34, 0x56, 0x78, // Timestamp: the lower 24 bits
		0x12,             // TimestampExtended: the upper 8 bits
		0x00, 0x00, 0x00, // StreamID 0
		0x27, 0x01, 0x00, 0x00, 0x00, // inter frame, AVC NALU, CompositionTime 0
		0x00, 0x00, 0x00, 0x02, 0x41, 0x9a, // one 2-byte NALU
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},

	// Legacy HEVC: CodecID 12, laid out like AVC (not in FLV 10.1).
	{name: "HEVC (CodecID 12) sequence header", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecHEVC, Config: flvTestHVCC}, wire: wire(
		0x09, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 11, Timestamp 0
		0x1c,             // FrameType 1 (key), CodecID 12 (HEVC)
		0x00,             // AVCPacketType 0: sequence header
		0x00, 0x00, 0x00, // CompositionTime 0
		flvTestHVCC,            // HEVCDecoderConfigurationRecord
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},
	{name: "HEVC (CodecID 12) keyframe", typ: TagVideo, ts: 40, info: TagInfo{Flags: FlagKeyframe, Codec: CodecHEVC}, wire: wire(
		0x09, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, // video, DataSize 12, Timestamp 40
		0x1c,             // FrameType 1 (key), CodecID 12 (HEVC)
		0x01,             // AVCPacketType 1: NALU
		0x00, 0x00, 0x00, // CompositionTime 0
		0x00, 0x00, 0x00, 0x03, 0x26, 0x01, 0xaf, // one IDR_W_RADL NALU
		0x00, 0x00, 0x00, 0x17, // PreviousTagSize 23
	)},

	// Other legacy video codecs: no AVCPacketType.
	{name: "Sorenson H.263 keyframe", typ: TagVideo, info: TagInfo{Flags: FlagKeyframe, Codec: CodecH263}, wire: wire(
		0x09, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 5, Timestamp 0
		0x12,                   // FrameType 1 (key), CodecID 2 (Sorenson H.263)
		0x00, 0x00, 0x84, 0x00, // H263VIDEOPACKET
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "Sorenson H.263 disposable inter frame", typ: TagVideo, ts: 33, info: TagInfo{Codec: CodecH263}, wire: wire(
		0x09, 0x00, 0x00, 0x05, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 5, Timestamp 33
		0x32,                   // FrameType 3 (disposable inter frame, H.263 only), CodecID 2
		0x00, 0x00, 0x84, 0x40, // H263VIDEOPACKET
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "VP6 inter frame", typ: TagVideo, ts: 67, info: TagInfo{Codec: CodecVP6}, wire: wire(
		0x09, 0x00, 0x00, 0x03, 0x00, 0x00, 0x43, 0x00, 0x00, 0x00, 0x00, // video, DataSize 3, Timestamp 67
		0x24,       // FrameType 2 (inter), CodecID 4 (On2 VP6)
		0x00, 0x46, // VP6FLVVIDEOPACKET: adjustment, data
		0x00, 0x00, 0x00, 0x0e, // PreviousTagSize 14
	)},
	{name: "legacy command frame", typ: TagVideo, info: TagInfo{Flags: FlagCommand, Codec: CodecH263}, wire: wire(
		0x09, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 2, Timestamp 0
		0x52,                   // FrameType 5 (video info/command), CodecID 2
		0x00,                   // command 0: start of client-side seeking
		0x00, 0x00, 0x00, 0x0d, // PreviousTagSize 13
	)},

	// E.4.2.1 legacy audio.
	{name: "AAC sequence header", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecAAC, Config: flvTestASC}, wire: wire(
		0x08, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // TagType 8 audio, DataSize 4, Timestamp 0
		0xaf,                   // SoundFormat 10 (AAC), SoundRate 3 (44 kHz), SoundSize 1 (16 bit), SoundType 1 (stereo)
		0x00,                   // AACPacketType 0: AudioSpecificConfig
		flvTestASC,             // AudioSpecificConfig
		0x00, 0x00, 0x00, 0x0f, // PreviousTagSize 15
	)},
	{name: "AAC raw", typ: TagAudio, ts: 23, info: TagInfo{Codec: CodecAAC}, wire: wire(
		0x08, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 11, Timestamp 23
		0xaf,                                                 // SoundFormat 10 (AAC), 44 kHz, 16 bit, stereo
		0x01,                                                 // AACPacketType 1: raw
		0x21, 0x00, 0x49, 0x90, 0x02, 0x19, 0x00, 0x23, 0x80, // raw_data_block
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},
	{name: "MP3", typ: TagAudio, ts: 26, info: TagInfo{Codec: CodecMP3}, wire: wire(
		0x08, 0x00, 0x00, 0x05, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 5, Timestamp 26
		0x2f,                   // SoundFormat 2 (MP3), 44 kHz, 16 bit, stereo
		0xff, 0xfb, 0x90, 0x64, // MP3 frame header
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "audio silence (empty body)", typ: TagAudio, ts: 46, wire: wire(
		0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 0, Timestamp 46
		0x00, 0x00, 0x00, 0x0b, // PreviousTagSize 11
	)},

	// Enhanced RTMP ExVideoTagHeader: SequenceStart.
	{name: "Ex av01 SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecAV1, FourCC: flvFC("av01"), Config: flvTestAV1C}, wire: wire(
		0x09, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 9, Timestamp 0
		0x90,                   // IsExHeader 1, VideoFrameType 1 (key), VideoPacketType 0 (SequenceStart)
		"av01",                 // VideoFourCc
		flvTestAV1C,            // AV1CodecConfigurationRecord
		0x00, 0x00, 0x00, 0x14, // PreviousTagSize 20
	)},
	{name: "Ex hvc1 SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecHEVC, FourCC: flvFC("hvc1"), Config: flvTestHVCC}, wire: wire(
		0x09, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 11, Timestamp 0
		0x90,                   // IsExHeader, key, SequenceStart
		"hvc1",                 // VideoFourCc
		flvTestHVCC,            // HEVCDecoderConfigurationRecord
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},
	{name: "Ex vp09 SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecVP9, FourCC: flvFC("vp09"), Config: flvTestVPCC}, wire: wire(
		0x09, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 17, Timestamp 0
		0x90,                   // IsExHeader, key, SequenceStart
		"vp09",                 // VideoFourCc
		flvTestVPCC,            // VPCodecConfigurationRecord
		0x00, 0x00, 0x00, 0x1c, // PreviousTagSize 28
	)},
	{name: "Ex avc1 SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecH264, FourCC: flvFC("avc1"), Config: flvTestAVCC}, wire: wire(
		0x09, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 22, Timestamp 0
		0x90,                   // IsExHeader, key, SequenceStart
		"avc1",                 // VideoFourCc
		flvTestAVCC,            // AVCDecoderConfigurationRecord
		0x00, 0x00, 0x00, 0x21, // PreviousTagSize 33
	)},
	{name: "Ex unknown FourCC SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, FourCC: flvFC("abcd"), Config: []byte{1, 2}}, wire: wire(
		0x09, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 7, Timestamp 0
		0x90,       // IsExHeader, key, SequenceStart
		"abcd",     // VideoFourCc nobody defined: CodecUnknown, still a header
		0x01, 0x02, // its configuration
		0x00, 0x00, 0x00, 0x12, // PreviousTagSize 18
	)},

	// ExVideoTagHeader: coded frames.
	{name: "Ex av01 CodedFrames key", typ: TagVideo, info: TagInfo{Flags: FlagKeyframe, Codec: CodecAV1, FourCC: flvFC("av01")}, wire: wire(
		0x09, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 11, Timestamp 0
		0x91,       // IsExHeader, VideoFrameType 1 (key), VideoPacketType 1 (CodedFrames)
		"av01",     // VideoFourCc; no CompositionTime for AV1
		0x12, 0x00, // OBU: temporal delimiter, size 0
		0x32, 0x02, 0x10, 0x00, // OBU: frame, size 2
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},
	{name: "Ex av01 CodedFrames generated key", typ: TagVideo, ts: 1, info: TagInfo{Flags: FlagKeyframe, Codec: CodecAV1, FourCC: flvFC("av01")}, wire: wire(
		0x09, 0x00, 0x00, 0x07, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // video, DataSize 7, Timestamp 1
		0xc1,       // IsExHeader, VideoFrameType 4 (generated key), CodedFrames
		"av01",     // VideoFourCc
		0x12, 0x00, // OBU: temporal delimiter
		0x00, 0x00, 0x00, 0x12, // PreviousTagSize 18
	)},
	{name: "Ex hvc1 CodedFrames inter with CTS", typ: TagVideo, ts: 66, info: TagInfo{Codec: CodecHEVC, FourCC: flvFC("hvc1"), CTS: 33}, wire: wire(
		0x09, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x42, 0x00, 0x00, 0x00, 0x00, // video, DataSize 15, Timestamp 66
		0xa1,             // IsExHeader, VideoFrameType 2 (inter), CodedFrames
		"hvc1",           // VideoFourCc
		0x00, 0x00, 0x21, // CompositionTime 33 (SI24, hvc1 only with CodedFrames)
		0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0xd0, // one TRAIL_R NALU
		0x00, 0x00, 0x00, 0x1a, // PreviousTagSize 26
	)},
	{name: "Ex hvc1 CodedFramesX key", typ: TagVideo, ts: 100, info: TagInfo{Flags: FlagKeyframe, Codec: CodecHEVC, FourCC: flvFC("hvc1")}, wire: wire(
		0x09, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, // video, DataSize 12, Timestamp 100
		0x93,                                     // IsExHeader, key, VideoPacketType 3 (CodedFramesX: CompositionTime 0, left out)
		"hvc1",                                   // VideoFourCc
		0x00, 0x00, 0x00, 0x03, 0x26, 0x01, 0xaf, // one IDR_W_RADL NALU
		0x00, 0x00, 0x00, 0x17, // PreviousTagSize 23
	)},
	{name: "Ex avc1 CodedFrames key with CTS", typ: TagVideo, info: TagInfo{Flags: FlagKeyframe, Codec: CodecH264, FourCC: flvFC("avc1"), CTS: 66}, wire: wire(
		0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 14, Timestamp 0
		0x91,             // IsExHeader, key, CodedFrames
		"avc1",           // VideoFourCc
		0x00, 0x00, 0x42, // CompositionTime 66
		0x00, 0x00, 0x00, 0x02, 0x65, 0x88, // one IDR NALU
		0x00, 0x00, 0x00, 0x19, // PreviousTagSize 25
	)},
	{name: "Ex vvc1 CodedFrames inter with CTS", typ: TagVideo, ts: 33, info: TagInfo{Codec: CodecVVC, FourCC: flvFC("vvc1"), CTS: 16}, wire: wire(
		0x09, 0x00, 0x00, 0x08, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 8, Timestamp 33
		0xa1,             // IsExHeader, inter, CodedFrames
		"vvc1",           // VideoFourCc
		0x00, 0x00, 0x10, // CompositionTime 16
		0x00, 0x00, 0x00, 0x13, // PreviousTagSize 19
	)},
	{name: "Ex vp09 CodedFrames inter", typ: TagVideo, ts: 33, info: TagInfo{Codec: CodecVP9, FourCC: flvFC("vp09")}, wire: wire(
		0x09, 0x00, 0x00, 0x08, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 8, Timestamp 33
		0xa1,             // IsExHeader, inter, CodedFrames
		"vp09",           // VideoFourCc; no CompositionTime for VP9
		0x86, 0x00, 0x40, // VP9 frame
		0x00, 0x00, 0x00, 0x13, // PreviousTagSize 19
	)},

	// ExVideoTagHeader: SequenceEnd, Metadata, command.
	{name: "Ex av01 SequenceEnd", typ: TagVideo, ts: 5000, info: TagInfo{Flags: FlagSeqEnd, Codec: CodecAV1, FourCC: flvFC("av01")}, wire: wire(
		0x09, 0x00, 0x00, 0x05, 0x00, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, // video, DataSize 5, Timestamp 5000
		0x92,                   // IsExHeader, key, VideoPacketType 2 (SequenceEnd)
		"av01",                 // VideoFourCc
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "Ex av01 Metadata (FrameType 5 ignored)", typ: TagVideo, ts: 7, info: TagInfo{Flags: FlagConfig, Codec: CodecAV1, FourCC: flvFC("av01")}, wire: wire(
		0x09, 0x00, 0x00, 0x15, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, // video, DataSize 21, Timestamp 7
		0xd4,                          // IsExHeader, VideoFrameType 5 (ignored for Metadata), VideoPacketType 4 (Metadata)
		"av01",                        // VideoFourCc
		0x02, 0x00, 0x09, "colorInfo", // AMF0 string "colorInfo"
		0x03, 0x00, 0x00, 0x09, // AMF0 object {}
		0x00, 0x00, 0x00, 0x20, // PreviousTagSize 32
	)},
	{name: "Ex command frame", typ: TagVideo, info: TagInfo{Flags: FlagCommand}, wire: wire(
		0x09, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 2, Timestamp 0
		0xd0,                   // IsExHeader, VideoFrameType 5 (Command), VideoPacketType 0
		0x01,                   // VideoCommand 1 (EndSeek); no FourCC, no body
		0x00, 0x00, 0x00, 0x0d, // PreviousTagSize 13
	)},

	// ExVideoTagHeader: Multitrack.
	{name: "Ex Multitrack OneTrack", typ: TagVideo, info: TagInfo{Flags: FlagKeyframe | FlagMultitrack, Codec: CodecAV1, FourCC: flvFC("av01"), Track: 1, Tracks: flvTracks(1)}, wire: wire(
		0x09, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 9, Timestamp 0
		0x96,       // IsExHeader, key, VideoPacketType 6 (Multitrack)
		0x01,       // AvMultitrackType 0 (OneTrack), VideoPacketType 1 (CodedFrames)
		"av01",     // VideoFourCc
		0x01,       // videoTrackId 1; OneTrack: no size, the rest is the track
		0x12, 0x00, // OBU: temporal delimiter
		0x00, 0x00, 0x00, 0x14, // PreviousTagSize 20
	)},
	{name: "Ex Multitrack ManyTracks SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader | FlagMultitrack, Codec: CodecHEVC, FourCC: flvFC("hvc1"), Tracks: flvTracks(0, 1), Config: flvTestHVCC}, wire: wire(
		0x09, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 23, Timestamp 0
		0x96,                                // IsExHeader, key, Multitrack
		0x10,                                // AvMultitrackType 1 (ManyTracks), VideoPacketType 0 (SequenceStart)
		"hvc1",                              // VideoFourCc of every track
		0x00, 0x00, 0x00, 0x06, flvTestHVCC, // videoTrackId 0, sizeOfVideoTrack 6, hvcC
		0x01, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, // videoTrackId 1, sizeOfVideoTrack 3, its hvcC
		0x00, 0x00, 0x00, 0x22, // PreviousTagSize 34
	)},
	{name: "Ex Multitrack ManyTracksManyCodecs CodedFrames", typ: TagVideo, ts: 33, info: TagInfo{Flags: FlagKeyframe | FlagMultitrack, Codec: CodecH264, FourCC: flvFC("avc1"), Track: 2, Tracks: flvTracks(2, 3), CTS: 33}, wire: wire(
		0x09, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 29, Timestamp 33
		0x96,                           // IsExHeader, key, Multitrack
		0x21,                           // AvMultitrackType 2 (ManyTracksManyCodecs), VideoPacketType 1 (CodedFrames); no shared FourCC
		"avc1", 0x02, 0x00, 0x00, 0x09, // track: VideoFourCc avc1, videoTrackId 2, sizeOfVideoTrack 9
		0x00, 0x00, 0x21, // CompositionTime 33
		0x00, 0x00, 0x00, 0x02, 0x65, 0x88, // one IDR NALU
		"av01", 0x03, 0x00, 0x00, 0x02, // track: VideoFourCc av01, videoTrackId 3, sizeOfVideoTrack 2
		0x12, 0x00, // OBU: temporal delimiter
		0x00, 0x00, 0x00, 0x28, // PreviousTagSize 40
	)},

	// ExVideoTagHeader: ModEx.
	{name: "Ex ModEx TimestampOffsetNano", typ: TagVideo, ts: 33, info: TagInfo{Flags: FlagKeyframe, Codec: CodecAV1, FourCC: flvFC("av01")}, wire: wire(
		0x09, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 12, Timestamp 33
		0x97,             // IsExHeader, key, VideoPacketType 7 (ModEx)
		0x02,             // modExDataSize - 1 = 2
		0x00, 0x01, 0xf4, // modExData: 500 ns
		0x01,       // VideoPacketModExType 0 (TimestampOffsetNano), VideoPacketType 1 (CodedFrames)
		"av01",     // VideoFourCc
		0x12, 0x00, // OBU: temporal delimiter
		0x00, 0x00, 0x00, 0x17, // PreviousTagSize 23
	)},
	{name: "Ex ModEx with UI16 size", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecAV1, FourCC: flvFC("av01"), Config: flvTestAV1C}, wire: wire(
		0x09, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 16, Timestamp 0
		0x97,       // IsExHeader, key, ModEx
		0xff,       // modExDataSize UI8 255: + 1 = 256, so a UI16 follows
		0x00, 0x02, // modExDataSize UI16 2: + 1 = 3
		0x00, 0x00, 0x64, // modExData: 100 ns
		0x00,                   // TimestampOffsetNano, VideoPacketType 0 (SequenceStart)
		"av01",                 // VideoFourCc
		flvTestAV1C,            // AV1CodecConfigurationRecord
		0x00, 0x00, 0x00, 0x1b, // PreviousTagSize 27
	)},

	// ExAudioTagHeader (SoundFormat 9).
	{name: "Ex Opus SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecOpus, FourCC: flvFC("Opus"), Config: flvTestOpusHead}, wire: wire(
		0x08, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 24, Timestamp 0
		0x90,                   // SoundFormat 9 (ExHeader), AudioPacketType 0 (SequenceStart)
		"Opus",                 // AudioFourCc
		flvTestOpusHead,        // OpusHead
		0x00, 0x00, 0x00, 0x23, // PreviousTagSize 35
	)},
	{name: "Ex Opus MultichannelConfig", typ: TagAudio, info: TagInfo{Flags: FlagConfig, Codec: CodecOpus, FourCC: flvFC("Opus")}, wire: wire(
		0x08, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 11, Timestamp 0
		0x94,                   // ExHeader, AudioPacketType 4 (MultichannelConfig)
		"Opus",                 // AudioFourCc
		0x01,                   // AudioChannelOrder 1 (Native)
		0x02,                   // channelCount 2
		0x00, 0x00, 0x00, 0x03, // audioChannelFlags: FrontLeft | FrontRight
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},
	{name: "Ex Opus CodedFrames", typ: TagAudio, ts: 20, info: TagInfo{Codec: CodecOpus, FourCC: flvFC("Opus")}, wire: wire(
		0x08, 0x00, 0x00, 0x08, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 8, Timestamp 20
		0x91,             // ExHeader, AudioPacketType 1 (CodedFrames)
		"Opus",           // AudioFourCc
		0xfc, 0xff, 0xfe, // Opus packet
		0x00, 0x00, 0x00, 0x13, // PreviousTagSize 19
	)},
	{name: "Ex Opus SequenceEnd", typ: TagAudio, ts: 9000, info: TagInfo{Flags: FlagSeqEnd, Codec: CodecOpus, FourCC: flvFC("Opus")}, wire: wire(
		0x08, 0x00, 0x00, 0x05, 0x00, 0x23, 0x28, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 5, Timestamp 9000
		0x92,                   // ExHeader, AudioPacketType 2 (SequenceEnd)
		"Opus",                 // AudioFourCc
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "Ex fLaC SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecFLAC, FourCC: flvFC("fLaC"), Config: flvTestFLACHeader}, wire: wire(
		0x08, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 47, Timestamp 0
		0x90,                   // ExHeader, SequenceStart
		"fLaC",                 // AudioFourCc
		flvTestFLACHeader,      // FlacSequenceHeader: "fLaC" + STREAMINFO
		0x00, 0x00, 0x00, 0x3a, // PreviousTagSize 58
	)},
	{name: "Ex fLaC CodedFrames", typ: TagAudio, ts: 93, info: TagInfo{Codec: CodecFLAC, FourCC: flvFC("fLaC")}, wire: wire(
		0x08, 0x00, 0x00, 0x09, 0x00, 0x00, 0x5d, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 9, Timestamp 93
		0x91,                   // ExHeader, CodedFrames
		"fLaC",                 // AudioFourCc
		0xff, 0xf8, 0x69, 0x08, // FLAC frame header
		0x00, 0x00, 0x00, 0x14, // PreviousTagSize 20
	)},
	{name: "Ex ac-3 SequenceStart (empty)", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecAC3, FourCC: flvFC("ac-3"), Config: []byte{}}, wire: wire(
		0x08, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 5, Timestamp 0
		0x90,                   // ExHeader, SequenceStart
		"ac-3",                 // AudioFourCc; AC-3 frames describe themselves
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "Ex ac-3 CodedFrames", typ: TagAudio, ts: 32, info: TagInfo{Codec: CodecAC3, FourCC: flvFC("ac-3")}, wire: wire(
		0x08, 0x00, 0x00, 0x09, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 9, Timestamp 32
		0x91,                   // ExHeader, CodedFrames
		"ac-3",                 // AudioFourCc
		0x0b, 0x77, 0x01, 0x02, // AC-3 syncframe start
		0x00, 0x00, 0x00, 0x14, // PreviousTagSize 20
	)},
	{name: "Ex ec-3 CodedFrames", typ: TagAudio, ts: 32, info: TagInfo{Codec: CodecEAC3, FourCC: flvFC("ec-3")}, wire: wire(
		0x08, 0x00, 0x00, 0x07, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 7, Timestamp 32
		0x91,       // ExHeader, CodedFrames
		"ec-3",     // AudioFourCc
		0x0b, 0x77, // E-AC-3 syncword
		0x00, 0x00, 0x00, 0x12, // PreviousTagSize 18
	)},
	{name: "Ex mp4a SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecAAC, FourCC: flvFC("mp4a"), Config: flvTestASC}, wire: wire(
		0x08, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 7, Timestamp 0
		0x90,                   // ExHeader, SequenceStart
		"mp4a",                 // AudioFourCc
		flvTestASC,             // AudioSpecificConfig
		0x00, 0x00, 0x00, 0x12, // PreviousTagSize 18
	)},
	{name: "Ex .mp3 CodedFrames", typ: TagAudio, ts: 26, info: TagInfo{Codec: CodecMP3, FourCC: flvFC(".mp3")}, wire: wire(
		0x08, 0x00, 0x00, 0x07, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 7, Timestamp 26
		0x91,       // ExHeader, CodedFrames
		".mp3",     // AudioFourCc
		0xff, 0xfb, // MP3 frame header start
		0x00, 0x00, 0x00, 0x12, // PreviousTagSize 18
	)},
	{name: "Ex audio unknown FourCC SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader, FourCC: flvFC("abcd"), Config: []byte{1}}, wire: wire(
		0x08, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 6, Timestamp 0
		0x90,                   // ExHeader, SequenceStart
		"abcd",                 // unknown AudioFourCc: CodecUnknown, still a header
		0x01,                   // its configuration
		0x00, 0x00, 0x00, 0x11, // PreviousTagSize 17
	)},
	{name: "Ex video FourCC in an audio tag", typ: TagAudio, info: TagInfo{FourCC: flvFC("av01")}, wire: wire(
		0x08, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 6, Timestamp 0
		0x91,                   // ExHeader, CodedFrames
		"av01",                 // a video FourCC: not an audio codec, so CodecUnknown
		0x00,                   // data
		0x00, 0x00, 0x00, 0x11, // PreviousTagSize 17
	)},
	{name: "Ex audio Multitrack ManyTracks SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader | FlagMultitrack, Codec: CodecAAC, FourCC: flvFC("mp4a"), Tracks: flvTracks(0, 1), Config: flvTestASC}, wire: wire(
		0x08, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 18, Timestamp 0
		0x95,                               // ExHeader, AudioPacketType 5 (Multitrack)
		0x10,                               // AvMultitrackType 1 (ManyTracks), AudioPacketType 0 (SequenceStart)
		"mp4a",                             // AudioFourCc of every track
		0x00, 0x00, 0x00, 0x02, flvTestASC, // audioTrackId 0, sizeOfAudioTrack 2, AudioSpecificConfig
		0x01, 0x00, 0x00, 0x02, 0x11, 0x90, // audioTrackId 1, sizeOfAudioTrack 2, AudioSpecificConfig (48 kHz)
		0x00, 0x00, 0x00, 0x1d, // PreviousTagSize 29
	)},
	{name: "Ex audio Multitrack ManyTracksManyCodecs CodedFrames", typ: TagAudio, ts: 20, info: TagInfo{Flags: FlagMultitrack, Codec: CodecOpus, FourCC: flvFC("Opus"), Track: 1, Tracks: flvTracks(1, 2)}, wire: wire(
		0x08, 0x00, 0x00, 0x15, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 21, Timestamp 20
		0x95,                           // ExHeader, Multitrack
		0x21,                           // AvMultitrackType 2 (ManyTracksManyCodecs), CodedFrames
		"Opus", 0x01, 0x00, 0x00, 0x01, // track: AudioFourCc Opus, audioTrackId 1, sizeOfAudioTrack 1
		0xfc,                           // Opus packet
		"mp4a", 0x02, 0x00, 0x00, 0x02, // track: AudioFourCc mp4a, audioTrackId 2, sizeOfAudioTrack 2
		0x21, 0x00, // AAC frame
		0x00, 0x00, 0x00, 0x20, // PreviousTagSize 32
	)},
	{name: "Ex audio ModEx", typ: TagAudio, ts: 20, info: TagInfo{Codec: CodecOpus, FourCC: flvFC("Opus")}, wire: wire(
		0x08, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 11, Timestamp 20
		0x97,             // ExHeader, AudioPacketType 7 (ModEx)
		0x02,             // modExDataSize - 1 = 2
		0x00, 0x00, 0xc8, // modExData: 200 ns
		0x01,                   // AudioPacketModExType 0 (TimestampOffsetNano), AudioPacketType 1 (CodedFrames)
		"Opus",                 // AudioFourCc
		0xfc,                   // Opus packet
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},

	// More header forms: MPEG2TSSequenceStart, vp08, legacy HEVC inter and
	// end of sequence, ModEx before Multitrack and before a command,
	// audio Multitrack OneTrack / ManyTracksManyCodecs configuration, a
	// track's SequenceEnd, ManyTracks CodedFramesX.
	{name: "Ex av01 MPEG2TSSequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecAV1, FourCC: flvFC("av01"), Config: wire(0x80, 0x04, 0x81, 0x08, 0x0c, 0x00)}, wire: wire(
		0x09, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 11, Timestamp 0
		0x95,                               // IsExHeader, key, VideoPacketType 5 (MPEG2TSSequenceStart)
		"av01",                             // VideoFourCc
		0x80, 0x04, 0x81, 0x08, 0x0c, 0x00, // AV1 video descriptor: tag 0x80, length 4, av1C fields
		0x00, 0x00, 0x00, 0x16, // PreviousTagSize 22
	)},
	{name: "Ex vp08 SequenceStart", typ: TagVideo, info: TagInfo{Flags: FlagSeqHeader, Codec: CodecVP8, FourCC: flvFC("vp08"), Config: flvTestVPCC}, wire: wire(
		0x09, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 17, Timestamp 0
		0x90,                   // IsExHeader, key, SequenceStart
		"vp08",                 // VideoFourCc
		flvTestVPCC,            // VPCodecConfigurationRecord (VP8 uses it too)
		0x00, 0x00, 0x00, 0x1c, // PreviousTagSize 28
	)},
	{name: "HEVC (CodecID 12) inter frame with CTS", typ: TagVideo, ts: 40, info: TagInfo{Codec: CodecHEVC, CTS: 33}, wire: wire(
		0x09, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, // video, DataSize 12, Timestamp 40
		0x2c,             // FrameType 2 (inter), CodecID 12 (HEVC)
		0x01,             // AVCPacketType 1: NALU
		0x00, 0x00, 0x21, // CompositionTime 33
		0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0xd0, // one TRAIL_R NALU
		0x00, 0x00, 0x00, 0x17, // PreviousTagSize 23
	)},
	{name: "HEVC (CodecID 12) end of sequence", typ: TagVideo, ts: 80, info: TagInfo{Flags: FlagSeqEnd, Codec: CodecHEVC}, wire: wire(
		0x09, 0x00, 0x00, 0x05, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, // video, DataSize 5, Timestamp 80
		0x1c,             // FrameType 1, CodecID 12 (HEVC)
		0x02,             // AVCPacketType 2: end of sequence
		0x00, 0x00, 0x00, // CompositionTime 0
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "Ex ModEx then Multitrack OneTrack", typ: TagVideo, ts: 33, info: TagInfo{Flags: FlagKeyframe | FlagMultitrack, Codec: CodecAV1, FourCC: flvFC("av01"), Track: 1, Tracks: flvTracks(1)}, wire: wire(
		0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, // video, DataSize 14, Timestamp 33
		0x97,             // IsExHeader, key, ModEx
		0x02,             // modExDataSize - 1 = 2
		0x00, 0x01, 0xf4, // modExData: TimestampOffsetNano 500
		0x06,       // VideoPacketModExType 0, VideoPacketType 6 (Multitrack)
		0x01,       // AvMultitrackType 0 (OneTrack), VideoPacketType 1 (CodedFrames)
		"av01",     // VideoFourCc
		0x01,       // videoTrackId 1
		0x12, 0x00, // OBU: temporal delimiter
		0x00, 0x00, 0x00, 0x19, // PreviousTagSize 25
	)},
	{name: "Ex command frame behind ModEx", typ: TagVideo, info: TagInfo{Flags: FlagCommand}, wire: wire(
		0x09, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // video, DataSize 5, Timestamp 0
		0xd7,                   // IsExHeader, VideoFrameType 5 (Command), ModEx
		0x00,                   // modExDataSize - 1 = 0
		0x00,                   // modExData (1 byte)
		0x00,                   // VideoPacketModExType 0, VideoPacketType 0: not Metadata, so a command
		0x00,                   // VideoCommand 0 (StartSeek)
		0x00, 0x00, 0x00, 0x10, // PreviousTagSize 16
	)},
	{name: "Ex audio Multitrack OneTrack SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader | FlagMultitrack, Codec: CodecOpus, FourCC: flvFC("Opus"), Track: 1, Tracks: flvTracks(1), Config: flvTestOpusHead}, wire: wire(
		0x08, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 26, Timestamp 0
		0x95,                   // ExHeader, Multitrack
		0x00,                   // AvMultitrackType 0 (OneTrack), AudioPacketType 0 (SequenceStart)
		"Opus",                 // AudioFourCc
		0x01,                   // audioTrackId 1
		flvTestOpusHead,        // OpusHead
		0x00, 0x00, 0x00, 0x25, // PreviousTagSize 37
	)},
	{name: "Ex audio Multitrack OneTrack MultichannelConfig", typ: TagAudio, info: TagInfo{Flags: FlagConfig | FlagMultitrack, Codec: CodecOpus, FourCC: flvFC("Opus"), Track: 1, Tracks: flvTracks(1)}, wire: wire(
		0x08, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 9, Timestamp 0
		0x95,       // ExHeader, Multitrack
		0x04,       // OneTrack, AudioPacketType 4 (MultichannelConfig)
		"Opus",     // AudioFourCc
		0x01,       // audioTrackId 1
		0x00, 0x02, // AudioChannelOrder 0 (Unspecified), channelCount 2
		0x00, 0x00, 0x00, 0x14, // PreviousTagSize 20
	)},
	{name: "Ex audio ManyTracksManyCodecs SequenceStart", typ: TagAudio, info: TagInfo{Flags: FlagSeqHeader | FlagMultitrack, Codec: CodecOpus, FourCC: flvFC("Opus"), Tracks: flvTracks(0, 1), Config: flvTestOpusHead}, wire: wire(
		0x08, 0x00, 0x00, 0x4f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, DataSize 79, Timestamp 0
		0x95,                                            // ExHeader, Multitrack
		0x20,                                            // AvMultitrackType 2 (ManyTracksManyCodecs), SequenceStart
		"Opus", 0x00, 0x00, 0x00, 0x13, flvTestOpusHead, // AudioFourCc, audioTrackId 0, sizeOfAudioTrack 19, OpusHead
		"fLaC", 0x01, 0x00, 0x00, 0x2a, flvTestFLACHeader, // AudioFourCc, audioTrackId 1, size 42, FlacSequenceHeader
		0x00, 0x00, 0x00, 0x5a, // PreviousTagSize 90
	)},
	{name: "Ex video Multitrack OneTrack SequenceEnd", typ: TagVideo, ts: 5000, info: TagInfo{Flags: FlagSeqEnd | FlagMultitrack, Codec: CodecHEVC, FourCC: flvFC("hvc1"), Track: 1, Tracks: flvTracks(1)}, wire: wire(
		0x09, 0x00, 0x00, 0x07, 0x00, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, // video, DataSize 7, Timestamp 5000
		0x96,                   // IsExHeader, key, Multitrack
		0x02,                   // OneTrack, VideoPacketType 2 (SequenceEnd)
		"hvc1",                 // VideoFourCc
		0x01,                   // videoTrackId 1
		0x00, 0x00, 0x00, 0x12, // PreviousTagSize 18
	)},
	{name: "Ex video ManyTracks CodedFramesX key", typ: TagVideo, ts: 80, info: TagInfo{Flags: FlagKeyframe | FlagMultitrack, Codec: CodecHEVC, FourCC: flvFC("hvc1"), Tracks: flvTracks(0, 1)}, wire: wire(
		0x09, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, // video, DataSize 28, Timestamp 80
		0x96,                                                             // IsExHeader, key, Multitrack
		0x13,                                                             // AvMultitrackType 1 (ManyTracks), CodedFramesX
		"hvc1",                                                           // VideoFourCc of both tracks
		0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x26, 0x01, 0xaf, // videoTrackId 0, size 7, an IDR NALU (no CompositionTime)
		0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x26, 0x01, 0xaf, // videoTrackId 1, size 7, an IDR NALU
		0x00, 0x00, 0x00, 0x27, // PreviousTagSize 39
	)},
}

// flvGoldenTags returns the tag rows of the golden table.
func flvGoldenTags() []flvGolden {
	var rows []flvGolden
	for _, g := range flvGoldenTable {
		if g.header == nil {
			rows = append(rows, g)
		}
	}
	return rows
}

// body is the tag body of a tag row.
func (g *flvGolden) body() []byte { return g.wire[flvTagHeaderLen : len(g.wire)-flvPrevSizeLen] }

func TestFLVGoldenDecode(t *testing.T) {
	for _, g := range flvGoldenTable {
		in := append(g.wire[:len(g.wire):len(g.wire)], 0xEE) // a trailing byte must come back as rest
		if g.header != nil {
			h, rest, err := DecodeFLVHeader(in)
			if err != nil || h != *g.header || !bytes.Equal(rest, []byte{0xEE}) {
				t.Errorf("%s: DecodeFLVHeader = %+v, rest %x, %v; want %+v", g.name, h, rest, err, *g.header)
			}
			continue
		}
		tag, rest, err := DecodeFLVTag(in)
		if err != nil {
			t.Errorf("%s: DecodeFLVTag: %v (the body is %d bytes)", g.name, err, len(g.wire)-15)
			continue
		}
		if tag.Type != g.typ || tag.Timestamp != g.ts || tag.StreamID != 0 || !bytes.Equal(tag.Data, g.body()) || !bytes.Equal(rest, []byte{0xEE}) {
			t.Errorf("%s: DecodeFLVTag = %v ts %d stream %d data %x rest %x", g.name, tag.Type, tag.Timestamp, tag.StreamID, tag.Data, rest)
		}
		if cap(tag.Data) != len(tag.Data) {
			t.Errorf("%s: Data has spare capacity %d: an append would overwrite the PreviousTagSize", g.name, cap(tag.Data))
		}
	}
}

func TestFLVGoldenEncode(t *testing.T) {
	prefix := []byte("prefix")
	for _, g := range flvGoldenTable {
		if g.decodeOnly {
			continue
		}
		var got []byte
		if g.header != nil {
			got = AppendFLVHeader(prefix[:len(prefix):len(prefix)], g.header.HasAudio, g.header.HasVideo)
		} else {
			got = AppendFLVTag(prefix[:len(prefix):len(prefix)], g.typ, g.ts, g.body())
		}
		if want := append(prefix[:len(prefix):len(prefix)], g.wire...); !bytes.Equal(got, want) {
			t.Errorf("%s: encoded\n%x\nwant\n%x", g.name, got, want)
		}
	}
}

// TestFLVReaderGolden reads a file made of the golden header and every tag.
func TestFLVReaderGolden(t *testing.T) {
	file := append([]byte(nil), flvRow(t, "header audio+video").wire...)
	tags := flvGoldenTags()
	for _, g := range tags {
		file = append(file, g.wire...)
	}
	r := NewFLVReader(bytes.NewReader(file), 1<<10)
	if h, err := r.ReadHeader(); err != nil || h != *flvRow(t, "header audio+video").header {
		t.Fatalf("ReadHeader = %+v, %v", h, err)
	}
	for _, g := range tags {
		tag, err := r.ReadTag()
		if err != nil || tag.Type != g.typ || tag.Timestamp != g.ts || !bytes.Equal(tag.Data, g.body()) {
			t.Fatalf("%s: ReadTag = %v %d %x, %v", g.name, tag.Type, tag.Timestamp, tag.Data, err)
		}
	}
	if _, err := r.ReadTag(); err != io.EOF {
		t.Fatalf("ReadTag at the end = %v, want io.EOF", err)
	}
}

func TestFLVReaderHeaderDataOffset(t *testing.T) {
	g := flvRow(t, "header with DataOffset 12")
	r := NewFLVReader(bytes.NewReader(append(g.wire[:len(g.wire):len(g.wire)], flvRow(t, "script onMetaData").wire...)), 0)
	if h, err := r.ReadHeader(); err != nil || h != *g.header {
		t.Fatalf("ReadHeader = %+v, %v; want %+v", h, err, *g.header)
	}
	if tag, err := r.ReadTag(); err != nil || tag.Type != TagScript {
		t.Fatalf("ReadTag after the long header = %v, %v", tag.Type, err)
	}
}

// flvCountingReader counts the bytes read through it.
type flvCountingReader struct {
	r io.Reader
	n int
}

func (c *flvCountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestFLVReaderLimit(t *testing.T) {
	g := flvRow(t, "script onMetaData") // a 40-byte script tag
	cr := &flvCountingReader{r: bytes.NewReader(g.wire)}
	_, err := NewFLVReader(cr, 39).ReadTag()
	if !errors.Is(err, ErrFLVTagTooLarge) {
		t.Fatalf("ReadTag of a 40-byte tag with limit 39 = %v, want ErrFLVTagTooLarge", err)
	}
	if cr.n != flvTagHeaderLen {
		t.Fatalf("read %d bytes, want only the %d-byte tag header", cr.n, flvTagHeaderLen)
	}
	if _, err := NewFLVReader(bytes.NewReader(g.wire), 40).ReadTag(); err != nil {
		t.Fatalf("ReadTag with limit 40 = %v", err)
	}
	// A header that claims DataOffset 0xFFFFFFFF is refused before skipping.
	hdr := wire("FLV", 1, 5, 0xff, 0xff, 0xff, 0xff)
	if _, err := NewFLVReader(bytes.NewReader(hdr), 1<<10).ReadHeader(); !errors.Is(err, ErrFLVTagTooLarge) {
		t.Fatalf("ReadHeader with DataOffset 0xFFFFFFFF = %v, want ErrFLVTagTooLarge", err)
	}
}

func TestFLVReaderTruncated(t *testing.T) {
	g := flvRow(t, "script onMetaData")
	for n := 1; n < len(g.wire); n++ {
		_, err := NewFLVReader(bytes.NewReader(g.wire[:n]), 0).ReadTag()
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("ReadTag of %d of %d bytes = %v, want io.ErrUnexpectedEOF", n, len(g.wire), err)
		}
	}
	h := flvRow(t, "header audio+video").wire
	for n := 1; n < len(h); n++ {
		_, err := NewFLVReader(bytes.NewReader(h[:n]), 0).ReadHeader()
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("ReadHeader of %d of %d bytes = %v, want io.ErrUnexpectedEOF", n, len(h), err)
		}
	}
}

// flvDecodeErrors are malformed FLV headers (header true) and tags.
var flvDecodeErrors = []struct {
	name   string
	header bool
	wire   []byte
}{
	{"header: short", true, wire("FLV", 1, 5, 0, 0, 0)},
	{"header: bad signature", true, wire("FLX", 1, 5, 0, 0, 0, 9, 0, 0, 0, 0)},
	{"header: DataOffset 8", true, wire("FLV", 1, 5, 0, 0, 0, 8, 0, 0, 0, 0)},
	{"header: no PreviousTagSize0", true, wire("FLV", 1, 5, 0, 0, 0, 9, 0, 0, 0)},
	{"header: DataOffset past the end", true, wire("FLV", 1, 5, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)},
	{"header: PreviousTagSize0 not 0", true, wire("FLV", 1, 5, 0, 0, 0, 9, 0, 0, 0, 1)},
	{"tag: short header", false, wire(9, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
	{"tag: no PreviousTagSize", false, wire(9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0)},
	{"tag: DataSize past the end", false, wire(9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 12)},
	{"tag: PreviousTagSize 11 + DataSize - 1", false, wire(9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 11)},
	{"tag: PreviousTagSize of the data only", false, wire(8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xaf, 0, 0, 0, 1)},
	{"tag: Filter bit (encrypted)", false, wire(0x29, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 12)},
	{"tag: reserved bits", false, wire(0x89, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 12)},
}

func TestDecodeFLVErrors(t *testing.T) {
	for _, c := range flvDecodeErrors {
		var err error
		var rest []byte
		if c.header {
			_, rest, err = DecodeFLVHeader(c.wire)
		} else {
			_, rest, err = DecodeFLVTag(c.wire)
		}
		var fe FLVError
		if !errors.As(err, &fe) || len(rest) != len(c.wire) {
			t.Errorf("%s: err %v (%T), rest %d of %d bytes; want an FLVError and all input back", c.name, err, err, len(rest), len(c.wire))
		}
		if !c.header && len(c.wire) >= flvTagHeaderLen {
			if _, err := NewFLVReader(bytes.NewReader(c.wire), 0).ReadTag(); err == nil {
				t.Errorf("%s: FLVReader accepted it", c.name)
			}
		}
	}
}

// Every strict prefix of a golden tag is an FLVError, never a short tag.
func TestDecodeFLVTagTruncated(t *testing.T) {
	for _, g := range flvGoldenTags() {
		for n := range len(g.wire) {
			var fe FLVError
			if _, _, err := DecodeFLVTag(g.wire[:n]); !errors.As(err, &fe) {
				t.Fatalf("%s: %d of %d bytes: err %v, want an FLVError", g.name, n, len(g.wire), err)
			}
		}
	}
}

func TestFLVTimestampExtended(t *testing.T) {
	for _, ts := range []uint32{0, 0xFFFFFF, 0x1000000, 0x12345678, 0xFFFFFFFF} {
		b := AppendFLVTag(nil, TagAudio, ts, []byte{0xaf, 1})
		// Timestamp UI24 (lower 24 bits) at bytes 4-6, TimestampExtended at byte 7.
		want := []byte{byte(ts >> 16), byte(ts >> 8), byte(ts), byte(ts >> 24)}
		if !bytes.Equal(b[4:8], want) {
			t.Errorf("ts %#x: timestamp bytes %x, want %x", ts, b[4:8], want)
		}
		if tag, _, err := DecodeFLVTag(b); err != nil || tag.Timestamp != ts {
			t.Errorf("ts %#x: decoded %#x, %v", ts, tag.Timestamp, err)
		}
	}
}

func TestAppendFLVTagTooLarge(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("AppendFLVTag of 16 MiB did not panic")
		}
	}()
	AppendFLVTag(nil, TagVideo, 0, make([]byte, 1<<24))
}

// flvCheckInfo checks what must hold for any ClassifyTag result.
func flvCheckInfo(t *testing.T, typ TagType, data []byte, info TagInfo, err error) {
	t.Helper()
	var fe FLVError
	switch {
	case err != nil && !errors.As(err, &fe):
		t.Fatalf("error %v is a %T, not an FLVError", err, err)
	case err != nil && !flvInfoEqual(info, TagInfo{}):
		t.Fatalf("error %v with a non-zero TagInfo %+v", err, info)
	case info.Flags&(FlagSeqHeader|FlagKeyframe) == FlagSeqHeader|FlagKeyframe:
		t.Fatalf("a sequence header that is also a keyframe: %v", info.Flags)
	case typ != TagVideo && info.Flags&(FlagKeyframe|FlagCommand) != 0:
		t.Fatalf("%v tag with video flags %v", typ, info.Flags)
	case info.Codec != CodecUnknown && info.Codec.IsVideo() != (typ == TagVideo):
		t.Fatalf("%v tag classified as %v", typ, info.Codec)
	case (info.Config != nil) != (info.Flags&FlagSeqHeader != 0):
		t.Fatalf("Config %x with flags %v", info.Config, info.Flags)
	case info.Config != nil && !flvIsSubslice(info.Config, data):
		t.Fatalf("Config %x is not a sub-slice of the data", info.Config)
	}
}

// flvIsSubslice reports whether sub lies within b, with no spare capacity
// (an append to Config must not overwrite the data after it).
func flvIsSubslice(sub, b []byte) bool {
	if len(sub) == 0 {
		return cap(sub) == 0
	}
	if cap(sub) != len(sub) {
		return false
	}
	for i := 0; i+len(sub) <= len(b); i++ {
		if &b[i] == &sub[0] {
			return true
		}
	}
	return false
}

func flvInfoEqual(a, b TagInfo) bool {
	return a.Flags == b.Flags && a.Codec == b.Codec && a.FourCC == b.FourCC && a.Track == b.Track &&
		a.Tracks == b.Tracks && a.CTS == b.CTS && bytes.Equal(a.Config, b.Config) && (a.Config == nil) == (b.Config == nil)
}

func TestClassifyTagGolden(t *testing.T) {
	for _, g := range flvGoldenTags() {
		info, err := ClassifyTag(g.typ, g.body())
		if err != nil || !flvInfoEqual(info, g.info) {
			t.Errorf("%s: ClassifyTag =\n%+v, %v; want\n%+v", g.name, info, err, g.info)
			continue
		}
		flvCheckInfo(t, g.typ, g.body(), info, err)
	}
}

// flvClassifyErrors are tag bodies ClassifyTag must reject.
var flvClassifyErrors = []struct {
	name string
	typ  TagType
	body []byte
}{
	{"video: empty", TagVideo, nil},
	{"AVC: no CompositionTime", TagVideo, wire(0x17, 0x01, 0x00, 0x00)},
	{"AVC: no AVCPacketType", TagVideo, wire(0x17)},
	{"AVC: reserved AVCPacketType 3", TagVideo, wire(0x17, 0x03, 0, 0, 0)},
	{"AVC NALU: reserved FrameType 0", TagVideo, wire(0x07, 0x01, 0, 0, 0)},
	{"legacy: reserved CodecID 0", TagVideo, wire(0x10, 0)},
	{"legacy: reserved CodecID 13", TagVideo, wire(0x1d, 0, 0, 0, 0)},
	{"H.263: reserved FrameType 6", TagVideo, wire(0x62, 0)},
	{"AAC: no AACPacketType", TagAudio, wire(0xaf)},
	{"AAC: reserved AACPacketType 2", TagAudio, wire(0xaf, 0x02)},
	{"audio: reserved SoundFormat 12", TagAudio, wire(0xc0, 0x00)},
	{"Ex video: no FourCC", TagVideo, wire(0x90, 'a', 'v')},
	{"Ex video: reserved VideoPacketType 8", TagVideo, wire(0x98, "av01")},
	{"Ex video: reserved VideoPacketType 15", TagVideo, wire(0x9f, "av01")},
	{"Ex video: CodedFrames with reserved FrameType 0", TagVideo, wire(0x81, "av01", 0)},
	{"Ex video: CodedFrames with reserved FrameType 7", TagVideo, wire(0xf1, "av01", 0)},
	{"Ex video: command frame without VideoCommand", TagVideo, wire(0xd0)},
	{"Ex video: avc1 CodedFrames without CompositionTime", TagVideo, wire(0x91, "avc1", 0, 0)},
	{"Ex video: hvc1 CodedFrames without CompositionTime", TagVideo, wire(0x91, "hvc1")},
	{"ModEx: no modExDataSize", TagVideo, wire(0x97)},
	{"ModEx: short modExData", TagVideo, wire(0x97, 0x05, 0, 0)},
	{"ModEx: short UI16 modExDataSize", TagVideo, wire(0x97, 0xff, 0x00)},
	{"ModEx: UI16 size past the end", TagVideo, wire(0x97, 0xff, 0x01, 0x00, 0, 0, 0, 0x01, "av01")},
	{"ModEx: no packet type after the data", TagVideo, wire(0x97, 0x00, 0x00)},
	{"ModEx: then a reserved packet type", TagVideo, wire(0x97, 0x00, 0x00, 0x0c, "av01")},
	{"Multitrack: no AvMultitrackType", TagVideo, wire(0x96)},
	{"Multitrack: reserved AvMultitrackType 3", TagVideo, wire(0x96, 0x31, "av01", 0, 0, 0, 1, 0)},
	{"Multitrack: Multitrack inside", TagVideo, wire(0x96, 0x06, "av01", 0, 0)},
	{"Multitrack: ModEx inside", TagVideo, wire(0x96, 0x07, "av01", 0, 0)},
	{"Multitrack OneTrack: no trackId", TagVideo, wire(0x96, 0x01, "av01")},
	{"Multitrack ManyTracks: no tracks", TagVideo, wire(0x96, 0x11, "av01")},
	{"Multitrack ManyTracks: short sizeOfVideoTrack", TagVideo, wire(0x96, 0x11, "av01", 0x00, 0x00, 0x00)},
	{"Multitrack ManyTracks: track past the end", TagVideo, wire(0x96, 0x11, "av01", 0x00, 0x00, 0x00, 0x10, 0xaa)},
	{"Multitrack ManyTracks: second track past the end", TagVideo, wire(0x96, 0x10, "av01", 0x00, 0x00, 0x00, 0x01, 0xaa, 0x01, 0x00, 0x00, 0x05, 0xbb)},
	{"Multitrack ManyTracksManyCodecs: short FourCC", TagVideo, wire(0x96, 0x20, 'a', 'v')},
	{"Multitrack ManyTracksManyCodecs: avc1 without CTS", TagVideo, wire(0x96, 0x21, "avc1", 0x00, 0x00, 0x00, 0x01, 0x00)},
	{"Ex audio: no FourCC", TagAudio, wire(0x90, 'O', 'p')},
	{"Ex audio: reserved AudioPacketType 3", TagAudio, wire(0x93, "Opus")},
	{"Ex audio: reserved AudioPacketType 6", TagAudio, wire(0x96, "Opus")},
	{"Ex audio: Multitrack inside", TagAudio, wire(0x95, 0x05, "Opus", 0, 0)},
	{"Ex audio: ModEx short", TagAudio, wire(0x97, 0x03, 0x00)},
	{"Ex audio Multitrack ManyTracks: track past the end", TagAudio, wire(0x95, 0x11, "Opus", 0x00, 0x00, 0x00, 0x09, 0xfc)},
}

func TestClassifyTagErrors(t *testing.T) {
	for _, c := range flvClassifyErrors {
		info, err := ClassifyTag(c.typ, c.body)
		if err == nil {
			t.Errorf("%s: ClassifyTag(% x) = %+v, want an error", c.name, c.body, info)
			continue
		}
		flvCheckInfo(t, c.typ, c.body, info, err)
	}
}

// Every strict prefix of a golden Ex tag body is an error or a valid, less
// specific reading; never a panic, never a sub-slice out of range.
func TestClassifyTagPrefixes(t *testing.T) {
	for _, g := range flvGoldenTags() {
		body := g.body()
		for n := range len(body) {
			info, err := ClassifyTag(g.typ, body[:n:n])
			flvCheckInfo(t, g.typ, body[:n], info, err)
		}
	}
}

func TestClassifyTagOtherTypes(t *testing.T) {
	for _, typ := range []TagType{TagScript, 0, 15, 20, 31} {
		if info, err := ClassifyTag(typ, []byte{0x17, 0x00, 0, 0, 0}); err != nil || !flvInfoEqual(info, TagInfo{}) {
			t.Errorf("ClassifyTag(%v) = %+v, %v; want the zero TagInfo", typ, info, err)
		}
	}
}

func TestFLVNoAllocs(t *testing.T) {
	dst := make([]byte, 0, 4096)
	body := flvRow(t, "AVC keyframe").body()
	if n := testing.AllocsPerRun(100, func() { dst = AppendFLVTag(dst[:0], TagVideo, 40, body) }); n != 0 {
		t.Errorf("AppendFLVTag into a reused buffer: %v allocations, want 0", n)
	}
	for _, g := range flvGoldenTags() {
		if n := testing.AllocsPerRun(20, func() { ClassifyTag(g.typ, g.body()) }); n != 0 {
			t.Errorf("%s: ClassifyTag: %v allocations, want 0", g.name, n)
		}
	}
}

func TestFLVStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{TagAudio.String(), "audio"}, {TagVideo.String(), "video"}, {TagScript.String(), "script"},
		{TagType(7).String(), "TagType(7)"},
		{PacketFlags(0).String(), "none"},
		{(FlagSeqHeader | FlagMultitrack).String(), "SeqHeader|Multitrack"},
		{(FlagKeyframe | FlagSeqEnd | FlagConfig | FlagCommand).String(), "Keyframe|SeqEnd|Config|Command"},
		{PacketFlags(0x81).String(), "SeqHeader|0x80"},
		{CodecH264.String(), "H264"}, {CodecHEVC.String(), "HEVC"}, {CodecAV1.String(), "AV1"},
		{CodecVP9.String(), "VP9"}, {CodecVP8.String(), "VP8"}, {CodecAAC.String(), "AAC"},
		{CodecMP3.String(), "MP3"}, {CodecOpus.String(), "Opus"}, {CodecFLAC.String(), "FLAC"},
		{CodecAC3.String(), "AC3"}, {CodecEAC3.String(), "EAC3"}, {CodecPCM.String(), "PCM"},
		{CodecSpeex.String(), "Speex"}, {CodecNellymoser.String(), "Nellymoser"},
		{CodecG711A.String(), "G711A"}, {CodecG711U.String(), "G711U"}, {CodecUnknown.String(), "Unknown"},
		{Codec(200).String(), "Codec(200)"},
		{videoFrameType(5).String(), "Command"}, {videoFrameType(0).String(), "VideoFrameType(0)"},
		{videoPacketType(5).String(), "MPEG2TSSequenceStart"}, {videoPacketType(9).String(), "VideoPacketType(9)"},
		{audioPacketType(4).String(), "MultichannelConfig"}, {audioPacketType(3).String(), "AudioPacketType(3)"},
		{avMultitrackType(2).String(), "ManyTracksManyCodecs"}, {avMultitrackType(3).String(), "AvMultitrackType(3)"},
	} {
		if c.got != c.want {
			t.Errorf("String() = %q, want %q", c.got, c.want)
		}
	}
	seen := map[string]bool{}
	for c := range Codec(len(codecNames)) {
		s := c.String()
		if s == "" || strings.HasPrefix(s, "Codec(") || seen[s] {
			t.Errorf("Codec %d: name %q missing or repeated", c, s)
		}
		seen[s] = true
	}
}

func TestCodecIsVideo(t *testing.T) {
	video := map[Codec]bool{CodecH264: true, CodecHEVC: true, CodecAV1: true, CodecVP9: true, CodecVP8: true,
		CodecVVC: true, CodecH263: true, CodecScreen: true, CodecVP6: true}
	for c := range Codec(len(codecNames) + 1) {
		if c.IsVideo() != video[c] {
			t.Errorf("%v.IsVideo() = %v", c, c.IsVideo())
		}
	}
}

// FuzzFLVTag: DecodeFLVTag and ClassifyTag never panic; a decoded tag
// encodes back to the same bytes (StreamID 0) or an equal tag.
func FuzzFLVTag(f *testing.F) {
	for _, g := range flvGoldenTable {
		f.Add(g.wire)
	}
	for _, c := range flvDecodeErrors {
		f.Add(c.wire)
	}
	for _, c := range flvClassifyErrors {
		f.Add(AppendFLVTag(nil, c.typ, 0, c.body))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tag, rest, err := DecodeFLVTag(in)
		if err != nil {
			var fe FLVError
			if !errors.As(err, &fe) || len(rest) != len(in) {
				t.Fatalf("err %v (%T), rest %d of %d", err, err, len(rest), len(in))
			}
			return
		}
		info, cerr := ClassifyTag(tag.Type, tag.Data)
		flvCheckInfo(t, tag.Type, tag.Data, info, cerr)
		out := AppendFLVTag(nil, tag.Type, tag.Timestamp, tag.Data)
		if consumed := in[:len(in)-len(rest)]; tag.StreamID == 0 && !bytes.Equal(out, consumed) {
			t.Fatalf("re-encoded\n%x\nwant\n%x", out, consumed)
		}
		back, _, err := DecodeFLVTag(out)
		if err != nil || back.Type != tag.Type || back.Timestamp != tag.Timestamp || !bytes.Equal(back.Data, tag.Data) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, tag)
		}
	})
}

// FuzzClassifyTag: ClassifyTag never panics, never misfiles audio as video
// or the reverse, and hands out Config only as a sub-slice of the data.
func FuzzClassifyTag(f *testing.F) {
	for _, g := range flvGoldenTags() {
		f.Add(uint8(g.typ), g.body())
	}
	for _, c := range flvClassifyErrors {
		f.Add(uint8(c.typ), c.body)
	}
	for _, st := range eHeaderSteps { // enhanced_test.go: the test muxer's header forms
		f.Add(uint8(st.typ), st.body)
	}
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		info, err := ClassifyTag(TagType(typ), data)
		flvCheckInfo(t, TagType(typ), data, info, err)
	})
}

// BenchmarkAppendFLVTag measures the per-frame cost of wrapping a frame
// in an FLV tag (done once per frame, shared by every HTTP/WS-FLV player).
func BenchmarkAppendFLVTag(b *testing.B) {
	frame := make([]byte, 4096)
	dst := make([]byte, 0, flvTagHeaderLen+len(frame)+flvPrevSizeLen)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dst = AppendFLVTag(dst[:0], TagVideo, uint32(i*33), frame)
	}
}

// BenchmarkClassifyTag measures classifying a message at ingest.
func BenchmarkClassifyTag(b *testing.B) {
	rows := flvGoldenTags()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		g := &rows[i%len(rows)]
		ClassifyTag(g.typ, g.body())
	}
}

// flvRow is the flvGoldenTable row named name.
func flvRow(t testing.TB, name string) *flvGolden {
	t.Helper()
	return goldenRow(t, flvGoldenTable, func(r *flvGolden) string { return r.name }, name)
}
