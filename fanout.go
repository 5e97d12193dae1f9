// The fan-out: a publication's worker goroutines (up to one per CPU) write each
// new frame to every caught-up socket player, the way an event loop does:
// per frame and player, one non-blocking gathered write of bytes built
// once (wireSink.tryFrames), no goroutine wake-up, no timer, no
// allocation. Players are split into shards, one per worker. A write that
// would block, fails, or meets a filter hands the player back, with its
// cursor, to a goroutine of its own (player.resume in hub.go: a parked
// player has none); that goroutine finishes the frame the write stopped
// in (sleeping while the socket takes it) and applies the slow-player
// policy; once caught up it attaches again and ends. So the publisher never waits for a player, and a slow player
// costs no more than a fast one: its cursor, in the same ring.
package main

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// fanout is the set of workers of one publication.
type fanout struct {
	ring   *gopRing
	delay  time.Duration // -write-delay: linger after a wake-up
	merge  bool          // -merge-when-busy: linger when saturated (linger)
	shards []*fanShard
	next   atomic.Uint32
	manual bool // tests: no worker starts, the test runs the passes
}

// fanShard is one worker's players and scratch.
type fanShard struct {
	hub    *Hub
	mu     sync.Mutex // held by the worker for a whole pass
	seats  []seat
	frames []*Frame
	bufs   [][]byte
	work   sync.Once // starts the worker, with its scratch, at the first seat
}

// shardPlayers is how many attaches a publication's first workers take
// before the next one starts: a stream with a handful of players (a
// platform's many small channels) runs one worker, not one per CPU, and
// a big one spreads over all of them within its first few hundred joins.
const shardPlayers = 64

// seat is a player while the fan-out has it: the worker owns its cursor
// until it hands the player back.
type seat struct {
	p    *player
	seq  uint64     // the next frame to send
	hdrs *headerSet // the headers of the last frame sent
}

// handBack is what the worker gives back to the player's goroutine: the
// cursor, and the error that ended a write (nil: the socket was full, or
// the player filters or fell behind).
type handBack struct {
	seq  uint64
	hdrs *headerSet
	err  error
}

func newFanout(h *Hub, r *gopRing, delay time.Duration, merge bool) *fanout {
	fo := &fanout{ring: r, delay: delay, merge: merge}
	fo.shards = make([]*fanShard, runtime.GOMAXPROCS(0))
	for i := range fo.shards {
		fo.shards[i] = &fanShard{hub: h}
	}
	return fo
}

// pick chooses the shard of the n-th attach: round robin over the
// shards started so far, one more every shardPlayers attaches.
func (fo *fanout) pick(n uint32) *fanShard {
	active := min(len(fo.shards), 1+int(n/shardPlayers))
	return fo.shards[int(n)%active]
}

// attach gives p, at cursor c (everything before it sent), to a worker.
// It returns nil, leaving p to its goroutine, when c is no longer the
// head or the publication ended.
func (fo *fanout) attach(p *player, c cursor) *fanShard {
	sh := fo.pick(fo.next.Add(1) - 1)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !fo.ring.caughtUp(c.seq) {
		return nil
	}
	sh.seats = append(sh.seats, seat{p: p, seq: c.seq, hdrs: c.lastHdrs})
	sh.work.Do(func() {
		sh.frames, sh.bufs = make([]*Frame, 0, maxBatch), make([][]byte, 0, batchSlices)
		if !fo.manual {
			go fo.work(sh)
		}
	})
	return sh
}

// detach takes p out of the shard and returns its seat; false when the
// worker already handed it back. Whoever takes a player out of a shard
// (the worker, or detach) resumes it.
func (sh *fanShard) detach(p *player) (seat, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := range sh.seats {
		if s := sh.seats[i]; s.p == p {
			sh.remove(i)
			return s, true
		}
	}
	return seat{}, false
}

func (sh *fanShard) remove(i int) {
	last := len(sh.seats) - 1
	sh.seats[i] = sh.seats[last]
	sh.seats[last] = seat{}
	sh.seats = sh.seats[:last]
}

