package main

import (
	"bytes"
	"testing"
	"time"
)

// ringFrame makes a classified frame without going through a session.
func ringFrame(t TagType, ts uint32, payload []byte) *Frame {
	info, _ := ClassifyTag(t, payload)
	return newFrame(t, ts, info, payload)
}

func metaFrame() *Frame {
	b, _ := AppendAMF0All(nil, "onMetaData", ECMAArray{{"width", 640.0}})
	return newFrame(TagScript, 0, TagInfo{Flags: FlagConfig}, b)
}

// The ring's states of the doc comment: a late joiner starts at the newest
// keyframe with the headers current then; old GOPs are released; a cursor
// that fell off the tail is told so.
func TestGOPRingJoinAndRelease(t *testing.T) {
	r := newGOPRing()
	r.append(metaFrame())
	r.append(ringFrame(TagVideo, 0, testVideoHeader))
	r.append(ringFrame(TagAudio, 0, testAudioHeader))
	if _, _, key := r.joinPoint(); key != nil {
		t.Fatal("join point keyed before any keyframe")
	}
	if ok, _ := r.ready(); ok {
		t.Fatal("ready before a keyframe")
	}
	for i := 0; i < 90; i++ { // keyframes at 0, 30, 60
		r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i%30 == 0)))
	}
	seq, hdrs, key := r.joinPoint()
	if key == nil || frameNumber((*r.at(seq)).Payload) != 60 {
		t.Fatalf("join point %d key %v", seq, key != nil)
	}
	if len(hdrs.frames) != 3 || hdrs.frames[0].Type != TagScript || !hdrs.hasVideo || !hdrs.hasAudio {
		t.Fatalf("headers at join point: %d frames", len(hdrs.frames))
	}
	// frames before the previous keyframe (30) are released: 3 headers + 30
	if r.tail != 3+30 {
		t.Fatalf("tail %d, want %d", r.tail, 3+30)
	}
	if _, _, _, res := r.read(0, nil, maxBatch); res != readBehind {
		t.Fatalf("read before tail: %v", res)
	}
	frames, next, _, res := r.read(seq, nil, maxBatch)
	if res != readOK || len(frames) != 30 || next != r.head {
		t.Fatalf("read from key: %d frames, next %d, res %v", len(frames), next, res)
	}
}

// The start window (keepStart 3.5 s) keeps three whole GOPs of 1 s before
// the current one, and no more than the default slack GOP of 2 s ones; a
// running HLS muxer's window (retainGOPs) keeps more, and when it ends the
// next keyframe brings the ring back to its start window.
func TestGOPRingStartWindow(t *testing.T) {
	held := func(gopFrames int, keep func(r *gopRing), frames int) (tail uint64, oldest int) {
		r := newGOPRing()
		r.keepStart(3500 * time.Millisecond)
		keep(r)
		for i := 0; i < frames; i++ {
			r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i%gopFrames == 0)))
		}
		seq, _, key := r.oldestKey()
		if key == nil {
			t.Fatalf("GOP %d: no keyframe held", gopFrames)
		}
		return r.tail, frameNumber((*r.at(seq)).Payload)
	}
	none := func(*gopRing) {}
	for _, c := range []struct {
		name      string
		gopFrames int
		keep      func(*gopRing)
		frames    int
		oldest    int
	}{
		{"1 s GOPs: three kept before the current", 30, none, 200, 90},
		{"1 s GOPs, young stream: all kept", 30, none, 100, 0},
		{"2 s GOPs: the slack GOP only", 60, none, 200, 120},
		{"muxer window of 6 GOPs", 30, func(r *gopRing) { r.retainGOPs(6) }, 200, 30},
	} {
		tail, oldest := held(c.gopFrames, c.keep, c.frames)
		if oldest != c.oldest || tail != uint64(c.oldest) {
			t.Errorf("%s: oldest keyframe %d, tail %d; want %d", c.name, oldest, tail, c.oldest)
		}
	}
	r := newGOPRing()
	r.keepStart(3500 * time.Millisecond)
	for i := 0; i < 200; i++ {
		r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i%30 == 0)))
	}
	if seq, _, _ := r.slackKey(); frameNumber((*r.at(seq)).Payload) != 150 { // an MP4 player's start
		t.Errorf("slack keyframe %d, want 150", frameNumber((*r.at(seq)).Payload))
	}
	r = newGOPRing()
	r.keepStart(3500 * time.Millisecond)
	r.retainGOPs(6)
	for i := 0; i < 200; i++ {
		r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i%30 == 0)))
	}
	r.retainGOPs(0)
	for i := 200; i < 215; i++ { // the keyframe at 210
		r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i%30 == 0)))
	}
	if seq, _, _ := r.oldestKey(); frameNumber((*r.at(seq)).Payload) != 120 {
		t.Errorf("after the muxer: oldest keyframe %d, want 120", frameNumber((*r.at(seq)).Payload))
	}
}

