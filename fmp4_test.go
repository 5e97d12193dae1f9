package main

// The fragmented MP4 muxer (fmp4.go): golden bytes for every box it
// writes, written out field by field from ISO/IEC 14496-12 and the codec
// bindings; a test-side box walker that parses init segments and
// fragments back (sizes nest, nothing overruns) and writes them again
// byte for byte; FuzzMP4Init over sequence-header tag bodies; sampleOf;
// the live .mp4 with ffprobe/ffmpeg and with a plain <video> in headless
// Chromium (H.264 + AAC from ffmpeg, AV1 + Opus over Enhanced RTMP); the
// status page's player.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// goldenUnity is the unity matrix of mvhd and tkhd (14496-12 8.2.2.3).
var goldenUnity = wire(be32(0x00010000), be32(0), be32(0), be32(0), be32(0x00010000), be32(0), be32(0), be32(0), be32(0x40000000))

// Tracks of the golden rows: H.264 640x360, AAC LC 44.1 kHz stereo.
func goldenVideoTrack(t testing.TB) *mp4Track {
	tr, err := newVideoTrack(CodecH264, goldenAVC360High)
	must(t, err)
	return tr
}

func goldenTrack(t testing.TB, typ TagType, codec Codec, config []byte) *mp4Track {
	tr, err := newMP4Track(typ, codec, config)
	must(t, err)
	return tr
}

// goldenVisualEntry is a VisualSampleEntry (14496-12 12.1.3.2) of w x h
// holding one configuration box.
func goldenVisualEntry(typ string, w, h uint16, configBox string, record []byte) []byte {
	return wire(be32(uint32(8+78+8+len(record))), typ,
		0, 0, 0, 0, 0, 0, // reserved
		be16(1),          // data_reference_index
		be16(0), be16(0), // pre_defined, reserved
		be32(0), be32(0), be32(0), // pre_defined
		be16(w), be16(h), // width, height
		be32(0x00480000), be32(0x00480000), // horizresolution, vertresolution: 72 dpi
		be32(0),          // reserved
		be16(1),          // frame_count
		make([]byte, 32), // compressorname
		be16(0x0018),     // depth
		0xff, 0xff,       // pre_defined -1
		be32(uint32(8+len(record))), configBox, record) // the configuration box
}

// goldenAudioEntry is an AudioSampleEntry (12.2.3.2) with its
// configuration box.
func goldenAudioEntry(typ string, channels, bits uint16, rate uint32, config []byte) []byte {
	return wire(be32(uint32(8+28+len(config))), typ,
		0, 0, 0, 0, 0, 0, // reserved
		be16(1),          // data_reference_index
		be32(0), be32(0), // reserved
		be16(channels), be16(bits), // channelcount, samplesize
		be16(0), be16(0), // pre_defined, reserved
		be32(rate<<16), // samplerate 16.16
		config)
}

var (
	goldenEsdsAAC = wire(be32(39), "esds", 0, 0, 0, 0,
		0x03, 25, // ES_DescrTag, size
		be16(2),  // ES_ID: the track
		0x00,     // streamDependenceFlag, URL_Flag, OCRstreamFlag, streamPriority
		0x04, 17, // DecoderConfigDescrTag, size
		0x40,    // objectTypeIndication: Audio ISO/IEC 14496-3
		0x15,    // streamType 5 (audio) << 2 | upStream 0 | reserved 1
		0, 0, 0, // bufferSizeDB
		be32(0), be32(0), // maxBitrate, avgBitrate
		0x05, 2, 0x12, 0x10, // DecSpecificInfoTag, size, AudioSpecificConfig
		0x06, 1, 0x02) // SLConfigDescrTag, size, predefined 2
	goldenDOps = wire(be32(19), "dOps",
		0,           // Version
		2,           // OutputChannelCount
		be16(312),   // PreSkip (OpusHead: 0x38 0x01 little-endian)
		be32(48000), // InputSampleRate
		be16(0),     // OutputGain
		0)           // ChannelMappingFamily
	goldenDfLa = wire(be32(50), "dfLa", 0, 0, 0, 0,
		0x80, 0, 0, 34, // last-metadata-block 1, STREAMINFO, length 34
		goldenFLAC[8:42])
)

// fmp4Row is one golden row: what the muxer writes, the bytes the spec
// gives, and, for rows built from a sequence header, its FLV tag body
// (the parsed input, which seeds FuzzMP4Init).
type fmp4Row struct {
	name  string
	write func(t testing.TB, w *boxWriter)
	want  []byte
	tag   []byte
	typ   TagType
	tail  []byte // what follows the bytes (a fragment's samples), for the walker
}

