package main

// Golden bytes for the codec configuration parsers. Every record below was
// written by a real encoder (ffmpeg 5.1 with libx264, libx265, libaom,
// libvpx, libopus, its FLAC, AC-3 and E-AC-3 encoders; extracted from the
// FLV, MP4, IVF, Ogg and raw outputs), except the hand-packed AAC configs,
// whose bit layout is spelled out next to them.

import (
	"errors"
	"strings"
	"testing"
)

// x264 High, 640x360 (coded 640x368, cropped by 8 lines), 30 fps VUI timing.
var goldenAVC360High = []byte{
	0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0,
	0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16,
	0x2d, 0x96, 0x01, 0x00, 0x04, 0x68, 0xef, 0x8f, 0xcb, 0xfd, 0xf8, 0xf8, 0x00,
}

// x264 Constrained Baseline, 1920x1080 (coded 1088), 25 fps.
var goldenAVC1080Baseline = []byte{
	0x01, 0x42, 0xc0, 0x28, 0xff, 0xe1, 0x00, 0x19, 0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0, 0x08,
	0x9f, 0x97, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83,
	0x2a, 0x01, 0x00, 0x04, 0x68, 0xce, 0x0f, 0xc8,
}

// x265 Main, 642x362 (conformance window: coded 648x368), level 2.1; the
// record keeps its VPS, SPS and PPS arrays (x265's SEI array left out).
var goldenHEVC642 = []byte{
	0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0xf0, 0x00, 0xfc,
	0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0x20, 0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01,
	0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
	0x3f, 0x95, 0x98, 0x09, 0x21, 0x00, 0x01, 0x00, 0x2c, 0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00,
	0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0xa0, 0x05, 0x12, 0x01, 0x71,
	0xc9, 0x26, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00,
	0x00, 0x03, 0x00, 0x3c, 0x10, 0x22, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62,
	0x40,
}

// libaom, 320x240, Main profile, level 2.0, with its sequence header OBU.
var goldenAV1320 = []byte{
	0x81, 0x00, 0x0c, 0x00, 0x0a, 0x0b, 0x00, 0x00, 0x00, 0x04, 0x3c, 0xff, 0xbc, 0xda, 0xf9, 0x00, 0x40,
}

// libvpx-vp9: vpcC version 1, profile 0, level 2.0, 8 bit; then the start
// of its first key frame, 352x288.
var (
	goldenVPC    = []byte{0x01, 0x00, 0x00, 0x00, 0x00, 0x14, 0x82, 0x02, 0x02, 0x02, 0x00, 0x00}
	goldenVP9Key = []byte{0x82, 0x49, 0x83, 0x42, 0x00, 0x15, 0xf0, 0x11, 0xf6, 0x02, 0x38, 0x24,
		0x1c, 0x18, 0x4a, 0x00, 0x0c, 0x50, 0x7f, 0xd1, 0xfa, 0x3e, 0x8f, 0xe7}
	goldenVP8Key = []byte{0xf0, 0x4c, 0x00, 0x9d, 0x01, 0x2a, 0xb0, 0x00, 0x90, 0x00, 0x00, 0x07} // 176x144
)

