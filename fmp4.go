// Fragmented MP4: the init segment of a publication's decoder headers, and
// moof+mdat fragments whose samples are the ring's payload bytes as
// stored (never copied: a fragment is its small header plus slices).
//
// ISO/IEC 14496-12 (ISO base media file format), by box:
//   - 4.2     Box, FullBox: size, type, version, flags
//   - 4.3     ftyp: major_brand, minor_version, compatible_brands
//   - 8.2.2   mvhd   8.3.2 tkhd   8.4.2 mdhd   8.4.3 hdlr
//   - 8.4.5.2 vmhd   8.4.5.3 smhd   8.7.1 dinf   8.7.2 dref, 'url '
//   - 8.5.2   stsd with 12.1.3 VisualSampleEntry, 12.2.3 AudioSampleEntry
//   - 8.6.1.2 stts   8.7.4 stsc   8.7.3.2 stsz   8.7.5 stco (all empty)
//   - 8.8.1   mvex   8.8.3 trex   8.8.4 moof   8.8.5 mfhd   8.8.6 traf
//   - 8.8.7   tfhd (default-base-is-moof)   8.8.8 trun (version 1)
//   - 8.8.12  tfdt (version 1)   8.1.1 mdat   8.8.3.1 sample flags
//
// Sample entries and their configuration boxes:
//   - 14496-15 5.4.2.1 avc1 + avcC, 8.4.1.1 hvc1 + hvcC (the records as
//     the sequence header carries them)
//   - AV1 Codec ISO Media File Format Binding 2.3 av01 + av1C
//   - VP Codec ISO Media File Format Binding 2.2 vp09/vp08 + vpcC
//   - 14496-14 6.7.2 mp4a + esds, with the 14496-1 7.2.6 descriptors
//     (ES_Descriptor, DecoderConfigDescriptor, DecoderSpecificInfo,
//     SLConfigDescriptor); objectTypeIndication 0x40 (14496-3 AAC)
//   - Encapsulation of Opus in ISO-BMFF 4.3.1 Opus + 4.3.2 dOps
//   - Encapsulation of FLAC in ISO-BMFF 3.3.1 fLaC + 3.3.2 dfLa
//
// CODECS strings: RFC 6381 3.3 (avc1, mp4a), 14496-15 E.3 (hvc1), the AV1
// binding's "Codecs Parameter String" (av01), the VP binding's (vp09),
// and the Opus and FLAC bindings ("opus", "flac").
//
// Tracks: video 1 (timescale 90000), audio 2 (timescale: the sample
// rate). Only the default track (a message without multitrack, or a
// multitrack message of track 0 alone) goes in MP4; other tracks are left
// out. MP3 has no sequence header, so a header set never describes it:
// such audio is left out too.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrMP4NoTrack: a header set has no media that MP4 can carry (yet).
var ErrMP4NoTrack = errors.New("mp4: no media that MP4 can carry")

// errMP4CodecChanged ends a progressive MP4 response: its moov cannot
// change.
var errMP4CodecChanged = errors.New("mp4: the publisher changed codecs")

// Track ids and timescales of the contract.
const (
	mp4VideoID        = 1
	mp4AudioID        = 2
	mp4VideoTimescale = 90000
	mp4MovieTimescale = 1000 // mvhd: durations are 0 in a fragmented file
)

// mp4Init is the init segment (ftyp + moov) for a header set, and what a
// playlist says about it.
type mp4Init struct {
	Bytes         []byte    // ftyp + moov
	Video, Audio  *mp4Track // nil when the stream has no such media (or its codec cannot go in MP4)
	Codecs        string    // RFC 6381 CODECS value, e.g. "avc1.64001F,mp4a.40.2"
	Width, Height int       // video size, 0 when unknown
}

// mp4Track is one trak of the init segment.
type mp4Track struct {
	ID        uint32
	Timescale uint32
	Codec     Codec

	config    []byte // the configuration record of the sequence header
	codecs    string // RFC 6381 value of this track
	sampleDur uint32 // every sample's duration (AAC: 1024), 0 when frames tell
	width     int    // video
	height    int
	channels  int // audio
	bits      int // audio sample size
}

// ticks converts a millisecond timestamp to the track's timescale.
func (t *mp4Track) ticks(ms int64) int64 { return ms * int64(t.Timescale) / 1000 }

// mp4Cache holds a header set's init segment once built.
type mp4Cache struct {
	once sync.Once
	init *mp4Init
	err  error
}

