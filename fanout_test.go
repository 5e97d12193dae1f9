package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// discardConn is a net.Conn that accepts every write, as a socket with
// room would.
type discardConn struct {
	net.Conn // nil: only Write and SetWriteDeadline are used
	n        int64
}

func (c *discardConn) Write(p []byte) (int, error)      { c.n += int64(len(p)); return len(p), nil }
func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }

// writeAll takes a batch as a socket's gathered write does, without a
// copy (the connection is its own frameWriter, writer.go).
func (c *discardConn) writeAll(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	c.n += int64(n)
	return n, nil
}

// tryWrite takes everything, as a socket with room does.
func (c *discardConn) tryWrite(bufs [][]byte) (int, error) { return c.writeAll(bufs) }

// fanoutPlayers makes n players of proto on a fresh ring, each writing
// into its discardConn.
func fanoutPlayers(n int, proto wireProto) (*gopRing, []*player, []*discardConn) {
	cfg := defaultConfig()
	h := newHub(cfg)
	st := &Stream{hub: h}
	players := make([]*player, n)
	conns := make([]*discardConn, n)
	for i := range players {
		conns[i] = &discardConn{}
		p := newPlayer(h, &sessionInfo{}, proto, conns[i], &writeLock{})
		p.stream = st
		players[i] = p
	}
	return newGOPRing(), players, conns
}

// ringHead is the seq of r's next frame.
func ringHead(r *gopRing) uint64 {
	_, _, head := r.window(0, nil, 0)
	return head
}

// deliver is the per-player step of fan-out: read what is new, write it.
func deliver(r *gopRing, p *player, cursor uint64, max int) uint64 {
	p.borrow()
	frames, next, _, _ := r.read(cursor, p.scratch.frames[:0], max)
	p.writeFrames(frames)
	clear(frames)
	return next
}

// Per player and per frame, fan-out neither encodes nor allocates: the
// players only pick bytes that were built once when the frame arrived.
func TestFanoutNoPerPlayerAllocs(t *testing.T) {
	for _, proto := range []wireProto{protoRTMP, protoFLV, protoWS} {
		r, players, conns := fanoutPlayers(8, proto)
		cursors := make([]uint64, len(players))
		const runs = 100
		for i := 0; i <= runs; i++ { // AllocsPerRun runs once more to warm up
			r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i == 0)))
		}
		allocs := testing.AllocsPerRun(runs, func() {
			for i, p := range players { // one frame to every player
				cursors[i] = deliver(r, p, cursors[i], 1)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per frame across %d players", proto, allocs, len(players))
		}
		for i := range players {
			if head := ringHead(r); cursors[i] != head || conns[i].n == 0 {
				t.Fatalf("%v player %d: cursor %d of %d, %d bytes", proto, i, cursors[i], head, conns[i].n)
			}
		}
	}
}

// BenchmarkFanout reports the cost of delivering one frame to one player
// (ns/op is per player per frame) for each protocol.
func BenchmarkFanout(b *testing.B) {
	for _, proto := range []wireProto{protoRTMP, protoFLV, protoWS} {
		b.Run(proto.String(), func(b *testing.B) {
			const nPlayers = 100
			r, players, _ := fanoutPlayers(nPlayers, proto)
			cursors := make([]uint64, nPlayers)
			payload := make([]byte, 10000)
			payload[0], payload[1] = 0x27, 0x01
			f := ringFrame(TagVideo, 0, payload)
			b.ReportAllocs()
			b.SetBytes(int64(len(f.Payload)))
			b.ResetTimer()
			for i := 0; i < b.N; i += nPlayers {
				b.StopTimer()
				r.append(newFrame(TagVideo, uint32(i), f.Info, payload))
				b.StartTimer()
				for j, p := range players {
					cursors[j] = deliver(r, p, cursors[j], maxBatch)
				}
			}
		})
	}
}

