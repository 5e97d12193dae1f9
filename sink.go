// Sinks: where a player's frames go. Every consumer of a GOP ring is a
// player (hub.go) with a sink: a socket of some protocol (wireSink: the
// frames' prebuilt wire form of RTMP, HTTP-FLV or WS-FLV), a recording
// or a push relay (frameSink: the frames themselves, one by one). A sink
// is handed frames, never bytes to parse back.
package main

import (
	"errors"
	"net"
	"sync/atomic"
)

// sink consumes a player's frames, in order.
type sink interface {
	// sendHeaders sends the decoder headers of h, but those skip
	// rejects, before the frames from key (nil: the player starts live,
	// at about timestamp ts).
	sendHeaders(h *headerSet, key *Frame, ts uint32, skip func(*Frame) bool, s *batchBuf) error
	// sendFrames sends frames and returns how many it sent: all of them,
	// or, when a socket took only part of the batch, those up to and
	// including the frame it stopped in (a frame is never cut short; the
	// player reads the ones after it again, and checks its lag first).
	sendFrames(frames []*Frame, s *batchBuf) (int, error)
}

// frameSink is a sink that takes frames one by one: a recorder writes
// each to its file, a push relay sends each through its RTMP client.
type frameSink func(f *Frame) error

func (fs frameSink) sendHeaders(h *headerSet, _ *Frame, _ uint32, skip func(*Frame) bool, _ *batchBuf) error {
	for _, f := range h.frames {
		if skip(f) {
			continue
		}
		if err := fs(f); err != nil {
			return err
		}
	}
	return nil
}

func (fs frameSink) sendFrames(frames []*Frame, _ *batchBuf) (int, error) {
	for i, f := range frames {
		if err := fs(f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}

// wireSink writes frames in the wire form of one protocol to one
// connection, with the writer chosen for it (writer.go).
type wireSink struct {
	proto  wireProto
	w      frameWriter
	direct bool // w bypasses the connection's Write: the fan-out may write, sent counts
	lock   *writeLock
	hub    *Hub
	mp4    *mp4State // protoMP4: the init segment sent (fmp4.go)

	// sent counts the bytes a direct writer wrote (the counted socket of
	// stats.go does not see them), here, whose memory a write touches
	// anyway; the session reads it while the player lives
	// (sessionInfo.bytesOut) and takes it over when it ends (release).
	sent atomic.Uint64
}

// newWireSink makes the sink of a socket player of proto.
func newWireSink(h *Hub, sess *sessionInfo, proto wireProto, c playerConn, lock *writeLock) *wireSink {
	capSendBuffer(c)
	ws := &wireSink{proto: proto, lock: lock, hub: h}
	if proto == protoMP4 {
		ws.mp4 = &mp4State{}
	}
	ws.w, ws.direct = newFrameWriter(c, h.cfg.WriteTimeout.Duration)
	sess.playerOut.Store(&ws.sent)
	return ws
}

// release hands the byte count over to the session, once the sink
// writes no more. (In between, a reader may count those bytes twice; it
// never counts fewer than were sent.)
func (ws *wireSink) release(sess *sessionInfo) {
	sess.outCounter().Add(ws.sent.Load())
	sess.playerOut.CompareAndSwap(&ws.sent, nil)
}

// playerSendBuffer caps a player socket's kernel send buffer (SO_SNDBUF;
// Linux doubles the value). A player that reads slowly then falls behind
// in the ring, where the slow-player policy sees it and skips it to the
// newest keyframe, instead of piling up to tcp_wmem's 4 MiB (13 s of a
// 2.5 Mbit/s stream) of kernel memory per socket out of the policy's
// sight.
const playerSendBuffer = 256 << 10

// capSendBuffer applies playerSendBuffer to the TCP socket under c
// (through the byte counter and TLS); other writers are left alone.
func capSendBuffer(c any) {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			v.SetWriteBuffer(playerSendBuffer)
			return
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return
		}
	}
}

// sendHeaders sends h in the sink's wire form. RTMP players get the
// headers re-stamped with the join timestamp (Frame.joinHeaderChunks),
// shared per keyframe; only a join without a keyframe encodes its own,
// once.
func (ws *wireSink) sendHeaders(h *headerSet, key *Frame, ts uint32, skip func(*Frame) bool, s *batchBuf) error {
	if ws.mp4 != nil { // the init segment, once
		init, err := ws.mp4.accept(h)
		if err != nil || init == nil {
			return err
		}
		return ws.writeBufs([][]byte{init})
	}
	if len(h.frames) == 0 {
		return nil
	}
	var rtmp [][]byte
	if ws.proto == protoRTMP {
		switch {
		case key != nil && key.headers == h:
			rtmp = key.joinHeaderChunks()
		case key != nil: // some of its headers (pubchange.go)
			rtmp = restampHeaders(h, key.Timestamp)
		default:
			rtmp = restampHeaders(h, ts)
		}
	}
	bufs := s.bufs[:0]
	for i, f := range h.frames {
		switch {
		case skip(f):
		case rtmp != nil:
			bufs = append(bufs, rtmp[i])
		default:
			bufs = f.appendWire(bufs, ws.proto)
		}
	}
	defer clear(bufs)
	return ws.writeBufs(bufs)
}

