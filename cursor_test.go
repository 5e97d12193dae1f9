package main

import "testing"

// testFrames makes small frames whose FLV wire forms are the given
// payload lengths plus 15 bytes of framing (11-byte tag header,
// 4-byte PreviousTagSize).
func testFrames(payloadLens ...int) []*Frame {
	fs := make([]*Frame, len(payloadLens))
	for i, n := range payloadLens {
		fs[i] = newFrame(TagAudio, uint32(i), TagInfo{}, make([]byte, n))
	}
	return fs
}

func TestSplitAt(t *testing.T) {
	frames := testFrames(10, 20, 5) // wire lengths 25, 35, 20
	for _, tt := range []struct {
		name   string
		n      int
		k, off int
	}{
		{name: "nothing written", n: 0, k: 0, off: 0},
		{name: "inside the first tag header", n: 3, k: 0, off: 3},
		{name: "last byte of the first frame missing", n: 24, k: 0, off: 24},
		{name: "exactly the first frame", n: 25, k: 1, off: 0},
		{name: "inside the second payload", n: 25 + 11 + 7, k: 1, off: 18},
		{name: "all but the last byte", n: 79, k: 2, off: 19},
	} {
		k, off := splitAt(frames, protoFLV, tt.n)
		if k != tt.k || off != tt.off {
			t.Errorf("%s: splitAt(%d) = frame %d + %d, want frame %d + %d", tt.name, tt.n, k, off, tt.k, tt.off)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("splitAt past the end did not panic")
		}
	}()
	splitAt(frames, protoFLV, 80)
}

func TestSkipBytes(t *testing.T) {
	for _, tt := range []struct {
		name string
		bufs []string
		n    int
		want []string
	}{
		{name: "none", bufs: []string{"ab", "cde"}, n: 0, want: []string{"ab", "cde"}},
		{name: "into the first", bufs: []string{"ab", "cde"}, n: 1, want: []string{"b", "cde"}},
		{name: "the first whole", bufs: []string{"ab", "cde"}, n: 2, want: []string{"cde"}},
		{name: "into the second", bufs: []string{"ab", "cde"}, n: 4, want: []string{"e"}},
		{name: "all", bufs: []string{"ab", "cde"}, n: 5, want: []string{}},
		{name: "empty slices skipped", bufs: []string{"", "ab", "", "c"}, n: 2, want: []string{"c"}},
	} {
		bufs := make([][]byte, len(tt.bufs))
		for i, s := range tt.bufs {
			bufs[i] = []byte(s)
		}
		orig := bufs[len(bufs)-1]
		got := skipBytes(bufs, tt.n)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
			}
		}
		if len(got) > 0 && len(got[len(got)-1]) > 0 && &got[len(got)-1][0] != &orig[len(orig)-len(got[len(got)-1])] {
			t.Errorf("%s: the rest is a copy, not the caller's bytes", tt.name)
		}
	}
}

// lagRing holds a keyframe at 0 ms (seq 0), inter frames every 100 ms up
// to 900 ms (seqs 1-9), a keyframe at 1000 ms (seq 10) and inter frames up
// to 1500 ms (seqs 11-15).
func lagRing() *gopRing {
	r := newGOPRing()
	for i := 0; i <= 15; i++ {
		r.append(ringFrame(TagVideo, uint32(i*100), testVideoFrame(i, i == 0 || i == 10)))
	}
	return r
}

func TestCursorTooFarBehind(t *testing.T) {
	r := lagRing()
	onlyData := []*Frame{metaFrame()}
	for _, tt := range []struct {
		name     string
		seq      uint64
		data     bool // the frames read are a data message only
		maxLag   int64
		lag      int64
		measured bool
		skip     bool
	}{
		{name: "caught up", seq: 15, maxLag: 500, lag: 0, measured: true},
		{name: "within the limit", seq: 11, maxLag: 500, lag: 400, measured: true},
		{name: "at the limit", seq: 10, maxLag: 500, lag: 500, measured: true},
		{name: "past the limit, a newer keyframe held", seq: 4, maxLag: 500, lag: 1100, measured: true, skip: true},
		{name: "past the limit, at the newest keyframe", seq: 10, maxLag: 400, lag: 500, measured: true},
		{name: "no limit", seq: 0, maxLag: 0, lag: 1500, measured: true},
		{name: "data messages carry no time", seq: 0, data: true, maxLag: 500},
	} {
		c := cursor{seq: tt.seq}
		frames, _, _, _ := r.read(tt.seq, nil, maxBatch)
		if tt.data {
			frames = onlyData
		}
		lag, measured, skip := c.tooFarBehind(r, frames, tt.maxLag)
		if lag != tt.lag || measured != tt.measured || skip != tt.skip {
			t.Errorf("%s: lag %d measured %v skip %v, want %d %v %v", tt.name, lag, measured, skip, tt.lag, tt.measured, tt.skip)
		}
	}
}