var fmp4Golden = []fmp4Row{
	{name: "ftyp", write: func(_ testing.TB, w *boxWriter) { writeFtyp(w) }, want: wire(be32(28), "ftyp",
		"iso6",                   // major_brand
		be32(0),                  // minor_version
		"iso6", "isom", "mp41")}, // compatible_brands
	{name: "mvhd", write: func(_ testing.TB, w *boxWriter) { writeMvhd(w, 3) }, want: wire(be32(108), "mvhd", 0, 0, 0, 0,
		be32(0), be32(0), // creation_time, modification_time
		be32(1000),       // timescale
		be32(0),          // duration
		be32(0x00010000), // rate 1.0
		be16(0x0100),     // volume 1.0
		make([]byte, 10), // reserved
		goldenUnity,      // matrix
		make([]byte, 24), // pre_defined
		be32(3))},        // next_track_ID
	{name: "tkhd video", write: func(t testing.TB, w *boxWriter) { writeTkhd(w, goldenVideoTrack(t)) }, want: wire(be32(92), "tkhd",
		0, 0, 0, 3, // version 0, flags track_enabled | track_in_movie
		be32(0), be32(0), // creation_time, modification_time
		be32(1),          // track_ID
		be32(0),          // reserved
		be32(0),          // duration
		make([]byte, 8),  // reserved
		be16(0), be16(0), // layer, alternate_group
		be16(0),                        // volume: 0 for video
		be16(0),                        // reserved
		goldenUnity,                    // matrix
		be32(640<<16), be32(360<<16))}, // width, height 16.16
	{name: "mdhd", write: func(_ testing.TB, w *boxWriter) { writeMdhd(w, 90000) }, want: wire(be32(32), "mdhd", 0, 0, 0, 0,
		be32(0), be32(0), // creation_time, modification_time
		be32(90000), // timescale
		be32(0),     // duration
		0x55, 0xc4,  // pad 0, language "und": (u-0x60, n-0x60, d-0x60) = (21, 14, 4) in 5 bits each
		be16(0))}, // pre_defined
	{name: "hdlr sound", write: func(_ testing.TB, w *boxWriter) { writeHdlr(w, false) }, want: wire(be32(45), "hdlr", 0, 0, 0, 0,
		be32(0),             // pre_defined
		"soun",              // handler_type
		make([]byte, 12),    // reserved
		"SoundHandler", 0)}, // name
	{name: "vmhd", write: func(_ testing.TB, w *boxWriter) { writeMediaHeader(w, true) }, want: wire(be32(20), "vmhd",
		0, 0, 0, 1, // flags 1
		be16(0),           // graphicsmode
		make([]byte, 6))}, // opcolor
	{name: "smhd", write: func(_ testing.TB, w *boxWriter) { writeMediaHeader(w, false) }, want: wire(be32(16), "smhd", 0, 0, 0, 0,
		be16(0), be16(0))}, // balance, reserved
	{name: "dinf", write: func(_ testing.TB, w *boxWriter) { writeDinf(w) }, want: wire(be32(36), "dinf",
		be32(28), "dref", 0, 0, 0, 0, be32(1), // entry_count 1
		be32(12), "url ", 0, 0, 0, 1)}, // flags 1: the media is in this file
	{name: "trex", write: func(t testing.TB, w *boxWriter) { writeTrex(w, goldenVideoTrack(t)) }, want: wire(be32(32), "trex", 0, 0, 0, 0,
		be32(1),                     // track_ID
		be32(1),                     // default_sample_description_index
		be32(0), be32(0), be32(0))}, // default_sample_duration, _size, _flags
	{name: "avc1 avcC", typ: TagVideo, tag: legacyVideo(7, true, 0, goldenAVC360High),
		write: func(t testing.TB, w *boxWriter) { writeSampleEntry(w, goldenVideoTrack(t)) },
		want:  goldenVisualEntry("avc1", 640, 360, "avcC", goldenAVC360High)},
	{name: "hvc1 hvcC", typ: TagVideo, tag: exVideo(true, 0, "hvc1", goldenHEVC642),
		write: func(t testing.TB, w *boxWriter) {
			writeSampleEntry(w, goldenTrack(t, TagVideo, CodecHEVC, goldenHEVC642))
		},
		want: goldenVisualEntry("hvc1", 642, 362, "hvcC", goldenHEVC642)},
	{name: "av01 av1C", typ: TagVideo, tag: exVideo(true, 0, "av01", goldenAV1320),
		write: func(t testing.TB, w *boxWriter) {
			writeSampleEntry(w, goldenTrack(t, TagVideo, CodecAV1, goldenAV1320))
		},
		want: goldenVisualEntry("av01", 320, 240, "av1C", goldenAV1320)},
	{name: "vp09 vpcC", typ: TagVideo, tag: exVideo(true, 0, "vp09", goldenVPC),
		write: func(t testing.TB, w *boxWriter) { writeSampleEntry(w, goldenTrack(t, TagVideo, CodecVP9, goldenVPC)) },
		want:  goldenVisualEntry("vp09", 0, 0, "vpcC", goldenVPC)},
	{name: "mp4a esds", typ: TagAudio, tag: legacyAAC(0, goldenAACLCStereo),
		write: func(t testing.TB, w *boxWriter) {
			writeSampleEntry(w, goldenTrack(t, TagAudio, CodecAAC, goldenAACLCStereo))
		},
		want: goldenAudioEntry("mp4a", 2, 16, 44100, goldenEsdsAAC)},
	{name: "Opus dOps", typ: TagAudio, tag: exAudio(0, "Opus", goldenOpusHead),
		write: func(t testing.TB, w *boxWriter) {
			writeSampleEntry(w, goldenTrack(t, TagAudio, CodecOpus, goldenOpusHead))
		},
		want: goldenAudioEntry("Opus", 2, 16, 48000, goldenDOps)},
	{name: "fLaC dfLa", typ: TagAudio, tag: exAudio(0, "fLaC", goldenFLAC),
		write: func(t testing.TB, w *boxWriter) { writeSampleEntry(w, goldenTrack(t, TagAudio, CodecFLAC, goldenFLAC)) },
		want:  goldenAudioEntry("fLaC", 2, 16, 44100, goldenDfLa)},
	{name: "fragment one sample", tail: []byte("abcd"), write: func(t testing.TB, w *boxWriter) {
		run := mp4Run{Track: goldenVideoTrack(t), BaseDecodeTime: 90000,
			Samples: []mp4Sample{{Data: []byte("abcd"), Duration: 3000, CTO: 6000, Key: true}}}
		w.b = appendFragment(w.b, 5, []mp4Run{run})
	}, want: wire(be32(104), "moof",
		be32(16), "mfhd", 0, 0, 0, 0, be32(5), // sequence_number
		be32(80), "traf",
		be32(16), "tfhd", 0, 0x02, 0, 0, be32(1), // default-base-is-moof; track_ID
		be32(20), "tfdt", 1, 0, 0, 0, be64(90000), // version 1: baseMediaDecodeTime
		be32(36), "trun", 1, 0, 0x0f, 0x01, // version 1; data-offset, duration, size, flags, composition offset
		be32(1),                                           // sample_count
		be32(112),                                         // data_offset: moof (104) + mdat header (8)
		be32(3000), be32(4), be32(0x02000000), be32(6000), // duration, size, flags (sync), composition offset
		be32(12), "mdat")}, // mdat header: 8 + 4 sample bytes
	{name: "fragment two runs", tail: []byte("vvaaa"), write: func(t testing.TB, w *boxWriter) {
		a := goldenTrack(t, TagAudio, CodecAAC, goldenAACLCStereo)
		runs := []mp4Run{
			{Track: goldenVideoTrack(t), BaseDecodeTime: 3003, Samples: []mp4Sample{{Data: []byte("vv"), Duration: 3000, CTO: -3000}}},
			{Track: a, BaseDecodeTime: 1024, Samples: []mp4Sample{{Data: []byte("aaa"), Duration: 1024, Key: true}}},
		}
		w.b = appendFragment(w.b, 7, runs)
	}, want: wire(be32(184), "moof",
		be32(16), "mfhd", 0, 0, 0, 0, be32(7),
		be32(80), "traf",
		be32(16), "tfhd", 0, 0x02, 0, 0, be32(1),
		be32(20), "tfdt", 1, 0, 0, 0, be64(3003),
		be32(36), "trun", 1, 0, 0x0f, 0x01, be32(1),
		be32(192),                                               // data_offset: moof (184) + mdat header (8)
		be32(3000), be32(2), be32(0x01010000), be32(0xfffff448), // non-sync: depends on others, non_sync_sample; CTO -3000
		be32(80), "traf",
		be32(16), "tfhd", 0, 0x02, 0, 0, be32(2),
		be32(20), "tfdt", 1, 0, 0, 0, be64(1024),
		be32(36), "trun", 1, 0, 0x0f, 0x01, be32(1),
		be32(194), // after the video run's 2 bytes
		be32(1024), be32(3), be32(0x02000000), be32(0),
		be32(13), "mdat")},
}