// sendFrames writes a batch with one gathered write. Nothing here encodes
// or allocates. A socket that takes only part of the batch gets the rest
// of the frame it is in the middle of, with the goroutine sleeping until
// it does; the frames after it are not sent (see sink), so that a slow
// player keeps at most one frame alive that the ring has let go.
func (ws *wireSink) sendFrames(frames []*Frame, s *batchBuf) (int, error) {
	if ws.mp4 != nil { // up to a codec change
		var err error
		if frames, err = ws.mp4.cut(frames); err != nil {
			return 0, err
		}
	}
	bufs := s.bufs[:0]
	for _, f := range frames {
		bufs = f.appendWire(bufs, ws.proto)
	}
	s.bufs = bufs[:0] // keep what append grew
	defer clear(bufs)
	if !ws.direct {
		return len(frames), ws.writeBufs(bufs)
	}
	if err := ws.lock.lock(); err != nil {
		ws.lock.Unlock()
		return 0, err
	}
	defer ws.lock.Unlock()
	n, err := ws.w.tryWrite(bufs)
	countOut(&ws.sent, ws.hub, n)
	if !errors.Is(err, errWouldBlock) {
		return len(frames), err
	}
	k, off := splitAt(frames, ws.proto, n)
	return k + 1, ws.writeLocked(skipBytes(frames[k].appendWire(bufs[:0], ws.proto), off))
}

// tryFrames is the fan-out's write (fanout.go): frames in one
// non-blocking gathered write, with bufs as scratch. It returns the bytes
// written and how many frames are sent; err is errWouldBlock when the
// connection is busy or took only part. A frame it stopped in the middle
// of counts as sent: its rest is left in the write lock, and whoever
// takes the lock next finishes it.
func (ws *wireSink) tryFrames(frames []*Frame, bufs *[][]byte) (n, sent int, err error) {
	if ws.mp4 != nil && !ws.mp4.same(frames) {
		return 0, 0, errHandBack // new headers: the goroutine checks the init segment
	}
	if !ws.lock.tryLock() {
		return 0, 0, errWouldBlock
	}
	defer ws.lock.Unlock()
	b := (*bufs)[:0]
	for _, f := range frames {
		b = f.appendWire(b, ws.proto)
	}
	*bufs = b[:0] // keep what append grew
	defer clear(b)
	n, err = ws.w.tryWrite(b)
	if n > 0 {
		ws.sent.Add(uint64(n)) // the hub's total: once per pass
	}
	if !errors.Is(err, errWouldBlock) {
		return n, len(frames), err
	}
	k, off := splitAt(frames, ws.proto, n)
	if off > 0 {
		ws.lock.leave(skipBytes(frames[k].appendWire(b[:0], ws.proto), off), ws.w, &ws.sent, ws.hub)
		k++
	}
	return n, k, errWouldBlock
}

// finish writes the rest of a message the fan-out left in the write
// lock, if any, sleeping while the socket takes it.
func (ws *wireSink) finish() error {
	defer ws.lock.Unlock()
	return ws.lock.lock()
}

// writeBufs writes bufs under the connection's write lock.
func (ws *wireSink) writeBufs(bufs [][]byte) error {
	defer ws.lock.Unlock()
	if err := ws.lock.lock(); err != nil {
		return err
	}
	return ws.writeLocked(bufs)
}

// writeLocked is writeBufs with the write lock already held.
func (ws *wireSink) writeLocked(bufs [][]byte) error {
	n, err := ws.w.writeAll(bufs)
	if ws.direct {
		countOut(&ws.sent, ws.hub, n)
	}
	return err
}

// splitAt finds where byte n of frames' wire forms falls: in frame k, off
// bytes into it. n is less than their total length.
func splitAt(frames []*Frame, proto wireProto, n int) (k, off int) {
	for k, f := range frames {
		l := f.wireLen(proto)
		if n < l {
			return k, n
		}
		n -= l
	}
	panic("splitAt: n past the end of the frames")
}

// skipBytes returns what remains of bufs after its first n bytes (its
// slices, not copies; bufs's first remaining slice is shortened in
// place).
func skipBytes(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if n > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
