// Codec configuration, read for the stats API: what a dashboard shows of a
// stream (codec, profile, size, frame rate, sample rate, channels), taken
// from the sequence headers themselves, so that a publisher that sends no
// onMetaData still shows its real picture size.
//
// Specifications, by parser:
//   - ISO/IEC 14496-15 5.3.3.1 AVCDecoderConfigurationRecord, and H.264
//     (ITU-T H.264 / ISO/IEC 14496-10) 7.3.2.1.1 seq_parameter_set_data,
//     E.1.1 vui_parameters (timing), 7.4.2.1.1 frame cropping, 9.1 Exp-Golomb
//   - ISO/IEC 14496-15 8.3.3.1 HEVCDecoderConfigurationRecord, and H.265
//     7.3.2.2 seq_parameter_set_rbsp, 7.3.3 profile_tier_level
//   - AV1 Codec ISO Media File Format Binding 2.3 AV1CodecConfigurationRecord,
//     and the AV1 Bitstream Specification 5.3 OBU syntax, 5.5 sequence header
//   - VP Codec ISO Media File Format Binding 2.2 VPCodecConfigurationRecord
//     (vpcC, version 1), VP9 Bitstream Specification 6.2 uncompressed header,
//     RFC 6386 9.1 (VP8 key frame header)
//   - ISO/IEC 14496-3 1.6.2.1 AudioSpecificConfig
//   - RFC 7845 5.1 Opus identification header (OpusHead)
//   - RFC 9639 8.1-8.2 FLAC "fLaC" signature and STREAMINFO
//   - ETSI TS 102 366 (ATSC A/52) 4.3 AC-3 syncinfo/bsi, E.1.2 E-AC-3 bsi
//
// Every parser is a pure function over bytes; none allocates more than the
// input it is given (an SPS is copied once to remove emulation prevention)
// and every length read from the data is checked against what is left.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sentinel errors, wrapped in a *CodecError.
var (
	// ErrCodecTruncated: the data ends inside a field.
	ErrCodecTruncated = errors.New("truncated")
	// ErrCodecUnsupported: a valid but unsupported version or variant.
	ErrCodecUnsupported = errors.New("unsupported")
)

// CodecError reports a configuration record or frame header that cannot
// be read. Err is ErrCodecTruncated, ErrCodecUnsupported or nil.
type CodecError struct {
	What   string // e.g. "h264 sps"
	Reason string
	Err    error
}

func (e *CodecError) Error() string {
	if e.Err != nil && e.Reason == "" {
		return "codec: " + e.What + ": " + e.Err.Error()
	}
	return "codec: " + e.What + ": " + e.Reason
}

func (e *CodecError) Unwrap() error { return e.Err }

func codecErr(what, format string, args ...any) error {
	return &CodecError{What: what, Reason: fmt.Sprintf(format, args...)}
}

func truncated(what string) error { return &CodecError{What: what, Err: ErrCodecTruncated} }

// Limits on values read from the data (far above anything real).
const (
	maxPictureDim   = 1 << 16 // width or height in pixels
	maxRefCycle     = 255     // num_ref_frames_in_pic_order_cnt_cycle (7.4.2.1.1)
	maxExpGolombLen = 31      // leading zeros of a ue(v) that fits 32 bits
)

// VideoParams is what the stats API shows of a video stream.
type VideoParams struct {
	Codec         Codec
	Profile       string  // "High", "Main 10", "Main" (AV1), "0" (VP9)...
	Level         string  // "3.0", "4.1"; "" when not signalled
	Width, Height int     // the displayed size (cropping applied); 0 if unknown
	FrameRate     float64 // from the bitstream's timing info; 0 if not signalled
	BitDepth      int     // luma bit depth; 0 if unknown
}

// AudioParams is what the stats API shows of an audio stream.
type AudioParams struct {
	Codec      Codec
	Profile    string // "LC", "HE-AAC", ...; "" when the codec has none
	ObjectType int    // AAC audioObjectType; 0 for other codecs
	SampleRate int    // output sample rate in Hz
	Channels   int    // 0 if not signalled (e.g. an AAC program_config_element)
}

// ---------------------------------------------------------------------------
// A bit reader (most significant bit first), for the bit-packed syntax of
// all the specifications above. Reading past the end returns zeros and
// records ErrCodecTruncated; callers check err once per structure.

type bitReader struct {
	b   []byte
	pos int // bit position
	err bool
}

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

// u reads an n-bit unsigned value, n <= 32 (the specs' u(n) and f(n)).
func (r *bitReader) u(n int) uint32 {
	if n > r.left() {
		r.err, r.pos = true, len(r.b)*8
		return 0
	}
	var v uint32
	for i := 0; i < n; i++ {
		v = v<<1 | uint32(r.b[r.pos>>3]>>(7-r.pos&7))&1
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.u(1) == 1 }

func (r *bitReader) skip(n int) {
	if n > r.left() {
		r.err, r.pos = true, len(r.b)*8
		return
	}
	r.pos += n
}

// ue reads an unsigned Exp-Golomb code (H.264 9.1): leadingZeroBits zeros,
// a one, then leadingZeroBits bits.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for !r.err && r.u(1) == 0 {
		if zeros++; zeros > maxExpGolombLen {
			r.err = true
			return 0
		}
	}
	return uint32(uint64(1)<<zeros - 1 + uint64(r.u(zeros)))
}

// se reads a signed Exp-Golomb code (H.264 9.1.1): 1, -1, 2, -2, ...
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