func fmp4GoldenRow(t testing.TB, name string) *fmp4Row {
	t.Helper()
	return goldenRow(t, fmp4Golden, func(r *fmp4Row) string { return r.name }, name)
}

func TestFMP4Golden(t *testing.T) {
	for _, r := range fmp4Golden {
		t.Run(r.name, func(t *testing.T) {
			w := &boxWriter{}
			r.write(t, w)
			if !bytes.Equal(w.b, r.want) {
				t.Fatalf("got\n% x\nwant\n% x", w.b, r.want)
			}
			if w.depth != 0 {
				t.Fatalf("%d boxes left open", w.depth)
			}
			checkWellFormed(t, append(slices0(r.want), r.tail...))
		})
	}
}

// The golden rows' tag bodies classify to the record the rows hold.
func TestFMP4GoldenTags(t *testing.T) {
	for _, name := range []string{"avc1 avcC", "hvc1 hvcC", "av01 av1C", "vp09 vpcC", "mp4a esds", "Opus dOps", "fLaC dfLa"} {
		r := fmp4GoldenRow(t, name)
		in := initFromTags(t, r.typ, r.tag)
		if in == nil {
			t.Fatalf("%s: no init", name)
		}
		tr := in.Video
		if r.typ == TagAudio {
			tr = in.Audio
		}
		w := &boxWriter{}
		writeSampleEntry(w, tr)
		if !bytes.Equal(w.b, r.want) {
			t.Errorf("%s: the sample entry of the tag differs from the row", name)
		}
	}
}