// BenchmarkNewFrame is the once-per-frame cost: building the RTMP, FLV and
// WebSocket forms of a 10 kB video frame.
func BenchmarkNewFrame(b *testing.B) {
	payload := make([]byte, 10000)
	payload[0], payload[1] = 0x27, 0x01
	info, _ := ClassifyTag(TagVideo, payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		newFrame(TagVideo, uint32(i), info, payload)
	}
}

// tcpPlayers makes n RTMP players on real loopback sockets whose peers
// drain everything, attached to the fan-out of a fresh ring. The workers
// are not started: the caller runs the shards' passes itself.
func tcpPlayers(tb testing.TB, n int) (*gopRing, *fanout) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	h := newHub(defaultConfig())
	st := &Stream{hub: h}
	r := newGOPRing()
	fo := newFanout(h, r, 0, true)
	fo.manual = true
	r.setFanOut(fo)
	var wg sync.WaitGroup
	tb.Cleanup(wg.Wait) // runs after the conns' cleanups (LIFO)
	for i := 0; i < n; i++ {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(io.Discard, client) }()
		tb.Cleanup(func() { server.Close(); client.Close() })
		p := newPlayer(h, &sessionInfo{}, protoRTMP, server, &writeLock{})
		p.stream = st
		if fo.attach(p, cursor{}) == nil {
			tb.Fatal("attach refused")
		}
	}
	return r, fo
}

// passAll runs one pass of every shard, as the workers do after an append.
func passAll(r *gopRing, fo *fanout) {
	for _, sh := range fo.shards {
		sh.pass(r, false)
	}
}

// The fast path (non-blocking writev from the fan-out workers) allocates
// nothing per player per frame (the ring's append allocates its next wake
// channel, once per frame whatever the number of players), and every
// player stays attached.
func TestFanoutFastPathNoAllocs(t *testing.T) {
	payload := testVideoFrame(0, true)
	perFrame := func(r *gopRing, fo *fanout) float64 {
		i := uint32(0)
		return testing.AllocsPerRun(100, func() {
			r.append(ringFrame(TagVideo, i*33, payload))
			i++
			passAll(r, fo)
		})
	}
	r0, fo0 := tcpPlayers(t, 0)
	r, fo := tcpPlayers(t, 8)
	if base, allocs := perFrame(r0, fo0), perFrame(r, fo); allocs != base {
		t.Errorf("%.1f allocations per frame with 8 players, %.1f with none", allocs, base)
	}
	attached := 0
	for _, sh := range fo.shards {
		for _, s := range sh.seats {
			attached++
			if s.seq != ringHead(r) {
				t.Errorf("player cursor %d, head %d", s.seq, ringHead(r))
			}
		}
	}
	if attached != 8 {
		t.Errorf("%d of 8 players still attached", attached)
	}
}

// BenchmarkFanoutTCP is the whole per-player cost of one frame on the fast
// path over real loopback sockets: pick the frame, one non-blocking
// writev, the kernel's copy included. An op is one frame to all players;
// ns/player-frame is per player per frame, and allocs/op (timed part
// only: the passes) is 0 when no player allocates.
func BenchmarkFanoutTCP(b *testing.B) {
	const nPlayers = 50
	r, fo := tcpPlayers(b, nPlayers)
	payload := benchVideoPayload(9328)
	info, _ := ClassifyTag(TagVideo, payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)) * nPlayers)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r.append(newFrame(TagVideo, uint32(i*33), info, payload))
		b.StartTimer()
		passAll(r, fo)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/nPlayers, "ns/player-frame")
}

