// Cursors: a player's place in a GOP ring (gop.go) and the lag policy
// that moves it. A player starts at a join point: the newest keyframe
// held, with the decoder headers current when it arrived, or, before the
// first keyframe, the head (video then waits for a keyframe). A player
// that falls off the ring, or more than -max-lag behind the newest frame
// while a newer keyframe is held, skips to the newest keyframe (resync),
// and gets the headers of that point when they differ from the ones it
// has. The publisher never waits for it.
package main

// cursor is where a player is in one publication: the next frame to send
// and what its decoder has.
type cursor struct {
	seq      uint64     // the next frame to send
	needKey  bool       // video waits for a keyframe (the start had none)
	lastHdrs *headerSet // the headers of the last frame sent (or sent as headers)
}

// join puts the cursor at a join point: seq, with its keyframe key (nil:
// none; video waits for one).
func (c *cursor) join(seq uint64, key *Frame) {
	c.seq, c.needKey = seq, key == nil
}

// admit reports whether f may be sent by the keyframe rule: after a start
// without a keyframe, video frames before the first keyframe are not
// (headers are). The first keyframe ends the wait.
func (c *cursor) admit(f *Frame) bool {
	if !c.needKey || f.Type != TagVideo || f.isHeader() {
		return true
	}
	if !f.isKey() {
		return false
	}
	c.needKey = false
	return true
}

// tooFarBehind looks at frames, the next frames of r from the cursor on.
// lag is how far the first media frame among them is behind r's newest
// frame, in milliseconds (measured is false when there is none: data
// messages carry no stream time); skip is true when that is more than
// maxLag (0: no limit) and a newer keyframe is held to skip to. The lag
// is measured to the head, not across the batch: a batch is capped at
// maxBatch frames, about a second.
func (c *cursor) tooFarBehind(r *gopRing, frames []*Frame, maxLag int64) (lag int64, measured, skip bool) {
	first := firstMedia(frames)
	if first == nil {
		return 0, false, false
	}
	lag = int64(int32(r.newestTimestamp() - first.Timestamp))
	if maxLag <= 0 || lag <= maxLag {
		return lag, true, false
	}
	key, _, keyFrame := r.joinPoint()
	return lag, true, keyFrame != nil && key > c.seq
}

// firstMedia is the first audio or video frame of frames, or nil: data
// messages carry no stream time (onMetaData is stamped 0, session.go).
func firstMedia(frames []*Frame) *Frame {
	for _, f := range frames {
		if f.Type != TagScript {
			return f
		}
	}
	return nil
}

// resync moves the cursor to r's join point, for a player that fell
// behind. It returns the headers and the keyframe there, and whether the
// headers differ from those the player has (then it sends them).
func (c *cursor) resync(r *gopRing) (h *headerSet, key *Frame, resend bool) {
	seq, h, key := r.joinPoint()
	c.join(seq, key)
	return h, key, h != c.lastHdrs
}

// rewind is resync for a cursor that has not sent a frame yet: it moves
// to the oldest keyframe held (the slack GOP), not the newest.
func (c *cursor) rewind(r *gopRing) (h *headerSet, key *Frame, resend bool) {
	seq, h, key := r.oldestKey()
	c.join(seq, key)
	return h, key, h != c.lastHdrs
}

// arrival is the join point of the publication that was live when a
// player attached to its stream, taken then (joinNow), not when the
// player's goroutine first runs: frames that come in between are the
// player's own.
type arrival struct {
	ring *gopRing // live when the player attached; nil: none
	seq  uint64
	hdrs *headerSet // nil until taken
	key  *Frame
}

// take records r's join point of this moment.
func (a *arrival) take(r *gopRing) {
	a.ring = r
	a.seq, a.hdrs, a.key = r.joinPoint()
}

// startPoint is where a player starts on r. One that was there before
// the publication began plays it from its first frame (or the oldest GOP
// still held), however fast the first frames came; one that arrived
// during it starts at the join point of its arrival (the newest keyframe
// then, or, before the first keyframe, where it arrived: it waits there).
func (a *arrival) startPoint(r *gopRing) (uint64, *headerSet, *Frame) {
	switch {
	case r == a.ring && a.hdrs != nil && r.holds(a.seq):
		return a.seq, a.hdrs, a.key
	case r == a.ring:
		return r.joinPoint()
	case r.holds(0):
		return 0, &headerSet{}, nil
	}
	return r.oldestKey() // its first frames were released
}