// ---------------------------------------------------------------------------
// A test-side box walker (14496-12 4.2).

type tbox struct {
	typ  string
	head []byte // the payload before the children (FullBox fields, sample entry fields)
	kids []tbox
	body []byte // a leaf's payload
}

// boxChildrenAt is where the children start in a container's payload.
var boxChildrenAt = map[string]int{
	"moov": 0, "trak": 0, "mdia": 0, "minf": 0, "dinf": 0, "stbl": 0, "mvex": 0, "moof": 0, "traf": 0,
	"stsd": 8, "dref": 8, // FullBox header, entry_count
	"avc1": 78, "hvc1": 78, "av01": 78, "vp09": 78, "vp08": 78, // VisualSampleEntry
	"mp4a": 28, "Opus": 28, "fLaC": 28, // AudioSampleEntry
}

// parseBoxes parses a run of boxes that exactly fills b.
func parseBoxes(b []byte) ([]tbox, error) {
	var out []tbox
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("%d bytes left, less than a box header", len(b))
		}
		size := binary.BigEndian.Uint32(b)
		if size < 8 || uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("box %q: size %d, %d bytes left", b[4:8], size, len(b))
		}
		bx := tbox{typ: string(b[4:8])}
		payload := b[8:size]
		if at, ok := boxChildrenAt[bx.typ]; ok {
			if len(payload) < at {
				return nil, fmt.Errorf("box %q: %d bytes, fields need %d", bx.typ, len(payload), at)
			}
			kids, err := parseBoxes(payload[at:])
			if err != nil {
				return nil, fmt.Errorf("in %q: %w", bx.typ, err)
			}
			bx.head, bx.kids = payload[:at], kids
		} else {
			bx.body = payload
		}
		out = append(out, bx)
		b = b[size:]
	}
	return out, nil
}

// appendBoxes writes boxes again.
func appendBoxes(dst []byte, boxes []tbox) []byte {
	for _, bx := range boxes {
		start := len(dst)
		dst = append(append(dst, 0, 0, 0, 0), bx.typ...)
		dst = append(append(dst, bx.head...), bx.body...)
		dst = appendBoxes(dst, bx.kids)
		binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	}
	return dst
}

// boxPaths lists every box as a path ("moov/trak/tkhd"), in order.
func boxPaths(prefix string, boxes []tbox) []string {
	var out []string
	for _, bx := range boxes {
		p := prefix + bx.typ
		out = append(out, p)
		out = append(out, boxPaths(p+"/", bx.kids)...)
	}
	return out
}

// findBox returns the first box at path.
func findBox(boxes []tbox, path string) *tbox {
	first, rest, _ := strings.Cut(path, "/")
	for i := range boxes {
		if boxes[i].typ == first {
			if rest == "" {
				return &boxes[i]
			}
			return findBox(boxes[i].kids, rest)
		}
	}
	return nil
}

// checkWellFormed parses b as a box tree and writes it again, byte exact.
func checkWellFormed(t testing.TB, b []byte) []tbox {
	t.Helper()
	boxes, err := parseBoxes(b)
	if err != nil {
		t.Fatalf("%v\n% x", err, b)
	}
	if again := appendBoxes(nil, boxes); !bytes.Equal(again, b) {
		t.Fatalf("round trip differs")
	}
	return boxes
}

// ---------------------------------------------------------------------------
// Init segments from header sets

// initFromTags classifies sequence-header tag bodies (alternating types
// from first) into a header set and builds its init segment (nil when
// it cannot be built).
func initFromTags(t testing.TB, first TagType, tags ...[]byte) *mp4Init {
	h := &headerSet{}
	typ := first
	for _, tag := range tags {
		info, err := ClassifyTag(typ, tag)
		if err == nil && info.Flags&FlagSeqHeader != 0 {
			h = h.with(newFrame(typ, 0, info, tag))
		}
		typ = TagVideo + TagAudio - typ
	}
	in, err := h.mp4()
	if err != nil {
		return nil
	}
	return in
}