// A new sequence header replaces the one in its slot only; a keyframe
// after it carries the new set, a keyframe before keeps the old.
func TestGOPRingHeaderSlots(t *testing.T) {
	r := newGOPRing()
	r.append(ringFrame(TagVideo, 0, testVideoHeader))
	r.append(ringFrame(TagAudio, 0, testAudioHeader))
	r.append(ringFrame(TagVideo, 0, testVideoFrame(0, true)))
	newHeader := append([]byte{0x17, 0, 0, 0, 0}, append([]byte{}, testAVCConfig...)...)
	newHeader[len(newHeader)-1] ^= 1
	r.append(ringFrame(TagVideo, 10, newHeader))
	r.append(ringFrame(TagVideo, 20, testVideoFrame(1, true)))
	_, hdrs, _ := r.joinPoint()
	if len(hdrs.frames) != 2 || string(hdrs.frames[1].Payload) != string(testAudioHeader) ||
		string(hdrs.frames[0].Payload) != string(newHeader) {
		t.Fatalf("slots after a new video header: %d", len(hdrs.frames))
	}
	if old := (*r.at(2)).headers; string(old.frames[0].Payload) != string(testVideoHeader) {
		t.Fatal("the first keyframe's header set changed")
	}
}

// The ring never holds more than ringCap frames, even without keyframes.
func TestGOPRingCap(t *testing.T) {
	r := newGOPRing()
	r.append(ringFrame(TagVideo, 0, testVideoFrame(0, true)))
	for i := 1; i < ringCap+100; i++ {
		r.append(ringFrame(TagVideo, uint32(i), testVideoFrame(i, false)))
	}
	if st := r.stats(); st.Frames != ringCap {
		t.Fatalf("ring holds %d frames", st.Frames)
	}
	if _, _, key := r.joinPoint(); key != nil {
		t.Fatal("the released keyframe is still offered as a join point")
	}
}

// The ring starts small and grows as frames stay: every frame held is
// read back in order across the doublings, and a ring never grows past
// ringCap.
func TestGOPRingGrows(t *testing.T) {
	r := newGOPRing()
	const n = 3 * ringStart // one keyframe: all are held
	for i := 0; i < n; i++ {
		r.append(ringFrame(TagVideo, uint32(i), testVideoFrame(i, i == 0)))
	}
	if len(r.buf) != 4*ringStart {
		t.Errorf("%d slots for %d frames, want %d", len(r.buf), n, 4*ringStart)
	}
	frames, _, _, res := r.read(0, nil, n)
	if res != readOK || len(frames) != n {
		t.Fatalf("read %d frames (%v), want %d", len(frames), res, n)
	}
	for i, f := range frames {
		if f.Seq != uint64(i) || frameNumber(f.Payload) != i {
			t.Fatalf("frame %d: seq %d, number %d", i, f.Seq, frameNumber(f.Payload))
		}
	}
	for i := n; i < 2*ringCap; i++ {
		r.append(ringFrame(TagVideo, uint32(i), testVideoFrame(i, false)))
	}
	if len(r.buf) != ringCap {
		t.Errorf("%d slots, want the cap %d", len(r.buf), ringCap)
	}
}

// Audio-only publications start live.
func TestGOPRingAudioOnly(t *testing.T) {
	r := newGOPRing()
	r.append(ringFrame(TagAudio, 0, testAudioHeader))
	r.append(ringFrame(TagAudio, 23, testAudioFrame(1)))
	if ok, _ := r.ready(); !ok {
		t.Fatal("audio-only stream not ready")
	}
	if seq, _, key := r.joinPoint(); key != nil || seq != r.head {
		t.Fatalf("audio-only join point %d keyed %v", seq, key != nil)
	}
}

// A frame's wire forms, handed out as slices (framing bytes and payload
// side by side), are byte for byte what the encoders write in one piece:
// RTMP chunks (one chunk, several, extended timestamps repeated on every
// continuation), the FLV tag, and the FLV tag in a WebSocket frame.
func TestFrameWireForms(t *testing.T) {
	for _, n := range []int{0, 1, 200, outChunkSize, outChunkSize + 1, 3*outChunkSize + 7} {
		for _, ts := range []uint32{0, 40, extendedTSMarker - 1, extendedTSMarker, 0xFFFFFFFF} {
			payload := bytes.Repeat([]byte{0x27}, n)
			f := newFrame(TagVideo, ts, TagInfo{}, payload)
			m := Message{Type: MsgVideo, StreamID: mediaStreamID, Timestamp: ts, Payload: payload}
			flv := AppendFLVTag(nil, TagVideo, ts, payload)
			for proto, want := range map[wireProto][]byte{
				protoRTMP: AppendChunks(nil, csidVideo, &m, outChunkSize),
				protoFLV:  flv,
				protoWS:   append(appendWSHeader(nil, true, WSBinary, len(flv)), flv...),
			} {
				got := bytes.Join(f.appendWire(nil, proto), nil)
				if !bytes.Equal(got, want) || f.wireLen(proto) != len(want) {
					t.Errorf("%v, %d bytes at ts %d: %d bytes (wireLen %d), want %d; equal %v",
						proto, n, ts, len(got), f.wireLen(proto), len(want), bytes.Equal(got, want))
				}
			}
		}
	}
}