// mp4 returns the init segment of h, built once per header set.
func (h *headerSet) mp4() (*mp4Init, error) {
	if h.mp4c == nil { // the empty set of a ring's start
		return newMP4Init(h)
	}
	h.mp4c.once.Do(func() { h.mp4c.init, h.mp4c.err = newMP4Init(h) })
	return h.mp4c.init, h.mp4c.err
}

// newMP4Init builds the init segment from a header set's sequence
// headers. Error when neither media can be carried.
func newMP4Init(h *headerSet) (*mp4Init, error) {
	in := &mp4Init{}
	var errs []error
	for _, f := range h.frames {
		if f.Info.Flags&FlagSeqHeader == 0 || f.Info.TrackIDs() != trackSetOf(0) {
			continue
		}
		t, err := newMP4Track(f.Type, f.Info.Codec, f.Info.Config)
		switch {
		case err != nil:
			errs = append(errs, err)
		case f.Type == TagVideo:
			in.Video = t
		default:
			in.Audio = t
		}
	}
	if in.Video == nil && in.Audio == nil && len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrMP4NoTrack, errors.Join(errs...))
	}
	if in.Video == nil && in.Audio == nil {
		return nil, ErrMP4NoTrack
	}
	in.finish()
	return in, nil
}

// finish fills the init's bytes, CODECS and size from its tracks.
func (in *mp4Init) finish() {
	var codecs []string
	var tracks []*mp4Track
	for _, t := range []*mp4Track{in.Video, in.Audio} {
		if t != nil {
			codecs, tracks = append(codecs, t.codecs), append(tracks, t)
		}
	}
	in.Codecs = strings.Join(codecs, ",")
	if in.Video != nil {
		in.Width, in.Height = in.Video.width, in.Video.height
	}
	in.Bytes = appendInit(nil, tracks)
}

// newMP4Track describes the track of a sequence header.
func newMP4Track(typ TagType, codec Codec, config []byte) (*mp4Track, error) {
	if typ == TagVideo {
		return newVideoTrack(codec, config)
	}
	return newAudioTrack(codec, config)
}

func newVideoTrack(codec Codec, config []byte) (*mp4Track, error) {
	t := &mp4Track{ID: mp4VideoID, Timescale: mp4VideoTimescale, Codec: codec, config: config}
	var p VideoParams
	var err error
	switch codec {
	case CodecH264:
		p, err = ParseAVCConfig(config)
	case CodecHEVC:
		p, err = ParseHEVCConfig(config)
	case CodecAV1:
		p, err = ParseAV1Config(config)
	case CodecVP9, CodecVP8:
		p, err = ParseVPCConfig(config, codec)
	default:
		return nil, fmt.Errorf("mp4: video codec %v cannot go in MP4", codec)
	}
	if err != nil {
		return nil, fmt.Errorf("mp4: %w", err)
	}
	t.width, t.height = p.Width, p.Height
	t.codecs = videoCodecsParam(codec, config)
	return t, nil
}

func newAudioTrack(codec Codec, config []byte) (*mp4Track, error) {
	t := &mp4Track{ID: mp4AudioID, Codec: codec, config: config, bits: 16}
	var p AudioParams
	var err error
	switch codec {
	case CodecAAC:
		p, err = ParseAudioSpecificConfig(config)
		t.codecs, t.sampleDur = fmt.Sprintf("mp4a.40.%d", p.ObjectType), aacFrameSamples(p.ObjectType)
	case CodecOpus:
		p, err = ParseOpusHead(config)
		t.codecs = "opus"
	case CodecFLAC:
		if p, err = ParseFLACConfig(config); err == nil {
			t.codecs, t.bits = "flac", flacBitsPerSample(config)
		}
	default:
		return nil, fmt.Errorf("mp4: audio codec %v cannot go in MP4", codec)
	}
	if err != nil {
		return nil, fmt.Errorf("mp4: %w", err)
	}
	t.Timescale, t.channels = uint32(p.SampleRate), p.Channels
	if t.channels == 0 { // AAC with a program_config_element
		t.channels = 2
	}
	return t, nil
}

// aacFrameSamples is the output samples of one AAC access unit: 1024, or
// 2048 with explicit SBR/PS signalling, whose output rate is doubled
// (14496-3 4.5.2.1, 4.6.18).
func aacFrameSamples(objectType int) uint32 {
	if objectType == aacObjectSBR || objectType == aacObjectPS {
		return 2048
	}
	return 1024
}

