// Temporary stand-in for the fMP4 muxer of the fmp4 branch, with the same
// API (legacy H.264 and AAC only), so that HLS can be built and tested
// before that branch lands. ISO/IEC 14496-12 boxes: ftyp 4.3, moov 8.2,
// mvhd 8.2.2, trak 8.3, tkhd 8.3.2, mdia 8.4, mdhd 8.4.2, hdlr 8.4.3,
// minf 8.4.4, vmhd/smhd 12.1.2/12.2.2, dinf 8.7.1, stbl 8.5, mvex 8.8,
// trex 8.8.3, moof 8.8.4, mfhd 8.8.5, traf 8.8.6, tfhd 8.8.7, tfdt 8.8.12,
// trun 8.8.8, mdat 8.1.1; avcC ISO/IEC 14496-15 5.3.3; esds 14496-14 5.6.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

type mp4Init struct {
	Bytes         []byte
	Video, Audio  *mp4Track
	Codecs        string
	Width, Height int
}

type mp4Track struct {
	ID        uint32
	Timescale uint32
	Codec     Codec
}

func (t *mp4Track) ticks(ms int64) int64 { return ms * int64(t.Timescale) / 1000 }

type mp4Sample struct {
	Data     []byte
	Duration uint32
	CTO      int32
	Key      bool
}

type mp4Run struct {
	Track          *mp4Track
	BaseDecodeTime uint64
	Samples        []mp4Sample
}

func (h *headerSet) mp4() (*mp4Init, error) { return newMP4Init(h) }

func newMP4Init(h *headerSet) (*mp4Init, error) {
	in := &mp4Init{}
	var avcC, asc []byte
	for _, f := range h.frames {
		switch {
		case f.Type == TagVideo && f.Info.Codec == CodecH264 && f.Info.Flags&FlagSeqHeader != 0:
			avcC = f.Info.Config
		case f.Type == TagAudio && f.Info.Codec == CodecAAC && f.Info.Flags&FlagSeqHeader != 0:
			asc = f.Info.Config
		}
	}
	var codecs []string
	var traks [][]byte
	if len(avcC) >= 4 {
		vp, _ := ParseAVCConfig(avcC)
		in.Video = &mp4Track{ID: 1, Timescale: 90000, Codec: CodecH264}
		in.Width, in.Height = vp.Width, vp.Height
		codecs = append(codecs, fmt.Sprintf("avc1.%02X%02X%02X", avcC[1], avcC[2], avcC[3]))
		traks = append(traks, tmpTrak(in.Video, tmpAVC1(avcC, vp.Width, vp.Height), vp.Width, vp.Height))
	}
	if len(asc) >= 2 {
		ap, err := ParseAudioSpecificConfig(asc)
		if err == nil && ap.SampleRate > 0 {
			in.Audio = &mp4Track{ID: 2, Timescale: uint32(ap.SampleRate), Codec: CodecAAC}
			codecs = append(codecs, fmt.Sprintf("mp4a.40.%d", ap.ObjectType))
			traks = append(traks, tmpTrak(in.Audio, tmpMP4A(asc, ap), 0, 0))
		}
	}
	if in.Video == nil && in.Audio == nil {
		return nil, errors.New("fmp4: nothing to carry")
	}
	for i, c := range codecs {
		if i > 0 {
			in.Codecs += ","
		}
		in.Codecs += c
	}
	in.Bytes = tmpInitBytes(in, traks)
	return in, nil
}