var (
	goldenAACLCStereo = []byte{0x12, 0x10}                   // AOT 2, 44.1 kHz (index 4), 2 channels
	goldenAACMono     = []byte{0x13, 0x88, 0x56, 0xe5, 0x00} // ffmpeg aac: 22.05 kHz mono, with sync extension
	// 00101 0110 0010 0011 00010: AOT 5 (SBR), 24 kHz core, 2 channels,
	// extension rate index 3 (48 kHz), core AOT 2
	goldenHEAAC = []byte{0x2b, 0x11, 0x88}
	// 00010 1111 <44100 in 24 bits> 0001: explicit frequency, mono
	goldenAACExplicitRate = []byte{0x17, 0x80, 0x56, 0x22, 0x08}
	goldenOpusHead        = []byte{0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 0x01, 0x02, 0x38, 0x01,
		0x80, 0xbb, 0x00, 0x00, 0x00, 0x00, 0x00} // stereo, input 48 kHz, family 0
	goldenFLAC = []byte{0x66, 0x4c, 0x61, 0x43, 0x00, 0x00, 0x00, 0x22, 0x12, 0x00, 0x12, 0x00, 0x00,
		0x04, 0xa3, 0x00, 0x05, 0x08, 0x0a, 0xc4, 0x42, 0xf0, 0x00, 0x00, 0x22, 0x74, 0x5d, 0x10, 0x5c,
		0xeb, 0x21, 0x2a, 0xd5, 0xd3, 0x6e, 0x4f, 0x56, 0x08, 0xde, 0xf3, 0xd8, 0xb7} // 44.1 kHz stereo
	goldenAC3  = []byte{0x0b, 0x77, 0xb5, 0x0b, 0x1e, 0x40, 0xeb, 0xf8, 0x40, 0x3e} // 48 kHz 5.1
	goldenEAC3 = []byte{0x0b, 0x77, 0x01, 0xa0, 0x74, 0x87, 0xc0, 0x00, 0x20, 0x84} // 44.1 kHz stereo
)

