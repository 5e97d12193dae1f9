// The fan-out: a publication's worker goroutines (one per CPU) write each
// new frame to every caught-up player, the way an event loop does, with
// one non-blocking gathered write per player and no goroutine wake-up.
// A player that cannot take a frame now goes back to its own goroutine
// (player.idle in hub.go), which may wait; the publisher never does.
package main

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// fanout writes new frames to every caught-up player of a publication
// from a few worker goroutines (one per CPU), the way an event loop does:
// per frame and player, one non-blocking gathered write of bytes built
// once, no goroutine wake-up, no timer, no allocation. Players are split
// into shards, one per worker. A write that would block, fails, or meets a
// filter hands the player back to its own goroutine (player.idle), which
// finishes the frame it stopped in (sleeping while the socket takes it)
// and applies the slow-player policy; once caught up it attaches again. So the
// publisher never waits for a player, and a slow player costs no more
// than a fast one: its cursor, in the same ring.
type fanout struct {
	ring   *gopRing
	delay  time.Duration // -write-delay: linger after a wake-up
	shards []*fanShard
	next   atomic.Uint32
	start  sync.Once
}

// fanShard is one worker's players and scratch.
type fanShard struct {
	hub     *Hub
	mu      sync.Mutex // held by the worker for a whole pass
	players []*player
	frames  []*Frame
	bufs    [][]byte
	iov     iovScratch
}

func newFanout(h *Hub, r *gopRing, delay time.Duration) *fanout {
	fo := &fanout{ring: r, delay: delay}
	fo.shards = make([]*fanShard, runtime.GOMAXPROCS(0))
	for i := range fo.shards {
		fo.shards[i] = &fanShard{hub: h, frames: make([]*Frame, 0, maxBatch), bufs: make([][]byte, 0, batchSlices)}
	}
	return fo
}

// attach gives p, which has sent everything before cursor, to a worker.
// It returns nil, leaving p to its goroutine, when cursor is no longer
// the head or the publication ended.
func (fo *fanout) attach(p *player, cursor uint64) *fanShard {
	sh := fo.shards[int(fo.next.Add(1))%len(fo.shards)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !fo.ring.caughtUp(cursor) {
		return nil
	}
	p.cursor, p.fastErr = cursor, nil
	sh.players = append(sh.players, p)
	fo.start.Do(func() {
		for _, s := range fo.shards {
			go fo.work(s)
		}
	})
	return sh
}

// detach takes p out of the shard (a no-op when the worker already
// handed it back).
func (sh *fanShard) detach(p *player) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i, q := range sh.players {
		if q == p {
			sh.remove(i)
			return
		}
	}
}

func (sh *fanShard) remove(i int) {
	last := len(sh.players) - 1
	sh.players[i] = sh.players[last]
	sh.players[last] = nil
	sh.players = sh.players[:last]
}

// work is one worker: a pass over its shard after every append, until
// the publication ends (then every player goes back to its goroutine,
// which drains the rest and ends or waits for the next publisher).
func (fo *fanout) work(sh *fanShard) {
	for {
		wake, closed := fo.ring.wakeState()
		sh.pass(fo.ring, closed)
		if closed {
			return
		}
		<-wake
		if fo.delay > 0 {
			time.Sleep(fo.delay)
		}
	}
}

// pass pushes what is new to every player of the shard; players that
// cannot take it are handed back. The ring is read once per pass, not
// once per player: the players of a shard are nearly always at the same
// frame, and the ring's lock is shared with the publisher and the other
// workers.
func (sh *fanShard) pass(r *gopRing, closed bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for more := true; more && len(sh.players) > 0; {
		win, tail, head := sh.snapshot(r)
		more = win.end() < head
		var out uint64
		for i := 0; i < len(sh.players); {
			p := sh.players[i]
			if n, ok := sh.push(p, win, tail); ok && !closed {
				out += n
				i++
				continue
			}
			sh.remove(i)
			p.kick <- struct{}{} // cap 1, and only the worker sends
		}
		clear(win.frames)
		sh.hub.outBytes.Add(out)
	}
}

// snapshot reads, under one ring lock, up to maxBatch frames from the
// lowest cursor of the shard (or the tail, if that is gone).
func (sh *fanShard) snapshot(r *gopRing) (window, uint64, uint64) {
	lo := sh.players[0].cursor
	for _, p := range sh.players[1:] {
		lo = min(lo, p.cursor)
	}
	return r.window(lo, sh.frames[:0], maxBatch)
}

// push writes to p, in one non-blocking gathered write, the frames of win from
// its cursor on, and returns the bytes written. false means p must go
// back to its goroutine: it fell off the ring (cursor before tail), is
// filtering, its write lock is busy, or the socket did not take
// everything.
func (sh *fanShard) push(p *player, win window, tail uint64) (uint64, bool) {
	if p.cursor < tail || p.filtering() {
		return 0, false
	}
	if p.cursor >= win.end() {
		return 0, true
	}
	frames := win.frames[p.cursor-win.base:]
	bufs := sh.bufs[:0]
	for _, f := range frames {
		bufs = f.appendWire(bufs, p.proto)
	}
	defer func() { clear(bufs); sh.bufs = bufs[:0] }() // keep what append grew, not the frames
	if !p.wmu.TryLock() {
		return 0, false
	}
	n, err := p.nb.try(bufs, &sh.iov)
	p.countOut(n)
	switch {
	case err == nil:
		p.cursor, p.lastHdrs = win.end(), frames[len(frames)-1].headers
		p.wmu.Unlock()
	case errors.Is(err, errWouldBlock):
		p.shortWrite(frames, n)
	default:
		p.wmu.Unlock()
		p.fastErr = err
	}
	return uint64(n), err == nil
}

// shortWrite records a fast write that stopped n bytes into frames. The
// frames before the one it stopped in are sent. If it stopped in the
// middle of a message, the goroutine gets the rest of that frame and the
// write lock with it (player.idle unlocks once it is written): nothing
// may come between the two parts of a message. The frames after it are
// left to the goroutine's next read of the ring, like writeFrames does.
func (p *player) shortWrite(frames []*Frame, n int) {
	k, off := splitAt(frames, p.proto, n)
	p.cursor += uint64(k)
	if k > 0 {
		p.lastHdrs = frames[k-1].headers
	}
	if off == 0 {
		p.wmu.Unlock()
		return
	}
	p.cursor++
	p.lastHdrs = frames[k].headers
	p.pending = skipBytes(frames[k].appendWire(p.pending[:0], p.proto), off)
}

// skipBytes returns what remains of bufs after its first n bytes (its
// slices, not copies).
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