// flacBitsPerSample reads "bits per sample - 1" (5 bits at bit 100 of
// STREAMINFO, RFC 9639 8.2), for the sample entry's samplesize.
func flacBitsPerSample(config []byte) int {
	si := flacStreamInfo(config)
	return int((si[12]&1)<<4|si[13]>>4) + 1
}

// flacStreamInfo returns the 34 bytes of STREAMINFO (ParseFLACConfig has
// checked they are there).
func flacStreamInfo(config []byte) []byte {
	config, _ = bytes.CutPrefix(config, []byte("fLaC"))
	return config[4 : 4+flacStreamInfoLen]
}

// ---------------------------------------------------------------------------
// CODECS parameters (RFC 6381 and the codec bindings). The parsers of
// codecs.go have checked the records' lengths.

func videoCodecsParam(codec Codec, c []byte) string {
	switch codec {
	case CodecH264: // avc1.PPCCLL: AVCProfileIndication, profile_compatibility, AVCLevelIndication
		return fmt.Sprintf("avc1.%02X%02X%02X", c[1], c[2], c[3])
	case CodecHEVC:
		return hevcCodecsParam(c)
	case CodecAV1:
		return av1CodecsParam(c)
	case CodecVP9: // vp09.PP.LL.DD: profile, level, bitDepth
		return fmt.Sprintf("vp09.%02d.%02d.%02d", c[4], c[5], c[6]>>4)
	}
	return fmt.Sprintf("vp08.%02d.%02d.%02d", c[4], c[5], c[6]>>4)
}

// hevcCodecsParam is 14496-15 E.3: hvc1.[space]profile.compat.[L|H]level
// [.constraint bytes, trailing zero bytes left out].
func hevcCodecsParam(c []byte) string {
	var b strings.Builder
	b.WriteString("hvc1.")
	// general_profile_space(2): "", A, B, C
	if space := c[1] >> 6; space > 0 {
		b.WriteByte('A' + space - 1)
	}
	// general_profile_idc(5)
	fmt.Fprintf(&b, "%d.", c[1]&0x1f)
	// general_profile_compatibility_flags(32), bit-reversed, in hex
	compat := binary.BigEndian.Uint32(c[2:6])
	var rev uint32
	for i := 0; i < 32; i++ {
		rev |= (compat >> i & 1) << (31 - i)
	}
	fmt.Fprintf(&b, "%X.", rev)
	// general_tier_flag(1): L or H, then general_level_idc
	tier := byte('L')
	if c[1]&0x20 != 0 {
		tier = 'H'
	}
	fmt.Fprintf(&b, "%c%d", tier, c[12])
	// general_constraint_indicator_flags(48): six bytes
	cons := c[6:12]
	for len(cons) > 0 && cons[len(cons)-1] == 0 {
		cons = cons[:len(cons)-1]
	}
	for _, x := range cons {
		fmt.Fprintf(&b, ".%X", x)
	}
	return b.String()
}

// av1CodecsParam is av01.P.LLT.BB: seq_profile, seq_level_idx_0 and
// seq_tier_0 (M or H), bit depth.
func av1CodecsParam(c []byte) string {
	profile, level := c[1]>>5, c[1]&0x1f
	tier := byte('M')
	if c[2]&0x80 != 0 {
		tier = 'H'
	}
	depth := 8
	if c[2]&0x40 != 0 { // high_bitdepth
		depth = 10
		if profile == 2 && c[2]&0x20 != 0 { // twelve_bit
			depth = 12
		}
	}
	return fmt.Sprintf("av01.%d.%02d%c.%02d", profile, level, tier, depth)
}

// ---------------------------------------------------------------------------
// Box writer (4.2): a box starts with a zero size, filled when it ends.

type boxWriter struct {
	b     []byte
	open  [10]int // where the boxes not yet ended start
	depth int
}

// start begins a box of type typ (four characters).
func (w *boxWriter) start(typ string) {
	w.open[w.depth] = len(w.b)
	w.depth++
	w.b = append(w.b, 0, 0, 0, 0) // size, filled by end
	w.b = append(w.b, typ...)     // type
}

// startFull begins a FullBox: version UI8, flags UI24.
func (w *boxWriter) startFull(typ string, version uint8, flags uint32) {
	w.start(typ)
	w.u32(uint32(version)<<24 | flags&0xffffff)
}

// end fills the size of the innermost open box.
func (w *boxWriter) end() {
	w.depth--
	at := w.open[w.depth]
	binary.BigEndian.PutUint32(w.b[at:], uint32(len(w.b)-at))
}