// The slow-player policy over real sockets: the publisher never waits. A
// player whose socket drains at ~40 KB/s, against a stream of ~1.4 MB/s,
// is skipped to newer keyframes (counted in the stream's drops) and kept.
// What it gets is still a clean FLV stream: whole tags, and after every
// skip a keyframe first. A player that keeps up, on the same stream, loses
// nothing. (TestWaitingWriteOutlastsTimeout: a write may take longer than
// the write timeout; TestWriteTimeoutClosesStalledPlayer: a socket that
// takes nothing is closed.) What it gets is
// still a clean FLV stream: whole tags, and after every skip a keyframe
// first. A player that keeps up, on the same stream, loses nothing.
func TestSlowPlayerSkippedNotClosed(t *testing.T) {
	srv := startServer(t, func(c *Config) {
		c.MaxLag.Duration = 500 * time.Millisecond
	})
	pub := testPublisher(t, rtmpURL(srv, "/live/slow"))
	fast := httpGetFLV(t, httpURL(srv, "/live/slow.flv"))
	defer fast.Close()
	slow := dialSlowFLV(t, srv, "/live/slow.flv")
	waitPlayers(t, srv, "live", "slow", 2)

	type result struct {
		frames []int
		err    error
	}
	read := func(r io.Reader) <-chan result {
		ch := make(chan result, 1)
		go func() { nums, err := flvFrames(r); ch <- result{nums, err} }()
		return ch
	}
	fastDone, slowDone := read(fast), read(slow)

	const frames = 400
	for i := range frames { // 10 ms apart, 33 ms of stream time each
		must(t, pub.WriteMedia(MsgVideo, uint32(i*33), bigVideoFrame(i, i%30 == 0)))
		time.Sleep(10 * time.Millisecond)
	}
	st := srv.hub.lookup("live", "slow")
	if n := countSessions(srv, "flv"); n != 2 || st.drops.Load() == 0 {
		t.Errorf("after %d frames: %d HTTP-FLV sessions (want 2: the slow one is kept), %d skips (want some)",
			frames, n, st.drops.Load())
	}
	pub.Close() // the publication ends: both players get the rest, then EOF
	slow.fast.Store(true)
	got := <-fastDone
	if got.err != nil || len(got.frames) != frames || got.frames[frames-1] != frames-1 {
		t.Errorf("fast player: %d frames (%v), want all %d in order", len(got.frames), got.err, frames)
	}
	got = <-slowDone
	if got.err != nil || len(got.frames) == 0 || len(got.frames) == frames {
		t.Errorf("slow player: %d of %d frames (%v), want some but not all", len(got.frames), frames, got.err)
	}
}

// bigVideoFrame is testVideoFrame(n, key) grown to 64 KB (keyframe) or 8 KB.
func bigVideoFrame(n int, key bool) []byte {
	b := testVideoFrame(n, key)
	size := 8 << 10
	if key {
		size = 64 << 10
	}
	filler := make([]byte, size-len(b))
	return append(append(b[:10:10], filler...), b[10:]...)
}

// slowFLV is a raw HTTP-FLV client that takes at most 4 KB from its
// socket every 100 ms (40 KB/s) until fast is set, then all it can; Read
// gives what it took.
type slowFLV struct {
	net.Conn
	fast atomic.Bool
	pr   *io.PipeReader
}

func (s *slowFLV) Read(p []byte) (int, error) { return s.pr.Read(p) }

func (s *slowFLV) pump(pw *io.PipeWriter) {
	buf := make([]byte, 64<<10)
	for {
		n := len(buf)
		if !s.fast.Load() {
			time.Sleep(100 * time.Millisecond)
			n = 4 << 10
		}
		n, err := s.Conn.Read(buf[:n])
		pw.Write(buf[:n])
		if err != nil {
			pw.CloseWithError(err)
			return
		}
	}
}