func TestVideoConfigGolden(t *testing.T) {
	vp9 := func(b []byte) (VideoParams, error) { return ParseVPCConfig(b, CodecVP9) }
	tests := []struct {
		name  string
		parse func([]byte) (VideoParams, error)
		in    []byte
		want  VideoParams
	}{
		{"avc high 640x360", ParseAVCConfig, goldenAVC360High,
			VideoParams{CodecH264, "High", "3.0", 640, 360, 30, 8}},
		{"avc baseline 1080p", ParseAVCConfig, goldenAVC1080Baseline,
			VideoParams{CodecH264, "Constrained Baseline", "4.0", 1920, 1080, 25, 8}},
		{"avc test stream", ParseAVCConfig, testAVCConfig,
			VideoParams{CodecH264, "Constrained Baseline", "3.0", 640, 360, 30, 8}},
		{"hevc main 642x362", ParseHEVCConfig, goldenHEVC642,
			VideoParams{CodecHEVC, "Main", "2.1", 642, 362, 0, 8}},
		{"av1 320x240", ParseAV1Config, goldenAV1320,
			VideoParams{CodecAV1, "Main", "2.0", 320, 240, 0, 8}},
		{"av1 config without OBUs", ParseAV1Config, goldenAV1320[:4],
			VideoParams{CodecAV1, "Main", "2.0", 0, 0, 0, 8}},
		{"vp9 vpcC", vp9, goldenVPC, VideoParams{CodecVP9, "0", "2.0", 0, 0, 0, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFrameSizeGolden(t *testing.T) {
	if w, h, err := ParseVP9FrameSize(goldenVP9Key); err != nil || w != 352 || h != 288 {
		t.Errorf("vp9 key frame: %dx%d, %v", w, h, err)
	}
	if w, h, err := ParseVP8FrameSize(goldenVP8Key); err != nil || w != 176 || h != 144 {
		t.Errorf("vp8 key frame: %dx%d, %v", w, h, err)
	}
	// an inter frame (frame_type 1) has no size
	inter := append([]byte{}, goldenVP9Key...)
	inter[0] |= 0x04
	if _, _, err := ParseVP9FrameSize(inter); err == nil {
		t.Error("vp9 inter frame: no error")
	}
	// the sequence header OBU of the av1C, found as in a key frame
	seq, err := AV1SequenceFromOBUs(goldenAV1320[4:])
	if err != nil || seq.Width != 320 || seq.Height != 240 {
		t.Errorf("av1 OBUs: %+v, %v", seq, err)
	}
}

func TestAudioConfigGolden(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte) (AudioParams, error)
		in    []byte
		want  AudioParams
	}{
		{"aac lc stereo", ParseAudioSpecificConfig, goldenAACLCStereo, AudioParams{CodecAAC, "LC", 2, 44100, 2}},
		{"aac mono 22k", ParseAudioSpecificConfig, goldenAACMono, AudioParams{CodecAAC, "LC", 2, 22050, 1}},
		{"he-aac", ParseAudioSpecificConfig, goldenHEAAC, AudioParams{CodecAAC, "HE-AAC", 5, 48000, 2}},
		{"aac explicit rate", ParseAudioSpecificConfig, goldenAACExplicitRate, AudioParams{CodecAAC, "LC", 2, 44100, 1}},
		{"test stream header", ParseAudioSpecificConfig, testAudioHeader[2:], AudioParams{CodecAAC, "LC", 2, 44100, 2}},
		{"opus", ParseOpusHead, goldenOpusHead, AudioParams{CodecOpus, "", 0, 48000, 2}},
		{"flac", ParseFLACConfig, goldenFLAC, AudioParams{CodecFLAC, "", 0, 44100, 2}},
		{"flac without signature", ParseFLACConfig, goldenFLAC[4:], AudioParams{CodecFLAC, "", 0, 44100, 2}},
		{"ac-3 5.1", ParseAC3Frame, goldenAC3, AudioParams{CodecAC3, "", 0, 48000, 6}},
		{"e-ac-3 stereo", ParseAC3Frame, goldenEAC3, AudioParams{CodecEAC3, "", 0, 44100, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLegacyAudioParams(t *testing.T) {
	// 0x2f: MP3, 44 kHz, 16 bit, stereo; 0x52: Nellymoser 8 kHz mono
	if p := legacyAudioParams(0x2f, CodecMP3); p.SampleRate != 44100 || p.Channels != 2 {
		t.Errorf("mp3: %+v", p)
	}
	if p := legacyAudioParams(0x52, CodecNellymoser); p.SampleRate != 8000 || p.Channels != 1 {
		t.Errorf("nellymoser: %+v", p)
	}
}

// Every truncation of every golden record is an error (or, where the
// record is complete earlier, a result), never a panic; and the errors
// are *CodecError.
func TestCodecTruncations(t *testing.T) {
	for name, c := range codecCorpus() {
		for n := 0; n < len(c.seed); n++ {
			err := c.run(c.seed[:n])
			var ce *CodecError
			if err != nil && !errors.As(err, &ce) {
				t.Errorf("%s[:%d]: error %v is not a *CodecError", name, n, err)
			}
		}
	}
	_, err := ParseAVCConfig(goldenAVC360High[:10])
	if !errors.Is(err, ErrCodecTruncated) && !strings.Contains(err.Error(), "SPS length") {
		t.Errorf("short avcC: %v", err)
	}
	bad := append([]byte{}, goldenAVC360High...)
	bad[0] = 2
	if _, err := ParseAVCConfig(bad); !errors.Is(err, ErrCodecUnsupported) {
		t.Errorf("avcC version 2: %v", err)
	}
}

// Hostile values: sizes beyond the limits, cropping larger than the
// picture, Exp-Golomb codes longer than 32 bits.
func TestCodecLimits(t *testing.T) {
	// SPS: profile 66, level 30, id 0, then 40 zero bits: an over-long ue(v)
	long := []byte{0x67, 0x42, 0x00, 0x1e, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}
	if _, err := ParseH264SPS(long); err == nil {
		t.Error("over-long Exp-Golomb code accepted")
	}
	// AV1 leb128 that does not end within 8 bytes
	obu := []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	if _, err := AV1SequenceFromOBUs(obu); err == nil {
		t.Error("9-byte leb128 accepted")
	}
	// an OBU whose size is beyond the data
	if _, err := AV1SequenceFromOBUs([]byte{0x0a, 0x7f, 0x00}); err == nil {
		t.Error("obu_size beyond the data accepted")
	}
	// hvcC whose SPS length is beyond the record
	h := append([]byte{}, goldenHEVC642[:60]...)
	if _, err := ParseHEVCConfig(h); err == nil {
		t.Error("cut hvcC accepted")
	}
}

// codecCorpus names each parser with its golden seeds, for the table
// tests above and the fuzz targets below.
type codecCase struct {
	seed []byte
	run  func([]byte) error
}

func videoCheck(p VideoParams, err error) error {
	if err == nil && (p.Width < 0 || p.Width > maxPictureDim || p.Height < 0 || p.Height > maxPictureDim) {
		panic("size beyond the limits accepted")
	}
	return err
}

func audioCheck(p AudioParams, err error) error {
	if err == nil && (p.SampleRate <= 0 || p.Channels < 0 || p.Channels > 255) {
		panic("impossible audio parameters accepted")
	}
	return err
}

func codecCorpus() map[string]codecCase {
	return map[string]codecCase{
		"avcC":      {goldenAVC360High, func(b []byte) error { return videoCheck(ParseAVCConfig(b)) }},
		"avcC-base": {goldenAVC1080Baseline, func(b []byte) error { return videoCheck(ParseAVCConfig(b)) }},
		"hvcC":      {goldenHEVC642, func(b []byte) error { return videoCheck(ParseHEVCConfig(b)) }},
		"av1C":      {goldenAV1320, func(b []byte) error { return videoCheck(ParseAV1Config(b)) }},
		"vpcC":      {goldenVPC, func(b []byte) error { return videoCheck(ParseVPCConfig(b, CodecVP9)) }},
		"vp9": {goldenVP9Key, func(b []byte) error {
			_, _, err := ParseVP9FrameSize(b)
			return err
		}},
		"vp8": {goldenVP8Key, func(b []byte) error {
			_, _, err := ParseVP8FrameSize(b)
			return err
		}},
		"asc":  {goldenHEAAC, func(b []byte) error { return audioCheck(ParseAudioSpecificConfig(b)) }},
		"opus": {goldenOpusHead, func(b []byte) error { return audioCheck(ParseOpusHead(b)) }},
		"flac": {goldenFLAC, func(b []byte) error { return audioCheck(ParseFLACConfig(b)) }},
		"ac3":  {goldenAC3, func(b []byte) error { return audioCheck(ParseAC3Frame(b)) }},
		"eac3": {goldenEAC3, func(b []byte) error { return audioCheck(ParseAC3Frame(b)) }},
	}
}

func fuzzCodec(f *testing.F, parse func([]byte) error, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := parse(b)
		var ce *CodecError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v is not a *CodecError", err)
		}
	})
}

func FuzzAVCConfig(f *testing.F) {
	c := codecCorpus()["avcC"]
	fuzzCodec(f, c.run, goldenAVC360High, goldenAVC1080Baseline, testAVCConfig)
}

func FuzzHEVCConfig(f *testing.F) { c := codecCorpus()["hvcC"]; fuzzCodec(f, c.run, c.seed) }

func FuzzAV1Config(f *testing.F) {
	c := codecCorpus()["av1C"]
	fuzzCodec(f, c.run, c.seed)
}

func FuzzAV1OBUs(f *testing.F) {
	fuzzCodec(f, func(b []byte) error { return videoCheck(AV1SequenceFromOBUs(b)) }, goldenAV1320[4:])
}

func FuzzVPCConfig(f *testing.F) { c := codecCorpus()["vpcC"]; fuzzCodec(f, c.run, c.seed) }

func FuzzVP9FrameSize(f *testing.F) { c := codecCorpus()["vp9"]; fuzzCodec(f, c.run, c.seed) }

func FuzzVP8FrameSize(f *testing.F) { c := codecCorpus()["vp8"]; fuzzCodec(f, c.run, c.seed) }

func FuzzAudioSpecificConfig(f *testing.F) {
	c := codecCorpus()["asc"]
	fuzzCodec(f, c.run, goldenAACLCStereo, goldenAACMono, goldenHEAAC, goldenAACExplicitRate)
}

func FuzzOpusHead(f *testing.F) { c := codecCorpus()["opus"]; fuzzCodec(f, c.run, c.seed) }

func FuzzFLACConfig(f *testing.F) { c := codecCorpus()["flac"]; fuzzCodec(f, c.run, c.seed) }

func FuzzAC3Frame(f *testing.F) {
	c := codecCorpus()["ac3"]
	fuzzCodec(f, c.run, goldenAC3, goldenEAC3)
}