func TestMP4InitH264AAC(t *testing.T) {
	in := initFromTags(t, TagVideo, legacyVideo(7, true, 0, goldenAVC360High), legacyAAC(0, goldenAACLCStereo))
	if in == nil {
		t.Fatal("no init")
	}
	if in.Codecs != "avc1.64001E,mp4a.40.2" || in.Width != 640 || in.Height != 360 {
		t.Fatalf("codecs %q, %dx%d", in.Codecs, in.Width, in.Height)
	}
	if in.Video.ID != 1 || in.Video.Timescale != 90000 || in.Audio.ID != 2 || in.Audio.Timescale != 44100 {
		t.Fatalf("tracks %+v %+v", in.Video, in.Audio)
	}
	boxes := checkWellFormed(t, in.Bytes)
	want := []string{"ftyp", "moov", "moov/mvhd",
		"moov/trak", "moov/trak/tkhd", "moov/trak/mdia", "moov/trak/mdia/mdhd", "moov/trak/mdia/hdlr",
		"moov/trak/mdia/minf", "moov/trak/mdia/minf/vmhd", "moov/trak/mdia/minf/dinf", "moov/trak/mdia/minf/dinf/dref",
		"moov/trak/mdia/minf/dinf/dref/url ", "moov/trak/mdia/minf/stbl", "moov/trak/mdia/minf/stbl/stsd",
		"moov/trak/mdia/minf/stbl/stsd/avc1", "moov/trak/mdia/minf/stbl/stsd/avc1/avcC",
		"moov/trak/mdia/minf/stbl/stts", "moov/trak/mdia/minf/stbl/stsc", "moov/trak/mdia/minf/stbl/stco",
		"moov/trak/mdia/minf/stbl/stsz"}
	got := boxPaths("", boxes)
	if strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
		t.Fatalf("boxes %q", got)
	}
	if n := strings.Count(strings.Join(got, " "), "moov/trak "); n != 2 {
		t.Fatalf("%d traks", n)
	}
	if got[len(got)-3] != "moov/mvex" || got[len(got)-1] != "moov/mvex/trex" {
		t.Fatalf("mvex: %q", got[len(got)-3:])
	}
	if esds := findBox(boxes, "moov/trak/mdia/minf/stbl/stsd/mp4a/esds"); esds != nil {
		t.Fatalf("the first trak is the video one, found esds in it")
	}
}

func TestMP4CodecsParam(t *testing.T) {
	for _, c := range []struct {
		name, codecs string
		w, h         int
	}{
		{"avc1 avcC", "avc1.64001E", 640, 360},
		{"hvc1 hvcC", "hvc1.1.6.L63.90", 642, 362},
		{"av01 av1C", "av01.0.00M.08", 320, 240},
		{"vp09 vpcC", "vp09.00.20.08", 0, 0},
		{"mp4a esds", "mp4a.40.2", 0, 0},
		{"Opus dOps", "opus", 0, 0},
		{"fLaC dfLa", "flac", 0, 0},
	} {
		r := fmp4GoldenRow(t, c.name)
		in := initFromTags(t, r.typ, r.tag)
		if in == nil || in.Codecs != c.codecs || in.Width != c.w || in.Height != c.h {
			t.Errorf("%s: %+v, want %s %dx%d", c.name, in, c.codecs, c.w, c.h)
		}
	}
	// HE-AAC: its output rate and 2048 samples a frame
	in := initFromTags(t, TagAudio, legacyAAC(0, goldenHEAAC))
	if in == nil || in.Codecs != "mp4a.40.5" || in.Audio.Timescale != 48000 || in.Audio.sampleDur != 2048 {
		t.Errorf("HE-AAC: %+v", in)
	}
	// codecs MP4 does not carry, and no headers at all
	if initFromTags(t, TagAudio, exAudio(0, "ac-3", goldenAC3)) != nil || initFromTags(t, TagVideo) != nil {
		t.Errorf("an init without media")
	}
}