func (w *boxWriter) u8(v uint8)     { w.b = append(w.b, v) }
func (w *boxWriter) u16(v uint16)   { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *boxWriter) u32(v uint32)   { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *boxWriter) u64(v uint64)   { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *boxWriter) bytes(p []byte) { w.b = append(w.b, p...) }
func (w *boxWriter) zeros(n int)    { w.b = append(w.b, make([]byte, n)...) }
func (w *boxWriter) str(s string)   { w.b = append(w.b, s...) }
func (w *boxWriter) u32s(v ...uint32) {
	for _, x := range v {
		w.u32(x)
	}
}

// box writes a whole box whose payload is p.
func (w *boxWriter) box(typ string, p []byte) {
	w.start(typ)
	w.bytes(p)
	w.end()
}

// unityMatrix is the identity transformation of mvhd and tkhd (8.2.2.3).
var unityMatrix = []uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000}

// ---------------------------------------------------------------------------
// The init segment

// appendInit appends ftyp and moov for tracks.
func appendInit(dst []byte, tracks []*mp4Track) []byte {
	w := &boxWriter{b: dst}
	writeFtyp(w)
	w.start("moov")
	writeMvhd(w, uint32(mp4AudioID+1))
	for _, t := range tracks {
		writeTrak(w, t)
	}
	w.start("mvex")
	for _, t := range tracks {
		writeTrex(w, t)
	}
	w.end()
	w.end()
	return w.b
}

// writeFtyp: 4.3. iso6 (tfdt version 1, default-base-is-moof), isom, mp41.
func writeFtyp(w *boxWriter) {
	w.start("ftyp")
	w.str("iso6")         // major_brand
	w.u32(0)              // minor_version
	w.str("iso6isommp41") // compatible_brands
	w.end()
}

// writeMvhd: 8.2.2, version 0.
func writeMvhd(w *boxWriter, nextTrackID uint32) {
	w.startFull("mvhd", 0, 0)
	w.u32s(0, 0)             // creation_time, modification_time
	w.u32(mp4MovieTimescale) // timescale
	w.u32(0)                 // duration: unknown (fragmented)
	w.u32(0x00010000)        // rate 1.0
	w.u16(0x0100)            // volume 1.0
	w.zeros(2 + 8)           // reserved
	w.u32s(unityMatrix...)   // matrix
	w.zeros(6 * 4)           // pre_defined
	w.u32(nextTrackID)       // next_track_ID
	w.end()
}

func writeTrak(w *boxWriter, t *mp4Track) {
	w.start("trak")
	writeTkhd(w, t)
	w.start("mdia")
	writeMdhd(w, t.Timescale)
	writeHdlr(w, t.ID == mp4VideoID)
	w.start("minf")
	writeMediaHeader(w, t.ID == mp4VideoID)
	writeDinf(w)
	writeStbl(w, t)
	w.end()
	w.end()
	w.end()
}

// writeTkhd: 8.3.2, version 0, flags track_enabled|track_in_movie.
func writeTkhd(w *boxWriter, t *mp4Track) {
	w.startFull("tkhd", 0, 0x000003)
	w.u32s(0, 0) // creation_time, modification_time
	w.u32(t.ID)  // track_ID
	w.u32(0)     // reserved
	w.u32(0)     // duration
	w.zeros(8)   // reserved
	w.u16(0)     // layer
	w.u16(0)     // alternate_group
	volume := uint16(0x0100)
	if t.ID == mp4VideoID {
		volume = 0
	}
	w.u16(volume)                 // volume: 1.0 for audio
	w.u16(0)                      // reserved
	w.u32s(unityMatrix...)        // matrix
	w.u32(uint32(t.width) << 16)  // width 16.16
	w.u32(uint32(t.height) << 16) // height 16.16
	w.end()
}

// writeMdhd: 8.4.2, version 0, language "und".
func writeMdhd(w *boxWriter, timescale uint32) {
	w.startFull("mdhd", 0, 0)
	w.u32s(0, 0)     // creation_time, modification_time
	w.u32(timescale) // timescale
	w.u32(0)         // duration
	w.u16(0x55c4)    // pad(1) language(15): ISO-639-2/T "und", 5 bits per letter - 0x60
	w.u16(0)         // pre_defined
	w.end()
}