// work is one worker: a pass over its shard after every append, until
// the publication ends (then every player goes back to its goroutine,
// which drains the rest and ends or waits for the next publisher).
func (fo *fanout) work(sh *fanShard) {
	var avg time.Duration // the passes' moving average (1/8 weight)
	for {
		wake, closed := fo.ring.wakeState()
		start := time.Now()
		seats := sh.pass(fo.ring, closed)
		if closed {
			return
		}
		avg += (time.Since(start) - avg) / 8
		<-wake
		if d := fo.linger(avg, seats); d > 0 {
			time.Sleep(d)
		}
	}
}

// A worker with busySeats players or more whose passes take busyPass or
// more on average is saturated by writes: a pass costs about one write
// per player whatever it carries (thousands of players of a small stream:
// the cost is per write, not per byte), and its players already wait a
// pass or more per frame. Then it lingers after a wake-up, ten passes'
// worth up to maxLinger, so that each write carries the frames of that
// time: fewer, larger writes, and the CPU they free shortens the delay
// they add. With fewer players (the hundreds a core writes to at once)
// nothing waits.
const (
	busySeats = 1024
	busyPass  = 2 * time.Millisecond
	maxLinger = 50 * time.Millisecond
)

// linger is how long a worker waits after a wake-up before its pass:
// -write-delay if set, else what a saturated worker waits (avg: its
// passes' average length; seats: its players).
func (fo *fanout) linger(avg time.Duration, seats int) time.Duration {
	switch {
	case fo.delay > 0:
		return fo.delay
	case !fo.merge || seats < busySeats || avg < busyPass:
		return 0
	}
	return min(10*avg, maxLinger)
}

// pass pushes what is new to every player of the shard; players that
// cannot take it are handed back. It returns how many players stay. The ring is read once per pass, not
// once per player: the players of a shard are nearly always at the same
// frame, and the ring's lock is shared with the publisher and the other
// workers.
func (sh *fanShard) pass(r *gopRing, closed bool) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for more := true; more && len(sh.seats) > 0; {
		win, tail, head := sh.snapshot(r)
		more = win.end() < head
		var out uint64
		for i := 0; i < len(sh.seats); {
			s := &sh.seats[i]
			n, err := sh.push(s, win, tail)
			out += uint64(n)
			if err == nil && !closed {
				i++
				continue
			}
			if errors.Is(err, errWouldBlock) || errors.Is(err, errHandBack) {
				err = nil
			}
			s.p.resume(handBack{seq: s.seq, hdrs: s.hdrs, err: err})
			sh.remove(i)
		}
		clear(win.frames)
		sh.hub.outBytes.Add(out)
	}
	return len(sh.seats)
}

// snapshot reads, under one ring lock, up to maxBatch frames from the
// lowest cursor of the shard (or the tail, if that is gone).
func (sh *fanShard) snapshot(r *gopRing) (window, uint64, uint64) {
	lo := sh.seats[0].seq
	for _, s := range sh.seats[1:] {
		lo = min(lo, s.seq)
	}
	return r.window(lo, sh.frames[:0], maxBatch)
}

// errHandBack: the player must go back to its goroutine (it fell off the
// ring or filters media).
var errHandBack = errors.New("hand back")

// push writes to s's player, in one non-blocking gathered write, the
// frames of win from its cursor on, and returns the bytes written. An
// error means the player goes back to its goroutine: errHandBack (it fell
// off the ring, cursor before tail, or filters), errWouldBlock (its write
// lock is busy, or the socket did not take everything), or the write's.
func (sh *fanShard) push(s *seat, win window, tail uint64) (int, error) {
	if s.seq < tail || s.p.filtering() {
		return 0, errHandBack
	}
	if s.seq >= win.end() {
		return 0, nil
	}
	frames := win.frames[s.seq-win.base:]
	n, sent, err := s.p.wire.tryFrames(frames, &sh.bufs)
	if sent > 0 {
		s.seq += uint64(sent)
		s.hdrs = frames[sent-1].headers
	}
	return n, err
}