func tmpBox(typ string, parts ...[]byte) []byte {
	n := 8
	for _, p := range parts {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, n), uint32(n))
	b = append(b, typ...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func tmpFull(typ string, vf uint32, parts ...[]byte) []byte {
	return tmpBox(typ, append([][]byte{binary.BigEndian.AppendUint32(nil, vf)}, parts...)...)
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

var tmpMatrix = u32s(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)

func tmpInitBytes(in *mp4Init, traks [][]byte) []byte {
	ftyp := tmpBox("ftyp", []byte("iso6"), u32s(0), []byte("iso6cmfcmp41"))
	mvhd := tmpFull("mvhd", 0, u32s(0, 0, 1000, 0, 0x10000), []byte{1, 0, 0, 0}, u32s(0, 0), tmpMatrix, make([]byte, 24), u32s(3))
	var trex [][]byte
	for _, t := range []*mp4Track{in.Video, in.Audio} {
		if t != nil {
			trex = append(trex, tmpFull("trex", 0, u32s(t.ID, 1, 0, 0, 0)))
		}
	}
	moov := tmpBox("moov", append(append([][]byte{mvhd}, traks...), tmpBox("mvex", trex...))...)
	return append(ftyp, moov...)
}

func tmpTrak(t *mp4Track, entry []byte, w, h int) []byte {
	vol := uint32(0x01000000)
	if w > 0 {
		vol = 0
	}
	tkhd := tmpFull("tkhd", 3, u32s(0, 0, t.ID, 0, 0, 0, 0, 0, vol), tmpMatrix, u32s(uint32(w)<<16, uint32(h)<<16))
	mdhd := tmpFull("mdhd", 0, u32s(0, 0, t.Timescale, 0), []byte{0x55, 0xc4, 0, 0})
	handler, media := "soun", tmpFull("smhd", 0, u32s(0))
	if w > 0 {
		handler, media = "vide", tmpFull("vmhd", 1, u32s(0, 0))
	}
	hdlr := tmpFull("hdlr", 0, u32s(0), []byte(handler), u32s(0, 0, 0), []byte{0})
	dinf := tmpBox("dinf", tmpFull("dref", 0, u32s(1), tmpFull("url ", 1)))
	stbl := tmpBox("stbl", tmpFull("stsd", 0, u32s(1), entry), tmpFull("stts", 0, u32s(0)),
		tmpFull("stsc", 0, u32s(0)), tmpFull("stsz", 0, u32s(0, 0)), tmpFull("stco", 0, u32s(0)))
	return tmpBox("trak", tkhd, tmpBox("mdia", mdhd, hdlr, tmpBox("minf", media, dinf, stbl)))
}

func tmpAVC1(avcC []byte, w, h int) []byte {
	b := append(make([]byte, 6), 0, 1)
	b = append(b, make([]byte, 16)...)
	b = binary.BigEndian.AppendUint16(b, uint16(w))
	b = binary.BigEndian.AppendUint16(b, uint16(h))
	b = append(b, u32s(0x480000, 0x480000, 0)...)
	b = append(b, 0, 1)
	b = append(b, make([]byte, 32)...)
	b = append(b, 0, 0x18, 0xff, 0xff)
	return tmpBox("avc1", b, tmpBox("avcC", avcC))
}

func tmpMP4A(asc []byte, ap AudioParams) []byte {
	ch := max(ap.Channels, 1)
	b := append(make([]byte, 6), 0, 1)
	b = append(b, u32s(0, 0)...)
	b = append(b, 0, byte(ch), 0, 16, 0, 0, 0, 0)
	b = append(b, u32s(uint32(min(ap.SampleRate, 65535))<<16)...)
	dsi := append([]byte{5, byte(len(asc))}, asc...)
	dcd := append([]byte{4, byte(13 + len(dsi)), 0x40, 0x15, 0, 0, 0}, u32s(0, 0)...)
	dcd = append(dcd, dsi...)
	es := append([]byte{3, byte(3 + len(dcd) + 3), 0, 2, 0}, dcd...)
	es = append(es, 6, 1, 2)
	return tmpBox("mp4a", b, tmpFull("esds", 0, es))
}

func sampleOf(f *Frame) ([]byte, int32, bool) {
	if f.isHeader() || f.Info.FourCC != 0 || f.Info.Flags&(FlagSeqEnd|FlagCommand|FlagMultitrack) != 0 {
		return nil, 0, false
	}
	switch {
	case f.Type == TagVideo && f.Info.Codec == CodecH264 && len(f.Payload) > 5:
		return f.Payload[5:], f.Info.CTS, true
	case f.Type == TagAudio && f.Info.Codec == CodecAAC && len(f.Payload) > 2:
		return f.Payload[2:], 0, true
	}
	return nil, 0, false
}

func appendFragment(dst []byte, seq uint32, runs []mp4Run) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 'm', 'o', 'o', 'f')
	dst = append(dst, tmpFull("mfhd", 0, u32s(seq))...)
	var offs []int
	for _, r := range runs {
		tfhd := tmpFull("tfhd", 0x020000, u32s(r.Track.ID))
		tfdt := tmpFull("tfdt", 1<<24, binary.BigEndian.AppendUint64(nil, r.BaseDecodeTime))
		tr := u32s(uint32(len(r.Samples)), 0)
		for _, s := range r.Samples {
			flags := uint32(0x01010000)
			if s.Key || r.Track.Codec != CodecH264 {
				flags = 0x02000000
			}
			tr = append(tr, u32s(s.Duration, uint32(len(s.Data)), flags, uint32(s.CTO))...)
		}
		trun := tmpFull("trun", 1<<24|0xf01, tr)
		traf := tmpBox("traf", tfhd, tfdt, trun)
		offs = append(offs, len(dst)-start+len(traf)-len(trun)+16)
		dst = append(dst, traf...)
	}
	moofLen := len(dst) - start
	binary.BigEndian.PutUint32(dst[start:], uint32(moofLen))
	data := 0
	for i, r := range runs {
		binary.BigEndian.PutUint32(dst[start+offs[i]:], uint32(moofLen+8+data))
		for _, s := range r.Samples {
			data += len(s.Data)
		}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(8+data))
	return append(dst, "mdat"...)
}