// writeHdlr: 8.4.3.
func writeHdlr(w *boxWriter, video bool) {
	typ, name := "soun", "SoundHandler"
	if video {
		typ, name = "vide", "VideoHandler"
	}
	w.startFull("hdlr", 0, 0)
	w.u32(0)       // pre_defined
	w.str(typ)     // handler_type
	w.zeros(3 * 4) // reserved
	w.str(name)    // name, null-terminated
	w.u8(0)
	w.end()
}

// writeMediaHeader: vmhd (8.4.5.2, flags 1) or smhd (8.4.5.3).
func writeMediaHeader(w *boxWriter, video bool) {
	if video {
		w.startFull("vmhd", 0, 1)
		w.u16(0)       // graphicsmode: copy
		w.zeros(3 * 2) // opcolor
	} else {
		w.startFull("smhd", 0, 0)
		w.u16(0) // balance
		w.u16(0) // reserved
	}
	w.end()
}

// writeDinf: 8.7.1 and 8.7.2: one 'url ' entry, flags 1 (media in this file).
func writeDinf(w *boxWriter) {
	w.start("dinf")
	w.startFull("dref", 0, 0)
	w.u32(1) // entry_count
	w.startFull("url ", 0, 1)
	w.end()
	w.end()
	w.end()
}

// writeStbl: the sample description and the empty sample tables of a
// fragmented file (8.5.2, 8.6.1.2, 8.7.4, 8.7.3.2, 8.7.5).
func writeStbl(w *boxWriter, t *mp4Track) {
	w.start("stbl")
	w.startFull("stsd", 0, 0)
	w.u32(1) // entry_count
	writeSampleEntry(w, t)
	w.end()
	for _, typ := range []string{"stts", "stsc", "stco"} {
		w.startFull(typ, 0, 0)
		w.u32(0) // entry_count
		w.end()
	}
	w.startFull("stsz", 0, 0)
	w.u32s(0, 0) // sample_size, sample_count
	w.end()
	w.end()
}

// writeTrex: 8.8.3; every fragment states its samples' values itself.
func writeTrex(w *boxWriter, t *mp4Track) {
	w.startFull("trex", 0, 0)
	w.u32(t.ID)     // track_ID
	w.u32(1)        // default_sample_description_index
	w.u32s(0, 0, 0) // default_sample_duration, _size, _flags
	w.end()
}

// writeSampleEntry writes the codec's sample entry and configuration box.
func writeSampleEntry(w *boxWriter, t *mp4Track) {
	switch t.Codec {
	case CodecH264:
		writeVisualEntry(w, t, "avc1", "avcC")
	case CodecHEVC:
		writeVisualEntry(w, t, "hvc1", "hvcC")
	case CodecAV1:
		writeVisualEntry(w, t, "av01", "av1C")
	case CodecVP9:
		writeVisualEntry(w, t, "vp09", "vpcC")
	case CodecVP8:
		writeVisualEntry(w, t, "vp08", "vpcC")
	case CodecAAC:
		writeAudioEntry(w, t, "mp4a")
		writeEsds(w, t.ID, 0x40, t.config)
		w.end()
	case CodecOpus:
		writeAudioEntry(w, t, "Opus")
		writeDOps(w, t.config)
		w.end()
	case CodecFLAC:
		writeAudioEntry(w, t, "fLaC")
		writeDfLa(w, t.config)
		w.end()
	}
}

// writeVisualEntry: SampleEntry (8.5.2.2) and VisualSampleEntry
// (12.1.3.2), then the configuration box holding the record as the
// sequence header carries it (vpcC: the FullBox's version and flags are
// the record's first four bytes).
func writeVisualEntry(w *boxWriter, t *mp4Track, typ, configBox string) {
	w.start(typ)
	w.zeros(6)              // reserved
	w.u16(1)                // data_reference_index
	w.u16(0)                // pre_defined
	w.u16(0)                // reserved
	w.zeros(3 * 4)          // pre_defined
	w.u16(uint16(t.width))  // width
	w.u16(uint16(t.height)) // height
	w.u32(0x00480000)       // horizresolution 72 dpi
	w.u32(0x00480000)       // vertresolution 72 dpi
	w.u32(0)                // reserved
	w.u16(1)                // frame_count
	w.zeros(32)             // compressorname
	w.u16(0x0018)           // depth
	w.u16(0xffff)           // pre_defined = -1
	w.box(configBox, t.config)
	w.end()
}