func TestCursorResync(t *testing.T) {
	keyed := lagRing()
	_, keyedHdrs, _ := keyed.joinPoint()
	unkeyed := newGOPRing()
	unkeyed.append(ringFrame(TagVideo, 0, testVideoHeader))
	unkeyed.append(ringFrame(TagVideo, 0, testVideoFrame(1, false)))
	for _, tt := range []struct {
		name    string
		r       *gopRing
		had     *headerSet
		seq     uint64
		key     bool
		needKey bool
		resend  bool
	}{
		{name: "to the newest keyframe, same headers", r: keyed, had: keyedHdrs, seq: 10, key: true},
		{name: "to the newest keyframe, other headers", r: keyed, had: &headerSet{}, seq: 10, key: true, resend: true},
		{name: "no keyframe: the head, video waits", r: unkeyed, had: nil, seq: 2, needKey: true, resend: true},
	} {
		c := cursor{seq: 0, lastHdrs: tt.had}
		_, key, resend := c.resync(tt.r)
		if c.seq != tt.seq || (key != nil) != tt.key || c.needKey != tt.needKey || resend != tt.resend {
			t.Errorf("%s: seq %d key %v needKey %v resend %v; want %d %v %v %v",
				tt.name, c.seq, key != nil, c.needKey, resend, tt.seq, tt.key, tt.needKey, tt.resend)
		}
	}
}

func TestCursorAdmit(t *testing.T) {
	inter := ringFrame(TagVideo, 0, testVideoFrame(1, false))
	key := ringFrame(TagVideo, 0, testVideoFrame(2, true))
	header := ringFrame(TagVideo, 0, testVideoHeader)
	audio := ringFrame(TagAudio, 0, testAudioFrame(1))
	for _, tt := range []struct {
		name      string
		needKey   bool
		f         *Frame
		admit     bool
		stillNeed bool
	}{
		{name: "no wait: inter frame", f: inter, admit: true},
		{name: "waiting: inter frame skipped", needKey: true, f: inter, stillNeed: true},
		{name: "waiting: header passes", needKey: true, f: header, admit: true, stillNeed: true},
		{name: "waiting: audio passes", needKey: true, f: audio, admit: true, stillNeed: true},
		{name: "waiting: keyframe ends the wait", needKey: true, f: key, admit: true},
	} {
		c := cursor{needKey: tt.needKey}
		if got := c.admit(tt.f); got != tt.admit || c.needKey != tt.stillNeed {
			t.Errorf("%s: admit %v needKey %v, want %v %v", tt.name, got, c.needKey, tt.admit, tt.stillNeed)
		}
	}
}

// A player that attached while a publication was live starts at its
// arrival's join point; one that waited for the publication starts at its
// first frame; one whose arrival point was released starts at the join
// point of now.
func TestArrivalStartPoint(t *testing.T) {
	r := lagRing()
	var before arrival // attached before r began
	if seq, _, _ := before.startPoint(r); seq != 0 {
		t.Errorf("waited for the publication: start %d, want 0", seq)
	}
	var during arrival
	during.take(r) // the newest keyframe then: seq 10
	for i := 16; i < 20; i++ {
		r.append(ringFrame(TagVideo, uint32(i*100), testVideoFrame(i, false)))
	}
	if seq, _, key := during.startPoint(r); seq != 10 || key == nil {
		t.Errorf("arrived during: start %d (key %v), want 10", seq, key != nil)
	}
	for i := 20; i < 45; i++ { // keyframes at 20, 30, 40: seq 10 is released
		r.append(ringFrame(TagVideo, uint32(i*100), testVideoFrame(i, i%10 == 0)))
	}
	if seq, _, key := during.startPoint(r); seq != 40 || key == nil {
		t.Errorf("arrival released: start %d (key %v), want 40", seq, key != nil)
	}
	if seq, _, _ := before.startPoint(r); seq != 30 {
		t.Errorf("waited, first frames released: start %d, want the oldest keyframe 30", seq)
	}
}