func dialSlowFLV(t *testing.T, srv *Server, path string) *slowFLV {
	t.Helper()
	c, err := net.Dial("tcp", srv.HTTPAddr())
	must(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	must(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	must(t, err)
	if resp.StatusCode != 200 || br.Buffered() != 0 {
		t.Fatalf("GET %s: %s, %d bytes after the head", path, resp.Status, br.Buffered())
	}
	pr, pw := io.Pipe()
	s := &slowFLV{Conn: c, pr: pr}
	go s.pump(pw)
	return s
}

// flvFrames reads an FLV stream to its end and returns the frame numbers
// of its video frames. They must increase; after a jump (a skip) the
// first video frame must be a keyframe.
func flvFrames(r io.Reader) ([]int, error) {
	var head [13]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	fr := NewFLVReader(r, 16<<20)
	var nums []int
	for {
		tag, err := fr.ReadTag()
		if err == io.EOF {
			return nums, nil
		}
		if err != nil {
			return nums, fmt.Errorf("after %d frames: %w", len(nums), err)
		}
		if tag.Type != TagVideo || len(tag.Data) < 64 {
			continue // metadata, sequence headers
		}
		n := frameNumber(tag.Data)
		switch {
		case len(nums) > 0 && n <= nums[len(nums)-1]:
			return nums, fmt.Errorf("frame %d after %d", n, nums[len(nums)-1])
		case (len(nums) == 0 || n != nums[len(nums)-1]+1) && tag.Data[0]>>4 != 1:
			return nums, fmt.Errorf("frame %d, after a skip, is not a keyframe", n)
		}
		nums = append(nums, n)
	}
}

// countSessions counts the hub's sessions of protocol proto.
func countSessions(srv *Server, proto string) int {
	srv.hub.mu.Lock()
	defer srv.hub.mu.Unlock()
	n := 0
	for _, s := range srv.hub.sessions {
		if s.Protocol == proto {
			n++
		}
	}
	return n
}

// A player's waiting write (sendmsgWriter.writeAll) lasts as long as the socket
// keeps taking data, past the write timeout: 4 MiB to a reader that takes
// 256 KiB every 100 ms needs about 1.6 s, against a timeout of 500 ms.
func TestWaitingWriteOutlastsTimeout(t *testing.T) {
	server, client := tcpPair(t)
	server.(*net.TCPConn).SetWriteBuffer(64 << 10) // so that the kernel holds little of it
	client.(*net.TCPConn).SetReadBuffer(64 << 10)
	w := newSendmsgWriter(server, 500*time.Millisecond)
	if w == nil {
		t.Skip("no gathered writes on this platform")
	}
	got := make(chan int64, 1)
	go func() {
		var n int64
		buf := make([]byte, 256<<10)
		for {
			time.Sleep(100 * time.Millisecond)
			k, err := io.ReadFull(client, buf)
			n += int64(k)
			if err != nil {
				got <- n
				return
			}
		}
	}()
	data := make([]byte, 4<<20)
	start := time.Now()
	n, err := w.writeAll([][]byte{data[:1<<20], data[1<<20:]})
	took := time.Since(start)
	server.Close()
	if err != nil || n != len(data) {
		t.Fatalf("wait: %d of %d bytes after %v: %v", n, len(data), took, err)
	}
	if took < time.Second {
		t.Errorf("the write took %v: the reader was not slow enough to test the timeout", took)
	}
	if r := <-got; r != int64(len(data)) {
		t.Errorf("reader got %d bytes, want %d", r, len(data))
	}
}

// tcpPair is a connected pair of loopback TCP sockets.
func tcpPair(t *testing.T) (server, client net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	must(t, err)
	server, err = ln.Accept()
	must(t, err)
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// A short write ends the batch at the frame it stopped in; a player that
// was waiting for a keyframe, and found it later in that batch, waits for
// it again, so that the frames read again do not put a delta frame before
// its first keyframe.
func TestShortWriteKeepsWaitingForKeyframe(t *testing.T) {
	server, client := tcpPair(t)
	server.(*net.TCPConn).SetWriteBuffer(4 << 10)
	h := newHub(defaultConfig())
	p := newPlayer(h, &sessionInfo{}, protoFLV, server, &writeLock{})
	if !p.wire.direct {
		t.Skip("no gathered writes on this platform")
	}
	p.borrow()
	p.cur.needKey = true
	frames := []*Frame{
		ringFrame(TagAudio, 0, append([]byte{0xAF, 0x01}, make([]byte, 4<<20)...)), // more than the socket takes at once
		ringFrame(TagVideo, 0, testVideoFrame(0, false)),
		ringFrame(TagVideo, 33, testVideoFrame(1, true)),
	}
	go func() { time.Sleep(100 * time.Millisecond); io.Copy(io.Discard, client) }()
	done, err := p.writeFrames(frames)
	if err != nil || done != 1 || !p.cur.needKey {
		t.Fatalf("writeFrames: %d frames done, needKey %v, %v; want 1, true", done, p.cur.needKey, err)
	}
	if done, err = p.writeFrames(frames[1:]); err != nil || done != 2 || p.cur.needKey {
		t.Fatalf("again: %d frames done, needKey %v, %v; want 2, false", done, p.cur.needKey, err)
	}
}

// rawReader (the reads of accepted sockets, installed by the listener:
// withRawReads) behaves as net.Conn's Read does: data, a read deadline as
// a net.Error timeout, EOF when the peer closes, net.ErrClosed after a
// local Close.
func TestRawReader(t *testing.T) {
	server, client := tcpPair(t)
	r := withRawReads(server)
	if r == server {
		t.Skip("no raw reads on this platform")
	}
	buf := make([]byte, 16)
	client.Write([]byte("hello"))
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var ne net.Error
	if _, err := r.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	server.SetReadDeadline(time.Time{})
	client.Close()
	if _, err := r.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want EOF", err)
	}
	server.Close()
	if _, err := r.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", err)
	}
}

// stoppingConn is a discardConn that counts its batches and runs stop
// after the first: the player is stopped while it is still behind.
type stoppingConn struct {
	discardConn
	batches int
	stop    func()
}

func (c *stoppingConn) writeAll(bufs [][]byte) (int, error) {
	if c.batches++; c.batches == 1 {
		c.stop()
	}
	return c.discardConn.writeAll(bufs)
}

func (c *stoppingConn) tryWrite(bufs [][]byte) (int, error) { return c.writeAll(bufs) }

// A player stopped while it is behind (kicked, its client gone) stops at
// the next batch, not once it has caught up: a player on an HTTP/2 stream
// has no socket that a stop closes under its writes.
func TestStoppedPlayerBehindStops(t *testing.T) {
	h := newHub(defaultConfig())
	r := newGOPRing()
	for i := range 10 * maxBatch { // 1 ms apart: behind in frames, not in time (no resync)
		r.append(ringFrame(TagVideo, uint32(i), testVideoFrame(i, i == 0)))
	}
	conn := &stoppingConn{}
	p := newPlayer(h, &sessionInfo{}, protoFLV, conn, &writeLock{})
	p.stream = &Stream{hub: h}
	conn.stop = p.stop
	p.borrow()
	if err := p.follow(r, false); !errors.Is(err, ErrPlayerClosed) || conn.batches != 1 {
		t.Fatalf("follow: %v after %d batches; want ErrPlayerClosed after 1", err, conn.batches)
	}
}

// A worker lingers after a wake-up only when -write-delay says so, or
// when it has busySeats players or more and its passes take busyPass or
// more on average (saturated by writes): then ten passes' worth, at most
// maxLinger.
func TestFanoutLinger(t *testing.T) {
	const many = busySeats
	for _, c := range []struct {
		name  string
		delay time.Duration
		merge bool
		avg   time.Duration
		seats int
		want  time.Duration
	}{
		{"idle", 0, true, 100 * time.Microsecond, many, 0},
		{"just below busy", 0, true, busyPass - 1, many, 0},
		{"busy", 0, true, 3 * time.Millisecond, many, 30 * time.Millisecond},
		{"saturated", 0, true, 20 * time.Millisecond, many, maxLinger},
		{"slow passes, few players", 0, true, 20 * time.Millisecond, many - 1, 0},
		{"merge off", 0, false, 20 * time.Millisecond, many, 0},
		{"write-delay", 5 * time.Millisecond, true, 20 * time.Millisecond, many, 5 * time.Millisecond},
		{"write-delay, idle", 5 * time.Millisecond, false, 0, 1, 5 * time.Millisecond},
	} {
		fo := &fanout{delay: c.delay, merge: c.merge}
		if got := fo.linger(c.avg, c.seats); got != c.want {
			t.Errorf("%s: linger(%v, %d) = %v, want %v", c.name, c.avg, c.seats, got, c.want)
		}
	}
}