// uvlc reads AV1's variable length code (AV1 4.10.3).
func (r *bitReader) uvlc() uint32 {
	zeros := 0
	for !r.err && r.u(1) == 0 {
		if zeros++; zeros >= 32 {
			r.err = true
			return 0
		}
	}
	return uint32(uint64(1)<<zeros - 1 + uint64(r.u(zeros)))
}

// ---------------------------------------------------------------------------
// H.264

// unescapeRBSP removes emulation_prevention_three_byte (H.264 7.4.1: the
// 0x03 in 0x000003) from a NAL unit's payload.
func unescapeRBSP(nal []byte) []byte {
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// ParseAVCConfig reads an AVCDecoderConfigurationRecord (14496-15 5.3.3.1)
// and the first SPS in it.
func ParseAVCConfig(b []byte) (VideoParams, error) {
	const what = "avcC"
	if len(b) < 6 {
		return VideoParams{}, truncated(what)
	}
	// configurationVersion UI8 = 1
	if b[0] != 1 {
		return VideoParams{}, &CodecError{What: what, Reason: fmt.Sprintf("configurationVersion %d", b[0]), Err: ErrCodecUnsupported}
	}
	// AVCProfileIndication, profile_compatibility, AVCLevelIndication UI8;
	// reserved '111111'b, lengthSizeMinusOne UB[2]
	// reserved '111'b, numOfSequenceParameterSets UB[5]
	if b[5]&0x1f == 0 {
		return VideoParams{}, codecErr(what, "no sequence parameter set")
	}
	// sequenceParameterSetLength UI16, then the SPS NAL unit
	rest := b[6:]
	if len(rest) < 2 {
		return VideoParams{}, truncated(what)
	}
	n := int(binary.BigEndian.Uint16(rest))
	if n > len(rest)-2 {
		return VideoParams{}, codecErr(what, "SPS length %d, %d bytes left", n, len(rest)-2)
	}
	return ParseH264SPS(rest[2 : 2+n])
}

// h264HighProfiles are the profile_idc values whose SPS carries
// chroma_format_idc and the bit depths (7.3.2.1.1).
func h264HighProfile(p uint32) bool {
	switch p {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// h264SPS holds the fields of seq_parameter_set_data the size needs.
type h264SPS struct {
	profile, constraints, level uint32
	chromaFormat                uint32 // chroma_format_idc, 1 (4:2:0) when absent
	separateColourPlane         bool
	bitDepth                    int
	widthMbs, heightMapUnits    uint32
	frameMbsOnly                bool
	crop                        [4]uint32 // left, right, top, bottom
	frameRate                   float64
}

// ParseH264SPS reads an SPS NAL unit (with its one-byte NAL header).
func ParseH264SPS(nal []byte) (VideoParams, error) {
	const what = "h264 sps"
	// forbidden_zero_bit f(1), nal_ref_idc u(2), nal_unit_type u(5) = 7
	if len(nal) < 4 {
		return VideoParams{}, truncated(what)
	}
	if nal[0]&0x1f != 7 {
		return VideoParams{}, codecErr(what, "nal_unit_type %d, want 7", nal[0]&0x1f)
	}
	r := &bitReader{b: unescapeRBSP(nal[1:])}
	var s h264SPS
	s.profile = r.u(8)     // profile_idc
	s.constraints = r.u(8) // constraint_set0..5_flag, reserved_zero_2bits
	s.level = r.u(8)       // level_idc
	r.ue()                 // seq_parameter_set_id
	s.chromaFormat, s.bitDepth = 1, 8
	if h264HighProfile(s.profile) {
		if err := s.readChroma(r); err != nil {
			return VideoParams{}, err
		}
	}
	if err := s.readFrameSize(r); err != nil {
		return VideoParams{}, err
	}
	if r.flag() { // vui_parameters_present_flag
		s.frameRate = h264VUIFrameRate(r)
	}
	if r.err {
		return VideoParams{}, truncated(what)
	}
	return s.params()
}

// readChroma reads the high-profile part of the SPS: chroma format, bit
// depths and the scaling matrices (skipped).
func (s *h264SPS) readChroma(r *bitReader) error {
	s.chromaFormat = r.ue() // chroma_format_idc
	if s.chromaFormat > 3 {
		return codecErr("h264 sps", "chroma_format_idc %d", s.chromaFormat)
	}
	if s.chromaFormat == 3 {
		s.separateColourPlane = r.flag() // separate_colour_plane_flag
	}
	s.bitDepth = 8 + int(min(r.ue(), 8)) // bit_depth_luma_minus8
	r.ue()                               // bit_depth_chroma_minus8
	r.flag()                             // qpprime_y_zero_transform_bypass_flag
	if r.flag() {                        // seq_scaling_matrix_present_flag
		lists := 8
		if s.chromaFormat == 3 {
			lists = 12
		}
		for i := 0; i < lists && !r.err; i++ {
			if !r.flag() { // seq_scaling_list_present_flag[i]
				continue
			}
			size := 64 // 8x8 lists
			if i < 6 {
				size = 16 // 4x4 lists
			}
			skipScalingList(r, size)
		}
	}
	return nil
}

// skipScalingList reads scaling_list() (7.3.2.1.1.1) without keeping it.
func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for j := 0; j < size && !r.err; j++ {
		if next != 0 {
			next = (last + r.se() + 256) % 256 // delta_scale
		}
		if next != 0 {
			last = next
		}
	}
}

// readFrameSize reads from log2_max_frame_num_minus4 to the cropping.
func (s *h264SPS) readFrameSize(r *bitReader) error {
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.flag() // delta_pic_order_always_zero_flag
		r.se()   // offset_for_non_ref_pic
		r.se()   // offset_for_top_to_bottom_field
		n := r.ue()
		if n > maxRefCycle { // num_ref_frames_in_pic_order_cnt_cycle
			return codecErr("h264 sps", "num_ref_frames_in_pic_order_cnt_cycle %d", n)
		}
		for i := uint32(0); i < n && !r.err; i++ {
			r.se() // offset_for_ref_frame[i]
		}
	}
	r.ue()                                          // max_num_ref_frames
	r.flag()                                        // gaps_in_frame_num_value_allowed_flag
	s.widthMbs = r.ue() + 1                         // pic_width_in_mbs_minus1
	s.heightMapUnits = r.ue() + 1                   // pic_height_in_map_units_minus1
	if s.frameMbsOnly = r.flag(); !s.frameMbsOnly { // frame_mbs_only_flag
		r.flag() // mb_adaptive_frame_field_flag
	}
	r.flag()      // direct_8x8_inference_flag
	if r.flag() { // frame_cropping_flag
		for i := range s.crop {
			s.crop[i] = r.ue() // frame_crop_left/right/top/bottom_offset
		}
	}
	return nil
}

// h264VUIFrameRate reads vui_parameters (E.1.1) up to the timing info and
// returns time_scale / (2 * num_units_in_tick), or 0.
func h264VUIFrameRate(r *bitReader) float64 {
	if r.flag() { // aspect_ratio_info_present_flag
		if r.u(8) == 255 { // aspect_ratio_idc == Extended_SAR
			r.skip(32) // sar_width u(16), sar_height u(16)
		}
	}
	if r.flag() { // overscan_info_present_flag
		r.flag() // overscan_appropriate_flag
	}
	if r.flag() { // video_signal_type_present_flag
		r.skip(4)     // video_format u(3), video_full_range_flag u(1)
		if r.flag() { // colour_description_present_flag
			r.skip(24) // colour_primaries, transfer_characteristics, matrix_coefficients
		}
	}
	if r.flag() { // chroma_loc_info_present_flag
		r.ue() // chroma_sample_loc_type_top_field
		r.ue() // chroma_sample_loc_type_bottom_field
	}
	if !r.flag() { // timing_info_present_flag
		return 0
	}
	tick := r.u(32)  // num_units_in_tick
	scale := r.u(32) // time_scale
	if r.err || tick == 0 {
		return 0
	}
	return float64(scale) / float64(2*uint64(tick))
}

// params applies the cropping of 7.4.2.1.1 (CropUnitX, CropUnitY).
func (s *h264SPS) params() (VideoParams, error) {
	const what = "h264 sps"
	fieldFactor := uint64(2)
	if s.frameMbsOnly {
		fieldFactor = 1
	}
	w := uint64(s.widthMbs) * 16
	h := fieldFactor * uint64(s.heightMapUnits) * 16
	unitX, unitY := uint64(1), fieldFactor // ChromaArrayType 0
	if !s.separateColourPlane && s.chromaFormat != 0 {
		subW, subH := uint64(2), uint64(2) // 4:2:0
		switch s.chromaFormat {
		case 2: // 4:2:2
			subH = 1
		case 3: // 4:4:4
			subW, subH = 1, 1
		}
		unitX, unitY = subW, subH*fieldFactor
	}
	cropW := unitX * (uint64(s.crop[0]) + uint64(s.crop[1]))
	cropH := unitY * (uint64(s.crop[2]) + uint64(s.crop[3]))
	if w > maxPictureDim || h > maxPictureDim || cropW >= w || cropH >= h {
		return VideoParams{}, codecErr(what, "bad size %dx%d cropped by %d, %d", w, h, cropW, cropH)
	}
	return VideoParams{Codec: CodecH264, Profile: h264ProfileName(s.profile, s.constraints),
		Level: h264LevelName(s.level, s.constraints), Width: int(w - cropW), Height: int(h - cropH),
		FrameRate: s.frameRate, BitDepth: s.bitDepth}, nil
}

// h264ProfileName names profile_idc (Annex A.2); constraint_set1 on
// Baseline means Constrained Baseline.
func h264ProfileName(p, constraints uint32) string {
	switch p {
	case 66:
		if constraints&0x40 != 0 {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4 Predictive"
	case 44:
		return "CAVLC 4:4:4 Intra"
	}
	return fmt.Sprint(p)
}

// h264LevelName formats level_idc (A.3): 30 is "3.0"; 11 with
// constraint_set3 in Baseline/Main/Extended is level 1b.
func h264LevelName(level, constraints uint32) string {
	if level == 11 && constraints&0x10 != 0 {
		return "1b"
	}
	return fmt.Sprintf("%d.%d", level/10, level%10)
}

// ---------------------------------------------------------------------------
// HEVC

const hevcNALSPS = 33 // nal_unit_type SPS_NUT (H.265 Table 7-1)

// ParseHEVCConfig reads an HEVCDecoderConfigurationRecord (14496-15
// 8.3.3.1) and the first SPS in its arrays.
func ParseHEVCConfig(b []byte) (VideoParams, error) {
	const what = "hvcC"
	// configurationVersion(8) general_profile_space(2) general_tier_flag(1)
	// general_profile_idc(5) general_profile_compatibility_flags(32)
	// general_constraint_indicator_flags(48) general_level_idc(8)
	// min_spatial_segmentation_idc(4+12) parallelismType(6+2)
	// chromaFormat(6+2) bitDepthLumaMinus8(5+3) bitDepthChromaMinus8(5+3)
	// avgFrameRate(16) constantFrameRate(2) numTemporalLayers(3)
	// temporalIdNested(1) lengthSizeMinusOne(2) numOfArrays(8): 23 bytes
	if len(b) < 23 {
		return VideoParams{}, truncated(what)
	}
	if b[0] != 1 {
		return VideoParams{}, &CodecError{What: what, Reason: fmt.Sprintf("configurationVersion %d", b[0]), Err: ErrCodecUnsupported}
	}
	avgFrameRate := binary.BigEndian.Uint16(b[19:21]) // frames per 256 s
	sps, err := hevcFindNAL(b[23:], int(b[22]), hevcNALSPS)
	if err != nil {
		return VideoParams{}, err
	}
	p, err := ParseHEVCSPS(sps)
	if err == nil && p.FrameRate == 0 && avgFrameRate != 0 {
		p.FrameRate = float64(avgFrameRate) / 256
	}
	return p, err
}

// hevcFindNAL returns the first NAL unit of type want in the record's arrays.
func hevcFindNAL(b []byte, arrays, want int) ([]byte, error) {
	const what = "hvcC"
	for i := 0; i < arrays; i++ {
		// array_completeness(1) reserved(1) NAL_unit_type(6), numNalus(16)
		if len(b) < 3 {
			return nil, truncated(what)
		}
		typ, count := int(b[0]&0x3f), int(binary.BigEndian.Uint16(b[1:3]))
		b = b[3:]
		for j := 0; j < count; j++ {
			// nalUnitLength(16), nalUnit
			if len(b) < 2 {
				return nil, truncated(what)
			}
			n := int(binary.BigEndian.Uint16(b))
			if n > len(b)-2 {
				return nil, codecErr(what, "NAL length %d, %d bytes left", n, len(b)-2)
			}
			if typ == want {
				return b[2 : 2+n], nil
			}
			b = b[2+n:]
		}
	}
	return nil, codecErr(what, "no NAL unit of type %d", want)
}

// ParseHEVCSPS reads an HEVC SPS NAL unit (with its two-byte NAL header)
// up to the conformance window and bit depth (H.265 7.3.2.2.1).
func ParseHEVCSPS(nal []byte) (VideoParams, error) {
	const what = "hevc sps"
	// forbidden_zero_bit(1) nal_unit_type(6) nuh_layer_id(6) nuh_temporal_id_plus1(3)
	if len(nal) < 3 {
		return VideoParams{}, truncated(what)
	}
	if t := nal[0] >> 1 & 0x3f; t != hevcNALSPS {
		return VideoParams{}, codecErr(what, "nal_unit_type %d, want %d", t, hevcNALSPS)
	}
	r := &bitReader{b: unescapeRBSP(nal[2:])}
	r.u(4)              // sps_video_parameter_set_id
	subLayers := r.u(3) // sps_max_sub_layers_minus1
	r.flag()            // sps_temporal_id_nesting_flag
	profile, level := hevcProfileTierLevel(r, int(subLayers))
	r.ue()           // sps_seq_parameter_set_id
	chroma := r.ue() // chroma_format_idc
	if chroma > 3 {
		return VideoParams{}, codecErr(what, "chroma_format_idc %d", chroma)
	}
	if chroma == 3 && r.flag() { // separate_colour_plane_flag
		chroma = 0 // ChromaArrayType 0: no chroma subsampling of the window
	}
	w, h := uint64(r.ue()), uint64(r.ue()) // pic_width/height_in_luma_samples
	var win [4]uint64
	if r.flag() { // conformance_window_flag
		for i := range win {
			win[i] = uint64(r.ue()) // conf_win_left/right/top/bottom_offset
		}
	}
	depth := 8 + int(min(r.ue(), 8)) // bit_depth_luma_minus8
	if r.err {
		return VideoParams{}, truncated(what)
	}
	subW, subH := uint64(1), uint64(1) // Table 6-1: SubWidthC, SubHeightC
	if chroma == 1 || chroma == 2 {
		subW = 2
	}
	if chroma == 1 {
		subH = 2
	}
	cropW, cropH := subW*(win[0]+win[1]), subH*(win[2]+win[3])
	if w > maxPictureDim || h > maxPictureDim || cropW >= w || cropH >= h {
		return VideoParams{}, codecErr(what, "bad size %dx%d cropped by %d, %d", w, h, cropW, cropH)
	}
	return VideoParams{Codec: CodecHEVC, Profile: hevcProfileName(profile), Level: hevcLevelName(level),
		Width: int(w - cropW), Height: int(h - cropH), BitDepth: depth}, nil
}

// hevcProfileTierLevel reads profile_tier_level(1, maxSubLayersMinus1)
// (7.3.3) and returns general_profile_idc and general_level_idc.
func hevcProfileTierLevel(r *bitReader, maxSubLayersMinus1 int) (profile, level uint32) {
	r.u(2)           // general_profile_space
	r.flag()         // general_tier_flag
	profile = r.u(5) // general_profile_idc
	r.skip(32)       // general_profile_compatibility_flag[32]
	r.skip(48)       // progressive/interlaced/non_packed/frame_only + 43 + 1 bits
	level = r.u(8)   // general_level_idc
	var profilePresent, levelPresent [8]bool
	for i := 0; i < maxSubLayersMinus1; i++ {
		profilePresent[i] = r.flag() // sub_layer_profile_present_flag[i]
		levelPresent[i] = r.flag()   // sub_layer_level_present_flag[i]
	}
	if maxSubLayersMinus1 > 0 {
		r.skip(2 * (8 - maxSubLayersMinus1)) // reserved_zero_2bits
	}
	for i := 0; i < maxSubLayersMinus1; i++ {
		if profilePresent[i] {
			r.skip(88) // sub_layer profile space .. reserved bits
		}
		if levelPresent[i] {
			r.skip(8) // sub_layer_level_idc[i]
		}
	}
	return profile, level
}

func hevcProfileName(p uint32) string {
	switch p {
	case 1:
		return "Main"
	case 2:
		return "Main 10"
	case 3:
		return "Main Still Picture"
	case 4:
		return "Range Extensions"
	}
	return fmt.Sprint(p)
}

// hevcLevelName: general_level_idc is 30 times the level number (A.4).
func hevcLevelName(l uint32) string { return fmt.Sprintf("%d.%d", l/30, l%30/3) }

// ---------------------------------------------------------------------------
// AV1

const av1OBUSequenceHeader = 1 // obu_type OBU_SEQUENCE_HEADER (AV1 6.2.2)

// ParseAV1Config reads an AV1CodecConfigurationRecord (av1C) and the
// sequence header OBU in its configOBUs, if there is one (without it the
// size stays 0: see AV1SequenceFromOBUs for a key frame's own header).
func ParseAV1Config(b []byte) (VideoParams, error) {
	const what = "av1C"
	if len(b) < 4 {
		return VideoParams{}, truncated(what)
	}
	// marker(1) = 1, version(7) = 1
	if b[0] != 0x81 {
		return VideoParams{}, &CodecError{What: what, Reason: fmt.Sprintf("marker/version 0x%02x", b[0]), Err: ErrCodecUnsupported}
	}
	r := &bitReader{b: b[1:4]}
	profile := r.u(3)  // seq_profile
	level := r.u(5)    // seq_level_idx_0
	r.flag()           // seq_tier_0
	high := r.flag()   // high_bitdepth
	twelve := r.flag() // twelve_bit
	// monochrome(1) chroma_subsampling_x(1) chroma_subsampling_y(1)
	// chroma_sample_position(2) reserved(3) initial_presentation_delay(1+4)
	p := VideoParams{Codec: CodecAV1, Profile: av1ProfileName(profile), Level: av1LevelName(level), BitDepth: 8}
	if high {
		p.BitDepth = 10
		if profile == 2 && twelve {
			p.BitDepth = 12
		}
	}
	seq, err := AV1SequenceFromOBUs(b[4:])
	if err == nil {
		p.Width, p.Height, p.FrameRate = seq.Width, seq.Height, seq.FrameRate
	} else if !errors.Is(err, errNoSequenceHeader) {
		return VideoParams{}, err
	}
	return p, nil
}

var errNoSequenceHeader = &CodecError{What: "av1", Reason: "no sequence header OBU"}

// AV1SequenceFromOBUs finds the sequence header among OBUs (a key
// frame's temporal unit, or av1C's configOBUs) and reads it.
func AV1SequenceFromOBUs(b []byte) (VideoParams, error) {
	for len(b) > 0 {
		typ, payload, rest, err := nextAV1OBU(b)
		if err != nil {
			return VideoParams{}, err
		}
		if typ == av1OBUSequenceHeader {
			return ParseAV1SequenceHeader(payload)
		}
		b = rest
	}
	return VideoParams{}, errNoSequenceHeader
}

// nextAV1OBU splits the first OBU (AV1 5.3.1) off b.
func nextAV1OBU(b []byte) (typ byte, payload, rest []byte, err error) {
	const what = "av1 obu"
	// obu_forbidden_bit(1) obu_type(4) obu_extension_flag(1)
	// obu_has_size_field(1) obu_reserved_1bit(1)
	h := b[0]
	if h&0x80 != 0 {
		return 0, nil, nil, codecErr(what, "forbidden bit set")
	}
	typ, b = h>>3&0x0f, b[1:]
	if h&0x04 != 0 { // obu_extension_header: temporal_id(3) spatial_id(2) reserved(3)
		if len(b) < 1 {
			return 0, nil, nil, truncated(what)
		}
		b = b[1:]
	}
	size := uint64(len(b))
	if h&0x02 != 0 { // obu_size leb128()
		if size, b, err = leb128(b); err != nil {
			return 0, nil, nil, err
		}
	}
	if size > uint64(len(b)) {
		return 0, nil, nil, codecErr(what, "obu_size %d, %d bytes left", size, len(b))
	}
	return typ, b[:size], b[size:], nil
}

// leb128 reads AV1's little-endian base-128 value (4.10.5): at most 8
// bytes, and the value must fit 32 bits.
func leb128(b []byte) (uint64, []byte, error) {
	var v uint64
	for i := 0; i < 8; i++ {
		if i >= len(b) {
			return 0, b, truncated("av1 leb128")
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if v > 1<<32-1 {
				return 0, b, codecErr("av1 leb128", "value %d above 2^32-1", v)
			}
			return v, b[i+1:], nil
		}
	}
	return 0, b, codecErr("av1 leb128", "more than 8 bytes")
}

// ParseAV1SequenceHeader reads sequence_header_obu() (AV1 5.5.1) up to
// max_frame_width/height.
func ParseAV1SequenceHeader(b []byte) (VideoParams, error) {
	const what = "av1 sequence header"
	r := &bitReader{b: b}
	p := VideoParams{Codec: CodecAV1}
	profile := r.u(3) // seq_profile
	p.Profile = av1ProfileName(profile)
	r.flag()      // still_picture
	if r.flag() { // reduced_still_picture_header
		p.Level = av1LevelName(r.u(5)) // seq_level_idx[0]
	} else {
		p.FrameRate, p.Level = av1OperatingPoints(r)
	}
	wBits := int(r.u(4)) + 1       // frame_width_bits_minus_1
	hBits := int(r.u(4)) + 1       // frame_height_bits_minus_1
	p.Width = int(r.u(wBits)) + 1  // max_frame_width_minus_1
	p.Height = int(r.u(hBits)) + 1 // max_frame_height_minus_1
	if r.err {
		return VideoParams{}, truncated(what)
	}
	return p, nil
}

// av1OperatingPoints reads from timing_info_present_flag to the end of
// the operating points loop; it returns the frame rate (0 unless timing
// info says equal_picture_interval) and the first point's level.
func av1OperatingPoints(r *bitReader) (fps float64, level string) {
	decoderModel, bufferDelayLen := false, 0
	if r.flag() { // timing_info_present_flag
		fps = av1TimingInfo(r)
		if decoderModel = r.flag(); decoderModel { // decoder_model_info_present_flag
			bufferDelayLen = int(r.u(5)) + 1 // buffer_delay_length_minus_1
			r.skip(32)                       // num_units_in_decoding_tick
			r.skip(10)                       // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
		}
	}
	initialDelay := r.flag()  // initial_display_delay_present_flag
	points := int(r.u(5)) + 1 // operating_points_cnt_minus_1
	for i := 0; i < points && !r.err; i++ {
		r.skip(12)    // operating_point_idc[i]
		idx := r.u(5) // seq_level_idx[i]
		if i == 0 {
			level = av1LevelName(idx)
		}
		if idx > 7 {
			r.flag() // seq_tier[i]
		}
		if decoderModel && r.flag() { // decoder_model_present_for_this_op[i]
			r.skip(2*bufferDelayLen + 1) // decoder/encoder_buffer_delay, low_delay_mode_flag
		}
		if initialDelay && r.flag() { // initial_display_delay_present_for_this_op[i]
			r.skip(4) // initial_display_delay_minus_1[i]
		}
	}
	return fps, level
}

// av1TimingInfo reads timing_info() (5.5.3).
func av1TimingInfo(r *bitReader) float64 {
	tick := r.u(32)  // num_units_in_display_tick
	scale := r.u(32) // time_scale
	if !r.flag() {   // equal_picture_interval
		return 0
	}
	ticks := uint64(r.uvlc()) + 1 // num_ticks_per_picture_minus_1
	if tick == 0 || r.err {
		return 0
	}
	return float64(scale) / float64(uint64(tick)*ticks)
}

func av1ProfileName(p uint32) string {
	switch p {
	case 0:
		return "Main"
	case 1:
		return "High"
	case 2:
		return "Professional"
	}
	return fmt.Sprint(p)
}

// av1LevelName: seq_level_idx is (X-2)*4 + Y for level X.Y (Annex A.3);
// 31 means no level constraint.
func av1LevelName(idx uint32) string {
	if idx == 31 {
		return "max"
	}
	return fmt.Sprintf("%d.%d", 2+idx>>2, idx&3)
}

// ---------------------------------------------------------------------------
// VP8 and VP9

// ParseVPCConfig reads a VPCodecConfigurationRecord as Enhanced RTMP and
// ISO-BMFF carry it: the vpcC FullBox payload, version 1. It has no size;
// see ParseVP9FrameSize and ParseVP8FrameSize for a key frame's.
func ParseVPCConfig(b []byte, codec Codec) (VideoParams, error) {
	const what = "vpcC"
	// version(8) = 1, flags(24), profile(8), level(8), bitDepth(4),
	// chromaSubsampling(3), videoFullRangeFlag(1), colourPrimaries(8),
	// transferCharacteristics(8), matrixCoefficients(8),
	// codecIntializationDataSize(16)
	if len(b) < 12 {
		return VideoParams{}, truncated(what)
	}
	if b[0] != 1 {
		return VideoParams{}, &CodecError{What: what, Reason: fmt.Sprintf("version %d", b[0]), Err: ErrCodecUnsupported}
	}
	p := VideoParams{Codec: codec, Profile: fmt.Sprint(b[4]), BitDepth: int(b[6] >> 4)}
	if b[5] != 0 {
		p.Level = fmt.Sprintf("%d.%d", b[5]/10, b[5]%10)
	}
	return p, nil
}

// ParseVP9FrameSize reads the frame size from a VP9 key frame's
// uncompressed header (VP9 6.2: frame_marker .. frame_size()).
func ParseVP9FrameSize(frame []byte) (width, height int, err error) {
	const what = "vp9 frame"
	r := &bitReader{b: frame}
	if r.u(2) != 2 { // frame_marker
		return 0, 0, codecErr(what, "bad frame_marker")
	}
	profile := r.u(1) | r.u(1)<<1 // profile_low_bit, profile_high_bit
	if profile == 3 {
		r.skip(1) // reserved_zero
	}
	if r.flag() { // show_existing_frame
		return 0, 0, codecErr(what, "show_existing_frame, no size")
	}
	if r.u(1) != 0 { // frame_type: 0 is KEY_FRAME
		return 0, 0, codecErr(what, "not a key frame")
	}
	r.skip(2)                // show_frame, error_resilient_mode
	if r.u(24) != 0x498342 { // frame_sync_code
		return 0, 0, codecErr(what, "bad frame_sync_code")
	}
	vp9SkipColorConfig(r, profile)
	width = int(r.u(16)) + 1  // frame_width_minus_1
	height = int(r.u(16)) + 1 // frame_height_minus_1
	if r.err {
		return 0, 0, truncated(what)
	}
	return width, height, nil
}

// vp9SkipColorConfig reads color_config() (6.2.2).
func vp9SkipColorConfig(r *bitReader, profile uint32) {
	if profile >= 2 {
		r.skip(1) // ten_or_twelve_bit
	}
	const csRGB = 7
	if r.u(3) != csRGB { // color_space
		r.skip(1) // color_range
		if profile == 1 || profile == 3 {
			r.skip(3) // subsampling_x, subsampling_y, reserved_zero
		}
	} else if profile == 1 || profile == 3 {
		r.skip(1) // reserved_zero
	}
}

// ParseVP8FrameSize reads a VP8 key frame's size (RFC 6386 9.1: the
// 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height).
func ParseVP8FrameSize(frame []byte) (width, height int, err error) {
	const what = "vp8 frame"
	if len(frame) < 10 {
		return 0, 0, truncated(what)
	}
	if frame[0]&1 != 0 { // key_frame: 0 means key frame
		return 0, 0, codecErr(what, "not a key frame")
	}
	if frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, codecErr(what, "bad start code")
	}
	width = int(binary.LittleEndian.Uint16(frame[6:]) & 0x3fff)  // horizontal_scale(2) width(14)
	height = int(binary.LittleEndian.Uint16(frame[8:]) & 0x3fff) // vertical_scale(2) height(14)
	return width, height, nil
}

// ---------------------------------------------------------------------------
// AAC

// aacSampleRates is samplingFrequencyIndex (14496-3 Table 1.18); 13 and
// 14 are reserved, 15 means an explicit 24-bit frequency follows.
var aacSampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// aacChannels is channelConfiguration (14496-3 Table 1.19): 0 means a
// program_config_element says it, 8-10 are reserved.
var aacChannels = [16]int{0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0}

// AAC audioObjectType values with a name (14496-3 Table 1.17).
const (
	aacObjectSBR = 5  // HE-AAC: spectral band replication
	aacObjectPS  = 29 // HE-AAC v2: parametric stereo
)

var aacObjectNames = map[int]string{1: "Main", 2: "LC", 3: "SSR", 4: "LTP", aacObjectSBR: "HE-AAC",
	6: "Scalable", 17: "ER AAC LC", 23: "LD", aacObjectPS: "HE-AACv2", 39: "ELD", 42: "xHE-AAC"}

// ParseAudioSpecificConfig reads AudioSpecificConfig (14496-3 1.6.2.1)
// up to the channel configuration and, for HE-AAC (explicit SBR/PS
// signalling), the extension sampling frequency, which is the output rate.
func ParseAudioSpecificConfig(b []byte) (AudioParams, error) {
	const what = "aac AudioSpecificConfig"
	r := &bitReader{b: b}
	p := AudioParams{Codec: CodecAAC}
	p.ObjectType = aacObjectType(r)  // audioObjectType
	p.SampleRate = aacSampleRate(r)  // samplingFrequencyIndex [samplingFrequency]
	p.Channels = aacChannels[r.u(4)] // channelConfiguration
	if p.ObjectType == aacObjectSBR || p.ObjectType == aacObjectPS {
		p.SampleRate = aacSampleRate(r) // extensionSamplingFrequencyIndex
		aacObjectType(r)                // audioObjectType of the core (usually LC)
	}
	if r.err {
		return AudioParams{}, truncated(what)
	}
	if p.ObjectType == 0 || p.SampleRate == 0 {
		return AudioParams{}, codecErr(what, "object type %d, sample rate %d", p.ObjectType, p.SampleRate)
	}
	p.Profile = aacObjectNames[p.ObjectType]
	return p, nil
}

// aacObjectType reads GetAudioObjectType() (1.6.2.1.1): 5 bits, 31
// escapes to 32 + 6 more bits.
func aacObjectType(r *bitReader) int {
	t := int(r.u(5))
	if t == 31 {
		t = 32 + int(r.u(6))
	}
	return t
}

// aacSampleRate reads samplingFrequencyIndex and, for index 15, the
// 24-bit samplingFrequency; a reserved index gives 0.
func aacSampleRate(r *bitReader) int {
	i := r.u(4)
	if i == 15 {
		return int(r.u(24))
	}
	if int(i) < len(aacSampleRates) {
		return aacSampleRates[i]
	}
	return 0
}

// ---------------------------------------------------------------------------
// Opus, FLAC, AC-3

// opusDecodeRate is the rate an Opus decoder outputs (RFC 7845 5.1: the
// header's input sample rate is informational only).
const opusDecodeRate = 48000

// ParseOpusHead reads the Opus identification header (RFC 7845 5.1).
func ParseOpusHead(b []byte) (AudioParams, error) {
	const what = "OpusHead"
	// Magic Signature "OpusHead"(64) Version(8) Output Channel Count(8)
	// Pre-skip(16 LE) Input Sample Rate(32 LE) Output Gain(16 LE)
	// Channel Mapping Family(8) [Optional Channel Mapping Table]
	if len(b) < 19 {
		return AudioParams{}, truncated(what)
	}
	if string(b[:8]) != "OpusHead" {
		return AudioParams{}, codecErr(what, "bad magic signature")
	}
	if b[8]>>4 != 0 { // major version 0; minor versions are compatible
		return AudioParams{}, &CodecError{What: what, Reason: fmt.Sprintf("version %d", b[8]), Err: ErrCodecUnsupported}
	}
	channels := int(b[9])
	if channels == 0 {
		return AudioParams{}, codecErr(what, "channel count 0")
	}
	if b[18] != 0 && len(b) < 21+channels { // Stream Count, Coupled Count, Channel Mapping
		return AudioParams{}, truncated(what)
	}
	return AudioParams{Codec: CodecOpus, SampleRate: opusDecodeRate, Channels: channels}, nil
}

const flacStreamInfoLen = 34 // STREAMINFO block length (RFC 9639 8.2)

// ParseFLACConfig reads the FLAC sequence header of Enhanced RTMP: the
// "fLaC" signature (optional here), then the STREAMINFO metadata block.
func ParseFLACConfig(b []byte) (AudioParams, error) {
	const what = "flac STREAMINFO"
	if len(b) >= 4 && string(b[:4]) == "fLaC" {
		b = b[4:]
	}
	// METADATA_BLOCK_HEADER: last-block flag(1), block type(7) = 0, length(24)
	if len(b) < 4+flacStreamInfoLen {
		return AudioParams{}, truncated(what)
	}
	if b[0]&0x7f != 0 {
		return AudioParams{}, codecErr(what, "first block type %d, want 0 (STREAMINFO)", b[0]&0x7f)
	}
	if n := int(b[1])<<16 | int(b[2])<<8 | int(b[3]); n < flacStreamInfoLen {
		return AudioParams{}, codecErr(what, "block length %d", n)
	}
	// min/max block size(16+16), min/max frame size(24+24), then
	// sample rate(20) channels-1(3) bits per sample-1(5) total samples(36) MD5(128)
	r := &bitReader{b: b[4+10 : 4+flacStreamInfoLen]}
	rate := int(r.u(20))
	channels := int(r.u(3)) + 1
	if rate == 0 {
		return AudioParams{}, codecErr(what, "sample rate 0")
	}
	return AudioParams{Codec: CodecFLAC, SampleRate: rate, Channels: channels}, nil
}

// ac3Channels is the channel count of acmod (A/52 Table 5.8), without LFE.
var ac3Channels = [8]int{2, 1, 2, 3, 3, 4, 4, 5}

// ac3SampleRates is fscod (A/52 5.4.1.3); E-AC-3's reduced rates are
// fscod2 (E.1.3.1.3).
var (
	ac3SampleRates  = [3]int{48000, 44100, 32000}
	eac3SampleRates = [3]int{24000, 22050, 16000}
)

// ParseAC3Frame reads the sample rate and channels of an AC-3 or E-AC-3
// syncframe (A/52 5.3 syncinfo and bsi, E.1.2 for E-AC-3, told apart by
// bsid: up to 10 is AC-3, 11-16 E-AC-3). For E-AC-3 only the first
// independent substream is read.
func ParseAC3Frame(b []byte) (AudioParams, error) {
	const what = "ac-3 frame"
	if len(b) < 7 {
		return AudioParams{}, truncated(what)
	}
	if b[0] != 0x0b || b[1] != 0x77 { // syncword
		return AudioParams{}, codecErr(what, "bad syncword")
	}
	bsid := b[5] >> 3
	switch {
	case bsid <= 10:
		return parseAC3BSI(b[2:])
	case bsid <= 16:
		return parseEAC3BSI(b[2:])
	}
	return AudioParams{}, &CodecError{What: what, Reason: fmt.Sprintf("bsid %d", bsid), Err: ErrCodecUnsupported}
}

func parseAC3BSI(b []byte) (AudioParams, error) {
	r := &bitReader{b: b}
	r.skip(16)        // crc1
	fscod := r.u(2)   // fscod
	r.skip(6 + 5 + 3) // frmsizecod, bsid, bsmod
	acmod := r.u(3)   // acmod
	if acmod&1 != 0 && acmod != 1 {
		r.skip(2) // cmixlev
	}
	if acmod&4 != 0 {
		r.skip(2) // surmixlev
	}
	if acmod == 2 {
		r.skip(2) // dsurmod
	}
	lfe := r.u(1) // lfeon
	if r.err {
		return AudioParams{}, truncated("ac-3 frame")
	}
	if fscod == 3 {
		return AudioParams{}, codecErr("ac-3 frame", "reserved fscod")
	}
	return AudioParams{Codec: CodecAC3, SampleRate: ac3SampleRates[fscod], Channels: ac3Channels[acmod] + int(lfe)}, nil
}

func parseEAC3BSI(b []byte) (AudioParams, error) {
	r := &bitReader{b: b}
	r.skip(2 + 3 + 11) // strmtyp, substreamid, frmsiz
	fscod := r.u(2)    // fscod
	rate2 := r.u(2)    // fscod2 when fscod is 3, else numblkscod
	acmod := r.u(3)    // acmod
	lfe := r.u(1)      // lfeon
	if r.err {
		return AudioParams{}, truncated("e-ac-3 frame")
	}
	p := AudioParams{Codec: CodecEAC3, Channels: ac3Channels[acmod] + int(lfe)}
	switch {
	case fscod < 3:
		p.SampleRate = ac3SampleRates[fscod]
	case rate2 < 3:
		p.SampleRate = eac3SampleRates[rate2]
	default:
		return AudioParams{}, codecErr("e-ac-3 frame", "reserved fscod2")
	}
	return p, nil
}

// legacyAudioParams reads the rate and channels of a legacy FLV audio tag
// (E.4.2.1: SoundRate UB[2], SoundSize UB[1], SoundType UB[1]); the
// formats with a fixed rate override SoundRate. AAC tags always say 44 kHz
// stereo: use its AudioSpecificConfig instead.
func legacyAudioParams(first byte, codec Codec) AudioParams {
	rates := [4]int{5512, 11025, 22050, 44100}
	p := AudioParams{Codec: codec, SampleRate: rates[first>>2&3], Channels: 1 + int(first&1)}
	switch first >> 4 { // SoundFormat
	case 4: // Nellymoser 16 kHz mono
		p.SampleRate, p.Channels = 16000, 1
	case 5, 7, 8, 14: // Nellymoser 8 kHz mono, G.711 A-law, mu-law, MP3 8 kHz
		p.SampleRate = 8000
	case 11: // Speex: 16 kHz mono
		p.SampleRate, p.Channels = 16000, 1
	}
	return p
}