// FuzzMP4Init: a video and an audio sequence-header tag body. newMP4Init
// never panics; what it builds is a well-formed box tree; sampleOf stays
// inside the payload of any tag.
func FuzzMP4Init(f *testing.F) {
	for _, name := range []string{"avc1 avcC", "hvc1 hvcC", "av01 av1C", "vp09 vpcC"} {
		v := fmp4GoldenRow(f, name)
		for _, a := range []string{"mp4a esds", "Opus dOps", "fLaC dfLa"} {
			f.Add(v.tag, fmp4GoldenRow(f, a).tag)
		}
	}
	f.Fuzz(func(t *testing.T, video, audio []byte) {
		if in := initFromTags(t, TagVideo, video, audio); in != nil {
			checkWellFormed(t, in.Bytes)
		}
		for _, c := range []struct {
			typ TagType
			tag []byte
		}{{TagVideo, video}, {TagAudio, audio}} {
			info, _ := ClassifyTag(c.typ, c.tag)
			fr := newFrame(c.typ, 0, info, c.tag)
			if data, _, ok := sampleOf(fr); ok && (len(data) == 0 || &data[len(data)-1] != &fr.Payload[len(fr.Payload)-1]) {
				t.Fatalf("sample is not the tail of the payload")
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Samples of frames

func TestSampleOf(t *testing.T) {
	nalus := []byte{0, 0, 0, 2, 0x65, 0x88}
	for _, c := range []struct {
		name string
		typ  TagType
		tag  []byte
		off  int // -1: no sample
		cts  int32
	}{
		{"legacy AVC NALUs", TagVideo, wire(0x17, 1, 0, 0, 40, nalus), 5, 40},
		{"legacy AVC sequence header", TagVideo, legacyVideo(7, true, 0, goldenAVC360High), -1, 0},
		{"legacy AVC end of sequence", TagVideo, wire(0x17, 2, 0, 0, 0), -1, 0},
		{"legacy AAC raw", TagAudio, legacyAAC(1, []byte{1, 2, 3}), 2, 0},
		{"legacy AAC header", TagAudio, legacyAAC(0, goldenAACLCStereo), -1, 0},
		{"legacy MP3", TagAudio, wire(0x2f, 0xff, 0xfb, 0x90), -1, 0},
		{"Ex hvc1 CodedFrames", TagVideo, exVideo(true, 1, "hvc1", wire(0xff, 0xff, 0xfe, nalus)), 8, -2},
		{"Ex hvc1 CodedFramesX", TagVideo, exVideo(false, 3, "hvc1", nalus), 5, 0},
		{"Ex av01 CodedFrames", TagVideo, exVideo(true, 1, "av01", []byte{0x12, 0}), 5, 0},
		{"Ex ModEx av01", TagVideo, exVideoModEx(true, 1, 500, "av01", []byte{0x12, 0}), 10, 0},
		{"Ex Opus", TagAudio, exAudio(1, "Opus", []byte{0xfc, 1}), 5, 0},
		{"Ex OneTrack 0", TagAudio, exAudioOneTrack(1, eTrackBody{"Opus", 0, []byte{0xfc, 1}}), 7, 0},
		{"Ex OneTrack 1", TagAudio, exAudioOneTrack(1, eTrackBody{"Opus", 1, []byte{0xfc, 1}}), -1, 0},
		{"Ex ac-3", TagAudio, exAudio(1, "ac-3", goldenAC3), -1, 0},
	} {
		info, err := ClassifyTag(c.typ, c.tag)
		must(t, err)
		data, cts, ok := sampleOf(newFrame(c.typ, 0, info, c.tag))
		switch {
		case c.off < 0 && ok:
			t.Errorf("%s: a sample of %d bytes", c.name, len(data))
		case c.off >= 0 && (!ok || !bytes.Equal(data, c.tag[c.off:]) || cts != c.cts):
			t.Errorf("%s: %v % x cts %d, want % x cts %d", c.name, ok, data, cts, c.tag[c.off:], c.cts)
		}
	}
}

// A ring frame's MP4 wire form is one moof+mdat header and the payload's
// own bytes (no copy); a header has none; durations come from the ring.
func TestMP4WireForm(t *testing.T) {
	r := newGOPRing()
	add := func(typ TagType, ts uint32, tag []byte) *Frame {
		info, err := ClassifyTag(typ, tag)
		must(t, err)
		f := newFrame(typ, ts, info, tag)
		r.append(f)
		return f
	}
	hv := add(TagVideo, 0, legacyVideo(7, true, 0, goldenAVC360High))
	add(TagAudio, 0, legacyAAC(0, goldenAACLCStereo))
	k := add(TagVideo, 1000, wire(0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65))
	a := add(TagAudio, 1010, legacyAAC(1, []byte{0x21, 0x10}))
	p := add(TagVideo, 1040, wire(0x27, 1, 0, 0, 80, 0, 0, 0, 1, 0x41))
	if len(hv.appendWire(nil, protoMP4)) != 0 || hv.wireLen(protoMP4) != 0 {
		t.Fatal("a sequence header has an MP4 wire form")
	}
	for _, c := range []struct {
		f        *Frame
		track    uint32
		tfdt     uint64
		dur, cto uint32
		flags    uint32
	}{
		{k, 1, 90000, 33 * 90, 0, 0x02000000},
		{a, 2, 44541, 1024, 0, 0x02000000},
		{p, 1, 93600, 40 * 90, 80 * 90, 0x01010000},
	} {
		bufs := c.f.appendWire(nil, protoMP4)
		if len(bufs) != 2 || &bufs[1][0] != &c.f.Payload[c.f.Info.DataOff] || c.f.wireLen(protoMP4) != len(bufs[0])+len(bufs[1]) {
			t.Fatalf("frame %d: wire form is not [header, payload slice]", c.f.Seq)
		}
		boxes := checkWellFormed(t, append(slices0(bufs[0]), bufs[1]...))
		tfhd, tfdt, trun := findBox(boxes, "moof/traf/tfhd"), findBox(boxes, "moof/traf/tfdt"), findBox(boxes, "moof/traf/trun")
		mfhd := findBox(boxes, "moof/mfhd")
		if binary.BigEndian.Uint32(mfhd.body[4:]) != uint32(c.f.Seq+1) || binary.BigEndian.Uint32(tfhd.body[4:]) != c.track ||
			binary.BigEndian.Uint64(tfdt.body[4:]) != c.tfdt {
			t.Errorf("frame %d: mfhd % x tfhd % x tfdt % x", c.f.Seq, mfhd.body, tfhd.body, tfdt.body)
		}
		s := trun.body[12:]
		if binary.BigEndian.Uint32(s) != c.dur || binary.BigEndian.Uint32(s[8:]) != c.flags || binary.BigEndian.Uint32(s[12:]) != c.cto {
			t.Errorf("frame %d: trun sample % x, want duration %d flags %x cto %d", c.f.Seq, s, c.dur, c.flags, c.cto)
		}
		if off := binary.BigEndian.Uint32(trun.body[8:]); int(off) != len(bufs[0]) {
			t.Errorf("frame %d: data_offset %d, the sample starts at %d", c.f.Seq, off, len(bufs[0]))
		}
	}
}

func slices0(b []byte) []byte { return append([]byte(nil), b...) }

// ---------------------------------------------------------------------------
// Real clients

// mp4Head checks the HTTP side of the .mp4 URL: HEAD, OPTIONS, the GET's
// head.
func TestMP4HTTP(t *testing.T) {
	srv := startServer(t, nil)
	for _, c := range []struct {
		req, want string
	}{
		{"HEAD /live/x.mp4 HTTP/1.1\r\nHost: x\r\n\r\n", "video/mp4"},
		{"OPTIONS /live/x.mp4 HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\nAccess-Control-Request-Method: GET\r\n\r\n", ""},
	} {
		resp, conn, err := rawHTTP(srv, c.req)
		must(t, err)
		conn.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Content-Type") != c.want {
			t.Errorf("%q: %d %v", c.req, resp.StatusCode, resp.Header)
		}
	}
	pub := testPublisher(t, rtmpURL(srv, "/live/x"))
	sendGOPs(t, pub, 0, 3, 30)
	resp, conn, err := rawHTTP(srv, "GET /live/x.mp4 HTTP/1.1\r\nHost: x\r\n\r\n")
	must(t, err)
	defer conn.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" || resp.Header.Get("Cache-Control") != "no-cache, no-store" {
		t.Fatalf("GET: %d %v", resp.StatusCode, resp.Header)
	}
	waitPlayers(t, srv, "live", "x", 1)
	snap := srv.stats.snapshot()
	found := false
	for _, s := range snap.sessions {
		found = found || s.Protocol == "mp4"
	}
	if !found {
		t.Fatal("no mp4 session in the stats")
	}
}

func TestFFmpegMP4(t *testing.T) {
	requireFFmpeg(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/x"))
	waitLive(t, srv, "live", "x")
	url := httpURL(srv, "/live/x.mp4")
	checkProbe(t, ffprobe(t, url))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-rw_timeout", "10000000",
		"-i", url, "-frames:v", "300", "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", url, err, out)
	}
}

// videoResult is one line of video.mjs.
type videoResult struct {
	URL, Src, MediaError, Error string
	StartTime, EndTime          float64
	StartFrames, EndFrames      int
	Width, Height, WaitedMs     int
	HorizontalOverflow          int
	Console                     []string
}

// runVideo runs video.mjs and returns its results.
func runVideo(t *testing.T, args ...string) []videoResult {
	t.Helper()
	cmd, sc, stderr := nodeScript(t, 3*time.Minute, "video.mjs", args...)
	var results []videoResult
	for sc.Scan() {
		var r videoResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("video.mjs printed %q: %v", sc.Text(), err)
		}
		t.Logf("%s: %dx%d, currentTime %.2f -> %.2f, frames %d -> %d, first frame after %d ms, overflow %d",
			r.URL, r.Width, r.Height, r.StartTime, r.EndTime, r.StartFrames, r.EndFrames, r.WaitedMs, r.HorizontalOverflow)
		results = append(results, r)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("video.mjs: %v\n%s", err, stderr)
	}
	return results
}

// checkVideo wants a w x h video that played its 10 s window without
// errors: currentTime advanced by at least half of what the publisher
// sent meanwhile (rate: stream ms per wall second over the whole run; a
// loaded machine slows the publisher too), and by 2 s at the least, and
// frames kept being decoded.
func checkVideo(t *testing.T, r videoResult, w, h int, rate float64) {
	t.Helper()
	advanced := r.EndTime - r.StartTime
	switch {
	case r.Error != "" || r.MediaError != "" || len(r.Console) > 0:
		t.Errorf("%s: error %q, media error %q, console %q", r.URL, r.Error, r.MediaError, r.Console)
	case r.Width != w || r.Height != h:
		t.Errorf("%s: %dx%d, want %dx%d", r.URL, r.Width, r.Height, w, h)
	case r.StartFrames == 0 || advanced < 2 || advanced < 0.5*rate*10/1000 || r.EndFrames-r.StartFrames < 20:
		t.Errorf("%s: currentTime %.2f -> %.2f (the stream advanced %.0f ms/s), frames %d -> %d",
			r.URL, r.StartTime, r.EndTime, rate, r.StartFrames, r.EndFrames)
	}
}

// streamRate measures how fast a stream's timestamps advance while run
// runs, in stream ms per wall second.
func streamRate(t *testing.T, srv *Server, app, name string, run func()) float64 {
	t.Helper()
	newest := func() uint32 {
		ring, _ := srv.hub.lookup(app, name).current()
		return ring.newestTimestamp()
	}
	ts0, t0 := newest(), time.Now()
	run()
	return float64(newest()-ts0) / time.Since(t0).Seconds()
}

func TestBrowserMP4(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/x"))
	waitLive(t, srv, "live", "x")
	var rs []videoResult
	rate := streamRate(t, srv, "live", "x", func() { rs = runVideo(t, "--seconds", "10", httpURL(srv, "/live/x.mp4")) })
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	checkVideo(t, rs[0], 640, 360, rate)
}

// AV1 + Opus, encoded by ffmpeg and published over Enhanced RTMP (av01
// and Opus FourCCs), played through .mp4 by Chromium. The 2.4 s clip is
// sent in a loop, in real time, with growing timestamps; it starts on a
// keyframe, so every loop is decodable.
func TestBrowserMP4AV1Opus(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	enc := &eEncoder{dir: t.TempDir(), done: map[string]*mkvFile{}}
	vt, vf := enc.get(t, "av1")
	at, af := enc.get(t, "opus")
	srv := startServer(t, nil)
	pub, err := DialRTMP(ctxT(t, 5*time.Second), rtmpURL(srv, "/live/av1"))
	must(t, err)
	t.Cleanup(func() { pub.Close() })
	must(t, pub.Publish(ctxT(t, 5*time.Second)))
	must(t, pub.WriteMedia(MsgVideo, 0, exVideo(true, eSequenceStart, "av01", vt.private)))
	must(t, pub.WriteMedia(MsgAudio, 0, exAudio(eSequenceStart, "Opus", at.private)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- loopAV1Opus(ctx, pub, vf, af) }()
	t.Cleanup(func() { cancel(); <-done })
	waitLive(t, srv, "live", "av1")
	var rs []videoResult
	rate := streamRate(t, srv, "live", "av1", func() { rs = runVideo(t, "--seconds", "10", httpURL(srv, "/live/av1.mp4")) })
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	checkVideo(t, rs[0], 160, 96, rate)
}

// loopAV1Opus sends the frames, interleaved by time, in real time, again
// and again, until ctx ends.
func loopAV1Opus(ctx context.Context, pub *Client, video, audio []mkvFrame) error {
	type msg struct {
		typ  MessageType
		ts   int64
		body []byte
	}
	var msgs []msg
	for _, f := range video {
		msgs = append(msgs, msg{MsgVideo, f.ts, exVideo(f.key, eCodedFrames, "av01", f.data)})
	}
	for _, f := range audio {
		msgs = append(msgs, msg{MsgAudio, f.ts, exAudio(eCodedFrames, "Opus", f.data)})
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].ts < msgs[j].ts })
	const loop = 2400 // ms: the clip's length (eSeconds)
	start := time.Now()
	for n := int64(0); ; n++ {
		for _, m := range msgs {
			ts := n*loop + m.ts
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Until(start.Add(time.Duration(ts) * time.Millisecond))):
			}
			if err := pub.WriteMedia(m.typ, uint32(ts), m.body); err != nil {
				return err
			}
		}
	}
}

// The status page lists the play URLs and its "watch" button plays the
// stream in a <video> (the live .mp4 in Chromium, which has no native
// HLS); the page does not scroll sideways at 1280 px. With
// RTMPHUB_SCREENSHOT=file.png it also saves a screenshot.
func TestBrowserStatusPlayer(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	srv := startServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/x"))
	waitLive(t, srv, "live", "x")
	page := httpURL(srv, "/?player=mp4") // Chromium 156 says "maybe" to HLS: this branch tests the MP4 path
	var rs []videoResult
	rate := streamRate(t, srv, "live", "x", func() { rs = runVideo(t, "--seconds", "10", "--status", page) })
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	checkVideo(t, rs[0], 640, 360, rate)
	if !strings.HasSuffix(rs[0].Src, "/live/x.mp4") || rs[0].HorizontalOverflow > 0 {
		t.Errorf("played %q, horizontal overflow %d px", rs[0].Src, rs[0].HorizontalOverflow)
	}
	if png := os.Getenv("RTMPHUB_SCREENSHOT"); png != "" {
		abs, err := filepath.Abs(png)
		must(t, err)
		runVideo(t, "--screenshot", abs, page)
	}
}