// writeAudioEntry: SampleEntry (8.5.2.2) and AudioSampleEntry (12.2.3.2),
// left open for the configuration box. A rate above 65535 Hz does not fit
// samplerate's 16.16 and is written as 0 (the configuration box says it).
func writeAudioEntry(w *boxWriter, t *mp4Track, typ string) {
	w.start(typ)
	w.zeros(6)                // reserved
	w.u16(1)                  // data_reference_index
	w.zeros(2 * 4)            // reserved
	w.u16(uint16(t.channels)) // channelcount
	w.u16(uint16(t.bits))     // samplesize
	w.u16(0)                  // pre_defined
	w.u16(0)                  // reserved
	rate := t.Timescale
	if rate > 0xffff {
		rate = 0
	}
	w.u32(rate << 16) // samplerate 16.16
}

// MPEG-4 descriptor tags (14496-1 7.2.2.1).
const (
	tagESDescr            = 0x03
	tagDecoderConfigDescr = 0x04
	tagDecSpecificInfo    = 0x05
	tagSLConfigDescr      = 0x06
)

// writeEsds: 14496-14 5.6, an ES_Descriptor (14496-1 7.2.6.5) with a
// DecoderConfigDescriptor (7.2.6.6) carrying the decoder specific info
// (AAC: AudioSpecificConfig) and an SLConfigDescriptor (7.3.2.3).
func writeEsds(w *boxWriter, esID uint32, objectType uint8, dsi []byte) {
	dcd := 13
	if len(dsi) > 0 {
		dcd += descrSize(len(dsi))
	}
	es := 3 + descrSize(dcd) + descrSize(1)
	w.startFull("esds", 0, 0)
	appendDescrHeader(w, tagESDescr, es)
	w.u16(uint16(esID)) // ES_ID
	w.u8(0)             // streamDependenceFlag, URL_Flag, OCRstreamFlag, streamPriority
	appendDescrHeader(w, tagDecoderConfigDescr, dcd)
	w.u8(objectType)  // objectTypeIndication
	w.u8(0x05<<2 | 1) // streamType audio (5), upStream 0, reserved 1
	w.u8(0)           // bufferSizeDB UI24
	w.u16(0)
	w.u32(0) // maxBitrate
	w.u32(0) // avgBitrate
	if len(dsi) > 0 {
		appendDescrHeader(w, tagDecSpecificInfo, len(dsi))
		w.bytes(dsi)
	}
	appendDescrHeader(w, tagSLConfigDescr, 1)
	w.u8(2) // predefined: reserved for use in MP4 files
	w.end()
}

// descrSize is the size of a descriptor with n bytes of payload: tag,
// the expandable size (7 bits a byte, 14496-1 8.3.3), payload.
func descrSize(n int) int {
	size := 1 + 1 + n
	for v := n >> 7; v > 0; v >>= 7 {
		size++
	}
	return size
}

// appendDescrHeader writes a descriptor's tag and expandable size.
func appendDescrHeader(w *boxWriter, tag uint8, n int) {
	w.u8(tag)
	var groups []byte
	for v := n; ; v >>= 7 {
		groups = append(groups, byte(v&0x7f))
		if v>>7 == 0 {
			break
		}
	}
	for i := len(groups) - 1; i > 0; i-- {
		w.u8(groups[i] | 0x80) // nextByte set: more size bytes follow
	}
	w.u8(groups[0])
}

// writeDOps: the OpusSpecificBox (Opus binding 4.3.2) from OpusHead (RFC
// 7845 5.1, little-endian; the box is big-endian). ParseOpusHead has
// checked the header's length, mapping table included.
func writeDOps(w *boxWriter, head []byte) {
	w.start("dOps")
	w.u8(0)                                        // Version
	w.u8(head[9])                                  // OutputChannelCount
	w.u16(binary.LittleEndian.Uint16(head[10:12])) // PreSkip
	w.u32(binary.LittleEndian.Uint32(head[12:16])) // InputSampleRate
	w.u16(binary.LittleEndian.Uint16(head[16:18])) // OutputGain
	w.u8(head[18])                                 // ChannelMappingFamily
	if head[18] != 0 {
		w.bytes(head[19 : 21+int(head[9])]) // StreamCount, CoupledCount, ChannelMapping
	}
	w.end()
}

// writeDfLa: the FLACSpecificBox (FLAC binding 3.3.2), a FullBox holding
// the STREAMINFO metadata block, marked last.
func writeDfLa(w *boxWriter, config []byte) {
	w.startFull("dfLa", 0, 0)
	w.u8(0x80) // Last-metadata-block flag 1, BLOCK_TYPE 0 (STREAMINFO)
	w.u8(0)    // length UI24: 34
	w.u16(flacStreamInfoLen)
	w.bytes(flacStreamInfo(config))
	w.end()
}

// ---------------------------------------------------------------------------
// Fragments

// mp4Sample is one sample of a run.
type mp4Sample struct {
	Data     []byte // the sample bytes (a slice of a ring payload; never copied)
	Duration uint32 // in the track's timescale
	CTO      int32  // composition time offset, in the track's timescale
	Key      bool   // sync sample
}

// mp4Run is the samples of one track in a fragment.
type mp4Run struct {
	Track          *mp4Track
	BaseDecodeTime uint64 // tfdt, in the track's timescale
	Samples        []mp4Sample
}

// Sample flags (8.8.3.1): is_leading(2) sample_depends_on(2)
// sample_is_depended_on(2) sample_has_redundancy(2) padding(3)
// sample_is_non_sync_sample(1) degradation_priority(16).
const (
	sampleFlagsSync    = 2 << 24             // depends on no other sample
	sampleFlagsNonSync = 1<<24 | 1<<16       // depends on others, not a sync sample
	tfhdBaseIsMoof     = 0x020000            // default-base-is-moof
	trunFlags          = 0x000001 | 0x000f00 // data-offset, duration, size, flags, composition offset present
)

// Sizes of the fixed boxes of a fragment, to know the moof's size (and
// so the data offsets) before writing it.
const (
	moofHeaderLen = 8 + 16           // moof header, mfhd
	trafFixedLen  = 8 + 16 + 20 + 20 // traf header, tfhd, tfdt v1, trun without samples
	trunSampleLen = 16               // duration, size, flags, composition offset
)

// appendFragment appends to dst a moof (mfhd with seq; one traf per run:
// tfhd default-base-is-moof, tfdt version 1, trun with data offset,
// per-sample duration, size, flags, composition offset) and the 8-byte
// mdat header sized for all samples. The caller writes the returned
// bytes, then every run's Samples[i].Data in order.
func appendFragment(dst []byte, seq uint32, runs []mp4Run) []byte {
	moofLen := moofHeaderLen
	for _, r := range runs {
		moofLen += trafFixedLen + trunSampleLen*len(r.Samples)
	}
	w := &boxWriter{b: dst}
	w.start("moof")
	w.startFull("mfhd", 0, 0)
	w.u32(seq) // sequence_number
	w.end()
	dataOff := moofLen + 8 // the first sample, after the mdat header
	for i := range runs {
		dataOff += writeTraf(w, &runs[i], dataOff)
	}
	w.end()
	w.u32(uint32(dataOff - moofLen)) // mdat size (header included)
	w.str("mdat")
	return w.b
}

// writeTraf writes one run's traf; its samples start dataOff bytes after
// the moof's first byte. It returns the bytes of its samples.
func writeTraf(w *boxWriter, r *mp4Run, dataOff int) int {
	w.start("traf")
	w.startFull("tfhd", 0, tfhdBaseIsMoof)
	w.u32(r.Track.ID) // track_ID
	w.end()
	w.startFull("tfdt", 1, 0)
	w.u64(r.BaseDecodeTime) // baseMediaDecodeTime
	w.end()
	w.startFull("trun", 1, trunFlags)
	w.u32(uint32(len(r.Samples))) // sample_count
	w.u32(uint32(dataOff))        // data_offset
	n := 0
	for _, s := range r.Samples {
		flags := uint32(sampleFlagsNonSync)
		if s.Key {
			flags = sampleFlagsSync
		}
		w.u32s(s.Duration, uint32(len(s.Data)), flags, uint32(s.CTO))
		n += len(s.Data)
	}
	w.end()
	w.end()
	return n
}

// ---------------------------------------------------------------------------
// Frames as MP4 samples

// sampleOf returns the coded sample a frame carries, as a sub-slice of
// f.Payload (no copy), and its composition time offset in ms; ok is false
// for frames that carry no sample for MP4 (headers, metadata, commands,
// sequence end, tracks other than the default one, codecs MP4 cannot
// carry).
func sampleOf(f *Frame) (data []byte, ctsMs int32, ok bool) {
	switch {
	case f.Type == TagScript || f.isHeader():
		return nil, 0, false
	case f.Info.Flags&(FlagSeqEnd|FlagCommand) != 0:
		return nil, 0, false
	case f.Info.TrackIDs() != trackSetOf(0) || !mp4Carries(f.Info.Codec):
		return nil, 0, false
	case f.Info.DataOff <= 0 || f.Info.DataOff >= len(f.Payload):
		return nil, 0, false
	}
	return f.Payload[f.Info.DataOff:], f.Info.CTS, true
}

// mp4Carries reports the codecs this muxer writes sample entries for.
func mp4Carries(c Codec) bool {
	switch c {
	case CodecH264, CodecHEVC, CodecAV1, CodecVP9, CodecVP8, CodecAAC, CodecOpus, CodecFLAC:
		return true
	}
	return false
}

// Sample durations when the ring has no previous frame to measure from.
const (
	defaultVideoMs = 33
	defaultAudioMs = 20
)

// mp4Wire returns the frame's MP4 wire form, building it on first use:
// one fragment holding the frame as its only sample ([moof + mdat
// header, sample]), or nothing when the frame carries no sample.
func (f *Frame) mp4Wire() [][]byte {
	f.mp4Once.Do(func() {
		hdr, data := f.mp4Fragment()
		if hdr != nil {
			f.mp4Out, f.mp4Len = [][]byte{hdr, data}, len(hdr)+len(data)
		}
	})
	return f.mp4Out
}

// mp4Fragment builds the moof and mdat header of f's one sample.
func (f *Frame) mp4Fragment() (hdr, data []byte) {
	data, cts, ok := sampleOf(f)
	if !ok {
		return nil, nil
	}
	in, err := f.headers.mp4()
	if err != nil {
		return nil, nil
	}
	t := in.Audio
	if f.Type == TagVideo {
		t = in.Video
	}
	if t == nil || t.Codec != f.Info.Codec {
		return nil, nil
	}
	s := mp4Sample{Data: data, Duration: f.sampleDuration(t), CTO: int32(t.ticks(int64(cts))), Key: f.Type == TagAudio || f.isKey()}
	run := mp4Run{Track: t, BaseDecodeTime: uint64(t.ticks(int64(f.Timestamp))), Samples: []mp4Sample{s}}
	hdr = appendFragment(make([]byte, 0, moofHeaderLen+trafFixedLen+trunSampleLen+8), uint32(f.Seq+1), []mp4Run{run})
	return hdr, data
}

// sampleDuration is the codec's fixed duration, or the frame's distance
// to the previous one of its type (tfdt in every fragment keeps the
// timeline exact whatever this estimate).
func (f *Frame) sampleDuration(t *mp4Track) uint32 {
	if t.sampleDur != 0 {
		return t.sampleDur
	}
	ms := int64(f.Delta)
	switch {
	case ms > 0:
	case f.Type == TagVideo:
		ms = defaultVideoMs
	default:
		ms = defaultAudioMs
	}
	return uint32(t.ticks(ms))
}

// ---------------------------------------------------------------------------
// Progressive MP4 players: the init segment instead of header tags.

// mp4State is what the sink of an MP4 player remembers (sink.go): the
// init segment it sent, and the newest header set found to have that
// same init segment.
type mp4State struct {
	sent []byte
	hdrs *headerSet
}

// accept is the header step: it returns h's init segment to send the
// first time, nothing when it is the one already sent, and
// errMP4CodecChanged for another one (a progressive MP4 cannot change
// its moov).
func (m *mp4State) accept(h *headerSet) ([]byte, error) {
	in, err := h.mp4()
	switch {
	case err != nil:
		return nil, err
	case m.sent == nil:
		m.sent, m.hdrs = in.Bytes, h
		return in.Bytes, nil
	case !bytes.Equal(m.sent, in.Bytes):
		return nil, errMP4CodecChanged
	}
	m.hdrs = h
	return nil, nil
}

// cut returns frames up to the first one whose headers have another init
// segment than the one sent; errMP4CodecChanged when that is the first.
func (m *mp4State) cut(frames []*Frame) ([]*Frame, error) {
	for i, f := range frames {
		if f.headers == m.hdrs {
			continue
		}
		if _, err := m.accept(f.headers); err != nil {
			if i == 0 {
				return nil, errMP4CodecChanged
			}
			return frames[:i], nil
		}
	}
	return frames, nil
}

// same reports whether every frame has the header set last accepted (the
// fan-out's check: anything else goes to the player's goroutine, which
// cuts).
func (m *mp4State) same(frames []*Frame) bool {
	for _, f := range frames {
		if f.headers != m.hdrs {
			return false
		}
	}
	return true
}
